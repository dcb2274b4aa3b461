/* See picostackd_harness.h. */
#include "tests/support/picostackd_harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the daemon ---- */

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

static void print_log(const struct picostackd *d)
{
    char line[512];
    FILE *f = fopen(d->log, "r");
    if (!f)
        return;
    fprintf(stderr, "---- picostackd log (%s) ----\n", d->log);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static int spawn(struct picostackd *d, const char *const *extra)
{
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", d->port);
    const char *argv[32] = { d->bin, "--data", d->dir, "--listen", listen };
    int n = 5;
    for (; extra && *extra && n < 30; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        execv(d->bin, (char **)argv);
        _exit(127);
    }
    d->pid = pid;
    /* Ready when /healthcheck answers (inside the with-kvm TCG guest, on a
     * loaded host, the first start's password hashing alone can take 20 s). */
    const char *mode = getenv("PICOSTACK_KVM_MODE");
    double until = now_s() + (mode && !strcmp(mode, "tcg") ? 120 : 20);
    while (now_s() < until) {
        struct resp r;
        int rc = http_req(d, "GET", "/healthcheck", NULL, NULL, NULL, &r);
        long status = r.status;
        resp_free(&r);
        if (rc == 0 && status == 200)
            return 0;
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

static int read_password(struct picostackd *d)
{
    char path[400], line[512];
    snprintf(path, sizeof path, "%s/admin-openrc", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "export OS_PASSWORD=", 19) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(d->admin_password, sizeof d->admin_password, "%s", line + 19);
        }
    fclose(f);
    return d->admin_password[0] ? 0 : -EINVAL;
}

int picostackd_start(struct picostackd *d, const char *bin, const char *const *extra)
{
    memset(d, 0, sizeof *d);
    snprintf(d->bin, sizeof d->bin, "%s", bin);
    snprintf(d->bin_dir, sizeof d->bin_dir, "%s", bin);
    dirname(d->bin_dir);
    int rc = t_mkdtemp(d->dir, sizeof d->dir, "picostackd-test");
    if (rc < 0) {
        d->dir[0] = '\0';
        return rc;
    }
    snprintf(d->log, sizeof d->log, "%s.log", d->dir);
    d->port = free_port();
    snprintf(d->base, sizeof d->base, "http://127.0.0.1:%u", d->port);
    rc = spawn(d, extra);
    return rc < 0 ? rc : read_password(d);
}

int picostackd_restart(struct picostackd *d, const char *const *extra)
{
    return spawn(d, extra);
}

int picostackd_stop(struct picostackd *d, int sig)
{
    if (!d->pid)
        return -1;
    kill(d->pid, sig);
    int st = 0;
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void picostackd_cleanup(struct picostackd *d)
{
    if (d->pid) {
        int st = picostackd_stop(d, SIGTERM);
        CHECK(st == 0, "picostackd exit status %d", st);
    }
    if (!d->dir[0])
        return;
    if (t_failures)
        print_log(d);
    unlink(d->log);
    if (t_rm_rf(d->dir) < 0)
        fprintf(stderr, "cannot remove %s\n", d->dir);
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
    copy_header(line, len, "X-Subject-Token", r->subject_token, sizeof r->subject_token);
    copy_header(line, len, "X-Openstack-Request-Id", r->request_id, sizeof r->request_id);
    copy_header(line, len, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
    copy_header(line, len, "Content-MD5", r->content_md5, sizeof r->content_md5);
    copy_header(line, len, "Content-Range", r->content_range, sizeof r->content_range);
    copy_header(line, len, "Location", r->location, sizeof r->location);
    return len;
}

CURL *http_prepare(struct picostackd *d, const char *method, const char *path, const char *token,
                   const char *ctype, const char *const *headers, struct resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char url[2048], line[1100];
    snprintf(url, sizeof url, "%s%s", d->base, path);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(line, sizeof line, "X-Auth-Token: %s", token);
        h = curl_slist_append(h, line);
    }
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PRIVATE, h); /* freed by http_perform */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    return c;
}

int http_perform(CURL *c, struct resp *out)
{
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body && out->len)
            out->json = json_loadb(out->body, out->len, 0, NULL);
    }
    struct curl_slist *h = NULL;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&h);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -EIO;
}

int http_req_h(struct picostackd *d, const char *method, const char *path, const char *token,
               const char *ctype, const char *body, const char *const *headers, struct resp *out)
{
    if (body && !ctype)
        ctype = "application/json";
    CURL *c = http_prepare(d, method, path, token, ctype, headers, out);
    if (!c)
        return -ENOMEM;
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    return http_perform(c, out);
}

int http_req(struct picostackd *d, const char *method, const char *path, const char *token,
             const char *ctype, const char *body, struct resp *out)
{
    return http_req_h(d, method, path, token, ctype, body, NULL, out);
}

int http(struct picostackd *d, const char *method, const char *path, const char *token,
         const char *body, struct resp *out)
{
    return http_req_h(d, method, path, token, "application/json", body, NULL, out);
}

long http_status(struct picostackd *d, const char *method, const char *path, const char *token,
                 const char *ctype, const char *body)
{
    struct resp r;
    long st = http_req(d, method, path, token, ctype, body, &r) == 0 ? r.status : -1;
    resp_free(&r);
    return st;
}

long http_call(struct picostackd *d, const char *token, const char *method, const char *path,
               const char *body, const char *header, struct resp *out)
{
    const char *const headers[] = { header, NULL };
    struct resp r;
    http_req_h(d, method, path, token, "application/json", body, headers, &r);
    long st = r.status;
    if (out)
        *out = r;
    else
        resp_free(&r);
    return st;
}

/* ---- identity ---- */

char *login(struct picostackd *d, const char *user, const char *password, const char *project)
{
    json_t *req = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:s, s:{s:s}}}}}}", "auth", "identity",
                            "methods", "password", "password", "user", "name", user, "password",
                            password, "domain", "id", "default");
    if (project)
        json_object_set_new(
            json_object_get(req, "auth"), "scope",
            json_pack("{s:{s:s, s:{s:s}}}", "project", "name", project, "domain", "id", "default"));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    struct resp r;
    http(d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    free(body);
    char *tok = r.status == 201 && r.subject_token[0] ? strdup(r.subject_token) : NULL;
    resp_free(&r);
    return tok;
}

char *admin_login(struct picostackd *d)
{
    return login(d, "admin", d->admin_password, "admin");
}

static char *create(struct picostackd *d, const char *tok, const char *coll, const char *kind,
                    json_t *ent)
{
    json_t *req = json_pack("{s:o}", kind, ent);
    char *body = json_dumps(req, JSON_COMPACT), path[128];
    json_decref(req);
    snprintf(path, sizeof path, "/identity/v3/%s", coll);
    struct resp r;
    http(d, "POST", path, tok, body, &r);
    free(body);
    const char *id = jstr(json_object_get(r.json, kind), "id");
    char *out = r.status == 201 && id ? strdup(id) : NULL;
    if (!out)
        fprintf(stderr, "create %s: HTTP %ld %s\n", kind, r.status, r.body ? r.body : "");
    resp_free(&r);
    return out;
}

char *create_project(struct picostackd *d, const char *tok, const char *name)
{
    return create(d, tok, "projects", "project", json_pack("{s:s}", "name", name));
}

char *create_user(struct picostackd *d, const char *tok, const char *name, const char *pw)
{
    return create(d, tok, "users", "user", json_pack("{s:s, s:s}", "name", name, "password", pw));
}

char *find_role(struct picostackd *d, const char *tok, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/identity/v3/roles?name=%s", name);
    struct resp r;
    http(d, "GET", path, tok, NULL, &r);
    json_t *roles = json_object_get(r.json, "roles");
    const char *id = jstr(json_array_get(roles, 0), "id");
    char *out = json_array_size(roles) == 1 && id ? strdup(id) : NULL;
    resp_free(&r);
    return out;
}

int grant(struct picostackd *d, const char *tok, const char *p, const char *u, const char *role)
{
    char path[300];
    snprintf(path, sizeof path, "/identity/v3/projects/%s/users/%s/roles/%s", p, u, role);
    struct resp r;
    http(d, "PUT", path, tok, NULL, &r);
    int st = (int)r.status;
    resp_free(&r);
    return st;
}

const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}
