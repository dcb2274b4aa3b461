/* core/volumes: group types (Cinder 3.11+) and their group specs. Admins
 * write; everybody reads public ones (admins every one). Group specs are
 * stored and shown; the one backend honours none of them specially. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static int not_found(const char *id)
{
    return vol_fail(-ENOENT, "Group type %s could not be found.", id);
}

int vol_group_type_find(struct store_txn *t, struct volumes *v, const char *id_or_name,
                        json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_GROUP_TYPE, &all);
    if (rc < 0)
        return rc;
    rc = not_found(id_or_name);
    for (int pass = 0; pass < 2 && rc < 0; pass++) { /* ids first, then names */
        size_t i;
        json_t *x;
        json_array_foreach (all, i, x)
            if (rc < 0 && !strcmp(vol_str(x, pass ? "name" : "id"), id_or_name)) {
                *out = json_incref(x);
                rc = 0;
            }
    }
    json_decref(all);
    return rc;
}

static bool visible(const json_t *gt, const struct volumes_caller *who)
{
    return who->is_admin || json_is_true(json_object_get(gt, "is_public"));
}

static int check_specs(const json_t *specs)
{
    if (!specs || json_is_null(specs))
        return 0;
    if (!json_is_object(specs))
        return vol_fail(-EINVAL, "group_specs must be an object.");
    int rc = vol_check_meta(specs);
    return rc < 0 ? vol_fail(rc, "group_specs: %s", volumes_error()) : 0;
}

static int name_taken(struct store_txn *t, struct volumes *v, const char *name, const char *self)
{
    json_t *all;
    int rc = vol_all(t, v, K_GROUP_TYPE, &all);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (!strcmp(vol_str(x, "name"), name) && (!self || strcmp(vol_str(x, "id"), self)))
            rc = vol_fail(-EEXIST, "Group Type %s already exists.", name);
    json_decref(all);
    return rc;
}

int volume_group_type_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                             const char *description, bool is_public, const json_t *group_specs,
                             json_t **out)
{
    int rc = vol_need_admin(who, "group:group_types:create");
    if (rc < 0)
        return rc;
    if (!name || !*name || strlen(name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "A group type needs a name of 1 to 255 characters.");
    if (description && strlen(description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "The description is longer than 255 characters.");
    if ((rc = check_specs(group_specs)) < 0)
        return rc;
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *rec = vol_new_record(id, who);
    json_object_del(rec, "project_id");
    json_object_del(rec, "user_id");
    vol_set_str(rec, "name", name);
    vol_set_str(rec, "description", description);
    json_object_set_new(rec, "is_public", json_boolean(is_public));
    json_object_set_new(rec, "group_specs",
                        json_is_object(group_specs) ? json_deep_copy(group_specs) : json_object());
    rc = name_taken(t, v, name, NULL);
    if (rc == 0)
        rc = vol_put(t, v, K_GROUP_TYPE, rec);
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_group_type_get(struct volumes *v, const struct volumes_caller *who,
                          const char *id_or_name, json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_group_type_find(t, v, id_or_name, out);
    store_abort(t);
    if (rc == 0 && !visible(*out, who)) {
        json_decref(*out);
        rc = not_found(id_or_name);
    }
    return rc;
}

int volume_group_type_list(struct volumes *v, const struct volumes_caller *who, json_t **out)
{
    return vol_list_seen(v, K_GROUP_TYPE, who, visible, out);
}

/* Loads a group type for an admin change in write transaction t. */
static int load_for_change(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                           const char *id, json_t **out)
{
    int rc = vol_need_admin(who, "group type changes");
    return rc < 0 ? rc : vol_group_type_find(t, v, id, out);
}

/* Commits rec (when rc is 0) and hands it out. */
static int finish(struct store_txn *t, struct volumes *v, json_t *rec, int rc, json_t **out)
{
    if (rc == 0) {
        vol_touch(rec);
        rc = vol_put(t, v, K_GROUP_TYPE, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_group_type_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                             const json_t *changes, json_t **out)
{
    json_t *name = json_object_get(changes, "name"),
           *desc = json_object_get(changes, "description"),
           *pub = json_object_get(changes, "is_public");
    int rc = vol_check_text(name, "name", VOLUMES_NAME_MAX);
    if (rc == 0)
        rc = vol_check_text(desc, "description", VOLUMES_NAME_MAX);
    if (rc == 0 && pub && !json_is_boolean(pub))
        rc = vol_fail(-EINVAL, "is_public must be a boolean.");
    if (rc == 0 && name && (json_is_null(name) || !json_string_length(name)))
        rc = vol_fail(-EINVAL, "A group type needs a name.");
    if (rc == 0 && !name && !desc && !pub)
        rc = vol_fail(-EINVAL, "Specify group type name, description or a combination thereof.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && name)
        rc = name_taken(t, v, json_string_value(name), vol_str(rec, "id"));
    if (rc == 0) {
        if (name)
            json_object_set(rec, "name", name);
        if (desc)
            json_object_set(rec, "description", desc);
        if (pub)
            json_object_set(rec, "is_public", pub);
    }
    return finish(t, v, rec, rc, out);
}

int volume_group_type_delete(struct volumes *v, const struct volumes_caller *who, const char *id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL, *groups = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0)
        rc = vol_all(t, v, K_GROUP, &groups);
    size_t i;
    json_t *x;
    json_array_foreach (groups, i, x)
        if (rc == 0 && !strcmp(vol_str(x, "group_type"), vol_str(rec, "id")))
            rc = vol_fail(-EBUSY, "Target group type %s is still in use.", id);
    if (rc == 0)
        rc = vol_del(t, v, K_GROUP_TYPE, vol_str(rec, "id"));
    json_decref(rec);
    json_decref(groups);
    return vol_end(t, rc);
}

int volume_group_type_set_specs(struct volumes *v, const struct volumes_caller *who, const char *id,
                                const json_t *specs, json_t **out)
{
    int rc = check_specs(specs);
    if (rc == 0 && !json_is_object(specs))
        rc = vol_fail(-EINVAL, "group_specs must be an object.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL, *all = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0)
        json_object_update(json_object_get(rec, "group_specs"), (json_t *)specs);
    if (rc == 0)
        all = json_incref(json_object_get(rec, "group_specs"));
    rc = finish(t, v, rec, rc, NULL);
    if (rc == 0 && out)
        *out = all;
    else
        json_decref(all);
    return rc;
}

int volume_group_type_unset_spec(struct volumes *v, const struct volumes_caller *who,
                                 const char *id, const char *key)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && json_object_del(json_object_get(rec, "group_specs"), key))
        rc = vol_fail(-ENOENT, "Group Type %s has no specs with key %s.", id, key);
    return finish(t, v, rec, rc, NULL);
}
