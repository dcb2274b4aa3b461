/* See img_harness.h. */
#include "img_harness.h"
#include "tests/support/subtest.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

char *project_user(struct picostackd *d, const char *admin_tok, const char *project,
                   const char *user, const char *role, char project_id_out[64])
{
    char *pid = create_project(d, admin_tok, project);
    char *uid = create_user(d, admin_tok, user, "pw-secret-1");
    char *rid = find_role(d, admin_tok, role);
    char *tok = NULL;
    if (pid && uid && rid && grant(d, admin_tok, pid, uid, rid) == 204)
        tok = login(d, user, "pw-secret-1", project);
    if (project_id_out)
        snprintf(project_id_out, 64, "%s", pid ? pid : "");
    free(pid);
    free(uid);
    free(rid);
    return tok;
}

/* ---- big streams ---- */

void gen_init(struct gen *g, uint64_t seed)
{
    g->s = seed * 0x9E3779B97F4A7C15ull + 1;
    g->pos = 0;
}

void gen_fill(struct gen *g, void *buf, size_t len)
{
    uint64_t *p = buf, s = g->s;
    for (size_t i = 0; i < len / 8; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = s;
    }
    g->s = s;
    g->pos += len;
}

static void hexify(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

#define CHUNK (1u << 20)

void gen_digests(uint64_t seed, uint64_t n, char md5[33], char sha512[129])
{
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    EVP_DigestInit_ex(a, EVP_md5(), NULL);
    EVP_DigestInit_ex(b, EVP_sha512(), NULL);
    struct gen g;
    gen_init(&g, seed);
    char *buf = malloc(CHUNK);
    for (uint64_t done = 0; done < n;) {
        size_t len = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
        gen_fill(&g, buf, (len + 7) & ~7u);
        EVP_DigestUpdate(a, buf, len);
        EVP_DigestUpdate(b, buf, len);
        done += len;
    }
    unsigned char d[64];
    unsigned dl;
    EVP_DigestFinal_ex(a, d, &dl);
    hexify(d, dl, md5);
    EVP_DigestFinal_ex(b, d, &dl);
    hexify(d, dl, sha512);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    free(buf);
}

struct src {
    struct gen g;
    uint64_t left;
    char *buf;
    size_t have, off;
};

static size_t on_read(char *out, size_t size, size_t n, void *ud)
{
    struct src *s = ud;
    size_t want = size * n, done = 0;
    while (done < want && (s->left || s->off < s->have)) {
        if (s->off == s->have) {
            size_t len = s->left < CHUNK ? (size_t)s->left : CHUNK;
            gen_fill(&s->g, s->buf, (len + 7) & ~7u);
            s->have = len;
            s->off = 0;
            s->left -= len;
        }
        size_t k = s->have - s->off;
        if (k > want - done)
            k = want - done;
        memcpy(out + done, s->buf + s->off, k);
        s->off += k;
        done += k;
    }
    return done;
}

static int do_upload(struct picostackd *d, const char *token, const char *id, curl_read_callback rd,
                     void *ud, uint64_t n, bool chunked, struct resp *out, double *secs)
{
    char path[512];
    snprintf(path, sizeof path, "/image/v2/images/%s/file", id);
    const char *const chunked_hdr[] = { "Transfer-Encoding: chunked", NULL };
    CURL *c = http_prepare(d, "PUT", path, token, "application/octet-stream",
                           chunked ? chunked_hdr : NULL, out);
    if (!c)
        return -ENOMEM;
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, rd);
    curl_easy_setopt(c, CURLOPT_READDATA, ud);
    if (!chunked)
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    double t0 = now_s();
    int rc = http_perform(c, out);
    if (secs)
        *secs = now_s() - t0;
    if (rc < 0)
        fprintf(stderr, "upload of %s failed\n", id);
    return rc;
}

int upload_gen(struct picostackd *d, const char *token, const char *id, uint64_t seed, uint64_t n,
               bool chunked, struct resp *out, double *secs)
{
    struct src s = { .left = n, .buf = malloc(CHUNK) };
    gen_init(&s.g, seed);
    int rc = do_upload(d, token, id, on_read, &s, n, chunked, out, secs);
    free(s.buf);
    return rc;
}

struct membuf {
    const char *p;
    size_t left;
};

static size_t on_read_mem(char *out, size_t size, size_t n, void *ud)
{
    struct membuf *m = ud;
    size_t k = size * n < m->left ? size * n : m->left;
    memcpy(out, m->p, k);
    m->p += k;
    m->left -= k;
    return k;
}

int upload_buf(struct picostackd *d, const char *token, const char *id, const void *buf, size_t n,
               struct resp *out)
{
    struct membuf m = { buf, n };
    return do_upload(d, token, id, on_read_mem, &m, n, false, out, NULL);
}

struct sink {
    struct gen g;
    char *buf;
    size_t have, off;
    uint64_t got;
    bool same;
    EVP_MD_CTX *md5, *sha;
    struct resp *r;
};

static size_t on_download(char *data, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n;
    long code = 0;
    (void)code;
    EVP_DigestUpdate(s->md5, data, len);
    EVP_DigestUpdate(s->sha, data, len);
    for (size_t done = 0; done < len;) {
        if (s->off == s->have) {
            gen_fill(&s->g, s->buf, CHUNK);
            s->have = CHUNK;
            s->off = 0;
        }
        size_t k = s->have - s->off;
        if (k > len - done)
            k = len - done;
        if (memcmp(data + done, s->buf + s->off, k) != 0)
            s->same = false;
        s->off += k;
        done += k;
    }
    s->got += len;
    return len;
}

int download_check(struct picostackd *d, const char *token, const char *id, uint64_t seed,
                   uint64_t *got, bool *same, char md5[33], char sha512[129], struct resp *out,
                   double *secs)
{
    struct sink s = { .buf = malloc(CHUNK), .same = true, .r = out };
    gen_init(&s.g, seed);
    s.md5 = EVP_MD_CTX_new();
    s.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
    EVP_DigestInit_ex(s.sha, EVP_sha512(), NULL);
    char path[512];
    snprintf(path, sizeof path, "/image/v2/images/%s/file", id);
    CURL *c = http_prepare(d, "GET", path, token, NULL, NULL, out);
    int rc = -ENOMEM;
    if (c) {
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_download);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
        double t0 = now_s();
        rc = http_perform(c, out);
        if (secs)
            *secs = now_s() - t0;
    }
    unsigned char dg[64];
    unsigned dl;
    EVP_DigestFinal_ex(s.md5, dg, &dl);
    hexify(dg, dl, md5);
    EVP_DigestFinal_ex(s.sha, dg, &dl);
    hexify(dg, dl, sha512);
    EVP_MD_CTX_free(s.md5);
    EVP_MD_CTX_free(s.sha);
    *got = s.got;
    *same = s.same;
    free(s.buf);
    return rc;
}

/* ---- images ---- */

char *create_image(struct picostackd *d, const char *token, const char *body)
{
    struct resp r;
    char *id = NULL;
    if (http_req(d, "POST", "/image/v2/images", token, NULL, body, &r) == 0 && r.status == 201 &&
        jstr(r.json, "id"))
        id = strdup(jstr(r.json, "id"));
    else
        fprintf(stderr, "create image: HTTP %ld %s\n", r.status, r.body ? r.body : "");
    resp_free(&r);
    return id;
}

json_t *get_image(struct picostackd *d, const char *token, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    struct resp r;
    json_t *img = NULL;
    if (http_req(d, "GET", path, token, NULL, NULL, &r) == 0 && r.status == 200)
        img = json_incref(r.json);
    resp_free(&r);
    return img;
}

uint64_t blocks_used(struct picostackd *d)
{
    char path[400];
    snprintf(path, sizeof path, "%s/blocks", d->dir);
    DIR *dir = opendir(path);
    uint64_t total = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (strncmp(e->d_name, "data.", 5) != 0)
            continue;
        char f[700];
        struct stat st;
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        if (stat(f, &st) == 0)
            total += (uint64_t)st.st_blocks * 512;
    }
    if (dir)
        closedir(dir);
    return total;
}

int run_subtest(int argc, char **argv, const struct subtest *t, size_t n)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BIN_DIR SUBTEST\n", argv[0]);
        return 2;
    }
    int i = subtest_find(argv[2], t, n, sizeof t[0]);
    if (i < 0)
        return 2;
    struct subtest_run run;
    subtest_begin(&run, argv[2]);
    struct picostackd d;
    char bin[600];
    snprintf(bin, sizeof bin, "%s/picostackd", argv[1]);
    int rc = picostackd_start(&d, bin, IMG_DAEMON_ARGS);
    if (rc < 0) {
        fprintf(stderr, "cannot start picostackd: %s\n", strerror(-rc));
        picostackd_cleanup(&d);
        return 1;
    }
    t[i].fn(&d);
    /* Stops with SIGTERM and checks for a clean exit: under ASan this
     * is where leaks and errors in the daemon show up (see the log). */
    picostackd_cleanup(&d);
    return subtest_end(&run);
}
