/* The VMM's virtio-blk disks: one registered device instance per --disk, in
 * command-line order, each a virtio-blk (blk.h) on a raw file or a handed-
 * over block-store disk, on PCI (virtio_vmm.h), completions polled by the
 * event loop. Grants for a block-store disk come over the control socket
 * (blk_disk_grant): when the disk's map runs out of clusters its I/O thread
 * waits (up to BLK_GRANT_WAIT_S; status shows grant_wanted) for one, so
 * the vCPUs and other disks go on meanwhile. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvm/devices/device.h"
#include "kvm/loop.h"
#include "kvm/virtio/blk.h"
#include "kvm/virtio/virtio_vmm.h"

#define BLK_GRANT_WAIT_S 30
#define GRANT_BOX        64

struct blk_disk {
    struct blk *b;
    struct virtio_vmm *v;
    struct loop *loop;
    struct loop_src *done;
    struct extmap_handover h; /* a block-store disk's descriptors, ours now */
    bool handed_over;
    char name[24];
    /* grants from the control socket, taken by the map's I/O thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct extmap_range box[GRANT_BOX];
    int nbox;
    struct extmap *map;
    int new_fd[EXTMAP_MAX_FILES]; /* data files passed after the hand-over, not yet in map */
    bool wanted;
    uint64_t granted;
};

static int on_done(void *opaque, int res)
{
    (void)res;
    blk_complete(opaque);
    return LOOP_KEEP;
}

/* The map's refill (its I/O thread): what the control socket granted. */
static int refill(void *ctx, struct extmap_range *out, int max)
{
    struct blk_disk *s = ctx;
    pthread_mutex_lock(&s->lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BLK_GRANT_WAIT_S;
    s->wanted = true;
    while (!s->nbox && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
        ;
    for (int f = 0; f < EXTMAP_MAX_FILES; f++)
        if (s->new_fd[f] >= 0) { /* the map is this thread's: set them here */
            extmap_set_data_fd(s->map, f, s->new_fd[f]);
            s->h.data_fds[f] = s->new_fd[f]; /* closed with the rest */
            s->new_fd[f] = -1;
        }
    int n = s->nbox < max ? s->nbox : max;
    memcpy(out, s->box, (size_t)n * sizeof(*out));
    memmove(s->box, s->box + n, (size_t)(s->nbox - n) * sizeof(*out));
    s->nbox -= n;
    s->wanted = s->nbox == 0 && n == 0;
    pthread_mutex_unlock(&s->lock);
    return n ? n : -ENOSPC;
}

int blk_disk_grant(struct blk_disk *s, const struct extmap_range *r, int n)
{
    if (!s->handed_over)
        return -EINVAL; /* a raw file needs no grant */
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    if (s->nbox + n > GRANT_BOX)
        rc = -ENOSPC;
    for (int i = 0; rc == 0 && i < n; i++) {
        s->box[s->nbox++] = r[i];
        s->granted += r[i].count;
    }
    if (rc == 0)
        s->wanted = false;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int blk_disk_add_files(struct blk_disk *s, const int *file, const int *fd, int n)
{
    if (!s->handed_over)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (file[i] < 0 || file[i] >= EXTMAP_MAX_FILES || s->h.data_fds[file[i]] >= 0 ||
            s->new_fd[file[i]] >= 0)
            rc = -EINVAL;
    for (int i = 0; i < n && rc == 0; i++)
        s->new_fd[file[i]] = fd[i];
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int blk_disk_resize(struct blk_disk *s, uint64_t bytes)
{
    return blk_resize(s->b, bytes);
}

struct blk *blk_disk_blk(struct blk_disk *s)
{
    return s->b;
}

struct blk_disk *blk_disk_find(const struct vmdevs *devs, unsigned n)
{
    return vmdevs_find(devs, "virtio-blk", n);
}

/* A hand-over line from fd (a pipe or memfd), and the map it describes. */
static int open_handover(struct blk_disk *s, int fd, struct extmap **map, verr_t *err)
{
    char line[EXTMAP_HANDOVER_LINE_MAX];
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, line + n, sizeof(line) - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return verr_set(err, errno, "%s: handover=%d: %s", s->name, fd, strerror(errno));
        if (k == 0 || (n += (size_t)k) == sizeof(line) - 1)
            break;
    }
    line[n] = 0;
    close(fd);
    int r = extmap_handover_parse(line, &s->h);
    if (r < 0)
        return verr_set(err, -r, "%s: handover=%d: %s", s->name, fd,
                        r == -EBADF ? "names a descriptor that is not open"
                                    : "not a hand-over line (extmap.h)");
    s->handed_over = true;
    r = extmap_open_handover(&s->h, refill, s, map);
    s->map = r == 0 ? *map : NULL;
    if (r < 0)
        return verr_set(err, -r, "%s: the block-store disk: %s", s->name, strerror(-r));
    return 0;
}

static void close_handover(struct extmap_handover *h)
{
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        if (h->data_fds[i] >= 0)
            close(h->data_fds[i]);
    if (h->journal_fd >= 0)
        close(h->journal_fd);
    if (h->map_fd >= 0)
        close(h->map_fd);
}

static void disk_teardown(void *state)
{
    struct blk_disk *s = state;
    if (!s)
        return;
    if (s->done && s->loop->ring_ready) /* loop_fini() freed it otherwise */
        loop_remove(s->loop, s->done);
    virtio_vmm_detach(s->v);
    blk_destroy(s->b); /* the map with it */
    if (s->handed_over)
        close_handover(&s->h);
    for (int f = 0; f < EXTMAP_MAX_FILES; f++)
        if (s->new_fd[f] >= 0)
            close(s->new_fd[f]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

static int disk_init(struct vmdev_ctx *ctx, void **state)
{
    const struct vmm_disk *disk = &ctx->cfg->disks[ctx->instance];
    struct blk_disk *s = calloc(1, sizeof(*s));
    if (!s)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    for (int f = 0; f < EXTMAP_MAX_FILES; f++)
        s->new_fd[f] = -1;
    snprintf(s->name, sizeof(s->name), "virtio-blk%u", ctx->instance);
    s->loop = ctx->loop;
    struct blk_options o = { .path = disk->path,
                             .read_only = disk->read_only,
                             .serial = disk->serial,
                             .nqueues = ctx->cfg->cpus };
    int r = 0;
    if (disk->handover_fd >= 0)
        r = open_handover(s, disk->handover_fd, &o.map, ctx->err);
    if (r == 0 && (r = blk_create(ctx->gm, &o, s->name, &s->b, ctx->err)) < 0 && o.map)
        extmap_destroy(o.map);
    if (r == 0)
        r = virtio_vmm_attach(ctx, blk_dev(s->b), &s->v);
    if (r == 0 && s->loop && !(s->done = loop_add_fd(s->loop, blk_event_fd(s->b), on_done, s->b)))
        r = verr_set(ctx->err, errno, "%s: event loop: %s", s->name, strerror(errno));
    if (r < 0) {
        disk_teardown(s);
        return r;
    }
    *state = s;
    return 0;
}

static unsigned disk_instances(const struct vmm_config *cfg)
{
    return cfg->ndisks;
}

static void disk_status(void *state, struct json_t *out)
{
    struct blk_disk *s = state;
    struct virtio_dev *d = blk_dev(s->b);
    pthread_mutex_lock(&s->lock);
    bool wanted = s->wanted;
    uint64_t granted = s->granted;
    pthread_mutex_unlock(&s->lock);
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:i}", "device", s->name, "capacity",
        (json_int_t)blk_capacity(s->b), "requests", (json_int_t)d->stats.requests, "bytes_read",
        (json_int_t)d->stats.bytes_read, "bytes_written", (json_int_t)d->stats.bytes_written,
        "errors", (json_int_t)d->stats.errors, "queue_depth", (int)d->stats.in_flight, "interrupts",
        (json_int_t)d->stats.interrupts, "status", (int)d->status);
    if (o && s->handed_over) {
        json_object_set_new(o, "grant_wanted", json_boolean(wanted));
        json_object_set_new(o, "granted_clusters", json_integer((json_int_t)granted));
    }
    if (o && d->fault[0])
        json_object_set_new(o, "fault", json_string(d->fault));
    if (o)
        json_array_append_new(out, o);
}

static const struct vmdev_desc blk_device = {
    .name = "virtio-blk",
    .init = disk_init,
    .teardown = disk_teardown,
    .instances = disk_instances,
    .status = disk_status,
};
VMDEV_REGISTER(blk_device);
