/* api/http/http.h — picostackd's HTTP framework (api/http/), and how a
 * service plugs into it. The manual of every service folder under api/.
 *
 * One HTTP port (libmicrohttpd, thread pool + poll, HTTP/1.1 keep-alive).
 * A service is a folder api/NAME/ holding a table of routes under a path
 * prefix (docs/ARCHITECTURE.md, "How a service plugs in"), its descriptor, and its private header:
 *
 *     static void list_images(struct api_req *r) { ... api_reply_json(r, 200, body); }
 *     static const struct api_route routes[] = {
 *         { "GET",  "/v2/images",          list_images, 0 },
 *         { "GET",  "/v2/images/{}",       show_image,  0 },        // api_req_param(r, 0)
 *         { "PUT",  "/v2/images/{}/file",  upload,      API_STREAM_BODY },
 *         { "GET",  "",                    versions,    API_PUBLIC },  // GET /image
 *     };
 *     static const struct api_catalog_entry catalog[] = { { "image", "glance", "/image" } };
 *     const struct api_service api_image_service = {
 *         .name = "image", .prefix = "/image", .routes = routes,
 *         .n_routes = API_COUNT(routes), .error = api_error_glance,
 *         .catalog = catalog, .n_catalog = API_COUNT(catalog),
 *         .needs = API_NEEDS_STORE,
 *         .init = image_init, .fini = image_fini,
 *     };
 *
 * and ONE line, X(image), in api/services.c's API_SERVICES list (see
 * api/services.h); api/CMakeLists.txt picks up api/NAME/CMakeLists.txt by
 * itself.  Patterns match the path after the prefix segment by segment;
 * "{}" matches one segment (captured, in order, for api_req_param), a
 * last "{*}" the rest of the path (one or more segments, captured whole); a
 * trailing "/" in the request is ignored.  A path that matches no pattern
 * gets 404, a method that matches none of the patterns that match the path
 * gets 405 — both in the service's error shape.
 *
 * Lifetime: api_server_add_service() checks the service's needs (shared
 * handles the server must have) and depends (services registered before
 * it), then calls init(srv, &state); the state comes back in every handler
 * as api_req_state(r).  api_server_free() calls fini(state) in the reverse
 * order of registration, after the HTTP server has stopped.  Open LMDB
 * tables in init (store_table on api_server_store(srv)), before the server
 * starts.
 *
 * Shared handles come from the server object, never from globals:
 * api_server_store() (the control-plane LMDB store), api_server_identity()
 * (tokens, users, projects), api_server_blockstore() with its one lock
 * (api_blockstore_lock/unlock, or API_BS(srv, call)), api_server_data_dir().
 *
 * The catalog: each service names the catalog entries it serves (type,
 * name, path under the base URL); the identity service builds Keystone's
 * catalog (tokens, /v3/auth/catalog, /v3/services, /v3/endpoints) from the
 * registered services, so it lists exactly what is served.
 *
 * Before a handler runs, the framework has:
 *   - checked X-Auth-Token (unless API_PUBLIC): 401 when missing, bad,
 *     expired or revoked; api_req_auth() is the verified token (no database
 *     read was needed);
 *   - for ordinary routes, read the whole body (JSON bodies over 1 MiB get
 *     413 before the handler runs); api_req_json() parses it (400 naming the
 *     position on malformed JSON).
 * A handler must end with exactly one api_reply_*() call, either before it
 * returns or later from another thread (api_req_defer()).
 *
 * Errors: core/ modules return negative errno (plus a message); one map,
 * api_errno_status(), turns them into statuses, and api_reply_errno()
 * replies with it in the service's error shape.  Transactions:
 * api_txn_begin()/api_txn_commit() reply themselves on failure.
 *
 * Uploads (API_STREAM_BODY): the handler runs when the headers have arrived,
 * before any of the body.  It may reply at once (the body is then read and
 * dropped), or call api_req_stream_body() to receive the body chunk by chunk
 * as it arrives (Content-Length or chunked transfer encoding; nothing is
 * buffered beyond one chunk, of at most ~64 KiB).  on_end runs once:
 * with err = 0 after the last chunk (it must reply then), or with
 * err = -ECONNRESET if the client went away mid-body (no reply possible;
 * undo the partial upload), or with the negative errno an on_chunk call
 * returned (reply with an error).
 *
 * on_chunk must not reply: to stop an upload it returns a negative errno,
 * and on_end (err = that errno) replies.  on_end may call api_req_defer()
 * to finish slow work (e.g. a conversion) on a worker.
 *
 * Slow work (password hashing, conversions): api_req_defer(r, fn, ctx) parks
 * the connection and runs fn(r, ctx) on the framework's worker pool; fn
 * replies as usual.  Request threads stay free for other clients.
 *
 * RBAC for project-owned resources: api_req_access(); admin-only routes:
 * api_req_require_admin().  HEAD is routed to the GET handler
 * (libmicrohttpd drops the body).
 *
 * WebSockets (RFC 6455, ws.c): a GET handler calls api_req_websocket(r,
 * &handler) instead of replying.  It checks the handshake (Upgrade:
 * websocket, Connection: upgrade, Sec-WebSocket-Version 13, a 16-byte
 * Sec-WebSocket-Key) and replies 400 (426 for another version) itself when
 * it is not one; else it replies 101 with Sec-WebSocket-Accept (and the
 * handler's subprotocol when the client offered it: Nova's serial proxy
 * clients ask for "binary"), and from then on the connection is the
 * WebSocket's: one thread of its own reads the client's frames (masked, as
 * RFC 6455 requires), answers pings, joins fragments into messages of at
 * most API_WS_MAX_MESSAGE bytes (text checked as UTF-8) for on_message,
 * watches the handler's peer_fd (on_peer runs when it is readable or hung
 * up) and, at the end, calls on_close once (free ctx, close peer_fd there).
 * A bad frame closes it with RFC 6455's code: an unmasked frame, reserved
 * bits or opcodes, a fragmented or oversized control frame, a stray
 * continuation -> 1002; a message over the cap -> 1009; invalid UTF-8 ->
 * 1007.  A client's close is echoed.  The HTTP deadlines (the guard) end
 * at the upgrade; api_server_stop() closes the WebSockets first.  Callbacks
 * (and api_ws_send/api_ws_close, which only they may call) run on the
 * WebSocket's thread; a send waits at most API_WS_SEND_TIMEOUT_MS for a
 * client that does not read, then the WebSocket ends.
 *
 * Metrics: api_metrics_add_collector() registers a function that appends
 * its own gauges to GET /metrics (e.g. images by status, bytes stored).
 */
#ifndef PICOSTACK_API_H
#define PICOSTACK_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "core/identity/identity.h"

struct store;
struct store_txn;
struct blockstore;
struct net_dp;

#define API_MAX_JSON_BODY (1u << 20)
#define API_MAX_PARAMS    4
#define API_COUNT(a)      (sizeof(a) / sizeof((a)[0]))

struct api_server;
struct api_req;

enum api_route_flags {
    API_PUBLIC = 1,      /* no X-Auth-Token needed (version discovery, login) */
    API_STREAM_BODY = 2, /* body is streamed to the handler (uploads) */
};

typedef void (*api_handler_fn)(struct api_req *r);

struct api_route {
    const char *method;  /* "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern; /* after the prefix: "/v3/projects/{}", "" for the root */
    api_handler_fn fn;
    unsigned flags;
};

/* Renders an error body in the service's own shape and replies. */
typedef void (*api_error_fn)(struct api_req *r, int status, const char *message);

/* One entry of the service catalog: Keystone's service type and name, and
 * the endpoint's path under the base URL ("/volume/v3"). */
struct api_catalog_entry {
    const char *type; /* "block-storage" */
    const char *name; /* "cinder" */
    const char *path; /* "/volume/v3" */
};

/* Shared handles a service needs from the server (api_config). */
enum api_needs {
    API_NEEDS_IDENTITY = 1,   /* api_server_identity() */
    API_NEEDS_STORE = 2,      /* api_server_store() */
    API_NEEDS_BLOCKSTORE = 4, /* api_server_blockstore() (images: optional, 503) */
};

struct api_service {
    const char *name;   /* "identity": logs, metrics label, depends */
    const char *prefix; /* "/identity": first path segment */
    const struct api_route *routes;
    size_t n_routes;
    api_error_fn error;
    /* What the service serves, for the catalog (may be empty). */
    const struct api_catalog_entry *catalog;
    size_t n_catalog;
    /* API_NEEDS_*: api_server_add_service refuses (-ENXIO) when missing. */
    unsigned needs;
    /* Names of services that must be registered before this one (NULL-ended). */
    const char *const *depends;
    /* Optional: called once by api_server_add_service, before serving; sets
     * *state (handed back by api_req_state and to fini). 0 or -errno. */
    int (*init)(struct api_server *srv, void **state);
    /* Optional: called by api_server_free, in reverse registration order. */
    void (*fini)(void *state);
    /* true: served only on listening sockets the service hands over with
     * api_server_attach (see "Own listeners" below), never on the API
     * port; prefix is then only its name in logs and metrics. */
    bool own_listeners;
    /* true: a trailing '/' below the version root ends an empty segment
     * (".../volumes/" matches no route: 404, as Cinder and Glance answer);
     * false: it is ignored everywhere (Keystone's, Nova's and Neutron's
     * leniency). The roots ("/volume/", "/volume/v3/") always answer. */
    bool strict_slash;
};

/* The error shapes of the OpenStack services (status picks the title/kind). */
void api_error_keystone(struct api_req *r, int status, const char *message);
void api_error_nova(struct api_req *r, int status, const char *message); /* Nova, Cinder */
void api_error_neutron(struct api_req *r, int status, const char *message);
void api_error_glance(struct api_req *r, int status, const char *message);

/* ---- the server (picostackd.c, tests) ---- */
/* One listening socket.  tls: HTTPS there (api_config's PEM cert and key);
 * the base URL of requests arriving on it (api_req_base_url) is https://. */
struct api_listener {
    const char *addr; /* numeric IPv4 or IPv6 ("::1", no brackets) */
    unsigned port;    /* 0 = pick a free one (api_server_listener_port) */
    bool tls;
};
#define API_MAX_LISTENERS 4

struct api_config {
    const char *listen_addr; /* "127.0.0.1" */
    unsigned port;           /* 0 = pick a free one (see api_server_port) */
    /* Several addresses (picostackd's `listen`): when n_listeners > 0 they
     * replace listen_addr/port (the first is api_server_port's). */
    const struct api_listener *listeners;
    unsigned n_listeners;
    /* PEM text of the certificate (chain) and key, for listeners with tls
     * (copied; libmicrohttpd with GnuTLS serves them). */
    const char *tls_cert_pem, *tls_key_pem;
    unsigned threads;              /* request threads; 0 = default */
    unsigned workers;              /* api_req_defer workers; 0 = default */
    int log_level;                 /* 0 errors, 1 + requests (default), 2 debug */
    struct identity *identity;     /* token checks; NULL = every non-public route 401 */
    struct store *store;           /* the control-plane store; NULL = identity's */
    struct blockstore *blockstore; /* volumes' and images' data; may be NULL */
    const char *data_dir;          /* scratch files beside the block store; may be NULL */

    /* ---- limits against hostile or careless clients (0 = the default) ----
     * Connections: at most max_connections at once (default 512) and
     * max_connections_per_ip from one client address (default 128); the
     * excess is accepted and closed at once.  A request head (request line
     * and headers) must be complete within head_timeout_s of the
     * connection's start (default 10 s; on a kept-alive connection, of the
     * previous reply's end plus idle_timeout_s); a body must bring at least
     * API_BODY_MIN_BYTES every body_timeout_s (default 30 s); a connection
     * that sends nothing at all for idle_timeout_s (default 60 s) is
     * closed.  Offenders are closed without a reply.
     *
     * Memory: memory_budget_mb (default 256) sizes what is not set: the
     * streamed bodies (uploads) in flight at once, max_uploads (default
     * (budget - 32 MiB - max_connections x 64 KiB) / API_UPLOAD_COST, at
     * least 4), and per project max_uploads_per_project (default
     * max_uploads / 4, at least 1).  An upload over either cap is answered
     * 503 (overall) or 429 (its project) before any body byte is read.
     *
     * Slow jobs (api_req_defer_slow: qcow2 conversions): slow_workers
     * threads (default 1), at most slow_queue waiting (default 4); more
     * are answered 503. */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned head_timeout_s;
    unsigned body_timeout_s;
    unsigned idle_timeout_s;
    unsigned memory_budget_mb;
    unsigned max_uploads;
    unsigned max_uploads_per_project;
    unsigned slow_workers;
    unsigned slow_queue;
    /* Who may read GET /metrics (default API_METRICS_LOOPBACK). */
    enum api_metrics_access {
        API_METRICS_LOOPBACK = 0, /* clients on loopback, or an admin token */
        API_METRICS_ADMIN,        /* an X-Auth-Token with the admin role only */
        API_METRICS_OPEN,         /* anyone */
    } metrics_access;
    /* Images (Glance's image_size_cap and user_storage_quota), in bytes,
     * counted on what is stored (a qcow2's conversion output included):
     * image_size_cap default 1 TiB; user_storage_quota per project, 0 =
     * none (the default). */
    uint64_t image_size_cap;
    uint64_t user_storage_quota;
    /* Failed logins (api/identity/lockout.c): Keystone's lockout, off when
     * lockout_failure_attempts is 0 (the default), for lockout_duration_s
     * (default 1800) after that many failures in a row; and at most
     * login_failures_per_min failed logins a minute from one client
     * address (default 30; more are answered 429). */
    unsigned lockout_failure_attempts;
    unsigned lockout_duration_s;
    unsigned login_failures_per_min;
    struct net_dp *netdp;    /* the network data plane; NULL = model only */
    const char *netdp_netns; /* its namespace (net_dp_config.netns); NULL = ours */
    /* Compute: vCPUs and RAM per host CPU and MiB (0: Nova's 16.0, 1.5). */
    double cpu_allocation_ratio, ram_allocation_ratio;
    /* Deleted servers whose instance actions stay readable (0: 1000). */
    unsigned deleted_servers_kept;
};
#define API_BODY_MIN_BYTES (16u * 1024)
/* Memory one upload may use, for the budget: its pipe (1 MiB), the block
 * store writer's stage (1 MiB) and its disk's I/O pool (up to 8 MiB, touched
 * as it is used: about 6 MiB in practice). */
#define API_UPLOAD_COST    (8u << 20)
/* The limits as options, for picostackd's command line (and config file):
 * "--max-connections N" sets the field at offset; bytes fields take a
 * K/M/G/T suffix.  api_config_set_limit: 0, -EINVAL or -ERANGE. */
struct api_limit_option {
    const char *name, *help;
    size_t offset;
    int bytes; /* 1: a uint64_t byte count; 0: an unsigned */
};
extern const struct api_limit_option api_limit_options[];
extern const size_t api_limit_options_count;
int api_config_set_limit(struct api_config *cfg, const struct api_limit_option *o,
                         const char *value);
/* "loopback", "admin" or "open" (metrics_access): 0 or -EINVAL. */
int api_config_set_metrics(struct api_config *cfg, const char *value);
/* The configuration in force (defaults filled in), for services. */
const struct api_config *api_server_config(const struct api_server *srv);
int api_server_new(const struct api_config *cfg, struct api_server **out);
int api_server_add_service(struct api_server *srv, const struct api_service *svc);
int api_server_start(struct api_server *srv);
unsigned api_server_port(const struct api_server *srv);
/* The port listener i got (i < the number of listeners), 0 otherwise. */
unsigned api_server_listener_port(const struct api_server *srv, unsigned i);
/* Whether this libmicrohttpd can serve HTTPS (built with GnuTLS). */
bool api_server_tls_supported(void);
/* Stops accepting, lets in-flight requests finish (up to timeout_ms), stops. */
void api_server_stop(struct api_server *srv, unsigned timeout_ms);
/* Stops, then runs the services' fini in reverse order, then frees. */
void api_server_free(struct api_server *srv);

/* ---- own listeners (the metadata service in each network namespace) ----
 * A service with own_listeners opens its listening sockets itself (where
 * it likes: another network namespace, an address of its own) and hands
 * them over.  Requests arriving there go to that service's routes only,
 * matched against the whole path (no prefix), with no X-Auth-Token read
 * (every route behaves as API_PUBLIC; api_req_auth is NULL), and none of
 * the framework's paths (/healthcheck, /metrics).  Every limit of the
 * server applies (connections, per-address connections, head, body and
 * idle timeouts, body sizes).  Each socket gets its own polling thread.
 *
 * api_server_attach: fd is a bound, listening (non-blocking) stream
 * socket; ctx comes back in api_req_listener_ctx for requests that
 * arrived on it, so a handler knows which listener they came in on.
 * Works from the service's init on (served once the server starts).  0 and
 * *id, after which the server owns fd; or -EINVAL (svc not registered or
 * not own_listeners), -ENOMEM, -EIO (libmicrohttpd refused it), and the
 * caller still owns fd.  api_server_detach stops serving it (requests in
 * flight are cut), closes fd; ctx may be freed once it returns. */
int api_server_attach(struct api_server *srv, const struct api_service *svc, int fd, void *ctx,
                      unsigned *id);
void api_server_detach(struct api_server *srv, unsigned id);
/* The ctx of the own listener r arrived on; NULL on the API's listeners. */
void *api_req_listener_ctx(const struct api_req *r);

/* ---- shared handles (for a service's init and handlers) ---- */
struct identity *api_server_identity(struct api_server *srv);
/* The control-plane store (open your tables with store_table in init). */
struct store *api_server_store(struct api_server *srv);
/* The block store (NULL when the server has none) and its one lock: the
 * block store is not thread-safe, so every call into it (but reads through
 * an open read-only disk, which has its own ring and descriptors) holds
 * the lock, whichever service makes it.  API_BS(srv, call) makes one
 * locked call and is its value. */
struct blockstore *api_server_blockstore(struct api_server *srv);
void api_blockstore_lock(struct api_server *srv);
void api_blockstore_unlock(struct api_server *srv);
#define API_BS(srv, call)               \
    ({                                  \
        api_blockstore_lock(srv);       \
        __auto_type _api_bs_r = (call); \
        api_blockstore_unlock(srv);     \
        _api_bs_r;                      \
    })
/* The data directory ("" when none), for scratch files. */
const char *api_server_data_dir(struct api_server *srv);
/* The network data plane (core/networks; NULL when picostackd runs without
 * one: the network API then changes only the model). */
struct net_dp *api_server_netdp(struct api_server *srv);
/* Browser sessions (api/dashboard): a request without X-Auth-Token may
 * carry its token in a cookie instead.  One service may register fn (in
 * its init); for every request with no X-Auth-Token, fn looks for the
 * token in the request and returns true with its text in token, or false.
 * fn must demand proof that the request is not a cross-site one (a
 * header a form cannot send, bound to the token), since browsers send
 * cookies by themselves.  The token is then checked as X-Auth-Token is.
 * 0, or -EBUSY when one is registered already. */
typedef bool (*api_cookie_auth_fn)(struct api_req *r, void *ctx, char token[IDENTITY_TOKEN_MAX]);
int api_server_set_cookie_auth(struct api_server *srv, api_cookie_auth_fn fn, void *ctx);
/* The registered services, in registration order (i < count). */
size_t api_server_service_count(const struct api_server *srv);
const struct api_service *api_server_service_at(const struct api_server *srv, size_t i);

/* ---- inside a handler ---- */
struct api_server *api_req_server(struct api_req *r);
/* The state the route's service set in init (NULL on framework routes). */
void *api_req_state(const struct api_req *r);
const char *api_req_method(const struct api_req *r);
const char *api_req_path(const struct api_req *r);              /* after the prefix */
const char *api_req_param(const struct api_req *r, unsigned i); /* "{}" captures */
const char *api_req_query(struct api_req *r, const char *key); /* NULL if absent, "" if valueless */
const char *api_req_header(struct api_req *r, const char *name); /* NULL if absent */
/* A query-string boolean read as OpenStack reads it (oslo's
 * bool_from_string, strict): true, yes, on, y, t, 1 -> 1; false, no, off,
 * n, f, 0 -> 0 (any case); anything else -1 (answer 400). */
int api_bool_word(const char *v);
/* The request id ("req-<uuid>") sent back as X-Openstack-Request-Id. */
const char *api_req_id(const struct api_req *r);
/* The client's address as text ("127.0.0.1", "::1"; "" if unknown). */
const char *api_req_client(struct api_req *r);
/* "http://host:port" as the client reached us (Host header), else the
 * listen address; for links and the catalog. */
const char *api_req_base_url(struct api_req *r);
/* The verified token (never NULL in a non-public route); NULL on public
 * routes without a valid X-Auth-Token. */
const struct identity_token *api_req_auth(struct api_req *r);
/* RBAC for a resource owned by project owner (docs/ARCHITECTURE.md: admin anywhere,
 * member manages its project's resources, reader only reads): 0 when
 * allowed, 404 when the resource belongs to another project (OpenStack
 * hides it), 403 when it is the caller's project but its role may not
 * write.  Typical use:
 *     int st = api_req_access(r, owner, true);
 *     if (st) { api_reply_error(r, st, "..."); return; }                   */
int api_req_access(struct api_req *r, const char *owner_project, bool write);
/* True when the caller may see resources of every project (admin). */
bool api_req_is_admin(struct api_req *r);
/* True when admin; otherwise replies 403 and returns false. */
bool api_req_require_admin(struct api_req *r);
/* The raw body of an ordinary route, and its parse.  api_req_json replies
 * 400 itself and returns NULL on malformed JSON or a non-object. */
const char *api_req_body(const struct api_req *r, size_t *len);
json_t *api_req_json(struct api_req *r);
/* The same for any JSON value (e.g. a JSON-patch array); 400 on malformed. */
json_t *api_req_json_value(struct api_req *r);

/* Streaming bodies (API_STREAM_BODY routes only). */
typedef int (*api_chunk_fn)(struct api_req *r, void *ctx, const void *data, size_t len);
typedef void (*api_end_fn)(struct api_req *r, void *ctx, int err);
void api_req_stream_body(struct api_req *r, api_chunk_fn on_chunk, api_end_fn on_end, void *ctx);

/* Slow work off the request threads; fn must reply. */
typedef void (*api_work_fn)(struct api_req *r, void *ctx);
void api_req_defer(struct api_req *r, api_work_fn fn, void *ctx);
/* The same for long jobs (conversions): on the slow lane's own threads, so
 * they never hold up the workers that logins need.  When slow_queue jobs
 * already wait, replies 503 at once and returns false (fn never runs:
 * the caller frees ctx). */
bool api_req_defer_slow(struct api_req *r, api_work_fn fn, void *ctx);

/* ---- replies (exactly one per request) ---- */
void api_reply_header(struct api_req *r, const char *name, const char *value); /* before */
void api_reply_json(struct api_req *r, int status, json_t *body);              /* steals body */
/* A JSON text that is already rendered (copied). */
void api_reply_json_text(struct api_req *r, int status, const char *text, size_t len);
void api_reply_empty(struct api_req *r, int status);
void api_reply_text(struct api_req *r, int status, const char *content_type, const char *text);
/* Bytes that outlive the server (static data, e.g. compiled-in assets):
 * sent without a copy. */
void api_reply_static(struct api_req *r, int status, const char *content_type, const void *data,
                      size_t len);
void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))); /* in the service's shape */
/* A streamed reply (downloads): read(ctx, pos, buf, max) returns bytes
 * (0 = end, < 0 error); done(ctx) runs when the reply is over.  size may be
 * UINT64_MAX (unknown: chunked). */
typedef long (*api_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);
void api_reply_stream(struct api_req *r, int status, const char *content_type, uint64_t size,
                      api_read_fn read, void (*done)(void *ctx), void *ctx);

/* ---- WebSockets (see the top of this file) ---- */
#define API_WS_MAX_MESSAGE      (1u << 20)
#define API_WS_SEND_TIMEOUT_MS  10000
#define API_WS_CLOSE_NORMAL     1000
#define API_WS_CLOSE_GOING_AWAY 1001
#define API_WS_CLOSE_PROTOCOL   1002
#define API_WS_CLOSE_BAD_DATA   1007
#define API_WS_CLOSE_TOO_BIG    1009
#define API_WS_CLOSE_INTERNAL   1011
struct api_ws;
struct api_ws_handler {
    const char *subprotocol; /* accepted when offered ("binary"); NULL: none */
    int peer_fd;             /* also watched by the WebSocket's thread; -1: none */
    /* A whole message (binary, or text that is valid UTF-8); < 0 ends the
     * WebSocket (1011). */
    int (*on_message)(struct api_ws *ws, void *ctx, bool text, const uint8_t *data, size_t len);
    /* peer_fd is readable or hung up; < 0 ends the WebSocket (1001). */
    int (*on_peer)(struct api_ws *ws, void *ctx);
    void (*on_close)(void *ctx); /* once, when it is over */
    void *ctx;
};
/* true: the 101 is queued and h is in charge (on_close will run); false: a
 * 4xx was queued and none of h will ever be called. */
bool api_req_websocket(struct api_req *r, const struct api_ws_handler *h);
/* One message to the client (0 or a negative errno). */
int api_ws_send(struct api_ws *ws, bool text, const void *data, size_t len);
/* Sends a close frame with code and ends the WebSocket. */
void api_ws_close(struct api_ws *ws, unsigned code);

/* ---- errors and transactions: the one errno -> status map ---- */

/* The HTTP status for a negative errno from core/ (or a store call):
 * -ENOENT 404; -EEXIST, -EBUSY 409; -EINVAL, -ENAMETOOLONG, -EBADMSG 400;
 * -EPERM, -EACCES 403; -EDQUOT, -ENOSPC, -EFBIG, -EMSGSIZE 413;
 * -ENXIO, -ENODEV, -EAGAIN 503; anything else 500. */
int api_errno_status(int err);
/* Replies api_errno_status(err) with the message, in the service's shape. */
void api_reply_errno(struct api_req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Opens a transaction on api_server_store(); replies 500 and returns NULL
 * on failure. */
struct store_txn *api_txn_begin(struct api_req *r, bool write);
/* Commits (the txn is gone either way); on failure replies through the
 * errno map ("Cannot save the change: ...") and returns false. */
bool api_txn_commit(struct api_req *r, struct store_txn *t);

/* ---- metrics ---- */
struct api_metrics_out;
typedef void (*api_collector_fn)(struct api_metrics_out *out, void *ctx);
int api_metrics_add_collector(struct api_server *srv, api_collector_fn fn, void *ctx);
/* One sample; labels like "status=\"active\"" or NULL.  Emit HELP/TYPE once
 * per metric name with api_metrics_describe. */
void api_metrics_describe(struct api_metrics_out *out, const char *name, const char *type,
                          const char *help);
void api_metrics_sample(struct api_metrics_out *out, const char *name, const char *labels,
                        double value);
/* Counts an issued token (identity service). */
void api_metrics_token_issued(struct api_server *srv, const char *method);

#endif
