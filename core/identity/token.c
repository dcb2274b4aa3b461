/* Self-contained tokens (identity.h): a binary payload and its keyed
 * BLAKE2b MAC, base64url without padding.
 *
 * payload: version(1) methods(1) role_flags(1) n_roles(1) scoped(1)
 *          issued_us(8, LE) expires_us(8, LE) audit(16) user(16)
 *          [project(16) if scoped] roles(16 each)
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOKEN_VERSION 1
#define MAC_LEN       32
#define HEAD_LEN      (5 + 8 + 8 + 16 + 16)
#define MAX_BIN       (HEAD_LEN + 16 + 16 * IDENTITY_MAX_TOKEN_ROLES + MAC_LEN)

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

struct role_ctx {
    struct identity *idn;
    struct store_txn *t;
    struct identity_token *tok;
};

static int add_role(const char *p, const char *u, const char *r, void *ctx)
{
    (void)p;
    (void)u;
    struct role_ctx *rc = ctx;
    struct identity_token *tok = rc->tok;
    json_t *role;
    if (identity_get(rc->t, rc->idn, IDENTITY_ROLE, r, &role))
        return 0; /* a dangling assignment grants nothing */
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
    return 0;
}

static int encode(struct identity *idn, const struct identity_token *tok,
                  char text[IDENTITY_TOKEN_MAX])
{
    unsigned char bin[MAX_BIN], *p = bin;
    bool scoped = tok->project_id[0] != '\0';
    *p++ = TOKEN_VERSION;
    *p++ = (unsigned char)tok->methods;
    *p++ = (unsigned char)tok->role_flags;
    *p++ = (unsigned char)tok->n_roles;
    *p++ = scoped;
    put64(p, tok->issued_us), p += 8;
    put64(p, tok->expires_us), p += 8;
    memcpy(p, tok->audit, 16), p += 16;
    if (store_id_to_bin(tok->user_id, p))
        return -EINVAL;
    p += 16;
    if (scoped) {
        if (store_id_to_bin(tok->project_id, p))
            return -EINVAL;
        p += 16;
    }
    for (unsigned i = 0; i < tok->n_roles; i++, p += 16)
        if (store_id_to_bin(tok->role_ids[i], p))
            return -EINVAL;
    crypto_generichash(p, MAC_LEN, bin, p - bin, idn->key, sizeof(idn->key));
    p += MAC_LEN;
    sodium_bin2base64(text, IDENTITY_TOKEN_MAX, bin, p - bin,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int identity_token_issue(struct store_txn *t, struct identity *idn, const char *user_id,
                         const char *project_id, unsigned methods, const unsigned char *audit,
                         int64_t expires_us, struct identity_token *tok,
                         char text[IDENTITY_TOKEN_MAX])
{
    memset(tok, 0, sizeof(*tok));
    snprintf(tok->user_id, sizeof(tok->user_id), "%s", user_id);
    snprintf(tok->project_id, sizeof(tok->project_id), "%s", project_id ? project_id : "");
    tok->methods = methods;
    tok->issued_us = identity_now_us();
    tok->expires_us = expires_us ? expires_us : tok->issued_us + (int64_t)idn->ttl_s * 1000000;
    if (audit)
        memcpy(tok->audit, audit, 16);
    else
        randombytes_buf(tok->audit, 16);
    if (tok->project_id[0]) {
        struct role_ctx rc = { idn, t, tok };
        int r = identity_assignments(t, idn, project_id, user_id, NULL, add_role, &rc);
        if (r)
            return r;
        if (tok->n_roles == 0)
            return -EACCES;
    }
    return encode(idn, tok, text);
}

static bool revoked(struct identity *idn, const unsigned char *audit, const unsigned char *user,
                    const unsigned char *project, int64_t issued)
{
    int64_t v;
    if (idmap_get(&idn->revoked_audit, audit, &v))
        return true;
    if (idmap_get(&idn->user_nbf, user, &v) && issued < v)
        return true;
    return project && idmap_get(&idn->project_nbf, project, &v) && issued < v;
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
    unsigned n_roles = bin[3];
    bool scoped = bin[4];
    if (n_roles > IDENTITY_MAX_TOKEN_ROLES || bin[4] > 1 ||
        len != HEAD_LEN + (scoped ? 16 : 0) + 16 * n_roles + MAC_LEN)
        return -EINVAL;
    unsigned char mac[MAC_LEN];
    crypto_generichash(mac, MAC_LEN, bin, len - MAC_LEN, idn->key, sizeof(idn->key));
    if (sodium_memcmp(mac, bin + len - MAC_LEN, MAC_LEN) != 0)
        return -EINVAL;

    const unsigned char *p = bin + 5;
    tok->methods = bin[1];
    tok->role_flags = bin[2];
    tok->n_roles = n_roles;
    tok->issued_us = get64(p), p += 8;
    tok->expires_us = get64(p), p += 8;
    memcpy(tok->audit, p, 16), p += 16;
    const unsigned char *user = p, *project = scoped ? p + 16 : NULL;
    store_id_from_bin(user, tok->user_id), p += 16;
    tok->project_id[0] = '\0';
    if (scoped)
        store_id_from_bin(p, tok->project_id), p += 16;
    for (unsigned i = 0; i < n_roles; i++, p += 16)
        store_id_from_bin(p, tok->role_ids[i]);
    if (identity_now_us() >= tok->expires_us)
        return -ETIMEDOUT;
    if (revoked(idn, tok->audit, user, project, tok->issued_us))
        return -EKEYREVOKED;
    return 0;
}
