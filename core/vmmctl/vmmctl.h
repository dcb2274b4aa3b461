/* core/vmmctl: picostack-vmm processes on behalf of picostackd.
 *
 * It launches one VMM per running server (through picostack-jailer when
 * configured), watches it (a pidfd on the event thread), talks to it over
 * its control socket, feeds its block-store disks their grants, and adopts
 * VMMs that outlived a daemon restart. It knows nothing of Nova: the caller
 * (core/compute) keeps each server's state and maps the events below to
 * Nova states. No HTTP; no LMDB records of its own (the block store keeps
 * the writer pids of handed-over disks).
 *
 * One run directory per VM, RUN/<id>/ (RUN = vmmctl_config.run_dir), which
 * is what adoption reads after a restart:
 *   spec.json    the vmm_spec it was started with (disk object names, ...)
 *   vmm.pid      "PID STARTTIME\n" (STARTTIME: field 22 of /proc/PID/stat,
 *                so a recycled pid is never mistaken for the VMM)
 *   control.sock the VMM's control socket (kvm/kvm.h)
 *   console.log  serial output, a capped ring (vmmctl_config.console_cap)
 *   console.sock interactive serial console (one client at a time)
 *   exit         one line the VMM writes as it ends: "poweroff", "reset",
 *                or "error: MESSAGE"; absent when it was killed
 *   vmm.log      the VMM's stderr (last run): an ERROR's detail quotes
 *                its last line when there is no exit line
 *   uid          jailed only: the index k of its uid (jail_uid_base + k)
 * The VMM runs in its own session (setsid), with exactly the descriptors
 * it needs (hand-over memfds, block-store files, taps); it outlives
 * picostackd. A VMM that does not take --console-log/--console-socket yet
 * (the probe is its --help, at vmmctl_open) writes an uncapped console.log
 * through --serial file:PATH instead.
 *
 * The VMM options this relies on (kvm/kvm.h): --control PATH,
 * --exit-file PATH, --console-log PATH, --console-cap BYTES,
 * --console-socket PATH, --disk handover=FD, --net fd=N, and the control
 * op {"op":"powerdown"} (ACPI power button).
 *
 * Threads: every function may be called from any thread (a mutex inside);
 * events are delivered on vmmctl's own watcher thread (a callback may call
 * vmmctl again). vmmctl takes the block-store lock itself: never call it
 * with that lock held.
 *
 * Errors: 0 or a negative errno, with a one-line reason in *err where one
 * is given (-ENOENT unknown id, -EEXIST already running, -ENODEV no usable
 * /dev/kvm, -EINVAL bad spec, -ENOSPC no grant possible, -EIO the VMM did
 * not answer). */
#ifndef PICOSTACK_VMMCTL_H
#define PICOSTACK_VMMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct blockstore;
struct vmmctl;

struct vmmctl_err {
    char msg[256];
};

/* How to take the daemon's one block-store lock (the same shape as
 * core/volumes' volumes_bs_lock). */
struct vmmctl_bs_lock {
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void *ctx;
};

enum vmmctl_event {
    VMMCTL_RUNNING,  /* the VMM answered its first status: the guest runs
                      * (again after each RESET; a guest that ends at once
                      * may skip it) */
    VMMCTL_POWEROFF, /* the guest powered off (ACPI S5): exit 0, "poweroff" */
    VMMCTL_RESET,    /* the guest rebooted: vmmctl has started it again
                      * (same spec) unless that failed (then VMMCTL_ERROR) */
    VMMCTL_KILLED,   /* vmmctl_stop()/vmmctl_kill() ended it, as asked */
    VMMCTL_ERROR,    /* it exited unexpectedly or could not start: detail */
};
typedef void (*vmmctl_event_fn)(void *ctx, const char *id, enum vmmctl_event ev,
                                const char *detail);

struct vmmctl_config {
    const char *run_dir;       /* RUN (made 0700 if missing) */
    const char *vmm_path;      /* picostack-vmm */
    const char *jailer_path;   /* picostack-jailer, or NULL: launch directly
                              * (no jail; the default when not root) */
    uid_t jail_uid_base;       /* jailed VMM k runs as uid/gid base + k */
    const char *cgroup_parent; /* e.g. /sys/fs/cgroup/picostack; NULL: none */
    uint64_t console_cap;      /* bytes kept of the serial output; 0: 1 MiB */
    struct blockstore *bs;     /* for handed-over disks */
    struct vmmctl_bs_lock bs_lock;
    vmmctl_event_fn on_event;
    void *ctx;
};

#define VMMCTL_MAX_DISKS 16
#define VMMCTL_MAX_NETS  8

struct vmm_spec_disk {
    char object[64]; /* block-store disk name (volumes_object_name) ... */
    char path[256];  /* ... or a raw file (a config drive), when object is "" */
    bool read_only;
    char serial[21]; /* what the guest sees as the disk's serial (volume id) */
};

struct vmm_spec_net {
    char tap[16];   /* a persistent tap made by net_dp_plug() ... */
    char netns[64]; /* ... in this namespace (/run/netns name; "" = ours) */
    uint8_t mac[6];
};

struct vmm_spec {
    char id[40]; /* the server id: names RUN/<id> */
    /* How it boots: a kernel (direct boot) or a firmware, never both. */
    char kernel[256];   /* files vmmctl opens (the jailed VMM gets fds) */
    char initrd[256];   /* "" none */
    char cmdline[1024]; /* the kernel's only */
    char firmware[256]; /* a BIOS/UEFI image (--firmware PATH); "" for a kernel */
    unsigned cpus;
    uint64_t mem_mib;
    struct vmm_spec_disk disks[VMMCTL_MAX_DISKS]; /* guest order */
    unsigned ndisks;
    struct vmm_spec_net nets[VMMCTL_MAX_NETS];
    unsigned nnets;
    /* cgroup v2 limits (jailed only; 0: none) */
    unsigned cpu_weight;   /* cpu.weight 1..10000 */
    uint64_t cpu_max_usec; /* cpu.max quota per 100 ms period */
    uint64_t io_weight;    /* io.weight */
};

int vmmctl_open(const struct vmmctl_config *cfg, struct vmmctl **out, struct vmmctl_err *err);
/* Stops watching; the VMMs keep running (they outlive the daemon). The
 * store's handles of their disks stay open: close vmmctl before the store
 * (blockstore_close keeps a running writer's grant; vmmctl_adopt takes
 * the disks back with blockstore_disk_reattach after the restart). */
void vmmctl_close(struct vmmctl *v);

/* Starts a VM: opens the disks (blockstore_disk_open + handover, writer pid
 * recorded), the taps and the kernel/initrd, writes RUN/<id>/, launches the
 * VMM detached (its own session, so it outlives the daemon) and returns
 * once the process runs; VMMCTL_RUNNING follows when it answers. A failure
 * leaves nothing behind (disks released, RUN/<id> removed, no process). */
int vmmctl_start(struct vmmctl *v, const struct vmm_spec *spec, struct vmmctl_err *err);

/* Graceful stop: ACPI power button (the guest shuts down), then after
 * timeout_ms a kill (at once when the VMM does not take the button).
 * VMMCTL_POWEROFF or VMMCTL_KILLED follows. */
int vmmctl_stop(struct vmmctl *v, const char *id, unsigned timeout_ms, struct vmmctl_err *err);
/* Immediate: the VMM is killed (SIGKILL) and reaped; its disks are
 * released to the store (folded). Returns once it is gone. */
int vmmctl_kill(struct vmmctl *v, const char *id, struct vmmctl_err *err);
/* Ctrl-Alt-Del through the guest's keyboard (reboot SOFT). */
int vmmctl_reboot_soft(struct vmmctl *v, const char *id, struct vmmctl_err *err);
int vmmctl_pause(struct vmmctl *v, const char *id, bool pause, struct vmmctl_err *err);

/* After a daemon restart: takes back RUN/<id> when its VMM still runs
 * (pid and start time match, the control socket answers), reattaches its
 * disks and resumes watching: 1 adopted, 0 not running (RUN/<id> cleaned
 * up, disks released), negative errno. */
int vmmctl_adopt(struct vmmctl *v, const char *id, struct vmmctl_err *err);
bool vmmctl_running(struct vmmctl *v, const char *id);

/* The last `lines` lines of the serial output (0: all that is kept), a
 * malloc'd string in *out. */
int vmmctl_console_tail(struct vmmctl *v, const char *id, unsigned lines, char **out);
/* RUN/<id>/console.sock, for the serial WebSocket relay. */
int vmmctl_console_socket(struct vmmctl *v, const char *id, char *path, size_t len);

/* The VMM's {"op":"status"} answer line (malloc'd), for diagnostics. */
int vmmctl_status(struct vmmctl *v, const char *id, char **json_line, struct vmmctl_err *err);

/* Grows disk `index` (spec order) of a running VM to `bytes` (volume
 * extend while attached): the store first (blockstore_disk_extend, a
 * block-store disk), then the VMM's disk-resize (raw files too). */
int vmmctl_disk_resize(struct vmmctl *v, const char *id, unsigned index, uint64_t bytes,
                       struct vmmctl_err *err);

/* The index (spec order) of block-store disk `object` in running VM id:
 * >= 0, -ENOENT when that VM runs without it or does not run. */
int vmmctl_disk_index(struct vmmctl *v, const char *id, const char *object);

/* Removes RUN/<id> of a VM that is not running (server deleted). */
int vmmctl_forget(struct vmmctl *v, const char *id);

#endif
