/* core/volumes: volumes. Each mutation is the three steps of volumes.h:
 * a store transaction to a transitional status (rules, quotas), the
 * block-store work, a store transaction to the final status; on a failure
 * in the middle the first step is undone. */
#include "core/volumes/vol_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const settable_status[] = { "available",       "error",       "in-use",
                                               "attaching",       "detaching",   "creating",
                                               "deleting",        "extending",   "error_deleting",
                                               "error_extending", "maintenance", "reserved",
                                               "error_restoring", NULL };

static bool in_list(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static uint64_t gib_up(uint64_t bytes)
{
    uint64_t g = (bytes + VOLUMES_GIB - 1) / VOLUMES_GIB;
    return g ? g : 1;
}

static int check_size(struct store_txn *t, struct volumes *v, const char *project, uint64_t gb)
{
    if (gb == 0 || gb > VOLUMES_MAX_GB)
        return vol_fail(-EINVAL, "Invalid input received: size must be 1 to %llu GiB.",
                        (unsigned long long)VOLUMES_MAX_GB);
    struct volumes_quota lim;
    int rc = vol_limits(t, v, project, &lim);
    if (rc == 0 && lim.v[VOLQ_PER_VOLUME_GIGABYTES] >= 0 &&
        (int64_t)gb > lim.v[VOLQ_PER_VOLUME_GIGABYTES])
        return vol_fail(-EDQUOT,
                        "Requested volume size %lluG is larger than maximum allowed "
                        "limit %lldG.",
                        (unsigned long long)gb, (long long)lim.v[VOLQ_PER_VOLUME_GIGABYTES]);
    return rc;
}

/* The source of a new volume: its block-store object, its size in GiB and
 * the fields the record keeps of it. */
struct source {
    char object[BLOCKSTORE_NAME_MAX + 1];
    uint64_t gb;
    bool is_volume; /* a disk: snapshot it first */
    bool bootable;
};

static int resolve_source(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                          const struct volume_create *req, struct source *src)
{
    memset(src, 0, sizeof *src);
    int n = !!req->snapshot_id + !!req->source_volid + !!req->image_id + !!req->backup_id;
    if (n > 1)
        return vol_fail(-EINVAL, "Invalid input received: at most one of snapshot_id, "
                                 "source_volid, imageRef and backup_id.");
    json_t *rec = NULL;
    int rc = 0;
    if (req->snapshot_id) {
        rc = vol_load(t, v, K_SNAPSHOT, req->snapshot_id, who, false, &rec);
        if (rc == 0 && strcmp(vol_str(rec, "status"), "available"))
            rc = vol_fail(-EBUSY, "Invalid snapshot: Originating snapshot status must be one "
                                  "of 'available' values");
        if (rc == 0) {
            volumes_object_name(src->object, "snapshot", req->snapshot_id);
            src->gb = (uint64_t)vol_int(rec, "size");
        }
    } else if (req->source_volid) {
        rc = vol_load(t, v, K_VOLUME, req->source_volid, who, false, &rec);
        if (rc == 0 &&
            !in_list(vol_str(rec, "status"), (const char *const[]){ "available", "in-use", NULL }))
            rc = vol_fail(-EBUSY, "Invalid volume: source volume status must be available "
                                  "or in-use.");
        if (rc == 0) {
            volumes_object_name(src->object, "volume", req->source_volid);
            src->gb = (uint64_t)vol_int(rec, "size");
            src->is_volume = true;
            src->bootable = !strcmp(vol_str(rec, "bootable") ?: "", "true");
        }
    } else if (req->backup_id) { /* an empty disk; the restore fills it */
        rc = vol_load(t, v, K_BACKUP, req->backup_id, who, false, &rec);
        if (rc == 0 && strcmp(vol_str(rec, "status"), "available"))
            rc = vol_fail(-EBUSY, "Invalid backup: Backup status must be available (it is %s).",
                          vol_str(rec, "status"));
        if (rc == 0)
            src->gb = (uint64_t)vol_int(rec, "size");
    } else if (req->image_id) {
        if (!req->image_object || !*req->image_object)
            return vol_fail(-EINVAL, "Image %s has no data to make a volume of.", req->image_id);
        snprintf(src->object, sizeof src->object, "%s", req->image_object);
        src->gb = gib_up(req->image_bytes);
        src->bootable = true;
    }
    json_decref(rec);
    return rc;
}

static int check_create(const struct volume_create *req)
{
    if (req->name && strlen(req->name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: name is longer than 255 characters.");
    if (req->description && strlen(req->description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: description is too long.");
    if (req->availability_zone && strcmp(req->availability_zone, VOLUMES_AZ))
        return vol_fail(-EINVAL, "Invalid input received: availability zone '%s' is invalid.",
                        req->availability_zone);
    if (!req->size_gb && !req->snapshot_id && !req->source_volid && !req->image_id &&
        !req->backup_id)
        return vol_fail(-EINVAL, "Invalid input received: a size is needed.");
    return vol_check_meta(req->metadata);
}

/* Builds the record (creating), in t (read is enough). */
static int build_record(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                        const struct volume_create *req, const struct source *src, uint64_t gb,
                        json_t **out)
{
    json_t *type;
    int rc = req->volume_type ? vol_type_find(t, v, req->volume_type, &type)
                              : vol_types_default(t, v, &type);
    if (rc < 0)
        return rc;
    if ((rc = vol_type_usable(type, who)) < 0 || /* a private type without access */
        (rc = vol_type_unencrypted(type)) < 0 ||
        (req->group_id &&
         (rc = vol_group_admits(t, v, who, req->group_id, vol_str(type, "id"))) < 0)) {
        json_decref(type);
        return rc;
    }
    char id[STORE_ID_LEN + 1], obj[64];
    store_new_id(id);
    json_t *r = vol_new_record(id, who);
    vol_set_str(r, "name", req->name);
    vol_set_str(r, "description", req->description);
    json_object_set_new(r, "size", json_integer((json_int_t)gb));
    vol_set_str(r, "status", "creating");
    json_object_set(r, "volume_type", json_object_get(type, "name"));
    json_object_set(r, "volume_type_id", json_object_get(type, "id"));
    vol_set_str(r, "availability_zone", VOLUMES_AZ);
    vol_set_str(r, "bootable", src->bootable ? "true" : "false");
    json_object_set_new(r, "multiattach", json_boolean(req->multiattach));
    json_object_set_new(r, "encrypted", json_false());
    json_object_set_new(r, "readonly", json_false());
    json_object_set_new(r, "metadata",
                        req->metadata ? json_deep_copy(req->metadata) : json_object());
    vol_set_str(r, "snapshot_id", req->snapshot_id);
    vol_set_str(r, "source_volid", req->source_volid);
    vol_set_str(r, "image_id", req->image_id);
    if (req->image_id) {
        json_t *meta = req->image_meta ? json_deep_copy(req->image_meta) : json_object();
        json_object_set_new(meta, "image_id", json_string(req->image_id));
        json_object_set_new(r, "volume_image_metadata", meta);
    }
    json_object_set_new(r, "attachments", json_array());
    vol_set_str(r, "group_id", req->group_id);
    volumes_object_name(obj, "volume", id);
    vol_priv_set(r, "object", obj);
    vol_priv_set(r, "op", "create");
    vol_priv_set(r, "source", src->object[0] ? src->object : NULL);
    if (src->is_volume)
        vol_priv_set(r, "source_is_volume", "1");
    vol_priv_set(r, "restore_from", req->backup_id);
    char why[256];
    if (!vol_backend_fits(type, why))
        vol_priv_set(r, "no_backend", why);
    json_decref(type);
    *out = r;
    return 0;
}

/* Takes the usage of record rec (volumes and GiB) and writes it, in t. */
static int charge_record(struct store_txn *t, struct volumes *v, const json_t *rec)
{
    const char *p = vol_str(rec, "project_id"), *group = vol_str(rec, "group_id");
    int rc = vol_usage_add(t, v, p, VOLQ_VOLUMES, 1, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_GIGABYTES, vol_int(rec, "size"), true);
    if (rc == 0)
        rc = vol_type_quota_check(t, v, p, vol_str(rec, "volume_type_id"), 1, vol_int(rec, "size"),
                                  0);
    /* the group may have gone meanwhile (a crash cannot leave a dangling
     * group_id: this is the transaction that writes the record) */
    json_t *g = NULL;
    if (rc == 0 && group && vol_get(t, v, K_GROUP, group, &g) < 0)
        rc = vol_fail(-ENOENT, "Group %s could not be found.", group);
    json_decref(g);
    return rc == 0 ? vol_put(t, v, K_VOLUME, rec) : rc;
}

/* Checks the request and builds its record, in t: the first step of both
 * creation paths. */
static int plan_create(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                       const struct volume_create *req, json_t **rec)
{
    struct source src;
    int rc = resolve_source(t, v, who, req, &src);
    uint64_t gb = req->size_gb ? req->size_gb : src.gb;
    if (rc == 0 && src.gb && gb < src.gb)
        rc = vol_fail(-EINVAL,
                      "Invalid input received: the volume size (%lluG) is smaller "
                      "than its source (%lluG).",
                      (unsigned long long)gb, (unsigned long long)src.gb);
    if (rc == 0)
        rc = check_size(t, v, who->project_id, gb);
    return rc == 0 ? build_record(t, v, who, req, &src, gb, rec) : rc;
}

/* Step two: the block-store object of volume rec (also redone by the
 * reconciliation when the object is missing but the source is there). */
int vol_make_object(struct volumes *v, const json_t *rec)
{
    const char *obj = vol_priv(rec, "object"), *src = vol_priv(rec, "source");
    uint64_t bytes = (uint64_t)vol_int(rec, "size") * VOLUMES_GIB;
    if (!src)
        return vol_bs_create(v, obj, bytes);
    int rc;
    char tmp[64];
    volumes_object_name(tmp, "clonesrc", vol_str(rec, "id"));
    if (vol_priv(rec, "source_is_volume")) {
        rc = vol_bs_snapshot(v, src, tmp);
        if (rc == 0)
            rc = vol_bs_clone(v, tmp, obj);
        int d = vol_bs_delete(v, tmp); /* its layer stays while read */
        if (rc == 0)
            rc = d;
    } else {
        rc = vol_bs_clone(v, src, obj);
    }
    uint64_t have = 0;
    if (rc == 0 && (rc = vol_bs_exists(v, obj, &have)) == 1)
        rc = have < bytes ? vol_bs_extend(v, obj, bytes) : 0;
    return rc;
}

/* Releases a volume record's usage in t. */
int vol_release_volume(struct store_txn *t, struct volumes *v, const json_t *rec)
{
    const char *p = vol_str(rec, "project_id");
    int64_t gb = vol_int(rec, "size");
    const char *to = vol_priv(rec, "extend_to");
    if (to) /* an extend in flight took the larger size */
        gb = strtoll(to, NULL, 10);
    int rc = vol_usage_add(t, v, p, VOLQ_VOLUMES, -1, false);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_GIGABYTES, -gb, false);
    return rc;
}

/* Undoes a creation: the record and its usage go (the object too). */
int vol_drop_creation(struct volumes *v, const char *id)
{
    char obj[64];
    volumes_object_name(obj, "volume", id);
    int rc = vol_bs_delete(v, obj);
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = vol_get(t, v, K_VOLUME, id, &rec);
    if (rc == 0)
        rc = vol_release_volume(t, v, rec);
    if (rc == 0)
        rc = vol_del(t, v, K_VOLUME, id);
    json_decref(rec);
    return vol_end(t, rc);
}

/* From a backup: three steps (a record in creating, the empty disk, the
 * restore's start), since the copy that follows needs a record to own it. */
static int create_for_restore(struct volumes *v, const struct volumes_caller *who,
                              const struct volume_create *req, json_t **out)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = plan_create(t, v, who, req, &rec);
    if (rc == 0)
        rc = charge_record(t, v, rec);
    if ((rc = vol_end(t, rc)) < 0) {
        json_decref(rec);
        return rc;
    }
    char id[STORE_ID_LEN + 1], why[512];
    snprintf(id, sizeof id, "%s", vol_str(rec, "id"));
    rc = vol_make_object(v, rec);
    json_decref(rec);
    if (rc == 0)
        rc = vol_restore_start(v, id, req->backup_id, out);
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", volumes_error());
        vol_drop_creation(v, id);
        return vol_fail(rc, "%s", why);
    }
    return 0;
}

/* No backend has what the type asks for: the record in error (its usage
 * taken, as Cinder counts it), no disk, and a user message, in one
 * transaction. */
static int create_in_error(struct volumes *v, const struct volume_create *req, json_t *rec,
                           json_t **out)
{
    char why[256];
    snprintf(why, sizeof why, "%s", vol_priv(rec, "no_backend"));
    vol_set_str(rec, "status", "error");
    vol_priv_set(rec, "op", NULL);
    vol_priv_set(rec, "source", NULL);
    vol_priv_set(rec, "source_is_volume", NULL);
    vol_priv_set(rec, "no_backend", NULL);
    char text[400];
    snprintf(text, sizeof text,
             "schedule allocate volume: Could not find any available weighted "
             "backend (%s).",
             why);
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc == 0) {
        rc = charge_record(t, v, rec);
        if (rc == 0)
            rc = vol_message_add(t, v, vol_str(rec, "project_id"), req->request_id,
                                 "VOLUME_VOLUME_001_002", "VOLUME", vol_str(rec, "id"), text);
        rc = vol_end(t, rc);
    }
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

/* Every other source: two durable commits. The checks run in a read
 * transaction, the block-store object is made, then one store transaction
 * checks the quotas again (atomically) and writes the record available.
 * A kill -9 between the two leaves an object no record names, which the
 * start-up reconciliation frees; nothing was acknowledged. */
int volume_create(struct volumes *v, const struct volumes_caller *who,
                  const struct volume_create *req, json_t **out)
{
    if (!who->can_write && !who->is_admin)
        return vol_fail(-EPERM, "Policy doesn't allow volume:create to be performed.");
    if (!who->project_id)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    int rc = check_create(req);
    if (rc < 0)
        return rc;
    if (req->backup_id)
        return create_for_restore(v, who, req, out);
    struct store_txn *t;
    json_t *rec = NULL;
    if ((rc = vol_begin(v, false, &t)) < 0)
        return rc;
    rc = plan_create(t, v, who, req, &rec);
    if (rc == 0)
        rc = vol_usage_fits(t, v, who->project_id, VOLQ_VOLUMES, 1);
    if (rc == 0)
        rc = vol_usage_fits(t, v, who->project_id, VOLQ_GIGABYTES, vol_int(rec, "size"));
    store_abort(t);
    if (rc < 0) {
        json_decref(rec);
        return rc;
    }
    if (vol_priv(rec, "no_backend"))
        return create_in_error(v, req, rec, out);
    char obj[64], why[512];
    snprintf(obj, sizeof obj, "%s", vol_priv(rec, "object"));
    rc = vol_make_object(v, rec);
    if (rc == 0) {
        vol_set_str(rec, "status", "available");
        vol_priv_set(rec, "op", NULL);
        vol_priv_set(rec, "source", NULL);
        vol_priv_set(rec, "source_is_volume", NULL);
        if ((rc = vol_begin(v, true, &t)) == 0)
            rc = vol_end(t, charge_record(t, v, rec));
    }
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", volumes_error());
        vol_bs_delete(v, obj);
        json_decref(rec);
        return vol_fail(rc, "%s", why);
    }
    if (out)
        *out = rec;
    else
        json_decref(rec);
    return 0;
}

int volume_get(struct volumes *v, const struct volumes_caller *who, const char *id, json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_VOLUME, id, who, false, out);
    store_abort(t);
    return rc;
}

/* Records of a kind the caller sees (all projects: admins only). */
int vol_list_visible(struct volumes *v, const char *kind, const struct volumes_caller *who,
                     bool all_projects, json_t **out)
{
    json_t *all;
    int rc = vol_all_read(v, kind, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        const char *owner = vol_str(x, "project_id");
        bool mine = who->project_id && owner && !strcmp(owner, who->project_id);
        if (mine || (who->is_admin && all_projects))
            json_array_append(*out, x);
    }
    json_decref(all);
    return 0;
}

int volume_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                json_t **out)
{
    return vol_list_visible(v, K_VOLUME, who, all_projects, out);
}

/* Loads volume id for a change in a write transaction: *t stays open. */
static int begin_change(struct volumes *v, const struct volumes_caller *who, const char *id,
                        struct store_txn **t, json_t **rec)
{
    int rc = vol_begin(v, true, t);
    if (rc < 0)
        return rc;
    rc = vol_load(*t, v, K_VOLUME, id, who, true, rec);
    if (rc < 0) {
        store_abort(*t);
        *t = NULL;
    }
    return rc;
}

/* Writes rec back and commits; *out gets it on success. */
static int end_change(struct store_txn *t, struct volumes *v, json_t *rec, int rc, json_t **out)
{
    if (rc == 0) {
        vol_touch(rec);
        rc = vol_put(t, v, K_VOLUME, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                  const json_t *changes, json_t **out)
{
    if (!json_is_object(changes))
        return vol_fail(-EINVAL, "Invalid input received: the update must be an object.");
    json_t *name = json_object_get(changes, "name"),
           *desc = json_object_get(changes, "description"),
           *meta = json_object_get(changes, "metadata"),
           *boot = json_object_get(changes, "bootable"), *ro = json_object_get(changes, "readonly");
    int rc = vol_check_text(name, "name", VOLUMES_NAME_MAX);
    if (rc == 0)
        rc = vol_check_text(desc, "description", VOLUMES_NAME_MAX);
    if (rc == 0 && meta)
        rc = json_is_null(meta) ? vol_fail(-EINVAL, "metadata must be an object.")
                                : vol_check_meta(meta);
    if (rc == 0 && ((boot && !json_is_boolean(boot)) || (ro && !json_is_boolean(ro))))
        rc = vol_fail(-EINVAL, "Invalid input received: bootable and readonly are booleans.");
    struct store_txn *t;
    json_t *rec;
    if (rc < 0 || (rc = begin_change(v, who, id, &t, &rec)) < 0)
        return rc;
    if (name)
        json_object_set(rec, "name", name);
    if (desc)
        json_object_set(rec, "description", desc);
    if (meta)
        json_object_set_new(rec, "metadata", json_deep_copy(meta));
    if (boot)
        vol_set_str(rec, "bootable", json_is_true(boot) ? "true" : "false");
    if (ro) { /* once set, Cinder shows the flag either way */
        json_object_set(rec, "readonly", ro);
        vol_priv_set(rec, "readonly_set", "1");
    }
    return end_change(t, v, rec, 0, out);
}

int volume_image_metadata_change(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const json_t *set, const char *unset, json_t **out)
{
    int rc = set ? vol_check_meta(set) : 0;
    struct store_txn *t;
    json_t *rec;
    if (rc < 0 || (rc = begin_change(v, who, id, &t, &rec)) < 0)
        return rc;
    json_t *m = json_object_get(rec, "volume_image_metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(rec, "volume_image_metadata", m);
    }
    if (set)
        json_object_update(m, (json_t *)set);
    if (unset && json_object_del(m, unset))
        rc = vol_fail(-ENOENT, "Volume %s has no image metadata key %s.", id, unset);
    json_t *copy = json_deep_copy(m);
    rc = end_change(t, v, rec, rc, NULL);
    if (rc == 0 && out)
        *out = copy;
    else
        json_decref(copy);
    return rc;
}

int volume_retype(struct volumes *v, const struct volumes_caller *who, const char *id,
                  const char *new_type)
{
    if (!new_type || !*new_type)
        return vol_fail(-EINVAL, "Invalid input received: new_type is needed.");
    struct store_txn *t;
    json_t *rec, *type = NULL;
    int rc = begin_change(v, who, id, &t, &rec);
    if (rc < 0)
        return rc;
    const char *st = vol_str(rec, "status");
    if (strcmp(st, "available") && strcmp(st, "in-use"))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: status must be available or in-use to retype "
                      "(it is %s).",
                      st);
    if (rc == 0)
        rc = vol_type_find(t, v, new_type, &type);
    if (rc == 0)
        rc = vol_type_usable(type, who);
    if (rc == 0)
        rc = vol_type_unencrypted(type);
    if (rc == 0 && strcmp(vol_str(type, "id"), vol_str(rec, "volume_type_id") ?: ""))
        rc = vol_type_quota_check(t, v, vol_str(rec, "project_id"), vol_str(type, "id"), 1,
                                  vol_int(rec, "size"), 0);
    if (rc == 0) { /* one backend: a new type changes no data */
        json_object_set(rec, "volume_type", json_object_get(type, "name"));
        json_object_set(rec, "volume_type_id", json_object_get(type, "id"));
    }
    json_decref(type);
    return end_change(t, v, rec, rc, NULL);
}

int volume_set_metadata(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *meta, bool replace, json_t **out)
{
    int rc = json_is_object(meta) ? vol_check_meta(meta)
                                  : vol_fail(-EINVAL, "metadata must be an object.");
    struct store_txn *t;
    json_t *rec;
    if (rc < 0 || (rc = begin_change(v, who, id, &t, &rec)) < 0)
        return rc;
    if (replace)
        json_object_set_new(rec, "metadata", json_deep_copy(meta));
    else
        json_object_update(json_object_get(rec, "metadata"), (json_t *)meta);
    json_t *m = NULL;
    rc = end_change(t, v, rec, 0, &m);
    if (rc == 0 && out)
        *out = json_incref(json_object_get(m, "metadata"));
    json_decref(m);
    return rc;
}

int volume_delete_metadata(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *key)
{
    struct store_txn *t;
    json_t *rec;
    int rc = begin_change(v, who, id, &t, &rec);
    if (rc < 0)
        return rc;
    if (json_object_del(json_object_get(rec, "metadata"), key))
        rc = vol_fail(-ENOENT, "Volume %s has no metadata key %s.", id, key);
    return end_change(t, v, rec, rc, NULL);
}

/* Ends an extend: the new size (or, undone, the old one with its usage
 * given back), the status it had before (available or in-use). */
int vol_extend_finish(struct volumes *v, const char *id, bool done)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc == 0)
        rc = vol_get(t, v, K_VOLUME, id, &rec);
    const char *to = rc == 0 ? vol_priv(rec, "extend_to") : NULL;
    if (rc == 0 && to) {
        int64_t target = strtoll(to, NULL, 10);
        if (done)
            json_object_set_new(rec, "size", json_integer(target));
        else
            rc = vol_usage_add(t, v, vol_str(rec, "project_id"), VOLQ_GIGABYTES,
                               vol_int(rec, "size") - target, false);
    }
    if (rc == 0) {
        const char *from = vol_priv(rec, "extend_from");
        vol_set_str(rec, "status", from && !strcmp(from, "in-use") ? "in-use" : "available");
        vol_priv_set(rec, "extend_to", NULL);
        vol_priv_set(rec, "extend_from", NULL);
        vol_priv_set(rec, "op", NULL);
        vol_touch(rec);
        rc = vol_put(t, v, K_VOLUME, rec);
    }
    json_decref(rec);
    return t ? vol_end(t, rc) : rc;
}

/* The process-wide hook (v NULL): the compute service has its own handle
 * on the model, the volume API another; both must reach the same VMMs. */
static volumes_resize_fn any_resize;
static void *any_resize_ctx;

void volumes_set_resize_hook(struct volumes *v, volumes_resize_fn fn, void *ctx)
{
    if (!v) {
        any_resize = fn;
        any_resize_ctx = ctx;
        return;
    }
    v->resize = fn;
    v->resize_ctx = ctx;
}

/* v's hook, else the process-wide one (NULL: none). */
static volumes_resize_fn resize_hook(const struct volumes *v, void **ctx)
{
    *ctx = v->resize ? v->resize_ctx : any_resize_ctx;
    return v->resize ? v->resize : any_resize;
}

/* Step one of an extend, in t: the rules, the usage, status extending. */
static int extend_rules(struct store_txn *t, struct volumes *v, json_t *rec, uint64_t new_gb,
                        unsigned flags)
{
    int64_t old = vol_int(rec, "size");
    const char *st = vol_str(rec, "status");
    bool attached = (flags & VOLUME_EXTEND_ATTACHED) && !strcmp(st, "in-use");
    int rc = 0;
    if (strcmp(st, "available") && !attached)
        rc = vol_fail(-EBUSY, "Invalid volume: Volume status must be '%s' to extend, currently %s.",
                      flags & VOLUME_EXTEND_ATTACHED ? "available or in-use" : "available", st);
    else if ((int64_t)new_gb <= old)
        rc = vol_fail(-EINVAL,
                      "Invalid input received: New size for extend must be greater "
                      "than current size. (current: %lld, extended: %llu).",
                      (long long)old, (unsigned long long)new_gb);
    if (rc == 0)
        rc = check_size(t, v, vol_str(rec, "project_id"), new_gb);
    if (rc == 0)
        rc = vol_usage_add(t, v, vol_str(rec, "project_id"), VOLQ_GIGABYTES, (int64_t)new_gb - old,
                           true);
    if (rc == 0)
        rc = vol_type_quota_check(t, v, vol_str(rec, "project_id"), vol_str(rec, "volume_type_id"),
                                  0, (int64_t)new_gb - old, 0);
    char to[24];
    snprintf(to, sizeof to, "%llu", (unsigned long long)new_gb);
    vol_priv_set(rec, "extend_from", st); /* before st's string is replaced */
    vol_set_str(rec, "status", "extending");
    vol_priv_set(rec, "op", "extend");
    vol_priv_set(rec, "extend_to", to);
    return rc;
}

/* Tells the compute service about each attached server (in-use extend). */
static int tell_servers(struct volumes *v, const char *id, const json_t *attachments,
                        uint64_t bytes)
{
    char obj[64], why[256];
    volumes_object_name(obj, "volume", id);
    void *hook_ctx;
    volumes_resize_fn hook = resize_hook(v, &hook_ctx);
    size_t i;
    json_t *x;
    json_array_foreach (attachments, i, x) {
        json_t *a = NULL;
        struct store_txn *t;
        int rc = vol_begin(v, false, &t);
        if (rc == 0) {
            rc = vol_get(t, v, K_ATTACHMENT, json_string_value(x), &a);
            store_abort(t);
        }
        const char *server = rc == 0 ? vol_str(a, "instance") : NULL;
        why[0] = '\0';
        if (rc == 0 && server && !strcmp(vol_str(a, "status") ?: "", "attached"))
            rc = hook(hook_ctx, id, server, obj, bytes, why);
        if (rc < 0 && rc != -ENOENT) {
            rc = vol_fail(rc,
                          "Volume %s was extended to %llu bytes, but server %s was not told: "
                          "%s",
                          id, (unsigned long long)bytes, server ? server : "?",
                          why[0] ? why : strerror(-rc));
            json_decref(a);
            return rc;
        }
        json_decref(a);
    }
    return 0;
}

int volume_extend(struct volumes *v, const struct volumes_caller *who, const char *id,
                  uint64_t new_gb, unsigned flags)
{
    struct store_txn *t;
    json_t *rec;
    int rc = begin_change(v, who, id, &t, &rec);
    if (rc < 0)
        return rc;
    rc = extend_rules(t, v, rec, new_gb, flags);
    json_t *atts = json_incref(json_object_get(rec, "attachments"));
    bool attached = !strcmp(vol_priv(rec, "extend_from") ?: "", "in-use");
    if ((rc = end_change(t, v, rec, rc, NULL)) < 0) {
        json_decref(atts);
        return rc;
    }
    char obj[64], why[512];
    volumes_object_name(obj, "volume", id);
    rc = vol_bs_extend(v, obj, new_gb * VOLUMES_GIB);
    /* -EBUSY: a running VMM writes the disk (handed over); only its owner,
     * through the hook, may grow it: the store and the VMM together. */
    void *hook_ctx;
    bool hooked = resize_hook(v, &hook_ctx) != NULL;
    bool by_hook = rc == -EBUSY && attached && hooked;
    if (by_hook)
        rc = tell_servers(v, id, atts, new_gb * VOLUMES_GIB);
    snprintf(why, sizeof why, "%s", volumes_error());
    int f = vol_extend_finish(v, id, rc == 0);
    if (rc == 0 && f == 0 && attached && hooked && !by_hook)
        f = tell_servers(v, id, atts, new_gb * VOLUMES_GIB);
    json_decref(atts);
    if (rc < 0)
        return vol_fail(rc, "%s", why);
    return f;
}

/* Snapshots of a volume, in t. */
int vol_snapshots_of(struct store_txn *t, struct volumes *v, const char *volume_id, json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_SNAPSHOT, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (!strcmp(vol_str(x, "volume_id"), volume_id))
            json_array_append(*out, x);
    json_decref(all);
    return 0;
}

static const char *const deletable[] = { "available",       "error",          "error_restoring",
                                         "error_extending", "error_deleting", NULL };

/* Rules of a delete, in t: snapshots (cascade: marked deleting), backups
 * running, volumes being made from it. Backups' bases on it are dropped. */
static int delete_rules(struct store_txn *t, struct volumes *v, json_t *rec, unsigned flags)
{
    const char *id = vol_str(rec, "id");
    bool force = flags & VOLUME_FORCE;
    if (!force && !in_list(vol_str(rec, "status"), deletable))
        return vol_fail(-EBUSY, "Invalid volume: Volume status must be available or error or "
                                "error_restoring or error_extending or error_managing and must "
                                "not be migrating, attached, belong to a group, have snapshots "
                                "or be disassociated from snapshots after volume transfer.");
    if (!force && json_array_size(json_object_get(rec, "attachments")))
        return vol_fail(-EBUSY, "Invalid volume: Volume is attached.");
    json_t *snaps, *list;
    int rc = vol_transfers_drop(t, v, id); /* only a forced delete meets one */
    if (rc == 0)
        rc = vol_snapshots_of(t, v, id, &snaps);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    if (json_array_size(snaps) && !(flags & VOLUME_CASCADE))
        rc = vol_fail(-EBUSY, "Invalid volume: Volume still has %zu dependent snapshots.",
                      json_array_size(snaps));
    json_array_foreach (snaps, i, x) {
        if (rc < 0)
            break;
        vol_set_str(x, "status", "deleting");
        vol_priv_set(x, "op", "delete");
        rc = vol_put(t, v, K_SNAPSHOT, x);
    }
    json_decref(snaps);
    if (rc == 0 && (rc = vol_all(t, v, K_BACKUP, &list)) == 0) {
        json_array_foreach (list, i, x) {
            if (rc < 0 || strcmp(vol_str(x, "volume_id"), id))
                continue;
            if (!strcmp(vol_str(x, "status"), "creating") ||
                !strcmp(vol_str(x, "status"), "restoring"))
                rc = vol_fail(-EBUSY, "Invalid volume: a backup of it is in progress.");
            else if (vol_priv(x, "base")) { /* the base of the next incremental: useless now */
                vol_priv_set(x, "base", NULL);
                rc = vol_put(t, v, K_BACKUP, x);
            }
        }
        json_decref(list);
    }
    if (rc == 0 && (rc = vol_all(t, v, K_VOLUME, &list)) == 0) {
        json_array_foreach (list, i, x)
            if (!strcmp(vol_str(x, "status"), "creating") && vol_str(x, "source_volid") &&
                !strcmp(vol_str(x, "source_volid"), id))
                rc = vol_fail(-EBUSY, "Invalid volume: a volume is being made from it.");
        json_decref(list);
    }
    return rc;
}

/* The block-store side of a delete and its last transaction (also what
 * the reconciliation runs for a volume left in deleting). */
int vol_delete_finish(struct volumes *v, const char *id)
{
    struct store_txn *t;
    json_t *snaps = NULL, *rec = NULL;
    char obj[64];
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_snapshots_of(t, v, id, &snaps);
    store_abort(t);
    size_t i;
    json_t *x;
    json_array_foreach (snaps, i, x) {
        volumes_object_name(obj, "snapshot", vol_str(x, "id"));
        if (rc == 0)
            rc = vol_bs_delete(v, obj);
    }
    volumes_object_name(obj, "volume", id);
    if (rc == 0)
        rc = vol_bs_delete(v, obj);
    if (rc == 0)
        rc = vol_begin(v, true, &t);
    if (rc < 0) {
        json_decref(snaps);
        return rc;
    }
    rc = vol_get(t, v, K_VOLUME, id, &rec);
    json_array_foreach (snaps, i, x) {
        if (rc < 0)
            break;
        const char *p = vol_str(x, "project_id");
        rc = vol_usage_add(t, v, p, VOLQ_SNAPSHOTS, -1, false);
        if (rc == 0)
            rc = vol_usage_add(t, v, p, VOLQ_GIGABYTES, -vol_int(x, "size"), false);
        if (rc == 0)
            rc = vol_del(t, v, K_SNAPSHOT, vol_str(x, "id"));
    }
    json_t *att = json_object_get(rec, "attachments");
    json_array_foreach (att, i, x)
        if (rc == 0) {
            rc = vol_del(t, v, K_ATTACHMENT, json_string_value(x));
            rc = rc == -ENOENT ? 0 : rc;
        }
    if (rc == 0)
        rc = vol_release_volume(t, v, rec);
    if (rc == 0)
        rc = vol_del(t, v, K_VOLUME, id);
    json_decref(rec);
    json_decref(snaps);
    return vol_end(t, rc);
}

int volume_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                  unsigned flags)
{
    if ((flags & VOLUME_FORCE) && !who->is_admin)
        return vol_need_admin_on(v, who, K_VOLUME, id,
                                 "volume_extension:volume_admin_actions:force_delete");
    struct store_txn *t;
    json_t *rec;
    int rc = begin_change(v, who, id, &t, &rec);
    if (rc < 0)
        return rc;
    rc = delete_rules(t, v, rec, flags);
    vol_set_str(rec, "status", "deleting");
    vol_priv_set(rec, "op", "delete");
    if ((rc = end_change(t, v, rec, rc, NULL)) < 0)
        return rc;
    return vol_delete_finish(v, id);
}

int volume_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const char *status, const char *attach_status)
{
    int rc = vol_need_admin_on(v, who, K_VOLUME, id,
                               "volume_extension:volume_admin_actions:reset_status");
    if (rc == 0 && status && !in_list(status, settable_status))
        rc = vol_fail(-EINVAL, "Invalid input received: status '%s' is not allowed.", status);
    if (rc == 0 && attach_status && strcmp(attach_status, "attached") &&
        strcmp(attach_status, "detached"))
        rc = vol_fail(-EINVAL, "Invalid input received: attach_status '%s' is not allowed.",
                      attach_status);
    if (rc == 0 && !status && !attach_status)
        rc = vol_fail(-EINVAL, "Invalid input received: Must specify 'status' or "
                               "'attach_status'.");
    struct store_txn *t;
    json_t *rec;
    if (rc < 0 || (rc = begin_change(v, who, id, &t, &rec)) < 0)
        return rc;
    if (status)
        vol_set_str(rec, "status", status);
    if (attach_status && !strcmp(attach_status, "detached")) {
        size_t i;
        json_t *x;
        json_array_foreach (json_object_get(rec, "attachments"), i, x) {
            int d = vol_del(t, v, K_ATTACHMENT, json_string_value(x));
            if (d < 0 && d != -ENOENT)
                rc = d;
        }
        json_object_set_new(rec, "attachments", json_array());
    }
    return end_change(t, v, rec, rc, NULL);
}

int volume_upload_image(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const char *object, bool force, uint64_t *bytes)
{
    json_t *rec;
    int rc = volume_get(v, who, id, &rec);
    if (rc < 0)
        return rc;
    const char *st = vol_str(rec, "status");
    if (!who->can_write && !who->is_admin)
        rc = vol_fail(-EPERM, "Policy doesn't allow volume:upload_image to be performed.");
    else if (strcmp(st, "available") && !(force && !strcmp(st, "in-use")))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: Volume status must be available or in-use "
                      "(with force) to upload it (it is %s).",
                      st);
    else if (!object || !strchr(object, '-') || !strncmp(object, "volume-", 7) ||
             !strncmp(object, "snapshot-", 9) || !strncmp(object, "backup-", 7))
        rc = vol_fail(-EINVAL, "'%s' is not an image object name.", object ? object : "");
    char obj[64];
    volumes_object_name(obj, "volume", id);
    if (rc == 0)
        rc = vol_bs_snapshot(v, obj, object);
    if (rc == 0 && bytes)
        *bytes = (uint64_t)vol_int(rec, "size") * VOLUMES_GIB;
    json_decref(rec);
    return rc;
}
