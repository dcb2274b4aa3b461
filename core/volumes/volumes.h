/* core/volumes: the block-storage model of picostack's Cinder v3 subset:
 * volumes, snapshots, volume types, quotas, attachments and backups, kept
 * as LMDB records in the control-plane store (core/store) over objects of
 * the block store (core/blockstore). No HTTP here: every call returns 0 or
 * a negative errno, and volumes_error() says what went wrong in words
 * (this thread's last failure):
 *   -ENOENT  no such record, or one the caller may not see (another
 *            project's: OpenStack answers 404 for it)
 *   -EINVAL  bad input (a size, a name, a field)
 *   -EBUSY   the record's state forbids it now (attached, has snapshots,
 *            not available, a backup running...)
 *   -EEXIST  a name that must be unique is taken (volume types)
 *   -EPERM   the caller's role may not do it (reader writes, non-admin
 *            admin-only calls)
 *   -EDQUOT  a project quota would be exceeded
 *   -ENOSPC  the block store or the backup disk is full
 *   -ENOTSUP no backup directory is configured
 *
 * ## Records
 * Records are jansson objects in (close to) Cinder's own representation,
 * so the API layer maps them almost one to one:
 *   volume:   id, name, description, size (GiB), status, volume_type (a
 *             type name), availability_zone ("nova"), bootable ("true"/
 *             "false" as Cinder prints it), multiattach, encrypted,
 *             readonly (bool), metadata {}, project_id, user_id,
 *             snapshot_id, source_volid, image_id (what it was made
 *             from, or null), volume_image_metadata {} (from an image),
 *             attachments [] (attachment ids), created_at, updated_at;
 *   snapshot: id, name, description, volume_id, size, status, metadata,
 *             project_id, user_id, created_at, updated_at;
 *   type:     id, name, description, is_public, extra_specs {};
 *   attachment: id, volume_id, instance (server id), status (attaching,
 *             attached, detaching), attach_mode ("rw"/"ro"), mountpoint,
 *             attached_at, detached_at, project_id;
 *   backup:   id, name, description, volume_id, snapshot_id, size (GiB of
 *             the volume), status, is_incremental, has_dependent_backups,
 *             parent_id, object_count (clusters stored in this backup),
 *             data_bytes, availability_zone, container (its folder name),
 *             project_id, user_id, fail_reason, created_at, updated_at.
 * Fields the API must not show sit under VOLUMES_PRIVATE_KEY; strip them
 * with volumes_view().
 *
 * ## Statuses
 * volume: creating -> available <-> attaching -> in-use <-> detaching ->
 * available; available <-> awaiting-transfer (a transfer offered); extending, deleting, restoring-backup pass through; error
 * after a failed creation or restore. snapshot: creating -> available ->
 * deleting; backup: creating -> available (error if the copy fails or was
 * killed), restoring -> available, deleting.
 *
 * ## Block-store objects and crash safety
 * The volume with id X is block-store disk "volume-X", snapshot Y is
 * "snapshot-Y", backup Z keeps "backup-Z" (a snapshot of its volume: the
 * base of the next incremental backup, dropped when a newer backup of the
 * volume takes over), and a clone of a volume passes through a short-lived
 * snapshot "clonesrc-X". The control plane (state/) and the block store
 * (blocks/index) are two LMDB environments, so no transaction spans both.
 * Creations of volumes (but from a backup) and of snapshots are two
 * durable commits: the checks run in a read transaction, the block store
 * makes the object, then one store transaction checks the quotas again and
 * writes the record in its final status (a kill -9 in between leaves an
 * object no record names: never acknowledged, freed at start). Every other
 * mutation is three steps: (1) one store transaction checks
 * the rules and quotas, reserves the usage and writes the record in a
 * transitional status (creating, deleting, extending...) naming the
 * block-store work; (2) the block-store call (one transaction of its own,
 * constant time); (3) one store transaction writes the final status. A kill
 * -9 between them leaves a transitional record, which volumes_reconcile()
 * (run at start, before serving) finishes or rolls back from what the block
 * store holds: a creation whose object exists becomes available (its size
 * fixed up), one whose object is missing is dropped (it was never
 * acknowledged) and its usage released; a deletion is finished; an extend
 * is redone; a backup copy that was cut off is marked error and its
 * partial folder removed (the previous chain is untouched); a restore that
 * was cut off leaves its volume in error. It also frees block-store objects
 * of these kinds that no record names, and reports records whose object is
 * gone (set to error). Quota usage lives in the same transaction as the
 * record that consumes it, so concurrent creations can never pass a quota.
 *
 * ## Constant-time copies
 * From an image: a clone of the image's block-store object (the caller
 * resolves the image and passes that object's name); from a snapshot: a
 * clone of it; from a volume: a snapshot of the source, a clone of that,
 * and the snapshot dropped (its layer stays as long as either reads it).
 * Upload to an image: a snapshot named as the image (images treat an
 * object named by an image id as that image's data). None walks extents.
 *
 * ## Backups (VOLUMES_BACKUP_FORMAT)
 * A backup directory holds one folder per backup, named by its id, which
 * alone suffices to restore (no LMDB needed):
 *   ID/manifest.json  {"format": "picostack-backup/1", "id", "volume_id",
 *                     "volume_name", "parent_id" (null for a full backup),
 *                     "size" (volume bytes), "cluster_size", "clusters"
 *                     (records in the data file), "data_bytes",
 *                     "created_at", "volume_metadata" (the volume's
 *                     metadata then: a restore merges it into the
 *                     target volume's, as Cinder does)}
 *   ID/clusters       records, in increasing cluster order: a 32-byte
 *                     header (little-endian u64 vcluster, u32 flags (1:
 *                     the cluster reads as zeros, no data follows), u32
 *                     length of the data, u32 crc32 of the data, u32 crc32
 *                     of header bytes 0..19, u64 reserved = 0), then the
 *                     data (cluster_size bytes, less for the last cluster
 *                     of an odd-sized volume).
 * A full backup holds every cluster the volume's chain has an entry for;
 * an incremental one only the clusters that blockstore_changed() reports
 * between the previous backup's snapshot and this one. A restore applies
 * the chain from its full backup down to the backup asked for. A backup is
 * written into ID.partial/ (data, then manifest, each fsynced) and renamed
 * to ID/ at the end (then the directory fsynced): a folder without
 * .partial is complete.
 */
#ifndef PICOSTACK_CORE_VOLUMES_H
#define PICOSTACK_CORE_VOLUMES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define VOLUMES_PRIVATE_KEY   "_picostack"
#define VOLUMES_AZ            "nova"
#define VOLUMES_DEFAULT_TYPE  "__DEFAULT__" /* Cinder's name for it */
#define VOLUMES_GIB           (1ull << 30)
#define VOLUMES_MAX_GB        (64ull << 10) /* the block store's 64 TiB */
#define VOLUMES_BACKUP_FORMAT "picostack-backup/1"
#define VOLUMES_NAME_MAX      255
/* The capabilities of the one backend (the block store), as the admin
 * views show them and volume types' extra specs are matched against. */
#define VOLUMES_HOST          "picostack"
#define VOLUMES_BACKEND_NAME  "blockstore"
#define VOLUMES_VENDOR        "picostack"
#define VOLUMES_PROTOCOL      "picostack"

struct store;
struct blockstore;
struct volumes;

/* Quota resources, in Cinder's names (volumes_quota_name). -1: unlimited. */
enum volumes_quota_res {
    VOLQ_VOLUMES,
    VOLQ_GIGABYTES, /* volumes and snapshots together, as Cinder counts */
    VOLQ_SNAPSHOTS,
    VOLQ_BACKUPS,
    VOLQ_BACKUP_GIGABYTES,
    VOLQ_PER_VOLUME_GIGABYTES, /* a limit only: never "in use" */
    VOLQ_N
};
struct volumes_quota {
    int64_t v[VOLQ_N];
};
const char *volumes_quota_name(enum volumes_quota_res r);

struct volumes_config {
    const char *backup_dir; /* NULL or "": backups answer -ENOTSUP */
    /* Per-project limits for projects without their own; all zero means
     * Cinder's defaults (10 volumes, 1000 GiB, 10 snapshots, 10 backups,
     * 1000 backup GiB, per-volume unlimited). */
    struct volumes_quota defaults;
    bool has_defaults;
};

/* The lock every user of the block store holds around its calls into it
 * (the block store serves one thread at a time): picostackd's one lock, or
 * a plain mutex (volumes_mutex_lock(&m)). */
struct volumes_bs_lock {
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void *ctx;
};
struct volumes_bs_lock volumes_mutex_lock(pthread_mutex_t *m);

/* Opens the module's table in the store (before serving) and takes the
 * block store with its lock (copied). Creates the default volume type on
 * first use. */
int volumes_open(struct store *s, struct blockstore *bs, const struct volumes_bs_lock *lk,
                 const struct volumes_config *cfg, struct volumes **out);
void volumes_close(struct volumes *v);
/* This thread's last failure, in words ("" if none). */
const char *volumes_error(void);

/* Finishes or rolls back what a crash left (see above) and prints one line
 * per fix to report (may be NULL). Returns the number of fixes or a
 * negative errno. Run it before serving. */
int volumes_reconcile(struct volumes *v, FILE *report);

/* Who is asking. */
struct volumes_caller {
    const char *project_id; /* NULL: unscoped (sees nothing) */
    const char *user_id;
    bool is_admin;  /* sees and changes everything */
    bool can_write; /* member or admin */
};

/* The API view of a record: a new object without private fields. */
json_t *volumes_view(const json_t *rec);
/* Current UTC time as Cinder prints it: 2026-11-24T23:00:00.000000. */
void volumes_timestamp(char out[32]);

/* ---- volumes ---- */
struct volume_create {
    const char *name, *description; /* may be NULL */
    uint64_t size_gb;               /* 0: the source's size (needs one) */
    const char *volume_type;        /* name or id; NULL: the default */
    const char *availability_zone;  /* NULL or "nova" */
    const char *snapshot_id, *source_volid;
    /* From an image: its id, the block-store object holding its disk (the
     * images module's IMAGE_DISK), its virtual size in bytes and the image
     * properties to show as volume_image_metadata (may be NULL). */
    const char *image_id, *image_object;
    uint64_t image_bytes;
    const json_t *image_meta;
    const json_t *metadata; /* string values; may be NULL */
    bool multiattach;
    /* From a backup (Cinder 3.47+): an available backup the caller sees;
     * the volume is at least the backup's size. */
    const char *backup_id;
    /* A group (3.13+) the caller may write, available, listing the
     * volume's type: the volume is made in it (its group_id). */
    const char *group_id;
    const char *request_id; /* for a user message; may be NULL */
};
/* At most one source. The record comes back available (all of it is
 * constant time), except from a backup: then the volume comes back in
 * restoring-backup and the backup in restoring (one transaction), and the
 * caller runs volume_backup_restore_run(backup_id, the volume's id) to
 * copy the data in (the volume then becomes available, or error_restoring).
 * A kill -9 before that transaction drops the volume (never acknowledged);
 * after it, the reconciliation sets the volume to error_restoring. */
/* A type whose extra specs ask for capabilities the backend lacks
 * (volume_backend_name, vendor_name, storage_protocol; see
 * VOLUMES_VENDOR...) gives a volume in status error, with no disk, its
 * usage taken (as Cinder's "no valid backend"), and a user message. */
int volume_create(struct volumes *v, const struct volumes_caller *who,
                  const struct volume_create *req, json_t **out);
int volume_get(struct volumes *v, const struct volumes_caller *who, const char *id, json_t **out);
/* Every volume the caller sees (admins with all_projects: every one), in
 * creation order: a new array. */
int volume_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                json_t **out);
/* changes: any of name, description (strings or null), metadata (object:
 * replaces the whole set), bootable (bool), readonly (bool). */
int volume_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                  const json_t *changes, json_t **out);
/* The volume's image metadata (volume_image_metadata): merges set
 * (string values) or removes key unset (-ENOENT when absent); *out: the
 * result (a new reference; may be NULL). */
int volume_image_metadata_change(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const json_t *set, const char *unset,
                                 json_t **out);
/* Gives an available or in-use volume another type (name or id) the
 * caller may use; one backend, so no data moves (os-retype). */
int volume_retype(struct volumes *v, const struct volumes_caller *who, const char *id,
                  const char *new_type);
/* Metadata keys: merge (replace=false) or replace all; delete one key. */
int volume_set_metadata(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *meta, bool replace, json_t **out);
int volume_delete_metadata(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *key);
/* Grows an available volume to new_gb GiB (-EINVAL unless larger); with
 * VOLUME_EXTEND_ATTACHED (Cinder 3.42+) also an in-use one: the block-store
 * object grows, then the resize hook (volumes_set_resize_hook) is called
 * once per attached server, outside any lock or transaction, and the
 * volume goes back to in-use. When a running VMM holds the object (handed
 * over: the store answers -EBUSY) the hook grows it instead, store and
 * guest together (core/compute: vmmctl_disk_resize). A failing hook leaves the volume extended
 * and in-use; volume_extend then returns the hook's error (its message
 * says the server was not told). */
enum { VOLUME_EXTEND_ATTACHED = 1 };
int volume_extend(struct volumes *v, const struct volumes_caller *who, const char *id,
                  uint64_t new_gb, unsigned flags);
/* What the compute service gives the model so that a running VMM learns
 * the new size of a disk it serves: fn(ctx, volume_id, server_id, object,
 * bytes) after the block store grew `object` (the volume's block-store
 * disk) to `bytes`; 0 or a negative errno with a message in *why. Without
 * a hook an in-use extend only grows the store (the guest sees the new
 * size on its next attach or boot). */
typedef int (*volumes_resize_fn)(void *ctx, const char *volume_id, const char *server_id,
                                 const char *object, uint64_t bytes, char why[256]);
/* v NULL: the process-wide hook, for every handle without one of its own
 * (the compute service sets it; the volume API's handle uses it). */
void volumes_set_resize_hook(struct volumes *v, volumes_resize_fn fn, void *ctx);
enum {
    VOLUME_CASCADE = 1, /* delete its snapshots too */
    VOLUME_FORCE = 2    /* admin: whatever the status, attachments dropped */
};
/* Refused (-EBUSY) while attached, with snapshots (unless cascade) or
 * during a backup of it; deletes the block-store disk and releases usage. */
int volume_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                  unsigned flags);
/* Admin: sets status (and, if given, attach_status "attached"/"detached":
 * detached drops its attachments). */
int volume_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const char *status, const char *attach_status);
/* Makes block-store snapshot `object` (an image id: the images module's
 * data object) of the volume: the new image shares its clusters. The
 * volume must be available (or in-use with force). *bytes: its size. */
int volume_upload_image(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const char *object, bool force, uint64_t *bytes);
/* The block-store object name of a volume or snapshot (for I/O in tests and
 * for the compute service's hand-over). */
void volumes_object_name(char out[64], const char *kind, const char *id);

/* ---- attachments (os-attach/os-detach and the attachments API) ---- */
/* available (or in-use with multiattach) -> attaching; a new attachment
 * record in status attaching. mode: "rw" or "ro" (NULL: rw; a read-only
 * volume only ro). */
int volume_attach_begin(struct volumes *v, const struct volumes_caller *who, const char *volume_id,
                        const char *instance, const char *mode, json_t **attachment);
/* attaching -> attached; the volume in-use. */
int volume_attach_complete(struct volumes *v, const struct volumes_caller *who,
                           const char *attachment_id, const char *mountpoint, json_t **out);
/* available -> attaching without an attachment (os-reserve, what Nova
 * does before it attaches); volume_unreserve undoes it (-EBUSY once an
 * attachment exists). */
int volume_reserve(struct volumes *v, const struct volumes_caller *who, const char *volume_id);
int volume_unreserve(struct volumes *v, const struct volumes_caller *who, const char *volume_id);
/* in-use -> detaching (os-begin_detaching); volume_detach_roll undoes. */
int volume_detach_begin(struct volumes *v, const struct volumes_caller *who, const char *volume_id);
int volume_detach_roll(struct volumes *v, const struct volumes_caller *who, const char *volume_id);
/* Drops an attachment (NULL: the volume's only one); the volume becomes
 * available when it was the last (an attaching one is simply undone). */
int volume_detach(struct volumes *v, const struct volumes_caller *who, const char *volume_id,
                  const char *attachment_id);
int volume_attachment_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                          json_t **out);
int volume_attachment_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                           json_t **out);

/* ---- snapshots ---- */
struct volume_snapshot_create {
    const char *volume_id, *name, *description;
    const json_t *metadata;
    bool force; /* also of an in-use volume */
    /* Set by volume_group_snapshot_create: the group snapshot it is part
     * of (kept privately; NULL otherwise). */
    const char *group_snapshot_id;
};
int volume_snapshot_create(struct volumes *v, const struct volumes_caller *who,
                           const struct volume_snapshot_create *req, json_t **out);
int volume_snapshot_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                        json_t **out);
int volume_snapshot_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                         json_t **out);
/* changes: name, description, metadata (replaces). */
int volume_snapshot_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const json_t *changes, json_t **out);
int volume_snapshot_set_metadata(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const json_t *meta, bool replace, json_t **out);
/* os-update_snapshot_status (the owner, as a driver would): creating ->
 * available or error, deleting -> error_deleting; progress ("80%") is
 * shown as the snapshot's progress. */
int volume_snapshot_update_status(struct volumes *v, const struct volumes_caller *who,
                                  const char *id, const char *status, const char *progress);
int volume_snapshot_delete_metadata(struct volumes *v, const struct volumes_caller *who,
                                    const char *id, const char *key);
/* Refused (-EBUSY) while a volume is being made from it. force (admin):
 * whatever its status. */
int volume_snapshot_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                           bool force);
int volume_snapshot_reset_status(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const char *status);

/* ---- volume types (admins write; everybody reads public ones) ---- */
int volume_type_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                       const char *description, bool is_public, const json_t *extra_specs,
                       json_t **out);
/* By id or name. */
int volume_type_get(struct volumes *v, const struct volumes_caller *who, const char *id_or_name,
                    json_t **out);
int volume_type_list(struct volumes *v, const struct volumes_caller *who, json_t **out);
/* changes: name, description, is_public. */
int volume_type_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                       const json_t *changes, json_t **out);
/* Refused (-EBUSY) for the default type and for a type volumes use. */
int volume_type_delete(struct volumes *v, const struct volumes_caller *who, const char *id);
/* Merges specs (string values); unset removes one key (-ENOENT if absent). */
int volume_type_set_specs(struct volumes *v, const struct volumes_caller *who, const char *id,
                          const json_t *specs, json_t **out);
int volume_type_unset_spec(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *key);

/* Encryption specs of a type (admins; Cinder's /types/{id}/encryption):
 * {volume_type_id, encryption_id, provider, cipher, key_size,
 * control_location ("front-end"/"back-end"), created_at, updated_at}.
 * get: *out is NULL when the type has none. set: create (-EBUSY when one
 * exists; provider required) or update (-ENOENT without one) with the
 * given fields. set and delete are refused (-EBUSY) while volumes of the
 * type exist. picostack has no key manager: volumes of an encrypted type
 * (creation, retype) are refused with -ENOTSUP. */
int volume_type_encryption_get(struct volumes *v, const struct volumes_caller *who,
                               const char *type_id, json_t **out);
int volume_type_encryption_set(struct volumes *v, const struct volumes_caller *who,
                               const char *type_id, const json_t *spec, bool create, json_t **out);
int volume_type_encryption_delete(struct volumes *v, const struct volumes_caller *who,
                                  const char *type_id);

/* Access to private types (is_public false): a list of project ids that
 * may see and use the type besides admins (others get -ENOENT for it).
 * Public types have none (-ENOENT to list, -EBUSY to change). */
int volume_type_access_list(struct volumes *v, const struct volumes_caller *who, const char *id,
                            json_t **projects);
/* add: -EEXIST when already there; remove: -ENOENT when absent. */
int volume_type_access_change(struct volumes *v, const struct volumes_caller *who, const char *id,
                              const char *project, bool add);

/* ---- QoS specs (admins only; records {id, name, consumer, specs}) ----
 * A volume type points at one spec through its qos_specs_id. The specs
 * are stored and shown; nothing throttles by them yet. consumer:
 * front-end, back-end (NULL: back-end) or both. */
int volume_qos_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                      const char *consumer, const json_t *specs, json_t **out);
int volume_qos_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                   json_t **out);
int volume_qos_list(struct volumes *v, const struct volumes_caller *who, json_t **out);
/* -EBUSY while types point at it, unless force (which clears them). */
int volume_qos_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                      bool force);
/* Merges specs (string values); unset: -ENOENT for a key not there. */
int volume_qos_set_keys(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *specs);
int volume_qos_unset_keys(struct volumes *v, const struct volumes_caller *who, const char *id,
                          const json_t *keys);
/* -EBUSY when the type already points at another spec. */
int volume_qos_associate(struct volumes *v, const struct volumes_caller *who, const char *id,
                         const char *type_id);
/* One type (type_id) or all of them (NULL). */
int volume_qos_disassociate(struct volumes *v, const struct volumes_caller *who, const char *id,
                            const char *type_id);
/* The type records pointing at spec id (a new array). */
int volume_qos_associations(struct volumes *v, const struct volumes_caller *who, const char *id,
                            json_t **out);

/* ---- transfers ----
 * A transfer offers an available volume (with its snapshots) to another
 * project: the volume waits in awaiting-transfer until a project presents
 * the auth key (accept: the volume, its snapshots and their quota usage
 * move there, checked against its quotas, in one transaction; the transfer
 * goes) or its owner deletes the transfer (the volume is available again).
 * Record: id, name, volume_id, source_project_id, destination_project_id,
 * accepted, no_snapshots, project_id (the owner), created_at; the key
 * itself is kept only as a salted hash. no_snapshots with snapshots is
 * refused (-EBUSY): they share the volume's layers. */
#define VOLUMES_TRANSFER_KEY_LEN 16
int volume_transfer_create(struct volumes *v, const struct volumes_caller *who,
                           const char *volume_id, const char *name, bool no_snapshots, json_t **out,
                           char auth_key[VOLUMES_TRANSFER_KEY_LEN + 1]);
int volume_transfer_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                        json_t **out);
int volume_transfer_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                         json_t **out);
int volume_transfer_delete(struct volumes *v, const struct volumes_caller *who, const char *id);
/* -EINVAL for a wrong key; *out: the transfer as accepted. */
int volume_transfer_accept(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *auth_key, json_t **out);

/* ---- user messages (3.3+): {id, request_id, message_level, event_id,
 * resource_type, resource_uuid, user_message, created_at,
 * guaranteed_until}, owned by the request's project ---- */
int volume_message_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                       json_t **out);
int volume_message_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                        json_t **out);
int volume_message_delete(struct volumes *v, const struct volumes_caller *who, const char *id);

/* ---- group types (3.11+), groups (3.13+), group snapshots (3.14+) ----
 * Cinder's generic volume groups on the one backend: a group gathers
 * volumes of the types it lists (one project's), a group snapshot takes a
 * snapshot of every volume in the group at once, and a group is made from
 * a group snapshot or another group by cloning each member (constant time,
 * as every copy here). Records:
 *   group type: id, name, description, is_public, group_specs {};
 *   group:      id, name, description, status (creating, available,
 *               deleting, error...), availability_zone, group_type (an id),
 *               volume_types [ids], group_snapshot_id, source_group_id,
 *               project_id, user_id, created_at, updated_at; the volumes
 *               in it carry its id as group_id, and volume_group_get/list
 *               add "volumes": [their ids];
 *   group snapshot: id, name, description, group_id, group_type_id,
 *               status, project_id, user_id, created_at; its member
 *               snapshots name it privately (VOLUMES_PRIVATE_KEY
 *               "group_snapshot").
 * Group types: admins write, everybody reads public ones (admins all). A
 * type used by a group cannot be deleted (-EBUSY), nor a volume type a
 * group lists. */
int volume_group_type_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                             const char *description, bool is_public, const json_t *group_specs,
                             json_t **out);
/* By id or name. */
int volume_group_type_get(struct volumes *v, const struct volumes_caller *who,
                          const char *id_or_name, json_t **out);
int volume_group_type_list(struct volumes *v, const struct volumes_caller *who, json_t **out);
/* changes: name, description, is_public. */
int volume_group_type_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                             const json_t *changes, json_t **out);
int volume_group_type_delete(struct volumes *v, const struct volumes_caller *who, const char *id);
/* Merges specs (string values); *out: the whole set. unset: -ENOENT if
 * the key is not there. */
int volume_group_type_set_specs(struct volumes *v, const struct volumes_caller *who, const char *id,
                                const json_t *specs, json_t **out);
int volume_group_type_unset_spec(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const char *key);

struct volume_group_create {
    const char *name, *description; /* may be NULL */
    const char *group_type;         /* id or name; needed unless from a source */
    const json_t *volume_types;     /* array of type ids or names (>= 1) */
    const char *availability_zone;  /* NULL or "nova" */
    /* At most one source (3.14 create-from-src): the group's type and
     * volume types are the source's, and every member volume is cloned
     * into the new group (from the snapshot's member snapshots, or from
     * the source group's volumes). */
    const char *group_snapshot_id, *source_group_id;
};
/* The group comes back available (with its clones made). A failed clone
 * leaves the group in error with the clones made so far (each one a
 * complete volume; deleting the group with delete_volumes removes them). */
int volume_group_create(struct volumes *v, const struct volumes_caller *who,
                        const struct volume_group_create *req, json_t **out);
int volume_group_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                     json_t **out);
int volume_group_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                      json_t **out);
/* changes: name, description (strings or null), add_volumes and
 * remove_volumes (comma-separated volume ids, as Cinder takes them): one
 * transaction. An added volume must be the group's project's, available
 * or in-use, of one of the group's volume types and in no group; a
 * removed one must be in this group. -EINVAL when the group is not
 * available or an id does not qualify. */
int volume_group_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *changes, json_t **out);
/* Refused (-EBUSY) while group snapshots of it exist, and while it holds
 * volumes unless delete_volumes (then every volume goes first, each as
 * volume_delete does it; one that cannot go leaves the group in
 * error_deleting with the rest). */
int volume_group_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                        bool delete_volumes);
/* Admin (3.20): sets the status (creating, available, error, deleting,
 * error_deleting, updating...). */
int volume_group_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                              const char *status);

struct volume_group_snapshot_create {
    const char *group_id, *name, *description;
};
/* A snapshot of every volume in the group (available or in-use), each a
 * normal snapshot counted against the snapshot quota; the record comes
 * back available. A failure drops the member snapshots made so far. */
int volume_group_snapshot_create(struct volumes *v, const struct volumes_caller *who,
                                 const struct volume_group_snapshot_create *req, json_t **out);
int volume_group_snapshot_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                              json_t **out);
int volume_group_snapshot_list(struct volumes *v, const struct volumes_caller *who,
                               bool all_projects, json_t **out);
/* Deletes its member snapshots, then the record (-EBUSY while a volume is
 * being made from one of them, or when it is creating/deleting). */
int volume_group_snapshot_delete(struct volumes *v, const struct volumes_caller *who,
                                 const char *id);
/* Admin (3.19). */
int volume_group_snapshot_reset_status(struct volumes *v, const struct volumes_caller *who,
                                       const char *id, const char *status);

/* ---- quotas ---- */
/* A project's limits and usage (its own project, or any for admins).
 * reserved is always 0: creations reserve and commit in one transaction. */
int volumes_quota_get(struct volumes *v, const struct volumes_caller *who, const char *project,
                      struct volumes_quota *limit, struct volumes_quota *in_use);
/* Admin: sets the limits named in changes ({"volumes": 20, ...}; -1 is
 * unlimited; also volumes_TYPE...); -EINVAL for unknown keys or values
 * below -1. */
int volumes_quota_set(struct volumes *v, const struct volumes_caller *who, const char *project,
                      const json_t *changes);
/* Per-volume-type limits (Cinder's volumes_TYPE, gigabytes_TYPE and
 * snapshots_TYPE, TYPE a type's name; -1, unlimited, unless set): checked
 * when a volume is made, extended or retyped and when a snapshot is made
 * (a snapshot counts for its volume's type), against counts taken in the
 * same write transaction. volumes_quota_set takes them too (types that
 * exist). This adds every type's three limits for project (NULL: the
 * defaults) to out. */
int volumes_quota_type_limits(struct volumes *v, const struct volumes_caller *who,
                              const char *project, json_t *out);
/* The "default" quota class (admins): the defaults of every project
 * without its own limits, the base ones and per type. get: a new object
 * of every key; set: the keys given (-EINVAL for unknown keys, values
 * below -1 or not integers), kept in the store (over the configured
 * defaults). */
int volumes_quota_class_get(struct volumes *v, const struct volumes_caller *who, json_t **out);
int volumes_quota_class_set(struct volumes *v, const struct volumes_caller *who,
                            const json_t *changes);
/* Admin: back to the defaults. */
int volumes_quota_reset(struct volumes *v, const struct volumes_caller *who, const char *project);
void volumes_quota_defaults(struct volumes *v, struct volumes_quota *out);

/* ---- backups ---- */
struct volume_backup_create {
    const char *volume_id, *name, *description;
    bool incremental; /* -EINVAL when the volume has no usable backup yet */
    bool force;       /* also of an in-use volume */
    /* Of a snapshot of volume_id (available; its volume may be in-use):
     * the copy reads a clone of the snapshot. Such a backup never becomes
     * the base of the volume's next incremental; an incremental one needs
     * the volume's latest backup to be older than the snapshot. */
    const char *snapshot_id;
    /* A name for the backup's container (Cinder's object-store bucket):
     * stored and shown; NULL shows the backup's folder name. The data
     * always goes to the backup's own folder. */
    const char *container;
};
/* Step one (short): checks, quota, the record in status creating and its
 * snapshot; *out is that record. Step two (long, any thread):
 * volume_backup_run() copies the clusters and flips the record to
 * available (or error, with fail_reason). */
int volume_backup_begin(struct volumes *v, const struct volumes_caller *who,
                        const struct volume_backup_create *req, json_t **out);
int volume_backup_run(struct volumes *v, const char *backup_id);
int volume_backup_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                      json_t **out);
int volume_backup_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                       json_t **out);
/* Refused (-EBUSY) while incremental backups depend on it or it is busy
 * (force, admin: also when busy). Removes its folder. */
int volume_backup_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                         bool force);
/* changes: name, description (strings or null); PUT /backups/{id} (3.9). */
int volume_backup_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                         const json_t *changes, json_t **out);
/* Admin: sets a backup's status to available or error (not while it is
 * being made or restored: its copy thread owns it then). */
int volume_backup_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                               const char *status);
/* Restore: into volume_id (available, at least as large), or into a new
 * volume (volume_id NULL; name may be NULL) of the backup's size. Step one
 * marks the backup restoring and the volume restoring-backup and gives the
 * target volume's id; step two copies and flips both back (or the volume
 * to error). */
int volume_backup_restore_begin(struct volumes *v, const struct volumes_caller *who,
                                const char *backup_id, const char *volume_id, const char *name,
                                char volume_out[40]);
int volume_backup_restore_run(struct volumes *v, const char *backup_id, const char *volume_id);

/* Export and import of backup records (Cinder's export_record and
 * import_record, admins): the exported record is the backup's manifest
 * (VOLUMES_BACKUP_FORMAT, read from its folder) plus "folder" (the folder
 * holding its data), "name", "description" and "container". Importing it
 * into this or a fresh store (the same backup directory) makes an
 * available backup record with the record's id, owned by the importing
 * admin's project, restorable like any other: its folder must hold a
 * complete chain (volumes_backup_check), else -EINVAL. -EBUSY when a
 * record with that id exists. A record may name a folder under another
 * id (an imported copy): folders are removed with the last record naming
 * them. */
int volume_backup_export(struct volumes *v, const struct volumes_caller *who, const char *id,
                         json_t **record);
int volume_backup_import(struct volumes *v, const struct volumes_caller *who, const json_t *record,
                         json_t **out);

/* Standalone (a backup directory alone, no records): verifies the chain
 * ending at backup id (every manifest, record and checksum, parents present
 * and complete, same volume, sizes never shrinking), printing each problem
 * to report. Returns the number of problems or a negative errno. */
int volumes_backup_check(const char *backup_dir, const char *id, FILE *report);
/* Writes the chain ending at backup id into block-store disk `object`
 * (existing, at least as large; its current contents are replaced).
 * *size gets the volume size the backup recorded. */
int volumes_backup_restore_into(struct blockstore *bs, const struct volumes_bs_lock *lk,
                                const char *backup_dir, const char *id, const char *object);
/* The manifest of backup id (a new reference). */
int volumes_backup_manifest(const char *backup_dir, const char *id, json_t **out);

#endif
