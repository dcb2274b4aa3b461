/* The VMM's event loop (see loop.c). */
#ifndef PICOSTACK_KVM_LOOP_H
#define PICOSTACK_KVM_LOOP_H

#include <liburing.h>
#include <signal.h>
#include <stdbool.h>

#include "kvm/control.h"
#include "kvm/vm.h"

#define LOOP_MAX_CLIENTS 8

enum src_kind { SRC_STOP, SRC_SIGNAL, SRC_STDIN, SRC_STDIN_WAIT, SRC_LISTEN, SRC_CLIENT, SRC_RTC };

/* One thing the loop polls; its address is the io_uring user_data. */
struct source {
    enum src_kind kind;
    int fd;
    struct control_client client; /* SRC_CLIENT */
    bool in_use;
};

struct loop {
    struct vm *vm;
    struct io_uring ring;
    bool ring_ready;
    struct source stop, sig, in, in_wait, listen, rtc, clients[LOOP_MAX_CLIENTS];
    struct __kernel_timespec in_wait_ts;
    bool tty, escape;
    bool done;
};

/* Sets up the ring (limited to the operations the loop uses), the signalfd
 * for sigs, stdin (--serial stdio) and the control socket (--control). */
int loop_init(struct loop *l, struct vm *vm, sigset_t *sigs, verr_t *err);
/* Runs until the VM's stop eventfd fires. */
int loop_run(struct loop *l, verr_t *err);
void loop_fini(struct loop *l);

#endif
