/* core/volumes: volume type encryption specs (Cinder's
 * /types/{id}/encryption, admins). The spec is kept in the type record's
 * private part. picostack has no key manager, so nothing could hold the
 * volume keys: volumes of an encrypted type are refused (-ENOTSUP) rather
 * than made unencrypted under an "encrypted" flag. As in Cinder, a spec
 * cannot be created, changed or removed while volumes of the type exist. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static json_t *spec_of(const json_t *type)
{
    return json_object_get(json_object_get(type, VOLUMES_PRIVATE_KEY), "encryption");
}

int vol_type_unencrypted(const json_t *type)
{
    if (!spec_of(type))
        return 0;
    return vol_fail(-ENOTSUP,
                    "Invalid volume type: volume type %s is encrypted and this cloud "
                    "has no key manager to hold volume keys.",
                    vol_str(type, "id"));
}

/* Checks the fields a create (all) or update (some) may carry. */
static int check_spec(const json_t *s, bool create)
{
    if (!json_is_object(s))
        return vol_fail(-EINVAL, "Invalid input received: encryption must be an object.");
    const char *k;
    json_t *x;
    json_object_foreach ((json_t *)s, k, x) {
        if (!strcmp(k, "provider") || !strcmp(k, "cipher")) {
            if (!(json_is_string(x) && json_string_length(x) <= VOLUMES_NAME_MAX) &&
                !(json_is_null(x) && !strcmp(k, "cipher")))
                return vol_fail(-EINVAL, "Invalid input received: %s must be a string.", k);
        } else if (!strcmp(k, "key_size")) {
            if (!json_is_null(x) && !(json_is_integer(x) && json_integer_value(x) >= 0 &&
                                      json_integer_value(x) <= 65536))
                return vol_fail(-EINVAL, "Invalid input received: key_size must be a "
                                         "non-negative integer.");
        } else if (!strcmp(k, "control_location")) {
            const char *c = json_string_value(x);
            if (!c || (strcmp(c, "front-end") && strcmp(c, "back-end")))
                return vol_fail(-EINVAL, "Invalid input received: control_location must be "
                                         "front-end or back-end.");
        } else {
            return vol_fail(-EINVAL, "Invalid input received: unknown encryption field %s.", k);
        }
    }
    if (create && !json_is_string(json_object_get(s, "provider")))
        return vol_fail(-EINVAL, "Invalid input received: provider is required.");
    return 0;
}

/* -EBUSY when a volume of the type exists, in t. */
static int not_in_use(struct store_txn *t, struct volumes *v, const json_t *type, const char *what)
{
    json_t *vols;
    int rc = vol_all(t, v, K_VOLUME, &vols);
    size_t i;
    json_t *x;
    json_array_foreach (vols, i, x) {
        const char *tid = vol_str(x, "volume_type_id");
        if (rc == 0 && tid && !strcmp(tid, vol_str(type, "id")))
            rc = vol_fail(-EBUSY,
                          "Invalid volume type: Cannot %s encryption specs. Volume type "
                          "in use.",
                          what);
    }
    json_decref(vols);
    return rc;
}

int volume_type_encryption_get(struct volumes *v, const struct volumes_caller *who,
                               const char *type_id, json_t **out)
{
    int rc = vol_need_admin(who, "volume_extension:volume_type_encryption");
    json_t *type = NULL;
    if (rc == 0)
        rc = volume_type_get(v, who, type_id, &type);
    if (rc < 0)
        return rc;
    json_t *s = spec_of(type);
    *out = s ? json_deep_copy(s) : NULL;
    json_decref(type);
    return 0;
}

/* The type in write transaction t, checked for a change of its spec. */
static int load(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                const char *type_id, const char *what, json_t **type)
{
    int rc = vol_need_admin(who, "volume_extension:volume_type_encryption");
    if (rc == 0)
        rc = vol_type_find(t, v, type_id, type);
    if (rc == 0 && (rc = not_in_use(t, v, *type, what)) < 0)
        json_decref(*type);
    return rc;
}

int volume_type_encryption_set(struct volumes *v, const struct volumes_caller *who,
                               const char *type_id, const json_t *spec, bool create, json_t **out)
{
    int rc = check_spec(spec, create);
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *type = NULL;
    if ((rc = load(t, v, who, type_id, create ? "create" : "update", &type)) < 0)
        return vol_end(t, rc);
    json_t *cur = spec_of(type);
    if (create && cur)
        rc = vol_fail(-EBUSY,
                      "Invalid volume type: Volume type encryption for type %s already "
                      "exists.",
                      type_id);
    else if (!create && !cur)
        rc = vol_fail(-ENOENT, "Volume type encryption for type %s does not exist.", type_id);
    if (rc == 0 && create) {
        char id[STORE_ID_LEN + 1], now[32];
        store_new_id(id);
        volumes_timestamp(now);
        cur = json_pack("{s:s, s:s, s:n, s:n, s:s, s:s, s:n}", "volume_type_id",
                        vol_str(type, "id"), "encryption_id", id, "key_size", "cipher",
                        "control_location", "front-end", "created_at", now, "updated_at");
        vol_priv_set(type, "encryption", "");
        json_object_set_new(json_object_get(type, VOLUMES_PRIVATE_KEY), "encryption", cur);
    }
    if (rc == 0) {
        json_object_update(cur, (json_t *)spec);
        if (!create) {
            char now[32];
            volumes_timestamp(now);
            vol_set_str(cur, "updated_at", now);
        }
        rc = vol_put(t, v, K_TYPE, type);
    }
    if (rc == 0 && out)
        *out = json_deep_copy(cur);
    json_decref(type);
    return vol_end(t, rc);
}

int volume_type_encryption_delete(struct volumes *v, const struct volumes_caller *who,
                                  const char *type_id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *type = NULL;
    if ((rc = load(t, v, who, type_id, "delete", &type)) < 0)
        return vol_end(t, rc);
    if (!spec_of(type))
        rc = vol_fail(-ENOENT, "Volume type encryption for type %s does not exist.", type_id);
    if (rc == 0) {
        json_object_del(json_object_get(type, VOLUMES_PRIVATE_KEY), "encryption");
        rc = vol_put(t, v, K_TYPE, type);
    }
    json_decref(type);
    return vol_end(t, rc);
}
