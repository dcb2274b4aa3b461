/* The watcher thread: one epoll over every VMM's pidfd (and an eventfd to
 * wake it), a 100 ms tick while some VMM needs one (a first status still
 * to come, block-store disks that may want grants, a stop's deadline), and
 * the delivery of queued events, outside the lock so that a callback may
 * call vmmctl again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

#define TICK_MS 100

uint64_t vmc_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void vmc_wake(struct vmmctl *v)
{
    uint64_t one = 1;
    if (write(v->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is far from full; nothing else can fail here */
    }
}

void vmc_event_queue(struct vmmctl *v, const char *id, enum vmmctl_event ev, const char *fmt, ...)
{
    struct vmc_event *e = calloc(1, sizeof(*e));
    if (!e) {
        fprintf(stderr, "vmmctl: out of memory: event for %s lost\n", id);
        return;
    }
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->ev = ev;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    *v->events_tail = e;
    v->events_tail = &e->next;
    vmc_wake(v);
}

int vmc_watch_add(struct vmmctl *v, struct vmc_vm *vm)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = vm->pidfd };
    return epoll_ctl(v->epfd, EPOLL_CTL_ADD, vm->pidfd, &ev) < 0 ? -errno : 0;
}

static bool needs_tick(const struct vmc_vm *vm)
{
    if (vm->ended || vm->pidfd < 0)
        return false;
    if (!vm->running || vm->kill_at_ms)
        return true;
    for (unsigned i = 0; i < VMMCTL_MAX_DISKS; i++)
        if (vm->disks[i])
            return true;
    return false;
}

/* A status call over the watcher's own connection: RUNNING on the first
 * answer, grants when a disk wants some. Runs without the lock (vm is
 * pinned by users). */
static bool poll_status(struct vmmctl *v, struct vmc_vm *vm)
{
    char path[4200];
    if (vm->status_fd < 0 && vmc_path(v, vm->spec.id, "control.sock", path, sizeof(path)) == 0)
        vm->status_fd = vmc_control_connect(path, 200);
    if (vm->status_fd < 0)
        return false; /* not listening yet */
    char *reply = NULL;
    int rc = vmc_control_call(vm->status_fd, "{\"op\":\"status\"}\n", NULL, 0, 1000, &reply);
    if (rc < 0 || !reply || !strstr(reply, "\"ok\":true")) {
        close(vm->status_fd);
        vm->status_fd = -1;
        free(reply);
        return false;
    }
    vmc_grants_feed(v, vm, reply);
    free(reply);
    return true;
}

static void tick(struct vmmctl *v)
{
    struct vmc_vm *todo[256];
    int n = 0;
    uint64_t now = vmc_now_ms();
    for (struct vmc_vm *vm = v->vms; vm && n < 256; vm = vm->next) {
        if (!needs_tick(vm))
            continue;
        if (vm->kill_at_ms && now >= vm->kill_at_ms) { /* a stop the guest ignored */
            vm->kill_at_ms = 0;
            vm->ask = ASK_KILL;
            vmc_vm_kill(vm);
            continue;
        }
        vm->users++;
        todo[n++] = vm;
    }
    pthread_mutex_unlock(&v->lock);
    bool answered[256];
    for (int i = 0; i < n; i++)
        answered[i] = poll_status(v, todo[i]);
    pthread_mutex_lock(&v->lock);
    for (int i = 0; i < n; i++) {
        struct vmc_vm *vm = todo[i];
        if (answered[i] && !vm->running && !vm->ended) {
            vm->running = true;
            vmc_event_queue(v, vm->spec.id, VMMCTL_RUNNING, "the VMM answers");
        }
        vm->users--;
        if (vm->ended && !vm->users && !vm->waiters)
            vmc_vm_free(v, vm);
    }
}

static void deliver(struct vmmctl *v)
{
    while (v->events) {
        struct vmc_event *e = v->events;
        v->events = e->next;
        if (!v->events)
            v->events_tail = &v->events;
        pthread_mutex_unlock(&v->lock);
        if (v->cfg.on_event)
            v->cfg.on_event(v->cfg.ctx, e->id, e->ev, e->detail);
        free(e);
        pthread_mutex_lock(&v->lock);
    }
}

static void *watch(void *arg)
{
    struct vmmctl *v = arg;
    uint64_t next_tick = 0;
    pthread_mutex_lock(&v->lock);
    while (!v->stopping) {
        int timeout = -1;
        bool any = false;
        for (struct vmc_vm *vm = v->vms; vm && !any; vm = vm->next)
            any = needs_tick(vm);
        if (any) {
            uint64_t now = vmc_now_ms();
            timeout = next_tick > now ? (int)(next_tick - now) : 0;
        }
        pthread_mutex_unlock(&v->lock);
        struct epoll_event evs[32];
        int n = epoll_wait(v->epfd, evs, 32, timeout);
        pthread_mutex_lock(&v->lock);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == v->wake_fd) {
                uint64_t c;
                if (read(v->wake_fd, &c, sizeof(c)) < 0) {
                    /* EAGAIN: another wake already drained it */
                }
                continue;
            }
            for (struct vmc_vm *vm = v->vms; vm; vm = vm->next)
                if (!vm->ended && vm->pidfd == evs[i].data.fd) {
                    vmc_vm_exited(v, vm);
                    break;
                }
        }
        if (any && vmc_now_ms() >= next_tick) {
            tick(v);
            next_tick = vmc_now_ms() + TICK_MS;
        }
        deliver(v);
    }
    deliver(v);
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

int vmc_watch_start(struct vmmctl *v)
{
    v->epfd = epoll_create1(EPOLL_CLOEXEC);
    v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->epfd < 0 || v->wake_fd < 0)
        return -errno;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = v->wake_fd };
    if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->wake_fd, &ev) < 0)
        return -errno;
    int r = pthread_create(&v->watcher, NULL, watch, v);
    return -r;
}

void vmc_watch_stop(struct vmmctl *v)
{
    pthread_mutex_lock(&v->lock);
    v->stopping = true;
    pthread_mutex_unlock(&v->lock);
    vmc_wake(v);
    pthread_join(v->watcher, NULL);
}
