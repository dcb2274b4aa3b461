/* The block-storage service: Cinder v3 (a subset) under /volume, as
 * DevStack lays it out. Records and rules live in core/volumes; this file
 * holds the descriptor, version discovery and microversions, extensions,
 * availability zones, limits, quota sets and the shared helpers. */
#include "api/volume/internal.h"
#include "core/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- helpers ---- */

struct volumes_caller vol_caller(struct api_req *r)
{
    const struct identity_token *t = api_req_auth(r);
    struct volumes_caller c = { 0 };
    if (!t)
        return c;
    c.project_id = t->project_id[0] ? t->project_id : NULL;
    c.user_id = t->user_id;
    c.is_admin = (t->role_flags & IDENTITY_ADMIN) != 0;
    c.can_write = c.project_id && (t->role_flags & (IDENTITY_ADMIN | IDENTITY_MEMBER)) != 0;
    return c;
}

void vol_reply_err(struct api_req *r, int err)
{
    const char *msg = volumes_error();
    if (!msg[0])
        msg = strerror(-err);
    if (err == -EBUSY || err == -ENOTSUP)
        return api_reply_error(r, 400, "%s", msg); /* Cinder: Invalid volume / snapshot */
    if (err == -EDQUOT)
        return api_reply_error(r, 413, "VolumeLimitExceeded: %s", msg);
    api_reply_errno(r, err, "%s", msg);
}

json_t *vol_body(struct api_req *r, const char *key, json_t **whole)
{
    json_t *b = api_req_json(r);
    if (!b)
        return NULL;
    json_t *o = json_object_get(b, key);
    if (!json_is_object(o)) {
        json_decref(b);
        api_reply_error(r, 400, "Missing required element '%s' in request body.", key);
        return NULL;
    }
    *whole = b;
    return o;
}

int vol_bool(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
        return 1;
    if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
        return 0;
    return -1;
}

json_t *vol_links(struct api_req *r, const char *coll, const char *id)
{
    char self[1024], book[1024];
    snprintf(self, sizeof self, "%s/volume/v3/%s/%s", api_req_base_url(r), coll, id);
    snprintf(book, sizeof book, "%s/volume/%s/%s", api_req_base_url(r), coll, id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "rel", "self", "href", self, "rel", "bookmark",
                     "href", book);
}

bool vol_all_tenants(struct api_req *r)
{
    const char *a = api_req_query(r, "all_tenants");
    if (!a || !api_req_is_admin(r))
        return false;
    json_t *s = json_string(a);
    int b = a[0] ? vol_bool(s) : 1;
    json_decref(s);
    return b == 1;
}

/* ---- microversions ---- */

/* The microversion header's minor number; with reply, 400/406 for a bad
 * one (-1), else a bad one reads as the minimum. */
static int parse_micro(struct api_req *r, bool reply)
{
    const char *h = api_req_header(r, "OpenStack-API-Version");
    char svc[32], ver[32];
    if (!h || sscanf(h, "%31s %31s", svc, ver) != 2 || strcasecmp(svc, "volume"))
        return VOL_MIN_MICRO; /* none, or another service's header: not ours */
    if (!strcasecmp(ver, "latest"))
        return VOL_MAX_MICRO;
    int maj, min;
    char extra;
    if (sscanf(ver, "%d.%d%c", &maj, &min, &extra) != 2) {
        if (reply)
            api_reply_error(r, 400, "Invalid API version request: %s", ver);
        return reply ? -1 : VOL_MIN_MICRO;
    }
    if (maj != 3 || min < VOL_MIN_MICRO || min > VOL_MAX_MICRO) {
        if (reply)
            api_reply_error(r, 406,
                            "Version %s is not supported by the API. Minimum is 3.%d and "
                            "maximum is 3.%d.",
                            ver, VOL_MIN_MICRO, VOL_MAX_MICRO);
        return reply ? -1 : VOL_MIN_MICRO;
    }
    return min;
}

int vol_req_micro(struct api_req *r)
{
    return parse_micro(r, false);
}

int vol_micro(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!st->v) {
        api_reply_error(r, 503, "The block-storage service has no block store.");
        return -1;
    }
    int minor = parse_micro(r, true);
    if (minor < 0)
        return -1;
    char v[32];
    snprintf(v, sizeof v, "volume 3.%d", minor);
    api_reply_header(r, "OpenStack-API-Version", v);
    api_reply_header(r, "Vary", "OpenStack-API-Version");
    return minor;
}

static json_t *version_doc(struct api_req *r)
{
    char self[512], max[16], min[16];
    snprintf(self, sizeof self, "%s/volume/v3/", api_req_base_url(r));
    snprintf(max, sizeof max, "3.%d", VOL_MAX_MICRO);
    snprintf(min, sizeof min, "3.%d", VOL_MIN_MICRO);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "id", "v3.0",
                     "status", "CURRENT", "version", max, "min_version", min, "updated",
                     "2026-11-24T00:00:00Z", "links", "rel", "self", "href", self, "media-types",
                     "base", "application/json", "type",
                     "application/vnd.openstack.volume+json;version=3");
}

static void versions(struct api_req *r)
{
    api_reply_json(r, 300, json_pack("{s:[o]}", "versions", version_doc(r)));
}

static void version_v3(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:[o]}", "versions", version_doc(r)));
}

/* ---- extensions, availability zones ---- */

static void extensions(struct api_req *r)
{
    static const char *const ext[][2] = {
        { "os-extended-snapshot-attributes", "ExtendedSnapshotAttributes" },
        { "os-vol-tenant-attr", "VolumeTenantAttribute" },
        { "os-vol-host-attr", "VolumeHostAttribute" },
        { "os-volume-actions", "VolumeActions" },
        { "os-admin-actions", "AdminActions" },
        { "os-availability-zone", "AvailabilityZones" },
        { "os-quota-sets", "Quotas" },
        { "os-types-manage", "TypesManage" },
        { "os-types-extra-specs", "TypesExtraSpecs" },
        { "backups", "Backups" },
        { "os-volume-image-metadata", "VolumeImageMetadata" },
        { "os-volume-transfer", "VolumeTransfer" },
        { "qos-specs", "Qos_specs_manage" },
        { "os-volume-type-access", "VolumeTypeAccess" },
        { "os-hosts", "Hosts" },
        { "os-services", "Services" },
        { "scheduler-stats", "Scheduler_stats" },
        { "capabilities", "Capabilities" },
        { "os-quota-class-sets", "Quota_classes" },
    };
    if (vol_micro(r) < 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < API_COUNT(ext); i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:[]}", "alias", ext[i][0],
                                              "name", ext[i][1], "description", ext[i][1],
                                              "updated", "2026-11-24T00:00:00+00:00", "links"));
    api_reply_json(r, 200, json_pack("{s:o}", "extensions", list));
}

static void zones(struct api_req *r)
{
    if (vol_micro(r) < 0)
        return;
    api_reply_json(r, 200,
                   json_pack("{s:[{s:s, s:{s:b}}]}", "availabilityZoneInfo", "zoneName", VOLUMES_AZ,
                             "zoneState", "available", 1));
}

/* ---- quotas and limits ---- */

static json_t *quota_set(const char *project, const struct volumes_quota *lim,
                         const struct volumes_quota *use)
{
    json_t *q = json_pack("{s:s}", "id", project);
    for (int i = 0; i < VOLQ_N; i++) {
        const char *n = volumes_quota_name((enum volumes_quota_res)i);
        if (use)
            json_object_set_new(
                q, n,
                json_pack("{s:I, s:I, s:i, s:i}", "limit", (json_int_t)lim->v[i], "in_use",
                          (json_int_t)(i == VOLQ_PER_VOLUME_GIGABYTES ? 0 : use->v[i]), "reserved",
                          0, "allocated", 0));
        else
            json_object_set_new(q, n, json_integer(lim->v[i]));
    }
    /* Cinder also shows groups and per-type keys; the CLI prints them */
    json_object_set_new(q, "groups",
                        use ? json_pack("{s:i, s:i, s:i, s:i}", "limit", 10, "in_use", 0,
                                        "reserved", 0, "allocated", 0)
                            : json_integer(10));
    return q;
}

static void quota_show(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    struct volumes_quota lim, use;
    const char *project = api_req_param(r, 0);
    int rc = volumes_quota_get(st->v, &who, project, &lim, &use);
    if (rc < 0)
        return vol_reply_err(r, rc);
    const char *u = api_req_query(r, "usage");
    json_t *b = json_string(u ? u : "false");
    bool usage = u && (!u[0] || vol_bool(b) == 1);
    json_decref(b);
    json_t *view = quota_set(project, &lim, usage ? &use : NULL);
    if (!usage)
        volumes_quota_type_limits(st->v, &who, project, view);
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", view));
}

static void quota_defaults(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_quota d;
    volumes_quota_defaults(st->v, &d);
    struct volumes_caller who = vol_caller(r);
    json_t *view = quota_set(api_req_param(r, 0), &d, NULL);
    volumes_quota_type_limits(st->v, &who, NULL, view);
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", view));
}

static void quota_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *q = vol_body(r, "quota_set", &whole);
    if (!q)
        return;
    struct volumes_caller who = vol_caller(r);
    const char *project = api_req_param(r, 0);
    json_t *known = json_object();
    const char *k;
    json_t *x;
    json_object_foreach (q, k, x) /* groups: shown, not kept (one fixed limit) */
        if (strcmp(k, "groups"))
            json_object_set(known, k, x);
    int rc = volumes_quota_set(st->v, &who, project, known);
    json_decref(known);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    struct volumes_quota lim, use;
    if ((rc = volumes_quota_get(st->v, &who, project, &lim, &use)) < 0)
        return vol_reply_err(r, rc);
    json_t *view = quota_set(project, &lim, NULL);
    volumes_quota_type_limits(st->v, &who, project, view);
    json_object_del(view, "id");
    api_reply_json(r, 200, json_pack("{s:o}", "quota_set", view));
}

static void quota_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volumes_quota_reset(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 200); /* Cinder's status for it */
}

static void limits(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    struct volumes_quota lim, use;
    if (!who.project_id)
        return api_reply_error(r, 403, "A project-scoped token is needed.");
    int rc = volumes_quota_get(st->v, &who, who.project_id, &lim, &use);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_t *abs = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "maxTotalVolumes",
        (json_int_t)lim.v[VOLQ_VOLUMES], "maxTotalSnapshots", (json_int_t)lim.v[VOLQ_SNAPSHOTS],
        "maxTotalVolumeGigabytes", (json_int_t)lim.v[VOLQ_GIGABYTES], "maxTotalBackups",
        (json_int_t)lim.v[VOLQ_BACKUPS], "maxTotalBackupGigabytes",
        (json_int_t)lim.v[VOLQ_BACKUP_GIGABYTES], "totalVolumesUsed",
        (json_int_t)use.v[VOLQ_VOLUMES], "totalGigabytesUsed", (json_int_t)use.v[VOLQ_GIGABYTES],
        "totalSnapshotsUsed", (json_int_t)use.v[VOLQ_SNAPSHOTS], "totalBackupsUsed",
        (json_int_t)use.v[VOLQ_BACKUPS], "totalBackupGigabytesUsed",
        (json_int_t)use.v[VOLQ_BACKUP_GIGABYTES]);
    api_reply_json(r, 200, json_pack("{s:{s:[], s:o}}", "limits", "rate", "absolute", abs));
}

/* ---- background copies ---- */

struct spawn {
    struct vol_state *st;
    void (*fn)(struct vol_state *st, void *ctx);
    void *ctx;
};

static void *spawned(void *arg)
{
    struct spawn s = *(struct spawn *)arg;
    free(arg);
    s.fn(s.st, s.ctx);
    pthread_mutex_lock(&s.st->lock);
    if (--s.st->running == 0)
        pthread_cond_broadcast(&s.st->idle);
    pthread_mutex_unlock(&s.st->lock);
    return NULL;
}

int vol_spawn(struct vol_state *st, void (*fn)(struct vol_state *st, void *ctx), void *ctx)
{
    struct spawn *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    *s = (struct spawn){ st, fn, ctx };
    pthread_mutex_lock(&st->lock);
    st->running++;
    pthread_mutex_unlock(&st->lock);
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &a, spawned, s);
    pthread_attr_destroy(&a);
    if (rc) {
        free(s);
        pthread_mutex_lock(&st->lock);
        st->running--;
        pthread_mutex_unlock(&st->lock);
        return -rc;
    }
    return 0;
}

/* ---- the service ---- */

static void bs_lock(void *srv)
{
    api_blockstore_lock(srv);
}
static void bs_unlock(void *srv)
{
    api_blockstore_unlock(srv);
}

static int volume_init(struct api_server *srv, void **state)
{
    struct vol_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->srv = srv;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->idle, NULL);
    char backups[4200];
    const char *env = getenv("PICOSTACK_BACKUP_DIR");
    snprintf(backups, sizeof backups, "%s/backups",
             api_server_data_dir(srv)[0] ? api_server_data_dir(srv) : ".");
    struct volumes_config cfg = { .backup_dir = env && *env ? env : backups };
    struct volumes_bs_lock lk = { bs_lock, bs_unlock, srv };
    if (!api_server_blockstore(srv)) { /* served, but every route answers 503 */
        *state = st;
        return 0;
    }
    int rc = volumes_open(api_server_store(srv), api_server_blockstore(srv), &lk, &cfg, &st->v);
    if (rc == 0)
        rc = image_db_open(api_server_store(srv), &st->images);
    if (rc == 0) {
        rc = volumes_reconcile(st->v, stderr);
        if (rc > 0)
            fprintf(stderr, "picostackd: volumes: %d fixes after an unclean stop\n", rc);
        rc = rc < 0 ? rc : 0;
    }
    if (rc < 0) {
        fprintf(stderr, "picostackd: volumes: %s\n", volumes_error());
        if (st->v)
            volumes_close(st->v);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void volume_fini(void *state)
{
    struct vol_state *st = state;
    pthread_mutex_lock(&st->lock);
    while (st->running)
        pthread_cond_wait(&st->idle, &st->lock);
    pthread_mutex_unlock(&st->lock);
    if (st->images)
        image_db_close(st->images);
    if (st->v)
        volumes_close(st->v);
    free(st);
}

static const struct api_route routes[] = {
    { "GET", "", versions, API_PUBLIC },
    { "GET", "/v3", version_v3, API_PUBLIC },
    { "GET", "/v3/extensions", extensions, 0 },
    { "GET", "/v3/os-availability-zone", zones, 0 },
    { "GET", "/v3/limits", limits, 0 },
    { "GET", "/v3/os-quota-sets/{}", quota_show, 0 },
    { "PUT", "/v3/os-quota-sets/{}", quota_update, 0 },
    { "DELETE", "/v3/os-quota-sets/{}", quota_delete, 0 },
    { "GET", "/v3/os-quota-sets/{}/defaults", quota_defaults, 0 },
    { "POST", "/v3/volumes", vol_volume_create, 0 },
    { "GET", "/v3/volumes", vol_volume_list, 0 },
    { "GET", "/v3/volumes/detail", vol_volume_list_detail, 0 },
    { "GET", "/v3/volumes/summary", vol_volume_summary, 0 },
    { "GET", "/v3/volumes/{}", vol_volume_show, 0 },
    { "PUT", "/v3/volumes/{}", vol_volume_update, 0 },
    { "DELETE", "/v3/volumes/{}", vol_volume_delete, 0 },
    { "POST", "/v3/volumes/{}/action", vol_volume_action, 0 },
    { "GET", "/v3/volumes/{}/metadata", vol_volume_meta_get, 0 },
    { "POST", "/v3/volumes/{}/metadata", vol_volume_meta_set, 0 },
    { "PUT", "/v3/volumes/{}/metadata", vol_volume_meta_put, 0 },
    { "GET", "/v3/volumes/{}/metadata/{}", vol_volume_meta_key_get, 0 },
    { "PUT", "/v3/volumes/{}/metadata/{}", vol_volume_meta_key_put, 0 },
    { "DELETE", "/v3/volumes/{}/metadata/{}", vol_volume_meta_key_delete, 0 },
    { "POST", "/v3/snapshots", vol_snapshot_create, 0 },
    { "GET", "/v3/snapshots", vol_snapshot_list, 0 },
    { "GET", "/v3/snapshots/detail", vol_snapshot_list_detail, 0 },
    { "GET", "/v3/snapshots/{}", vol_snapshot_show, 0 },
    { "PUT", "/v3/snapshots/{}", vol_snapshot_update, 0 },
    { "DELETE", "/v3/snapshots/{}", vol_snapshot_delete, 0 },
    { "POST", "/v3/snapshots/{}/action", vol_snapshot_action, 0 },
    { "GET", "/v3/snapshots/{}/metadata", vol_snapshot_meta_get, 0 },
    { "POST", "/v3/snapshots/{}/metadata", vol_snapshot_meta_set, 0 },
    { "PUT", "/v3/snapshots/{}/metadata", vol_snapshot_meta_put, 0 },
    { "GET", "/v3/snapshots/{}/metadata/{}", vol_snapshot_meta_key_get, 0 },
    { "PUT", "/v3/snapshots/{}/metadata/{}", vol_snapshot_meta_key_put, 0 },
    { "DELETE", "/v3/snapshots/{}/metadata/{}", vol_snapshot_meta_key_delete, 0 },
    { "POST", "/v3/types", vol_type_create, 0 },
    { "GET", "/v3/types", vol_type_list, 0 },
    { "GET", "/v3/types/{}", vol_type_show, 0 },
    { "PUT", "/v3/types/{}", vol_type_update, 0 },
    { "DELETE", "/v3/types/{}", vol_type_delete, 0 },
    { "GET", "/v3/types/{}/extra_specs", vol_type_specs_get, 0 },
    { "POST", "/v3/types/{}/extra_specs", vol_type_specs_set, 0 },
    { "GET", "/v3/types/{}/extra_specs/{}", vol_type_spec_get, 0 },
    { "PUT", "/v3/types/{}/extra_specs/{}", vol_type_spec_put, 0 },
    { "DELETE", "/v3/types/{}/extra_specs/{}", vol_type_spec_delete, 0 },
    { "GET", "/v3/types/{}/os-volume-type-access", vol_type_access_list, 0 },
    { "POST", "/v3/types/{}/action", vol_type_action, 0 },
    { "GET", "/v3/types/{}/encryption", vol_encryption_show, 0 },
    { "POST", "/v3/types/{}/encryption", vol_encryption_create, 0 },
    { "GET", "/v3/types/{}/encryption/{}", vol_encryption_item, 0 },
    { "PUT", "/v3/types/{}/encryption/{}", vol_encryption_update, 0 },
    { "DELETE", "/v3/types/{}/encryption/{}", vol_encryption_delete, 0 },
    { "POST", "/v3/qos-specs", vol_qos_create, 0 },
    { "GET", "/v3/qos-specs", vol_qos_list, 0 },
    { "GET", "/v3/qos-specs/{}", vol_qos_show, 0 },
    { "PUT", "/v3/qos-specs/{}", vol_qos_set_keys, 0 },
    { "DELETE", "/v3/qos-specs/{}", vol_qos_delete, 0 },
    { "PUT", "/v3/qos-specs/{}/delete_keys", vol_qos_unset_keys, 0 },
    { "GET", "/v3/qos-specs/{}/associate", vol_qos_associate, 0 },
    { "GET", "/v3/qos-specs/{}/disassociate", vol_qos_disassociate, 0 },
    { "GET", "/v3/qos-specs/{}/disassociate_all", vol_qos_disassociate_all, 0 },
    { "GET", "/v3/qos-specs/{}/associations", vol_qos_associations, 0 },
    { "POST", "/v3/os-volume-transfer", vol_transfer_create, 0 },
    { "GET", "/v3/os-volume-transfer", vol_transfer_list, 0 },
    { "GET", "/v3/os-volume-transfer/detail", vol_transfer_list_detail, 0 },
    { "GET", "/v3/os-volume-transfer/{}", vol_transfer_show, 0 },
    { "DELETE", "/v3/os-volume-transfer/{}", vol_transfer_delete, 0 },
    { "POST", "/v3/os-volume-transfer/{}/accept", vol_transfer_accept, 0 },
    { "POST", "/v3/volume-transfers", vol_transfer2_create, 0 },
    { "GET", "/v3/volume-transfers", vol_transfer2_list, 0 },
    { "GET", "/v3/volume-transfers/detail", vol_transfer2_list_detail, 0 },
    { "GET", "/v3/volume-transfers/{}", vol_transfer2_show, 0 },
    { "DELETE", "/v3/volume-transfers/{}", vol_transfer2_delete, 0 },
    { "POST", "/v3/volume-transfers/{}/accept", vol_transfer2_accept, 0 },
    { "GET", "/v3/messages", vol_message_list, 0 },
    { "GET", "/v3/messages/{}", vol_message_show, 0 },
    { "DELETE", "/v3/messages/{}", vol_message_delete, 0 },
    { "GET", "/v3/os-services", vol_admin_service_list, 0 },
    { "PUT", "/v3/os-services/{}", vol_admin_service_action, 0 },
    { "GET", "/v3/os-hosts", vol_admin_host_list, 0 },
    { "GET", "/v3/os-hosts/{}", vol_admin_host_show, 0 },
    { "GET", "/v3/scheduler-stats/get_pools", vol_admin_pools, 0 },
    { "GET", "/v3/capabilities/{}", vol_admin_backend_capabilities, 0 },
    { "GET", "/v3/os-quota-class-sets/{}", vol_admin_quota_class_show, 0 },
    { "PUT", "/v3/os-quota-class-sets/{}", vol_admin_quota_class_update, 0 },
    { "POST", "/v3/backups", vol_backup_create, 0 },
    { "GET", "/v3/backups", vol_backup_list, 0 },
    { "GET", "/v3/backups/detail", vol_backup_list_detail, 0 },
    { "GET", "/v3/backups/{}", vol_backup_show, 0 },
    { "DELETE", "/v3/backups/{}", vol_backup_delete, 0 },
    { "PUT", "/v3/backups/{}", vol_backup_update, 0 },
    { "POST", "/v3/backups/{}/restore", vol_backup_restore, 0 },
    { "POST", "/v3/backups/{}/action", vol_backup_action, 0 },
    { "GET", "/v3/backups/{}/export_record", vol_backup_export, 0 },
    { "POST", "/v3/backups/import_record", vol_backup_import, 0 },
    { "POST", "/v3/group_types", vol_group_type_create, 0 },
    { "GET", "/v3/group_types", vol_group_type_list, 0 },
    { "GET", "/v3/group_types/{}", vol_group_type_show, 0 },
    { "PUT", "/v3/group_types/{}", vol_group_type_update, 0 },
    { "DELETE", "/v3/group_types/{}", vol_group_type_delete, 0 },
    { "GET", "/v3/group_types/{}/group_specs", vol_group_specs_get, 0 },
    { "POST", "/v3/group_types/{}/group_specs", vol_group_specs_set, 0 },
    { "GET", "/v3/group_types/{}/group_specs/{}", vol_group_spec_get, 0 },
    { "PUT", "/v3/group_types/{}/group_specs/{}", vol_group_spec_put, 0 },
    { "DELETE", "/v3/group_types/{}/group_specs/{}", vol_group_spec_delete, 0 },
    { "POST", "/v3/groups", vol_group_create, 0 },
    { "POST", "/v3/groups/action", vol_group_create_from_src, 0 },
    { "GET", "/v3/groups", vol_group_list, 0 },
    { "GET", "/v3/groups/detail", vol_group_list_detail, 0 },
    { "GET", "/v3/groups/{}", vol_group_show, 0 },
    { "PUT", "/v3/groups/{}", vol_group_update, 0 },
    { "POST", "/v3/groups/{}/action", vol_group_action, 0 },
    { "POST", "/v3/group_snapshots", vol_group_snapshot_create, 0 },
    { "GET", "/v3/group_snapshots", vol_group_snapshot_list, 0 },
    { "GET", "/v3/group_snapshots/detail", vol_group_snapshot_list_detail, 0 },
    { "GET", "/v3/group_snapshots/{}", vol_group_snapshot_show, 0 },
    { "DELETE", "/v3/group_snapshots/{}", vol_group_snapshot_delete, 0 },
    { "POST", "/v3/group_snapshots/{}/action", vol_group_snapshot_action, 0 },
    { "POST", "/v3/attachments", vol_attachment_create, 0 },
    { "GET", "/v3/attachments", vol_attachment_list, 0 },
    { "GET", "/v3/attachments/detail", vol_attachment_list_detail, 0 },
    { "GET", "/v3/attachments/{}", vol_attachment_show, 0 },
    { "PUT", "/v3/attachments/{}", vol_attachment_update, 0 },
    { "DELETE", "/v3/attachments/{}", vol_attachment_delete, 0 },
    { "POST", "/v3/attachments/{}/action", vol_attachment_action, 0 },
};

static const struct api_catalog_entry catalog[] = {
    { "block-storage", "cinder", "/volume/v3" },
    { "volumev3", "cinderv3", "/volume/v3" },
};
static const char *const depends[] = { "identity", "image", NULL };

const struct api_service api_volume_service = {
    .name = "volume",
    .prefix = "/volume",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_nova,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_IDENTITY | API_NEEDS_STORE, /* no block store: 503 */
    .depends = depends,
    .strict_slash = true,
    .init = volume_init,
    .fini = volume_fini,
};
