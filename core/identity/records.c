/* Domains, projects, users, roles and role assignments in the store. */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* Each kind: its name, its table, and the field that scopes its unique
 * name ("" global, NULL no unique name). */
static const struct kind {
    const char *name, *table, *scope;
} kinds[IDENTITY_KINDS] = {
    [IDENTITY_DOMAIN] = { "domain", "identity.domains", "" },
    [IDENTITY_PROJECT] = { "project", "identity.projects", "domain_id" },
    [IDENTITY_USER] = { "user", "identity.users", "domain_id" },
    [IDENTITY_ROLE] = { "role", "identity.roles", "domain_id" },
    [IDENTITY_GROUP] = { "group", "identity.groups", "domain_id" },
    [IDENTITY_REGION] = { "region", "identity.regions", NULL },
    [IDENTITY_SERVICE] = { "service", "identity.services", NULL },
    [IDENTITY_ENDPOINT] = { "endpoint", "identity.endpoints", NULL },
    [IDENTITY_CREDENTIAL] = { "credential", "identity.credentials", NULL },
    [IDENTITY_POLICY] = { "policy", "identity.policies", NULL },
    [IDENTITY_APP_CRED] = { "application_credential", "identity.app_creds", "user_id" },
    [IDENTITY_ACCESS_RULE] = { "access_rule", "identity.access_rules", NULL },
    [IDENTITY_TRUST] = { "trust", "identity.trusts", NULL },
    [IDENTITY_CONSUMER] = { "consumer", "identity.consumers", NULL },
    [IDENTITY_ENDPOINT_GROUP] = { "endpoint_group", "identity.endpoint_groups", NULL },
    [IDENTITY_DOMAIN_CONFIG] = { "config", "identity.domain_configs", NULL },
};

const char *identity_kind_name(enum identity_kind k)
{
    return k < IDENTITY_KINDS ? kinds[k].name : "?";
}

const char *identity_kind_table(enum identity_kind k)
{
    return kinds[k].table;
}

static const char *str(const json_t *rec, const char *field)
{
    const char *s = json_string_value(json_object_get(rec, field));
    return s ? s : "";
}

/* Name index key: kind\0scope\0name (scope "" for global kinds). */
static int name_key(char out[STORE_MAX_KEY], enum identity_kind k, const char *scope,
                    const char *name)
{
    return store_index_key(out, kinds[k].name, *kinds[k].scope && scope ? scope : "", name);
}

int identity_get(struct store_txn *t, struct identity *idn, enum identity_kind k, const char *id,
                 json_t **out)
{
    return store_get(t, idn->t_rec[k], id, out);
}

int identity_find(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  const char *scope, const char *name, json_t **out)
{
    char key[STORE_MAX_KEY];
    if (!kinds[k].scope)
        return -ENOENT;
    int klen = name_key(key, k, scope, name);
    if (klen < 0)
        return -ENOENT;
    const void *val;
    size_t vlen;
    int rc = store_get_raw(t, idn->t_names, key, klen, &val, &vlen);
    if (rc)
        return rc;
    char id[STORE_MAX_KEY + 1];
    if (vlen > STORE_MAX_KEY)
        return -EIO;
    memcpy(id, val, vlen);
    id[vlen] = '\0';
    return identity_get(t, idn, k, id, out);
}

struct list_ctx {
    int (*fn)(json_t *rec, void *ctx);
    void *ctx;
};

static int list_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    struct list_ctx *lc = ctx;
    json_t *rec = store_decode(val, vlen);
    if (!rec)
        return -EIO;
    int rc = lc->fn(rec, lc->ctx);
    json_decref(rec);
    return rc;
}

int identity_list(struct store_txn *t, struct identity *idn, enum identity_kind k,
                  int (*fn)(json_t *rec, void *ctx), void *ctx)
{
    struct list_ctx lc = { fn, ctx };
    return store_scan(t, idn->t_rec[k], NULL, 0, list_one, &lc);
}

static int index_name(struct store_txn *t, struct identity *idn, enum identity_kind k,
                      const json_t *rec)
{
    if (!kinds[k].scope)
        return 0;
    char key[STORE_MAX_KEY];
    int klen = name_key(key, k, str(rec, kinds[k].scope), str(rec, "name"));
    if (klen < 0)
        return klen;
    const void *val;
    size_t vlen;
    if (store_get_raw(t, idn->t_names, key, klen, &val, &vlen) == 0)
        return -EEXIST;
    const char *id = str(rec, "id");
    return store_put_raw(t, idn->t_names, key, klen, id, strlen(id));
}

static int unindex_name(struct store_txn *t, struct identity *idn, enum identity_kind k,
                        const json_t *rec)
{
    if (!kinds[k].scope)
        return 0;
    char key[STORE_MAX_KEY];
    int klen = name_key(key, k, str(rec, kinds[k].scope), str(rec, "name"));
    if (klen < 0)
        return klen;
    int rc = store_del_raw(t, idn->t_names, key, klen);
    return rc == -ENOENT ? 0 : rc;
}

int identity_create(struct store_txn *t, struct identity *idn, enum identity_kind k, json_t *rec)
{
    if (!*str(rec, "id") || (kinds[k].scope && !*str(rec, "name")))
        return -EINVAL;
    json_t *old;
    if (store_get(t, idn->t_rec[k], str(rec, "id"), &old) == 0) {
        json_decref(old);
        return -EEXIST;
    }
    int rc = index_name(t, idn, k, rec);
    return rc ? rc : store_put(t, idn->t_rec[k], str(rec, "id"), rec);
}

int identity_update(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *old, json_t *rec)
{
    const char *sf = kinds[k].scope ? kinds[k].scope : "domain_id";
    if (strcmp(str(old, "name"), str(rec, "name")) != 0 ||
        strcmp(str(old, sf), str(rec, sf)) != 0) {
        int rc = unindex_name(t, idn, k, old);
        if (!rc)
            rc = index_name(t, idn, k, rec);
        if (rc)
            return rc;
    }
    return store_put(t, idn->t_rec[k], str(rec, "id"), rec);
}

int identity_delete(struct store_txn *t, struct identity *idn, enum identity_kind k,
                    const json_t *rec)
{
    const char *id = str(rec, "id");
    int rc = unindex_name(t, idn, k, rec);
    if (!rc)
        rc = store_del(t, idn->t_rec[k], id);
    if (!rc)
        rc = relations_forget(t, idn, k, id);
    return rc;
}

json_t *identity_public(const json_t *rec)
{
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)rec, key, val) {
        if (key[0] != '_')
            json_object_set(out, key, val);
    }
    return out;
}
