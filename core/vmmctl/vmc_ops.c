/* Operations on a running VM: stop, kill, reboot, pause, status, resize,
 * and its run directory (console, forget). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "core/vmmctl/vmc_internal.h"

/* Finds a running VM and pins it (users++); lock held on success. */
static int pin(struct vmmctl *v, const char *id, struct vmc_vm **out, struct vmmctl_err *err)
{
    if (!id || !vmc_valid_id(id))
        return vmc_fail(err, -EINVAL, "not a valid server id");
    pthread_mutex_lock(&v->lock);
    struct vmc_vm *vm = vmc_find(v, id);
    if (!vm || vm->exiting || vm->starting) {
        pthread_mutex_unlock(&v->lock);
        return vm ? vmc_fail(err, -EBUSY, "%s is %s", id, vm->starting ? "starting" : "ending")
                  : vmc_fail(err, -ENOENT, "%s is not running", id);
    }
    vm->users++;
    *out = vm;
    return 0;
}

/* Lock held. */
static void unpin(struct vmmctl *v, struct vmc_vm *vm)
{
    vm->users--;
    pthread_cond_broadcast(&v->changed);
    if (vm->ended && !vm->users && !vm->waiters)
        vmc_vm_free(v, vm);
}

/* A control op without the lock; vm pinned. */
static int call(struct vmmctl *v, struct vmc_vm *vm, const char *line, char **reply,
                struct vmmctl_err *err)
{
    pthread_mutex_unlock(&v->lock);
    int rc = vmc_control_once(v, vm->spec.id, line, reply, err);
    if (rc == 0 && !strstr(*reply, "\"ok\":true")) {
        vmc_fail(err, -EIO, "%s: the VMM refused: %.200s", vm->spec.id, *reply);
        free(*reply);
        *reply = NULL;
        rc = -EIO;
    }
    pthread_mutex_lock(&v->lock);
    return rc;
}

static int simple_op(struct vmmctl *v, const char *id, const char *line, struct vmmctl_err *err)
{
    struct vmc_vm *vm;
    int rc = pin(v, id, &vm, err);
    if (rc < 0)
        return rc;
    char *reply = NULL;
    rc = call(v, vm, line, &reply, err);
    free(reply);
    unpin(v, vm);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vmmctl_stop(struct vmmctl *v, const char *id, unsigned timeout_ms, struct vmmctl_err *err)
{
    struct vmc_vm *vm;
    int rc = pin(v, id, &vm, err);
    if (rc < 0)
        return rc;
    if (vm->ask == ASK_NONE)
        vm->ask = ASK_STOP;
    char *reply = NULL;
    rc = call(v, vm, "{\"op\":\"powerdown\"}\n", &reply, err);
    free(reply);
    /* whether the button reached the guest or not, it ends by the deadline */
    if (!vm->ended && vm->ask == ASK_STOP)
        vm->kill_at_ms = vmc_now_ms() + (rc < 0 ? 0 : timeout_ms);
    unpin(v, vm);
    vmc_wake(v);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

int vmmctl_kill(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    if (!id || !vmc_valid_id(id))
        return vmc_fail(err, -EINVAL, "not a valid server id");
    pthread_mutex_lock(&v->lock);
    struct vmc_vm *vm = vmc_find(v, id);
    while (vm && vm->starting) { /* let the start finish, then end it */
        pthread_mutex_unlock(&v->lock);
        usleep(10000);
        pthread_mutex_lock(&v->lock);
        vm = vmc_find(v, id);
    }
    if (!vm) {
        pthread_mutex_unlock(&v->lock);
        return vmc_fail(err, -ENOENT, "%s is not running", id);
    }
    vm->users++;
    if (!vm->exiting) {
        vm->ask = ASK_KILL;
        vm->kill_at_ms = 0;
        vmc_vm_kill(vm);
    }
    if (pthread_equal(pthread_self(), v->watcher)) {
        /* called from an event callback: nobody else will see the exit */
        struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };
        pthread_mutex_unlock(&v->lock);
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&v->lock);
        vm->users--;
        if (!vm->ended && !vm->exiting)
            vmc_vm_exited(v, vm);
        pthread_mutex_unlock(&v->lock);
        return 0;
    }
    vm->users--;
    vm->waiters++; /* keeps it allocated, without holding up its exit */
    pthread_cond_broadcast(&v->changed);
    while (!vm->ended)
        pthread_cond_wait(&v->changed, &v->lock);
    vm->waiters--;
    if (!vm->users && !vm->waiters)
        vmc_vm_free(v, vm);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

int vmmctl_reboot_soft(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    return simple_op(v, id, "{\"op\":\"shutdown\"}\n", err);
}

int vmmctl_pause(struct vmmctl *v, const char *id, bool pause, struct vmmctl_err *err)
{
    return simple_op(v, id, pause ? "{\"op\":\"pause\"}\n" : "{\"op\":\"resume\"}\n", err);
}

bool vmmctl_running(struct vmmctl *v, const char *id)
{
    if (!id || !vmc_valid_id(id))
        return false;
    pthread_mutex_lock(&v->lock);
    bool r = vmc_find(v, id) != NULL;
    pthread_mutex_unlock(&v->lock);
    return r;
}

int vmmctl_status(struct vmmctl *v, const char *id, char **json_line, struct vmmctl_err *err)
{
    struct vmc_vm *vm;
    *json_line = NULL;
    int rc = pin(v, id, &vm, err);
    if (rc < 0)
        return rc;
    rc = call(v, vm, "{\"op\":\"status\"}\n", json_line, err);
    unpin(v, vm);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vmmctl_disk_resize(struct vmmctl *v, const char *id, unsigned index, uint64_t bytes,
                       struct vmmctl_err *err)
{
    struct vmc_vm *vm;
    int rc = pin(v, id, &vm, err);
    if (rc < 0)
        return rc;
    if (index >= vm->spec.ndisks) {
        rc = vmc_fail(err, -EINVAL, "%s has no disk %u", id, index);
    } else if (vm->disks[index]) {
        /* the store first: the VMM's map must not pass what the store has */
        pthread_mutex_unlock(&v->lock);
        vmc_bs_lock(v);
        rc = blockstore_disk_extend(vm->disks[index], bytes);
        if (rc < 0)
            vmc_fail(err, rc, "disk %s: %s", vm->spec.disks[index].object, blockstore_error());
        vmc_bs_unlock(v);
        pthread_mutex_lock(&v->lock);
    }
    if (rc == 0) {
        char line[128], *reply = NULL;
        snprintf(line, sizeof(line), "{\"op\":\"disk-resize\",\"disk\":%u,\"size\":%llu}\n", index,
                 (unsigned long long)bytes);
        rc = call(v, vm, line, &reply, err);
        free(reply);
    }
    unpin(v, vm);
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int vmmctl_console_socket(struct vmmctl *v, const char *id, char *path, size_t len)
{
    if (!id || !vmc_valid_id(id))
        return -EINVAL;
    return vmc_path(v, id, "console.sock", path, len);
}

int vmmctl_forget(struct vmmctl *v, const char *id)
{
    if (!id || !vmc_valid_id(id))
        return -EINVAL;
    pthread_mutex_lock(&v->lock);
    bool running = vmc_find(v, id) != NULL;
    pthread_mutex_unlock(&v->lock);
    if (running)
        return -EBUSY;
    char path[4200];
    int rc = vmc_path(v, id, NULL, path, sizeof(path));
    return rc ? rc : vmc_rm_rf(path);
}
