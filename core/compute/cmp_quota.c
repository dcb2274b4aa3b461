/* The compute quotas of a project (Nova's defaults where unset). */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *name;
    int dflt;
} kinds[] = { { "instances", 10 }, { "cores", 20 }, { "ram", 51200 }, { "key_pairs", 100 } };

int compute_quota_get(struct compute *c, struct store_txn *t, const char *project_id, json_t **out)
{
    json_t *q = NULL;
    int rc = project_id && *project_id && strlen(project_id) < STORE_MAX_KEY
                 ? store_get(t, c->quotas, project_id, &q)
                 : -ENOENT;
    if (rc && rc != -ENOENT)
        return rc;
    if (!q && !(q = json_object()))
        return -ENOMEM;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!json_is_integer(json_object_get(q, kinds[i].name)))
            json_object_set_new(q, kinds[i].name, json_integer(kinds[i].dflt));
    *out = q;
    return 0;
}

int compute_quota_set(struct compute *c, struct store_txn *t, const char *project_id, json_t *in,
                      json_t **out, struct compute_err *err)
{
    if (!json_is_object(in))
        return cmp_fail(err, -EINVAL, "Invalid input: quota_set must be an object.");
    if (!project_id || !*project_id || strlen(project_id) >= STORE_MAX_KEY)
        return cmp_fail(err, -EINVAL, "Invalid project id.");
    json_t *q;
    int rc = compute_quota_get(c, t, project_id, &q);
    if (rc)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach (in, k, v) {
        if (!strcmp(k, "force") || !strcmp(k, "id"))
            continue;
        bool known = false;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            known |= strcmp(kinds[i].name, k) == 0;
        if (!known || !json_is_integer(v) || json_integer_value(v) < -1 ||
            json_integer_value(v) > 2147483647) {
            json_decref(q);
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute %s.", k);
        }
        json_object_set(q, k, v);
    }
    rc = store_put(t, c->quotas, project_id, q);
    if (rc) {
        json_decref(q);
        return rc;
    }
    *out = q;
    return 0;
}
