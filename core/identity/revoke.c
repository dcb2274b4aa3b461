/* Token revocation: in memory for cheap checks, in LMDB to survive restarts.
 * Keys in t_revoke: 'a'+audit (value: the token's expiry, so entries can be
 * pruned), 'u'+user id, 'p'+project (domain, trust, application credential)
 * id, 's'+hash(user, scope) (value: not-before time). */
#include "internal.h"

#include <errno.h>
#include <string.h>

static int persist(struct store_txn *t, struct identity *idn, char kind, const unsigned char id[16],
                   int64_t val)
{
    unsigned char key[17];
    key[0] = (unsigned char)kind;
    memcpy(key + 1, id, 16);
    return store_put_raw(t, idn->t_revoke, key, sizeof(key), &val, sizeof(val));
}

int identity_revoke_token(struct store_txn *t, struct identity *idn,
                          const struct identity_token *tok)
{
    int rc = persist(t, idn, 'a', tok->audit, tok->expires_us);
    return rc ? rc : idmap_set(&idn->revoked_audit, tok->audit, tok->expires_us);
}

static int revoke_before_now(struct store_txn *t, struct identity *idn, char kind, struct idmap *m,
                             const char *id)
{
    unsigned char bin[16];
    if (store_id_to_bin(id, bin))
        return -EINVAL;
    int64_t now = identity_now_us();
    int rc = persist(t, idn, kind, bin, now);
    return rc ? rc : idmap_set(m, bin, now);
}

int identity_revoke_user(struct store_txn *t, struct identity *idn, const char *user_id)
{
    return revoke_before_now(t, idn, 'u', &idn->user_nbf, user_id);
}

int identity_revoke_project(struct store_txn *t, struct identity *idn, const char *project_id)
{
    return revoke_before_now(t, idn, 'p', &idn->project_nbf, project_id);
}

void revoke_pair_key(const char *user, const char *scope, unsigned char out[16])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user));
    crypto_generichash_update(&st, (const unsigned char *)"/", 1);
    crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope));
    crypto_generichash_final(&st, out, 16);
}

int identity_revoke_user_scope(struct store_txn *t, struct identity *idn, const char *user_id,
                               const char *scope_id)
{
    unsigned char key[16];
    revoke_pair_key(user_id, scope_id, key);
    int64_t now = identity_now_us();
    int rc = persist(t, idn, 's', key, now);
    return rc ? rc : idmap_set(&idn->pair_nbf, key, now);
}

int identity_revoke_scope(struct store_txn *t, struct identity *idn, const char *id)
{
    return revoke_before_now(t, idn, 'p', &idn->project_nbf, id);
}

struct load_ctx {
    struct identity *idn;
    json_t *expired; /* audit keys to prune, base64 of 17 bytes */
    int64_t now;
};

static int load_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    struct load_ctx *lc = ctx;
    const unsigned char *k = key;
    int64_t v;
    if (klen != 17 || vlen != sizeof(v))
        return 0; /* not ours: ignore rather than refuse to start */
    memcpy(&v, val, sizeof(v));
    switch (k[0]) {
    case 'a':
        if (v <= lc->now) {
            json_array_append_new(lc->expired, json_stringn_nocheck(key, klen));
            return 0;
        }
        return idmap_set(&lc->idn->revoked_audit, k + 1, v);
    case 'u': return idmap_set(&lc->idn->user_nbf, k + 1, v);
    case 'p': return idmap_set(&lc->idn->project_nbf, k + 1, v);
    case 's': return idmap_set(&lc->idn->pair_nbf, k + 1, v);
    default: return 0;
    }
}

int revocations_load(struct identity *idn)
{
    struct store_txn *t;
    int rc = store_begin(idn->store, true, &t);
    if (rc)
        return rc;
    struct load_ctx lc = { idn, json_array(), identity_now_us() };
    rc = store_scan(t, idn->t_revoke, NULL, 0, load_one, &lc);
    size_t i;
    json_t *k;
    json_array_foreach (lc.expired, i, k) {
        if (rc)
            break;
        rc = store_del_raw(t, idn->t_revoke, json_string_value(k), json_string_length(k));
    }
    json_decref(lc.expired);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}
