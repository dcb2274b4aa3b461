/* Flavors: create, get, list, delete, extra specs, access. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <string.h>

static bool good_text(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) >= 1 && json_string_length(v) <= max;
}

/* An optional integer field >= min; *val keeps its default when absent. */
static int int_field(json_t *in, const char *key, long min, long *val, struct compute_err *err)
{
    json_t *v = json_object_get(in, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 2147483647)
        return cmp_fail(err, -EINVAL, "Invalid input for field '%s': must be an integer >= %ld.",
                        key, min);
    *val = (long)json_integer_value(v);
    return 0;
}

static int name_taken(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    json_t *f = store_decode(val, vlen);
    int hit = f && strcmp(json_string_value(json_object_get(f, "name")) ?: "", ctx) == 0;
    json_decref(f);
    return hit ? 1 : 0;
}

int compute_flavor_create(struct compute *c, struct store_txn *t, json_t *in, json_t **out,
                          struct compute_err *err)
{
    if (!json_is_object(in))
        return cmp_fail(err, -EINVAL, "Invalid input: flavor must be an object.");
    json_t *name = json_object_get(in, "name"), *id = json_object_get(in, "id");
    if (!good_text(name, 255))
        return cmp_fail(err, -EINVAL, "Invalid input for field 'name'.");
    if (id && !json_is_null(id) && !good_text(id, 255))
        return cmp_fail(err, -EINVAL, "Invalid input for field 'id'.");
    long ram = -1, vcpus = -1, disk = -1, swap = 0, eph = 0;
    int rc = int_field(in, "ram", 1, &ram, err);
    if (!rc)
        rc = int_field(in, "vcpus", 1, &vcpus, err);
    if (!rc)
        rc = int_field(in, "disk", 0, &disk, err);
    if (!rc)
        rc = int_field(in, "swap", 0, &swap, err);
    if (!rc)
        rc = int_field(in, "OS-FLV-EXT-DATA:ephemeral", 0, &eph, err);
    if (!rc)
        rc = int_field(in, "ephemeral", 0, &eph, err);
    if (rc)
        return rc;
    if (ram < 0 || vcpus < 0 || disk < 0)
        return cmp_fail(err, -EINVAL, "Invalid input: 'ram', 'vcpus' and 'disk' are required.");
    json_t *rx = json_object_get(in, "rxtx_factor");
    if (rx && (!json_is_number(rx) || json_number_value(rx) <= 0))
        return cmp_fail(err, -EINVAL, "Invalid input for field 'rxtx_factor'.");
    json_t *pub = json_object_get(in, "os-flavor-access:is_public");
    if (pub && !json_is_boolean(pub))
        return cmp_fail(err, -EINVAL, "Invalid input for field 'os-flavor-access:is_public'.");
    json_t *desc = json_object_get(in, "description");
    if (desc && !json_is_null(desc) && !(json_is_string(desc) && json_string_length(desc) <= 65535))
        return cmp_fail(err, -EINVAL, "Invalid input for field 'description'.");

    char fid[STORE_ID_LEN + 1];
    if (id && json_is_string(id))
        snprintf(fid, sizeof fid, "%s", json_string_value(id));
    else
        store_new_id(fid);
    if (id && json_is_string(id) &&
        (json_string_length(id) > STORE_ID_LEN ||
         strspn(fid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
             strlen(fid)))
        return cmp_fail(err, -EINVAL,
                        "Invalid input for field 'id': up to 36 letters, digits, '-', '_', '.'.");
    json_t *old = NULL;
    rc = store_get(t, c->flavors, fid, &old);
    json_decref(old);
    if (rc == 0)
        return cmp_fail(err, -EEXIST, "Flavor with ID %s already exists.", fid);
    if (rc != -ENOENT)
        return rc;
    rc = store_scan(t, c->flavors, NULL, 0, name_taken, (void *)json_string_value(name));
    if (rc < 0)
        return rc;
    if (rc > 0)
        return cmp_fail(err, -EEXIST, "Flavor with name %s already exists.",
                        json_string_value(name));
    json_t *f = json_pack(
        "{s:s, s:O, s:i, s:i, s:i, s:i, s:i, s:f, s:b, s:O, s:{}, s:[]}", "id", fid, "name", name,
        "ram", (int)ram, "vcpus", (int)vcpus, "disk", (int)disk, "swap", (int)swap, "ephemeral",
        (int)eph, "rxtx_factor", rx ? json_number_value(rx) : 1.0, "is_public",
        pub ? json_is_true(pub) : 1, "description", desc ?: json_null(), "extra_specs", "access");
    if (!f)
        return -ENOMEM;
    rc = store_put(t, c->flavors, fid, f);
    if (rc) {
        json_decref(f);
        return rc;
    }
    *out = f;
    return 0;
}

int compute_flavor_get(struct compute *c, struct store_txn *t, const char *id, json_t **out)
{
    if (!id || !*id || strlen(id) >= STORE_MAX_KEY)
        return -ENOENT;
    return store_get(t, c->flavors, id, out);
}

static int collect(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    json_t *f = store_decode(val, vlen);
    if (!f)
        return -EBADMSG;
    return json_array_append_new(ctx, f) ? -ENOMEM : 0;
}

int compute_flavor_list(struct compute *c, struct store_txn *t, json_t **out)
{
    json_t *all = json_array();
    if (!all)
        return -ENOMEM;
    int rc = store_scan(t, c->flavors, NULL, 0, collect, all);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return 0;
}

int compute_flavor_delete(struct compute *c, struct store_txn *t, const char *id)
{
    json_t *f;
    int rc = compute_flavor_get(c, t, id, &f);
    if (rc)
        return rc;
    json_decref(f);
    return store_del(t, c->flavors, id);
}

bool compute_flavor_visible(const json_t *flavor, const char *project_id)
{
    if (json_is_true(json_object_get(flavor, "is_public")))
        return true;
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(flavor, "access"), i, p)
        if (project_id && strcmp(json_string_value(p) ?: "", project_id) == 0)
            return true;
    return false;
}

int compute_flavor_set_specs(struct compute *c, struct store_txn *t, const char *id, json_t *specs,
                             json_t **out, struct compute_err *err)
{
    if (!json_is_object(specs))
        return cmp_fail(err, -EINVAL, "Invalid input: extra_specs must be an object.");
    const char *k;
    json_t *v;
    json_object_foreach (specs, k, v)
        if (strlen(k) < 1 || strlen(k) > 255 || !good_text(v, 255))
            return cmp_fail(err, -EINVAL, "Invalid input for extra spec '%s'.", k);
    json_t *f;
    int rc = compute_flavor_get(c, t, id, &f);
    if (rc)
        return cmp_fail(err, rc, "Flavor %s could not be found.", id);
    json_t *cur = json_object_get(f, "extra_specs");
    json_object_update(cur, specs);
    rc = store_put(t, c->flavors, id, f);
    if (!rc)
        *out = json_incref(cur);
    json_decref(f);
    return rc;
}

int compute_flavor_del_spec(struct compute *c, struct store_txn *t, const char *id, const char *key)
{
    json_t *f;
    int rc = compute_flavor_get(c, t, id, &f);
    if (rc)
        return rc;
    if (json_object_del(json_object_get(f, "extra_specs"), key))
        rc = -ENOENT;
    else
        rc = store_put(t, c->flavors, id, f);
    json_decref(f);
    return rc;
}

int compute_flavor_access(struct compute *c, struct store_txn *t, const char *id,
                          const char *project_id, bool add, struct compute_err *err)
{
    if (!project_id || !*project_id || strlen(project_id) > 255)
        return cmp_fail(err, -EINVAL, "Invalid input: tenant is required.");
    json_t *f;
    int rc = compute_flavor_get(c, t, id, &f);
    if (rc)
        return cmp_fail(err, rc, "Flavor %s could not be found.", id);
    json_t *acc = json_object_get(f, "access");
    if (json_is_true(json_object_get(f, "is_public"))) {
        json_decref(f);
        return cmp_fail(err, -EINVAL, "Can not add access to a public flavor.");
    }
    size_t i, at = (size_t)-1;
    json_t *p;
    json_array_foreach (acc, i, p)
        if (strcmp(json_string_value(p) ?: "", project_id) == 0)
            at = i;
    if (add && at != (size_t)-1)
        rc = cmp_fail(err, -EEXIST, "Flavor access already exists for flavor %s and project %s.",
                      id, project_id);
    else if (!add && at == (size_t)-1)
        rc = cmp_fail(err, -ENOENT, "Flavor access not found for flavor %s and project %s.", id,
                      project_id);
    else {
        if (add)
            json_array_append_new(acc, json_string(project_id));
        else
            json_array_remove(acc, at);
        rc = store_put(t, c->flavors, id, f);
    }
    json_decref(f);
    return rc;
}
