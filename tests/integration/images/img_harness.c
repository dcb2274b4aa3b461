/* See img_harness.h. */
#include "img_harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int t_failures;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static void print_log(struct pd *d)
{
    char path[400], line[512];
    snprintf(path, sizeof path, "%s.log", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fprintf(stderr, "---- picostackd log (%s) ----\n", path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static int spawn(struct pd *d)
{
    char exe[600], listen[64], log[400];
    snprintf(exe, sizeof exe, "%s/picostackd", d->bin_dir);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", d->port);
    snprintf(log, sizeof log, "%s.log", d->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        execl(exe, exe, "--data", d->dir, "--listen", listen, "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    /* Ready when /healthcheck answers. */
    double until = now_s() + 20;
    while (now_s() < until) {
        struct resp r;
        if (req(d, "GET", "/healthcheck", NULL, NULL, NULL, &r) == 0 && r.status == 200) {
            resp_free(&r);
            return 0;
        }
        resp_free(&r);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = 0;
            print_log(d);
            return -ECHILD;
        }
        usleep(20000);
    }
    print_log(d);
    return -ETIMEDOUT;
}

int pd_start(struct pd *d, const char *bin_dir)
{
    memset(d, 0, sizeof *d);
    snprintf(d->bin_dir, sizeof d->bin_dir, "%s", bin_dir);
    const char *root = getenv("PICOSTACK_TEST_DIR");
    snprintf(d->dir, sizeof d->dir, "%s/picostack-images-XXXXXX", root ? root : "/var/tmp");
    if (!mkdtemp(d->dir))
        return -errno;
    d->port = free_port();
    snprintf(d->base, sizeof d->base, "http://127.0.0.1:%u", d->port);
    int rc = spawn(d);
    if (rc < 0)
        return rc;
    char path[400], line[512];
    snprintf(path, sizeof path, "%s/admin-openrc", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "export OS_PASSWORD=", 19) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(d->password, sizeof d->password, "%s", line + 19);
        }
    fclose(f);
    return d->password[0] ? 0 : -EINVAL;
}

int pd_restart(struct pd *d)
{
    return spawn(d);
}

int pd_stop(struct pd *d, int sig)
{
    if (!d->pid)
        return -1;
    kill(d->pid, sig);
    int st = 0;
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void pd_cleanup(struct pd *d)
{
    if (d->pid)
        pd_stop(d, SIGTERM);
    if (t_failures)
        print_log(d);
    char log[400];
    snprintf(log, sizeof log, "%s.log", d->dir);
    unlink(log);
    if (d->dir[0])
        rm_rf(d->dir);
}

/* ---- HTTP ---- */

void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    char *b = realloc(r->body, r->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, data, len);
    r->len += len;
    b[r->len] = '\0';
    r->body = b;
    return len;
}

static void copy_header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (len > n + 1 && strncasecmp(line, name, n) == 0 && line[n] == ':') {
        const char *v = line + n + 1;
        while (*v == ' ')
            v++;
        size_t vl = len - (size_t)(v - line);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(out, outlen, "%.*s", (int)vl, v);
    }
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    copy_header(line, len, "Content-MD5", r->content_md5, sizeof r->content_md5);
    copy_header(line, len, "Content-Range", r->content_range, sizeof r->content_range);
    copy_header(line, len, "Location", r->location, sizeof r->location);
    return len;
}

static struct curl_slist *headers(const char *token, const char *ctype, const char *const *extra)
{
    struct curl_slist *h = NULL;
    char line[1024];
    if (token) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", token);
        h = curl_slist_append(h, line);
    }
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    return h;
}

static void finish_resp(CURL *c, struct resp *out)
{
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->body && out->len)
        out->json = json_loadb(out->body, out->len, 0, NULL);
}

int req_h(struct pd *d, const char *method, const char *path, const char *token,
          const char *ctype, const char *body, const char *const *extra, struct resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    char url[2048];
    snprintf(url, sizeof url, "%s%s", d->base, path);
    struct curl_slist *h = headers(token, body ? (ctype ? ctype : "application/json") : NULL, extra);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        finish_resp(c, out);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -EIO;
}

int req(struct pd *d, const char *method, const char *path, const char *token,
        const char *ctype, const char *body, struct resp *out)
{
    return req_h(d, method, path, token, ctype, body, NULL, out);
}

char *login(struct pd *d, const char *user, const char *pw, const char *project)
{
    json_t *b = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:s, s:{s:s}}}}, s:{s:{s:s, s:{s:s}}}}}",
                          "auth", "identity", "methods", "password", "password", "user",
                          "name", user, "password", pw, "domain", "id", "default",
                          "scope", "project", "name", project, "domain", "id", "default");
    char *text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    CURL *c = curl_easy_init();
    char url[256], *tok = NULL;
    snprintf(url, sizeof url, "%s/identity/v3/auth/tokens", d->base);
    struct resp r = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADER, 0L);
    /* The token is in X-Subject-Token: catch it. */
    struct { char tok[1024]; } sub = {{0}};
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, (curl_write_callback)NULL);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
    if (curl_easy_perform(c) == CURLE_OK) {
        struct curl_header *hd;
        if (curl_easy_header(c, "X-Subject-Token", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
            snprintf(sub.tok, sizeof sub.tok, "%s", hd->value);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(text);
    resp_free(&r);
    if (sub.tok[0])
        tok = strdup(sub.tok);
    return tok;
}

char *admin_token(struct pd *d)
{
    return login(d, "admin", d->password, "admin");
}

static char *create_named(struct pd *d, const char *tok, const char *coll, const char *one,
                          json_t *body)
{
    json_t *w = json_pack("{s:o}", one, body);
    char *text = json_dumps(w, JSON_COMPACT), path[128], *id = NULL;
    json_decref(w);
    snprintf(path, sizeof path, "/identity/v3/%s", coll);
    struct resp r;
    if (req(d, "POST", path, tok, NULL, text, &r) == 0 && r.status == 201)
        id = strdup(jstr(json_object_get(r.json, one), "id"));
    else
        fprintf(stderr, "create %s: HTTP %ld %s\n", one, r.status, r.body ? r.body : "");
    resp_free(&r);
    free(text);
    return id;
}

char *project_user(struct pd *d, const char *admin_tok, const char *project,
                   const char *user, const char *role, char project_id_out[64])
{
    char *pid = create_named(d, admin_tok, "projects", "project",
                             json_pack("{s:s, s:s}", "name", project, "domain_id", "default"));
    char *uid = create_named(d, admin_tok, "users", "user",
                             json_pack("{s:s, s:s, s:s}", "name", user, "password", "pw-secret-1",
                                       "domain_id", "default"));
    char path[512], *tok = NULL;
    struct resp r;
    snprintf(path, sizeof path, "/identity/v3/roles?name=%s", role);
    req(d, "GET", path, admin_tok, NULL, NULL, &r);
    const char *rid = jstr(json_array_get(json_object_get(r.json, "roles"), 0), "id");
    if (pid && uid && rid) {
        snprintf(path, sizeof path, "/identity/v3/projects/%s/users/%s/roles/%s", pid, uid, rid);
        struct resp g;
        req(d, "PUT", path, admin_tok, NULL, NULL, &g);
        if (g.status == 204)
            tok = login(d, user, "pw-secret-1", project);
        resp_free(&g);
    }
    resp_free(&r);
    if (project_id_out)
        snprintf(project_id_out, 64, "%s", pid ? pid : "");
    free(pid);
    free(uid);
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

static int do_upload(struct pd *d, const char *token, const char *id, curl_read_callback rd,
                     void *ud, uint64_t n, bool chunked, struct resp *out, double *secs)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s/image/v2/images/%s/file", d->base, id);
    struct curl_slist *h = headers(token, "application/octet-stream", NULL);
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, rd);
    curl_easy_setopt(c, CURLOPT_READDATA, ud);
    if (!chunked)
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(c);
    if (secs)
        *secs = now_s() - t0;
    if (rc == CURLE_OK)
        finish_resp(c, out);
    else
        fprintf(stderr, "upload: %s\n", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -EIO;
}

int upload_gen(struct pd *d, const char *token, const char *id, uint64_t seed,
               uint64_t n, bool chunked, struct resp *out, double *secs)
{
    struct src s = { .left = n, .buf = malloc(CHUNK) };
    gen_init(&s.g, seed);
    int rc = do_upload(d, token, id, on_read, &s, n, chunked, out, secs);
    free(s.buf);
    return rc;
}

struct membuf { const char *p; size_t left; };

static size_t on_read_mem(char *out, size_t size, size_t n, void *ud)
{
    struct membuf *m = ud;
    size_t k = size * n < m->left ? size * n : m->left;
    memcpy(out, m->p, k);
    m->p += k;
    m->left -= k;
    return k;
}

int upload_buf(struct pd *d, const char *token, const char *id, const void *buf,
               size_t n, struct resp *out)
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

int download_check(struct pd *d, const char *token, const char *id, uint64_t seed,
                   uint64_t *got, bool *same, char md5[33], char sha512[129],
                   struct resp *out, double *secs)
{
    memset(out, 0, sizeof *out);
    struct sink s = { .buf = malloc(CHUNK), .same = true, .r = out };
    gen_init(&s.g, seed);
    s.md5 = EVP_MD_CTX_new();
    s.sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
    EVP_DigestInit_ex(s.sha, EVP_sha512(), NULL);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s/image/v2/images/%s/file", d->base, id);
    struct curl_slist *h = headers(token, NULL, NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_download);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(c);
    if (secs)
        *secs = now_s() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
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
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -EIO;
}

/* ---- images ---- */

const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

char *create_image(struct pd *d, const char *token, const char *body)
{
    struct resp r;
    char *id = NULL;
    if (req(d, "POST", "/image/v2/images", token, NULL, body, &r) == 0 && r.status == 201 &&
        jstr(r.json, "id"))
        id = strdup(jstr(r.json, "id"));
    else
        fprintf(stderr, "create image: HTTP %ld %s\n", r.status, r.body ? r.body : "");
    resp_free(&r);
    return id;
}

json_t *get_image(struct pd *d, const char *token, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    struct resp r;
    json_t *img = NULL;
    if (req(d, "GET", path, token, NULL, NULL, &r) == 0 && r.status == 200)
        img = json_incref(r.json);
    resp_free(&r);
    return img;
}

uint64_t blocks_used(struct pd *d)
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
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].name, argv[2]) != 0)
            continue;
        struct pd d;
        int rc = pd_start(&d, argv[1]);
        if (rc < 0) {
            fprintf(stderr, "cannot start picostackd: %s\n", strerror(-rc));
            pd_cleanup(&d);
            return 1;
        }
        t[i].fn(&d);
        /* A clean exit on SIGTERM: under ASan this is where leaks and
         * errors in the daemon show up (see the log). */
        if (d.pid) {
            int st = pd_stop(&d, SIGTERM);
            CHECK(st == 0, "picostackd exited with status %d", st);
        }
        pd_cleanup(&d);
        curl_global_cleanup();
        if (t_failures) {
            fprintf(stderr, "%s: %d check(s) failed\n", argv[2], t_failures);
            return 1;
        }
        printf("%s: ok\n", argv[2]);
        return 0;
    }
    fprintf(stderr, "no subtest %s\n", argv[2]);
    return 2;
}
