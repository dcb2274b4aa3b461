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

/* The firmware ROM below 4 GiB: read-only where KVM can (a write is then an
 * MMIO exit nobody answers), else a private writable copy. */
static int add_rom(struct vm *vm, unsigned slot, verr_t *err)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = vm->boot.rom_addr,
        .memory_size = vm->boot.rom_size,
        .userspace_addr = (uintptr_t)vm->boot.rom,
    };
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0)
        r.flags = KVM_MEM_READONLY;
    else if (mprotect(vm->boot.rom, vm->boot.rom_size, PROT_READ | PROT_WRITE) < 0)
        return verr_set(err, errno, "firmware ROM: %s", strerror(errno));
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return verr_set(err, errno, "KVM_SET_USER_MEMORY_REGION (ROM): %s", strerror(errno));
    return 0;
}

/* GSI routing as on a PC and as our MADT and MP table say: ISA IRQ n goes
 * to PIC pin n and IOAPIC pin n, except IRQ 0 (the PIT), which reaches the
 * IOAPIC on pin 2. (KVM's default sends GSI 0 to IOAPIC pin 0.) MSI routes
 * are appended after these. Under routes_lock. */
static int push_route(struct vm *vm, struct kvm_irq_routing_entry e)
{
    if (vm->nroutes == vm->routes_cap) {
        unsigned cap = vm->routes_cap ? vm->routes_cap * 2 : 64;
        struct kvm_irq_routing_entry *p = realloc(vm->routes, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        vm->routes = p;
        vm->routes_cap = cap;
    }
    vm->routes[vm->nroutes++] = e;
    return 0;
}

static int send_routes(struct vm *vm)
{
    size_t sz = sizeof(struct kvm_irq_routing) + vm->nroutes * sizeof(vm->routes[0]);
    struct kvm_irq_routing *rt = calloc(1, sz);
    if (!rt)
        return -ENOMEM;
    rt->nr = vm->nroutes;
    memcpy(rt->entries, vm->routes, vm->nroutes * sizeof(vm->routes[0]));
    int r = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0 ? -errno : 0;
    free(rt);
    return r;
}

static int pc_routes(struct vm *vm)
{
    int r = 0;
    vm->nroutes = 0;
    for (unsigned gsi = 0; gsi < 16 && !r; gsi++) {
        if (gsi == 2)
            continue; /* the cascade */
        r = push_route(vm,
                       (struct kvm_irq_routing_entry){
                           .gsi = gsi,
                           .type = KVM_IRQ_ROUTING_IRQCHIP,
                           .u.irqchip = { gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                                          gsi % 8 } });
    }
    for (unsigned gsi = 0; gsi < VM_IOAPIC_PINS && !r; gsi++) {
        if (gsi == 2)
            continue; /* pin 2 is IRQ 0's */
        r = push_route(vm, (struct kvm_irq_routing_entry){
                               .gsi = gsi,
                               .type = KVM_IRQ_ROUTING_IRQCHIP,
                               .u.irqchip = { KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi } });
    }
    vm->next_gsi = VM_FIRST_MSI_GSI;
    return r;
}

static int set_gsi_routing(struct vm *vm, verr_t *err)
{
    pthread_mutex_lock(&vm->routes_lock);
    int r = pc_routes(vm);
    if (!r)
        r = send_routes(vm);
    pthread_mutex_unlock(&vm->routes_lock);
    if (r)
        return verr_set(err, -r, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
    return 0;
}

static struct kvm_irq_routing_entry msi_route(unsigned gsi, uint64_t addr, uint32_t data)
{
    return (struct kvm_irq_routing_entry){ .gsi = gsi,
                                           .type = KVM_IRQ_ROUTING_MSI,
                                           .u.msi = { .address_lo = (uint32_t)addr,
                                                      .address_hi = (uint32_t)(addr >> 32),
                                                      .data = data } };
}

int vm_add_msi_route(struct vm *vm, uint64_t addr, uint32_t data, unsigned *gsi)
{
    pthread_mutex_lock(&vm->routes_lock);
    unsigned g = vm->next_gsi;
    int r = push_route(vm, msi_route(g, addr, data));
    if (!r && (r = send_routes(vm)))
        vm->nroutes--;
    if (!r) {
        vm->next_gsi++;
        *gsi = g;
    }
    pthread_mutex_unlock(&vm->routes_lock);
    return r;
}

int vm_set_msi_route(struct vm *vm, unsigned gsi, uint64_t addr, uint32_t data)
{
    pthread_mutex_lock(&vm->routes_lock);
    int r = -ENOENT;
    for (unsigned i = 0; i < vm->nroutes; i++)
        if (vm->routes[i].gsi == gsi && vm->routes[i].type == KVM_IRQ_ROUTING_MSI) {
            vm->routes[i] = msi_route(gsi, addr, data);
            r = send_routes(vm);
            break;
        }
    pthread_mutex_unlock(&vm->routes_lock);
    return r;
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct kvm_msi m = { .address_lo = (uint32_t)addr,
                         .address_hi = (uint32_t)(addr >> 32),
                         .data = data };
    /* 0: the guest blocked it (masked); > 0: delivered. */
    return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int fd, unsigned gsi, bool assign)
{
    struct kvm_irqfd f = { .fd = fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
    return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, enum bus_space sp, uint64_t addr, unsigned len,
                 const uint64_t *datamatch, int fd, bool assign)
{
    struct kvm_ioeventfd e = { .addr = addr, .len = len, .fd = fd };
    if (sp == BUS_PIO)
        e.flags |= KVM_IOEVENTFD_FLAG_PIO;
    if (datamatch) {
        e.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
        e.datamatch = *datamatch;
    }
    if (!assign)
        e.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    return ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
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
        (r = need_cap(vm->kvm_fd, KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_IRQFD, "KVM_CAP_IRQFD", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", err)) ||
        (r = need_cap(vm->kvm_fd, KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", err)))
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
    return vm->boot.rom ? add_rom(vm, 2, err) : 0;
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
    free(vm->routes);
    vm->routes = NULL;
    vm->nroutes = vm->routes_cap = 0;
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

static void request_stop(struct vm *vm, int exit_code, const char *end, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&vm->lock);
    bool first = !vm->stopping;
    if (first) {
        vm->stopping = true;
        vm->exit_code = exit_code;
        vm->end = end;
        vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
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

void vm_request_stop(struct vm *vm, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    request_stop(vm, exit_code, NULL, fmt, ap);
    va_end(ap);
}

static void request_end(struct vm *vm, const char *end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void request_end(struct vm *vm, const char *end, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    request_stop(vm, VMM_EXIT_OK, end, fmt, ap);
    va_end(ap);
}

void vm_request_end(struct vm *vm, const char *end, const char *msg)
{
    request_end(vm, end, "%s", msg);
}

bool vm_stopping(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool s = vm->stopping;
    pthread_mutex_unlock(&vm->lock);
    return s;
}
