/* A VMM has ended: reap it (when it is our child), read RUN/<id>/exit,
 * give its disks back to the store, and turn it into one event; a guest
 * reset starts the same spec again. Runs on the watcher thread with the
 * lock held (dropped around the store and the relaunch). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

struct vmc_vm *vmc_find(struct vmmctl *v, const char *id)
{
    for (struct vmc_vm *vm = v->vms; vm; vm = vm->next)
        if (!vm->ended && !strcmp(vm->spec.id, id))
            return vm;
    return NULL;
}

void vmc_vm_free(struct vmmctl *v, struct vmc_vm *vm)
{
    for (struct vmc_vm **p = &v->vms; *p; p = &(*p)->next)
        if (*p == vm) {
            *p = vm->next;
            break;
        }
    if (vm->status_fd >= 0)
        close(vm->status_fd);
    if (vm->pidfd >= 0)
        close(vm->pidfd);
    if (vm->inner_pidfd >= 0)
        close(vm->inner_pidfd);
    free(vm);
}

void vmc_vm_kill(const struct vmc_vm *vm)
{
    if (vm->inner_pidfd >= 0)
        syscall(SYS_pidfd_send_signal, vm->inner_pidfd, SIGKILL, NULL, 0);
    if (vm->pidfd >= 0 && syscall(SYS_pidfd_send_signal, vm->pidfd, SIGKILL, NULL, 0) < 0 &&
        errno != ESRCH)
        fprintf(stderr, "vmmctl: %s: kill: %s\n", vm->spec.id, strerror(errno));
}

void vmc_inner_wait(int *inner_pidfd)
{
    if (*inner_pidfd < 0)
        return;
    struct pollfd p = { .fd = *inner_pidfd, .events = POLLIN };
    if (poll(&p, 1, 3000) == 0) { /* its reaper's death should have ended it */
        syscall(SYS_pidfd_send_signal, *inner_pidfd, SIGKILL, NULL, 0);
        poll(&p, 1, 5000);
    }
    close(*inner_pidfd);
    *inner_pidfd = -1;
}

/* The last line the VMM wrote to its stderr (RUN/<id>/vmm.log), if any. */
static void last_log_line(struct vmmctl *v, const char *id, char *buf, size_t len)
{
    char path[4200], tail[2048];
    buf[0] = 0;
    if (vmc_path(v, id, "vmm.log", path, sizeof(path)))
        return;
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[2048];
    tail[0] = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] && strncmp(line, "usage:", 6) && line[0] != ' ')
            snprintf(tail, sizeof(tail), "%s", line);
    }
    fclose(f);
    snprintf(buf, len, "%s", tail);
}

/* Why it ended, in words, when it did not write its exit file. */
static void describe(struct vmmctl *v, struct vmc_vm *vm, const siginfo_t *si, char *buf,
                     size_t len)
{
    char last[512];
    last_log_line(v, vm->spec.id, last, sizeof(last));
    char how[128];
    if (!vm->child)
        snprintf(how, sizeof(how), "the VMM (pid %d) ended without saying why", (int)vm->pid);
    else if (si->si_code == CLD_EXITED && si->si_status > 128 && vm->uid_index >= 0)
        snprintf(how, sizeof(how), "the VMM was killed by signal %d (%s)", si->si_status - 128,
                 strsignal(si->si_status - 128)); /* as the jailer's reaper tells it */
    else if (si->si_code == CLD_EXITED)
        snprintf(how, sizeof(how), "the VMM exited with status %d", si->si_status);
    else
        snprintf(how, sizeof(how), "the VMM was killed by signal %d (%s)", si->si_status,
                 strsignal(si->si_status));
    snprintf(buf, len, "%s%s%s", how, last[0] ? ": " : "", last);
}

/* Starts the same spec again after a guest reset; 0 or -errno. */
static int relaunch(struct vmmctl *v, struct vmc_vm *vm, char *why, size_t len)
{
    struct vmmctl_err err = { "" };
    struct vmc_launch l;
    pthread_mutex_unlock(&v->lock);
    int rc = vmc_launch(v, &vm->spec, &l, &err);
    unsigned long long st = 0;
    if (rc == 0 && (rc = vmc_proc_starttime(l.pid, &st)) == 0)
        rc = vmc_pid_save(v, vm->spec.id, l.pid, st);
    pthread_mutex_lock(&v->lock);
    if (rc < 0) {
        snprintf(why, len, "%s", err.msg[0] ? err.msg : strerror(-rc));
        if (l.pid > 0) { /* spawned, but its pid file failed: end it */
            if (l.inner_pidfd >= 0)
                syscall(SYS_pidfd_send_signal, l.inner_pidfd, SIGKILL, NULL, 0);
            vmc_inner_wait(&l.inner_pidfd);
            kill(l.pid, SIGKILL);
            waitpid(l.pid, NULL, 0);
            close(l.pidfd);
            pthread_mutex_unlock(&v->lock);
            vmc_disks_close(v, l.disks, VMMCTL_MAX_DISKS);
            pthread_mutex_lock(&v->lock);
        }
        return rc;
    }
    close(vm->pidfd);
    vm->pid = l.pid;
    vm->pidfd = l.pidfd;
    vm->inner_pidfd = l.inner_pidfd;
    vm->starttime = st;
    vm->child = true;
    vm->running = false;
    vm->uid_index = l.uid_index;
    memcpy(vm->disks, l.disks, sizeof(vm->disks));
    memcpy(vm->files_sent, l.files, sizeof(vm->files_sent));
    return vmc_watch_add(v, vm);
}

static void finish(struct vmmctl *v, struct vmc_vm *vm)
{
    vm->ended = true;
    vm->exiting = false;
    vmc_run_files_clear(v, vm->spec.id);
    pthread_cond_broadcast(&v->changed);
    if (!vm->users && !vm->waiters)
        vmc_vm_free(v, vm);
}

void vmc_vm_exited(struct vmmctl *v, struct vmc_vm *vm)
{
    epoll_ctl(v->epfd, EPOLL_CTL_DEL, vm->pidfd, NULL);
    if (vm->status_fd >= 0) {
        close(vm->status_fd);
        vm->status_fd = -1;
    }
    siginfo_t si = { 0 };
    if (vm->child)
        while (waitid(P_PID, (id_t)vm->pid, &si, WEXITED) < 0 && errno == EINTR)
            ;
    char path[4200], line[600] = "";
    if (vmc_path(v, vm->spec.id, "exit", path, sizeof(path)) == 0 &&
        vmc_read_small(path, line, sizeof(line)) >= 0)
        unlink(path);
    vm->exiting = true; /* ops on it wait or refuse from now on */
    while (vm->users)
        pthread_cond_wait(&v->changed, &v->lock);
    pthread_mutex_unlock(&v->lock);
    vmc_inner_wait(&vm->inner_pidfd); /* jailed: the VMM itself too */
    vmc_disks_release(v, vm);         /* folded; the store may open them again */
    vmc_jail_cleanup(v, vm);
    pthread_mutex_lock(&v->lock);
    const char *id = vm->spec.id;
    char why[512];
    if (!strcmp(line, "poweroff")) {
        vmc_event_queue(v, id, VMMCTL_POWEROFF, "the guest powered off");
    } else if (vm->ask == ASK_KILL) {
        vmc_event_queue(v, id, VMMCTL_KILLED, "killed as asked");
    } else if (!strcmp(line, "reset") && vm->ask == ASK_STOP) {
        vmc_event_queue(v, id, VMMCTL_POWEROFF, "the guest rebooted while asked to stop");
    } else if (!strcmp(line, "reset")) {
        if (relaunch(v, vm, why, sizeof(why)) == 0) {
            vmc_event_queue(v, id, VMMCTL_RESET, "the guest rebooted; started again");
            vm->exiting = false;
            pthread_cond_broadcast(&v->changed);
            return;
        }
        vmc_event_queue(v, id, VMMCTL_ERROR, "the guest rebooted, but could not start again: %s",
                        why);
    } else if (!strncmp(line, "error: ", 7)) {
        vmc_event_queue(v, id, VMMCTL_ERROR, "%s", line + 7);
    } else {
        describe(v, vm, &si, why, sizeof(why));
        vmc_event_queue(v, id, VMMCTL_ERROR, "%s", why);
    }
    finish(v, vm);
}
