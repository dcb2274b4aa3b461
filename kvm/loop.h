/* The VMM's event loop: io_uring on the main thread while the vCPU threads
 * run the guest. Anything that waits on a file descriptor or a time (the
 * stop eventfd, signals, serial input, the control socket, a device's timer,
 * later virtio queue eventfds, an io_uring completion fd, a tap) adds a
 * callback; kvm/loop.c knows none of them.
 *
 *   struct loop_src *s = loop_add_fd(l, fd, on_ready, opaque);
 *   int on_ready(void *opaque, int revents) { ...; return LOOP_KEEP; }
 *
 * An fd source is a one-shot POLLIN poll re-armed after each callback that
 * returns LOOP_KEEP; LOOP_DROP removes it (the fd stays open: it is the
 * caller's). A timer fires once, ns from now; its callback's return value
 * is ignored (add another for a periodic one, or use a timerfd with
 * loop_add_fd). revents is the poll result, or a negative errno. Callbacks
 * run on the loop's thread, one at a time, without the bus lock: take
 * bus_lock() before calling into a device model. loop_remove() removes a
 * source from anywhere on the loop's thread (inside its own callback too).
 *
 * The ring accepts only POLL_ADD, POLL_REMOVE, TIMEOUT and TIMEOUT_REMOVE
 * (IORING_REGISTER_RESTRICTIONS: seccomp cannot see what io_uring does). */
#ifndef PICOSTACK_KVM_LOOP_H
#define PICOSTACK_KVM_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/verr.h"

enum { LOOP_KEEP = 0, LOOP_DROP = 1 };

typedef int (*loop_fn)(void *opaque, int res);

struct loop_src; /* opaque */

struct loop {
    struct io_uring ring;
    bool ring_ready;
    bool done;
    struct loop_src *srcs; /* every live source, for loop_fini() */
    unsigned nsrcs;
};

int loop_init(struct loop *l, verr_t *err);
/* Frees every source; closes no descriptor but the ring's. */
void loop_fini(struct loop *l);

/* NULL with errno set (ENOMEM, EBUSY when the ring is full). */
struct loop_src *loop_add_fd(struct loop *l, int fd, loop_fn fn, void *opaque);
struct loop_src *loop_add_timer(struct loop *l, uint64_t ns, loop_fn fn, void *opaque);
void loop_remove(struct loop *l, struct loop_src *s);

/* Runs callbacks until loop_stop(); returns 0, or a negative errno with a
 * message when the ring fails. */
int loop_run(struct loop *l, verr_t *err);
/* Makes loop_run() return after the callback now running. */
void loop_stop(struct loop *l);
/* One round: waits at most timeout_ns for completions and runs their
 * callbacks (tests drive the loop with it). Returns how many ran, or a
 * negative errno. */
int loop_run_once(struct loop *l, uint64_t timeout_ns);

#endif
