/* vmmctl_open/close and vmmctl_start (vmmctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"
#include "core/vmmctl/vmc_spawn.h"

static int copy_path(char *dst, size_t len, const char *src, const char *what,
                     struct vmmctl_err *err)
{
    if (!src || !*src) {
        dst[0] = 0;
        return 0;
    }
    if (src[0] != '/' || strlen(src) >= len)
        return vmc_fail(err, -EINVAL, "%s: an absolute path expected", what);
    strcpy(dst, src);
    return 0;
}

/* mkdir -p with mode 0700 for what it makes. */
static int make_dirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
            *s = c;
            if (!c)
                return 0;
        }
    }
}

/* Does this VMM take the console helper's options (--console-log, ...)?
 * Asked once, from its --help (kvm/args.c), so that vmmctl works with a
 * VMM from before them (the serial output then goes to an uncapped file). */
static bool vmm_has_console(struct vmmctl *v)
{
    char log[4200], why[256], text[8192];
    snprintf(log, sizeof(log), "%s/.vmm-help", v->run_dir);
    char *argv[] = { v->vmm_path, "--help", NULL };
    pid_t pid;
    int pidfd;
    if (vmc_spawn(argv, NULL, 0, log, &pid, &pidfd, why, sizeof(why)) < 0)
        return false;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    close(pidfd);
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
    if (fd >= 0)
        close(fd);
    unlink(log);
    if (n <= 0)
        return false;
    text[n] = 0;
    return strstr(text, "--console-log") && strstr(text, "--console-socket");
}

int vmmctl_open(const struct vmmctl_config *cfg, struct vmmctl **out, struct vmmctl_err *err)
{
    *out = NULL;
    struct vmmctl *v = calloc(1, sizeof(*v));
    if (!v)
        return vmc_fail(err, -ENOMEM, "out of memory");
    v->cfg = *cfg;
    v->epfd = v->wake_fd = -1;
    v->events_tail = &v->events;
    int rc = copy_path(v->run_dir, sizeof(v->run_dir) - 64, cfg->run_dir, "run_dir", err);
    if (rc == 0 && !v->run_dir[0])
        rc = vmc_fail(err, -EINVAL, "run_dir: a path expected");
    if (rc == 0)
        rc = copy_path(v->vmm_path, sizeof(v->vmm_path), cfg->vmm_path, "vmm_path", err);
    if (rc == 0)
        rc =
            copy_path(v->jailer_path, sizeof(v->jailer_path), cfg->jailer_path, "jailer_path", err);
    if (rc == 0)
        rc = copy_path(v->cgroup_parent, sizeof(v->cgroup_parent), cfg->cgroup_parent,
                       "cgroup_parent", err);
    if (rc == 0 && access(v->vmm_path, X_OK) < 0)
        rc = vmc_fail(err, -errno, "vmm_path %s: %s", v->vmm_path, strerror(errno));
    if (rc == 0 && v->jailer_path[0] && access(v->jailer_path, X_OK) < 0)
        rc = vmc_fail(err, -errno, "jailer_path %s: %s", v->jailer_path, strerror(errno));
    if (rc == 0 && (rc = make_dirs(v->run_dir)) < 0)
        vmc_fail(err, rc, "run_dir %s: %s", v->run_dir, strerror(-rc));
    v->cfg.run_dir = v->run_dir;
    v->cfg.vmm_path = v->vmm_path;
    v->cfg.jailer_path = v->jailer_path[0] ? v->jailer_path : NULL;
    v->cfg.cgroup_parent = v->cgroup_parent[0] ? v->cgroup_parent : NULL;
    if (rc == 0)
        v->vmm_has_console = vmm_has_console(v);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->changed, NULL);
    if (rc == 0 && (rc = vmc_watch_start(v)) < 0)
        vmc_fail(err, rc, "watcher: %s", strerror(-rc));
    if (rc < 0) {
        if (v->epfd >= 0)
            close(v->epfd);
        if (v->wake_fd >= 0)
            close(v->wake_fd);
        pthread_mutex_destroy(&v->lock);
        pthread_cond_destroy(&v->changed);
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* The VMMs go on; the store keeps their disks' grants (a handle of a
 * handed-over disk is the store's to close: blockstore_close() keeps the
 * writer's grant, and blockstore_disk_reattach() takes it back). */
void vmmctl_close(struct vmmctl *v)
{
    if (!v)
        return;
    vmc_watch_stop(v);
    while (v->vms) {
        struct vmc_vm *vm = v->vms;
        v->vms = vm->next;
        if (vm->status_fd >= 0)
            close(vm->status_fd);
        if (vm->pidfd >= 0)
            close(vm->pidfd);
        if (vm->inner_pidfd >= 0)
            close(vm->inner_pidfd);
        free(vm);
    }
    while (v->events) {
        struct vmc_event *e = v->events;
        v->events = e->next;
        free(e);
    }
    close(v->epfd);
    close(v->wake_fd);
    pthread_mutex_destroy(&v->lock);
    pthread_cond_destroy(&v->changed);
    free(v);
}

static int check_spec(const struct vmm_spec *s, struct vmmctl_err *err)
{
    if (!vmc_valid_id(s->id))
        return vmc_fail(err, -EINVAL, "id: letters, digits, '-', '_' or '.' expected");
    if (!s->kernel[0] == !s->firmware[0])
        return vmc_fail(err, -EINVAL, "a kernel or a firmware expected (one of them)");
    if (s->kernel[0] && s->kernel[0] != '/')
        return vmc_fail(err, -EINVAL, "kernel: an absolute path expected");
    if (s->firmware[0] && (s->firmware[0] != '/' || s->initrd[0] || s->cmdline[0]))
        return vmc_fail(err, -EINVAL, "firmware: an absolute path, with no initrd or cmdline");
    if (s->initrd[0] && s->initrd[0] != '/')
        return vmc_fail(err, -EINVAL, "initrd: an absolute path expected");
    if (s->cpus < 1 || s->cpus > 64)
        return vmc_fail(err, -EINVAL, "cpus: 1 to 64 expected");
    if (s->mem_mib < 8)
        return vmc_fail(err, -EINVAL, "mem_mib: at least 8 expected");
    if (s->ndisks > VMMCTL_MAX_DISKS || s->nnets > VMMCTL_MAX_NETS)
        return vmc_fail(err, -EINVAL, "too many disks or nets");
    if (memchr(s->cmdline, 0, sizeof(s->cmdline)) == NULL)
        return vmc_fail(err, -EINVAL, "cmdline: too long");
    for (unsigned i = 0; i < s->ndisks; i++) {
        const struct vmm_spec_disk *d = &s->disks[i];
        bool obj = d->object[0], path = d->path[0];
        if (obj == path)
            return vmc_fail(err, -EINVAL, "disk %u: an object or a path (not both)", i);
        if (path && d->path[0] != '/')
            return vmc_fail(err, -EINVAL, "disk %u: an absolute path expected", i);
        if (strchr(d->path, ',') || strchr(d->serial, ',') || strchr(d->serial, '='))
            return vmc_fail(err, -EINVAL, "disk %u: ',' and '=' cannot be passed", i);
    }
    return 0;
}

/* KVM must be there and usable by us (the VMM opens it the same way). */
static int check_kvm(struct vmmctl_err *err)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return vmc_fail(err, -ENODEV, "this host has no usable /dev/kvm (%s): cannot run VMs",
                        strerror(errno));
    close(fd);
    return 0;
}

/* Undoes a failed start: nothing of it stays in RUN. */
static void start_undo(struct vmmctl *v, const struct vmm_spec *s, bool made_dir)
{
    char path[4200];
    if (made_dir && vmc_path(v, s->id, NULL, path, sizeof(path)) == 0) {
        vmc_rm_rf(path);
        return;
    }
    vmc_run_files_clear(v, s->id);
    if (vmc_path(v, s->id, "spec.json", path, sizeof(path)) == 0)
        unlink(path);
}

int vmmctl_start(struct vmmctl *v, const struct vmm_spec *spec, struct vmmctl_err *err)
{
    int rc = check_spec(spec, err);
    if (rc == 0)
        rc = check_kvm(err);
    if (rc < 0)
        return rc;
    struct vmc_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return vmc_fail(err, -ENOMEM, "out of memory");
    vm->spec = *spec;
    vm->pidfd = vm->inner_pidfd = vm->status_fd = vm->uid_index = -1;
    vm->starting = true;
    pthread_mutex_lock(&v->lock);
    if (vmc_find(v, spec->id)) {
        pthread_mutex_unlock(&v->lock);
        free(vm);
        return vmc_fail(err, -EEXIST, "%s is running already", spec->id);
    }
    vm->next = v->vms; /* claims the id while it starts */
    v->vms = vm;
    pthread_mutex_unlock(&v->lock);

    char dir[4200];
    bool made = false;
    rc = vmc_path(v, spec->id, NULL, dir, sizeof(dir));
    if (rc == 0 && mkdir(dir, 0700) == 0)
        made = true;
    else if (rc == 0 && errno != EEXIST)
        rc = vmc_fail(err, -errno, "%s: %s", dir, strerror(errno));
    if (rc == 0 && (rc = vmc_spec_save(v, spec)) < 0)
        vmc_fail(err, rc, "%s/spec.json: %s", dir, strerror(-rc));
    struct vmc_launch l = { .pidfd = -1, .inner_pidfd = -1 };
    if (rc == 0)
        rc = vmc_launch(v, spec, &l, err);
    if (rc == 0 && ((rc = vmc_proc_starttime(l.pid, &vm->starttime)) < 0 ||
                    (rc = vmc_pid_save(v, spec->id, l.pid, vm->starttime)) < 0)) {
        vmc_fail(err, rc, "%s/vmm.pid: %s", dir, strerror(-rc));
        if (l.inner_pidfd >= 0)
            syscall(SYS_pidfd_send_signal, l.inner_pidfd, SIGKILL, NULL, 0);
        vmc_inner_wait(&l.inner_pidfd);
        kill(l.pid, SIGKILL);
        waitpid(l.pid, NULL, 0);
        close(l.pidfd);
        vmc_disks_close(v, l.disks, VMMCTL_MAX_DISKS);
    }
    pthread_mutex_lock(&v->lock);
    if (rc == 0) {
        vm->pid = l.pid;
        vm->pidfd = l.pidfd;
        vm->inner_pidfd = l.inner_pidfd;
        vm->child = true;
        vm->uid_index = l.uid_index;
        memcpy(vm->disks, l.disks, sizeof(vm->disks));
        memcpy(vm->files_sent, l.files, sizeof(vm->files_sent));
        vm->starting = false;
        if ((rc = vmc_watch_add(v, vm)) < 0) /* cannot happen short of ENOMEM */
            vmc_fail(err, rc, "epoll: %s", strerror(-rc));
        vmc_wake(v);
        if (rc < 0) { /* the VMM runs: end it as vmmctl_kill would */
            vm->ask = ASK_KILL;
            vmc_vm_kill(vm);
            vmc_vm_exited(v, vm);
        }
        pthread_mutex_unlock(&v->lock);
        return rc;
    }
    vmc_vm_free(v, vm);
    pthread_mutex_unlock(&v->lock);
    start_undo(v, spec, made);
    return rc;
}
