/* The HTTP framework itself (api/http/http.h), in process: a test service with a
 * streamed upload, a deferred handler, a streamed download and a buffered
 * JSON route, driven by libcurl over 127.0.0.1. */
#include "api/http/http.h"
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* ---------- the test service ---------- */

struct upload {
    crypto_generichash_state h;
    uint64_t bytes, fail_at;
    size_t max_chunk, chunks;
};

static atomic_int uploads_cut, uploads_done;

static int up_chunk(struct api_req *r, void *ctx, const void *data, size_t len)
{
    (void)r;
    struct upload *u = ctx;
    if (u->fail_at && u->bytes + len > u->fail_at)
        return -EIO;
    crypto_generichash_update(&u->h, data, len);
    u->bytes += len;
    u->chunks++;
    if (len > u->max_chunk)
        u->max_chunk = len;
    return 0;
}

static void up_end(struct api_req *r, void *ctx, int err)
{
    struct upload *u = ctx;
    if (err == -ECONNRESET) {
        atomic_fetch_add(&uploads_cut, 1);
    } else if (err) {
        api_reply_error(r, 400, "stopped after %llu bytes: %s", (unsigned long long)u->bytes,
                        strerror(-err));
    } else {
        unsigned char h[32];
        char hex[65];
        crypto_generichash_final(&u->h, h, sizeof(h));
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        api_reply_json(r, 200,
                       json_pack("{s:I, s:s, s:I, s:I}", "bytes", (json_int_t)u->bytes, "hash", hex,
                                 "max_chunk", (json_int_t)u->max_chunk, "chunks",
                                 (json_int_t)u->chunks));
        atomic_fetch_add(&uploads_done, 1);
    }
    free(u);
}

static void upload(struct api_req *r)
{
    if (api_req_header(r, "X-Reject")) {
        api_reply_error(r, 409, "rejected before the body");
        return;
    }
    struct upload *u = calloc(1, sizeof(*u));
    crypto_generichash_init(&u->h, NULL, 0, 32);
    const char *f = api_req_header(r, "X-Fail-At");
    u->fail_at = f ? strtoull(f, NULL, 10) : 0;
    api_req_stream_body(r, up_chunk, up_end, u);
}

static void slow_work(struct api_req *r, void *ctx)
{
    (void)ctx;
    usleep(400 * 1000);
    api_reply_json(r, 200, json_pack("{s:b}", "slow", 1));
}

static void slow(struct api_req *r)
{
    api_req_defer(r, slow_work, NULL);
}

static void fast(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:s}", "param", api_req_param(r, 0) ?: ""));
}

static void echo_json(struct api_req *r)
{
    json_t *j = api_req_header(r, "X-Any") ? api_req_json_value(r) : api_req_json(r);
    if (j)
        api_reply_json(r, 200, j);
}

#define DOWNLOAD_SIZE (8u << 20)
static long gen(void *ctx, uint64_t pos, char *buf, size_t max)
{
    (void)ctx;
    size_t n = 0;
    for (; n < max && pos + n < DOWNLOAD_SIZE; n++)
        buf[n] = (char)((pos + n) * 7 + 3);
    return (long)n;
}

static void download(struct api_req *r)
{
    api_reply_stream(r, 200, "application/octet-stream", DOWNLOAD_SIZE, gen, NULL, NULL);
}

static void collect(struct api_metrics_out *out, void *ctx)
{
    (void)ctx;
    api_metrics_describe(out, "picostack_test_gauge", "gauge", "A gauge from a service.");
    api_metrics_sample(out, "picostack_test_gauge", "status=\"active\"", 42);
}

static int test_init(struct api_server *srv, void **state)
{
    (void)state;
    return api_metrics_add_collector(srv, collect, NULL);
}

static void owned(struct api_req *r)
{
    int st = api_req_access(r, api_req_param(r, 0), strcmp(api_req_method(r), "GET") != 0);
    if (st)
        api_reply_error(r, st, "access %d", st);
    else
        api_reply_empty(r, 204);
}

static const struct api_route routes[] = {
    { "GET", "/owned/{}", owned, 0 },
    { "PUT", "/owned/{}", owned, 0 },
    { "PUT", "/upload", upload, API_PUBLIC | API_STREAM_BODY },
    { "POST", "/slow", slow, API_PUBLIC },
    { "GET", "/fast/{}", fast, API_PUBLIC },
    { "POST", "/json", echo_json, API_PUBLIC },
    { "GET", "/download", download, API_PUBLIC },
    { "GET", "/private", fast, 0 },
};

static const struct api_service test_service = {
    .name = "test",
    .prefix = "/test",
    .routes = routes,
    .n_routes = sizeof(routes) / sizeof(routes[0]),
    .error = api_error_neutron,
    .init = test_init,
};

/* ---------- client side ---------- */

struct feed {
    uint64_t size, sent, cut_at;
};

static size_t feed_read(char *buf, size_t sz, size_t n, void *ctx)
{
    struct feed *f = ctx;
    if (f->cut_at && f->sent >= f->cut_at)
        return CURL_READFUNC_ABORT;
    size_t max = sz * n, k = 0;
    for (; k < max && f->sent < f->size; k++, f->sent++)
        buf[k] = (char)(f->sent * 13 + 1);
    return k;
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    struct resp *r = ctx;
    char *b = realloc(r->body, r->len + sz * n + 1);
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

/* PUT size bytes; chunked unless with_length; cut after cut_at bytes. */
static long put_stream(unsigned port, uint64_t size, bool with_length, uint64_t cut_at,
                       const char *extra_header, struct resp *out)
{
    memset(out, 0, sizeof(*out));
    struct feed f = { size, 0, cut_at };
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/test/upload", port);
    struct curl_slist *h = NULL;
    if (!with_length)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    if (extra_header)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &f);
    if (with_length)
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out->body)
        out->json = json_loads(out->body, 0, NULL);
    return cc == CURLE_OK ? out->status : -1;
}

/* Sends the headers and part of the body on a raw socket, then closes. */
static void cut_upload(unsigned port, uint64_t size, uint64_t cut_at)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "PUT /test/upload HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: %llu\r\n\r\n",
                     (unsigned long long)size);
    CHECK(write(fd, head, n) == n);
    static char buf[65536];
    for (uint64_t sent = 0; sent < cut_at; sent += sizeof(buf))
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;
    usleep(50000);
    close(fd);
}

static void expected_hash(uint64_t size, char hex[65])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    char buf[65536];
    for (uint64_t pos = 0; pos < size;) {
        size_t k = 0;
        for (; k < sizeof(buf) && pos < size; k++, pos++)
            buf[k] = (char)(pos * 13 + 1);
        crypto_generichash_update(&h, (unsigned char *)buf, k);
    }
    unsigned char out[32];
    crypto_generichash_final(&h, out, sizeof(out));
    sodium_bin2hex(hex, 65, out, 32);
}

struct server {
    struct api_server *srv;
    struct picostackd d; /* only base/port used, for harness's http() */
};

static void start_with(struct server *s, unsigned threads, struct identity *idn)
{
    memset(s, 0, sizeof(*s));
    struct api_config cfg = { .listen_addr = "127.0.0.1",
                              .threads = threads,
                              .workers = 1,
                              .log_level = 1,
                              .identity = idn };
    CHECK(api_server_new(&cfg, &s->srv) == 0);
    CHECK(api_server_add_service(s->srv, &test_service) == 0);
    CHECK(api_server_start(s->srv) == 0);
    s->d.port = api_server_port(s->srv);
    snprintf(s->d.base, sizeof(s->d.base), "http://127.0.0.1:%u", s->d.port);
}

static void start(struct server *s, unsigned threads)
{
    start_with(s, threads, NULL);
}

static void stop(struct server *s)
{
    api_server_stop(s->srv, 2000);
    api_server_free(s->srv);
}

static void t_stream(const char *unused)
{
    (void)unused;
    struct server s;
    start(&s, 2);
    struct resp r;
    char want[65];
    /* chunked and Content-Length uploads, hashed as they arrive */
    uint64_t size = 64u << 20;
    expected_hash(size, want);
    for (int with_length = 0; with_length < 2; with_length++) {
        CHECK(put_stream(s.d.port, size, with_length, 0, NULL, &r) == 200, "%s", r.body);
        CHECK(json_integer_value(json_object_get(r.json, "bytes")) == (json_int_t)size);
        CHECK(!strcmp(json_string_value(json_object_get(r.json, "hash")) ?: "", want));
        json_int_t maxc = json_integer_value(json_object_get(r.json, "max_chunk"));
        CHECK(maxc > 0 && maxc <= 64 * 1024, "a chunk of %lld bytes", (long long)maxc);
        fprintf(stderr, "upload (%s): %lld chunks, largest %lld\n",
                with_length ? "length" : "chunked",
                (long long)json_integer_value(json_object_get(r.json, "chunks")), (long long)maxc);
        resp_free(&r);
    }
    /* a handler error mid-body: an error reply, in the service's shape */
    CHECK(put_stream(s.d.port, 4u << 20, true, 0, "X-Fail-At: 1000000", &r) == 400);
    CHECK(json_object_get(r.json, "NeutronError") != NULL, "%s", r.body);
    resp_free(&r);
    /* rejected at the headers: no body handler runs */
    put_stream(s.d.port, 1u << 20, true, 0, "X-Reject: 1", &r);
    CHECK(r.status == 409, "%ld", r.status);
    resp_free(&r);
    /* cut off half-way: on_end sees -ECONNRESET */
    int before = atomic_load(&uploads_cut);
    cut_upload(s.d.port, 16u << 20, 8u << 20);
    for (int i = 0; i < 200 && atomic_load(&uploads_cut) == before; i++)
        usleep(10000);
    CHECK(atomic_load(&uploads_cut) == before + 1, "raw cut-off upload not reported");
    /* the same with libcurl aborting mid-body */
    before = atomic_load(&uploads_cut);
    put_stream(s.d.port, 16u << 20, true, 8u << 20, NULL, &r);
    resp_free(&r);
    for (int i = 0; i < 200 && atomic_load(&uploads_cut) == before; i++)
        usleep(10000);
    CHECK(atomic_load(&uploads_cut) == before + 1, "cut-off upload not reported");
    /* streamed download */
    http(&s.d, "GET", "/test/download", NULL, NULL, &r);
    CHECK(r.status == 200 && r.len == DOWNLOAD_SIZE);
    bool same = r.len == DOWNLOAD_SIZE;
    for (size_t i = 0; same && i < r.len; i++)
        same = r.body[i] == (char)(i * 7 + 3);
    CHECK(same, "download bytes differ");
    resp_free(&r);
    stop(&s);
}

struct slow_call {
    struct picostackd *d;
    long status;
    double seconds;
};

static void *call_slow(void *arg)
{
    struct slow_call *c = arg;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct resp r;
    http(c->d, "POST", "/test/slow", NULL, "{}", &r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    c->status = r.status;
    c->seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    resp_free(&r);
    return NULL;
}

static void t_defer(const char *unused)
{
    (void)unused;
    struct server s;
    start(&s, 1); /* one request thread: deferral must keep it free */
    struct slow_call c = { &s.d, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, call_slow, &c);
    usleep(100 * 1000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct resp r;
    http(&s.d, "GET", "/test/fast/abc", NULL, NULL, &r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double fast_s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(r.status == 200 &&
          !strcmp(json_string_value(json_object_get(r.json, "param")) ?: "", "abc"));
    resp_free(&r);
    pthread_join(th, NULL);
    CHECK(c.status == 200 && c.seconds >= 0.4);
    CHECK(fast_s < 0.2, "fast request waited %.3fs behind a deferred one", fast_s);
    /* routing and errors in the service's shape */
    http(&s.d, "GET", "/test/fast", NULL, NULL, &r);
    CHECK(r.status == 404 && json_object_get(r.json, "NeutronError"));
    resp_free(&r);
    http(&s.d, "DELETE", "/test/fast/x", NULL, NULL, &r);
    CHECK(r.status == 405 && json_object_get(r.json, "NeutronError"));
    resp_free(&r);
    http(&s.d, "GET", "/test/private", NULL, NULL, &r);
    CHECK(r.status == 401 && json_object_get(r.json, "NeutronError"), "no identity: 401");
    resp_free(&r);
    http(&s.d, "POST", "/test/json", NULL, "{\"a\": [1, 2}", &r);
    CHECK(r.status == 400 && strstr(r.body ?: "", "column"), "%s", r.body);
    resp_free(&r);
    http(&s.d, "POST", "/test/json", NULL, "[1]", &r);
    CHECK(r.status == 400, "an array where an object is wanted");
    resp_free(&r);
    http(&s.d, "POST", "/test/json", NULL, "{\"a\": 1, \"a\": 2}", &r);
    CHECK(r.status == 400, "duplicate keys");
    resp_free(&r);
    http(&s.d, "POST", "/test/json", NULL, "{\"a\": 1}", &r);
    CHECK(r.status == 200 && json_integer_value(json_object_get(r.json, "a")) == 1);
    resp_free(&r);
    /* a JSON body over 1 MiB without Content-Length (chunked): 413 */
    {
        CURL *cu = curl_easy_init();
        char url[128];
        snprintf(url, sizeof(url), "%s/test/json", s.d.base);
        struct feed f = { (1u << 20) + 100, 0, 0 };
        struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
        memset(&r, 0, sizeof(r));
        curl_easy_setopt(cu, CURLOPT_URL, url);
        curl_easy_setopt(cu, CURLOPT_POST, 1L);
        curl_easy_setopt(cu, CURLOPT_READFUNCTION, feed_read);
        curl_easy_setopt(cu, CURLOPT_READDATA, &f);
        curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(cu, CURLOPT_WRITEDATA, &r);
        curl_easy_perform(cu);
        curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &r.status);
        curl_slist_free_all(h);
        curl_easy_cleanup(cu);
        CHECK(r.status == 413, "chunked oversize body: %ld", r.status);
        resp_free(&r);
    }
    /* metrics with a collector's gauge */
    http(&s.d, "GET", "/metrics", NULL, NULL, &r);
    CHECK(strstr(r.body ?: "", "picostack_test_gauge{status=\"active\"} 42"), "%s", r.body);
    CHECK(strstr(r.body ?: "", "service=\"test\",status=\"405\""));
    resp_free(&r);
    stop(&s);
}

/* api_req_access: admin anywhere, member writes its project, reader reads
 * it, another project's resource is 404. Tokens come from core/identity. */
static void t_access(const char *unused)
{
    (void)unused;
    char dir[256];
    CHECK(t_mkdtemp(dir, sizeof dir, "picostack-access") == 0);
    struct store *st;
    struct identity *idn;
    CHECK(store_open(dir, &st) == 0);
    CHECK(identity_open(st, 60, &idn) == 0);
    char pw[33];
    bool created;
    CHECK(identity_bootstrap(idn, pw, &created) == 0);
    const char *P = "aaaaaaaa-0000-4000-8000-000000000001",
               *Q = "aaaaaaaa-0000-4000-8000-000000000002";
    const char *U = "bbbbbbbb-0000-4000-8000-000000000001";
    struct store_txn *t;
    CHECK(store_begin(st, true, &t) == 0);
    json_t *recs[3] = {
        json_pack("{s:s, s:s, s:s, s:b}", "id", P, "name", "p", "domain_id", "default", "enabled",
                  1),
        json_pack("{s:s, s:s, s:s, s:b}", "id", Q, "name", "q", "domain_id", "default", "enabled",
                  1),
        json_pack("{s:s, s:s, s:s, s:b}", "id", U, "name", "u", "domain_id", "default", "enabled",
                  1),
    };
    CHECK(identity_create(t, idn, IDENTITY_PROJECT, recs[0]) == 0);
    CHECK(identity_create(t, idn, IDENTITY_PROJECT, recs[1]) == 0);
    CHECK(identity_create(t, idn, IDENTITY_USER, recs[2]) == 0);
    json_t *member, *reader, *admin;
    CHECK(identity_find(t, idn, IDENTITY_ROLE, NULL, "member", &member) == 0);
    CHECK(identity_find(t, idn, IDENTITY_ROLE, NULL, "reader", &reader) == 0);
    CHECK(identity_find(t, idn, IDENTITY_ROLE, NULL, "admin", &admin) == 0);
    CHECK(identity_assign(t, idn, P, U, json_string_value(json_object_get(member, "id"))) == 0);
    CHECK(identity_assign(t, idn, Q, U, json_string_value(json_object_get(reader, "id"))) == 0);
    CHECK(store_commit(t) == 0);
    char tp[IDENTITY_TOKEN_MAX], tq[IDENTITY_TOKEN_MAX];
    struct identity_token tok;
    CHECK(store_begin(st, false, &t) == 0);
    CHECK(identity_token_issue(t, idn, U, P, 1, NULL, 0, &tok, tp) == 0);
    CHECK(identity_token_issue(t, idn, U, Q, 1, NULL, 0, &tok, tq) == 0);
    store_abort(t);
    struct server s;
    start_with(&s, 2, idn);
    char path[128];
    struct {
        const char *tok, *owner, *method;
        long want;
    } cases[] = {
        { tp, P, "GET", 204 }, { tp, P, "PUT", 204 }, /* member, own project */
        { tp, Q, "GET", 404 }, { tp, Q, "PUT", 404 }, /* another project: hidden */
        { tq, Q, "GET", 204 }, { tq, Q, "PUT", 403 }, /* reader: reads only */
        { tq, P, "GET", 404 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "/test/owned/%s", cases[i].owner);
        struct resp r;
        http(&s.d, cases[i].method, path, cases[i].tok, NULL, &r);
        CHECK(r.status == cases[i].want, "case %zu: %ld", i, r.status);
        resp_free(&r);
    }
    stop(&s);
    for (int i = 0; i < 3; i++)
        json_decref(recs[i]);
    json_decref(member);
    json_decref(reader);
    json_decref(admin);
    identity_close(idn);
    store_close(st);
    CHECK(t_rm_rf(dir) == 0);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "stream", t_stream },
                                            { "defer", t_defer },
                                            { "access", t_access } };
    if (sodium_init() < 0)
        return 1;
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
