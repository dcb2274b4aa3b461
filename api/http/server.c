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
        if (pl == 2 && ps[0] == '{' && ps[1] == '}') {
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

/* Finds service and route; replies 404/405 itself when there is none. */
static void route(struct api_req *r)
{
    struct api_server *srv = r->srv;
    /* Drop one trailing '/' (but keep "/"): "/volume/v3/" == "/volume/v3". */
    size_t len = strlen(r->url);
    if (len > 1 && r->url[len - 1] == '/')
        r->url[len - 1] = '\0';
    if (!strcmp(r->url, "/healthcheck") &&
        (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))) {
        healthcheck(r);
        return;
    }
    if (!strcmp(r->url, "/metrics") && !strcmp(r->method, "GET")) {
        api_metrics_render(srv, r);
        return;
    }
    for (unsigned i = 0; i < srv->n_services; i++) {
        const struct api_service *s = srv->services[i];
        size_t pl = strlen(s->prefix);
        if (strncmp(r->url, s->prefix, pl) != 0 || (r->url[pl] && r->url[pl] != '/'))
            continue;
        r->svc = s;
        r->svc_index = (int)i;
        r->path = r->url + pl;
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
        return;
    }
    framework_error(r, 404, "The resource could not be found.");
}

static void authenticate(struct api_req *r)
{
    const char *token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Auth-Token");
    struct identity *idn = r->srv->cfg.identity;
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
    atomic_fetch_sub(&r->srv->in_flight, 1);
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
        r->handler_ran = true;
        r->route->fn(r);
    } else if (content_length_too_big(r)) {
        too_big(r);
    }
}

static void on_body(struct api_req *r, const char *data, size_t len)
{
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
    pthread_mutex_lock(&srv->lock);
    r->next_job = NULL;
    if (srv->queue_tail)
        srv->queue_tail->next_job = r;
    else
        srv->queue_head = r;
    srv->queue_tail = r;
    pthread_cond_signal(&srv->cond);
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
    return MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
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
    char line[600];
    int n = snprintf(line, sizeof(line), "%s %s %d %.3fms %s\n", r->method, r->url, status,
                     ns / 1e6, r->req_id);
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
    req_free(r);
}

/* ---------- workers ---------- */

static void *worker_main(void *arg)
{
    struct api_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!srv->queue_head && !srv->stopping)
            pthread_cond_wait(&srv->cond, &srv->lock);
        struct api_req *r = srv->queue_head;
        if (!r)
            break; /* stopping and nothing queued */
        srv->queue_head = r->next_job;
        if (!srv->queue_head)
            srv->queue_tail = NULL;
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
    snprintf(srv->listen_addr, sizeof(srv->listen_addr), "%s",
             cfg->listen_addr ? cfg->listen_addr : "127.0.0.1");
    srv->cfg.listen_addr = srv->listen_addr;
    if (!srv->cfg.threads)
        srv->cfg.threads = DEFAULT_THREADS;
    if (!srv->cfg.workers)
        srv->cfg.workers = DEFAULT_WORKERS;
    srv->cfg.data_dir = NULL; /* not kept: api_server_data_dir copies it */
    snprintf(srv->data_dir, sizeof(srv->data_dir), "%s", cfg->data_dir ? cfg->data_dir : "");
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    pthread_mutex_init(&srv->bs_lock, NULL);
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
    if (registered(srv, svc->name) || srv->mhd)
        return -EBUSY; /* twice, or after start */
    int rc = check_needs(srv, svc);
    if (rc)
        return rc;
    void *state = NULL;
    if (svc->init && (rc = svc->init(srv, &state)) != 0)
        return rc;
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
    return srv->port;
}

int api_server_start(struct api_server *srv)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(srv->cfg.port) };
    if (inet_pton(AF_INET, srv->listen_addr, &sa.sin_addr) != 1)
        return -EINVAL;
    srv->workers = calloc(srv->cfg.workers, sizeof(pthread_t));
    if (!srv->workers)
        return -ENOMEM;
    for (; srv->n_workers < srv->cfg.workers; srv->n_workers++) {
        int rc = pthread_create(&srv->workers[srv->n_workers], NULL, worker_main, srv);
        if (rc)
            return -rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TCP_FASTOPEN;
    if (srv->cfg.log_level >= 2)
        flags |= MHD_USE_ERROR_LOG;
    srv->mhd = MHD_start_daemon(
        flags, srv->cfg.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, srv->cfg.threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        /* MHD zeroes a connection's pool between keep-alive requests: a big
         * pool costs every request; 64 KiB still hands uploads 32+ KiB chunks. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT,
        120u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!srv->mhd)
        return -EADDRINUSE;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : srv->cfg.port;
    snprintf(srv->default_base, sizeof(srv->default_base), "http://%s:%u", srv->listen_addr,
             srv->port);
    return 0;
}

void api_server_stop(struct api_server *srv, unsigned timeout_ms)
{
    if (!srv->mhd)
        return;
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    for (unsigned waited = 0; atomic_load(&srv->in_flight) > 0 && waited < timeout_ms; waited += 10)
        usleep(10000);
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
}

void api_server_free(struct api_server *srv)
{
    if (!srv)
        return;
    if (srv->mhd)
        api_server_stop(srv, 0);
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    for (unsigned i = 0; i < srv->n_workers; i++)
        pthread_join(srv->workers[i], NULL);
    free(srv->workers);
    for (unsigned i = srv->n_services; i-- > 0;)
        if (srv->services[i]->fini)
            srv->services[i]->fini(srv->states[i]);
    pthread_mutex_destroy(&srv->bs_lock);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->cond);
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

const char *api_req_header(struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_req_base_url(struct api_req *r)
{
    if (r->base_url)
        return r->base_url;
    const char *host = api_req_header(r, "Host");
    if (host && *host && strlen(host) < 200 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(host)) {
        size_t n = strlen(host) + 8;
        r->base_url = malloc(n);
        if (r->base_url) {
            snprintf(r->base_url, n, "http://%s", host);
            return r->base_url;
        }
    }
    return r->srv->default_base;
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
