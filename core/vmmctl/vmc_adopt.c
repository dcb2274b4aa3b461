/* vmmctl_adopt: after a daemon restart, takes back a VMM that still runs
 * (RUN/<id>/vmm.pid names a process with the same start time, and its
 * control socket answers), or cleans up after one that died meanwhile. */
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

/* Is the process of vmm.pid our VMM, still running? A pidfd when it is. */
static int alive(pid_t pid, unsigned long long starttime)
{
    unsigned long long now;
    if (vmc_proc_starttime(pid, &now) < 0 || now != starttime)
        return -ESRCH;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return -errno;
    /* the pid could have been reused between the two looks: look again */
    if (vmc_proc_starttime(pid, &now) < 0 || now != starttime) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

/* The VMM (pid) is gone: what it held goes back to the store. A disk the
 * store already recovered at its open (writer dead then) is not handed
 * over any more, which is fine. */
static void clean_dead(struct vmmctl *v, const struct vmm_spec *s, pid_t pid)
{
    vmc_bs_lock(v);
    for (unsigned i = 0; v->cfg.bs && pid > 0 && i < s->ndisks; i++) {
        struct blockstore_disk *d;
        pid_t writer = 0;
        /* only what our VMM held: the disk may be another VM's by now */
        if (s->disks[i].object[0] &&
            blockstore_disk_writer(v->cfg.bs, s->disks[i].object, &writer) == 0 && writer == pid &&
            blockstore_disk_reattach(v->cfg.bs, s->disks[i].object, &d) == 0 &&
            blockstore_disk_close(d) < 0)
            fprintf(stderr, "vmmctl: %s: releasing %s: %s\n", s->id, s->disks[i].object,
                    blockstore_error());
    }
    vmc_bs_unlock(v);
    vmc_run_files_clear(v, s->id);
    char path[4200];
    if (vmc_path(v, s->id, "exit", path, sizeof(path)) == 0)
        unlink(path);
}

/* Checks the VMM of RUN/<id> and takes it on; vm is a claimed record. */
static int adopt(struct vmmctl *v, const char *id, struct vmc_vm *vm, struct vmmctl_err *err)
{
    int rc = vmc_spec_load(v, id, &vm->spec);
    if (rc == -ENOENT)
        return 0; /* never started here, or forgotten: nothing runs */
    if (rc < 0)
        return vmc_fail(err, rc, "%s/spec.json: unreadable (%s)", id, strerror(-rc));
    int fd = -ESRCH;
    if (vmc_pid_load(v, id, &vm->pid, &vm->starttime) == 0)
        fd = alive(vm->pid, vm->starttime);
    vm->pidfd = fd >= 0 ? fd : -1;
    char path[4200], line[32];
    int k;
    if (vmc_path(v, id, "uid", path, sizeof(path)) == 0 &&
        vmc_read_small(path, line, sizeof(line)) > 0 && sscanf(line, "%d", &k) == 1)
        vm->uid_index = k;
    if (fd >= 0 && vm->uid_index >= 0 && (vm->inner_pidfd = vmc_jail_inner_pidfd(vm->pid, 0)) < 0)
        vm->inner_pidfd = -1; /* jailed: the VMM under the reaper */
    char *reply = NULL;
    if (fd >= 0 && vmc_control_once(v, id, "{\"op\":\"status\"}\n", &reply, NULL) < 0) {
        /* running but deaf (or exiting): it cannot be supervised; end it */
        vmc_vm_kill(vm);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, 5000);
        vmc_inner_wait(&vm->inner_pidfd);
        close(fd);
        vm->pidfd = -1;
        fd = -EIO;
    }
    free(reply);
    if (fd < 0) {
        clean_dead(v, &vm->spec, vm->pid);
        return 0;
    }
    if ((rc = vmc_disks_reattach(v, vm, err)) < 0) {
        /* its writes cannot be folded or granted here: better stopped now */
        vmc_vm_kill(vm);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, 5000);
        vmc_inner_wait(&vm->inner_pidfd);
        vmc_disks_release(v, vm);
        clean_dead(v, &vm->spec, vm->pid);
        return rc;
    }
    /* the data files it holds: those that existed when it was handed over,
     * at most all that exist now (a grant in a newer file sends its fd) */
    vmc_bs_lock(v);
    for (unsigned i = 0; i < VMMCTL_MAX_DISKS; i++)
        for (int f = 0; vm->disks[i] && f < EXTMAP_MAX_FILES; f++) {
            int dfd = blockstore_data_file_fd(v->cfg.bs, f);
            if (dfd < 0)
                break;
            close(dfd);
            vm->files_sent[i] |= 1ull << f;
        }
    vmc_bs_unlock(v);
    return 1;
}

int vmmctl_adopt(struct vmmctl *v, const char *id, struct vmmctl_err *err)
{
    if (!id || !vmc_valid_id(id))
        return vmc_fail(err, -EINVAL, "not a valid server id");
    struct vmc_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return vmc_fail(err, -ENOMEM, "out of memory");
    vm->pidfd = vm->inner_pidfd = vm->status_fd = vm->uid_index = -1;
    snprintf(vm->spec.id, sizeof(vm->spec.id), "%s", id);
    vm->starting = true;
    pthread_mutex_lock(&v->lock);
    if (vmc_find(v, id)) {
        pthread_mutex_unlock(&v->lock);
        free(vm);
        return vmc_fail(err, -EEXIST, "%s is watched already", id);
    }
    vm->next = v->vms; /* claims the id meanwhile */
    v->vms = vm;
    pthread_mutex_unlock(&v->lock);
    int rc = adopt(v, id, vm, err);
    pthread_mutex_lock(&v->lock);
    int w;
    if (rc == 1 && (w = vmc_watch_add(v, vm)) < 0) {
        /* unwatchable (out of memory): end it, give its disks back */
        rc = vmc_fail(err, w, "epoll: %s", strerror(-w));
        vmc_vm_kill(vm);
        struct pollfd p = { .fd = vm->pidfd, .events = POLLIN };
        poll(&p, 1, 5000);
        vmc_inner_wait(&vm->inner_pidfd);
        pthread_mutex_unlock(&v->lock);
        vmc_disks_release(v, vm);
        clean_dead(v, &vm->spec, vm->pid);
        pthread_mutex_lock(&v->lock);
    }
    if (rc == 1) {
        vm->starting = false;
        vm->running = true;
        vmc_wake(v);
    } else {
        vmc_vm_free(v, vm);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}
