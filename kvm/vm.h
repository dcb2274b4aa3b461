/* One VM: the KVM file descriptors, guest RAM, devices and vCPU threads,
 * and the VM-wide state the threads share (stop request, pause). */
#ifndef PICOSTACK_KVM_VM_H
#define PICOSTACK_KVM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "kvm/devices/acpi_pm.h"
#include "kvm/devices/i8042.h"
#include "kvm/devices/rtc.h"
#include "kvm/devices/serial.h"
#include "kvm/guest_mem.h"
#include "kvm/io_bus.h"
#include "kvm/kvm.h"
#include "kvm/verr.h"
#include "kvm/x86/boot.h"

struct vm;

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
};

struct vm {
    const struct vmm_config *cfg;
    int kvm_fd, vm_fd;
    size_t run_size;
    struct guest_mem mem;
    struct x86_boot_info boot;
    struct io_bus bus;
    struct serial serial;
    struct i8042 i8042;
    struct rtc rtc;
    struct acpi_pm pm;
    int serial_out_fd; /* -1: dropped */
    int rtc_timerfd;   /* CLOCK_REALTIME timer for the RTC's interrupts */
    unsigned ncpus;
    struct vcpu *vcpus;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cond;
    bool stopping;
    int exit_code;
    char stop_msg[4096];
    bool paused;
    unsigned paused_vcpus;
    int stop_efd; /* eventfd: readable once stopping */

    _Atomic uint64_t exits, exits_io, exits_mmio, mmio_unknown;
    struct timespec started;
};

/* Opens /dev/kvm, creates the VM (TSS, identity map, irqchip, PIT), maps
 * guest RAM and creates and sets up the vCPUs. Guest RAM, devices and the
 * boot info must be ready in vm. */
int vm_create_kvm(struct vm *vm, verr_t *err);
void vm_destroy(struct vm *vm);

/* The irq_line callback: KVM_IRQ_LINE on the in-kernel irqchip. */
void vm_set_irq(void *vm, unsigned irq, int level);

/* Ends the VM with this exit status; the first request wins. Safe from any
 * thread, including a vCPU thread holding the bus lock. */
void vm_request_stop(struct vm *vm, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool vm_stopping(struct vm *vm);

int vm_start_vcpus(struct vm *vm, verr_t *err);
void vm_kick_all(struct vm *vm);
void vm_join_vcpus(struct vm *vm);
/* Pause returns once every vCPU is out of KVM_RUN and parked (or 1 s). */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

#endif
