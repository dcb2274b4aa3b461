/* Private to core/volumes: the state behind volumes.h and the helpers its
 * files share. */
#ifndef PICOSTACK_VOL_INTERNAL_H
#define PICOSTACK_VOL_INTERNAL_H

#include "core/volumes/volumes.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <errno.h>

struct volumes {
    struct store *store;
    unsigned table; /* "volumes": every record, keys "KIND/ID" */
    struct blockstore *bs;
    struct volumes_bs_lock lk;
    char backup_dir[4096];
    struct volumes_quota defaults;
    volumes_resize_fn resize; /* NULL: no compute service told */
    void *resize_ctx;
};

#define BS_LOCK(v)   (v)->lk.lock((v)->lk.ctx)
#define BS_UNLOCK(v) (v)->lk.unlock((v)->lk.ctx)

/* Record kinds (key prefixes). */
#define K_VOLUME         "volume"
#define K_SNAPSHOT       "snapshot"
#define K_TYPE           "type"
#define K_ATTACHMENT     "attachment"
#define K_BACKUP         "backup"
#define K_QUOTA          "quota"
#define K_USAGE          "usage"
#define K_TRANSFER       "transfer"
#define K_QOS            "qos"
#define K_MESSAGE        "message"
#define K_GROUP_TYPE     "grouptype"
#define K_GROUP          "group"
#define K_GROUP_SNAPSHOT "groupsnap"
#define K_QUOTA_CLASS    "quotaclass"

/* Sets this thread's message; returns err. */
int vol_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Transactions: vol_begin, then vol_end(v, t, rc) commits when rc is 0
 * (else aborts) and returns rc or the commit's error. */
int vol_begin(struct volumes *v, bool write, struct store_txn **t);
int vol_end(struct store_txn *t, int rc);

int vol_get(struct store_txn *t, struct volumes *v, const char *kind, const char *id, json_t **out);
int vol_put(struct store_txn *t, struct volumes *v, const char *kind, const json_t *rec);
int vol_put_key(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
                const json_t *rec);
int vol_del(struct store_txn *t, struct volumes *v, const char *kind, const char *id);
/* Every record of a kind, as a new array sorted by created_at then id. */
int vol_all(struct store_txn *t, struct volumes *v, const char *kind, json_t **out);
/* vol_all in a read transaction of its own. */
int vol_all_read(struct volumes *v, const char *kind, json_t **out);
/* Every record of `kind` that seen(record, who) accepts, in creation
 * order, read in a transaction of its own: a new array. */
int vol_list_seen(struct volumes *v, const char *kind, const struct volumes_caller *who,
                  bool (*seen)(const json_t *rec, const struct volumes_caller *who), json_t **out);

/* Access: -ENOENT when who may not see rec (another project's), -EPERM
 * when who may see but not change it. */
int vol_can_see(const json_t *rec, const struct volumes_caller *who);
int vol_can_write(const json_t *rec, const struct volumes_caller *who);
int vol_need_admin(const struct volumes_caller *who, const char *what);
/* The same for a record: -ENOENT first when who may not even see it. */
int vol_need_admin_on(struct volumes *v, const struct volumes_caller *who, const char *kind,
                      const char *id, const char *what);
/* Loads a record the caller may see (write: and change); a new reference. */
int vol_load(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
             const struct volumes_caller *who, bool write, json_t **out);

/* Field helpers. */
const char *vol_str(const json_t *rec, const char *key); /* NULL if absent */
int64_t vol_int(const json_t *rec, const char *key);
void vol_set_str(json_t *rec, const char *key, const char *val); /* NULL: JSON null */
void vol_touch(json_t *rec);                                     /* updated_at = now */
const char *vol_priv(const json_t *rec, const char *key);
void vol_priv_set(json_t *rec, const char *key, const char *val); /* NULL: removed */
/* A new record with id, created_at/updated_at, project_id, user_id. */
json_t *vol_new_record(const char *id, const struct volumes_caller *who);
/* Checks a name/description and a metadata object (string values). */
int vol_check_text(const json_t *val, const char *what, size_t max);
int vol_check_meta(const json_t *meta);

/* A project's limits as they apply (its own over the defaults), in t. */
int vol_limits(struct store_txn *t, struct volumes *v, const char *project,
               struct volumes_quota *out);
/* Usage of a project in t: adds delta to resource r; with check, refuses
 * (-EDQUOT, nothing changed) when the result passes the limit. */
int vol_usage_add(struct store_txn *t, struct volumes *v, const char *project,
                  enum volumes_quota_res r, int64_t delta, bool check);

/* Per-type quotas (vol_quota_type.c): -EDQUOT when adding volumes, GiB
 * and snapshots of type type_id (an id or name) to project passes one of
 * its per-type limits, in t (a write transaction, so that the count
 * holds); the class record (a new object); a quota value parsed (an
 * integer, or one in a string, >= -1); 0 when key is a per-type key of an
 * existing type (-EINVAL else); every type's limits for project (NULL:
 * the defaults) added to out. */
int vol_type_quota_check(struct store_txn *t, struct volumes *v, const char *project,
                         const char *type_id, int64_t add_volumes, int64_t add_gb,
                         int64_t add_snapshots);
int vol_quota_class(struct store_txn *t, struct volumes *v, json_t **out);
int vol_quota_value(const char *key, const json_t *val, int64_t *n);
int vol_quota_type_key(struct store_txn *t, struct volumes *v, const char *key);
int vol_quota_type_limits(struct store_txn *t, struct volumes *v, const char *project, json_t *out);

/* The same check without a change (read transactions): 0 or -EDQUOT. */
int vol_usage_fits(struct store_txn *t, struct volumes *v, const char *project,
                   enum volumes_quota_res r, int64_t delta);

/* Block-store calls under the caller's mutex; the message of a failure
 * becomes this thread's volumes_error(). */
int vol_bs_create(struct volumes *v, const char *name, uint64_t size);
int vol_bs_snapshot(struct volumes *v, const char *disk, const char *name);
int vol_bs_clone(struct volumes *v, const char *src, const char *name);
int vol_bs_extend(struct volumes *v, const char *disk, uint64_t size);
int vol_bs_delete(struct volumes *v, const char *name); /* absent is fine */
/* 1 if the object exists (size in *size), 0 if not, or a negative errno. */
int vol_bs_exists(struct volumes *v, const char *name, uint64_t *size);

/* Types (vol_type.c): the default type; find by id or name; insert
 * without checks. */
int vol_types_default(struct store_txn *t, struct volumes *v, json_t **out);
int vol_type_find(struct store_txn *t, struct volumes *v, const char *id_or_name, json_t **out);

int vol_type_insert(struct store_txn *t, struct volumes *v, const char *name,
                    const char *description, bool is_public, const json_t *specs, json_t **out);

/* Volumes (vol_volume.c): usage of a record given back, in t; undo of a
 * creation (object, record, usage); the block-store work of a creation. */
int vol_release_volume(struct store_txn *t, struct volumes *v, const json_t *rec);
int vol_drop_creation(struct volumes *v, const char *id);
int vol_make_object(struct volumes *v, const json_t *rec);
int vol_extend_finish(struct volumes *v, const char *id, bool done);
int vol_delete_finish(struct volumes *v, const char *id);
/* Records of a kind the caller sees (all_projects: admins see all). */
int vol_list_visible(struct volumes *v, const char *kind, const struct volumes_caller *who,
                     bool all_projects, json_t **out);
/* Snapshot object, record and usage dropped (vol_snapshot.c). */
int vol_snapshot_drop(struct volumes *v, const char *id);
/* Snapshots of a volume (new array), in t. */
int vol_snapshots_of(struct store_txn *t, struct volumes *v, const char *volume_id, json_t **out);

/* Backups (vol_backup*.c). The folder holding backup id's data (its id,
 * or the one an imported record names; -ENOENT without a record); 1 when
 * another record names the same folder (else 0), with the folder. */
int vol_backup_folder(struct volumes *v, const char *id, char folder[80]);
int vol_backup_folder_shared(struct volumes *v, const char *id, char folder[80]);
int vol_backup_reconcile(struct volumes *v, FILE *report);
int vol_backup_drop(struct volumes *v, const char *id);
int vol_backup_path(const char *dir, const char *id, const char *suffix, char *out, size_t len);
/* A new volume (creating, its empty disk made) takes the data of backup
 * id: one transaction sets it restoring-backup and the backup restoring
 * (-EBUSY when the backup is no longer available). */
int vol_restore_start(struct volumes *v, const char *volume_id, const char *backup_id,
                      json_t **out);

/* Messages (vol_message.c): records one for project, in t. */
int vol_message_add(struct store_txn *t, struct volumes *v, const char *project,
                    const char *request_id, const char *event_id, const char *resource_type,
                    const char *resource_uuid, const char *text);
/* 1 when the backend has what type's extra specs ask for, else 0 and why. */
int vol_backend_fits(const json_t *type, char why[256]);

/* Transfers (vol_transfer.c): drops every transfer of a volume, in t. */
int vol_transfers_drop(struct store_txn *t, struct volumes *v, const char *volume_id);
/* Type access (vol_type.c): -ENOENT unless who may use type (public, an
 * admin, or a project on its access list). */
int vol_type_usable(const json_t *type, const struct volumes_caller *who);

/* Groups (vol_group*.c): 0 when who may make a volume of type type_id in
 * group group_id (writable, available or being made, listing the type), in
 * t; group types by id or name; an admin's status reset of a group or
 * group snapshot (kind); the start-up fixes of both. */
int vol_group_admits(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                     const char *group_id, const char *type_id);
int vol_group_type_find(struct store_txn *t, struct volumes *v, const char *id_or_name,
                        json_t **out);
int vol_group_reset(struct volumes *v, const struct volumes_caller *who, const char *kind,
                    const char *id, const char *status);
int vol_group_reconcile(struct volumes *v, FILE *report);
/* Encryption (vol_encryption.c): -ENOTSUP when type has an encryption
 * spec (no key manager could hold the keys of its volumes), else 0. */
int vol_type_unencrypted(const json_t *type);

#endif
