/* GET /metrics: Prometheus text exposition. */
#include "api/http/internal.h"

#include <stdlib.h>
#include <string.h>

static const double bucket_s[API_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
};

struct api_metrics_out {
    char *buf;
    size_t len;
    FILE *f;
};

void api_metrics_count(struct api_server *srv, int svc_index, int status, int64_t ns)
{
    struct api_metrics *m = &srv->metrics;
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&m->requests[svc_index + 1][status - 100], 1,
                                  memory_order_relaxed);
    double s = ns / 1e9;
    int b = 0;
    while (b < API_LATENCY_BUCKETS && s > bucket_s[b])
        b++;
    atomic_fetch_add_explicit(&m->latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us, (uint64_t)(ns / 1000), memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
}

void api_metrics_token_issued(struct api_server *srv, const char *method)
{
    if (!strcmp(method, "password"))
        atomic_fetch_add(&srv->metrics.tokens_password, 1);
    else
        atomic_fetch_add(&srv->metrics.tokens_token, 1);
}

int api_metrics_add_collector(struct api_server *srv, api_collector_fn fn, void *ctx)
{
    struct api_metrics *m = &srv->metrics;
    if (m->n_collectors == API_MAX_COLLECTORS)
        return -1;
    m->collectors[m->n_collectors].fn = fn;
    m->collectors[m->n_collectors].ctx = ctx;
    m->n_collectors++;
    return 0;
}

void api_metrics_describe(struct api_metrics_out *out, const char *name, const char *type,
                          const char *help)
{
    fprintf(out->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void api_metrics_sample(struct api_metrics_out *out, const char *name, const char *labels,
                        double value)
{
    if (labels && *labels)
        fprintf(out->f, "%s{%s} %.17g\n", name, labels, value);
    else
        fprintf(out->f, "%s %.17g\n", name, value);
}

void api_metrics_render(struct api_server *srv, struct api_req *r)
{
    struct api_metrics *m = &srv->metrics;
    struct api_metrics_out out = { 0 };
    out.f = open_memstream(&out.buf, &out.len);
    if (!out.f) {
        api_reply_error(r, 500, "out of memory");
        return;
    }
    char labels[128];
    api_metrics_describe(&out, "picostack_http_requests_total", "counter",
                         "HTTP requests by service and status.");
    for (unsigned s = 0; s <= srv->n_services; s++) {
        const char *name = s == 0 ? "none" : srv->services[s - 1]->name;
        for (int st = 0; st < 500; st++) {
            uint64_t n = atomic_load(&m->requests[s][st]);
            if (!n)
                continue;
            snprintf(labels, sizeof(labels), "service=\"%s\",status=\"%d\"", name, st + 100);
            api_metrics_sample(&out, "picostack_http_requests_total", labels, (double)n);
        }
    }
    api_metrics_describe(&out, "picostack_http_request_duration_seconds", "histogram",
                         "HTTP request latency.");
    uint64_t cum = 0;
    for (int b = 0; b <= API_LATENCY_BUCKETS; b++) {
        cum += atomic_load(&m->latency[b]);
        if (b < API_LATENCY_BUCKETS)
            snprintf(labels, sizeof(labels), "le=\"%g\"", bucket_s[b]);
        else
            snprintf(labels, sizeof(labels), "le=\"+Inf\"");
        api_metrics_sample(&out, "picostack_http_request_duration_seconds_bucket", labels,
                           (double)cum);
    }
    api_metrics_sample(&out, "picostack_http_request_duration_seconds_sum", NULL,
                       atomic_load(&m->latency_sum_us) / 1e6);
    api_metrics_sample(&out, "picostack_http_request_duration_seconds_count", NULL,
                       (double)atomic_load(&m->latency_count));
    api_metrics_describe(&out, "picostack_tokens_issued_total", "counter",
                         "Keystone tokens issued, by authentication method.");
    api_metrics_sample(&out, "picostack_tokens_issued_total", "method=\"password\"",
                       (double)atomic_load(&m->tokens_password));
    api_metrics_sample(&out, "picostack_tokens_issued_total", "method=\"token\"",
                       (double)atomic_load(&m->tokens_token));
    for (unsigned i = 0; i < m->n_collectors; i++)
        m->collectors[i].fn(&out, m->collectors[i].ctx);
    fclose(out.f);
    api_reply_text(r, 200, "text/plain; version=0.0.4", out.buf);
    free(out.buf);
}
