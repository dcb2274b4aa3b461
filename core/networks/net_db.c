/* Records and indexes of core/networks in the control-plane store: table
 * "networks.records" ("<plural>/<id>" -> record), "networks.index" (the
 * composite keys of net_internal.h) and "networks.meta" (the index counter,
 * quotas, usage). */
#include "core/networks/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int net_db_open(struct store *s, struct net_db **out)
{
    struct net_db *db = calloc(1, sizeof *db);
    if (!db)
        return -ENOMEM;
    db->store = s;
    int rc = store_table(s, "networks.records", &db->t_rec);
    if (!rc)
        rc = store_table(s, "networks.index", &db->t_index);
    if (!rc)
        rc = store_table(s, "networks.meta", &db->t_meta);
    if (rc) {
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void net_db_close(struct net_db *db)
{
    free(db);
}

static int rec_key(char key[STORE_MAX_KEY], enum net_kind k, const char *id)
{
    if (!id || !*id || strlen(id) > 64 || strchr(id, '/'))
        return -ENOENT;
    int n = snprintf(key, STORE_MAX_KEY, "%s/%s", net_kind_plural(k), id);
    return n > 0 && n < STORE_MAX_KEY ? 0 : -ENOENT;
}

int net_get(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id, json_t **out)
{
    char key[STORE_MAX_KEY];
    int rc = rec_key(key, k, id);
    return rc ? rc : store_get(t, db->t_rec, key, out);
}

int net_put(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *rec)
{
    char key[STORE_MAX_KEY];
    int rc = rec_key(key, k, net_str(rec, "id"));
    return rc ? -EINVAL : store_put(t, db->t_rec, key, rec);
}

int net_del(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id)
{
    char key[STORE_MAX_KEY];
    int rc = rec_key(key, k, id);
    return rc ? rc : store_del(t, db->t_rec, key);
}

int net_record_get(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id,
                   json_t **out)
{
    return net_get(t, db, k, id, out);
}

struct rec_scan {
    int (*fn)(json_t *rec, void *ctx);
    void *ctx;
};

static int rec_scan_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key, (void)klen;
    struct rec_scan *s = ctx;
    json_t *rec = store_decode(val, vlen);
    if (!rec)
        return -EIO;
    int rc = s->fn(rec, s->ctx);
    json_decref(rec);
    return rc;
}

int net_record_scan(struct store_txn *t, struct net_db *db, enum net_kind k,
                    int (*fn)(json_t *rec, void *ctx), void *ctx)
{
    char prefix[64];
    int n = snprintf(prefix, sizeof prefix, "%s/", net_kind_plural(k));
    struct rec_scan s = { fn, ctx };
    int rc = store_scan(t, db->t_rec, prefix, (size_t)n, rec_scan_one, &s);
    return rc < 0 ? rc : 0;
}

/* ---- indexes ---- */

static int ix_key(char key[STORE_MAX_KEY], const char *tag, const char *a, const char *b)
{
    return store_index_key(key, tag, a ? a : "", b ? b : "");
}

int net_ix_put(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b, const char *val)
{
    char key[STORE_MAX_KEY];
    int n = ix_key(key, tag, a, b);
    if (n < 0)
        return n;
    return store_put_raw(t, db->t_index, key, (size_t)n, val ? val : "", val ? strlen(val) : 0);
}

int net_ix_get(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b, char *val, size_t vsize)
{
    char key[STORE_MAX_KEY];
    int n = ix_key(key, tag, a, b);
    if (n < 0)
        return -ENOENT;
    const void *v;
    size_t vlen;
    int rc = store_get_raw(t, db->t_index, key, (size_t)n, &v, &vlen);
    if (rc)
        return rc;
    if (val) {
        if (vlen >= vsize)
            return -EOVERFLOW;
        memcpy(val, v, vlen);
        val[vlen] = 0;
    }
    return 0;
}

int net_ix_del(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b)
{
    char key[STORE_MAX_KEY];
    int n = ix_key(key, tag, a, b);
    if (n < 0)
        return -ENOENT;
    return store_del_raw(t, db->t_index, key, (size_t)n);
}

struct ix_scan {
    size_t plen;
    int (*fn)(const char *b, const char *val, void *ctx);
    void *ctx;
};

static int ix_scan_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    struct ix_scan *s = ctx;
    char b[STORE_MAX_KEY], v[STORE_MAX_KEY];
    size_t blen = klen - s->plen;
    if (blen >= sizeof b || vlen >= sizeof v)
        return -EIO;
    memcpy(b, (const char *)key + s->plen, blen);
    b[blen] = 0;
    memcpy(v, val, vlen);
    v[vlen] = 0;
    return s->fn(b, v, s->ctx);
}

int net_ix_scan(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
                int (*fn)(const char *b, const char *val, void *ctx), void *ctx)
{
    char key[STORE_MAX_KEY];
    if (ix_key(key, tag, a, "") < 0)
        return -ENOENT;
    size_t plen = strlen(tag) + 1 + strlen(a) + 1;
    struct ix_scan s = { plen, fn, ctx };
    int rc = store_scan(t, db->t_index, key, plen, ix_scan_one, &s);
    return rc < 0 ? rc : 0;
}

static int ix_collect(const char *b, const char *val, void *ctx)
{
    (void)val;
    return json_array_append_new(ctx, json_string(b)) ? -ENOMEM : 0;
}

int net_ix_list(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
                json_t **out)
{
    json_t *arr = json_array();
    int rc = arr ? net_ix_scan(t, db, tag, a, ix_collect, arr) : -ENOMEM;
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- meta: the index counter ---- */

static int next_index(struct store_txn *t, struct net_db *db, long *out)
{
    const void *v;
    size_t vlen;
    long n = 1;
    int rc = store_get_raw(t, db->t_meta, "index", 5, &v, &vlen);
    if (rc == 0 && vlen < 24) {
        char buf[24];
        memcpy(buf, v, vlen);
        buf[vlen] = 0;
        n = strtol(buf, NULL, 10);
    } else if (rc != -ENOENT) {
        return rc ? rc : -EIO;
    }
    char buf[24];
    int len = snprintf(buf, sizeof buf, "%ld", n + 1);
    rc = store_put_raw(t, db->t_meta, "index", 5, buf, (size_t)len);
    if (rc)
        return rc;
    *out = n;
    return 0;
}

long net_record_index(const json_t *rec)
{
    json_t *p = json_object_get(rec, NET_PRIVATE);
    return (long)json_integer_value(json_object_get(p, "index"));
}

/* ---- quotas and usage ---- */

static const char *const quota_keys[NET_KINDS] = {
    [NET_NETWORK] = "network",
    [NET_SUBNET] = "subnet",
    [NET_PORT] = "port",
    [NET_ROUTER] = "router",
    [NET_FLOATINGIP] = "floatingip",
    [NET_SECGROUP] = "security_group",
    [NET_SGRULE] = "security_group_rule",
};
static const long quota_defaults[NET_KINDS] = { 100, 100, 500, 10, 50, 10, 100 };

static int meta_get_json(struct store_txn *t, struct net_db *db, const char *tag,
                         const char *project, json_t **out)
{
    char key[STORE_MAX_KEY];
    int n = store_index_key(key, tag, project, NULL);
    if (n < 0)
        return n;
    const void *v;
    size_t vlen;
    int rc = store_get_raw(t, db->t_meta, key, (size_t)n, &v, &vlen);
    if (rc)
        return rc;
    *out = store_decode(v, vlen);
    return *out ? 0 : -EIO;
}

static int meta_put_json(struct store_txn *t, struct net_db *db, const char *tag,
                         const char *project, const json_t *val)
{
    char key[STORE_MAX_KEY];
    int n = store_index_key(key, tag, project, NULL);
    if (n < 0)
        return n;
    if (!val)
        return store_del_raw(t, db->t_meta, key, (size_t)n);
    char *text = json_dumps(val, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int rc = store_put_raw(t, db->t_meta, key, (size_t)n, text, strlen(text));
    free(text);
    return rc;
}

int net_quota_get(struct store_txn *t, struct net_db *db, const char *project_id, json_t **out)
{
    json_t *q = json_object(), *over = NULL;
    if (!q)
        return -ENOMEM;
    for (int k = 0; k < NET_KINDS; k++)
        json_object_set_new(q, quota_keys[k], json_integer(quota_defaults[k]));
    int rc = project_id ? meta_get_json(t, db, "quota", project_id, &over) : -ENOENT;
    if (rc == 0) {
        json_object_update_existing(q, over);
        json_decref(over);
    } else if (rc != -ENOENT) {
        json_decref(q);
        return rc;
    }
    *out = q;
    return 0;
}

int net_quota_set(struct store_txn *t, struct net_db *db, const char *project_id,
                  const json_t *body, const struct net_caller *who, json_t **out,
                  struct net_err *err)
{
    if (!who->is_admin)
        return net_fail(err, -EPERM, "PolicyNotAuthorized", "Only admin may change quotas.");
    if (!json_is_object(body))
        return net_fail(err, -EINVAL, "InvalidInput", "The quota body must be an object.");
    json_t *over = NULL;
    int rc = meta_get_json(t, db, "quota", project_id, &over);
    if (rc == -ENOENT)
        over = json_object(), rc = 0;
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        bool known = false;
        for (int k = 0; k < NET_KINDS; k++)
            known |= strcmp(key, quota_keys[k]) == 0;
        if (!known || !json_is_integer(v) || json_integer_value(v) < -1) {
            json_decref(over);
            return net_fail(err, -EINVAL, "InvalidInput",
                            "Invalid quota '%s': a known resource and an integer >= -1.", key);
        }
        json_object_set(over, key, v);
    }
    rc = meta_put_json(t, db, "quota", project_id, over);
    json_decref(over);
    return rc ? rc : net_quota_get(t, db, project_id, out);
}

int net_quota_reset(struct store_txn *t, struct net_db *db, const char *project_id,
                    const struct net_caller *who, struct net_err *err)
{
    if (!who->is_admin)
        return net_fail(err, -EPERM, "PolicyNotAuthorized", "Only admin may change quotas.");
    int rc = meta_put_json(t, db, "quota", project_id, NULL);
    return rc == -ENOENT ? 0 : rc;
}

int net_quota_usage(struct store_txn *t, struct net_db *db, const char *project_id, json_t **out)
{
    json_t *u = NULL;
    int rc = meta_get_json(t, db, "usage", project_id, &u);
    if (rc == -ENOENT)
        u = json_object(), rc = 0;
    if (rc)
        return rc;
    for (int k = 0; k < NET_KINDS; k++)
        if (!json_object_get(u, quota_keys[k]))
            json_object_set_new(u, quota_keys[k], json_integer(0));
    *out = u;
    return 0;
}

int net_usage_add(struct store_txn *t, struct net_db *db, const char *project, enum net_kind k,
                  int delta, struct net_err *err)
{
    if (!project || !*project)
        return 0; /* system-owned (router gateways, floating IP ports) */
    json_t *u = NULL;
    int rc = net_quota_usage(t, db, project, &u);
    if (rc)
        return rc;
    json_int_t used = json_integer_value(json_object_get(u, quota_keys[k])) + delta;
    if (used < 0)
        used = 0;
    if (delta > 0) {
        json_t *q = NULL;
        rc = net_quota_get(t, db, project, &q);
        json_int_t limit = rc ? 0 : json_integer_value(json_object_get(q, quota_keys[k]));
        json_decref(q);
        if (!rc && limit >= 0 && used > limit)
            rc = net_fail(err, -EDQUOT, "OverQuota", "Quota exceeded for resources: ['%s'].",
                          quota_keys[k]);
    }
    if (!rc) {
        json_object_set_new(u, quota_keys[k], json_integer(used));
        rc = meta_put_json(t, db, "usage", project, u);
    }
    json_decref(u);
    return rc;
}

/* ---- new records ---- */

int net_new_record(struct store_txn *t, struct net_db *db, const json_t *body,
                   const struct net_caller *who, json_t **out, struct net_err *err)
{
    const char *name = "", *desc = "", *project = who->project_id;
    int rc = net_opt_str(body, "name", 255, &name, err);
    if (!rc)
        rc = net_opt_str(body, "description", 255, &desc, err);
    const char *asked = NULL;
    if (!rc)
        rc = net_opt_str(body, "project_id", 64, &asked, err);
    if (!rc && !asked)
        rc = net_opt_str(body, "tenant_id", 64, &asked, err);
    if (rc)
        return rc;
    if (asked && (!project || strcmp(asked, project) != 0)) {
        if (!who->is_admin)
            return net_fail(err, -EPERM, "PolicyNotAuthorized",
                            "Only admin may create resources of another project.");
        project = asked;
    }
    if (!project)
        return net_fail(err, -EPERM, "PolicyNotAuthorized", "A project-scoped token is needed.");
    long index;
    rc = next_index(t, db, &index);
    if (rc)
        return rc;
    char id[STORE_ID_LEN + 1], now[32];
    store_new_id(id);
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:i, s:s, s:s, s:{s:I}}", "id", id,
                            "name", name, "description", desc, "project_id", project, "tenant_id",
                            project, "tags", "revision_number", 0, "created_at", now, "updated_at",
                            now, NET_PRIVATE, "index", (json_int_t)index);
    if (!rec)
        return -ENOMEM;
    rc = net_apply_tags(rec, body, err);
    if (rc) {
        json_decref(rec);
        return rc;
    }
    *out = rec;
    return 0;
}

int net_apply_tags(json_t *rec, const json_t *body, struct net_err *err)
{
    json_t *tags = json_object_get(body, "tags");
    if (!tags)
        return 0;
    size_t i;
    json_t *tag;
    if (!json_is_array(tags) || json_array_size(tags) > 50)
        return net_fail(err, -EINVAL, "InvalidInput", "tags: a list of at most 50 strings.");
    json_array_foreach (tags, i, tag)
        if (!json_is_string(tag) || json_string_length(tag) > 255)
            return net_fail(err, -EINVAL, "InvalidInput", "tags: strings of at most 255.");
    json_object_set_new(rec, "tags", json_deep_copy(tags));
    return 0;
}

void net_touch(json_t *rec)
{
    char now[32];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(rec, "updated_at", json_string(now));
    json_int_t rev = json_integer_value(json_object_get(rec, "revision_number"));
    json_object_set_new(rec, "revision_number", json_integer(rev + 1));
}

json_t *net_view(const json_t *rec)
{
    json_t *v = json_deep_copy(rec);
    if (v)
        json_object_del(v, NET_PRIVATE);
    return v;
}

const char *net_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

const char *net_private_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(rec, NET_PRIVATE), key));
}

void net_private_set(json_t *rec, const char *key, json_t *val)
{
    json_t *p = json_object_get(rec, NET_PRIVATE);
    if (!p) {
        p = json_object();
        json_object_set_new(rec, NET_PRIVATE, p);
    }
    if (val)
        json_object_set_new(p, key, val);
    else
        json_object_del(p, key);
}
