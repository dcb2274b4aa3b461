/* core/volumes: volume types. One default type (Cinder's __DEFAULT__) is
 * made on first open; admins create, change and delete others and their
 * extra specs; everybody reads public types (admins all of them). */
#include "core/volumes/vol_internal.h"

#include <string.h>

static int find_one(json_t *all, const char *id_or_name, json_t **out)
{
    size_t i;
    json_t *t;
    json_array_foreach (all, i, t)
        if (!strcmp(vol_str(t, "id"), id_or_name)) {
            *out = json_incref(t);
            return 0;
        }
    json_array_foreach (all, i, t)
        if (!strcmp(vol_str(t, "name"), id_or_name)) {
            *out = json_incref(t);
            return 0;
        }
    return vol_fail(-ENOENT, "Volume type %s could not be found.", id_or_name);
}

int vol_type_find(struct store_txn *t, struct volumes *v, const char *id_or_name, json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_TYPE, &all);
    if (rc < 0)
        return rc;
    rc = find_one(all, id_or_name ? id_or_name : "", out);
    json_decref(all);
    return rc;
}

int vol_types_default(struct store_txn *t, struct volumes *v, json_t **out)
{
    return vol_type_find(t, v, VOLUMES_DEFAULT_TYPE, out);
}

static int check_specs(const json_t *specs)
{
    if (!specs || json_is_null(specs))
        return 0;
    int rc = vol_check_meta(specs);
    return rc < 0 ? vol_fail(rc, "extra_specs: %s", volumes_error()) : 0;
}

static int name_taken(struct store_txn *t, struct volumes *v, const char *name, const char *self)
{
    json_t *all;
    int rc = vol_all(t, v, K_TYPE, &all);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (!strcmp(vol_str(x, "name"), name) && (!self || strcmp(vol_str(x, "id"), self)))
            rc = vol_fail(-EEXIST, "Volume Type %s already exists.", name);
    json_decref(all);
    return rc;
}

/* Without checks: the default type at open, and admins' creations. */
int vol_type_insert(struct store_txn *t, struct volumes *v, const char *name,
                    const char *description, bool is_public, const json_t *specs, json_t **out)
{
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *rec = json_object();
    vol_set_str(rec, "id", id);
    vol_set_str(rec, "name", name);
    vol_set_str(rec, "description", description);
    json_object_set_new(rec, "is_public", json_boolean(is_public));
    json_object_set_new(rec, "extra_specs",
                        specs && json_is_object(specs) ? json_deep_copy(specs) : json_object());
    char now[32];
    volumes_timestamp(now);
    vol_set_str(rec, "created_at", now);
    int rc = vol_put(t, v, K_TYPE, rec);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_type_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                       const char *description, bool is_public, const json_t *extra_specs,
                       json_t **out)
{
    int rc = vol_need_admin(who, "volume type creation");
    if (rc < 0)
        return rc;
    if (!name || !*name || strlen(name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "A volume type needs a name of 1 to 255 characters.");
    if (description && strlen(description) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "The description is longer than 255 characters.");
    if ((rc = check_specs(extra_specs)) < 0)
        return rc;
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = name_taken(t, v, name, NULL);
    if (rc == 0)
        rc = vol_type_insert(t, v, name, description, is_public, extra_specs, out);
    return vol_end(t, rc);
}

/* A private type's projects: a private array (created on demand). */
static json_t *access_of(json_t *type)
{
    json_t *p = json_object_get(type, VOLUMES_PRIVATE_KEY);
    if (!p) {
        p = json_object();
        json_object_set_new(type, VOLUMES_PRIVATE_KEY, p);
    }
    json_t *a = json_object_get(p, "projects");
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(p, "projects", a);
    }
    return a;
}

static bool has_access(const json_t *type, const char *project)
{
    json_t *a = json_object_get(json_object_get(type, VOLUMES_PRIVATE_KEY), "projects");
    size_t i;
    json_t *x;
    json_array_foreach (a, i, x)
        if (project && !strcmp(json_string_value(x), project))
            return true;
    return false;
}

static bool type_visible(const json_t *type, const struct volumes_caller *who)
{
    return who->is_admin || json_is_true(json_object_get(type, "is_public")) ||
           has_access(type, who->project_id);
}

int vol_type_usable(const json_t *type, const struct volumes_caller *who)
{
    if (type_visible(type, who))
        return 0;
    return vol_fail(-ENOENT, "Volume type %s could not be found.", vol_str(type, "id"));
}

int volume_type_get(struct volumes *v, const struct volumes_caller *who, const char *id_or_name,
                    json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_type_find(t, v, id_or_name, out);
    store_abort(t);
    if (rc == 0 && !type_visible(*out, who)) {
        json_decref(*out);
        rc = vol_fail(-ENOENT, "Volume type %s could not be found.", id_or_name);
    }
    return rc;
}

int volume_type_list(struct volumes *v, const struct volumes_caller *who, json_t **out)
{
    return vol_list_seen(v, K_TYPE, who, type_visible, out);
}

/* Loads a type for an admin change in t. */
static int load_for_change(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                           const char *id, json_t **out)
{
    int rc = vol_need_admin(who, "volume type changes");
    if (rc == 0)
        rc = vol_type_find(t, v, id, out);
    return rc;
}

int volume_type_update(struct volumes *v, const struct volumes_caller *who, const char *id,
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
        rc = vol_fail(-EINVAL, "A volume type needs a name.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && name && !strcmp(vol_str(rec, "name"), VOLUMES_DEFAULT_TYPE) &&
        strcmp(json_string_value(name), VOLUMES_DEFAULT_TYPE))
        rc = vol_fail(-EBUSY, "The default volume type cannot be renamed.");
    if (rc == 0 && name)
        rc = name_taken(t, v, json_string_value(name), vol_str(rec, "id"));
    if (rc == 0) {
        if (name)
            json_object_set(rec, "name", name);
        if (desc)
            json_object_set(rec, "description", desc);
        if (pub)
            json_object_set(rec, "is_public", pub);
        rc = vol_put(t, v, K_TYPE, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_type_delete(struct volumes *v, const struct volumes_caller *who, const char *id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL, *vols = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && !strcmp(vol_str(rec, "name"), VOLUMES_DEFAULT_TYPE))
        rc = vol_fail(-EBUSY, "The default volume type cannot be deleted.");
    if (rc == 0)
        rc = vol_all(t, v, K_VOLUME, &vols);
    size_t i;
    json_t *x;
    if (rc == 0)
        json_array_foreach (vols, i, x)
            if (!strcmp(vol_str(x, "volume_type"), vol_str(rec, "name")))
                rc = vol_fail(-EBUSY, "Target volume type is still in use.");
    json_t *groups = NULL;
    if (rc == 0)
        rc = vol_all(t, v, K_GROUP, &groups);
    json_array_foreach (groups, i, x) {
        size_t j;
        json_t *y;
        json_array_foreach (json_object_get(x, "volume_types"), j, y)
            if (rc == 0 && !strcmp(json_string_value(y), vol_str(rec, "id")))
                rc = vol_fail(-EBUSY, "Target volume type is still in use by group %s.",
                              vol_str(x, "id"));
    }
    json_decref(groups);
    if (rc == 0)
        rc = vol_del(t, v, K_TYPE, vol_str(rec, "id"));
    json_decref(rec);
    json_decref(vols);
    return vol_end(t, rc);
}

int volume_type_set_specs(struct volumes *v, const struct volumes_caller *who, const char *id,
                          const json_t *specs, json_t **out)
{
    int rc = check_specs(specs);
    if (rc == 0 && !json_is_object(specs))
        rc = vol_fail(-EINVAL, "extra_specs must be an object.");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0) {
        json_object_update(json_object_get(rec, "extra_specs"), (json_t *)specs);
        rc = vol_put(t, v, K_TYPE, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(json_object_get(rec, "extra_specs"));
    json_decref(rec);
    return rc;
}

int volume_type_unset_spec(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *key)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && json_object_del(json_object_get(rec, "extra_specs"), key))
        rc = vol_fail(-ENOENT, "Volume type %s has no extra spec %s.", id, key);
    if (rc == 0)
        rc = vol_put(t, v, K_TYPE, rec);
    json_decref(rec);
    return vol_end(t, rc);
}

/* ---- access to private types (admins) ---- */

int volume_type_access_list(struct volumes *v, const struct volumes_caller *who, const char *id,
                            json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    store_abort(t);
    if (rc < 0)
        return rc;
    if (json_is_true(json_object_get(rec, "is_public")))
        rc = vol_fail(-ENOENT, "Access list not available for public volume types.");
    else
        *out = json_incref(access_of(rec));
    json_decref(rec);
    return rc;
}

int volume_type_access_change(struct volumes *v, const struct volumes_caller *who, const char *id,
                              const char *project, bool add)
{
    if (!project || !*project || strlen(project) > STORE_MAX_KEY)
        return vol_fail(-EINVAL, "Invalid input received: a project is needed.");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load_for_change(t, v, who, id, &rec);
    if (rc == 0 && json_is_true(json_object_get(rec, "is_public")))
        rc = vol_fail(-EBUSY, "Invalid volume type: Type access modification is not applicable "
                              "to public volume type.");
    if (rc == 0 && add && has_access(rec, project))
        rc = vol_fail(-EEXIST, "Volume type access for %s / %s already exists.", id, project);
    if (rc == 0 && !add && !has_access(rec, project))
        rc = vol_fail(-ENOENT, "Volume type access not found for %s / %s.", id, project);
    if (rc == 0) {
        json_t *a = access_of(rec);
        if (add) {
            json_array_append_new(a, json_string(project));
        } else {
            size_t i;
            json_t *x;
            json_array_foreach (a, i, x)
                if (!strcmp(json_string_value(x), project)) {
                    json_array_remove(a, i);
                    break;
                }
        }
        rc = vol_put(t, v, K_TYPE, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}
