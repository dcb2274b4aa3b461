/* Opening core/compute and seeding the default flavors once. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cmp_fail(struct compute_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* DevStack's defaults (ids 1..3 as DevStack's nova-manage makes them) and
 * our small test guest flavor. */
static const struct {
    const char *id, *name;
    int ram, vcpus, disk;
} defaults[] = {
    { "1", "m1.tiny", 512, 1, 1 },
    { "2", "m1.small", 2048, 1, 20 },
    { "3", "m1.medium", 4096, 2, 40 },
    { "c1", "tiny", 128, 1, 1 },
};

static int seed(struct compute *c)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *mark = NULL;
    rc = store_get(t, c->meta, "seeded", &mark);
    if (rc == 0) {
        json_decref(mark);
        store_abort(t);
        return 0;
    }
    if (rc != -ENOENT)
        goto out;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        json_t *in =
            json_pack("{s:s, s:s, s:i, s:i, s:i}", "id", defaults[i].id, "name", defaults[i].name,
                      "ram", defaults[i].ram, "vcpus", defaults[i].vcpus, "disk", defaults[i].disk);
        json_t *f = NULL;
        struct compute_err err;
        rc = in ? compute_flavor_create(c, t, in, &f, &err) : -ENOMEM;
        json_decref(in);
        json_decref(f);
        if (rc)
            goto out;
    }
    mark = json_pack("{s:b}", "seeded", 1);
    rc = store_put(t, c->meta, "seeded", mark);
    json_decref(mark);
    if (rc)
        goto out;
    return store_commit(t);
out:
    store_abort(t);
    return rc;
}

int compute_open(struct store *s, struct compute **out)
{
    struct compute *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->store = s;
    int rc = store_table(s, "compute.flavors", &c->flavors);
    if (!rc)
        rc = store_table(s, "compute.keypairs", &c->keypairs);
    if (!rc)
        rc = store_table(s, "compute.quotas", &c->quotas);
    if (!rc)
        rc = store_table(s, "compute.meta", &c->meta);
    if (!rc)
        rc = store_table(s, "compute.servers", &c->servers);
    if (!rc)
        rc = store_table(s, "compute.actions", &c->actions);
    if (!rc)
        rc = store_table(s, "compute.groups", &c->groups);
    if (!rc)
        rc = store_table(s, "compute.deleted", &c->deleted);
    if (!rc)
        rc = store_table(s, "compute.deleted_order", &c->deleted_order);
    if (!rc)
        rc = seed(c);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void compute_close(struct compute *c)
{
    if (!c)
        return;
    compute_host_stop(c);
    free(c);
}
