/* blockstore: the streaming image writer and import (raw, qcow2). */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_SIZE (16u * EXTMAP_CLUSTER_SIZE) /* appends are staged per 1 MiB */
#define SYNC_EVERY (256ull << 20)              /* fold into LMDB every 256 MiB */

int bs_new_object(MDB_txn *t, struct blockstore *bs, const char *name, uint32_t kind,
                  uint32_t flags, uint64_t parent_layer, uint64_t size, const char *parent);
int bs_disk_open(struct blockstore *bs, const char *name, int flags, int allow_pending,
                 struct blockstore_disk **out);

struct blockstore_writer {
    struct blockstore *bs;
    struct blockstore_disk *d;
    char name[BLOCKSTORE_NAME_MAX + 1];
    uint64_t size; /* size asked for at begin (0: what gets written) */
    uint64_t pos;  /* append position */
    uint64_t high; /* highest byte written + 1 */
    uint64_t since_sync;
    char *stage; /* bytes [stage_off, stage_off + stage_len) */
    uint64_t stage_off;
    size_t stage_len;
};

int blockstore_image_begin(struct blockstore *bs, const char *name, uint64_t size,
                           struct blockstore_writer **out)
{
    if (size > EXTMAP_MAX_SIZE)
        return bs_fail(-EFBIG, "image size above the 64 TiB limit");
    struct blockstore_writer *w = calloc(1, sizeof(*w));
    if (!w || posix_memalign((void **)&w->stage, EXTMAP_BLOCK, STAGE_SIZE)) {
        free(w);
        return -ENOMEM;
    }
    w->bs = bs;
    w->size = size;
    snprintf(w->name, sizeof(w->name), "%s", name);
    MDB_txn *t;
    int r = bs_begin(bs, 0, &t);
    if (r == 0) {
        r = bs_new_object(t, bs, name, BLOCKSTORE_IMAGE, OBJ_PENDING, 0,
                          size ? size : EXTMAP_MAX_SIZE, NULL);
        r = bs_finish(bs, t, r, NULL);
    }
    if (r == 0) {
        r = bs_disk_open(bs, name, 0, 1, &w->d);
        if (r < 0)
            bs_delete_object(bs, name, 1);
    }
    if (r < 0) {
        free(w->stage);
        free(w);
        return r;
    }
    *out = w;
    return 0;
}

static int all_zero(const char *p, size_t n)
{
    static const char z[4096];
    while (n >= sizeof(z)) {
        if (memcmp(p, z, sizeof(z)))
            return 0;
        p += sizeof(z);
        n -= sizeof(z);
    }
    return memcmp(p, z, n) == 0;
}

/* Writes, leaving zero ranges of still-unmapped clusters unallocated. */
static int put_bytes(struct blockstore_writer *w, uint64_t off, const char *buf, size_t len)
{
    if (w->size && (off > w->size || len > w->size - off))
        return bs_fail(-EINVAL, "image data past its size of %llu bytes",
                       (unsigned long long)w->size);
    if (off + len > EXTMAP_MAX_SIZE)
        return bs_fail(-EFBIG, "image larger than 64 TiB");
    struct extmap *m = blockstore_disk_map(w->d);
    struct extmap_req reqs[32];
    int n = 0, r = 0;
    while (len && r == 0) {
        uint64_t vcl = off >> EXTMAP_CLUSTER_SHIFT;
        size_t chunk = EXTMAP_CLUSTER_SIZE - (off & (EXTMAP_CLUSTER_SIZE - 1));
        if (chunk > len)
            chunk = len;
        if (!(all_zero(buf, chunk) && extmap_get(m, vcl, NULL, NULL) != EXTMAP_DATA))
            reqs[n++] = (struct extmap_req){
                .op = EXTMAP_WRITE, .offset = off, .len = chunk, .buf = (void *)buf
            };
        if (n == 32) {
            r = extmap_submit(m, reqs, n);
            n = 0;
        }
        off += chunk;
        buf += chunk;
        len -= chunk;
        w->since_sync += chunk;
    }
    if (r == 0 && n)
        r = extmap_submit(m, reqs, n);
    if (r < 0)
        return bs_fail(r, "writing image '%s': %s", w->name, strerror(-r));
    if (w->since_sync >= SYNC_EVERY) {
        w->since_sync = 0;
        r = blockstore_disk_sync(w->d);
    }
    return r;
}

static int flush_stage(struct blockstore_writer *w)
{
    if (!w->stage_len)
        return 0;
    int r = put_bytes(w, w->stage_off, w->stage, w->stage_len);
    w->stage_len = 0;
    return r;
}

int blockstore_image_write_at(struct blockstore_writer *w, uint64_t offset, const void *buf,
                              size_t len)
{
    int r = flush_stage(w);
    if (r == 0)
        r = put_bytes(w, offset, buf, len);
    if (r == 0 && offset + len > w->high)
        w->high = offset + len;
    return r;
}

int blockstore_image_append(struct blockstore_writer *w, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        if (w->stage_len == 0)
            w->stage_off = w->pos;
        size_t n = STAGE_SIZE - w->stage_len;
        if (n > len)
            n = len;
        memcpy(w->stage + w->stage_len, p, n);
        w->stage_len += n;
        w->pos += n;
        p += n;
        len -= n;
        if (w->pos > w->high)
            w->high = w->pos;
        if (w->stage_len == STAGE_SIZE) {
            int r = flush_stage(w);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int blockstore_image_commit(struct blockstore_writer *w)
{
    int r = flush_stage(w);
    uint64_t size = w->size ? w->size : w->high;
    if (r == 0 && size == 0)
        r = bs_fail(-EINVAL, "image '%s' is empty", w->name);
    if (r == 0)
        r = blockstore_disk_sync(w->d);
    if (r == 0) {
        MDB_txn *t;
        struct obj_rec o;
        r = bs_begin(w->bs, 0, &t);
        if (r == 0) {
            r = bs_obj_get(t, w->bs, w->name, &o);
            o.flags &= ~OBJ_PENDING;
            o.size = size;
            if (r == 0)
                r = bs_obj_put(t, w->bs, w->name, &o);
            r = bs_finish(w->bs, t, r, NULL);
        }
    }
    if (r < 0) {
        blockstore_image_abort(w);
        return r;
    }
    r = blockstore_disk_close(w->d);
    free(w->stage);
    free(w);
    return r;
}

void blockstore_image_abort(struct blockstore_writer *w)
{
    if (!w)
        return;
    blockstore_disk_close(w->d);
    bs_delete_object(w->bs, w->name, 1);
    free(w->stage);
    free(w);
}

/* ---- import ---- */

struct fd_src {
    int fd;
};

static int fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
    struct fd_src *s = ctx;
    char *p = buf;
    while (len) {
        ssize_t n = pread(s->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENODATA;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

struct qimport {
    struct blockstore_writer *w;
    blockstore_progress_fn progress;
    void *ctx;
    uint64_t total;
};

static int qcow2_put(void *vctx, uint64_t off, const void *buf, size_t len)
{
    struct qimport *q = vctx;
    int r = blockstore_image_write_at(q->w, off, buf, len);
    if (r == 0 && q->progress && q->progress(q->ctx, off + len, q->total))
        r = bs_fail(-ECANCELED, "import cancelled");
    return r;
}

static int import_raw(struct blockstore *bs, int fd, uint64_t size, const char *name,
                      blockstore_progress_fn progress, void *ctx)
{
    if (size == 0)
        return bs_fail(-EINVAL, "'%s' is empty", name);
    struct blockstore_writer *w;
    int r = blockstore_image_begin(bs, name, size, &w);
    if (r < 0)
        return r;
    size_t bufsz = 4u << 20;
    char *buf = malloc(bufsz);
    if (!buf) {
        blockstore_image_abort(w);
        return -ENOMEM;
    }
    struct fd_src src = { fd };
    for (uint64_t off = 0; off < size && r == 0;) {
        size_t n = size - off < bufsz ? (size_t)(size - off) : bufsz;
        r = fd_pread(&src, buf, n, off);
        if (r < 0)
            r = bs_fail(r, "reading the source: %s", strerror(-r));
        if (r == 0)
            r = blockstore_image_append(w, buf, n);
        off += n;
        if (r == 0 && progress && progress(ctx, off, size))
            r = bs_fail(-ECANCELED, "import cancelled");
    }
    free(buf);
    if (r < 0) {
        blockstore_image_abort(w);
        return r;
    }
    return blockstore_image_commit(w);
}

/* A qcow2 image (from any reader) into a new image object `name`; *vsize:
 * its virtual size. */
static int qcow2_to_image(struct blockstore *bs, qcow2_pread_fn rd, void *src, uint64_t size,
                          const char *name, blockstore_progress_fn progress, void *ctx,
                          uint64_t *vsize)
{
    struct qcow2 *q;
    int r = qcow2_open(rd, src, size, &q);
    if (r < 0)
        return r;
    struct qimport qi = { .progress = progress, .ctx = ctx, .total = qcow2_virtual_size(q) };
    *vsize = qi.total;
    r = blockstore_image_begin(bs, name, qi.total, &qi.w);
    if (r == 0) {
        r = qcow2_read_all(q, qcow2_put, &qi);
        if (r < 0)
            blockstore_image_abort(qi.w);
        else
            r = blockstore_image_commit(qi.w);
    }
    qcow2_close(q);
    return r;
}

static int import_qcow2(struct blockstore *bs, int fd, uint64_t size, const char *name,
                        blockstore_progress_fn progress, void *ctx)
{
    struct fd_src src = { fd };
    uint64_t vsize;
    int r = qcow2_to_image(bs, fd_pread, &src, size, name, progress, ctx, &vsize);
    if (r == 0 && progress)
        progress(ctx, vsize, vsize);
    return r;
}

int blockstore_import_fd(struct blockstore *bs, int fd, const char *name,
                         enum blockstore_format fmt, blockstore_progress_fn progress, void *ctx)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return bs_fail(-errno, "cannot stat the source: %s", strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        size = end > 0 ? (uint64_t)end : 0;
    }
    if (fmt == BLOCKSTORE_FMT_AUTO) {
        unsigned char head[8] = { 0 };
        ssize_t n = pread(fd, head, sizeof(head), 0);
        fmt = n == (ssize_t)sizeof(head) && qcow2_probe(head, sizeof(head)) ? BLOCKSTORE_FMT_QCOW2
                                                                            : BLOCKSTORE_FMT_RAW;
    }
    if (fmt == BLOCKSTORE_FMT_QCOW2 || fmt == BLOCKSTORE_FMT_QCOW2_EXTL2)
        return import_qcow2(bs, fd, size, name, progress, ctx); /* either L2 kind */
    return import_raw(bs, fd, size, name, progress, ctx);
}

struct map_src {
    struct extmap *m;
};

static int map_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
    struct map_src *s = ctx;
    if (off > extmap_size(s->m) || len > extmap_size(s->m) - off)
        return -ENODATA;
    return extmap_read(s->m, buf, off, len);
}

int blockstore_convert_qcow2(struct blockstore *bs, const char *source, const char *name,
                             blockstore_progress_fn progress, void *ctx)
{
    struct blockstore_disk *d;
    int r = blockstore_disk_open(bs, source, BLOCKSTORE_RDONLY, &d);
    if (r < 0)
        return r;
    struct map_src src = { blockstore_disk_map(d) };
    uint64_t vsize;
    r = qcow2_to_image(bs, map_pread, &src, extmap_size(src.m), name, progress, ctx, &vsize);
    blockstore_disk_close(d);
    return r;
}

int blockstore_import(struct blockstore *bs, const char *path, const char *name,
                      enum blockstore_format fmt, blockstore_progress_fn progress, void *ctx)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bs_fail(-errno, "cannot open %s: %s", path, strerror(errno));
    int r = blockstore_import_fd(bs, fd, name, fmt, progress, ctx);
    close(fd);
    return r;
}
