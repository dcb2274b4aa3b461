/* Keypairs: per user, under "user\0name"; generated RSA keys (libcrypto)
 * or imported OpenSSH public keys; Nova's MD5 fingerprint. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PUBKEY 16384

int compute_ssh_fingerprint(const char *public_key, char out[48])
{
    if (!public_key || strlen(public_key) > MAX_PUBKEY)
        return -EINVAL;
    const char *b64 = strchr(public_key, ' ');
    if (!b64 || b64 == public_key)
        return -EINVAL;
    b64++;
    size_t n = strcspn(b64, " \r\n");
    unsigned char *blob = malloc(n + 1);
    if (!blob)
        return -ENOMEM;
    size_t len = 0;
    int rc =
        sodium_base642bin(blob, n + 1, b64, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL);
    /* The blob begins with its own key type, as a length-prefixed string. */
    size_t tlen = (size_t)(b64 - 1 - public_key);
    if (rc || len < 4 + tlen ||
        ((size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3]) != tlen ||
        memcmp(blob + 4, public_key, tlen) != 0) {
        free(blob);
        return -EINVAL;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    rc = EVP_Digest(blob, len, md, &mdlen, EVP_md5(), NULL) == 1 ? 0 : -EIO;
    free(blob);
    if (rc)
        return rc;
    for (unsigned i = 0; i < mdlen && i < 16; i++)
        snprintf(out + 3 * i, 4, i + 1 < mdlen ? "%02x:" : "%02x", md[i]);
    return 0;
}

/* Appends an SSH string or mpint (length-prefixed) to buf at *at. */
static void put_bytes(unsigned char *buf, size_t *at, const unsigned char *b, size_t n)
{
    buf[(*at)++] = (unsigned char)(n >> 24);
    buf[(*at)++] = (unsigned char)(n >> 16);
    buf[(*at)++] = (unsigned char)(n >> 8);
    buf[(*at)++] = (unsigned char)n;
    memcpy(buf + *at, b, n);
    *at += n;
}

static void put_mpint(unsigned char *buf, size_t *at, const BIGNUM *bn)
{
    unsigned char tmp[1024];
    int n = BN_bn2bin(bn, tmp + 1);
    tmp[0] = 0;
    bool pad = n > 0 && (tmp[1] & 0x80);
    put_bytes(buf, at, pad ? tmp : tmp + 1, (size_t)n + pad);
}

/* A fresh RSA 2048 key: the OpenSSH public line and the PEM private key. */
static int generate_rsa(const char *comment, char **pub, char **priv)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    if (!k)
        return -EIO;
    int rc = -EIO;
    BIGNUM *n = NULL, *e = NULL;
    BIO *bio = NULL;
    if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) || BN_num_bytes(n) > 1000 ||
        BN_num_bytes(e) > 1000)
        goto out;
    unsigned char blob[2200];
    size_t at = 0;
    put_bytes(blob, &at, (const unsigned char *)"ssh-rsa", 7);
    put_mpint(blob, &at, e);
    put_mpint(blob, &at, n);
    size_t b64len = sodium_base64_ENCODED_LEN(at, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    if (!b64)
        goto out;
    sodium_bin2base64(b64, b64len, blob, at, sodium_base64_VARIANT_ORIGINAL);
    int ok = asprintf(pub, "ssh-rsa %s %s\n", b64, comment);
    free(b64);
    if (ok < 0)
        goto out;
    bio = BIO_new(BIO_s_mem());
    char *data;
    long dlen;
    if (!bio || !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) ||
        (dlen = BIO_get_mem_data(bio, &data)) <= 0 || !(*priv = strndup(data, (size_t)dlen))) {
        free(*pub);
        goto out;
    }
    rc = 0;
out:
    BIO_free(bio);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(k);
    return rc;
}

static bool good_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)name[i]) || strchr("-_ .@", name[i])))
            return false;
    return true;
}

static int key_of(const char *user_id, const char *name, char key[STORE_MAX_KEY], size_t *klen)
{
    int n = store_index_key(key, user_id, name, NULL);
    if (n < 0)
        return n;
    *klen = (size_t)n;
    return 0;
}

static int count_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ++*(long *)ctx;
    return 0;
}

static int collect(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    json_t *k = store_decode(val, vlen);
    if (!k)
        return -EBADMSG;
    return json_array_append_new(ctx, k) ? -ENOMEM : 0;
}

/* The scan prefix "user\0". */
static size_t user_prefix(const char *user_id, char *buf, size_t max)
{
    size_t n = strlen(user_id);
    if (n + 1 > max)
        return 0;
    memcpy(buf, user_id, n + 1);
    return n + 1;
}

static int check_quota(struct compute *c, struct store_txn *t, const char *user_id,
                       const char *project_id, struct compute_err *err)
{
    json_t *q;
    int rc = compute_quota_get(c, t, project_id, &q);
    if (rc)
        return rc;
    long limit = (long)json_integer_value(json_object_get(q, "key_pairs")), have = 0;
    json_decref(q);
    char pre[STORE_MAX_KEY];
    size_t plen = user_prefix(user_id, pre, sizeof pre);
    rc = plen ? store_scan(t, c->keypairs, pre, plen, count_one, &have) : -EINVAL;
    if (rc < 0)
        return rc;
    if (limit >= 0 && have + 1 > limit)
        return cmp_fail(err, -EDQUOT, "Quota exceeded, too many key pairs.");
    return 0;
}

int compute_keypair_create(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *project_id, const char *name, const char *type,
                           const char *public_key, json_t **out, struct compute_err *err)
{
    if (!good_name(name))
        return cmp_fail(err, -EINVAL,
                        "Keypair data is invalid: Keypair name contains unsafe characters or "
                        "has a bad length.");
    if (type && strcmp(type, "ssh") != 0)
        return cmp_fail(err, -EINVAL, "Keypair data is invalid: only type 'ssh' is supported.");
    char key[STORE_MAX_KEY];
    size_t klen;
    int rc = key_of(user_id, name, key, &klen);
    if (rc)
        return cmp_fail(err, -EINVAL, "Keypair data is invalid: name too long.");
    const void *v;
    size_t vlen;
    rc = store_get_raw(t, c->keypairs, key, klen, &v, &vlen);
    if (rc == 0)
        return cmp_fail(err, -EEXIST, "Key pair '%s' already exists.", name);
    if (rc != -ENOENT)
        return rc;
    rc = check_quota(c, t, user_id, project_id, err);
    if (rc)
        return rc;
    char *pub = NULL, *priv = NULL;
    if (public_key) {
        pub = strdup(public_key);
        if (!pub)
            return -ENOMEM;
    } else if ((rc = generate_rsa("Generated-by-Nova", &pub, &priv)))
        return cmp_fail(err, rc, "Key generation failed.");
    char fp[48];
    rc = compute_ssh_fingerprint(pub, fp);
    if (rc) {
        free(pub);
        free(priv);
        return cmp_fail(err, -EINVAL, "Keypair data is invalid: failed to generate fingerprint");
    }
    char now[32];
    time_t tt = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S.000000", gmtime_r(&tt, &tm));
    /* Nova shows an integer id (its row number): a random positive one here,
     * opaque to clients, which name keypairs by name. */
    json_int_t num = (json_int_t)randombytes_uniform(INT32_MAX) + 1;
    json_t *k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "name", name, "user_id",
                          user_id, "project_id", project_id ?: "", "type", "ssh", "public_key", pub,
                          "fingerprint", fp, "created_at", now, "id", num);
    free(pub);
    if (!k) {
        free(priv);
        return -ENOMEM;
    }
    char *text = json_dumps(k, JSON_COMPACT);
    rc = text ? store_put_raw(t, c->keypairs, key, klen, text, strlen(text)) : -ENOMEM;
    free(text);
    if (!rc && priv)
        json_object_set_new(k, "private_key", json_string(priv));
    if (priv)
        sodium_memzero(priv, strlen(priv));
    free(priv);
    if (rc) {
        json_decref(k);
        return rc;
    }
    *out = k;
    return 0;
}

int compute_keypair_get(struct compute *c, struct store_txn *t, const char *user_id,
                        const char *name, json_t **out)
{
    char key[STORE_MAX_KEY];
    size_t klen;
    if (key_of(user_id, name, key, &klen))
        return -ENOENT;
    const void *v;
    size_t vlen;
    int rc = store_get_raw(t, c->keypairs, key, klen, &v, &vlen);
    if (rc)
        return rc;
    *out = store_decode(v, vlen);
    return *out ? 0 : -EBADMSG;
}

int compute_keypair_list(struct compute *c, struct store_txn *t, const char *user_id, json_t **out)
{
    char pre[STORE_MAX_KEY];
    size_t plen = user_prefix(user_id, pre, sizeof pre);
    if (!plen)
        return -EINVAL;
    json_t *all = json_array();
    if (!all)
        return -ENOMEM;
    int rc = store_scan(t, c->keypairs, pre, plen, collect, all);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return 0;
}

int compute_keypair_delete(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *name)
{
    char key[STORE_MAX_KEY];
    size_t klen;
    if (key_of(user_id, name, key, &klen))
        return -ENOENT;
    return store_del_raw(t, c->keypairs, key, klen);
}
