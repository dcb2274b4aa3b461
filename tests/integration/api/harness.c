#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int t_failures;

void t_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static int spawn(struct daemon *d, const char *const *extra)
{
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", d->port);
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
    /* Ready when /healthcheck answers. */
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "%s/healthcheck", d->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
    for (int i = 0; i < 500; i++) {
        if (curl_easy_perform(c) == CURLE_OK) {
            curl_easy_cleanup(c);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = 0;
            curl_easy_cleanup(c);
            return -ECHILD;
        }
        usleep(10000);
    }
    curl_easy_cleanup(c);
    return -ETIMEDOUT;
}

static void read_password(struct daemon *d)
{
    char path[300], line[256];
    snprintf(path, sizeof(path), "%s/admin-openrc", d->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "export OS_PASSWORD=%63s", d->admin_password) == 1)
            break;
    fclose(f);
}

int daemon_start(struct daemon *d, const char *bin, const char *const *extra)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->bin, sizeof(d->bin), "%s", bin);
    snprintf(d->dir, sizeof(d->dir), "/tmp/picostack-test-XXXXXX");
    if (!mkdtemp(d->dir))
        return -errno;
    snprintf(d->log, sizeof(d->log), "%s.log", d->dir);
    d->port = free_port();
    snprintf(d->base, sizeof(d->base), "http://127.0.0.1:%u", d->port);
    int rc = spawn(d, extra);
    if (rc == 0)
        read_password(d);
    return rc;
}

int daemon_restart(struct daemon *d, const char *const *extra)
{
    return spawn(d, extra);
}

int daemon_stop(struct daemon *d, int sig)
{
    if (!d->pid)
        return -1;
    kill(d->pid, sig);
    int st = 0;
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return st;
}

void daemon_cleanup(struct daemon *d)
{
    if (d->pid) {
        /* A clean SIGTERM exit, also so that ASan's leak check runs. */
        int st = daemon_stop(d, SIGTERM);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "picostackd exit status %d", st);
    }
    if (d->dir[0]) {
        char cmd[600];
        if (t_failures) {
            snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", d->log);
            if (system(cmd) != 0)
                fprintf(stderr, "(no log)\n");
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", d->dir, d->log);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", d->dir);
    }
}

void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static size_t on_data(char *p, size_t sz, size_t n, void *ctx)
{
    struct resp *r = ctx;
    char *b = realloc(r->body, r->len + sz * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static void grab(const char *line, size_t len, const char *name, char *out, size_t max)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    while (*v == ' ')
        v++;
    size_t vl = len - (v - line);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
        vl--;
    if (vl >= max)
        vl = max - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
    struct resp *r = ctx;
    grab(p, sz * n, "X-Subject-Token", r->subject_token, sizeof(r->subject_token));
    grab(p, sz * n, "X-Openstack-Request-Id", r->request_id, sizeof(r->request_id));
    grab(p, sz * n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
    return sz * n;
}

int http_hdr(struct daemon *d, const char *method, const char *path, const char *token,
             const char *subject, const char *body, struct resp *out)
{
    return http_ex(d, method, path, token, subject, NULL, body, out);
}

int http_ex(struct daemon *d, const char *method, const char *path, const char *token,
            const char *subject, const char *extra, const char *body, struct resp *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    char url[1024], h1[700], h2[700];
    snprintf(url, sizeof(url), "%s%s", d->base, path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (token) {
        snprintf(h1, sizeof(h1), "X-Auth-Token: %s", token);
        hdrs = curl_slist_append(hdrs, h1);
    }
    if (subject) {
        snprintf(h2, sizeof(h2), "X-Subject-Token: %s", subject);
        hdrs = curl_slist_append(hdrs, h2);
    }
    if (extra)
        hdrs = curl_slist_append(hdrs, extra);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (out->body)
        out->json = json_loads(out->body, 0, NULL);
    return cc == CURLE_OK ? 0 : -EIO;
}

int http(struct daemon *d, const char *method, const char *path, const char *token,
         const char *body, struct resp *out)
{
    return http_hdr(d, method, path, token, NULL, body, out);
}

char *login(struct daemon *d, const char *user, const char *password, const char *project)
{
    json_t *req = json_pack("{s:{s:{s:[s], s:{s:{s:s, s:s, s:{s:s}}}}}}", "auth", "identity",
                            "methods", "password", "password", "user", "name", user,
                            "password", password, "domain", "id", "default");
    if (project)
        json_object_set_new(json_object_get(req, "auth"), "scope",
                            json_pack("{s:{s:s, s:{s:s}}}", "project", "name", project,
                                      "domain", "id", "default"));
    char *body = json_dumps(req, 0);
    json_decref(req);
    struct resp r;
    http(d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    free(body);
    char *tok = r.status == 201 && r.subject_token[0] ? strdup(r.subject_token) : NULL;
    resp_free(&r);
    return tok;
}

char *admin_login(struct daemon *d)
{
    return login(d, "admin", d->admin_password, "admin");
}

static char *create(struct daemon *d, const char *tok, const char *coll, const char *kind,
                    json_t *ent)
{
    json_t *req = json_pack("{s:o}", kind, ent);
    char *body = json_dumps(req, 0), path[128];
    json_decref(req);
    snprintf(path, sizeof(path), "/identity/v3/%s", coll);
    struct resp r;
    http(d, "POST", path, tok, body, &r);
    free(body);
    const char *id = json_string_value(json_object_get(json_object_get(r.json, kind), "id"));
    char *out = r.status == 201 && id ? strdup(id) : NULL;
    resp_free(&r);
    return out;
}

char *create_project(struct daemon *d, const char *tok, const char *name)
{
    return create(d, tok, "projects", "project", json_pack("{s:s}", "name", name));
}

char *create_user(struct daemon *d, const char *tok, const char *name, const char *pw)
{
    return create(d, tok, "users", "user", json_pack("{s:s, s:s}", "name", name,
                                                      "password", pw));
}

char *find_role(struct daemon *d, const char *tok, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/identity/v3/roles?name=%s", name);
    struct resp r;
    http(d, "GET", path, tok, NULL, &r);
    json_t *roles = json_object_get(r.json, "roles");
    const char *id = json_string_value(json_object_get(json_array_get(roles, 0), "id"));
    char *out = json_array_size(roles) == 1 && id ? strdup(id) : NULL;
    resp_free(&r);
    return out;
}

int grant(struct daemon *d, const char *tok, const char *p, const char *u, const char *role)
{
    char path[300];
    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles/%s", p, u, role);
    struct resp r;
    http(d, "PUT", path, tok, NULL, &r);
    int st = (int)r.status;
    resp_free(&r);
    return st;
}

int run_subtests(int argc, char **argv, const struct subtest *tests, size_t n)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SUBTEST PICOSTACKD\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tests[i].name, argv[1]) != 0)
            continue;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        tests[i].fn(argv[2]);
        clock_gettime(CLOCK_MONOTONIC, &b);
        fprintf(stderr, "%s: %s (%.2fs)\n", argv[1], t_failures ? "FAILED" : "ok",
                (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
        curl_global_cleanup();
        return t_failures ? 1 : 0;
    }
    fprintf(stderr, "no subtest %s\n", argv[1]);
    return 2;
}
