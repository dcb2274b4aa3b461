/* Private to api/http/: the request and server structures behind http.h. */
#ifndef PICOSTACK_API_SERVER_INTERNAL_H
#define PICOSTACK_API_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api/http/http.h"
#include "core/store/store.h"

#define API_MAX_SERVICES      12
#define API_MAX_EXTRA_HEADERS 8
#define API_MAX_COLLECTORS    8
#define API_LATENCY_BUCKETS   14

struct api_metrics {
    /* [service + 1 (0 = none)][status - 100] */
    _Atomic uint64_t requests[API_MAX_SERVICES + 1][500];
    _Atomic uint64_t latency[API_LATENCY_BUCKETS + 1]; /* last = +Inf */
    _Atomic uint64_t latency_sum_us, latency_count;
    _Atomic uint64_t tokens_password, tokens_token;
    struct {
        api_collector_fn fn;
        void *ctx;
    } collectors[API_MAX_COLLECTORS];
    unsigned n_collectors;
};

struct api_listen {
    struct api_listener l; /* l.addr points at addr */
    char addr[64];
    struct MHD_Daemon *mhd;
    unsigned port;         /* bound */
    char default_base[96]; /* "https://addr:port" when no Host header */
};

/* A client connection (MHD's socket context), tracked by guard.c for the
 * head and body deadlines. */
enum api_conn_phase {
    API_CONN_HEAD,
    API_CONN_BODY,
    API_CONN_BUSY,
    API_CONN_DEAD,
    API_CONN_UPGRADED /* a WebSocket now (ws.c): no HTTP deadlines */
};
struct api_conn {
    struct api_conn *prev, *next;
    MHD_socket fd;
    bool loopback;               /* the client is on 127.0.0.0/8 or ::1 */
    enum api_conn_phase phase;   /* under the guard's lock */
    int64_t deadline_ns;         /* HEAD: when the head must be complete */
    int64_t window_ns;           /* BODY: start of the current window */
    _Atomic uint64_t body_bytes; /* BODY: bytes in the current window */
    char *raw_path;              /* the request's path as received */
};

/* A pool of threads running deferred handlers (api_req_defer). */
struct api_pool {
    struct api_server *srv;
    pthread_t *threads;
    unsigned n_threads;
    struct api_req *head, *tail;
    unsigned queued, max_queued; /* max_queued 0: no bound */
};

struct api_upload_slot {
    char project[STORE_ID_LEN + 1];
    unsigned n;
};

/* A listening socket a service handed over (api_server_attach). */
struct api_attached {
    unsigned id; /* 0: a free slot */
    int fd;
    int svc_index;
    void *ctx;
    struct MHD_Daemon *mhd; /* NULL until the server starts */
};

struct api_server {
    struct api_config cfg;
    struct api_listen listen[API_MAX_LISTENERS];
    unsigned n_listen;
    bool started;
    char *tls_cert, *tls_key; /* PEM copies */
    const struct api_service *services[API_MAX_SERVICES];
    void *states[API_MAX_SERVICES]; /* what each service's init set */
    unsigned n_services;
    pthread_mutex_t bs_lock; /* the block store's one lock (http.h) */
    char data_dir[4096];
    atomic_int in_flight;
    struct api_metrics metrics;
    /* the worker pools of api_req_defer and api_req_defer_slow */
    struct api_pool pools[2];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    /* guard.c: connections, deadlines, upload caps */
    pthread_mutex_t guard_lock;
    pthread_cond_t guard_cond;
    struct api_conn *conns;
    pthread_t reaper;
    bool reaper_running, reaper_stop;
    unsigned uploads;
    struct api_upload_slot *upload_slots; /* max_uploads of them */
    bool trim_due;
    _Atomic uint64_t dropped_slow, refused_uploads;
    /* attach.c: the services' own listeners */
    pthread_mutex_t attach_lock;
    struct api_attached *attached;
    unsigned n_attached, next_attach_id;
    /* ws.c: the live WebSockets (under lock; cond signals one ending) */
    struct api_ws *websockets;
    unsigned n_websockets;
    bool ws_stopping; /* api_ws_stop_all() ran: a late upgrade ends at once */
    /* browser sessions (api_server_set_cookie_auth); set before start */
    api_cookie_auth_fn cookie_auth;
    void *cookie_auth_ctx;
};

struct api_req {
    struct api_server *srv;
    struct MHD_Connection *conn;
    const struct api_service *svc; /* NULL: framework paths */
    int svc_index;                 /* -1: none */
    const struct api_route *route;
    int own_svc;        /* arrived on service own_svc's own listener; -1: an API one */
    void *listener_ctx; /* that listener's ctx */
    char method[8];
    char *url;
    const char *path; /* into url */
    char *params[API_MAX_PARAMS];
    unsigned n_params;
    char req_id[41];
    int64_t start_ns;
    struct identity_token tok;
    bool authed;
    char *base_url;
    /* body */
    char *body;
    size_t body_len, body_cap;
    bool body_too_big;
    /* streaming */
    api_chunk_fn on_chunk;
    api_end_fn on_end;
    void *stream_ctx;
    int stream_err;
    bool streaming, stream_ended;
    /* progress */
    bool handler_ran;
    api_work_fn work;
    void *work_ctx;
    struct api_req *next_job;
    bool suspended;
    struct api_conn *cn; /* the connection's tracking (may be NULL) */
    char *raw_path;      /* the path as received (for the log) */
    int upload_slot;     /* index + 1 in upload_slots while it holds one */
    bool slow;           /* work goes to the slow lane */
    char client[48];     /* api_req_client, once asked */
    struct api_ws *ws;   /* a WebSocket whose 101 is queued, until upgraded */
    /* reply */
    struct MHD_Response *resp;
    int status;
    bool queued;
    struct {
        char *name, *value;
    } headers[API_MAX_EXTRA_HEADERS];
    unsigned n_headers;
};

void api_metrics_render(struct api_server *srv, struct api_req *r);

/* server.c: a daemon serving an already listening socket. */
struct MHD_Daemon *api_listen_fd_start(struct api_server *srv, int fd);
/* attach.c */
int api_attached_of(struct api_server *srv, struct MHD_Connection *c, void **ctx);
int api_attached_start(struct api_server *srv); /* at api_server_start */
void api_attached_stop(struct api_server *srv); /* at api_server_stop */
void api_attached_fini(struct api_server *srv); /* at api_server_free */
/* reply.c: queues a response built here (headers and request id added). */
void api_reply_mhd(struct api_req *r, int status, struct MHD_Response *resp);
/* ws.c: a request whose 101 never went out (the client left first): its
 * WebSocket's on_close runs and it is freed. */
void api_ws_abandon(struct api_req *r);
/* ws.c: ends every live WebSocket and waits for their threads. */
void api_ws_stop_all(struct api_server *srv);

/* guard.c */
int api_guard_init(struct api_server *srv);  /* defaults, tables */
int api_guard_start(struct api_server *srv); /* the reaper thread */
void api_guard_stop(struct api_server *srv);
void api_guard_fini(struct api_server *srv);
void api_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
void *api_guard_uri_log(void *cls, const char *uri, struct MHD_Connection *c);
struct api_conn *api_guard_conn(struct MHD_Connection *c);
void api_guard_phase(struct api_server *srv, struct api_conn *cn, enum api_conn_phase phase);
void api_guard_body(struct api_conn *cn, size_t n);
/* Takes an upload slot for r's project: 0, or the status to answer. */
int api_guard_upload_admit(struct api_req *r);
void api_guard_upload_release(struct api_req *r);
/* The path as received, with control and non-ASCII bytes %-escaped. */
char *api_guard_log_path(const char *raw);
void api_metrics_count(struct api_server *srv, int svc_index, int status, int64_t ns);
int64_t api_now_ns(void);

#endif
