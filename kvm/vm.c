/* VM-wide KVM setup and the stop request. */
#include "kvm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/x86/cpu.h"
#include "kvm/x86/layout.h"

static int need_cap(int kvm_fd, int cap, const char *name, verr_t *err)
{
    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0)
        return verr_set(err, ENOTSUP, "this KVM lacks %s", name);
    return 0;
}

static int add_memory(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size, void *host,
                      verr_t *err)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return verr_set(err, errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
    return 0;
}

/* GSI routing as on a PC and as our MADT and MP table say: ISA IRQ n goes
 * to PIC pin n and IOAPIC pin n, except IRQ 0 (the PIT), which reaches the
 * IOAPIC on pin 2. (KVM's default sends GSI 0 to IOAPIC pin 0.) */
static int set_gsi_routing(struct vm *vm, verr_t *err)
{
    enum { IOAPIC_PINS = 24 };
    size_t n = 0, sz = sizeof(struct kvm_irq_routing) +
                       (16 + IOAPIC_PINS) * sizeof(struct kvm_irq_routing_entry);
    struct kvm_irq_routing *rt = calloc(1, sz);
    if (!rt)
        return verr_set(err, ENOMEM, "out of memory");
    for (unsigned gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2)
            continue; /* the cascade */
        rt->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8 }
        };
    }
    for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        if (gsi == 2)
            continue; /* pin 2 is IRQ 0's */
        rt->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi,
                                                           .type = KVM_IRQ_ROUTING_IRQCHIP,
                                                           .u.irqchip = { KVM_IRQCHIP_IOAPIC,
                                                                          gsi == 0 ? 2 : gsi } };
    }
    rt->nr = n;
    int r = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, rt);
    free(rt);
    if (r < 0)
        return verr_set(err, errno, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
    return 0;
}

static int create_machine(struct vm *vm, verr_t *err)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        return verr_set(err, errno, "cannot open /dev/kvm: %s", strerror(errno));
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return verr_set(err, ENOTSUP, "/dev/kvm speaks an unknown API version");
    int r;
    if ((r = need_cap(vm->kvm_fd, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_PIT2, "KVM_CAP_PIT2", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", err)))
        return r;
    int max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max_vcpus > 0 && vm->ncpus > (unsigned)max_vcpus)
        return verr_set(err, EINVAL, "this KVM runs at most %d vCPUs", max_vcpus);
    vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if ((ssize_t)vm->run_size <= 0)
        return verr_set(err, errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));

    do
        vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    while (vm->vm_fd < 0 && errno == EINTR);
    if (vm->vm_fd < 0)
        return verr_set(err, errno, "KVM_CREATE_VM: %s", strerror(errno));
    /* Pages VMX needs in the guest-physical space, placed in the hole. */
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0)
        return verr_set(err, errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
    uint64_t idmap = X86_IDENTITY_MAP_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
        return verr_set(err, errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return verr_set(err, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
    if ((r = set_gsi_routing(vm, err)))
        return r;
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return verr_set(err, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
    if ((r = add_memory(vm, 0, 0, vm->mem.low_size, vm->mem.host, err)))
        return r;
    if (gm_high_size(&vm->mem) && (r = add_memory(vm, 1, GM_HIGH_BASE, gm_high_size(&vm->mem),
                                                  vm->mem.host + vm->mem.low_size, err)))
        return r;
    return 0;
}

static int create_vcpu(struct vm *vm, unsigned i, verr_t *err)
{
    struct vcpu *c = &vm->vcpus[i];
    c->vm = vm;
    c->index = i;
    c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
    if (c->fd < 0)
        return verr_set(err, errno, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
    c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        c->run = NULL;
        return verr_set(err, errno, "mmap of vCPU %u's run area: %s", i, strerror(errno));
    }
    /* The boot vCPU gets the entry state; KVM keeps the others waiting for
	 * INIT/SIPI, since the irqchip is in the kernel. */
    return x86_setup_vcpu(vm->kvm_fd, c->fd, i, vm->ncpus, &vm->boot, err);
}

int vm_create_kvm(struct vm *vm, verr_t *err)
{
    vm->kvm_fd = vm->vm_fd = -1;
    vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
    if (!vm->vcpus)
        return verr_set(err, ENOMEM, "out of memory");
    for (unsigned i = 0; i < vm->ncpus; i++)
        vm->vcpus[i].fd = -1;
    int r = create_machine(vm, err);
    for (unsigned i = 0; !r && i < vm->ncpus; i++)
        r = create_vcpu(vm, i, err);
    return r;
}

void vm_destroy(struct vm *vm)
{
    for (unsigned i = 0; vm->vcpus && i < vm->ncpus; i++) {
        if (vm->vcpus[i].run)
            munmap(vm->vcpus[i].run, vm->run_size);
        if (vm->vcpus[i].fd >= 0)
            close(vm->vcpus[i].fd);
    }
    free(vm->vcpus);
    vm->vcpus = NULL;
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm->vm_fd = vm->kvm_fd = -1;
}

void vm_set_irq(void *opaque, unsigned irq, int level)
{
    struct vm *vm = opaque;
    struct kvm_irq_level l = { .irq = irq, .level = level };
    if (vm->vm_fd >= 0 && ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
        vm_request_stop(vm, VMM_EXIT_ERROR, "KVM_IRQ_LINE %u: %s", irq, strerror(errno));
}

void vm_request_stop(struct vm *vm, int exit_code, const char *fmt, ...)
{
    pthread_mutex_lock(&vm->lock);
    bool first = !vm->stopping;
    if (first) {
        vm->stopping = true;
        vm->exit_code = exit_code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
        va_end(ap);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (first) {
        uint64_t one = 1;
        if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow with one write; nothing to do */
        }
        vm_kick_all(vm); /* every vCPU leaves KVM_RUN */
    }
}

bool vm_stopping(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool s = vm->stopping;
    pthread_mutex_unlock(&vm->lock);
    return s;
}
