/* x86 vCPU state at power-on: CPUID, boot MSRs, registers, local APIC.
 *
 * The CPUID filter is pure (entries in, entries out) so tests check it
 * without /dev/kvm; the rest issues vCPU ioctls. */
#ifndef PICOSTACK_KVM_X86_CPU_H
#define PICOSTACK_KVM_X86_CPU_H

#include <linux/kvm.h>
#include <stdint.h>

#include "kvm/verr.h"
#include "kvm/x86/boot.h"

#define X86_CPUID_MAX_ENTRIES 256

/* The CPUID table for vCPU index `cpu` (its APIC id) of `ncpus`, from what
 * KVM_GET_SUPPORTED_CPUID offered: topology (leaves 0x1, 0x4, 0xB, 0x1F,
 * 0x80000001, 0x80000008, 0x8000001E) says ncpus cores of one thread in one
 * package, the hypervisor bit is set and leaf 0x40000000 says "KVMKVMKVM".
 * out must hold X86_CPUID_MAX_ENTRIES entries; returns the count. */
int x86_cpuid_filter(const struct kvm_cpuid_entry2 *in, int nin, struct kvm_cpuid_entry2 *out,
                     unsigned cpu, unsigned ncpus);

/* The MSRs every vCPU starts with (fast strings on, MTRRs on with write-back
 * default, SYSCALL/SYSENTER MSRs zeroed). Returns the count (<= max). */
int x86_boot_msrs(struct kvm_msr_entry *out, int max);

/* Sets CPUID, MSRs and LAPIC LINT0/LINT1 on any vCPU, and on the boot vCPU
 * the registers for the loader's entry (long or protected mode). APs are
 * left in KVM's wait-for-SIPI state. */
int x86_setup_vcpu(int kvm_fd, int vcpu_fd, unsigned cpu, unsigned ncpus,
                   const struct x86_boot_info *boot, verr_t *err);

/* Writes a register dump of the vCPU to buf. */
void x86_dump_vcpu(int vcpu_fd, char *buf, size_t len);

#endif
