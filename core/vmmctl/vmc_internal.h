/* core/vmmctl internals: the per-VM record, the watcher and the helpers the
 * files share. Everything is guarded by vmmctl.lock unless said otherwise. */
#ifndef PICOSTACK_VMMCTL_INTERNAL_H
#define PICOSTACK_VMMCTL_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/vmmctl/vmmctl.h"

struct blockstore_disk;
struct extmap_handover;

/* Why a VM's end was asked for (decides the event its exit gives). */
enum vmc_ask { ASK_NONE, ASK_STOP, ASK_KILL };

struct vmc_vm {
    struct vmc_vm *next;
    struct vmm_spec spec;
    pid_t pid;
    unsigned long long starttime; /* /proc/PID/stat field 22 */
    int pidfd;
    int inner_pidfd; /* jailed: the VMM under the jailer's reaper, or -1 */
    bool child;      /* ours to reap (not adopted) */
    bool running;    /* VMMCTL_RUNNING delivered (or adopted) */
    bool starting;   /* vmmctl_start() is launching it */
    bool exiting;    /* its exit is being handled (disks, relaunch) */
    bool ended;      /* its exit was handled; waiting to be freed */
    enum vmc_ask ask;
    uint64_t kill_at_ms; /* a stop's deadline (monotonic), 0 none */
    int status_fd;       /* the watcher's control connection, -1 none */
    int uid_index;       /* jailed: uid = jail_uid_base + index; -1 direct */
    struct blockstore_disk *disks[VMMCTL_MAX_DISKS]; /* handed over, or NULL */
    uint64_t files_sent[VMMCTL_MAX_DISKS];           /* data files the VMM holds, per disk */
    unsigned waiters; /* vmmctl_kill()s waiting for its end (keep it allocated) */
    unsigned users;   /* callers inside an op on it (freed when 0 and ended) */
};

struct vmc_event {
    struct vmc_event *next;
    char id[40];
    enum vmmctl_event ev;
    char detail[512];
};

struct vmmctl {
    struct vmmctl_config cfg;
    char run_dir[4096];
    char vmm_path[4096];
    char jailer_path[4096]; /* "" direct */
    char cgroup_parent[4096];
    bool vmm_has_console; /* the VMM takes --console-log/--console-socket */

    pthread_mutex_t lock;
    pthread_cond_t changed; /* a VM ended (vmmctl_kill waits for it) */
    struct vmc_vm *vms;
    struct vmc_event *events, **events_tail;
    int epfd, wake_fd; /* the watcher's epoll and its eventfd */
    pthread_t watcher;
    bool stopping;
};

/* errors */
int vmc_fail(struct vmmctl_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* run directory: RUN/<id>/NAME */
int vmc_path(const struct vmmctl *v, const char *id, const char *name, char *buf, size_t len);
bool vmc_valid_id(const char *id);
int vmc_write_file(const char *path, const char *data, size_t len);
int vmc_read_small(const char *path, char *buf, size_t len); /* NUL-terminated, trimmed */
int vmc_spec_save(const struct vmmctl *v, const struct vmm_spec *s);
int vmc_spec_load(const struct vmmctl *v, const char *id, struct vmm_spec *s);
int vmc_pid_save(const struct vmmctl *v, const char *id, pid_t pid, unsigned long long starttime);
int vmc_pid_load(const struct vmmctl *v, const char *id, pid_t *pid, unsigned long long *starttime);
int vmc_proc_starttime(pid_t pid, unsigned long long *out);
/* Removes what a run leaves besides the console (pid, sockets, uid, exit). */
void vmc_run_files_clear(const struct vmmctl *v, const char *id);
int vmc_rm_rf(const char *path);
/* Picks the smallest uid index no RUN/<id>/uid holds and records it. */
int vmc_uid_take(const struct vmmctl *v, const char *id);

/* disks (core/blockstore, under the caller's bs lock) */
void vmc_bs_lock(struct vmmctl *v);
void vmc_bs_unlock(struct vmmctl *v);
/* Releases the VM's handed-over disks to the store (folds, frees grants). */
void vmc_disks_release(struct vmmctl *v, struct vmc_vm *vm);
void vmc_disks_close(struct vmmctl *v, struct blockstore_disk **disks, unsigned n);
/* Opens a disk for writing and hands it over: *line_fd a memfd holding the
 * hand-over line, h the descriptors the VMM inherits. */
int vmc_disk_handover(struct vmmctl *v, const char *object, struct blockstore_disk **out,
                      struct extmap_handover *h, int *line_fd, struct vmmctl_err *err);
int vmc_disks_set_writer(struct vmmctl *v, struct blockstore_disk *const *disks, unsigned n,
                         pid_t pid, struct vmmctl_err *err);
/* Reattaches them after a restart (adopt); 0 or -errno. */
int vmc_disks_reattach(struct vmmctl *v, struct vmc_vm *vm, struct vmmctl_err *err);
/* Answers a status reply's grant_wanted disks with {"op":"grant"}. */
void vmc_grants_feed(struct vmmctl *v, struct vmc_vm *vm, const char *status_line);

/* taps */
int vmc_tap_open(const char *tap, const char *netns, struct vmmctl_err *err);

/* the control socket */
int vmc_control_connect(const char *path, int timeout_ms);
/* Sends one line (with fds as SCM_RIGHTS when n > 0), reads one answer
 * line into a malloc'd *reply (NUL-terminated, no newline). */
int vmc_control_call(int fd, const char *line, const int *fds, int nfds, int timeout_ms,
                     char **reply);
/* Connects, calls, closes; -EIO with a message when it does not answer. */
int vmc_control_once(struct vmmctl *v, const char *id, const char *line, char **reply,
                     struct vmmctl_err *err);

/* launch */
struct vmc_launch {
    pid_t pid;
    int pidfd;
    int inner_pidfd; /* jailed: the VMM itself (vmc_jail_inner_pidfd) */
    int uid_index;
    struct blockstore_disk *disks[VMMCTL_MAX_DISKS];
    uint64_t files[VMMCTL_MAX_DISKS]; /* data files handed over, per disk */
};
/* Opens the spec's disks, taps and files, writes RUN/<id>/ and spawns the
 * VMM. On failure nothing is left (disks released, no process). */
/* The boot options: [--uuid ID] (when the server id is a UUID), then
 * --firmware F, or --kernel K --cmdline C [--initrd I]
 * (K, I, F as the VMM names them: paths, or /dev/fd/N when jailed). */
int vmc_boot_args(const struct vmm_spec *s, const char *kernel, const char *initrd,
                  const char *firmware, int (*add)(void *ctx, const char *arg), void *ctx);
int vmc_launch(struct vmmctl *v, const struct vmm_spec *s, struct vmc_launch *out,
               struct vmmctl_err *err);
/* The jailer's command line in front of the VMM's (jailer_path set): each
 * argument goes to add(ctx, arg); 0 or the first error add returned. */
int vmc_jail_args(const struct vmmctl *v, const struct vmm_spec *s, int uid_index,
                  int (*add)(void *ctx, const char *arg), void *ctx);
/* After a jailed VM ended: its cgroup leaf removed (jailer --cleanup). */
void vmc_jail_cleanup(struct vmmctl *v, const struct vmc_vm *vm);
/* A pidfd of the jailed VMM itself (its reaper's child), or -errno. */
int vmc_jail_inner_pidfd(pid_t reaper, int timeout_ms);

/* the watcher (vmc_watch.c) */
int vmc_watch_start(struct vmmctl *v);
void vmc_watch_stop(struct vmmctl *v);
int vmc_watch_add(struct vmmctl *v, struct vmc_vm *vm);
void vmc_wake(struct vmmctl *v);
/* Queues an event for the watcher to deliver (lock held). */
void vmc_event_queue(struct vmmctl *v, const char *id, enum vmmctl_event ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Handles a VM whose process has exited (lock held; may drop it). */
void vmc_vm_exited(struct vmmctl *v, struct vmc_vm *vm);
struct vmc_vm *vmc_find(struct vmmctl *v, const char *id);
void vmc_vm_free(struct vmmctl *v, struct vmc_vm *vm);
/* SIGKILL to the VMM (and, jailed, to the VMM under the jailer's reaper). */
void vmc_vm_kill(const struct vmc_vm *vm);
/* Waits until a jailed VMM itself is gone (killing it after 3 s), closes
 * *inner_pidfd and sets it to -1; nothing when it is -1. */
void vmc_inner_wait(int *inner_pidfd);
uint64_t vmc_now_ms(void);

#endif
