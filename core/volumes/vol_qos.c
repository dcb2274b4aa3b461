/* core/volumes: QoS specs, admin-only records {id, name, consumer, specs}
 * that volume types point at through their qos_specs_id (one spec per type,
 * any number of types per spec). picostack stores and shows them; the
 * VMM does not throttle by them yet. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static const char *const consumers[] = { "front-end", "back-end", "both", NULL };

static int check_consumer(const char *c)
{
    for (int i = 0; consumers[i]; i++)
        if (!strcmp(c, consumers[i]))
            return 0;
    return vol_fail(-EINVAL, "Invalid input received: consumer must be front-end, back-end or "
                             "both.");
}

static int name_taken(struct store_txn *t, struct volumes *v, const char *name)
{
    json_t *all;
    int rc = vol_all(t, v, K_QOS, &all);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (!strcmp(vol_str(x, "name"), name))
            rc = vol_fail(-EEXIST, "QoS Specs %s already exists.", name);
    json_decref(all);
    return rc;
}

int volume_qos_create(struct volumes *v, const struct volumes_caller *who, const char *name,
                      const char *consumer, const json_t *specs, json_t **out)
{
    int rc = vol_need_admin(who, "volume_extension:qos_specs_manage:create");
    if (rc < 0)
        return rc;
    if (!name || !*name || strlen(name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: a QoS spec needs a name of 1 to 255 "
                                 "characters.");
    if ((rc = check_consumer(consumer ? consumer : "back-end")) < 0)
        return rc;
    if ((rc = vol_check_meta(specs)) < 0)
        return vol_fail(rc, "Invalid input received: specs: %s", volumes_error());
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = name_taken(t, v, name);
    char id[STORE_ID_LEN + 1], now[32];
    store_new_id(id);
    volumes_timestamp(now);
    json_t *rec =
        json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", id, "name", name, "consumer",
                  consumer ? consumer : "back-end", "specs",
                  json_is_object(specs) ? json_deep_copy(specs) : json_object(), "created_at", now);
    if (rc == 0)
        rc = vol_put(t, v, K_QOS, rec);
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

static int load(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                const char *id, json_t **out)
{
    int rc = vol_need_admin(who, "volume_extension:qos_specs_manage");
    if (rc == 0)
        rc = vol_get(t, v, K_QOS, id, out);
    if (rc == -ENOENT)
        vol_fail(rc, "QoS spec %s could not be found.", id);
    return rc;
}

int volume_qos_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                   json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = load(t, v, who, id, out);
    store_abort(t);
    return rc;
}

int volume_qos_list(struct volumes *v, const struct volumes_caller *who, json_t **out)
{
    int rc = vol_need_admin(who, "volume_extension:qos_specs_manage:get_all");
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, false, &t)) < 0)
        return rc;
    rc = vol_all(t, v, K_QOS, out);
    store_abort(t);
    return rc;
}

/* The types associated with qos id (new array), in t. */
static int types_of(struct store_txn *t, struct volumes *v, const char *id, json_t **out)
{
    json_t *all;
    int rc = vol_all(t, v, K_TYPE, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        const char *q = vol_str(x, "qos_specs_id");
        if (q && !strcmp(q, id))
            json_array_append(*out, x);
    }
    json_decref(all);
    return 0;
}

/* Sets (qos non-NULL) or clears the qos_specs_id of every type in types. */
static int set_types_qos(struct store_txn *t, struct volumes *v, json_t *types, const char *qos)
{
    size_t i;
    json_t *x;
    json_array_foreach (types, i, x) {
        vol_set_str(x, "qos_specs_id", qos);
        int rc = vol_put(t, v, K_TYPE, x);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int volume_qos_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                      bool force)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL, *types = NULL;
    rc = load(t, v, who, id, &rec);
    if (rc == 0)
        rc = types_of(t, v, id, &types);
    if (rc == 0 && json_array_size(types) && !force)
        rc = vol_fail(-EBUSY, "QoS Specs %s is still associated with entities.", id);
    if (rc == 0)
        rc = set_types_qos(t, v, types, NULL);
    if (rc == 0)
        rc = vol_del(t, v, K_QOS, id);
    json_decref(rec);
    json_decref(types);
    return vol_end(t, rc);
}

int volume_qos_set_keys(struct volumes *v, const struct volumes_caller *who, const char *id,
                        const json_t *specs)
{
    int rc = vol_check_meta(specs);
    if (rc == 0 && !json_is_object(specs))
        rc = vol_fail(-EINVAL, "Invalid input received: qos_specs must be an object.");
    if (rc < 0)
        return vol_fail(rc, "Invalid input received: %s", volumes_error());
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL;
    rc = load(t, v, who, id, &rec);
    if (rc == 0) {
        json_object_update(json_object_get(rec, "specs"), (json_t *)specs);
        rc = vol_put(t, v, K_QOS, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}

int volume_qos_unset_keys(struct volumes *v, const struct volumes_caller *who, const char *id,
                          const json_t *keys)
{
    if (!json_is_array(keys))
        return vol_fail(-EINVAL, "Invalid input received: keys must be a list.");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load(t, v, who, id, &rec);
    size_t i;
    json_t *k;
    json_array_foreach (keys, i, k) {
        if (rc < 0)
            break;
        if (!json_is_string(k))
            rc = vol_fail(-EINVAL, "Invalid input received: keys must be strings.");
        else if (json_object_del(json_object_get(rec, "specs"), json_string_value(k)))
            rc = vol_fail(-ENOENT, "QoS spec %s has no key %s.", id, json_string_value(k));
    }
    if (rc == 0)
        rc = vol_put(t, v, K_QOS, rec);
    json_decref(rec);
    return vol_end(t, rc);
}

int volume_qos_associate(struct volumes *v, const struct volumes_caller *who, const char *id,
                         const char *type_id)
{
    if (!type_id || !*type_id)
        return vol_fail(-EINVAL, "Invalid input received: vol_type_id is needed.");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL, *type = NULL;
    rc = load(t, v, who, id, &rec);
    if (rc == 0)
        rc = vol_get(t, v, K_TYPE, type_id, &type);
    const char *cur = rc == 0 ? vol_str(type, "qos_specs_id") : NULL;
    if (cur && strcmp(cur, id))
        rc = vol_fail(-EBUSY,
                      "Invalid volume type: type %s is already associated with QoS "
                      "spec %s.",
                      type_id, cur);
    if (rc == 0 && !cur) {
        vol_set_str(type, "qos_specs_id", id);
        rc = vol_put(t, v, K_TYPE, type);
    }
    json_decref(rec);
    json_decref(type);
    return vol_end(t, rc);
}

int volume_qos_disassociate(struct volumes *v, const struct volumes_caller *who, const char *id,
                            const char *type_id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL, *types = NULL;
    rc = load(t, v, who, id, &rec);
    if (rc == 0 && type_id) {
        json_t *type;
        if ((rc = vol_get(t, v, K_TYPE, type_id, &type)) == 0) {
            const char *cur = vol_str(type, "qos_specs_id");
            types = json_array();
            if (cur && !strcmp(cur, id))
                json_array_append(types, type);
            json_decref(type);
        }
    } else if (rc == 0) {
        rc = types_of(t, v, id, &types);
    }
    if (rc == 0)
        rc = set_types_qos(t, v, types, NULL);
    json_decref(rec);
    json_decref(types);
    return vol_end(t, rc);
}

int volume_qos_associations(struct volumes *v, const struct volumes_caller *who, const char *id,
                            json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    json_t *rec = NULL;
    rc = load(t, v, who, id, &rec);
    if (rc == 0)
        rc = types_of(t, v, id, out);
    json_decref(rec);
    store_abort(t);
    return rc;
}
