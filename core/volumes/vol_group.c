/* core/volumes: generic volume groups (Cinder 3.13+). A group is a record
 * its volumes name as group_id; making one from a source clones every
 * member through volume_create (constant time each). Multi-volume work is
 * a transitional status, the per-volume calls (each crash-safe on its own)
 * and a final status: a kill -9 in between leaves the group in creating or
 * deleting, which vol_group_reconcile() turns into error / error_deleting
 * (every member volume it names is complete). */
#include "core/volumes/vol_internal.h"

#include <stdlib.h>
#include <string.h>

static bool is_member(const json_t *vol, const char *group_id)
{
    const char *g = vol_str(vol, "group_id");
    return g && !strcmp(g, group_id);
}

/* Ids of the volumes in group id (a new array), in t. */
static int members_of(struct store_txn *t, struct volumes *v, const char *id, json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_VOLUME, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (is_member(x, id))
            json_array_append(*out, json_object_get(x, "id"));
    json_decref(all);
    return 0;
}

/* Adds "volumes" (its members' ids) to each group record of recs. */
static int add_members(struct volumes *v, json_t *recs)
{
    struct store_txn *t = NULL;
    int rc = vol_begin(v, false, &t);
    size_t i;
    json_t *g, *m;
    json_array_foreach (recs, i, g)
        if (rc == 0 && (rc = members_of(t, v, vol_str(g, "id"), &m)) == 0)
            json_object_set_new(g, "volumes", m);
    if (t)
        store_abort(t);
    return rc;
}

int vol_group_admits(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                     const char *group_id, const char *type_id)
{
    json_t *g;
    int rc = vol_load(t, v, K_GROUP, group_id, who, true, &g);
    if (rc < 0)
        return rc == -ENOENT ? vol_fail(-ENOENT, "Group %s could not be found.", group_id) : rc;
    const char *st = vol_str(g, "status");
    if (strcmp(st, "available") && strcmp(st, "creating"))
        rc = vol_fail(-EINVAL,
                      "Invalid group: Group %s status must be available, but current "
                      "status is: %s.",
                      group_id, st);
    bool listed = false;
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(g, "volume_types"), i, x)
        listed |= type_id && !strcmp(json_string_value(x), type_id);
    if (rc == 0 && !listed)
        rc = vol_fail(-EINVAL,
                      "Invalid input received: the volume type is not one of group "
                      "%s's volume types.",
                      group_id);
    json_decref(g);
    return rc;
}

/* The type ids of req->volume_types, checked (visible, usable), in t. */
static int resolve_types(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                         const json_t *names, json_t **out)
{
    if (!json_is_array(names) || !json_array_size(names))
        return vol_fail(-EINVAL, "Invalid input received: volume_types must be a non-empty "
                                 "list of volume types.");
    *out = json_array();
    size_t i;
    json_t *x, *type;
    json_array_foreach (names, i, x) {
        int rc = json_is_string(x) ? vol_type_find(t, v, json_string_value(x), &type)
                                   : vol_fail(-EINVAL, "Invalid input received: volume_types "
                                                       "must hold strings.");
        if (rc == 0 && (rc = vol_type_usable(type, who)) == 0)
            json_array_append(*out, json_object_get(type, "id"));
        if (rc == 0)
            json_decref(type);
        if (rc < 0) {
            json_decref(*out);
            return rc;
        }
    }
    return 0;
}

/* The group type (visible to who) and volume types of a new group, from
 * the request or from its source, into rec; the source's members into
 * *sources ([{id, type}]: snapshots or volumes to clone), in t. */
static int plan_group(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                      const struct volume_group_create *req, json_t *rec, json_t **sources)
{
    json_t *src = NULL, *gt = NULL, *types = NULL, *all = NULL;
    const char *src_group = req->source_group_id;
    int rc = 0;
    *sources = json_array();
    if (req->group_snapshot_id) {
        rc = vol_load(t, v, K_GROUP_SNAPSHOT, req->group_snapshot_id, who, true, &src);
        if (rc == 0 && strcmp(vol_str(src, "status"), "available"))
            rc = vol_fail(-EINVAL, "Invalid group snapshot: it must be available.");
        src_group = rc == 0 ? vol_str(src, "group_id") : NULL;
    }
    json_t *g = NULL;
    if (rc == 0 && src_group)
        rc = vol_load(t, v, K_GROUP, src_group, who, true, &g);
    if (rc == 0 && g && req->source_group_id && strcmp(vol_str(g, "status"), "available"))
        rc = vol_fail(-EINVAL, "Invalid group: the source group must be available.");
    if (rc == 0 && g) {
        json_object_set(rec, "group_type", json_object_get(g, "group_type"));
        json_object_set(rec, "volume_types", json_object_get(g, "volume_types"));
        rc = vol_all(t, v, req->group_snapshot_id ? K_SNAPSHOT : K_VOLUME, &all);
        size_t i;
        json_t *x;
        json_array_foreach (all, i, x) {
            const char *gs = vol_priv(x, "group_snapshot");
            bool take = req->group_snapshot_id ? gs && !strcmp(gs, req->group_snapshot_id)
                                               : is_member(x, src_group);
            if (take)
                json_array_append_new(*sources,
                                      json_pack("{s:O, s:O?}", "id", json_object_get(x, "id"),
                                                "volume_id", json_object_get(x, "volume_id")));
        }
    } else if (rc == 0) {
        rc = req->group_type ? vol_group_type_find(t, v, req->group_type, &gt)
                             : vol_fail(-EINVAL, "Invalid input received: group_type is needed.");
        if (rc == 0 && !who->is_admin && !json_is_true(json_object_get(gt, "is_public")))
            rc = vol_fail(-ENOENT, "Group type %s could not be found.", req->group_type);
        if (rc == 0 && (rc = resolve_types(t, v, who, req->volume_types, &types)) == 0) {
            json_object_set(rec, "group_type", json_object_get(gt, "id"));
            json_object_set_new(rec, "volume_types", types);
        }
    }
    json_decref(src);
    json_decref(g);
    json_decref(gt);
    json_decref(all);
    return rc;
}

/* The type id of each source member (the volume of a snapshot), in t. */
static int source_types(struct store_txn *t, struct volumes *v, json_t *sources)
{
    size_t i;
    json_t *x, *vol;
    json_array_foreach (sources, i, x) {
        const char *vid = vol_str(x, "volume_id") ? vol_str(x, "volume_id") : vol_str(x, "id");
        int rc = vol_get(t, v, K_VOLUME, vid, &vol);
        if (rc < 0)
            return rc;
        json_object_set(x, "type", json_object_get(vol, "volume_type_id"));
        json_object_set(x, "name", json_object_get(vol, "name"));
        json_decref(vol);
    }
    return 0;
}

static int set_group_status(struct volumes *v, const char *kind, const char *id, const char *status,
                            json_t **out)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_get(t, v, kind, id, &rec)) == 0) {
        vol_set_str(rec, "status", status);
        vol_touch(rec);
        rc = vol_put(t, v, kind, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

/* Clones every source member into group id (as who). */
static int clone_members(struct volumes *v, const struct volumes_caller *who, const char *id,
                         const json_t *sources, bool from_snapshots)
{
    size_t i;
    json_t *x;
    json_array_foreach (sources, i, x) {
        struct volume_create req = { .name = vol_str(x, "name"),
                                     .volume_type = vol_str(x, "type"),
                                     .group_id = id };
        if (from_snapshots)
            req.snapshot_id = vol_str(x, "id");
        else
            req.source_volid = vol_str(x, "id");
        int rc = volume_create(v, who, &req, NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_group_create(const struct volume_group_create *req)
{
    if (req->name && strlen(req->name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: name is longer than 255 characters.");
    if (req->description && strlen(req->description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: description is too long.");
    if (req->availability_zone && strcmp(req->availability_zone, VOLUMES_AZ))
        return vol_fail(-EINVAL, "Invalid input received: availability zone '%s' is invalid.",
                        req->availability_zone);
    if (req->group_snapshot_id && req->source_group_id)
        return vol_fail(-EINVAL, "Invalid input received: either group_snapshot_id or "
                                 "source_group_id, not both.");
    return 0;
}

int volume_group_create(struct volumes *v, const struct volumes_caller *who,
                        const struct volume_group_create *req, json_t **out)
{
    if (!who->can_write && !who->is_admin)
        return vol_fail(-EPERM, "Policy doesn't allow group:create to be performed.");
    if (!who->project_id)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    int rc = check_group_create(req);
    if (rc < 0)
        return rc;
    bool from_src = req->group_snapshot_id || req->source_group_id;
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *rec = vol_new_record(id, who), *sources = NULL;
    vol_set_str(rec, "name", req->name);
    vol_set_str(rec, "description", req->description);
    vol_set_str(rec, "status", from_src ? "creating" : "available");
    vol_set_str(rec, "availability_zone", VOLUMES_AZ);
    vol_set_str(rec, "group_snapshot_id", req->group_snapshot_id);
    vol_set_str(rec, "source_group_id", req->source_group_id);
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) == 0) {
        rc = plan_group(t, v, who, req, rec, &sources);
        if (rc == 0)
            rc = source_types(t, v, sources);
        if (rc == 0)
            rc = vol_put(t, v, K_GROUP, rec);
        rc = vol_end(t, rc);
    }
    json_decref(rec);
    if (rc == 0 && from_src) {
        char why[512] = "";
        int crc = clone_members(v, who, id, sources, req->group_snapshot_id != NULL);
        if (crc < 0)
            snprintf(why, sizeof why, "%s", volumes_error());
        rc = set_group_status(v, K_GROUP, id, crc < 0 ? "error" : "available", NULL);
        if (rc == 0 && crc < 0)
            rc = vol_fail(crc, "%s", why);
    }
    json_decref(sources);
    return rc < 0 ? rc : volume_group_get(v, who, id, out);
}

int volume_group_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                     json_t **out)
{
    struct store_txn *t;
    json_t *rec;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_GROUP, id, who, false, &rec);
    store_abort(t);
    if (rc == -ENOENT)
        return vol_fail(-ENOENT, "Group %s could not be found.", id);
    if (rc < 0 || !out) {
        if (rc == 0)
            json_decref(rec);
        return rc;
    }
    json_t *one = json_pack("[o]", rec);
    if ((rc = add_members(v, one)) == 0)
        *out = json_incref(json_array_get(one, 0));
    json_decref(one);
    return rc;
}

int volume_group_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                      json_t **out)
{
    int rc = vol_list_visible(v, K_GROUP, who, all_projects, out);
    if (rc == 0 && (rc = add_members(v, *out)) < 0)
        json_decref(*out);
    return rc;
}

/* Applies one comma-separated list of volume ids (add or remove) to group
 * g, in t. */
static int move_volumes(struct store_txn *t, struct volumes *v, const json_t *g, const char *list,
                        bool add)
{
    char *copy = strdup(list ? list : ""), *save = NULL;
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    const char *gid = vol_str(g, "id");
    for (char *tok = strtok_r(copy, ", ", &save); tok && rc == 0;
         tok = strtok_r(NULL, ", ", &save)) {
        json_t *vol = NULL;
        if (vol_get(t, v, K_VOLUME, tok, &vol) < 0 ||
            strcmp(vol_str(vol, "project_id") ?: "", vol_str(g, "project_id") ?: "")) {
            json_decref(vol); /* another project's: as if absent */
            rc = vol_fail(-EINVAL,
                          "Invalid volume: Cannot %s volume %s %s group %s because "
                          "volume cannot be found.",
                          add ? "add" : "remove", tok, add ? "to" : "from", gid);
            continue;
        }
        const char *st = vol_str(vol, "status");
        if (strcmp(st, "available") && strcmp(st, "in-use") &&
            (add || (strcmp(st, "error") && strcmp(st, "error_deleting"))))
            rc = vol_fail(-EINVAL, "Invalid volume: Volume %s is in %s status.", tok, st);
        else if (!add && !is_member(vol, gid))
            rc = vol_fail(-EINVAL, "Invalid volume: Volume %s is not in group %s.", tok, gid);
        else if (add && vol_str(vol, "group_id"))
            rc = vol_fail(-EINVAL, "Invalid volume: Volume %s is already in a group.", tok);
        else if (add) {
            bool listed = false;
            size_t i;
            json_t *x;
            json_array_foreach (json_object_get(g, "volume_types"), i, x)
                listed |= !strcmp(json_string_value(x), vol_str(vol, "volume_type_id") ?: "");
            if (!listed)
                rc = vol_fail(-EINVAL,
                              "Invalid volume: Volume %s's type is not supported by "
                              "group %s.",
                              tok, gid);
        }
        if (rc == 0) {
            vol_set_str(vol, "group_id", add ? gid : NULL);
            vol_touch(vol);
            rc = vol_put(t, v, K_VOLUME, vol);
        }
        json_decref(vol);
    }
    free(copy);
    return rc;
}

int volume_group_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *changes, json_t **out)
{
    json_t *name = json_object_get(changes, "name"),
           *desc = json_object_get(changes, "description"),
           *add = json_object_get(changes, "add_volumes"),
           *rem = json_object_get(changes, "remove_volumes");
    int rc = vol_check_text(name, "name", VOLUMES_NAME_MAX);
    if (rc == 0)
        rc = vol_check_text(desc, "description", VOLUMES_NAME_MAX);
    if (rc == 0 && ((add && !json_is_null(add) && !json_is_string(add)) ||
                    (rem && !json_is_null(rem) && !json_is_string(rem))))
        rc = vol_fail(-EINVAL, "Invalid input received: add_volumes and remove_volumes are "
                               "comma-separated volume ids.");
    if (rc == 0 && !name && !desc && !json_string_length(add) && !json_string_length(rem))
        rc = vol_fail(-EINVAL, "Name, description, add_volumes, and remove_volumes can not be "
                               "all empty in the request body.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *g = NULL;
    rc = vol_load(t, v, K_GROUP, id, who, true, &g);
    if (rc == -ENOENT)
        rc = vol_fail(-ENOENT, "Group %s could not be found.", id);
    if (rc == 0 && (add || rem) && strcmp(vol_str(g, "status"), "available"))
        rc = vol_fail(-EINVAL,
                      "Invalid group: Group %s status must be available, but current "
                      "status is: %s.",
                      id, vol_str(g, "status"));
    if (rc == 0 && json_string_length(rem))
        rc = move_volumes(t, v, g, json_string_value(rem), false);
    if (rc == 0 && json_string_length(add))
        rc = move_volumes(t, v, g, json_string_value(add), true);
    if (rc == 0) {
        if (name)
            json_object_set(g, "name", name);
        if (desc)
            json_object_set(g, "description", desc);
        vol_touch(g);
        rc = vol_put(t, v, K_GROUP, g);
    }
    json_decref(g);
    if ((rc = vol_end(t, rc)) < 0)
        return rc;
    return out ? volume_group_get(v, who, id, out) : 0;
}

/* Checks a group delete and sets the group deleting, in t; *members: the
 * volumes to delete first. */
static int begin_delete(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                        const char *id, bool delete_volumes, json_t **members)
{
    json_t *g = NULL, *snaps = NULL;
    int rc = vol_load(t, v, K_GROUP, id, who, true, &g);
    if (rc == -ENOENT)
        return vol_fail(-ENOENT, "Group %s could not be found.", id);
    if (rc < 0)
        return rc;
    const char *st = vol_str(g, "status");
    if (strcmp(st, "available") && strcmp(st, "error") && strcmp(st, "error_deleting"))
        rc = vol_fail(-EINVAL,
                      "Invalid group: Group status must be available or error, but "
                      "current status is: %s.",
                      st);
    if (rc == 0)
        rc = vol_all(t, v, K_GROUP_SNAPSHOT, &snaps);
    size_t i;
    json_t *x;
    json_array_foreach (snaps, i, x)
        if (rc == 0 && !strcmp(vol_str(x, "group_id"), id))
            rc = vol_fail(-EBUSY, "Invalid group: Group %s still has group snapshots.", id);
    json_decref(snaps);
    if (rc == 0)
        rc = members_of(t, v, id, members);
    if (rc == 0 && json_array_size(*members) && !delete_volumes)
        rc = vol_fail(-EBUSY,
                      "Invalid group: Group %s still contains volumes. The "
                      "delete-volumes flag is required to delete it.",
                      id);
    if (rc == 0) {
        vol_set_str(g, "status", "deleting");
        vol_touch(g);
        rc = vol_put(t, v, K_GROUP, g);
    }
    json_decref(g);
    return rc;
}

int volume_group_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                        bool delete_volumes)
{
    struct store_txn *t;
    json_t *members = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_end(t, begin_delete(t, v, who, id, delete_volumes, &members));
    size_t i;
    json_t *x;
    json_array_foreach (members, i, x)
        if (rc == 0 && (rc = volume_delete(v, who, json_string_value(x), 0)) < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", volumes_error());
            set_group_status(v, K_GROUP, id, "error_deleting", NULL);
            rc = vol_fail(rc, "%s", why);
        }
    json_decref(members);
    if (rc < 0)
        return rc;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    return vol_end(t, vol_del(t, v, K_GROUP, id));
}

static bool status_known(const char *status, const char *const *ok)
{
    for (; status && *ok; ok++)
        if (!strcmp(status, *ok))
            return true;
    return false;
}

int vol_group_reset(struct volumes *v, const struct volumes_caller *who, const char *kind,
                    const char *id, const char *status)
{
    static const char *const ok[] = { "creating",       "available", "deleting", "error",
                                      "error_deleting", "updating",  "in-use",   NULL };
    int rc = vol_need_admin_on(v, who, kind, id, "reset_status");
    if (rc < 0)
        return rc;
    if (!status_known(status, ok))
        return vol_fail(-EINVAL, "Invalid input received: status %s is not valid.",
                        status ? status : "(none)");
    rc = set_group_status(v, kind, id, status, NULL);
    if (rc == -ENOENT)
        rc = vol_fail(-ENOENT, "%s %s could not be found.",
                      strcmp(kind, K_GROUP) ? "GroupSnapshot" : "Group", id);
    return rc;
}

int volume_group_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                              const char *status)
{
    return vol_group_reset(v, who, K_GROUP, id, status);
}

/* A group or group snapshot left in creating or deleting by a crash. */
static int fix_one(struct volumes *v, const char *kind, const json_t *rec, FILE *report)
{
    const char *st = vol_str(rec, "status"), *to = NULL;
    if (!strcmp(st, "creating"))
        to = "error";
    else if (!strcmp(st, "deleting"))
        to = "error_deleting";
    if (!to)
        return 0;
    int rc = set_group_status(v, kind, vol_str(rec, "id"), to, NULL);
    if (rc == 0 && report)
        fprintf(report, "%s %s: %s cut off: set to %s\n", kind, vol_str(rec, "id"), st, to);
    return rc < 0 ? rc : 1;
}

int vol_group_reconcile(struct volumes *v, FILE *report)
{
    static const char *const kinds[] = { K_GROUP, K_GROUP_SNAPSHOT };
    int fixes = 0;
    for (size_t k = 0; k < 2; k++) {
        struct store_txn *t;
        json_t *all = NULL;
        int rc = vol_begin(v, false, &t);
        if (rc < 0)
            return rc;
        rc = vol_all(t, v, kinds[k], &all);
        store_abort(t);
        size_t i;
        json_t *x;
        json_array_foreach (all, i, x)
            if (rc >= 0 && (rc = fix_one(v, kinds[k], x, report)) > 0)
                fixes += rc;
        json_decref(all);
        if (rc < 0)
            return rc;
    }
    return fixes;
}
