/* virtio-blk on a raw image file: every request is one io_uring operation
 * (readv/writev straight from and into guest RAM, fsync, fallocate), one
 * submit per batch. The ring is limited to those operations
 * (IORING_REGISTER_RESTRICTIONS) and posts to an eventfd the event loop
 * polls. The file goes through the page cache: a write is in the kernel
 * once it completed, so killing the VMM loses nothing, and FLUSH
 * (fdatasync, after every earlier operation: IOSQE_IO_DRAIN) makes it
 * durable. */
#include "kvm/virtio/blk_backend.h"

#include "kvm/fdpath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RAW_RING 256

struct raw {
    struct blk_backend be;
    int file;
    struct io_uring ring;
    unsigned in_flight;
};

static struct raw *raw_of(struct blk_backend *be)
{
    return (struct raw *)be;
}

static void prep(struct raw *r, struct io_uring_sqe *sqe, struct blk_io *io)
{
    switch (io->op) {
    case BLK_READ:
        io_uring_prep_readv(sqe, r->file, io->iov, (unsigned)io->iovcnt, io->offset);
        break;
    case BLK_WRITE:
        io_uring_prep_writev(sqe, r->file, io->iov, (unsigned)io->iovcnt, io->offset);
        break;
    case BLK_FLUSH:
        io_uring_prep_fsync(sqe, r->file, IORING_FSYNC_DATASYNC);
        sqe->flags |= IOSQE_IO_DRAIN; /* covers every write that completed before */
        break;
    case BLK_DISCARD:
    case BLK_WRITE_ZEROES: {
        /* zeroing without unmap keeps the blocks allocated when the file
         * system can (ZERO_RANGE); else, and for unmap, punch a hole */
        int mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
        if (io->op == BLK_WRITE_ZEROES && !io->unmap && !io->retried)
            mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE;
        io_uring_prep_fallocate(sqe, r->file, mode, io->offset, io->len);
        break;
    }
    }
    io_uring_sqe_set_data(sqe, io);
}

static int raw_submit(struct blk_backend *be, struct blk_io **ios, int n)
{
    struct raw *r = raw_of(be);
    for (int i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        if (!sqe) {
            int s = io_uring_submit(&r->ring);
            if (s < 0)
                return s;
            if (!(sqe = io_uring_get_sqe(&r->ring)))
                return -EAGAIN;
        }
        ios[i]->result = 0;
        ios[i]->retried = false;
        prep(r, sqe, ios[i]);
        r->in_flight++;
    }
    int s = io_uring_submit(&r->ring);
    return s < 0 ? s : 0;
}

static uint64_t expected(const struct blk_io *io)
{
    return io->op == BLK_READ || io->op == BLK_WRITE ? io->len : 0;
}

static int raw_reap(struct blk_backend *be, struct blk_io **done, int max)
{
    struct raw *r = raw_of(be);
    uint64_t v;
    if (read(be->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return -errno;
    int n = 0;
    struct io_uring_cqe *cqe;
    bool resubmit = false;
    while (n < max && io_uring_peek_cqe(&r->ring, &cqe) == 0) {
        struct blk_io *io = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
        if (io->op == BLK_WRITE_ZEROES && !io->retried && (res == -EOPNOTSUPP || res == -EINVAL)) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
            if (sqe) { /* the file system cannot ZERO_RANGE: punch instead */
                io->retried = true;
                prep(r, sqe, io);
                resubmit = true;
                continue;
            }
        }
        r->in_flight--;
        if (res < 0)
            io->result = res;
        else if ((uint64_t)res != expected(io))
            io->result = -EIO; /* short: past the end, or a full disk */
        done[n++] = io;
    }
    if (resubmit)
        io_uring_submit(&r->ring);
    return n;
}

static void raw_wait(struct blk_backend *be)
{
    struct raw *r = raw_of(be);
    struct io_uring_cqe *cqe;
    while (r->in_flight && io_uring_wait_cqe(&r->ring, &cqe) == -EINTR)
        ;
}

static int raw_resize(struct blk_backend *be, uint64_t size)
{
    struct raw *r = raw_of(be);
    if (size < be->size)
        return -EINVAL; /* grow only */
    if (ftruncate(r->file, (off_t)size) < 0)
        return -errno;
    be->size = size;
    return 0;
}

static void raw_destroy(struct blk_backend *be)
{
    struct raw *r = raw_of(be);
    io_uring_queue_exit(&r->ring);
    close(be->fd);
    close(r->file);
    free(r);
}

static const struct blk_backend_ops raw_ops = {
    .submit = raw_submit,
    .reap = raw_reap,
    .wait = raw_wait,
    .resize = raw_resize,
    .destroy = raw_destroy,
};

/* The ring may only read, write, sync and fallocate. */
static int restrict_ring(struct raw *r)
{
    static const uint8_t ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
                                   IORING_OP_FALLOCATE };
    struct io_uring_restriction res[sizeof(ops) + 1];
    memset(res, 0, sizeof(res));
    for (size_t i = 0; i < sizeof(ops); i++) {
        res[i].opcode = IORING_RESTRICTION_SQE_OP;
        res[i].sqe_op = ops[i];
    }
    res[sizeof(ops)].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED; /* FLUSH drains */
    res[sizeof(ops)].sqe_flags = IOSQE_IO_DRAIN;
    /* raw io_uring_register(2): Debian's liburing 2.3 lacks the wrappers */
    if (syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res,
                sizeof(ops) + 1) < 0 ||
        syscall(__NR_io_uring_register, r->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    return 0;
}

int blk_raw_open(const char *path, bool ro, struct blk_backend **out, verr_t *err)
{
    struct raw *r = calloc(1, sizeof(*r));
    if (!r)
        return verr_set(err, ENOMEM, "out of memory");
    r->be.ops = &raw_ops;
    r->be.alignment = 4096;
    r->file = vmm_open_path(path, ro ? O_RDONLY : O_RDWR);
    if (r->file < 0) {
        int e = errno;
        free(r);
        return verr_set(err, e, "disk %s: %s", path, strerror(e));
    }
    struct stat st;
    int rc = 0;
    if (fstat(r->file, &st) < 0)
        rc = verr_set(err, errno, "disk %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = verr_set(err, EINVAL, "disk %s: not a regular file", path);
    r->be.size = (uint64_t)st.st_size & ~511ull;
    r->be.fd = rc ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!rc && r->be.fd < 0)
        rc = verr_set(err, errno, "eventfd: %s", strerror(errno));
    int q = rc ? 0 : io_uring_queue_init(RAW_RING, &r->ring, IORING_SETUP_R_DISABLED);
    if (!rc && q < 0)
        rc = verr_set(err, -q, "io_uring: %s", strerror(-q));
    if (!rc && (q = io_uring_register_eventfd(&r->ring, r->be.fd)) < 0)
        rc = verr_set(err, -q, "io_uring eventfd: %s", strerror(-q));
    if (!rc && (q = restrict_ring(r)) < 0)
        rc = verr_set(err, -q, "io_uring restrictions: %s", strerror(-q));
    if (rc) {
        if (r->ring.ring_fd > 0)
            io_uring_queue_exit(&r->ring);
        if (r->be.fd >= 0)
            close(r->be.fd);
        close(r->file);
        free(r);
        return rc;
    }
    *out = &r->be;
    return 0;
}
