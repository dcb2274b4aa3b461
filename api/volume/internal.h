/* Private to api/volume/: the Cinder v3 block-storage service under
 * /volume (catalog types block-storage and volumev3 at /volume/v3). The
 * domain is core/volumes; this folder maps HTTP and JSON to it:
 *   service.c     descriptor, init/fini, version discovery and
 *                 microversions, extensions, availability zones, limits,
 *                 quota sets, the shared helpers below;
 *   volumes.c     volumes, their metadata and actions;
 *   snapshots.c   snapshots and their metadata;
 *   types.c       volume types, extra specs and private types' access;
 *   qos.c         QoS specs and their associations with types;
 *   encryption.c  volume type encryption specs (admins);
 *   transfers.c   volume transfers (both paths);
 *   messages.c    user messages;
 *   admin.c       the backend's admin views (services, hosts, pools,
 *                 capabilities, the default quota class);
 *   backups.c     backups and restores (copies run on threads of their own);
 *   backup_records.c export_record and import_record of backups (admins);
 *   attachments.c the attachments API (3.27+);
 *   group_types.c group types and their group specs (3.11+);
 *   groups.c      generic volume groups (3.13+, from a source 3.14+);
 *   group_snapshots.c group snapshots (3.14+);
 *   to_image.c    os-volume_upload_image (a volume to a new image);
 *   handlers.c    the handler shapes the resources share (below);
 *   list.c        filters, sort, limit, marker and next links. */
#ifndef PICOSTACK_API_VOLUME_INTERNAL_H
#define PICOSTACK_API_VOLUME_INTERNAL_H

#include <pthread.h>

#include "api/http/http.h"
#include "core/volumes/volumes.h"

#define VOL_MIN_MICRO 0  /* 3.0 */
#define VOL_MAX_MICRO 60 /* 3.60 */

struct image_db;

struct vol_state {
    struct api_server *srv;
    struct volumes *v;
    struct image_db *images;
    /* background copies (backups, restores): counted so fini waits */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int running;
};

extern const struct api_service api_volume_service;

/* The caller as core/volumes sees it (strings point into r's token). */
struct volumes_caller vol_caller(struct api_req *r);
/* The request's microversion (3.x: x), from OpenStack-API-Version; -1 after
 * replying 400/406 for a malformed or unsupported one. Also sets the reply
 * headers that name it. */
int vol_micro(struct api_req *r);
/* vol_micro, and 404 (Cinder's answer to a call below its microversion)
 * when the request's is below 3.min: -1 after replying. */
int vol_micro_min(struct api_req *r, int min);
/* The same, quietly (a bad header reads as 3.0): for views that show a
 * field from some microversion on. */
int vol_req_micro(struct api_req *r);
/* Replies a core/volumes error in Cinder's shape: invalid states are 400
 * (Cinder's "Invalid volume"), quotas 413 (overLimit), the rest through
 * api_errno_status. */
void vol_reply_err(struct api_req *r, int err);
/* The body's object under key (replies 400 and returns NULL when the body
 * is malformed or lacks it). */
json_t *vol_body(struct api_req *r, const char *key, json_t **whole);
/* "true"/"false"/"1"/"0"/"yes"/"no" (any case) or a JSON boolean; -1 bad. */
int vol_bool(const json_t *v);
/* links: [self, bookmark] for a resource under /volume/v3/<coll>/<id>. */
json_t *vol_links(struct api_req *r, const char *coll, const char *id);
/* all_tenants=1 (or true) from an admin. */
bool vol_all_tenants(struct api_req *r);
/* Runs fn(st, ctx) on a thread of its own, counted (fini waits); ctx is
 * the callee's to free. 0 or -errno. */
int vol_spawn(struct vol_state *st, void (*fn)(struct vol_state *st, void *ctx), void *ctx);

/* list.c: GET on a collection. views: the records' views (stolen); the
 * query's name/status/metadata filters (and any in extra_filters, a
 * NULL-ended list of field names), sort, marker and limit; replies
 * {coll: [...], coll_links: [next]} (summary: only id, name, links). */
void vol_reply_list(struct api_req *r, const char *coll, json_t *views, bool summary,
                    const char *const *extra_filters);

/* handlers.c: the shapes every resource shares. view: a record's API
 * view; get, list, update: the core/volumes calls of one resource. */
typedef json_t *(*vol_view_fn)(struct api_req *r, const json_t *rec);
typedef int (*vol_get_fn)(struct volumes *v, const struct volumes_caller *who, const char *id,
                          json_t **out);
typedef int (*vol_update_fn)(struct volumes *v, const struct volumes_caller *who, const char *id,
                             const json_t *changes, json_t **out);
struct vol_listing {
    const char *coll; /* "volumes", "snapshots", ... */
    int (*list)(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                json_t **out);
    vol_view_fn view;
    const char *const *extra_filters; /* as for vol_reply_list */
};
/* Replies {key: view(rec)} with status; rec is consumed. */
void vol_reply_rec(struct api_req *r, int status, const char *key, vol_view_fn view, json_t *rec);
/* The views of recs (consumed), a new array. */
json_t *vol_views(struct api_req *r, json_t *recs, vol_view_fn view);
/* The record of the path's first parameter through get (the microversion
 * checked), a new reference; NULL after replying an error. */
json_t *vol_load_rec(struct api_req *r, vol_get_fn get);

/* meta_key.c: one metadata item by key, for volumes and snapshots alike */
struct vol_meta_ops {
    vol_get_fn get;
    int (*set)(struct volumes *v, const struct volumes_caller *who, const char *id,
               const json_t *meta, bool replace, json_t **out);
    int (*del)(struct volumes *v, const struct volumes_caller *who, const char *id,
               const char *key);
};
void vol_meta_key_get(struct api_req *r, const struct vol_meta_ops *ops);
void vol_meta_key_put(struct api_req *r, const struct vol_meta_ops *ops);
void vol_meta_key_delete(struct api_req *r, const struct vol_meta_ops *ops);
/* GET .../{id}: {key: view}. */
void vol_show(struct api_req *r, const char *key, vol_get_fn get, vol_view_fn view);
/* GET on a collection (all_tenants honoured for admins), through
 * vol_reply_list. */
void vol_list(struct api_req *r, const struct vol_listing *l, bool summary);
/* PUT .../{id} with {key: {name, description, metadata}} (and Cinder's
 * display_name/display_description aliases). */
void vol_rename(struct api_req *r, const char *key, vol_update_fn update, vol_view_fn view);

/* backups.c: runs volume_backup_restore_run(backup_id, volume_id) on a
 * thread of its own (vol_spawn). 0 or -errno. */
int vol_spawn_restore(struct vol_state *st, const char *backup_id, const char *volume_id);

/* to_image.c: the os-volume_upload_image action of volume vol_id (body
 * a): 1 once replied (202 with Cinder's os-volume_upload_image object, or
 * an error), or a negative errno for vol_reply_err. */
int vol_upload_image(struct api_req *r, struct vol_state *st, const char *vol_id, const json_t *a);

/* Views (volumes.c, snapshots.c, types.c, backups.c, attachments.c). */
json_t *vol_volume_view(struct api_req *r, const json_t *rec);
json_t *vol_snapshot_view(struct api_req *r, const json_t *rec);
json_t *vol_type_view(struct api_req *r, const json_t *rec);
json_t *vol_backup_view(struct api_req *r, const json_t *rec);
json_t *vol_attachment_view(struct api_req *r, const json_t *rec);
json_t *vol_group_type_view(struct api_req *r, const json_t *rec);
json_t *vol_group_view(struct api_req *r, const json_t *rec);
json_t *vol_group_snapshot_view(struct api_req *r, const json_t *rec);

/* Handlers. */
void vol_volume_create(struct api_req *r);
void vol_volume_list(struct api_req *r);
void vol_volume_list_detail(struct api_req *r);
void vol_volume_show(struct api_req *r);
void vol_volume_update(struct api_req *r);
void vol_volume_delete(struct api_req *r);
void vol_volume_action(struct api_req *r);
void vol_volume_meta_get(struct api_req *r);
void vol_volume_meta_set(struct api_req *r); /* POST: merge */
void vol_volume_meta_put(struct api_req *r); /* PUT: replace */
void vol_volume_meta_key_get(struct api_req *r);
void vol_volume_meta_key_put(struct api_req *r);
void vol_volume_meta_key_delete(struct api_req *r);

void vol_snapshot_create(struct api_req *r);
void vol_snapshot_list(struct api_req *r);
void vol_snapshot_list_detail(struct api_req *r);
void vol_snapshot_show(struct api_req *r);
void vol_snapshot_update(struct api_req *r);
void vol_snapshot_delete(struct api_req *r);
void vol_snapshot_action(struct api_req *r);
void vol_snapshot_meta_get(struct api_req *r);
void vol_snapshot_meta_set(struct api_req *r);
void vol_snapshot_meta_put(struct api_req *r);
void vol_snapshot_meta_key_get(struct api_req *r);
void vol_snapshot_meta_key_put(struct api_req *r);
void vol_snapshot_meta_key_delete(struct api_req *r);
void vol_volume_summary(struct api_req *r);

void vol_type_create(struct api_req *r);
void vol_type_list(struct api_req *r);
void vol_type_show(struct api_req *r);
void vol_type_update(struct api_req *r);
void vol_type_delete(struct api_req *r);
void vol_type_specs_get(struct api_req *r);
void vol_type_specs_set(struct api_req *r);
void vol_type_spec_get(struct api_req *r);
void vol_type_spec_put(struct api_req *r);
void vol_type_spec_delete(struct api_req *r);

void vol_backup_create(struct api_req *r);
void vol_backup_list(struct api_req *r);
void vol_backup_list_detail(struct api_req *r);
void vol_backup_show(struct api_req *r);
void vol_backup_delete(struct api_req *r);
void vol_backup_update(struct api_req *r);
void vol_backup_restore(struct api_req *r);
void vol_backup_action(struct api_req *r);
void vol_backup_export(struct api_req *r);
void vol_backup_import(struct api_req *r);

void vol_type_access_list(struct api_req *r);
void vol_encryption_show(struct api_req *r);
void vol_encryption_item(struct api_req *r);
void vol_encryption_create(struct api_req *r);
void vol_encryption_update(struct api_req *r);
void vol_encryption_delete(struct api_req *r);
void vol_type_action(struct api_req *r);

void vol_qos_create(struct api_req *r);
void vol_qos_list(struct api_req *r);
void vol_qos_show(struct api_req *r);
void vol_qos_set_keys(struct api_req *r);
void vol_qos_unset_keys(struct api_req *r);
void vol_qos_associate(struct api_req *r);
void vol_qos_disassociate(struct api_req *r);
void vol_qos_disassociate_all(struct api_req *r);
void vol_qos_associations(struct api_req *r);
void vol_qos_delete(struct api_req *r);

/* transfers.c: /os-volume-transfer, and vol_transfer2_* for
 * /volume-transfers (3.55+). */
void vol_transfer_create(struct api_req *r);
void vol_transfer_list(struct api_req *r);
void vol_transfer_list_detail(struct api_req *r);
void vol_transfer_show(struct api_req *r);
void vol_transfer_delete(struct api_req *r);
void vol_transfer_accept(struct api_req *r);
void vol_transfer2_create(struct api_req *r);
void vol_transfer2_list(struct api_req *r);
void vol_transfer2_list_detail(struct api_req *r);
void vol_transfer2_show(struct api_req *r);
void vol_transfer2_delete(struct api_req *r);
void vol_transfer2_accept(struct api_req *r);

/* messages.c: user messages (3.3+). */
void vol_message_list(struct api_req *r);
void vol_message_show(struct api_req *r);
void vol_message_delete(struct api_req *r);

/* admin.c: the backend's admin views. */
void vol_admin_service_list(struct api_req *r);
void vol_admin_service_action(struct api_req *r);
void vol_admin_host_list(struct api_req *r);
void vol_admin_host_show(struct api_req *r);
void vol_admin_pools(struct api_req *r);
void vol_admin_backend_capabilities(struct api_req *r);
void vol_admin_quota_class_show(struct api_req *r);
void vol_admin_quota_class_update(struct api_req *r);

void vol_attachment_create(struct api_req *r);
void vol_attachment_list(struct api_req *r);
void vol_attachment_list_detail(struct api_req *r);
void vol_attachment_show(struct api_req *r);
void vol_attachment_update(struct api_req *r);
void vol_attachment_delete(struct api_req *r);
void vol_attachment_action(struct api_req *r);

void vol_group_type_create(struct api_req *r);
void vol_group_type_list(struct api_req *r);
void vol_group_type_show(struct api_req *r);
void vol_group_type_update(struct api_req *r);
void vol_group_type_delete(struct api_req *r);
void vol_group_specs_get(struct api_req *r);
void vol_group_specs_set(struct api_req *r);
void vol_group_spec_get(struct api_req *r);
void vol_group_spec_put(struct api_req *r);
void vol_group_spec_delete(struct api_req *r);

void vol_group_create(struct api_req *r);
void vol_group_create_from_src(struct api_req *r);
void vol_group_list(struct api_req *r);
void vol_group_list_detail(struct api_req *r);
void vol_group_show(struct api_req *r);
void vol_group_update(struct api_req *r);
void vol_group_action(struct api_req *r);

void vol_group_snapshot_create(struct api_req *r);
void vol_group_snapshot_list(struct api_req *r);
void vol_group_snapshot_list_detail(struct api_req *r);
void vol_group_snapshot_show(struct api_req *r);
void vol_group_snapshot_delete(struct api_req *r);
void vol_group_snapshot_action(struct api_req *r);

#endif
