/* A virtio device in the VMM: its PCI function on the host bridge, BAR 0
 * on the bus (moved when the guest moves it), one ioeventfd per queue
 * doorbell feeding the event loop, one KVM GSI route + irqfd per MSI-X
 * vector (see virtio_vmm.h). */
#include "kvm/virtio/virtio_vmm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "kvm/loop.h"
#include "kvm/vm.h"

struct kick {
    struct virtio_vmm *v;
    unsigned q;
    int fd;
    struct loop_src *src;
};

struct virtio_vmm {
    struct vpci vp;
    struct pci_func_ops ops;
    struct bus *bus;
    struct vm *vm;
    struct loop *loop;
    struct kick kick[VIRTIO_MAX_QUEUES];
    struct irq_sink sink[MSIX_MAX_VECTORS];
    bool routed[MSIX_MAX_VECTORS];
};

static uint64_t bar_read(void *dev, uint64_t off, unsigned size)
{
    return vpci_bar_read(dev, off, size);
}

static void bar_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    vpci_bar_write(dev, off, size, v);
}

static const struct bus_dev_ops bar_ops = { .read = bar_read, .write = bar_write };

/* MSI-X: a route per vector, made on first use, moved with the table. */
static void route(void *ctx, unsigned vec, uint64_t addr, uint32_t data)
{
    struct virtio_vmm *v = ctx;
    if (!v->vm)
        return;
    if (!v->routed[vec]) {
        v->sink[vec] = irq_sink_msi(v->vm, addr, data);
        v->routed[vec] = true;
        irq_sink_msi_irqfd(&v->sink[vec]); /* on failure, KVM_SIGNAL_MSI */
        return;
    }
    irq_sink_msi_update(&v->sink[vec], addr, data);
}

static void deliver(void *ctx, unsigned vec, uint64_t addr, uint32_t data)
{
    struct virtio_vmm *v = ctx;
    if (!v->vm)
        return;
    if (!v->routed[vec])
        route(ctx, vec, addr, data);
    irq_sink_pulse(&v->sink[vec]);
}

static void doorbells(struct virtio_vmm *v, uint64_t bar, bool assign)
{
    if (!v->vm || !bar)
        return;
    for (unsigned q = 0; q < v->vp.dev->nqueues; q++)
        if (v->kick[q].fd >= 0)
            vm_ioeventfd(v->vm, BUS_MMIO, vpci_notify_addr(bar, q), 0, NULL, v->kick[q].fd, assign);
}

static int map_bar(struct pci_func *f, int bar, uint64_t old_addr, uint64_t new_addr)
{
    struct virtio_vmm *v = f->opaque;
    if (bar != 0)
        return -EINVAL;
    if (old_addr) {
        doorbells(v, old_addr, false);
        bus_unregister(v->bus, BUS_MMIO, old_addr);
    }
    if (!new_addr)
        return 0;
    int r =
        bus_register(v->bus, BUS_MMIO, new_addr, VPCI_BAR_SIZE, v->vp.dev->name, &bar_ops, &v->vp);
    if (r == 0)
        doorbells(v, new_addr, true);
    return r;
}

static int on_kick(void *opaque, int res)
{
    struct kick *k = opaque;
    uint64_t n;
    if (res < 0 || read(k->fd, &n, sizeof(n)) < 0)
        return LOOP_KEEP;
    virtio_dev_notify(k->v->vp.dev, k->q);
    return LOOP_KEEP;
}

int virtio_vmm_attach(struct vmdev_ctx *ctx, struct virtio_dev *dev, struct virtio_vmm **out)
{
    struct pci_host *host = pci_host_find(ctx->bus);
    if (!host)
        return verr_set(ctx->err, ENODEV, "%s: no PCI host bridge", dev->name);
    struct virtio_vmm *v = calloc(1, sizeof(*v));
    if (!v)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    v->bus = ctx->bus;
    v->vm = ctx->vm;
    v->loop = ctx->loop;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        v->kick[q] = (struct kick){ .v = v, .q = q, .fd = -1 };
    int r = vpci_init(&v->vp, dev);
    if (r < 0) {
        free(v);
        return verr_set(ctx->err, -r, "%s: PCI function: %s", dev->name, strerror(-r));
    }
    v->ops = *v->vp.pci.ops;
    v->ops.map_bar = map_bar;
    v->vp.pci.ops = &v->ops;
    v->vp.msix.deliver = deliver;
    v->vp.msix.route = route;
    v->vp.msix.ctx = v;
    /* doorbells: an eventfd per queue, polled by the loop, bound by KVM */
    for (unsigned q = 0; v->vm && v->loop && q < dev->nqueues && r == 0; q++) {
        v->kick[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->kick[q].fd < 0 ||
            !(v->kick[q].src = loop_add_fd(v->loop, v->kick[q].fd, on_kick, &v->kick[q])))
            r = -errno;
    }
    if (r == 0 && (r = pci_host_add(host, &v->vp.pci)) >= 0)
        r = 0;
    if (r == 0)
        vmdev_add_msi(ctx);
    if (r < 0) {
        virtio_vmm_detach(v);
        return verr_set(ctx->err, -r, "%s: %s", dev->name, strerror(-r));
    }
    *out = v;
    return 0;
}

void virtio_vmm_detach(struct virtio_vmm *v)
{
    if (!v)
        return;
    if (v->vp.pci.bar[0].mapped)
        map_bar(&v->vp.pci, 0, v->vp.pci.bar[0].mapped, 0);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        if (v->kick[q].src && v->loop->ring_ready) /* loop_fini() freed it otherwise */
            loop_remove(v->loop, v->kick[q].src);
        if (v->kick[q].fd >= 0)
            close(v->kick[q].fd);
    }
    for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
        if (v->routed[i])
            irq_sink_release(&v->sink[i]);
    vpci_destroy(&v->vp);
    free(v);
}

struct vpci *virtio_vmm_pci(struct virtio_vmm *v)
{
    return &v->vp;
}
