/* core/volumes: snapshots, as block-store snapshots "snapshot-ID" of the
 * volume's disk (constant time). Same three steps as volumes. */
#include "core/volumes/vol_internal.h"

#include <string.h>

/* The last step of a delete (and the undo of a creation): object, record
 * and usage go. */
int vol_snapshot_drop(struct volumes *v, const char *id)
{
    char obj[64];
    volumes_object_name(obj, "snapshot", id);
    int rc = vol_bs_delete(v, obj);
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = vol_get(t, v, K_SNAPSHOT, id, &rec);
    const char *p = vol_str(rec, "project_id");
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_SNAPSHOTS, -1, false);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_GIGABYTES, -vol_int(rec, "size"), false);
    if (rc == 0)
        rc = vol_del(t, v, K_SNAPSHOT, id);
    json_decref(rec);
    return vol_end(t, rc);
}

/* The volume a snapshot is asked of, checked (write access, status), in
 * t: its size in *gb and its project (the snapshot's owner) in project. */
static int check_volume(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                        const struct volume_snapshot_create *req, int64_t *gb,
                        char project[STORE_MAX_KEY])
{
    json_t *vol;
    int rc = vol_load(t, v, K_VOLUME, req->volume_id, who, true, &vol);
    if (rc < 0)
        return rc;
    const char *st = vol_str(vol, "status");
    if (strcmp(st, "available") && !(req->force && !strcmp(st, "in-use")))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: Volume %s status must be available%s, but "
                      "current status is: %s.",
                      req->volume_id, req->force ? " or in-use" : "", st);
    *gb = vol_int(vol, "size");
    snprintf(project, STORE_MAX_KEY, "%s", vol_str(vol, "project_id") ?: "");
    json_decref(vol);
    return rc;
}

/* The record (available) of a new snapshot, after the checks, in t (read). */
static int plan(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                const struct volume_snapshot_create *req, json_t **out)
{
    int64_t gb;
    char p[STORE_MAX_KEY];
    int rc = check_volume(t, v, who, req, &gb, p);
    if (rc == 0)
        rc = vol_usage_fits(t, v, p, VOLQ_SNAPSHOTS, 1);
    if (rc == 0)
        rc = vol_usage_fits(t, v, p, VOLQ_GIGABYTES, gb);
    if (rc < 0)
        return rc;
    char id[STORE_ID_LEN + 1], obj[64];
    store_new_id(id);
    json_t *r = vol_new_record(id, who);
    vol_set_str(r, "project_id", p); /* an admin's snapshot belongs with its volume */
    vol_set_str(r, "name", req->name);
    vol_set_str(r, "description", req->description);
    vol_set_str(r, "volume_id", req->volume_id);
    json_object_set_new(r, "size", json_integer(gb));
    vol_set_str(r, "status", "available");
    json_object_set_new(r, "metadata",
                        req->metadata ? json_deep_copy(req->metadata) : json_object());
    volumes_object_name(obj, "snapshot", id);
    vol_priv_set(r, "object", obj);
    vol_priv_set(r, "group_snapshot", req->group_snapshot_id);
    *out = r;
    return 0;
}

/* The volume checked again (it may have changed meanwhile), the usage
 * taken and the record written, in t. */
static int commit_record(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                         const struct volume_snapshot_create *req, const json_t *rec)
{
    int64_t gb;
    char p[STORE_MAX_KEY];
    int rc = check_volume(t, v, who, req, &gb, p);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_SNAPSHOTS, 1, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_GIGABYTES, vol_int(rec, "size"), true);
    json_t *vol = NULL;
    if (rc == 0 && vol_get(t, v, K_VOLUME, req->volume_id, &vol) == 0)
        rc = vol_type_quota_check(t, v, p, vol_str(vol, "volume_type_id"), 0, vol_int(rec, "size"),
                                  1);
    json_decref(vol);
    return rc == 0 ? vol_put(t, v, K_SNAPSHOT, rec) : rc;
}

/* Two durable commits: checks in a read transaction, the block-store
 * snapshot, then one store transaction that checks again and writes the
 * record available. A kill -9 between the two leaves an object no record
 * names, which the start-up reconciliation frees (never acknowledged). */
int volume_snapshot_create(struct volumes *v, const struct volumes_caller *who,
                           const struct volume_snapshot_create *req, json_t **out)
{
    if (!req->volume_id)
        return vol_fail(-EINVAL, "Invalid input received: volume_id is needed.");
    if (req->name && strlen(req->name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: name is too long.");
    if (req->description && strlen(req->description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: description is too long.");
    int rc = vol_check_meta(req->metadata);
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, false, &t)) < 0)
        return rc;
    rc = plan(t, v, who, req, &rec);
    store_abort(t);
    if (rc < 0)
        return rc;
    char vobj[64], obj[64], why[512];
    volumes_object_name(vobj, "volume", req->volume_id);
    snprintf(obj, sizeof obj, "%s", vol_priv(rec, "object"));
    rc = vol_bs_snapshot(v, vobj, obj);
    if (rc == 0 && (rc = vol_begin(v, true, &t)) == 0)
        rc = vol_end(t, commit_record(t, v, who, req, rec));
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

int volume_snapshot_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                        json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_SNAPSHOT, id, who, false, out);
    store_abort(t);
    return rc;
}

int volume_snapshot_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                         json_t **out)
{
    return vol_list_visible(v, K_SNAPSHOT, who, all_projects, out);
}

/* changes (name, description, metadata), meta merged or replacing, or
 * metadata key del_key removed (-ENOENT when absent). */
static int change(struct volumes *v, const struct volumes_caller *who, const char *id,
                  const json_t *changes, const json_t *meta, bool replace, const char *del_key,
                  json_t **out)
{
    struct store_txn *t;
    json_t *rec;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_load(t, v, K_SNAPSHOT, id, who, true, &rec)) < 0) {
        store_abort(t);
        return rc;
    }
    const char *k;
    json_t *x;
    json_object_foreach ((json_t *)changes, k, x)
        if (!strcmp(k, "name") || !strcmp(k, "description"))
            json_object_set(rec, k, x);
        else if (!strcmp(k, "metadata"))
            json_object_set_new(rec, k, json_deep_copy(x));
    if (meta && replace)
        json_object_set_new(rec, "metadata", json_deep_copy(meta));
    else if (meta)
        json_object_update(json_object_get(rec, "metadata"), (json_t *)meta);
    if (del_key && json_object_del(json_object_get(rec, "metadata"), del_key))
        rc = vol_fail(-ENOENT, "Snapshot %s has no metadata key %s.", id, del_key);
    vol_touch(rec);
    rc = vol_end(t, rc < 0 ? rc : vol_put(t, v, K_SNAPSHOT, rec));
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_snapshot_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const json_t *changes, json_t **out)
{
    if (!json_is_object(changes))
        return vol_fail(-EINVAL, "Invalid input received: the update must be an object.");
    int rc = vol_check_text(json_object_get(changes, "name"), "name", VOLUMES_NAME_MAX);
    if (rc == 0)
        rc = vol_check_text(json_object_get(changes, "description"), "description",
                            VOLUMES_NAME_MAX);
    json_t *meta = json_object_get(changes, "metadata");
    if (rc == 0 && meta)
        rc = json_is_object(meta) ? vol_check_meta(meta)
                                  : vol_fail(-EINVAL, "metadata must be an object.");
    return rc < 0 ? rc : change(v, who, id, changes, NULL, false, NULL, out);
}

int volume_snapshot_set_metadata(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const json_t *meta, bool replace, json_t **out)
{
    int rc = json_is_object(meta) ? vol_check_meta(meta)
                                  : vol_fail(-EINVAL, "metadata must be an object.");
    json_t *rec = NULL;
    if (rc == 0)
        rc = change(v, who, id, NULL, meta, replace, NULL, &rec);
    if (rc == 0 && out)
        *out = json_incref(json_object_get(rec, "metadata"));
    json_decref(rec);
    return rc;
}

int volume_snapshot_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                           bool force)
{
    if (force && !who->is_admin)
        return vol_need_admin_on(v, who, K_SNAPSHOT, id, "snapshot force delete");
    struct store_txn *t;
    json_t *rec, *vols = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_load(t, v, K_SNAPSHOT, id, who, true, &rec)) < 0) {
        store_abort(t);
        return rc;
    }
    const char *st = vol_str(rec, "status");
    if (!force && strcmp(st, "available") && strcmp(st, "error") && strcmp(st, "error_deleting"))
        rc = vol_fail(-EBUSY,
                      "Invalid snapshot: Snapshot status must be available or error "
                      "(it is %s).",
                      st);
    if (rc == 0)
        rc = vol_all(t, v, K_VOLUME, &vols);
    size_t i;
    json_t *x;
    json_array_foreach (vols, i, x)
        if (rc == 0 && !strcmp(vol_str(x, "status"), "creating") && vol_str(x, "snapshot_id") &&
            !strcmp(vol_str(x, "snapshot_id"), id))
            rc = vol_fail(-EBUSY, "Invalid snapshot: a volume is being made from it.");
    json_decref(vols);
    vol_set_str(rec, "status", "deleting");
    vol_priv_set(rec, "op", "delete");
    if (rc == 0)
        rc = vol_put(t, v, K_SNAPSHOT, rec);
    json_decref(rec);
    if ((rc = vol_end(t, rc)) < 0)
        return rc;
    return vol_snapshot_drop(v, id);
}

int volume_snapshot_reset_status(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const char *status)
{
    int rc = vol_need_admin_on(v, who, K_SNAPSHOT, id, "snapshot reset_status");
    static const char *const ok[] = { "available", "error",          "creating",
                                      "deleting",  "error_deleting", NULL };
    bool good = false;
    for (int i = 0; status && ok[i]; i++)
        good |= !strcmp(status, ok[i]);
    if (rc == 0 && !good)
        rc = vol_fail(-EINVAL, "Invalid input received: status '%s' is not allowed.",
                      status ? status : "");
    struct store_txn *t;
    json_t *rec;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    if ((rc = vol_load(t, v, K_SNAPSHOT, id, who, true, &rec)) < 0) {
        store_abort(t);
        return rc;
    }
    vol_set_str(rec, "status", status);
    vol_touch(rec);
    rc = vol_put(t, v, K_SNAPSHOT, rec);
    json_decref(rec);
    return vol_end(t, rc);
}

int volume_snapshot_delete_metadata(struct volumes *v, const struct volumes_caller *who,
                                    const char *id, const char *key)
{
    return change(v, who, id, NULL, NULL, false, key, NULL);
}

int volume_snapshot_update_status(struct volumes *v, const struct volumes_caller *who,
                                  const char *id, const char *status, const char *progress)
{
    if (!status)
        return vol_fail(-EINVAL, "Invalid input received: a status is needed.");
    if (progress && strlen(progress) > 16)
        return vol_fail(-EINVAL, "Invalid input received: progress is too long.");
    struct store_txn *t;
    json_t *rec;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_load(t, v, K_SNAPSHOT, id, who, true, &rec)) < 0) {
        store_abort(t);
        return rc;
    }
    /* Cinder's driver-side transitions only */
    const char *cur = vol_str(rec, "status");
    bool ok =
        (!strcmp(cur, "creating") && (!strcmp(status, "available") || !strcmp(status, "error"))) ||
        (!strcmp(cur, "deleting") && !strcmp(status, "error_deleting"));
    if (!ok)
        rc = vol_fail(-EINVAL, "Invalid input received: a snapshot in %s cannot go to %s.", cur,
                      status);
    if (rc == 0) {
        vol_set_str(rec, "status", status);
        vol_priv_set(rec, "progress", progress);
        vol_touch(rec);
        rc = vol_put(t, v, K_SNAPSHOT, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}
