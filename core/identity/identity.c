/* Opening the identity model and the first-start bootstrap. */
#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The MAC key lives in the store, so tokens survive restarts. */
static int load_key(struct identity *idn)
{
    struct store_txn *t;
    int rc = store_begin(idn->store, true, &t);
    if (rc)
        return rc;
    const void *val;
    size_t vlen;
    rc = store_get_raw(t, idn->t_meta, "token_key", 9, &val, &vlen);
    if (rc == 0 && vlen == sizeof(idn->key)) {
        memcpy(idn->key, val, vlen);
        store_abort(t);
        return 0;
    }
    crypto_generichash_keygen(idn->key);
    rc = store_put_raw(t, idn->t_meta, "token_key", 9, idn->key, sizeof(idn->key));
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

int identity_open(struct store *s, int ttl_s, struct identity **out)
{
    if (sodium_init() < 0)
        return -EIO;
    struct identity *idn = calloc(1, sizeof(*idn));
    if (!idn)
        return -ENOMEM;
    idn->store = s;
    idn->ttl_s = ttl_s > 0 ? ttl_s : IDENTITY_DEFAULT_TTL;
    int rc = idmap_init(&idn->revoked_audit);
    if (!rc && (rc = idmap_init(&idn->user_nbf)) != 0)
        idmap_free(&idn->revoked_audit);
    if (!rc && (rc = idmap_init(&idn->project_nbf)) != 0) {
        idmap_free(&idn->revoked_audit);
        idmap_free(&idn->user_nbf);
    }
    if (!rc && (rc = idmap_init(&idn->pair_nbf)) != 0) {
        idmap_free(&idn->revoked_audit);
        idmap_free(&idn->user_nbf);
        idmap_free(&idn->project_nbf);
    }
    if (rc) {
        free(idn);
        return rc;
    }
    for (int k = 0; k < IDENTITY_KINDS && !rc; k++)
        rc = store_table(s, identity_kind_table(k), &idn->t_rec[k]);
    if (!rc)
        rc = store_table(s, "identity.names", &idn->t_names);
    if (!rc)
        rc = store_table(s, "identity.assignments", &idn->t_assign);
    if (!rc)
        rc = store_table(s, "identity.inherited", &idn->t_inherit);
    if (!rc)
        rc = store_table(s, "identity.members", &idn->t_members);
    if (!rc)
        rc = store_table(s, "identity.implied", &idn->t_implied);
    if (!rc)
        rc = store_table(s, "identity.meta", &idn->t_meta);
    if (!rc)
        rc = store_table(s, "identity.revocations", &idn->t_revoke);
    if (!rc)
        rc = load_key(idn);
    if (!rc)
        rc = revocations_load(idn);
    if (rc) {
        identity_close(idn);
        return rc;
    }
    *out = idn;
    return 0;
}

void identity_close(struct identity *idn)
{
    if (!idn)
        return;
    idmap_free(&idn->revoked_audit);
    idmap_free(&idn->user_nbf);
    idmap_free(&idn->project_nbf);
    idmap_free(&idn->pair_nbf);
    sodium_memzero(idn->key, sizeof(idn->key));
    free(idn);
}

uint64_t identity_generation(struct identity *idn)
{
    return atomic_load_explicit(&idn->generation, memory_order_acquire);
}

void identity_changed(struct identity *idn)
{
    atomic_fetch_add_explicit(&idn->generation, 1, memory_order_release);
}

struct store *identity_store(struct identity *idn)
{
    return idn->store;
}

static int add(struct store_txn *t, struct identity *idn, enum identity_kind k, json_t *rec)
{
    int rc = identity_create(t, idn, k, rec);
    json_decref(rec);
    return rc;
}

static json_t *new_role(const char *name)
{
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    return json_pack("{s:s, s:s, s:n, s:s, s:{}}", "id", id, "name", name, "domain_id",
                     "description", "", "options");
}

int identity_bootstrap_needed(struct identity *idn)
{
    struct store_txn *t;
    int rc = store_begin(idn->store, false, &t);
    if (rc)
        return rc;
    json_t *dom;
    rc = identity_get(t, idn, IDENTITY_DOMAIN, IDENTITY_DEFAULT_DOMAIN, &dom);
    store_abort(t);
    if (rc == 0) {
        json_decref(dom);
        return 0;
    }
    return rc == -ENOENT ? 1 : rc;
}

void identity_new_password(char out[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, 33, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int identity_bootstrap(struct identity *idn, char password_out[33], bool *created)
{
    identity_new_password(password_out);
    return identity_bootstrap_with(idn, password_out, created);
}

int identity_bootstrap_with(struct identity *idn, const char *password, bool *created)
{
    *created = false;
    struct store_txn *t;
    int rc = store_begin(idn->store, true, &t);
    if (rc)
        return rc;
    json_t *dom;
    if (identity_get(t, idn, IDENTITY_DOMAIN, IDENTITY_DEFAULT_DOMAIN, &dom) == 0) {
        json_decref(dom);
        store_abort(t);
        return 0;
    }
    char project[STORE_ID_LEN + 1], user[STORE_ID_LEN + 1];
    store_new_id(project);
    store_new_id(user);
    json_t *admin_role = new_role("admin");
    char role[STORE_ID_LEN + 1];
    strcpy(role, json_string_value(json_object_get(admin_role, "id")));
    json_t *u = json_pack("{s:s, s:s, s:s, s:s, s:b, s:{}, s:n}", "id", user, "name", "admin",
                          "domain_id", IDENTITY_DEFAULT_DOMAIN, "default_project_id", project,
                          "enabled", 1, "options", "password_expires_at");
    rc = identity_password_hash(password, u);
    if (!rc)
        rc = add(t, idn, IDENTITY_DOMAIN,
                 json_pack("{s:s, s:s, s:s, s:b, s:[], s:{}}", "id", IDENTITY_DEFAULT_DOMAIN,
                           "name", "Default", "description", "The default domain", "enabled", 1,
                           "tags", "options"));
    if (!rc)
        rc = add(t, idn, IDENTITY_PROJECT,
                 json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:[], s:{}}", "id", project, "name",
                           "admin", "domain_id", IDENTITY_DEFAULT_DOMAIN, "description",
                           "Bootstrap project", "enabled", 1, "is_domain", 0, "parent_id",
                           IDENTITY_DEFAULT_DOMAIN, "tags", "options"));
    if (!rc)
        rc = add(t, idn, IDENTITY_ROLE, admin_role);
    else
        json_decref(admin_role);
    if (!rc)
        rc = add(t, idn, IDENTITY_ROLE, new_role("member"));
    if (!rc)
        rc = add(t, idn, IDENTITY_ROLE, new_role("reader"));
    if (!rc)
        rc = add(t, idn, IDENTITY_USER, u);
    else
        json_decref(u);
    if (!rc)
        rc = identity_assign(t, idn, project, user, role);
    if (rc) {
        store_abort(t);
        return rc;
    }
    rc = store_commit(t);
    *created = rc == 0;
    return rc;
}
