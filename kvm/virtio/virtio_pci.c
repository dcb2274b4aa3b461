/* The virtio 1.x modern PCI transport (see virtio_pci.h). */
#include "kvm/virtio/virtio_pci.h"

#include <errno.h>
#include <string.h>

static const uint32_t pci_class[] = {
    [VIRTIO_ID_NET] = 0x02000000, /* network controller */
    [VIRTIO_ID_BLK] = 0x01800000, /* mass storage, other */
    [VIRTIO_ID_RNG] = 0x00ff0000, /* unclassified */
};

static void irq_queue(void *ctx, unsigned q)
{
    struct vpci *vp = ctx;
    msix_fire(&vp->msix, vp->queue_vector[q]);
}

static void irq_config(void *ctx)
{
    struct vpci *vp = ctx;
    msix_fire(&vp->msix, vp->config_vector);
}

/* struct virtio_pci_cap (4.1.4) */
static int add_cap(struct vpci *vp, uint8_t type, uint32_t off, uint32_t len, const void *extra,
                   unsigned extra_len)
{
    uint8_t c[24] = { PCI_CAP_VENDOR, 0, (uint8_t)(16 + extra_len), type, 0 /* bar */ };
    memcpy(c + 8, &off, 4);
    memcpy(c + 12, &len, 4);
    if (extra_len)
        memcpy(c + 16, extra, extra_len);
    return pci_func_add_cap(&vp->pci, c, 16 + extra_len);
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG: BAR access through configuration space ---- */

static bool window(struct vpci *vp, uint32_t off, unsigned size, uint32_t *bar_off, unsigned *len)
{
    uint32_t data = (uint32_t)vp->pci_cfg_cap + 16;
    if (off != data || size != 4) /* the driver accesses pci_cfg_data as one dword */
        return false;
    uint8_t bar = vp->pci.cfg[vp->pci_cfg_cap + 4];
    *bar_off = pci_get(&vp->pci, (uint32_t)vp->pci_cfg_cap + 8, 4);
    *len = pci_get(&vp->pci, (uint32_t)vp->pci_cfg_cap + 12, 4);
    return bar == 0 && (*len == 1 || *len == 2 || *len == 4) && *bar_off < VPCI_BAR_SIZE &&
           *bar_off % *len == 0;
}

static uint32_t cfg_read(struct pci_func *f, uint32_t off, unsigned size, uint32_t value)
{
    struct vpci *vp = f->opaque;
    uint32_t bar_off;
    unsigned len;
    if (!window(vp, off, size, &bar_off, &len))
        return value;
    return (uint32_t)vpci_bar_read(vp, bar_off, len);
}

static void cfg_written(struct pci_func *f, uint32_t off, unsigned size)
{
    struct vpci *vp = f->opaque;
    uint32_t bar_off;
    unsigned len;
    if (window(vp, off, size, &bar_off, &len))
        vpci_bar_write(vp, bar_off, len, pci_get(f, off, 4));
    msix_cfg_written(&vp->msix);
}

static const struct pci_func_ops vpci_ops = { .cfg_written = cfg_written, .cfg_read = cfg_read };

int vpci_init(struct vpci *vp, struct virtio_dev *dev)
{
    memset(vp, 0, sizeof(*vp));
    vp->dev = dev;
    uint16_t id = dev->device_id;
    uint32_t cls = id < sizeof(pci_class) / sizeof(pci_class[0]) ? pci_class[id] : 0x00ff0000;
    pci_func_init(&vp->pci, VPCI_VENDOR, (uint16_t)(VPCI_DEVICE_BASE + id), cls | 1, VPCI_VENDOR,
                  id);
    vp->pci.ops = &vpci_ops;
    vp->pci.opaque = vp;
    vp->pci.name = dev->name;
    int r = pci_func_add_bar(&vp->pci, 0, VPCI_BAR_SIZE, true);
    uint32_t mult = VPCI_NOTIFY_MULT;
    if (r == 0)
        r = add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, VPCI_COMMON_LEN, NULL, 0);
    if (r >= 0)
        r = add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF, VPCI_NOTIFY_MULT * dev->nqueues,
                    &mult, 4);
    if (r >= 0)
        r = add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, NULL, 0);
    if (r >= 0 && dev->config_len)
        r = add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF, dev->config_len, NULL, 0);
    if (r >= 0) {
        uint32_t zero = 0;
        r = vp->pci_cfg_cap = add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, &zero, 4);
    }
    if (r >= 0) { /* bar, offset, length and data are the driver's */
        uint32_t c = (uint32_t)vp->pci_cfg_cap;
        vp->pci.wmask[c + 4] = 0xff;
        memset(vp->pci.wmask + c + 8, 0xff, 12);
        r = msix_init(&vp->msix, &vp->pci, dev->nqueues + 1, 0, VPCI_MSIX_TABLE, VPCI_MSIX_PBA);
    }
    if (r < 0)
        return r;
    vp->config_vector = MSIX_NO_VECTOR;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        vp->queue_vector[q] = MSIX_NO_VECTOR;
    dev->irq = (struct virtio_irq){ .queue = irq_queue, .config = irq_config, .ctx = vp };
    return 0;
}

void vpci_destroy(struct vpci *vp)
{
    msix_destroy(&vp->msix);
}

uint64_t vpci_notify_addr(uint64_t bar0, unsigned q)
{
    return bar0 + VPCI_NOTIFY_OFF + (uint64_t)VPCI_NOTIFY_MULT * q;
}

static uint16_t check_vector(struct vpci *vp, uint16_t v)
{
    return v < vp->msix.n ? v : MSIX_NO_VECTOR;
}

static uint64_t common_read(struct vpci *vp, uint32_t off, unsigned size)
{
    struct virtio_dev *d = vp->dev;
    uint64_t f = virtio_dev_features(d);
    virtio_dev_lock(d);
    unsigned q = vp->qselect;
    struct virtq *vq = q < d->nqueues ? &d->vq[q] : NULL;
    uint64_t v = 0;
    switch (off) {
    case VPCI_DFSELECT: v = vp->dfselect; break;
    case VPCI_DF: v = vp->dfselect < 2 ? (uint32_t)(f >> (32 * vp->dfselect)) : 0; break;
    case VPCI_GFSELECT: v = vp->gfselect; break;
    case VPCI_GF:
        v = vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect)) : 0;
        break;
    case VPCI_MSIX_CONFIG: v = vp->config_vector; break;
    case VPCI_NUM_QUEUES: v = d->nqueues; break;
    case VPCI_STATUS: v = d->status; break;
    case VPCI_CFG_GEN: v = (uint8_t)d->config_generation; break;
    case VPCI_Q_SELECT: v = vp->qselect; break;
    case VPCI_Q_SIZE:
        v = vq ? vq->size : 0; /* 0: no such queue */
        break;
    case VPCI_Q_MSIX: v = vq ? vp->queue_vector[q] : MSIX_NO_VECTOR; break;
    case VPCI_Q_ENABLE: v = vq ? d->queue_ready[q] : 0; break;
    case VPCI_Q_NOFF: v = q; break;
    case VPCI_Q_DESC:
    case VPCI_Q_DESC + 4: v = vq ? vq->desc_gpa >> (off == VPCI_Q_DESC ? 0 : 32) : 0; break;
    case VPCI_Q_AVAIL:
    case VPCI_Q_AVAIL + 4: v = vq ? vq->avail_gpa >> (off == VPCI_Q_AVAIL ? 0 : 32) : 0; break;
    case VPCI_Q_USED:
    case VPCI_Q_USED + 4: v = vq ? vq->used_gpa >> (off == VPCI_Q_USED ? 0 : 32) : 0; break;
    default: break;
    }
    virtio_dev_unlock(d);
    if (size < 8)
        v &= (1ull << (8 * size)) - 1;
    return v;
}

/* A 64-bit queue address written as two dwords (or one qword). */
static void set_addr(uint64_t *a, uint32_t off, uint32_t base, unsigned size, uint64_t v)
{
    if (size == 8 && off == base)
        *a = v;
    else if (off == base)
        *a = (*a & ~0xffffffffull) | (uint32_t)v;
    else
        *a = (*a & 0xffffffffull) | (v << 32);
}

static void common_write(struct vpci *vp, uint32_t off, unsigned size, uint64_t v)
{
    struct virtio_dev *d = vp->dev;
    if (off == VPCI_STATUS) {
        virtio_dev_set_status(d, (uint8_t)v);
        if (v == 0) { /* reset: no vectors */
            vp->config_vector = MSIX_NO_VECTOR;
            for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
                vp->queue_vector[q] = MSIX_NO_VECTOR;
            vp->driver_features = 0;
        }
        return;
    }
    virtio_dev_lock(d);
    unsigned q = vp->qselect;
    /* queue registers are the driver's until the device runs */
    bool qok = q < d->nqueues && !(d->status & VIRTIO_STATUS_DRIVER_OK);
    struct virtq *vq = &d->vq[q < d->nqueues ? q : 0];
    switch (off) {
    case VPCI_DFSELECT: vp->dfselect = (uint32_t)v; break;
    case VPCI_GFSELECT: vp->gfselect = (uint32_t)v; break;
    case VPCI_GF:
        if (vp->gfselect < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned sh = 32 * vp->gfselect;
            vp->driver_features =
                (vp->driver_features & ~(0xffffffffull << sh)) | ((uint64_t)(uint32_t)v << sh);
            d->driver_features = vp->driver_features; /* the core checks at FEATURES_OK */
        }
        break;
    case VPCI_MSIX_CONFIG: vp->config_vector = check_vector(vp, (uint16_t)v); break;
    case VPCI_Q_SELECT: vp->qselect = (uint16_t)v; break;
    case VPCI_Q_SIZE:
        if (qok)
            vq->size = (uint16_t)v;
        break;
    case VPCI_Q_MSIX:
        if (q < d->nqueues)
            vp->queue_vector[q] = check_vector(vp, (uint16_t)v);
        break;
    case VPCI_Q_ENABLE:
        if (qok && v == 1)
            d->queue_ready[q] = true;
        break;
    case VPCI_Q_DESC:
    case VPCI_Q_DESC + 4:
        if (qok)
            set_addr(&vq->desc_gpa, off, VPCI_Q_DESC, size, v);
        break;
    case VPCI_Q_AVAIL:
    case VPCI_Q_AVAIL + 4:
        if (qok)
            set_addr(&vq->avail_gpa, off, VPCI_Q_AVAIL, size, v);
        break;
    case VPCI_Q_USED:
    case VPCI_Q_USED + 4:
        if (qok)
            set_addr(&vq->used_gpa, off, VPCI_Q_USED, size, v);
        break;
    default: /* read-only or reserved */ break;
    }
    virtio_dev_unlock(d);
}

/* The access sizes the spec allows for each common register. */
static bool common_size_ok(uint32_t off, unsigned size)
{
    if (off >= VPCI_COMMON_LEN || off % size)
        return false;
    if (off == VPCI_STATUS || off == VPCI_CFG_GEN)
        return size == 1;
    if (off >= VPCI_Q_DESC)
        return size == 4 || size == 8;
    if (off < VPCI_MSIX_CONFIG)
        return size == 4;
    return size == 2;
}

uint64_t vpci_bar_read(struct vpci *vp, uint64_t off, unsigned size)
{
    if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN)
        return common_size_ok((uint32_t)off, size) ? common_read(vp, (uint32_t)off, size) : 0;
    if (off == VPCI_ISR_OFF && size == 1)
        return virtio_dev_read_isr(vp->dev);
    if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + 0x1000 && size <= 8) {
        uint64_t v = 0;
        virtio_dev_config_read(vp->dev, (uint32_t)(off - VPCI_DEVICE_OFF), &v, size);
        return v;
    }
    if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA)
        return msix_table_read(&vp->msix, off - VPCI_MSIX_TABLE, size);
    if (off >= VPCI_MSIX_PBA && off < VPCI_MSIX_PBA + 0x1000)
        return msix_pba_read(&vp->msix, off - VPCI_MSIX_PBA, size);
    return 0;
}

void vpci_bar_write(struct vpci *vp, uint64_t off, unsigned size, uint64_t value)
{
    if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
        if (common_size_ok((uint32_t)off, size))
            common_write(vp, (uint32_t)off, size, value);
    } else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + 0x1000 && size <= 8) {
        virtio_dev_config_write(vp->dev, (uint32_t)(off - VPCI_DEVICE_OFF), &value, size);
    } else if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + 0x1000) {
        /* reached only without an ioeventfd (or a test): kick in place */
        uint64_t q = (off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT;
        if (q < vp->dev->nqueues)
            virtio_dev_notify(vp->dev, (unsigned)q);
    } else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA) {
        msix_table_write(&vp->msix, off - VPCI_MSIX_TABLE, size, value);
    }
}
