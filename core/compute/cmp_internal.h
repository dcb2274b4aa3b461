/* core/compute's private parts. */
#ifndef PICOSTACK_CMP_INTERNAL_H
#define PICOSTACK_CMP_INTERNAL_H

#include "core/compute/compute.h"
#include "core/store/store.h"

#include <pthread.h>

struct store;
struct vmmctl;
struct cmp_job;

struct compute {
    struct store *store;
    unsigned flavors;       /* id -> flavor */
    unsigned keypairs;      /* "user\0name" -> keypair */
    unsigned quotas;        /* project -> quota */
    unsigned meta;          /* "seeded" */
    unsigned servers;       /* id -> server */
    unsigned actions;       /* "server\0request" -> instance action */
    unsigned groups;        /* id -> server group */
    unsigned deleted;       /* id -> a deleted server's tombstone (cmp_deleted.c) */
    unsigned deleted_order; /* deletion order -> id */

    /* The host side (compute_host_start); zero until then. */
    bool host_up;
    struct compute_host host;
    char data_dir[2048], vmm_path[2048], jailer_path[2048], cgroup_parent[2048], netns[64];
    char boot_id[64]; /* this host boot's /proc/sys/kernel/random/boot_id */
    struct vmmctl *vmm;
    char vmm_error[256]; /* why vmm is NULL */
    pthread_t worker;
    pthread_mutex_t lock; /* the job queue */
    pthread_cond_t cond;
    struct cmp_job *jobs, **jobs_tail;
    bool stopping;
};

int cmp_fail(struct compute_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- servers (cmp_server.c) ---- */
/* UTC now as Nova prints it: 2026-11-24T23:00:00Z. */
void cmp_now(char out[32]);
/* Whether who may see (write: change) the record. */
bool cmp_may(const struct compute_caller *who, const json_t *rec, bool write);
/* The record for who, in t: -ENOENT when missing or not visible, -EPERM a
 * reader writing. */
int cmp_server_load(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                    const char *id, bool write, json_t **rec);
/* Stores rec (updated stamped). */
int cmp_server_put(struct compute *c, struct store_txn *t, json_t *rec);
/* Sets vm_state/task_state/power_state (NULL/-1: unchanged; task "" clears)
 * and the fault (NULL: cleared when vm_state is not error) of server id in
 * its own transaction; -ENOENT when it is gone. */
int cmp_server_set_state(struct compute *c, const char *id, const char *vm_state,
                         const char *task_state, int power_state, const char *fault);
/* Records an instance action (in t). */
int cmp_action_record(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                      const char *server_id, const char *action, const char *message);
/* The project's usage: instances, cores, ram (servers in any state). */
int cmp_usage(struct compute *c, struct store_txn *t, const char *project_id, long *instances,
              long *cores, long *ram);
/* The host's allocated vcpus and ram of every server. */
int cmp_host_usage(struct compute *c, struct store_txn *t, long *vcpus, long *ram);
/* Nova's checks of server metadata: an object of at most 128 string
 * pairs of 1..255 / 0..255 characters (-EINVAL, -EDQUOT). */
int cmp_check_meta(json_t *meta, struct compute_err *err);
/* Checks quota and capacity for adding (n, vcpus, ram) to project. */
int cmp_check_room(struct compute *c, struct store_txn *t, const char *project_id, long n,
                   long vcpus, long ram, struct compute_err *err);

/* ---- access IPs (cmp_access_ip.c) ---- */
/* Checks in's accessIPv4 / accessIPv6 (when present: strings, valid
 * addresses of their family; -EINVAL otherwise) and sets rec's
 * "access_ipv4" / "access_ipv6" to their canonical forms. */
int cmp_access_ips_apply(const json_t *in, json_t *rec, struct compute_err *err);

/* ---- locks (cmp_server_lock.c) ---- */
/* -EBUSY (Nova's 409 "Instance ... is locked") when rec is locked and who
 * is not an admin; 0 otherwise. Every changing action calls it. */
int cmp_check_lock(const struct compute_caller *who, const json_t *rec, struct compute_err *err);
/* The lock and unlock actions (arg: lock's {"locked_reason"} or null):
 * records "locked", "locked_by" ("owner" or "admin") and "locked_reason";
 * -EPERM when a non-admin unlocks an admin's lock. */
int cmp_server_lock(struct compute *c, const struct compute_caller *who, const char *id, bool lock,
                    json_t *arg, struct compute_err *err);

/* ---- server groups (cmp_group.c) ---- */
/* The group for who in t (its members still servers): -ENOENT otherwise. */
int cmp_group_load(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                   const char *id, json_t **out);
/* Adds the n new servers ids to the group (in t): -EINVAL an unknown
 * group, -ENOSPC an anti-affinity group that would have two members. */
int cmp_group_join(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                   const char *group_id, char ids[][STORE_ID_LEN + 1], long n,
                   struct compute_err *err);

/* ---- rebuild (cmp_server_rebuild.c) ---- */
/* The rebuild action (compute.h); the new boot volume is the worker's
 * (CMP_JOB_REBUILD, cmp_rebuild_job). */
int cmp_server_rebuild(struct compute *c, const struct compute_caller *who, const char *id,
                       json_t *arg, struct compute_err *err);

/* ---- create pieces (cmp_server_create.c) ---- */
/* An active image who may use (in t): 0 and *out, or -EINVAL with Nova's
 * message. */
int cmp_usable_image(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                     const char *id, json_t **out, struct compute_err *err);
/* What boots an image: its kernel_id (or itself, an aki), ramdisk_id and
 * os_command_line (strings inside props), each image checked usable. */
/* How an image boots: kernel_id NULL means the disk boots itself (its own
 * kernel, or firmware), as os_boot and firmware_type say. */
struct cmp_boot_props {
    const char *kernel_id, *ramdisk_id, *cmdline, *os_boot, *firmware_type;
};
int cmp_resolve_kernel(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                       json_t *props, const char *self_id, struct cmp_boot_props *out,
                       struct compute_err *err);
/* Whether img fits flavor (disk, min_ram): 0 and the boot volume's size
 * in GiB, or -EINVAL with Nova's message. */
int cmp_image_fits(const json_t *flavor, const json_t *img, long *boot_gb, struct compute_err *err);
/* Makes a port on network_id (or takes port_id) for server sid in t, and
 * appends its entry to rec's ports (and auto_ports when made). */
int cmp_add_port(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                 const char *network_id, const char *port_id, const char *fixed_ip, const char *sid,
                 json_t *sg_ids, json_t *rec, json_t **entry, struct compute_err *err);
/* Security group names (or ids) -> ids, visible to who. */
int cmp_resolve_groups(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                       json_t *names, json_t **ids, struct compute_err *err);

/* ---- config drives (cmp_server_drive.c) ---- */
/* DATA/compute/config-drives/ID.iso. */
void cmp_config_drive_path(const struct compute *c, const char *id, char *out, size_t len);
/* When rec asks for a config drive: writes it and sets rec's
 * config_drive_path (in memory: the caller's spec); 0 when not asked. */
int cmp_config_drive_make(struct compute *c, json_t *rec, char *why, size_t wlen);
/* Removes the file (server deleted); a missing one is fine. */
void cmp_config_drive_remove(const struct compute *c, const char *id);

/* ---- booting a disk image's own kernel, or its firmware
 * (cmp_server_disk_boot.c) ---- */
struct bootimg_boot;
struct vmm_spec;
#define CMP_FIRMWARE_BIOS "/usr/share/seabios/bios.bin"  /* Debian's seabios */
#define CMP_FIRMWARE_UEFI "/usr/share/OVMF/OVMF_CODE.fd" /* Debian's ovmf */
enum cmp_boot_mode { CMP_BOOT_AUTO, CMP_BOOT_DIRECT, CMP_BOOT_FIRMWARE };
/* The image property os_boot (NULL/"": auto); -EINVAL for another value. */
int cmp_boot_mode(const char *os_boot, enum cmp_boot_mode *out);
/* The firmware file for hw_firmware_type (NULL/""/bios: SeaBIOS, uefi:
 * OVMF); NULL for another value. */
const char *cmp_firmware_path(const char *hw_firmware_type);
/* root=ROOT ARGS console=ttyS0 reboot=k EXTRA (the two added unless the
 * arguments have them); -E2BIG when it does not fit. */
int cmp_direct_cmdline(const struct bootimg_boot *b, const char *extra, char *out, size_t len);
/* DATA/compute/boot/ID.kernel and .initrd: where a direct boot's files go. */
void cmp_boot_files(const struct compute *c, const char *id, char *kernel, char *initrd,
                    size_t len);
void cmp_boot_files_remove(const struct compute *c, const char *id);
/* For a server with no kernel_id: fills s's kernel/initrd/cmdline (direct
 * boot from block-store object `object`, its boot volume) or s->firmware,
 * as the record's os_boot and firmware_type say; an os_boot=direct image
 * without a usable kernel fails with the reason in why. */
int cmp_disk_boot(struct compute *c, const json_t *rec, const char *object, struct vmm_spec *s,
                  char *why, size_t wlen);

/* ---- in-use volume extend (cmp_server_resize.c) ---- */
/* Registers core/volumes' resize hook (at compute_host_start). */
void cmp_resize_hook_install(struct compute *c);
void cmp_resize_hook_remove(void); /* at compute_host_stop */

/* ---- the worker and vmmctl (cmp_server_boot.c) ---- */
enum cmp_job_kind {
    CMP_JOB_BUILD,
    CMP_JOB_START,
    CMP_JOB_STOP,
    CMP_JOB_REBOOT_HARD,
    CMP_JOB_DELETE,
    CMP_JOB_REBUILD, /* a new boot volume from the record's image, then
                        started again when it was running */
};
/* Queues a job for server id (nothing when the host is not up: the job is
 * then run as far as it can without one, e.g. a delete). */
int cmp_job_queue(struct compute *c, enum cmp_job_kind kind, const char *id);
/* vmmctl calls for actions (-ENXIO when there is no host). */
int cmp_vmm_pause(struct compute *c, const char *id, bool pause, struct compute_err *err);
int cmp_vmm_reboot_soft(struct compute *c, const char *id, struct compute_err *err);

/* ---- deleted servers (cmp_deleted.c) ---- */
/* Deletes every instance action of server id in t. */
int cmp_actions_drop(struct compute *c, struct store_txn *t, const char *id);
/* Records rec's server as deleted (its actions stay readable) and drops
 * the oldest tombstones, with their actions, beyond host.deleted_kept. */
int cmp_tombstone_put(struct compute *c, struct store_txn *t, const json_t *rec);
/* The tombstone {"id","project_id","user_id","deleted_at"} of a deleted
 * server still remembered (-ENOENT otherwise). */
int cmp_tombstone_get(struct compute *c, struct store_txn *t, const char *id, json_t **out);

/* ---- teardown pieces (cmp_server_teardown.c) ---- */
/* Unplugs (and deletes the ones it made) the server's ports; detaches its
 * volumes and deletes delete_on_termination ones; removes the record. */
int cmp_server_teardown(struct compute *c, const char *id);
/* Unplugs a port and deletes it (made_here) or releases it. */
void cmp_port_release(struct compute *c, const char *port_id, bool made_here);
/* net_dp_sync when there is a data plane (errors are logged). */
void cmp_net_sync(struct compute *c);

#endif
