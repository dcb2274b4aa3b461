/* Private to api/http/: the request and server structures behind http.h. */
#ifndef PICOSTACK_API_SERVER_INTERNAL_H
#define PICOSTACK_API_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api/http/http.h"

#define API_MAX_SERVICES      8
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

struct api_server {
    struct api_config cfg;
    char listen_addr[64];
    unsigned port;
    struct MHD_Daemon *mhd;
    const struct api_service *services[API_MAX_SERVICES];
    void *states[API_MAX_SERVICES]; /* what each service's init set */
    unsigned n_services;
    pthread_mutex_t bs_lock; /* the block store's one lock (http.h) */
    char default_base[96];
    char data_dir[4096];
    atomic_int in_flight;
    struct api_metrics metrics;
    /* the worker pool of api_req_defer */
    pthread_t *workers;
    unsigned n_workers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct api_req *queue_head, *queue_tail;
    bool stopping;
};

struct api_req {
    struct api_server *srv;
    struct MHD_Connection *conn;
    const struct api_service *svc; /* NULL: framework paths */
    int svc_index;                 /* -1: none */
    const struct api_route *route;
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
void api_metrics_count(struct api_server *srv, int svc_index, int status, int64_t ns);
int64_t api_now_ns(void);

#endif
