/* WebSockets in the HTTP framework (api/http/http.h, "WebSockets"), in
 * process: a test service with an echo WebSocket and a relay to a
 * socketpair the test holds, driven by a hand-made client
 * (tests/support/wsclient.h) and by python3-websocket (a real client).
 *   handshake  the RFC's Accept value, "binary" when offered, 400/426
 *   frames     text, binary (7-, 16- and 64-bit lengths), fragments with a
 *              ping between them, close echoed; a 3 s idle WebSocket lives
 *              past the 1 s HTTP idle deadline
 *   bad        unmasked, reserved opcode, reserved bit, stray
 *              continuation, big ping -> 1002; too big -> 1009; bad UTF-8
 *              -> 1007; a handler error -> 1011
 *   relay      bytes both ways through peer_fd; the peer hanging up ends
 *              it with 1001; api_server_stop() ends live WebSockets
 *   python     python3-websocket against the echo, asking for "binary" */
#include "api/http/http.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/wsclient.h"

static atomic_int closes;   /* on_close calls */
static atomic_int opens;    /* echo WebSockets whose 101 was queued */
static int relay_peer = -1; /* the server's end of the test's socketpair */

static int echo_message(struct api_ws *ws, void *ctx, bool text, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (text && len == 4 && !memcmp(data, "fail", 4))
        return -1;
    return api_ws_send(ws, text, data, len);
}

static void count_close(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&closes, 1);
}

static void echo(struct api_req *r)
{
    struct api_ws_handler h = {
        .subprotocol = "binary", .peer_fd = -1, .on_message = echo_message, .on_close = count_close
    };
    if (api_req_websocket(r, &h))
        atomic_fetch_add(&opens, 1);
}

static int relay_message(struct api_ws *ws, void *ctx, bool text, const uint8_t *data, size_t len)
{
    (void)ws;
    (void)text;
    int fd = *(int *)ctx;
    return send(fd, data, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int relay_peer_ready(struct api_ws *ws, void *ctx)
{
    uint8_t buf[4096];
    ssize_t n = recv(*(int *)ctx, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0)
        return -1;
    return api_ws_send(ws, false, buf, (size_t)n);
}

static void relay_close(void *ctx)
{
    close(*(int *)ctx);
    atomic_fetch_add(&closes, 1);
}

static void relay(struct api_req *r)
{
    struct api_ws_handler h = { .peer_fd = relay_peer,
                                .on_message = relay_message,
                                .on_peer = relay_peer_ready,
                                .on_close = relay_close,
                                .ctx = &relay_peer };
    api_req_websocket(r, &h);
}

static const struct api_route routes[] = {
    { "GET", "/echo", echo, API_PUBLIC },
    { "GET", "/relay", relay, API_PUBLIC },
};

static const struct api_service ws_service = {
    .name = "wst",
    .prefix = "/wst",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_nova,
};

static struct api_server *start(unsigned *port)
{
    struct api_config cfg = { .listen_addr = "127.0.0.1",
                              .threads = 2,
                              .workers = 1,
                              .head_timeout_s = 1,
                              .idle_timeout_s = 1 };
    struct api_server *srv = NULL;
    REQUIRE(api_server_new(&cfg, &srv) == 0);
    REQUIRE(api_server_add_service(srv, &ws_service) == 0);
    REQUIRE(api_server_start(srv) == 0);
    *port = api_server_port(srv);
    return srv;
}

static int open_echo(unsigned port)
{
    int status = 0;
    char head[2048];
    int fd = ws_open(port, "/wst/echo", NULL, &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    return fd;
}

/* Sends one frame and expects the same payload back as one frame. */
static void round_trip(int fd, unsigned op, size_t len)
{
    uint8_t *p = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        p[i] = op == 1 ? (uint8_t)('a' + i % 26) : (uint8_t)(i * 7 + 3);
    CHECK_EQ(ws_send_frame(fd, true, op, true, p, len), 0);
    unsigned got_op = 0;
    bool fin = false;
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK_EQ(ws_read_frame(fd, &got_op, &fin, &d, &n, 10), 0);
    CHECK_EQ(got_op, op);
    CHECK(fin);
    CHECK(n == len && !memcmp(d, p, len), "a %zu-byte message came back as %zu bytes", len, n);
    free(d);
    free(p);
}

static void t_handshake(const char *unused)
{
    (void)unused;
    unsigned port;
    struct api_server *srv = start(&port);
    char head[2048], v[256];
    int status;
    int fd = ws_open(port, "/wst/echo",
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: base64, binary\r\n",
                     &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    ws_head_value(head, "Sec-WebSocket-Accept", v, sizeof(v));
    CHECK_STR(v, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 section 1.3 */
    ws_head_value(head, "Sec-WebSocket-Protocol", v, sizeof(v));
    CHECK_STR(v, "binary");
    ws_head_value(head, "Upgrade", v, sizeof(v));
    CHECK(!strcasecmp(v, "websocket"), "Upgrade: %s", v);
    close(fd);

    fd = ws_open(port, "/wst/echo", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n",
                 &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    ws_head_value(head, "Sec-WebSocket-Protocol", v, sizeof(v));
    CHECK_STR(v, ""); /* not offered: none chosen */
    close(fd);

    fd = ws_open(port, "/wst/echo", "Sec-WebSocket-Version: 8\r\n", &status, head, sizeof(head));
    CHECK_EQ(status, 426);
    ws_head_value(head, "Sec-WebSocket-Version", v, sizeof(v));
    CHECK_STR(v, "13");
    close(fd);

    /* a plain GET, and a key that is not 16 bytes */
    struct picostackd d = { .port = port };
    snprintf(d.base, sizeof(d.base), "http://127.0.0.1:%u", port);
    struct resp r;
    http(&d, "GET", "/wst/echo", NULL, NULL, &r);
    CHECK_EQ(r.status, 400);
    resp_free(&r);
    fd = ws_open(port, "/wst/echo", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n",
                 &status, head, sizeof(head));
    CHECK_EQ(status, 400); /* a short key: refused */
    close(fd);
    api_server_stop(srv, 2000);
    api_server_free(srv);
    CHECK_EQ(atomic_load(&closes), 2);
}

static void t_frames(const char *unused)
{
    (void)unused;
    unsigned port;
    struct api_server *srv = start(&port);
    int fd = open_echo(port);
    round_trip(fd, 1, 5);
    round_trip(fd, 2, 0);
    round_trip(fd, 2, 125);
    round_trip(fd, 2, 126);
    round_trip(fd, 2, 65535);
    round_trip(fd, 2, 200000); /* a 64-bit length */

    /* three fragments with a ping between them: pong first, then the whole */
    CHECK_EQ(ws_send_frame(fd, false, 2, true, "abc", 3), 0);
    CHECK_EQ(ws_send_frame(fd, false, 0, true, "def", 3), 0);
    CHECK_EQ(ws_send_frame(fd, true, 9, true, "hi", 2), 0);
    CHECK_EQ(ws_send_frame(fd, true, 0, true, "gh", 2), 0);
    unsigned op;
    bool fin;
    uint8_t *d;
    size_t n;
    CHECK_EQ(ws_read_frame(fd, &op, &fin, &d, &n, 10), 0);
    CHECK(op == 10 && n == 2 && !memcmp(d, "hi", 2), "expected pong 'hi', got op %u", op);
    free(d);
    CHECK_EQ(ws_read_frame(fd, &op, &fin, &d, &n, 10), 0);
    CHECK(op == 2 && n == 8 && !memcmp(d, "abcdefgh", 8), "op %u len %zu", op, n);
    free(d);

    /* idle past the HTTP deadlines (1 s here): still a WebSocket */
    sleep(3);
    round_trip(fd, 1, 10);

    /* close: echoed, then the stream ends */
    uint8_t bye[] = { 0x03, 0xe8, 'b', 'y', 'e' };
    CHECK_EQ(ws_send_frame(fd, true, 8, true, bye, sizeof(bye)), 0);
    CHECK_EQ(ws_read_close(fd, 10), 1000);
    CHECK(ws_eof(fd, 10));
    close(fd);
    api_server_stop(srv, 2000);
    api_server_free(srv);
}

/* Opens an echo WebSocket, sends what send() sends, expects close `code`. */
static void expect_close(unsigned port, const char *what, int code, void (*send)(int fd))
{
    int fd = open_echo(port);
    send(fd);
    int got = ws_read_close(fd, 10);
    CHECK(got == code, "%s: close %d, expected %d", what, got, code);
    CHECK(ws_eof(fd, 10), "%s: the stream did not end", what);
    close(fd);
}

static void send_unmasked(int fd)
{
    ws_send_frame(fd, true, 2, false, "x", 1);
}
static void send_opcode3(int fd)
{
    ws_send_frame(fd, true, 3, true, "x", 1);
}
static void send_rsv(int fd)
{
    ws_send_frame(fd, true, 0x40 | 2, true, "x", 1);
}
static void send_stray_cont(int fd)
{
    ws_send_frame(fd, true, 0, true, "x", 1);
}
static void send_new_mid_message(int fd)
{
    ws_send_frame(fd, false, 1, true, "a", 1);
    ws_send_frame(fd, true, 1, true, "b", 1);
}
static void send_big_ping(int fd)
{
    char p[126] = { 0 };
    ws_send_frame(fd, true, 9, true, p, sizeof(p));
}
static void send_fragmented_ping(int fd)
{
    ws_send_frame(fd, false, 9, true, "x", 1);
}
static void send_too_big(int fd)
{
    ws_send_header(fd, true, 2, API_WS_MAX_MESSAGE + 1);
}
static void send_too_big_fragments(int fd)
{
    static uint8_t chunk[600000];
    ws_send_frame(fd, false, 2, true, chunk, sizeof(chunk));
    ws_send_frame(fd, true, 0, true, chunk, sizeof(chunk));
}
static void send_bad_utf8(int fd)
{
    ws_send_frame(fd, true, 1, true, "\xc0\xaf", 2);
}
static void send_fail(int fd)
{
    ws_send_frame(fd, true, 1, true, "fail", 4);
}
static void send_bad_close_code(int fd)
{
    uint8_t c[] = { 0x03, 0xed }; /* 1005 may not be sent */
    ws_send_frame(fd, true, 8, true, c, 2);
}

static void t_bad(const char *unused)
{
    (void)unused;
    unsigned port;
    struct api_server *srv = start(&port);
    expect_close(port, "unmasked", 1002, send_unmasked);
    expect_close(port, "opcode 3", 1002, send_opcode3);
    expect_close(port, "RSV1", 1002, send_rsv);
    expect_close(port, "stray continuation", 1002, send_stray_cont);
    expect_close(port, "new message mid-message", 1002, send_new_mid_message);
    expect_close(port, "126-byte ping", 1002, send_big_ping);
    expect_close(port, "fragmented ping", 1002, send_fragmented_ping);
    expect_close(port, "too big", 1009, send_too_big);
    expect_close(port, "too big in fragments", 1009, send_too_big_fragments);
    expect_close(port, "bad UTF-8", 1007, send_bad_utf8);
    expect_close(port, "handler error", 1011, send_fail);
    expect_close(port, "close code 1005", 1002, send_bad_close_code);
    /* a client that goes away without a close: the server cleans up */
    int before = atomic_load(&closes);
    int fd = open_echo(port);
    close(fd);
    for (int i = 0; i < 100 && atomic_load(&closes) == before; i++)
        usleep(20000);
    CHECK_EQ(atomic_load(&closes), before + 1);
    /* clients that leave (RST or FIN) right after the handshake, maybe
     * before the 101 went out: every WebSocket whose 101 was queued still
     * ends exactly once (on_close) */
    before = atomic_load(&closes);
    int opened = atomic_load(&opens);
    for (int i = 0; i < 20; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(c >= 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
        char req[256];
        int n = snprintf(req, sizeof(req),
                         "GET /wst/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        CHECK_EQ(write(c, req, (size_t)n), n);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        if (i % 2)
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        else
            usleep(1000);
        close(c);
    }
    usleep(300000);
    for (int i = 0; i < 250 && atomic_load(&closes) - before < atomic_load(&opens) - opened; i++)
        usleep(20000);
    CHECK_EQ(atomic_load(&closes) - before, atomic_load(&opens) - opened);
    CHECK(atomic_load(&opens) - opened >= 10, "only %d handlers ran", atomic_load(&opens) - opened);
    api_server_stop(srv, 2000);
    api_server_free(srv);
}

static void t_relay(const char *unused)
{
    (void)unused;
    unsigned port;
    struct api_server *srv = start(&port);
    int sp[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    relay_peer = sp[1];
    int status;
    char head[2048];
    int fd = ws_open(port, "/wst/relay", NULL, &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    CHECK_EQ(write(sp[0], "from the peer", 13), 13);
    unsigned op;
    bool fin;
    uint8_t *d;
    size_t n;
    CHECK_EQ(ws_read_frame(fd, &op, &fin, &d, &n, 10), 0);
    CHECK(op == 2 && n == 13 && !memcmp(d, "from the peer", 13));
    free(d);
    CHECK_EQ(ws_send_frame(fd, true, 2, true, "to the peer", 11), 0);
    char buf[64] = { 0 };
    struct pollfd pf = { .fd = sp[0], .events = POLLIN };
    CHECK_EQ(poll(&pf, 1, 10000), 1);
    CHECK_EQ(read(sp[0], buf, sizeof(buf)), 11);
    CHECK_STR(buf, "to the peer");
    close(sp[0]); /* the peer hangs up: going away */
    CHECK_EQ(ws_read_close(fd, 10), 1001);
    close(fd);

    /* api_server_stop() with a live WebSocket: it ends, the stop returns */
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    relay_peer = sp[1];
    fd = ws_open(port, "/wst/relay", NULL, &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    int before = atomic_load(&closes);
    api_server_stop(srv, 2000);
    CHECK_EQ(atomic_load(&closes), before + 1);
    CHECK(ws_eof(fd, 10));
    close(fd);
    close(sp[0]);
    api_server_free(srv);
}

static void t_python(const char *script)
{
    unsigned port;
    struct api_server *srv = start(&port);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s ws://127.0.0.1:%u/wst/echo", script, port);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s: status %d", cmd, rc);
    api_server_stop(srv, 2000);
    api_server_free(srv);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "handshake", t_handshake },
                                            { "frames", t_frames },
                                            { "bad", t_bad },
                                            { "relay", t_relay },
                                            { "python", t_python } };
    return run_subtests(argc, argv, tests, API_COUNT(tests));
}
