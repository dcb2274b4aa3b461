/* One VM: the KVM file descriptors, guest RAM, devices and vCPU threads,
 * and the VM-wide state the threads share (stop request, pause). */
#ifndef PICOSTACK_KVM_VM_H
#define PICOSTACK_KVM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "kvm/bus.h"
#include "kvm/devices/device.h"
#include "kvm/guest_mem.h"
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
    struct bus bus;     /* port I/O and MMIO, for every vCPU exit */
    struct vmdevs devs; /* the registered devices' instances */
    struct loop *loop;  /* the event loop devices add their fds to */
    unsigned ncpus;
    struct vcpu *vcpus;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cond;
    bool stopping;
    int exit_code;
    char stop_msg[4096];
    const char *end; /* "poweroff" or "reset" when the guest ended itself */
    bool paused;
    unsigned paused_vcpus;
    int stop_efd; /* eventfd: readable once stopping */

    pthread_mutex_t routes_lock; /* guards the GSI routing table */
    struct kvm_irq_routing_entry *routes;
    unsigned nroutes, routes_cap, next_gsi;

    _Atomic uint64_t exits, exits_io, exits_mmio;
    struct timespec started;
};

/* Opens /dev/kvm, creates the VM (TSS, identity map, irqchip, PIT), maps
 * guest RAM and creates and sets up the vCPUs. Guest RAM, devices and the
 * boot info must be ready in vm. */
int vm_create_kvm(struct vm *vm, verr_t *err);
void vm_destroy(struct vm *vm);

/* The irq_line callback: KVM_IRQ_LINE on the in-kernel irqchip. */
void vm_set_irq(void *vm, unsigned irq, int level);

/* Interrupts beyond the ISA lines (irq.h builds on these).
 * The GSI routing table is the PC's (ISA IRQ n -> PIC pin n and IOAPIC pin n,
 * IRQ 0 -> IOAPIC pin 2, GSIs 16-23 -> IOAPIC pins 16-23) plus appended MSI
 * routes on GSIs from VM_FIRST_MSI_GSI up; every change re-sends the whole
 * table with KVM_SET_GSI_ROUTING. Safe from any thread. */
#define VM_IOAPIC_PINS   24
#define VM_FIRST_MSI_GSI VM_IOAPIC_PINS
int vm_add_msi_route(struct vm *vm, uint64_t addr, uint32_t data, unsigned *gsi);
int vm_set_msi_route(struct vm *vm, unsigned gsi, uint64_t addr, uint32_t data);
/* KVM_SIGNAL_MSI: one message now, no route needed. */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* KVM_IRQFD: writes to eventfd fd raise gsi (assign) / stop doing so. */
int vm_irqfd(struct vm *vm, int fd, unsigned gsi, bool assign);
/* KVM_IOEVENTFD: a guest write of len bytes (1, 2, 4, 8; 0 = any) at addr
 * in sp signals eventfd fd in the kernel, without a vCPU exit; with
 * datamatch only when the value written equals *datamatch. */
int vm_ioeventfd(struct vm *vm, enum bus_space sp, uint64_t addr, unsigned len,
                 const uint64_t *datamatch, int fd, bool assign);

/* Ends the VM with this exit status; the first request wins. Safe from any
 * thread, including a vCPU thread holding the bus lock. */
void vm_request_stop(struct vm *vm, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a guest that ends itself (exit status 0): end is "poweroff"
 * or "reset", what --exit-file will say when this request wins. */
void vm_request_end(struct vm *vm, const char *end, const char *msg);
bool vm_stopping(struct vm *vm);

int vm_start_vcpus(struct vm *vm, verr_t *err);
void vm_kick_all(struct vm *vm);
void vm_join_vcpus(struct vm *vm);
/* Pause returns once every vCPU is out of KVM_RUN and parked (or 1 s). */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

#endif
