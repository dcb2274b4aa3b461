/* MD5 (Glance's "checksum") and SHA-512 (os_hash_value) of the uploaded
 * bytes, computed as they stream past: OpenSSL's libcrypto, since
 * libsodium has no MD5. */
#include "core/images/images.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct image_hasher {
    EVP_MD_CTX *md5, *sha512;
};

struct image_hasher *image_hasher_new(void)
{
    struct image_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->md5 = EVP_MD_CTX_new();
    h->sha512 = EVP_MD_CTX_new();
    if (!h->md5 || !h->sha512 || EVP_DigestInit_ex(h->md5, EVP_md5(), NULL) != 1 ||
        EVP_DigestInit_ex(h->sha512, EVP_sha512(), NULL) != 1) {
        image_hasher_free(h);
        return NULL;
    }
    return h;
}

void image_hasher_update(struct image_hasher *h, const void *buf, size_t len)
{
    EVP_DigestUpdate(h->md5, buf, len);
    EVP_DigestUpdate(h->sha512, buf, len);
}

void image_hasher_update_md5(struct image_hasher *h, const void *buf, size_t len)
{
    EVP_DigestUpdate(h->md5, buf, len);
}

void image_hasher_update_sha512(struct image_hasher *h, const void *buf, size_t len)
{
    EVP_DigestUpdate(h->sha512, buf, len);
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void image_hasher_final(struct image_hasher *h, char md5_hex[33], char sha512_hex[129])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(h->md5, d, &n);
    hex(d, n, md5_hex);
    EVP_DigestFinal_ex(h->sha512, d, &n);
    hex(d, n, sha512_hex);
}

void image_hasher_free(struct image_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md5);
    EVP_MD_CTX_free(h->sha512);
    free(h);
}

int64_t image_qcow2_virtual_size(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (len < 32 || memcmp(b, "QFI\xfb", 4) != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | b[i];
    return v > INT64_MAX ? -1 : (int64_t)v;
}
