/* Self-contained tokens (identity.h): a binary payload and its keyed
 * BLAKE2b MAC, base64url without padding.
 *
 * payload: version(1) methods(1) role_flags(1) n_roles(1) scope(1) extras(1)
 *          issued_us(8, LE) expires_us(8, LE) audit(16) user(16)
 *          [project or domain (16) if scope is SC_PROJECT or SC_DOMAIN]
 *          [trust(16) if extras & 1] [application credential(16) if extras & 2]
 *          roles(16 each)
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOKEN_VERSION 2
#define MAC_LEN       32
#define HEAD_LEN      (6 + 8 + 8 + 16 + 16)
#define MAX_BIN       (HEAD_LEN + 48 + 16 * IDENTITY_MAX_TOKEN_ROLES + MAC_LEN)

/* The scope byte: the default domain's id is no UUID, so it has its own. */
enum { SC_NONE, SC_PROJECT, SC_DOMAIN, SC_DEFAULT_DOMAIN, SC_SYSTEM, SC_MAX = SC_SYSTEM };
enum { EX_TRUST = 1, EX_APP_CRED = 2 };

int64_t identity_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void identity_audit_text(const unsigned char audit[16], char out[23])
{
    sodium_bin2base64(out, 23, audit, 16, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void put64(unsigned char *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static int64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (int64_t)v;
}

/* Adds role id r to the token (flags from its name). */
static void add_role(struct store_txn *t, struct identity *idn, struct identity_token *tok,
                     const char *r)
{
    json_t *role;
    if (identity_get(t, idn, IDENTITY_ROLE, r, &role))
        return; /* a dangling grant grants nothing */
    const char *name = json_string_value(json_object_get(role, "name"));
    if (name && !strcmp(name, "admin"))
        tok->role_flags |= IDENTITY_ADMIN | IDENTITY_MEMBER | IDENTITY_READER;
    else if (name && !strcmp(name, "member"))
        tok->role_flags |= IDENTITY_MEMBER | IDENTITY_READER;
    else if (name && !strcmp(name, "reader"))
        tok->role_flags |= IDENTITY_READER;
    json_decref(role);
    /* Flags count every role; the body lists the first IDENTITY_MAX_TOKEN_ROLES. */
    if (tok->n_roles < IDENTITY_MAX_TOKEN_ROLES)
        snprintf(tok->role_ids[tok->n_roles++], STORE_ID_LEN + 1, "%s", r);
}

static int scope_byte(const struct identity_token *tok)
{
    switch (tok->scope) {
    case IDENTITY_SCOPE_PROJECT: return SC_PROJECT;
    case IDENTITY_SCOPE_DOMAIN:
        return strcmp(tok->domain_id, IDENTITY_DEFAULT_DOMAIN) ? SC_DOMAIN : SC_DEFAULT_DOMAIN;
    case IDENTITY_SCOPE_SYSTEM: return SC_SYSTEM;
    default: return SC_NONE;
    }
}

static int put_id(unsigned char **p, const char *id)
{
    if (store_id_to_bin(id, *p))
        return -EINVAL;
    *p += 16;
    return 0;
}

static int encode(struct identity *idn, const struct identity_token *tok,
                  char text[IDENTITY_TOKEN_MAX])
{
    unsigned char bin[MAX_BIN], *p = bin;
    int sc = scope_byte(tok);
    *p++ = TOKEN_VERSION;
    *p++ = (unsigned char)tok->methods;
    *p++ = (unsigned char)tok->role_flags;
    *p++ = (unsigned char)tok->n_roles;
    *p++ = (unsigned char)sc;
    *p++ = (unsigned char)((tok->trust_id[0] ? EX_TRUST : 0) |
                           (tok->app_cred_id[0] ? EX_APP_CRED : 0));
    put64(p, tok->issued_us), p += 8;
    put64(p, tok->expires_us), p += 8;
    memcpy(p, tok->audit, 16), p += 16;
    if (put_id(&p, tok->user_id) || (sc == SC_PROJECT && put_id(&p, tok->project_id)) ||
        (sc == SC_DOMAIN && put_id(&p, tok->domain_id)) ||
        (tok->trust_id[0] && put_id(&p, tok->trust_id)) ||
        (tok->app_cred_id[0] && put_id(&p, tok->app_cred_id)))
        return -EINVAL;
    for (unsigned i = 0; i < tok->n_roles; i++)
        if (put_id(&p, tok->role_ids[i]))
            return -EINVAL;
    crypto_generichash(p, MAC_LEN, bin, p - bin, idn->key, sizeof(idn->key));
    p += MAC_LEN;
    /* A trust and an application credential together with the most roles
     * would not fit the text form: refuse rather than let libsodium abort. */
    if (sodium_base64_ENCODED_LEN((size_t)(p - bin), sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
        IDENTITY_TOKEN_MAX)
        return -EOVERFLOW;
    sodium_bin2base64(text, IDENTITY_TOKEN_MAX, bin, p - bin,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int identity_token_issue_req(struct store_txn *t, struct identity *idn,
                             const struct identity_token_req *req, struct identity_token *tok,
                             char text[IDENTITY_TOKEN_MAX])
{
    memset(tok, 0, sizeof(*tok));
    snprintf(tok->user_id, sizeof(tok->user_id), "%s", req->user_id);
    tok->scope = req->scope;
    if (req->scope == IDENTITY_SCOPE_PROJECT)
        snprintf(tok->project_id, sizeof(tok->project_id), "%s", req->target);
    else if (req->scope == IDENTITY_SCOPE_DOMAIN)
        snprintf(tok->domain_id, sizeof(tok->domain_id), "%s", req->target);
    snprintf(tok->trust_id, sizeof(tok->trust_id), "%s", req->trust_id ? req->trust_id : "");
    snprintf(tok->app_cred_id, sizeof(tok->app_cred_id), "%s",
             req->app_cred_id ? req->app_cred_id : "");
    tok->methods = req->methods;
    tok->issued_us = identity_now_us();
    tok->expires_us =
        req->expires_us ? req->expires_us : tok->issued_us + (int64_t)idn->ttl_s * 1000000;
    if (req->audit)
        memcpy(tok->audit, req->audit, 16);
    else
        randombytes_buf(tok->audit, 16);
    if (req->scope != IDENTITY_SCOPE_NONE) {
        json_t *roles = (json_t *)req->roles;
        const char *target = req->scope == IDENTITY_SCOPE_SYSTEM ? IDENTITY_SYSTEM : req->target;
        if (!roles) {
            int rc = identity_effective_roles(t, idn, req->user_id, target, &roles);
            if (rc)
                return rc;
        }
        const char *role;
        json_t *v;
        json_object_foreach (roles, role, v)
            add_role(t, idn, tok, role);
        if (!req->roles)
            json_decref(roles);
        if (tok->n_roles == 0)
            return -EACCES;
    }
    return encode(idn, tok, text);
}

int identity_token_issue(struct store_txn *t, struct identity *idn, const char *user_id,
                         const char *project_id, unsigned methods, const unsigned char *audit,
                         int64_t expires_us, struct identity_token *tok,
                         char text[IDENTITY_TOKEN_MAX])
{
    struct identity_token_req req = {
        .user_id = user_id,
        .scope = project_id ? IDENTITY_SCOPE_PROJECT : IDENTITY_SCOPE_NONE,
        .target = project_id,
        .methods = methods,
        .audit = audit,
        .expires_us = expires_us,
    };
    return identity_token_issue_req(t, idn, &req, tok, text);
}

/* scopes: the project/domain, trust and application credential ids
 * (NULL when absent), revoked together through the scope map. */
static bool revoked(struct identity *idn, const unsigned char *audit, const unsigned char *user,
                    const unsigned char *const scopes[3], int64_t issued)
{
    int64_t v;
    if (idmap_get(&idn->revoked_audit, audit, &v))
        return true;
    if (idmap_get(&idn->user_nbf, user, &v) && issued < v)
        return true;
    for (int i = 0; i < 3; i++)
        if (scopes[i] && idmap_get(&idn->project_nbf, scopes[i], &v) && issued < v)
            return true;
    return false;
}

/* base64url without padding; libsodium's decoder is constant-time and
 * several times slower, and nothing secret depends on this decoding (the
 * MAC comparison below is constant-time). Returns -1 on a bad character. */
static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t max, size_t *len)
{
    if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) > max)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) /* non-canonical trailing bits */
        return -1;
    *len = o;
    return 0;
}

int identity_token_check(struct identity *idn, const char *text, struct identity_token *tok)
{
    unsigned char bin[MAX_BIN];
    size_t len;
    size_t tlen = strnlen(text, IDENTITY_TOKEN_MAX);
    if (tlen == 0 || tlen >= IDENTITY_TOKEN_MAX ||
        b64url_decode(text, tlen, bin, sizeof(bin), &len) != 0)
        return -EINVAL;
    if (len < HEAD_LEN + MAC_LEN || bin[0] != TOKEN_VERSION)
        return -EINVAL;
    unsigned n_roles = bin[3], sc = bin[4], extras = bin[5];
    size_t ids =
        (sc == SC_PROJECT || sc == SC_DOMAIN) + !!(extras & EX_TRUST) + !!(extras & EX_APP_CRED);
    if (n_roles > IDENTITY_MAX_TOKEN_ROLES || sc > SC_MAX || extras > 3 ||
        len != HEAD_LEN + 16 * ids + 16 * n_roles + MAC_LEN)
        return -EINVAL;
    unsigned char mac[MAC_LEN];
    crypto_generichash(mac, MAC_LEN, bin, len - MAC_LEN, idn->key, sizeof(idn->key));
    if (sodium_memcmp(mac, bin + len - MAC_LEN, MAC_LEN) != 0)
        return -EINVAL;

    memset(tok, 0, sizeof(*tok));
    const unsigned char *p = bin + 6;
    tok->methods = bin[1];
    tok->role_flags = bin[2];
    tok->n_roles = n_roles;
    tok->issued_us = get64(p), p += 8;
    tok->expires_us = get64(p), p += 8;
    memcpy(tok->audit, p, 16), p += 16;
    const unsigned char *user = p, *scopes[3] = { NULL, NULL, NULL };
    store_id_from_bin(user, tok->user_id), p += 16;
    static const enum identity_scope of[] = { IDENTITY_SCOPE_NONE, IDENTITY_SCOPE_PROJECT,
                                              IDENTITY_SCOPE_DOMAIN, IDENTITY_SCOPE_DOMAIN,
                                              IDENTITY_SCOPE_SYSTEM };
    tok->scope = of[sc];
    if (sc == SC_PROJECT || sc == SC_DOMAIN) {
        scopes[0] = p;
        store_id_from_bin(p, sc == SC_PROJECT ? tok->project_id : tok->domain_id), p += 16;
    } else if (sc == SC_DEFAULT_DOMAIN) {
        snprintf(tok->domain_id, sizeof(tok->domain_id), "%s", IDENTITY_DEFAULT_DOMAIN);
    }
    if (extras & EX_TRUST)
        scopes[1] = p, store_id_from_bin(p, tok->trust_id), p += 16;
    if (extras & EX_APP_CRED)
        scopes[2] = p, store_id_from_bin(p, tok->app_cred_id), p += 16;
    for (unsigned i = 0; i < n_roles; i++, p += 16)
        store_id_from_bin(p, tok->role_ids[i]);
    if (identity_now_us() >= tok->expires_us)
        return -ETIMEDOUT;
    if (revoked(idn, tok->audit, user, scopes, tok->issued_us))
        return -EKEYREVOKED;
    const char *scope_id = tok->project_id[0] ? tok->project_id : tok->domain_id;
    int64_t nbf;
    if (scope_id[0]) {
        unsigned char key[16];
        revoke_pair_key(tok->user_id, scope_id, key);
        if (idmap_get(&idn->pair_nbf, key, &nbf) && tok->issued_us < nbf)
            return -EKEYREVOKED;
    }
    return 0;
}
