/* WebSockets (RFC 6455) on libmicrohttpd's upgrade (http.h, "WebSockets").
 *
 * api_req_websocket() checks the handshake and queues a 101 response made
 * by MHD_create_response_for_upgrade(); once MHD has sent it, on_upgrade()
 * gets the socket and starts one thread for the connection, which reads
 * frames, answers pings and closes, reassembles messages, watches the
 * handler's peer descriptor and ends with the handler's on_close. */
#include "api/http/internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
    OP_CONT = 0,
    OP_TEXT = 1,
    OP_BINARY = 2,
    OP_CLOSE = 8,
    OP_PING = 9,
    OP_PONG = 10,
};

struct api_ws {
    struct api_server *srv;
    struct api_ws_handler h;
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    struct api_conn *cn;
    uint8_t *in; /* bytes read, not yet a whole frame */
    size_t in_len, in_cap;
    uint8_t *msg; /* the message being reassembled */
    size_t msg_len;
    bool in_msg, msg_text;
    bool close_sent, done;
    struct api_ws *next; /* the server's live WebSockets */
};

/* ---- the handshake ---- */

/* Whether the comma-separated header value holds token (any case). */
static bool has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = value; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == tl && !strncasecmp(p, token, tl))
            return true;
        p += n;
    }
    return false;
}

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)). */
static void accept_value(const char *key, char out[29])
{
    char buf[128];
    unsigned char md[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)buf, (size_t)n, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* A valid Sec-WebSocket-Key: base64 of 16 bytes (24 characters). */
static bool key_ok(const char *key)
{
    unsigned char raw[32];
    if (!key || strlen(key) != 24)
        return false;
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18 && key[22] == '=' &&
           key[23] == '=';
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

bool api_req_websocket(struct api_req *r, const struct api_ws_handler *h)
{
    const char *upgrade = api_req_header(r, "Upgrade");
    const char *connection = api_req_header(r, "Connection");
    const char *version = api_req_header(r, "Sec-WebSocket-Version");
    const char *key = api_req_header(r, "Sec-WebSocket-Key");
    if (strcmp(r->method, "GET") || !upgrade || !has_token(upgrade, "websocket") || !connection ||
        !has_token(connection, "upgrade")) {
        api_reply_error(r, 400, "A WebSocket upgrade (GET with Upgrade: websocket) is expected.");
        return false;
    }
    if (!version || strcmp(version, "13")) {
        api_reply_header(r, "Sec-WebSocket-Version", "13");
        api_reply_error(r, 426, "Only WebSocket version 13 is supported.");
        return false;
    }
    if (!key_ok(key)) {
        api_reply_error(r, 400, "Sec-WebSocket-Key must be 16 bytes in base64.");
        return false;
    }
    struct api_ws *ws = calloc(1, sizeof(*ws));
    struct MHD_Response *resp = ws ? MHD_create_response_for_upgrade(on_upgrade, ws) : NULL;
    if (!resp) {
        free(ws);
        api_reply_error(r, 500, "Out of memory.");
        return false;
    }
    ws->srv = r->srv;
    ws->h = *h;
    ws->fd = -1;
    ws->cn = r->cn;
    r->ws = ws; /* until on_upgrade takes it (api_ws_abandon otherwise) */
    char accept[29];
    accept_value(key, accept);
    MHD_add_response_header(resp, "Upgrade", "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    const char *protos = api_req_header(r, "Sec-WebSocket-Protocol");
    if (h->subprotocol && protos && has_token(protos, h->subprotocol))
        MHD_add_response_header(resp, "Sec-WebSocket-Protocol", h->subprotocol);
    api_reply_mhd(r, 101, resp);
    return true;
}

/* ---- frames out ---- */

static int send_all(struct api_ws *ws, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(ws->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = ws->fd, .events = POLLOUT };
            if (poll(&pf, 1, API_WS_SEND_TIMEOUT_MS) != 1)
                return -ETIMEDOUT; /* a client that reads nothing */
            continue;
        }
        if (w <= 0)
            return w < 0 ? -errno : -EPIPE;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_frame(struct api_ws *ws, unsigned op, const void *data, size_t len)
{
    uint8_t head[10];
    size_t hl = 2;
    head[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        head[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        head[1] = 126;
        head[2] = (uint8_t)(len >> 8);
        head[3] = (uint8_t)len;
        hl = 4;
    } else {
        head[1] = 127;
        for (int i = 0; i < 8; i++)
            head[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    int rc = send_all(ws, head, hl);
    return rc ? rc : send_all(ws, data, len);
}

int api_ws_send(struct api_ws *ws, bool text, const void *data, size_t len)
{
    if (ws->close_sent)
        return -EPIPE;
    return send_frame(ws, text ? OP_TEXT : OP_BINARY, data, len);
}

void api_ws_close(struct api_ws *ws, unsigned code)
{
    if (ws->close_sent)
        return;
    uint8_t body[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    send_frame(ws, OP_CLOSE, body, code ? 2 : 0);
    ws->close_sent = true;
    ws->done = true;
}

/* ---- frames in ---- */

/* Valid UTF-8 (RFC 3629: no overlongs, surrogates or values past U+10FFFF). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        if (len == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f)))
            return false;
        if (len == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f)))
            return false;
        i += len;
    }
    return true;
}

/* One whole frame (payload unmasked in place): 0 to go on, or the close
 * code to end with. */
static unsigned on_frame(struct api_ws *ws, bool fin, unsigned op, uint8_t *p, size_t len)
{
    if (op >= OP_CLOSE) { /* control frames: whole and small (checked by the caller) */
        if (op == OP_PING)
            return send_frame(ws, OP_PONG, p, len) ? API_WS_CLOSE_INTERNAL : 0;
        if (op == OP_PONG)
            return 0;
        unsigned code = len >= 2 ? (unsigned)p[0] << 8 | p[1] : API_WS_CLOSE_NORMAL;
        if (len == 1 || (len >= 2 && (code < 1000 || code == 1004 || code == 1005 || code == 1006 ||
                                      (code > 1014 && code < 3000) || code > 4999)))
            return API_WS_CLOSE_PROTOCOL;
        if (len > 2 && !utf8_ok(p + 2, len - 2))
            return API_WS_CLOSE_BAD_DATA;
        return code; /* echoed back, then the connection ends */
    }
    if ((op == OP_CONT) != ws->in_msg)
        return API_WS_CLOSE_PROTOCOL; /* a continuation of nothing, or a data frame mid-message */
    if (ws->msg_len + len > API_WS_MAX_MESSAGE)
        return API_WS_CLOSE_TOO_BIG;
    if (op != OP_CONT)
        ws->msg_text = op == OP_TEXT;
    if (len) {
        uint8_t *m = realloc(ws->msg, ws->msg_len + len);
        if (!m)
            return API_WS_CLOSE_INTERNAL;
        memcpy(m + ws->msg_len, p, len);
        ws->msg = m;
        ws->msg_len += len;
    }
    ws->in_msg = !fin;
    if (!fin)
        return 0;
    if (ws->msg_text && !utf8_ok(ws->msg, ws->msg_len))
        return API_WS_CLOSE_BAD_DATA;
    int rc =
        ws->h.on_message ? ws->h.on_message(ws, ws->h.ctx, ws->msg_text, ws->msg, ws->msg_len) : 0;
    ws->msg_len = 0;
    return rc < 0 ? API_WS_CLOSE_INTERNAL : 0;
}

/* Takes every whole frame out of ws->in: 0, or the close code. */
static unsigned parse_frames(struct api_ws *ws)
{
    size_t off = 0;
    unsigned code = 0;
    while (!code && ws->in_len - off >= 2) {
        uint8_t *f = ws->in + off;
        size_t avail = ws->in_len - off;
        bool fin = f[0] & 0x80, masked = f[1] & 0x80;
        unsigned op = f[0] & 0x0f;
        uint64_t len = f[1] & 0x7f;
        size_t hl = 2;
        if (f[0] & 0x70)
            return API_WS_CLOSE_PROTOCOL; /* no extension was agreed */
        if ((op > OP_BINARY && op < OP_CLOSE) || op > OP_PONG)
            return API_WS_CLOSE_PROTOCOL; /* reserved opcode */
        if (!masked)
            return API_WS_CLOSE_PROTOCOL; /* a client must mask (RFC 6455 5.1) */
        if (op >= OP_CLOSE && (!fin || len > 125))
            return API_WS_CLOSE_PROTOCOL;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            hl = 10;
        }
        if (len > API_WS_MAX_MESSAGE)
            return API_WS_CLOSE_TOO_BIG; /* before waiting for it */
        if (avail < hl + 4 + len)
            break;
        const uint8_t *mask = f + hl;
        uint8_t *p = f + hl + 4;
        for (uint64_t i = 0; i < len; i++)
            p[i] ^= mask[i & 3];
        code = on_frame(ws, fin, op, p, (size_t)len);
        off += hl + 4 + len;
    }
    memmove(ws->in, ws->in + off, ws->in_len - off);
    ws->in_len -= off;
    return code;
}

/* Reads what the client sent and handles it: false when the WebSocket is
 * over (closed by either side, or the client went away). */
static bool read_client(struct api_ws *ws)
{
    if (ws->in_cap - ws->in_len < 4096) {
        size_t cap = ws->in_cap ? ws->in_cap * 2 : 16384;
        if (cap > API_WS_MAX_MESSAGE + 16384)
            cap = API_WS_MAX_MESSAGE + 16384; /* one frame's worth is the most ever kept */
        uint8_t *in = cap > ws->in_cap ? realloc(ws->in, cap) : ws->in;
        if (!in)
            return false;
        ws->in = in;
        ws->in_cap = cap;
    }
    ssize_t n = recv(ws->fd, ws->in + ws->in_len, ws->in_cap - ws->in_len, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    ws->in_len += (size_t)n;
    unsigned code = parse_frames(ws);
    if (code)
        api_ws_close(ws, code);
    return !ws->done;
}

/* ---- the connection's thread ---- */

static void *ws_main(void *arg)
{
    struct api_ws *ws = arg;
    unsigned code = ws->in_len ? parse_frames(ws) : 0; /* what came with the head */
    if (code)
        api_ws_close(ws, code);
    while (!ws->done) {
        struct pollfd p[2] = { { .fd = ws->fd, .events = POLLIN },
                               { .fd = ws->h.peer_fd, .events = POLLIN } };
        int n = poll(p, ws->h.peer_fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (p[0].revents && !read_client(ws))
            break;
        if (!ws->done && ws->h.peer_fd >= 0 && p[1].revents &&
            (!ws->h.on_peer || ws->h.on_peer(ws, ws->h.ctx) < 0))
            api_ws_close(ws, API_WS_CLOSE_GOING_AWAY);
    }
    if (ws->h.on_close)
        ws->h.on_close(ws->h.ctx);
    shutdown(ws->fd, SHUT_RDWR);
    MHD_upgrade_action(ws->urh, MHD_UPGRADE_ACTION_CLOSE);
    struct api_server *srv = ws->srv;
    pthread_mutex_lock(&srv->lock);
    for (struct api_ws **pp = &srv->websockets; *pp; pp = &(*pp)->next)
        if (*pp == ws) {
            *pp = ws->next;
            break;
        }
    srv->n_websockets--;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    free(ws->in);
    free(ws->msg);
    free(ws);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    struct api_req *r = con_cls; /* MHD calls this before the request's completion */
    if (r)
        r->ws = NULL;
    struct api_ws *ws = cls;
    struct api_server *srv = ws->srv;
    ws->fd = sock;
    ws->urh = urh;
    api_guard_phase(srv, ws->cn, API_CONN_UPGRADED); /* no HTTP deadlines from now on */
    if (extra_len) {
        ws->in = malloc(extra_len + 16384);
        if (ws->in) {
            memcpy(ws->in, extra, extra_len);
            ws->in_len = extra_len;
            ws->in_cap = extra_len + 16384;
        }
    }
    pthread_mutex_lock(&srv->lock);
    ws->next = srv->websockets;
    srv->websockets = ws;
    srv->n_websockets++;
    /* The client may have its 101 (and the server be stopping) before MHD
     * calls us: such a WebSocket ends at once, like those stop_all found. */
    if (srv->ws_stopping)
        shutdown(sock, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, ws_main, ws)) {
        ws->done = true;
        ws_main(ws); /* ends it here: on_close, close, unlink */
    }
    pthread_attr_destroy(&attr);
}

void api_ws_abandon(struct api_req *r)
{
    struct api_ws *ws = r->ws;
    if (!ws)
        return;
    r->ws = NULL;
    if (ws->h.on_close)
        ws->h.on_close(ws->h.ctx);
    free(ws);
}

void api_ws_stop_all(struct api_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->ws_stopping = true;
    for (struct api_ws *ws = srv->websockets; ws; ws = ws->next)
        shutdown(ws->fd, SHUT_RDWR); /* its thread sees the end and cleans up */
    while (srv->n_websockets)
        pthread_cond_wait(&srv->cond, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
}
