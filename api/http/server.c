/* The HTTP server: libmicrohttpd callbacks, routing, authentication,
 * request bodies (buffered or streamed), deferral to workers, and the
 * request log. See api.h for the contract. */
#include "api/http/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_THREADS 4
#define DEFAULT_WORKERS 2

int64_t api_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------- routing ---------- */

/* Next segment of a path: *p points at '/' or end; returns its length. */
static size_t segment(const char **p, const char **seg)
{
    if (**p == '/')
        (*p)++;
    *seg = *p;
    size_t n = strcspn(*p, "/");
    *p += n;
    return n;
}

static bool match(struct api_req *r, const char *pattern, const char *path)
{
    const char *p = pattern, *q = path;
    unsigned n = 0;
    char *caps[API_MAX_PARAMS];
    while (*p || *q) {
        if (!*p || !*q)
            goto no;
        const char *ps, *qs;
        size_t pl = segment(&p, &ps), ql = segment(&q, &qs);
        if (pl == 3 && !memcmp(ps, "{*}", 3) && !*p) { /* the rest, one or more segments */
            if (ql == 0 || n == API_MAX_PARAMS)
                goto no;
            caps[n++] = strdup(qs);
            q = "";
        } else if (pl == 2 && ps[0] == '{' && ps[1] == '}') {
            if (ql == 0 || n == API_MAX_PARAMS)
                goto no;
            caps[n++] = strndup(qs, ql);
        } else if (pl != ql || memcmp(ps, qs, pl) != 0) {
            goto no;
        }
    }
    for (unsigned i = 0; i < n; i++)
        r->params[i] = caps[i];
    r->n_params = n;
    return true;
no:
    for (unsigned i = 0; i < n; i++)
        free(caps[i]);
    return false;
}

static void framework_error(struct api_req *r, int status, const char *message)
{
    api_reply_json(r, status,
                   json_pack("{s:{s:i, s:s}}", "error", "code", status, "message", message));
}

static void healthcheck(struct api_req *r)
{
    api_reply_text(r, 200, "text/plain", "OK\n");
}

/* GET /metrics is for whom cfg.metrics_access says (http.h); replies 403
 * (or 401 without a token) otherwise. */
static bool metrics_allowed(struct api_req *r)
{
    struct api_server *srv = r->srv;
    if (srv->cfg.metrics_access == API_METRICS_OPEN)
        return true;
    if (srv->cfg.metrics_access == API_METRICS_LOOPBACK && r->cn && r->cn->loopback)
        return true;
    const char *token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Auth-Token");
    struct identity_token tok;
    if (!token) {
        framework_error(r, 401, "The metrics need an X-Auth-Token with the admin role.");
        return false;
    }
    if (!srv->cfg.identity || identity_token_check(srv->cfg.identity, token, &tok) != 0) {
        framework_error(r, 401, "The request you have made requires authentication.");
        return false;
    }
    if (!(tok.role_flags & IDENTITY_ADMIN)) {
        framework_error(r, 403, "The metrics need the admin role.");
        return false;
    }
    return true;
}

/* The route of service i for path (after its prefix); replies 404/405
 * itself when there is none. */
static void route_in(struct api_req *r, unsigned i, const char *path)
{
    const struct api_service *s = r->srv->services[i];
    r->svc = s;
    r->svc_index = (int)i;
    r->path = path;
    if (!strcmp(r->path, "/"))
        r->path = "";
    bool path_known = false;
    for (size_t j = 0; j < s->n_routes; j++) {
        const struct api_route *rt = &s->routes[j];
        bool head_as_get = !strcmp(r->method, "HEAD") && !strcmp(rt->method, "GET");
        if (!match(r, rt->pattern, r->path))
            continue;
        path_known = true;
        if (!strcmp(rt->method, r->method) || head_as_get) {
            r->route = rt;
            return;
        }
        for (unsigned k = 0; k < r->n_params; k++)
            free(r->params[k]);
        r->n_params = 0;
    }
    if (path_known)
        api_reply_error(r, 405, "The method %s is not allowed for %s.", r->method, r->url);
    else
        api_reply_error(r, 404, "The resource could not be found.");
}

/* Whether url (ending in '/') belongs to a strict_slash service and lies
 * below its version root ("/volume/v3/volumes/", not "/volume/v3/"): such a
 * slash ends an empty segment, so ".../volumes/" names no volume (404), as
 * Cinder and Glance answer. */
static bool strict_slash_path(const struct api_server *srv, const char *url)
{
    for (unsigned i = 0; i < srv->n_services; i++) {
        const struct api_service *s = srv->services[i];
        size_t pl = strlen(s->prefix);
        if (s->own_listeners || strncmp(url, s->prefix, pl) || (url[pl] && url[pl] != '/'))
            continue;
        if (!s->strict_slash)
            return false;
        const char *rest = url + pl; /* "/v3/volumes/" */
        const char *second = rest[0] ? strchr(rest + 1, '/') : NULL;
        return second && second[1]; /* something after the version segment */
    }
    return false;
}

/* Finds service and route; replies 404/405 itself when there is none. */
static void route(struct api_req *r)
{
    struct api_server *srv = r->srv;
    /* A trailing '/' is dropped (but "/" kept): "/volume/v3/" == "/volume/v3",
     * except below the version root of a strict_slash service. */
    size_t len = strlen(r->url);
    if (len > 1 && r->url[len - 1] == '/' && !strict_slash_path(srv, r->url))
        r->url[len - 1] = '\0';
    if (r->own_svc >= 0) { /* a service's own listener: its routes only */
        route_in(r, (unsigned)r->own_svc, r->url);
        return;
    }
    if (!strcmp(r->url, "/healthcheck") &&
        (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))) {
        healthcheck(r);
        return;
    }
    if (!strcmp(r->url, "/metrics") && !strcmp(r->method, "GET")) {
        if (metrics_allowed(r))
            api_metrics_render(srv, r);
        return;
    }
    for (unsigned i = 0; i < srv->n_services; i++) {
        const struct api_service *s = srv->services[i];
        size_t pl = strlen(s->prefix);
        if (s->own_listeners || strncmp(r->url, s->prefix, pl) != 0 ||
            (r->url[pl] && r->url[pl] != '/'))
            continue;
        route_in(r, i, r->url + pl);
        return;
    }
    framework_error(r, 404, "The resource could not be found.");
}

static void authenticate(struct api_req *r)
{
    if (r->own_svc >= 0) /* a service's own listener: no token is read */
        return;
    const char *token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Auth-Token");
    struct identity *idn = r->srv->cfg.identity;
    char cookie_token[IDENTITY_TOKEN_MAX];
    if (!token && r->srv->cookie_auth &&
        r->srv->cookie_auth(r, r->srv->cookie_auth_ctx, cookie_token))
        token = cookie_token;
    if (token && idn && identity_token_check(idn, token, &r->tok) == 0) {
        r->authed = true;
        return;
    }
    if (r->route->flags & API_PUBLIC)
        return;
    if (r->svc->error == api_error_keystone) {
        char hdr[160];
        snprintf(hdr, sizeof(hdr), "Keystone uri=\"%s/identity\"", api_req_base_url(r));
        api_reply_header(r, "WWW-Authenticate", hdr);
    }
    api_reply_error(r, 401, "The request you have made requires authentication.");
}

/* ---------- request lifecycle ---------- */

/* "req-<uuid4>" as OpenStack's, from a per-thread xorshift generator
 * seeded once from libsodium: no system call per request. */
static void request_id(char out[41])
{
    static __thread uint64_t st[2];
    if (!st[0] && !st[1])
        randombytes_buf(st, sizeof(st));
    unsigned char b[16];
    for (int i = 0; i < 2; i++) {
        uint64_t x = st[0], y = st[1];
        st[0] = y;
        x ^= x << 23;
        st[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
        uint64_t v = st[1] + y;
        memcpy(b + 8 * i, &v, 8);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    memcpy(out, "req-", 4);
    store_id_from_bin(b, out + 4);
}

static struct api_req *req_new(struct api_server *srv, struct MHD_Connection *conn, const char *url,
                               const char *method)
{
    struct api_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->srv = srv;
    r->conn = conn;
    r->svc_index = -1;
    r->own_svc = api_attached_of(srv, conn, &r->listener_ctx);
    r->cn = api_guard_conn(conn);
    if (r->cn) { /* the path as received: the request line's, kept at its arrival */
        r->raw_path = r->cn->raw_path;
        r->cn->raw_path = NULL;
    }
    r->start_ns = api_now_ns();
    r->url = strdup(url);
    if (!r->url) {
        free(r);
        return NULL;
    }
    snprintf(r->method, sizeof(r->method), "%s", method);
    request_id(r->req_id);
    atomic_fetch_add(&srv->in_flight, 1);
    return r;
}

static void req_free(struct api_req *r)
{
    for (unsigned i = 0; i < r->n_params; i++)
        free(r->params[i]);
    for (unsigned i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    if (r->resp)
        MHD_destroy_response(r->resp);
    api_guard_upload_release(r);
    atomic_fetch_sub(&r->srv->in_flight, 1);
    free(r->raw_path);
    free(r->base_url);
    free(r->body);
    free(r->url);
    free(r);
}

static bool content_length_too_big(struct api_req *r)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl && strtoull(cl, NULL, 10) > API_MAX_JSON_BODY;
}

static bool small_body(struct api_req *r)
{
    if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return false;
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return !cl || strtoull(cl, NULL, 10) <= 64 * 1024;
}

static void too_big(struct api_req *r)
{
    api_reply_error(r, 413, "Request body too large: the limit is %u bytes.", API_MAX_JSON_BODY);
}

/* Headers are in: route, authenticate, and start a streaming handler. */
static void on_headers(struct api_req *r)
{
    route(r);
    if (r->resp || !r->route)
        return;
    authenticate(r);
    if (r->resp)
        return;
    if (r->route->flags & API_STREAM_BODY) {
        int status = api_guard_upload_admit(r);
        if (status) {
            api_reply_header(r, "Retry-After", "5");
            api_reply_error(r, status, "Too many uploads in progress%s; try again later.",
                            status == 429 ? " for this project" : "");
            return;
        }
        r->handler_ran = true;
        r->route->fn(r);
    } else if (content_length_too_big(r)) {
        too_big(r);
    }
}

static void on_body(struct api_req *r, const char *data, size_t len)
{
    api_guard_body(r->cn, len);
    if (r->resp || r->work)
        return; /* already answered: the rest of the body is dropped */
    if (r->streaming) {
        if (!r->stream_err && r->on_chunk) {
            int rc = r->on_chunk(r, r->stream_ctx, data, len);
            if (rc < 0)
                r->stream_err = rc;
        }
        return;
    }
    if (r->handler_ran || r->body_too_big)
        return;
    if (r->body_len + len > API_MAX_JSON_BODY) {
        r->body_too_big = true;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        return;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            r->body_too_big = true;
            return;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
}

/* The whole body is in (or none was sent). */
static void on_complete_body(struct api_req *r)
{
    if (r->resp || r->work)
        return;
    if (r->streaming) {
        if (!r->stream_ended) {
            r->stream_ended = true;
            r->on_end(r, r->stream_ctx, r->stream_err);
        }
        return;
    }
    if (r->handler_ran)
        return;
    if (r->body_too_big) {
        too_big(r);
        return;
    }
    r->handler_ran = true;
    r->route->fn(r);
}

static void enqueue_work(struct api_req *r)
{
    struct api_server *srv = r->srv;
    struct api_pool *pool = &srv->pools[r->slow ? 1 : 0];
    pthread_mutex_lock(&srv->lock);
    r->next_job = NULL;
    if (pool->tail)
        pool->tail->next_job = r;
    else
        pool->head = r;
    pool->tail = r;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result queue_reply(struct api_req *r)
{
    if (!r->resp) {
        if (r->svc)
            api_reply_error(r, 500, "The handler gave no reply.");
        else
            framework_error(r, 500, "No reply.");
    }
    r->queued = true;
    api_guard_phase(r->srv, r->cn, API_CONN_BUSY);
    return MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
}

/* What no route may see: an encoded NUL in the path (MHD's decoding stops
 * there, so "/metrics%00x" would reach /metrics) and a body in a transfer
 * encoding other than chunked (MHD would wait for its end forever).
 * Replies (400, 501) and returns true. */
static bool refuse_head(struct api_req *r)
{
    const char *raw = r->raw_path ? r->raw_path : "";
    for (const char *p = strchr(raw, '%'); p; p = strchr(p + 1, '%'))
        if (p[1] == '0' && p[2] == '0') {
            framework_error(r, 400, "An encoded NUL (%00) is not allowed in a path.");
            return true;
        }
    const char *te =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasecmp(te, "chunked") != 0) {
        framework_error(r, 501, "Transfer-Encoding other than chunked is not supported.");
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct api_server *srv = cls;
    struct api_req *r = *con_cls;
    if (!r) {
        r = req_new(srv, conn, url, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        api_guard_phase(srv, r->cn, API_CONN_BODY);
        if (refuse_head(r))
            return queue_reply(r); /* closes the connection */
        on_headers(r);
        /* A reply made before the body (errors, /healthcheck) goes out now
         * only when a big or unbounded body would otherwise have to be read
         * and dropped: MHD then closes the connection.  Otherwise it goes
         * out after the (small or absent) body, keeping the connection. */
        if (r->resp && !r->streaming && !small_body(r))
            return queue_reply(r);
        return MHD_YES;
    }
    if (r->queued)
        return MHD_YES;
    if (*upload_size) {
        on_body(r, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->suspended) { /* resumed by a worker: its reply is ready */
        r->suspended = false;
        return queue_reply(r);
    }
    api_guard_phase(srv, r->cn, API_CONN_BUSY);
    on_complete_body(r);
    if (r->work && !r->resp) {
        r->suspended = true;
        MHD_suspend_connection(conn);
        enqueue_work(r);
        return MHD_YES;
    }
    return queue_reply(r);
}

static void log_request(struct api_req *r, int status, int64_t ns)
{
    if (r->srv->cfg.log_level < 1)
        return;
    /* The path as received, escaped: a decoded %0A would start a forged
     * line. */
    char line[600];
    char *path = api_guard_log_path(r->raw_path ? r->raw_path : "");
    int n = snprintf(line, sizeof(line), "%s %s %d %.3fms %s\n", r->method, path ? path : "?",
                     status, ns / 1e6, r->req_id);
    free(path);
    if (n > (int)sizeof(line))
        line[sizeof(line) - 2] = '\n';
    if (n > (int)sizeof(line))
        n = sizeof(line);
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct api_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    if (r->streaming && !r->stream_ended) {
        r->stream_ended = true;
        r->on_end(r, r->stream_ctx, -ECONNRESET);
    }
    int status = r->queued && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? r->status : 499;
    if (r->queued && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->status >= 400)
        status = r->status; /* an early error reply closes the connection */
    int64_t ns = api_now_ns() - r->start_ns;
    api_metrics_count(r->srv, r->svc_index, status, ns);
    log_request(r, status, ns);
    api_guard_phase(r->srv, r->cn, API_CONN_HEAD);
    api_ws_abandon(r);
    req_free(r);
}

/* ---------- workers ---------- */

static void *worker_main(void *arg)
{
    struct api_pool *pool = arg;
    struct api_server *srv = pool->srv;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!pool->head && !srv->stopping)
            pthread_cond_wait(&srv->cond, &srv->lock);
        struct api_req *r = pool->head;
        if (!r)
            break; /* stopping and nothing queued */
        pool->head = r->next_job;
        if (!pool->head)
            pool->tail = NULL;
        if (pool->queued)
            pool->queued--;
        pthread_mutex_unlock(&srv->lock);
        api_work_fn fn = r->work;
        fn(r, r->work_ctx);
        if (!r->resp)
            api_reply_error(r, 500, "The deferred handler gave no reply.");
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---------- server ---------- */

int api_server_new(const struct api_config *cfg, struct api_server **out)
{
    struct api_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->cfg = *cfg;
    struct api_listener one = { cfg->listen_addr ? cfg->listen_addr : "127.0.0.1", cfg->port,
                                false };
    const struct api_listener *ls = cfg->n_listeners ? cfg->listeners : &one;
    srv->n_listen = cfg->n_listeners ? cfg->n_listeners : 1;
    int rc = srv->n_listen > API_MAX_LISTENERS ? -E2BIG : 0;
    for (unsigned i = 0; !rc && i < srv->n_listen; i++) {
        struct api_listen *l = &srv->listen[i];
        if (snprintf(l->addr, sizeof(l->addr), "%s", ls[i].addr) >= (int)sizeof(l->addr))
            rc = -EINVAL;
        l->l = ls[i];
        l->l.addr = l->addr;
        if (ls[i].tls && !srv->tls_cert) {
            if (!cfg->tls_cert_pem || !cfg->tls_key_pem)
                rc = -EINVAL; /* HTTPS without a certificate */
            else if (!(srv->tls_cert = strdup(cfg->tls_cert_pem)) ||
                     !(srv->tls_key = strdup(cfg->tls_key_pem)))
                rc = -ENOMEM;
        }
    }
    srv->cfg.listen_addr = srv->listen[0].addr;
    srv->cfg.listeners = NULL; /* not kept: srv->listen copies them */
    srv->cfg.tls_cert_pem = srv->cfg.tls_key_pem = NULL;
    if (rc) {
        free(srv->tls_cert);
        free(srv->tls_key);
        free(srv);
        return rc;
    }
    if (!srv->cfg.threads)
        srv->cfg.threads = DEFAULT_THREADS;
    if (!srv->cfg.workers)
        srv->cfg.workers = DEFAULT_WORKERS;
    srv->cfg.data_dir = NULL; /* not kept: api_server_data_dir copies it */
    snprintf(srv->data_dir, sizeof(srv->data_dir), "%s", cfg->data_dir ? cfg->data_dir : "");
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    pthread_mutex_init(&srv->bs_lock, NULL);
    pthread_mutex_init(&srv->attach_lock, NULL);
    rc = api_guard_init(srv);
    if (rc < 0) {
        free(srv->tls_cert);
        free(srv->tls_key);
        free(srv);
        return rc;
    }
    srv->pools[0] = (struct api_pool){ .srv = srv, .n_threads = srv->cfg.workers };
    srv->pools[1] = (struct api_pool){ .srv = srv,
                                       .n_threads = srv->cfg.slow_workers,
                                       .max_queued = srv->cfg.slow_queue };
    *out = srv;
    return 0;
}

static bool registered(const struct api_server *srv, const char *name)
{
    for (unsigned i = 0; i < srv->n_services; i++)
        if (!strcmp(srv->services[i]->name, name))
            return true;
    return false;
}

/* The service's needs and dependencies are there: 0, or -ENXIO (a missing
 * handle or service, said on stderr: a wiring bug of the daemon or test). */
static int check_needs(const struct api_server *srv, const struct api_service *svc)
{
    const char *missing = NULL;
    if ((svc->needs & API_NEEDS_IDENTITY) && !srv->cfg.identity)
        missing = "the identity handle";
    else if ((svc->needs & API_NEEDS_STORE) && !srv->cfg.store && !srv->cfg.identity)
        missing = "the store";
    else if ((svc->needs & API_NEEDS_BLOCKSTORE) && !srv->cfg.blockstore)
        missing = "the block store";
    for (size_t i = 0; !missing && svc->depends && svc->depends[i]; i++)
        if (!registered(srv, svc->depends[i]))
            missing = svc->depends[i];
    if (!missing)
        return 0;
    fprintf(stderr, "picostackd: service %s needs %s\n", svc->name, missing);
    return -ENXIO;
}

int api_server_add_service(struct api_server *srv, const struct api_service *svc)
{
    if (srv->n_services == API_MAX_SERVICES)
        return -ENOSPC;
    if (registered(srv, svc->name) || srv->started)
        return -EBUSY; /* twice, or after start */
    int rc = check_needs(srv, svc);
    if (rc)
        return rc;
    void *state = NULL;
    srv->services[srv->n_services] = svc; /* its init may attach listeners */
    if (svc->init && (rc = svc->init(srv, &state)) != 0) {
        srv->services[srv->n_services] = NULL;
        return rc;
    }
    srv->states[srv->n_services] = state;
    srv->services[srv->n_services++] = svc;
    return 0;
}

size_t api_server_service_count(const struct api_server *srv)
{
    return srv->n_services;
}

const struct api_service *api_server_service_at(const struct api_server *srv, size_t i)
{
    return i < srv->n_services ? srv->services[i] : NULL;
}

struct identity *api_server_identity(struct api_server *srv)
{
    return srv->cfg.identity;
}

struct store *api_server_store(struct api_server *srv)
{
    if (srv->cfg.store)
        return srv->cfg.store;
    return srv->cfg.identity ? identity_store(srv->cfg.identity) : NULL;
}

struct blockstore *api_server_blockstore(struct api_server *srv)
{
    return srv->cfg.blockstore;
}

void api_blockstore_lock(struct api_server *srv)
{
    pthread_mutex_lock(&srv->bs_lock);
}

void api_blockstore_unlock(struct api_server *srv)
{
    pthread_mutex_unlock(&srv->bs_lock);
}

const char *api_server_data_dir(struct api_server *srv)
{
    return srv->data_dir;
}

struct net_dp *api_server_netdp(struct api_server *srv)
{
    return srv->cfg.netdp;
}

unsigned api_server_port(const struct api_server *srv)
{
    return srv->listen[0].port;
}

unsigned api_server_listener_port(const struct api_server *srv, unsigned i)
{
    return i < srv->n_listen ? srv->listen[i].port : 0;
}

bool api_server_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

static struct MHD_Daemon *listen_start(struct api_server *srv, struct api_listen *l)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    bool v6 = strchr(l->addr, ':') != NULL;
    if (v6) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(l->l.port);
        if (inet_pton(AF_INET6, l->addr, &sin6->sin6_addr) != 1)
            return NULL;
    } else {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(l->l.port);
        if (inet_pton(AF_INET, l->addr, &sin->sin_addr) != 1)
            return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TCP_FASTOPEN | MHD_ALLOW_UPGRADE;
    if (v6)
        flags |= MHD_USE_IPv6;
    if (l->l.tls)
        flags |= MHD_USE_TLS;
    if (srv->cfg.log_level >= 2)
        flags |= MHD_USE_ERROR_LOG;
    /* MHD zeroes a connection's pool between keep-alive requests: a big
     * pool costs every request; 64 KiB still hands uploads 32+ KiB chunks.
     * The TLS options come last: MHD_OPTION_END ends the list for plain
     * HTTP (a key for a plain daemon is an error in libmicrohttpd). */
    return MHD_start_daemon(
        flags, l->l.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT,
        srv->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->cfg.max_connections_per_ip,
        MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, srv, MHD_OPTION_URI_LOG_CALLBACK,
        api_guard_uri_log, srv, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        l->l.tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
}

struct MHD_Daemon *api_listen_fd_start(struct api_server *srv, int fd)
{
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    if (srv->cfg.log_level >= 2)
        flags |= MHD_USE_ERROR_LOG;
    /* One polling thread: these listeners serve small documents to guests. */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        srv->cfg.max_connections_per_ip, MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, srv,
        MHD_OPTION_URI_LOG_CALLBACK, api_guard_uri_log, srv, MHD_OPTION_END);
}

int api_server_start(struct api_server *srv)
{
    for (unsigned i = 0; i < srv->n_listen; i++) {
        struct in6_addr a;
        if (inet_pton(strchr(srv->listen[i].addr, ':') ? AF_INET6 : AF_INET, srv->listen[i].addr,
                      &a) != 1)
            return -EINVAL;
        if (srv->listen[i].l.tls && !api_server_tls_supported())
            return -EPROTONOSUPPORT;
    }
    for (int p = 0; p < 2; p++) {
        struct api_pool *pool = &srv->pools[p];
        pool->threads = calloc(pool->n_threads, sizeof(pthread_t));
        if (!pool->threads)
            return -ENOMEM;
        for (unsigned i = 0; i < pool->n_threads; i++) {
            int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
            if (rc) {
                pool->n_threads = i;
                return -rc;
            }
        }
    }
    int rc = api_guard_start(srv);
    if (rc < 0)
        return rc;
    srv->started = true;
    rc = api_attached_start(srv);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < srv->n_listen; i++) {
        struct api_listen *l = &srv->listen[i];
        if (!(l->mhd = listen_start(srv, l)))
            return -EADDRINUSE;
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
        l->port = info ? info->port : l->l.port;
        char addr[sizeof(l->addr)]; /* a copy: gcc sees two fields of *l as overlapping */
        memcpy(addr, l->addr, sizeof(addr));
        bool v6 = strchr(addr, ':') != NULL;
        snprintf(l->default_base, sizeof(l->default_base), "%s://%s%s%s:%u",
                 l->l.tls ? "https" : "http", v6 ? "[" : "", addr, v6 ? "]" : "", l->port);
    }
    return 0;
}

void api_server_stop(struct api_server *srv, unsigned timeout_ms)
{
    api_ws_stop_all(srv); /* MHD cannot stop while upgraded connections live */
    api_attached_stop(srv);
    bool any = false;
    for (unsigned i = 0; i < srv->n_listen; i++) {
        if (!srv->listen[i].mhd)
            continue;
        any = true;
        MHD_socket fd = MHD_quiesce_daemon(srv->listen[i].mhd);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    if (!any)
        return;
    for (unsigned waited = 0; atomic_load(&srv->in_flight) > 0 && waited < timeout_ms; waited += 10)
        usleep(10000);
    for (unsigned i = 0; i < srv->n_listen; i++) {
        if (srv->listen[i].mhd)
            MHD_stop_daemon(srv->listen[i].mhd);
        srv->listen[i].mhd = NULL;
    }
    api_ws_stop_all(srv); /* those upgraded after the first call: ended too */
}

void api_server_free(struct api_server *srv)
{
    if (!srv)
        return;
    api_server_stop(srv, 0);
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    for (int p = 0; p < 2; p++) {
        for (unsigned i = 0; i < srv->pools[p].n_threads && srv->pools[p].threads; i++)
            pthread_join(srv->pools[p].threads[i], NULL);
        free(srv->pools[p].threads);
    }
    api_guard_stop(srv);
    api_guard_fini(srv);
    for (unsigned i = srv->n_services; i-- > 0;)
        if (srv->services[i]->fini)
            srv->services[i]->fini(srv->states[i]);
    api_attached_fini(srv);
    pthread_mutex_destroy(&srv->bs_lock);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->cond);
    if (srv->tls_key)
        sodium_memzero(srv->tls_key, strlen(srv->tls_key));
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}

/* ---------- handler side ---------- */

struct api_server *api_req_server(struct api_req *r)
{
    return r->srv;
}
void *api_req_state(const struct api_req *r)
{
    return r->svc_index >= 0 ? r->srv->states[r->svc_index] : NULL;
}
const char *api_req_method(const struct api_req *r)
{
    return r->method;
}
const char *api_req_path(const struct api_req *r)
{
    return r->path ? r->path : r->url;
}

const char *api_req_param(const struct api_req *r, unsigned i)
{
    return i < r->n_params ? r->params[i] : NULL;
}

struct query_find {
    const char *key, *value;
    bool found;
};

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct query_find *q = cls;
    if (strcmp(key, q->key) != 0)
        return MHD_YES;
    q->found = true;
    q->value = value ? value : ""; /* "?nocatalog" is present, with no value */
    return MHD_NO;
}

const char *api_req_query(struct api_req *r, const char *key)
{
    struct query_find q = { key, NULL, false };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, find_arg, &q);
    return q.found ? q.value : NULL;
}

int api_server_set_cookie_auth(struct api_server *srv, api_cookie_auth_fn fn, void *ctx)
{
    if (srv->cookie_auth)
        return -EBUSY;
    srv->cookie_auth = fn;
    srv->cookie_auth_ctx = ctx;
    return 0;
}

const char *api_req_header(struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* The listener a connection arrived on (the first when unknown). */
static const struct api_listen *arrived_on(struct api_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_DAEMON);
    for (unsigned i = 0; ci && i < r->srv->n_listen; i++)
        if (r->srv->listen[i].mhd == ci->daemon)
            return &r->srv->listen[i];
    return &r->srv->listen[0];
}

const char *api_req_id(const struct api_req *r)
{
    return r->req_id;
}

const char *api_req_client(struct api_req *r)
{
    if (r->client[0])
        return r->client;
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = i ? i->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client,
                  sizeof(r->client));
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client,
                  sizeof(r->client));
    return r->client;
}

const char *api_req_base_url(struct api_req *r)
{
    if (r->base_url)
        return r->base_url;
    const struct api_listen *l = arrived_on(r);
    const char *host = api_req_header(r, "Host");
    if (host && *host && strlen(host) < 200 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(host)) {
        size_t n = strlen(host) + 9;
        r->base_url = malloc(n);
        if (r->base_url) {
            snprintf(r->base_url, n, "%s://%s", l->l.tls ? "https" : "http", host);
            return r->base_url;
        }
    }
    return l->default_base;
}

const struct identity_token *api_req_auth(struct api_req *r)
{
    return r->authed ? &r->tok : NULL;
}

bool api_req_is_admin(struct api_req *r)
{
    return r->authed && (r->tok.role_flags & IDENTITY_ADMIN);
}

bool api_req_require_admin(struct api_req *r)
{
    if (api_req_is_admin(r))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

int api_req_access(struct api_req *r, const char *owner_project, bool write)
{
    if (!r->authed)
        return 401;
    if (r->tok.role_flags & IDENTITY_ADMIN)
        return 0;
    if (!owner_project || strcmp(owner_project, r->tok.project_id) != 0)
        return 404;
    unsigned need = write ? IDENTITY_MEMBER : IDENTITY_READER;
    return (r->tok.role_flags & need) ? 0 : 403;
}

const char *api_req_body(const struct api_req *r, size_t *len)
{
    *len = r->body_len;
    return r->body ? r->body : "";
}

json_t *api_req_json_value(struct api_req *r)
{
    json_error_t err;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!j)
        api_reply_error(r, 400, "Malformed JSON in the request body: %s (line %d, column %d).",
                        err.text, err.line, err.column);
    return j;
}

json_t *api_req_json(struct api_req *r)
{
    json_t *j = api_req_json_value(r);
    if (!j)
        return NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        api_reply_error(r, 400, "The request body must be a JSON object.");
        return NULL;
    }
    return j;
}

void api_req_stream_body(struct api_req *r, api_chunk_fn on_chunk, api_end_fn on_end, void *ctx)
{
    r->streaming = true;
    r->on_chunk = on_chunk;
    r->on_end = on_end;
    r->stream_ctx = ctx;
}

void api_req_defer(struct api_req *r, api_work_fn fn, void *ctx)
{
    r->work = fn;
    r->work_ctx = ctx;
}

bool api_req_defer_slow(struct api_req *r, api_work_fn fn, void *ctx)
{
    struct api_server *srv = r->srv;
    struct api_pool *pool = &srv->pools[1];
    pthread_mutex_lock(&srv->lock);
    bool full = pool->queued >= pool->max_queued;
    if (!full)
        pool->queued++;
    pthread_mutex_unlock(&srv->lock);
    if (full) {
        api_reply_header(r, "Retry-After", "10");
        api_reply_error(r, 503, "The server is busy with other conversions; try again later.");
        return false;
    }
    r->slow = true;
    api_req_defer(r, fn, ctx);
    return true;
}

const struct api_config *api_server_config(const struct api_server *srv)
{
    return &srv->cfg;
}
