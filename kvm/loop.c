/* The event loop (loop.h): each source is a heap object whose address is
 * the io_uring user_data of its one pending operation. A source removed
 * while its operation is pending is marked dead and freed when that
 * operation completes (cancelled by POLL_REMOVE / TIMEOUT_REMOVE). */
#include "kvm/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct loop_src {
    struct loop_src *next, *prev;
    loop_fn fn;
    void *opaque;
    int fd;       /* -1: a timer */
    bool armed;   /* an operation is pending in the ring */
    bool dead;    /* removed; freed once nothing refers to it */
    bool in_call; /* its callback is running */
    bool failed;  /* could not be re-armed */
    struct __kernel_timespec ts;
};

static struct io_uring_sqe *get_sqe(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

static int arm(struct loop *l, struct loop_src *s)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return -EBUSY;
    if (s->fd >= 0)
        io_uring_prep_poll_add(sqe, s->fd, POLLIN);
    else
        io_uring_prep_timeout(sqe, &s->ts, 0, 0);
    io_uring_sqe_set_data(sqe, s);
    s->armed = true;
    return 0;
}

static void unlink_free(struct loop *l, struct loop_src *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->srcs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    l->nsrcs--;
    free(s);
}

static struct loop_src *add(struct loop *l, int fd, uint64_t ns, loop_fn fn, void *opaque)
{
    struct loop_src *s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    *s = (struct loop_src){ .fn = fn, .opaque = opaque, .fd = fd };
    s->ts.tv_sec = ns / 1000000000;
    s->ts.tv_nsec = ns % 1000000000;
    int r = arm(l, s);
    if (r) {
        free(s);
        errno = -r;
        return NULL;
    }
    s->next = l->srcs;
    if (l->srcs)
        l->srcs->prev = s;
    l->srcs = s;
    l->nsrcs++;
    return s;
}

struct loop_src *loop_add_fd(struct loop *l, int fd, loop_fn fn, void *opaque)
{
    if (fd < 0 || !fn) {
        errno = EINVAL;
        return NULL;
    }
    return add(l, fd, 0, fn, opaque);
}

struct loop_src *loop_add_timer(struct loop *l, uint64_t ns, loop_fn fn, void *opaque)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    return add(l, -1, ns, fn, opaque);
}

void loop_remove(struct loop *l, struct loop_src *s)
{
    if (!s || s->dead)
        return;
    s->dead = true;
    if (s->in_call)
        return; /* dispatch() frees it when the callback returns */
    if (!s->armed) {
        unlink_free(l, s);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return; /* freed when its own operation completes, or at loop_fini() */
    if (s->fd >= 0)
        io_uring_prep_poll_remove(sqe, (uintptr_t)s);
    else
        io_uring_prep_timeout_remove(sqe, (uintptr_t)s, 0);
    io_uring_sqe_set_data(sqe, NULL); /* its own completion needs nothing */
}

void loop_stop(struct loop *l)
{
    l->done = true;
}

static void dispatch(struct loop *l, struct loop_src *s, int res)
{
    s->armed = false;
    if (s->dead) {
        unlink_free(l, s);
        return;
    }
    if (s->fd < 0 && res == -ETIME)
        res = 0; /* a timeout that expired is the normal case */
    s->in_call = true;
    int keep = s->fn(s->opaque, res) == LOOP_KEEP;
    s->in_call = false;
    if (s->dead || s->fd < 0 || !keep) {
        unlink_free(l, s);
        return;
    }
    if (arm(l, s) < 0) {
        s->failed = true;
        l->done = true; /* loop_run() reports it */
    }
}

static int reap(struct loop *l)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int ran = 0;
    /* Collect first: a callback may free sources or add CQEs. */
    struct {
        struct loop_src *s;
        int res;
    } done[64];
    io_uring_for_each_cqe(&l->ring, head, cqe)
    {
        if (seen == 64)
            break;
        done[seen].s = io_uring_cqe_get_data(cqe);
        done[seen].res = cqe->res;
        seen++;
    }
    io_uring_cq_advance(&l->ring, seen);
    for (unsigned i = 0; i < seen; i++)
        if (done[i].s) {
            dispatch(l, done[i].s, done[i].res);
            ran++;
        }
    return ran;
}

static int check_failed(struct loop *l, verr_t *err)
{
    for (struct loop_src *s = l->srcs; s; s = s->next)
        if (s->failed)
            return verr_set(err, EBUSY, "event loop: the ring is full");
    return 0;
}

int loop_run(struct loop *l, verr_t *err)
{
    while (!l->done) {
        int r = io_uring_submit_and_wait(&l->ring, 1);
        if (r < 0 && r != -EINTR)
            return verr_set(err, -r, "io_uring: %s", strerror(-r));
        reap(l);
    }
    return check_failed(l, err);
}

int loop_run_once(struct loop *l, uint64_t timeout_ns)
{
    struct __kernel_timespec ts = { .tv_sec = timeout_ns / 1000000000,
                                    .tv_nsec = timeout_ns % 1000000000 };
    struct io_uring_cqe *cqe;
    io_uring_submit(&l->ring);
    int r = io_uring_wait_cqe_timeout(&l->ring, &cqe, &ts);
    if (r == -ETIME)
        return 0;
    if (r < 0)
        return r;
    return reap(l);
}

int loop_init(struct loop *l, verr_t *err)
{
    memset(l, 0, sizeof(*l));
    /* The ring starts disabled so that its operations can be limited to
	 * the ones the loop uses before it accepts any. */
    int r = io_uring_queue_init(256, &l->ring, IORING_SETUP_R_DISABLED);
    if (r < 0)
        return verr_set(err, -r, "io_uring_queue_init: %s", strerror(-r));
    l->ring_ready = true;
    struct io_uring_restriction res[] = {
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_POLL_ADD },
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_POLL_REMOVE },
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_TIMEOUT },
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_TIMEOUT_REMOVE },
    };
    /* Raw io_uring_register(2): Debian's liburing 2.3 does not export its
	 * wrappers for these two. */
    if (syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res,
                sizeof(res) / sizeof(res[0])) < 0 ||
        syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return verr_set(err, errno, "io_uring restrictions: %s", strerror(errno));
    return 0;
}

void loop_fini(struct loop *l)
{
    if (l->ring_ready)
        io_uring_queue_exit(&l->ring);
    l->ring_ready = false;
    while (l->srcs)
        unlink_free(l, l->srcs);
}
