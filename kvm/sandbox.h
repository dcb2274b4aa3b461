/* The VMM's sandbox, entered once the VM is built and before the guest
 * runs: a seccomp allow-list of the system calls the running VMM makes
 * (KVM ioctls limited to KVM_RUN, KVM_IRQ_LINE and the register reads of a
 * crash dump; no executable mappings; no open, no exec, no new sockets).
 * seccomp does not see io_uring operations, so the event loop's ring is
 * limited separately (IORING_REGISTER_RESTRICTIONS, in run.c) to the
 * operations the loop uses. A forbidden call ends the VMM with a message
 * naming it (exit status 1).
 *
 * Builds with sanitizers skip the seccomp filter: their runtimes (LeakSanitizer
 * stops the world with ptrace) make calls no allow-list should grant. */
#ifndef PICOSTACK_KVM_SANDBOX_H
#define PICOSTACK_KVM_SANDBOX_H

#include <stdbool.h>

#include "kvm/verr.h"

/* Applies to every thread of the process (TSYNC: also the disks' I/O
 * threads started while the devices were made) and those made afterwards.
 * First loads what libraries would open files for later (time zone data,
 * jansson's hash seed); sanitizer builds do only that. */
int vmm_sandbox_enter(verr_t *err);
/* Whether this build installs the filter at all. */
bool vmm_sandbox_available(void);

#endif
