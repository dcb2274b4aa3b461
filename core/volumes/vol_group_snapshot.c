/* core/volumes: group snapshots (Cinder 3.14+): one snapshot of every
 * volume in a group, each an ordinary snapshot (its quota, its block-store
 * object) that names the group snapshot privately. Same shape as groups:
 * a transitional status, the per-snapshot calls, a final status. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static int not_found(const char *id)
{
    return vol_fail(-ENOENT, "GroupSnapshot %s could not be found.", id);
}

/* Ids of group snapshot id's member snapshots (a new array), in t. */
static int members_of(struct store_txn *t, struct volumes *v, const char *id, json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_SNAPSHOT, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        const char *gs = vol_priv(x, "group_snapshot");
        if (gs && !strcmp(gs, id))
            json_array_append(*out, json_object_get(x, "id"));
    }
    json_decref(all);
    return 0;
}

/* Checks the group and writes the record (creating), in t; *vols: the
 * group's volumes to snapshot. */
static int begin_create(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                        const struct volume_group_snapshot_create *req, json_t *rec, json_t **vols)
{
    json_t *g = NULL, *all = NULL;
    int rc = vol_load(t, v, K_GROUP, req->group_id, who, true, &g);
    if (rc == -ENOENT)
        return vol_fail(-ENOENT, "Group %s could not be found.", req->group_id);
    if (rc < 0)
        return rc;
    if (strcmp(vol_str(g, "status"), "available"))
        rc = vol_fail(-EINVAL,
                      "Invalid group: Group %s status must be available, but current "
                      "status is: %s.",
                      req->group_id, vol_str(g, "status"));
    if (rc == 0)
        rc = vol_all(t, v, K_VOLUME, &all);
    *vols = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        const char *gid = vol_str(x, "group_id"), *st = vol_str(x, "status");
        if (rc < 0 || !gid || strcmp(gid, req->group_id))
            continue;
        if (strcmp(st, "available") && strcmp(st, "in-use"))
            rc = vol_fail(-EINVAL, "Invalid volume: Volume %s in group %s is %s.", vol_str(x, "id"),
                          req->group_id, st);
        json_array_append(*vols, json_object_get(x, "id"));
    }
    if (rc == 0 && !json_array_size(*vols))
        rc = vol_fail(-EINVAL, "Invalid group: Group %s contains no volumes.", req->group_id);
    if (rc == 0) {
        vol_set_str(rec, "project_id", vol_str(g, "project_id")); /* with its group */
        vol_set_str(rec, "group_id", req->group_id);
        json_object_set(rec, "group_type_id", json_object_get(g, "group_type"));
        rc = vol_put(t, v, K_GROUP_SNAPSHOT, rec);
    }
    json_decref(g);
    json_decref(all);
    return rc;
}

static int set_status(struct volumes *v, const char *id, const char *status)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_get(t, v, K_GROUP_SNAPSHOT, id, &rec)) == 0) {
        vol_set_str(rec, "status", status);
        vol_touch(rec);
        rc = vol_put(t, v, K_GROUP_SNAPSHOT, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}

/* Undoes a failed creation: the member snapshots made and the record. */
static void undo_create(struct volumes *v, const char *id)
{
    struct store_txn *t;
    json_t *made = NULL;
    if (vol_begin(v, false, &t) < 0)
        return;
    int rc = members_of(t, v, id, &made);
    store_abort(t);
    size_t i;
    json_t *x;
    json_array_foreach (made, i, x)
        if (rc == 0)
            rc = vol_snapshot_drop(v, json_string_value(x));
    json_decref(made);
    if (rc == 0 && vol_begin(v, true, &t) == 0)
        vol_end(t, vol_del(t, v, K_GROUP_SNAPSHOT, id));
}

int volume_group_snapshot_create(struct volumes *v, const struct volumes_caller *who,
                                 const struct volume_group_snapshot_create *req, json_t **out)
{
    if (!req->group_id)
        return vol_fail(-EINVAL, "Invalid input received: group_id is needed.");
    if (req->name && strlen(req->name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: name is too long.");
    if (req->description && strlen(req->description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: description is too long.");
    if (!who->project_id && !who->is_admin)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *rec = vol_new_record(id, who), *vols = NULL;
    vol_set_str(rec, "name", req->name);
    vol_set_str(rec, "description", req->description);
    vol_set_str(rec, "status", "creating");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc == 0)
        rc = vol_end(t, begin_create(t, v, who, req, rec, &vols));
    json_decref(rec);
    size_t i;
    json_t *x;
    char name[80];
    snprintf(name, sizeof name, "group-snapshot-%s", id);
    json_array_foreach (vols, i, x) {
        struct volume_snapshot_create s = {
            .volume_id = json_string_value(x), .name = name, .force = true, .group_snapshot_id = id
        };
        if (rc == 0)
            rc = volume_snapshot_create(v, who, &s, NULL);
    }
    json_decref(vols);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", volumes_error());
        undo_create(v, id);
        return vol_fail(rc, "%s", why);
    }
    if ((rc = set_status(v, id, "available")) < 0)
        return rc;
    return out ? volume_group_snapshot_get(v, who, id, out) : 0;
}

int volume_group_snapshot_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                              json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_GROUP_SNAPSHOT, id, who, false, out);
    store_abort(t);
    return rc == -ENOENT ? not_found(id) : rc;
}

int volume_group_snapshot_list(struct volumes *v, const struct volumes_caller *who,
                               bool all_projects, json_t **out)
{
    return vol_list_visible(v, K_GROUP_SNAPSHOT, who, all_projects, out);
}

int volume_group_snapshot_delete(struct volumes *v, const struct volumes_caller *who,
                                 const char *id)
{
    struct store_txn *t;
    json_t *rec = NULL, *members = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_GROUP_SNAPSHOT, id, who, true, &rec);
    if (rc == -ENOENT)
        rc = not_found(id);
    const char *st = rc == 0 ? vol_str(rec, "status") : "";
    if (rc == 0 && strcmp(st, "available") && strcmp(st, "error") && strcmp(st, "error_deleting"))
        rc = vol_fail(-EINVAL,
                      "Invalid group snapshot: Group snapshot status must be "
                      "available or error, and no member can be in use (it is %s).",
                      st);
    if (rc == 0)
        rc = members_of(t, v, id, &members);
    if (rc == 0) {
        vol_set_str(rec, "status", "deleting");
        vol_touch(rec);
        rc = vol_put(t, v, K_GROUP_SNAPSHOT, rec);
    }
    json_decref(rec);
    rc = vol_end(t, rc);
    size_t i;
    json_t *x;
    json_array_foreach (members, i, x)
        if (rc == 0 && (rc = volume_snapshot_delete(v, who, json_string_value(x), false)) < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", volumes_error());
            set_status(v, id, "error_deleting");
            rc = vol_fail(rc, "%s", why);
        }
    json_decref(members);
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    return vol_end(t, vol_del(t, v, K_GROUP_SNAPSHOT, id));
}

int volume_group_snapshot_reset_status(struct volumes *v, const struct volumes_caller *who,
                                       const char *id, const char *status)
{
    return vol_group_reset(v, who, K_GROUP_SNAPSHOT, id, status);
}
