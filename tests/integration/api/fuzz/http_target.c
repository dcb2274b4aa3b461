/* Fuzz target for picostackd's HTTP side: a real server (every registered
 * service, as the daemon registers them, over a temporary data dir) in this
 * process, and each input sent to it over loopback.
 *
 * Input: byte 0 picks the mode.
 *   0xFF: the rest is sent verbatim as a request (the request head and
 *         whatever follows), then the write side is shut;
 *   else: a JSON body for the (byte 0 mod n)-th route that takes a body
 *         (POST, PUT, PATCH, not streamed; in registration order), its "{}"
 *         filled from known ids picked by byte 1, sent with an admin token.
 * A reply must come (or, for a raw request, the connection must close)
 * within 5 s; the server must not crash (ASan/UBSan watch it).
 * http_target_run returns the reply's status, 0 when the connection closed
 * without one, and aborts on a hang. */
#include "api/services.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct body_route {
    const char *method, *pattern, *prefix;
};

static struct {
    struct api_server *srv;
    unsigned port;
    char token[512];
    char ids[6][64];
    struct body_route routes[128];
    size_t n_routes;
} T;

/* One exchange; the reply (head and body, truncated) into out. */
static int exchange(const void *req, size_t len, bool shut, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(T.port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&a, sizeof a);
    if (rc < 0 && errno == EINTR) { /* libFuzzer's timers: the connect goes on */
        struct pollfd p = { fd, POLLOUT, 0 };
        while ((rc = poll(&p, 1, 5000)) < 0 && errno == EINTR)
            ;
        rc = rc == 1 ? 0 : -1;
    }
    if (rc < 0) {
        perror("http_target: connect");
        abort();
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server closed early (an error reply): read it */
        off += (size_t)w;
    }
    if (shut)
        shutdown(fd, SHUT_WR);
    size_t got = 0;
    out[0] = '\0';
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int pr;
        while ((pr = poll(&p, 1, 5000)) < 0 && errno == EINTR)
            ;
        if (pr != 1) {
            fprintf(stderr, "http_target: no reply and no close within 5 s\n");
            abort();
        }
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t k = (size_t)n < outlen - 1 - got ? (size_t)n : outlen - 1 - got;
        memcpy(out + got, buf, k);
        got += k;
        out[got] = '\0';
    }
    close(fd);
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

static int post_json(const char *method, const char *path, const char *body, char *out,
                     size_t outlen)
{
    size_t blen = strlen(body), cap = blen + 1024;
    char *req = malloc(cap);
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "X-Auth-Token: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     method, path, T.token,
                     !strcmp(method, "PATCH") && !strncmp(path, "/image", 6)
                         ? "application/openstack-images-v2.1-json-patch"
                         : "application/json",
                     blen);
    memcpy(req + n, body, blen);
    int st = exchange(req, (size_t)n + blen, false, out, outlen);
    free(req);
    return st;
}

/* The value of "key": "..." after from in text, into out. */
static void json_field(const char *text, const char *from, const char *key, char *out, size_t len)
{
    const char *p = from ? strstr(text, from) : text;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = p ? strstr(p, pat) : NULL;
    out[0] = '\0';
    if (p) {
        p += strlen(pat);
        p += strspn(p, " \"");
        size_t n = strcspn(p, "\"");
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
    }
}

int http_target_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/var/tmp/picostack-httpfuzz-XXXXXX", state[64];
    if (!mkdtemp(dir))
        return -1;
    snprintf(state, sizeof state, "%s/state", dir);
    struct store *store;
    struct identity *idn;
    struct blockstore *bs;
    bool created;
    if (blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs) < 0 || store_open(state, &store) < 0 ||
        identity_open(store, 3600, &idn) < 0 ||
        identity_bootstrap_with(idn, "fuzz-admin-password", &created) < 0)
        return -1;
    struct api_config cfg = { .log_level = 0,
                              .identity = idn,
                              .store = store,
                              .blockstore = bs,
                              .data_dir = dir,
                              .threads = 2,
                              .workers = 1 };
    const char *failed = NULL;
    if (api_server_new(&cfg, &T.srv) < 0 || api_services_register(T.srv, &failed) < 0 ||
        api_server_start(T.srv) < 0)
        return -1;
    T.port = api_server_port(T.srv);
    /* An admin token, and ids for the "{}" of the routes. */
    char out[65536];
    const char *login =
        "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
        "{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":"
        "\"fuzz-admin-password\"}}},\"scope\":{\"project\":{\"name\":\"admin\","
        "\"domain\":{\"id\":\"default\"}}}}}";
    if (post_json("POST", "/identity/v3/auth/tokens", login, out, sizeof out) != 201)
        return -1;
    const char *h = strcasestr(out, "X-Subject-Token: ");
    if (!h)
        return -1;
    snprintf(T.token, sizeof T.token, "%.*s", (int)strcspn(h + 17, "\r\n"), h + 17);
    json_field(out, "\"user\"", "id", T.ids[0], sizeof T.ids[0]);
    json_field(out, "\"project\"", "id", T.ids[1], sizeof T.ids[1]);
    json_field(out, "\"roles\"", "id", T.ids[2], sizeof T.ids[2]);
    post_json("POST", "/image/v2/images", "{\"name\":\"f\",\"disk_format\":\"raw\"}", out,
              sizeof out);
    json_field(strstr(out, "\r\n\r\n") ? strstr(out, "\r\n\r\n") : out, NULL, "id", T.ids[3],
               sizeof T.ids[3]);
    snprintf(T.ids[4], sizeof T.ids[4], "default");
    snprintf(T.ids[5], sizeof T.ids[5], "00000000-0000-0000-0000-000000000000");
    for (size_t i = 0; i < api_server_service_count(T.srv); i++) {
        const struct api_service *s = api_server_service_at(T.srv, i);
        for (size_t j = 0; j < s->n_routes && T.n_routes < 128; j++) {
            const struct api_route *r = &s->routes[j];
            if ((!strcmp(r->method, "POST") || !strcmp(r->method, "PUT") ||
                 !strcmp(r->method, "PATCH")) &&
                !(r->flags & API_STREAM_BODY))
                T.routes[T.n_routes++] = (struct body_route){ r->method, r->pattern, s->prefix };
        }
    }
    return 0;
}

void http_target_list(void)
{
    for (size_t i = 0; i < T.n_routes; i++)
        printf("%3zu %s %s%s\n", i, T.routes[i].method, T.routes[i].prefix, T.routes[i].pattern);
}

int http_target_run(const uint8_t *data, size_t size)
{
    static char out[65536];
    if (size < 1)
        return 0;
    if (data[0] == 0xFF)
        return exchange(data + 1, size - 1, true, out, sizeof out);
    if (size < 2 || !T.n_routes)
        return 0;
    const struct body_route *r = &T.routes[data[0] % T.n_routes];
    char path[1024];
    size_t n = (size_t)snprintf(path, sizeof path, "%s", r->prefix);
    unsigned pick = data[1];
    for (const char *p = r->pattern; *p && n < sizeof path - 80; p++) {
        if (p[0] == '{' && p[1] == '}') {
            n += (size_t)snprintf(path + n, sizeof path - n, "%s", T.ids[pick % 6]);
            pick /= 6;
            p++;
        } else {
            path[n++] = *p;
        }
    }
    path[n] = '\0';
    char *body = strndup((const char *)data + 2, size - 2);
    int st = post_json(r->method, path, body ? body : "", out, sizeof out);
    free(body);
    return st;
}

#ifdef PICOSTACK_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (http_target_init() < 0) {
        fprintf(stderr, "http_target: cannot start the server\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_target_run(data, size);
    return 0;
}
#endif
