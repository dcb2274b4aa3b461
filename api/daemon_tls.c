/* picostackd's certificate: the configured one, or one made on first start
 * (a throw-away CA that signs one server certificate), with OpenSSL's
 * libcrypto (already linked for image checksums). */
#include "api/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VALID_DAYS (10 * 365)
#define SAN_MAX    4096

static int read_text(const char *path, char **out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        fclose(f);
        return -ENOMEM;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    if (fclose(m) != 0)
        rc = -ENOMEM;
    if (rc < 0 || !len) {
        free(buf);
        return rc < 0 ? rc : -ENODATA;
    }
    *out = buf;
    return 0;
}

/* "DNS:host,DNS:localhost,IP:127.0.0.1,IP:::1,IP:<each interface address>" */
static void host_names(char *san, size_t len)
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    size_t n = (size_t)snprintf(san, len, "DNS:localhost,IP:127.0.0.1,IP:::1");
    if (strcmp(host, "localhost") &&
        strspn(host, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(host))
        n += (size_t)snprintf(san + n, n < len ? len - n : 0, ",DNS:%s", host);
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        char a[INET6_ADDRSTRLEN];
        int fam = i->ifa_addr->sa_family;
        if (fam == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
        else if (fam == AF_INET6 &&
                 !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, a, sizeof(a));
        else
            continue;
        if (n + strlen(a) + 5 < len)
            n += (size_t)snprintf(san + n, len - n, ",IP:%s", a);
    }
    freeifaddrs(ifs);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -EINVAL;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -ENOMEM;
}

/* A certificate for key, named cn, signed by (issuer, issuer_key); NULL
 * issuer = self-signed. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *const ext[][2], size_t n_ext)
{
    X509 *c = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (!c || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(c);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) || !X509_set_version(c, 2) ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), (long)VALID_DAYS * 86400) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"picostack", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_set_pubkey(c, key))
        goto fail;
    for (size_t i = 0; i < n_ext; i++)
        if (add_ext(c, issuer ? issuer : c, OBJ_txt2nid(ext[i][0]), ext[i][1]) < 0)
            goto fail;
    if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    return c;
fail:
    BN_free(bn);
    X509_free(c);
    return NULL;
}

/* Writes the certificates a and b (when not NULL) or the key, in PEM,
 * through a synced temporary file. */
static int write_pem(const char *path, int mode, X509 *a, X509 *b, EVP_PKEY *key)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -errno;
    }
    int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(f, a) && (!b || PEM_write_X509(f, b));
    if (!ok || fflush(f) != 0 || fsync(fd) != 0) {
        fclose(f);
        unlink(tmp);
        return -EIO;
    }
    if (fclose(f) != 0)
        return -EIO;
    return rename(tmp, path) < 0 ? -errno : 0;
}

/* DATA/tls/: ca.pem (the CA certificate clients trust), cert.pem (the
 * server's, then the CA's: a chain) and key.pem (0600). The key is written
 * last: a crash before leaves no key, and the next start makes all three
 * again. */
static int generate(const char *dir, const char *ca_path, const char *cert_path,
                    const char *key_path)
{
    static const char *const ca_ext[][2] = {
        { "basicConstraints", "critical,CA:TRUE,pathlen:0" },
        { "keyUsage", "critical,keyCertSign,cRLSign" },
        { "subjectKeyIdentifier", "hash" },
    };
    char san[SAN_MAX];
    host_names(san, sizeof(san));
    const char *const srv_ext[][2] = {
        { "basicConstraints", "critical,CA:FALSE" }, { "keyUsage", "critical,digitalSignature" },
        { "extendedKeyUsage", "serverAuth" },        { "subjectKeyIdentifier", "hash" },
        { "authorityKeyIdentifier", "keyid" },       { "subjectAltName", san },
    };
    char host[256] = "picostack";
    gethostname(host, sizeof(host) - 1);
    char ca_cn[300];
    snprintf(ca_cn, sizeof(ca_cn), "picostack CA for %.200s", host);
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, ca_cn, NULL, NULL, ca_ext, 3) : NULL;
    X509 *cert = ca && key ? make_cert(key, host, ca, ca_key, srv_ext, 6) : NULL;
    int rc = cert ? 0 : -EIO;
    if (!rc && mkdir(dir, 0700) < 0 && errno != EEXIST)
        rc = -errno;
    if (!rc)
        rc = write_pem(ca_path, 0644, ca, NULL, NULL);
    if (!rc) /* the chain: the server's certificate, then the CA's */
        rc = write_pem(cert_path, 0644, cert, ca, NULL);
    if (!rc)
        rc = write_pem(key_path, 0600, NULL, NULL, key);
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key); /* the CA key is never written: nobody signs more */
    if (!rc)
        fprintf(stderr, "picostackd: first start: made a certificate for %s in %s\n", san, dir);
    return rc;
}

int daemon_tls_load(const struct config *c, struct daemon_tls *t)
{
    *t = (struct daemon_tls){ 0 };
    char dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16];
    const char *cert_path = c->tls_cert, *key_path = c->tls_key;
    int rc = 0;
    if (!c->tls_cert[0]) {
        snprintf(dir, sizeof(dir), "%.*s/tls", PATH_MAX - 8, c->data_dir);
        snprintf(t->ca_file, sizeof(t->ca_file), "%.*s/ca.pem", PATH_MAX - 16, dir);
        snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
        snprintf(key, sizeof(key), "%s/key.pem", dir);
        cert_path = cert;
        key_path = key;
        if (access(key, F_OK) < 0 || access(cert, F_OK) < 0 || access(t->ca_file, F_OK) < 0) {
            rc = generate(dir, t->ca_file, cert, key);
            t->generated = !rc;
        }
    } else {
        snprintf(t->ca_file, sizeof(t->ca_file), "%s", c->tls_cert);
    }
    if (!rc && (rc = read_text(cert_path, &t->cert_pem)) < 0)
        fprintf(stderr, "picostackd: TLS certificate %s: %s\n", cert_path, strerror(-rc));
    else if (!rc && (rc = read_text(key_path, &t->key_pem)) < 0)
        fprintf(stderr, "picostackd: TLS key %s: %s\n", key_path, strerror(-rc));
    else if (rc < 0)
        fprintf(stderr, "picostackd: cannot make a TLS certificate in %s: %s\n", dir,
                strerror(-rc));
    if (rc < 0)
        daemon_tls_free(t);
    return rc;
}

void daemon_tls_free(struct daemon_tls *t)
{
    free(t->cert_pem);
    if (t->key_pem) {
        OPENSSL_cleanse(t->key_pem, strlen(t->key_pem));
        free(t->key_pem);
    }
    t->cert_pem = t->key_pem = NULL;
}
