/* The transport-independent part of a virtio device (see virtio.h). */
#include "kvm/virtio/virtio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int virtio_dev_init(struct virtio_dev *d)
{
    if (!d->ops || !d->gm || d->nqueues == 0 || d->nqueues > VIRTIO_MAX_QUEUES ||
        d->queue_size == 0 || d->queue_size > VIRTQ_MAX_SIZE ||
        (d->queue_size & (d->queue_size - 1)))
        return -EINVAL;
    int r = pthread_mutex_init(&d->lock, NULL);
    if (r)
        return -r;
    d->host_features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
    d->driver_features = 0;
    d->status = d->isr = 0;
    d->config_generation = 0;
    d->fault[0] = 0;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        memset(&d->vq[q], 0, sizeof(d->vq[q]));
        d->vq[q].max_size = d->queue_size;
        virtq_reset(&d->vq[q]);
        d->queue_ready[q] = false;
    }
    return 0;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
    pthread_mutex_destroy(&d->lock);
}

void virtio_dev_lock(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
}

void virtio_dev_unlock(struct virtio_dev *d)
{
    pthread_mutex_unlock(&d->lock);
}

uint64_t virtio_dev_features(struct virtio_dev *d)
{
    return d->host_features;
}

void virtio_dev_set_driver_features(struct virtio_dev *d, uint64_t features)
{
    virtio_dev_lock(d);
    if (!(d->status & VIRTIO_STATUS_FEATURES_OK))
        d->driver_features = features;
    virtio_dev_unlock(d);
}

bool virtio_dev_running(const struct virtio_dev *d)
{
    return (d->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(d->status & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void fail_locked(struct virtio_dev *d, const char *msg)
{
    bool first = !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (!first)
        return;
    snprintf(d->fault, sizeof(d->fault), "%s", msg);
    d->stats.errors++;
    if (d->log) {
        char line[256];
        snprintf(line, sizeof(line), "%s: device needs reset: %s", d->name, msg);
        d->log(line);
    }
    if ((d->status & VIRTIO_STATUS_DRIVER_OK) && d->irq.config) {
        d->isr |= 2;
        d->stats.interrupts++;
        d->irq.config(d->irq.ctx);
    }
}

void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fail_locked(d, msg);
}

static void reset_locked(struct virtio_dev *d)
{
    if (d->ops->reset)
        d->ops->reset(d);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        virtq_reset(&d->vq[q]);
        d->queue_ready[q] = false;
    }
    d->status = 0;
    d->isr = 0;
    d->driver_features = 0;
    d->fault[0] = 0;
}

/* DRIVER_OK: start each ready queue with the negotiated ring features. */
static void start_locked(struct virtio_dev *d)
{
    for (unsigned q = 0; q < d->nqueues; q++) {
        if (!d->queue_ready[q])
            continue;
        struct virtq *vq = &d->vq[q];
        vq->event_idx = d->driver_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
        vq->indirect = d->driver_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
        if (virtq_start(vq, d->gm) < 0) {
            virtio_dev_fail(d, "queue %u: %s", q, vq->err);
            return;
        }
    }
    if (d->ops->start && d->ops->start(d) < 0 && !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
        fail_locked(d, "the device could not start");
}

void virtio_dev_set_status(struct virtio_dev *d, uint8_t status)
{
    virtio_dev_lock(d);
    if (status == 0) {
        reset_locked(d);
        virtio_dev_unlock(d);
        return;
    }
    uint8_t old = d->status;
    uint8_t keep = old & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t f = d->driver_features;
        if ((f & ~d->host_features) || !(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
            status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back */
    }
    /* DRIVER_OK only after FEATURES_OK */
    if ((status & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_FEATURES_OK))
        status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    d->status = (status & (uint8_t)~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | keep;
    if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        start_locked(d);
    virtio_dev_unlock(d);
}

uint8_t virtio_dev_status(struct virtio_dev *d)
{
    virtio_dev_lock(d);
    uint8_t s = d->status;
    virtio_dev_unlock(d);
    return s;
}

void virtio_dev_notify(struct virtio_dev *d, unsigned q)
{
    virtio_dev_lock(d);
    d->stats.notifies++;
    if (q < d->nqueues && virtio_dev_running(d) && d->vq[q].started && d->ops->notify)
        d->ops->notify(d, q);
    virtio_dev_unlock(d);
}

void virtio_dev_config_read(struct virtio_dev *d, uint32_t off, void *data, unsigned len)
{
    memset(data, 0, len);
    virtio_dev_lock(d);
    if (off <= d->config_len && len <= d->config_len - off && d->ops->config_read)
        d->ops->config_read(d, off, data, len);
    virtio_dev_unlock(d);
}

void virtio_dev_config_write(struct virtio_dev *d, uint32_t off, const void *data, unsigned len)
{
    virtio_dev_lock(d);
    if (off <= d->config_len && len <= d->config_len - off && d->ops->config_write)
        d->ops->config_write(d, off, data, len);
    virtio_dev_unlock(d);
}

uint8_t virtio_dev_read_isr(struct virtio_dev *d)
{
    virtio_dev_lock(d);
    uint8_t v = d->isr;
    d->isr = 0;
    virtio_dev_unlock(d);
    return v;
}

void virtio_dev_signal(struct virtio_dev *d, unsigned q)
{
    if (q >= d->nqueues || !virtq_should_signal(&d->vq[q]))
        return;
    d->isr |= 1;
    d->stats.interrupts++;
    if (d->irq.queue)
        d->irq.queue(d->irq.ctx, q);
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
    d->config_generation++;
    if (!(d->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    d->isr |= 2;
    d->stats.interrupts++;
    if (d->irq.config)
        d->irq.config(d->irq.ctx);
}
