/* The event loop's callbacks: an eventfd and a timer fire theirs, sources
 * stay armed or drop as their callbacks say, removal (from inside a
 * callback and from outside, while armed) stops them, and a loop_stop()
 * from a callback ends loop_run(). Runs on a real (restricted) io_uring. */
#include "tests/support/check.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kvm/loop.h"

struct counter {
    int fd;
    int calls;
    int last_res;
    int ret;
};

static int on_event(void *opaque, int res)
{
    struct counter *c = opaque;
    uint64_t v;
    c->calls++;
    c->last_res = res;
    if (read(c->fd, &v, sizeof(v)) != sizeof(v))
        c->last_res = -1;
    return c->ret;
}

static void kick(int fd)
{
    uint64_t one = 1;
    CHECK_EQ(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void drive(struct loop *l, int rounds)
{
    for (int i = 0; i < rounds; i++)
        CHECK(loop_run_once(l, 20 * 1000 * 1000) >= 0);
}

static void test_eventfd(void)
{
    struct loop l;
    verr_t err;
    CHECK_EQ(loop_init(&l, &err), 0);
    struct counter a = { .fd = eventfd(0, EFD_NONBLOCK), .ret = LOOP_KEEP };
    struct counter b = { .fd = eventfd(0, EFD_NONBLOCK), .ret = LOOP_DROP };
    CHECK(loop_add_fd(&l, a.fd, on_event, &a) != NULL);
    CHECK(loop_add_fd(&l, b.fd, on_event, &b) != NULL);
    drive(&l, 2);
    CHECK_EQ(a.calls, 0); /* nothing signalled yet */
    kick(a.fd);
    drive(&l, 2);
    CHECK_EQ(a.calls, 1);
    CHECK(a.last_res > 0);
    kick(a.fd); /* re-armed after LOOP_KEEP */
    kick(b.fd);
    drive(&l, 2);
    CHECK_EQ(a.calls, 2);
    CHECK_EQ(b.calls, 1);
    kick(b.fd); /* dropped after LOOP_DROP */
    drive(&l, 2);
    CHECK_EQ(b.calls, 1);
    CHECK_EQ(l.nsrcs, 1);
    loop_fini(&l);
    close(a.fd);
    close(b.fd);
}

static int timer_calls;
static struct timespec timer_at;
static int on_timer(void *opaque, int res)
{
    (void)opaque;
    CHECK_EQ(res, 0);
    timer_calls++;
    clock_gettime(CLOCK_MONOTONIC, &timer_at);
    return LOOP_KEEP; /* ignored: timers fire once */
}

static int64_t ns_between(struct timespec a, struct timespec b)
{
    return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

static void test_timer(void)
{
    struct loop l;
    verr_t err;
    CHECK_EQ(loop_init(&l, &err), 0);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK(loop_add_timer(&l, 30 * 1000 * 1000, on_timer, NULL) != NULL);
    for (int i = 0; i < 100 && !timer_calls; i++)
        drive(&l, 1);
    CHECK_EQ(timer_calls, 1);
    CHECK(ns_between(start, timer_at) >= 30 * 1000 * 1000);
    drive(&l, 3);
    CHECK_EQ(timer_calls, 1); /* once */
    CHECK_EQ(l.nsrcs, 0);
    /* A timer removed before it fires never does. */
    struct loop_src *t = loop_add_timer(&l, 10 * 1000 * 1000, on_timer, NULL);
    CHECK(t != NULL);
    loop_remove(&l, t);
    drive(&l, 4);
    CHECK_EQ(timer_calls, 1);
    CHECK_EQ(l.nsrcs, 0);
    loop_fini(&l);
}

/* Removal: of an armed fd source from outside, and of itself inside. */
static struct loop *self_loop;
static struct loop_src *self_src;
static int self_calls;
static int remove_self(void *opaque, int res)
{
    (void)res;
    struct counter *c = opaque;
    uint64_t v;
    CHECK_EQ(read(c->fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    self_calls++;
    loop_remove(self_loop, self_src);
    return LOOP_KEEP; /* removal wins */
}

static void test_remove(void)
{
    struct loop l;
    verr_t err;
    CHECK_EQ(loop_init(&l, &err), 0);
    struct counter a = { .fd = eventfd(0, EFD_NONBLOCK), .ret = LOOP_KEEP };
    struct loop_src *s = loop_add_fd(&l, a.fd, on_event, &a);
    CHECK(s != NULL);
    drive(&l, 1);
    loop_remove(&l, s); /* armed: cancelled in the ring */
    drive(&l, 2);
    kick(a.fd);
    drive(&l, 2);
    CHECK_EQ(a.calls, 0);
    CHECK_EQ(l.nsrcs, 0);

    self_loop = &l;
    self_src = loop_add_fd(&l, a.fd, remove_self, &a);
    CHECK(self_src != NULL);
    kick(a.fd);
    drive(&l, 2);
    kick(a.fd);
    drive(&l, 2);
    CHECK_EQ(self_calls, 1);
    CHECK_EQ(l.nsrcs, 0);
    CHECK(loop_add_fd(&l, -1, on_event, &a) == NULL);
    CHECK_EQ(errno, EINVAL);
    loop_fini(&l);
    close(a.fd);
}

static int on_stop(void *opaque, int res)
{
    (void)res;
    loop_stop(opaque);
    return LOOP_DROP;
}

static void test_run_until_stopped(void)
{
    struct loop l;
    verr_t err;
    CHECK_EQ(loop_init(&l, &err), 0);
    int fd = eventfd(0, EFD_NONBLOCK);
    CHECK(loop_add_fd(&l, fd, on_stop, &l) != NULL);
    kick(fd);
    CHECK_EQ(loop_run(&l, &err), 0);
    loop_fini(&l);
    close(fd);
}

int main(void)
{
    test_eventfd();
    test_timer();
    test_remove();
    test_run_until_stopped();
    return t_done("kvm.loop");
}
