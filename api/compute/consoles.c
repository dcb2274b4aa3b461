/* Serial remote consoles, the way Nova's serial proxy works: asking for a
 * console (POST /servers/{id}/remote-consoles with protocol "serial", from
 * microversion 2.6; or the older os-getSerialConsole action) gives a URL
 * ws[s]://HOST:PORT/compute/serial?token=TOKEN on picostackd's own port.
 * The token is random (128 bits), scoped to the server, kept in memory and
 * good for CMP_CONSOLE_TOKEN_TTL_S (Nova's console_token_ttl); it may be
 * used again until then (a reconnecting client). A GET on the URL upgrades
 * to a WebSocket (api/http/http.h) relaying bytes both ways between the
 * client and the server's console socket (the VMM's --console-socket,
 * kvm/kvm.h): output as binary messages, whatever the client sends (text
 * or binary) as serial input. The VMM serves one console client at a time:
 * a second WebSocket on a busy console is closed at once (1001). */
#include "api/compute/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_HEX 32

struct console_token {
    char token[TOKEN_HEX + 1];
    char server[STORE_ID_LEN + 1];
    int64_t expires; /* CLOCK_MONOTONIC seconds */
};

struct cmp_consoles {
    pthread_mutex_t lock;
    struct console_token tokens[CMP_CONSOLE_MAX_TOKENS];
    unsigned n;
    unsigned servers; /* the "compute.servers" table */
};

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

int cmp_consoles_open(struct store *s, struct cmp_consoles **out)
{
    struct cmp_consoles *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = store_table(s, "compute.servers", &c->servers);
    if (rc) {
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void cmp_consoles_close(struct cmp_consoles *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Drops expired tokens (under the lock). */
static void expire(struct cmp_consoles *c, int64_t now)
{
    unsigned k = 0;
    for (unsigned i = 0; i < c->n; i++)
        if (c->tokens[i].expires > now)
            c->tokens[k++] = c->tokens[i];
    c->n = k;
}

/* A new token for server into out; -EAGAIN when too many are live. */
static int token_new(struct cmp_consoles *c, const char *server, char out[TOKEN_HEX + 1])
{
    unsigned char raw[TOKEN_HEX / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    int64_t now = now_s();
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    if (c->n == CMP_CONSOLE_MAX_TOKENS) { /* the oldest goes */
        memmove(c->tokens, c->tokens + 1, (c->n - 1) * sizeof(c->tokens[0]));
        c->n--;
    }
    struct console_token *t = &c->tokens[c->n++];
    snprintf(t->token, sizeof(t->token), "%s", out);
    snprintf(t->server, sizeof(t->server), "%s", server);
    t->expires = now + CMP_CONSOLE_TOKEN_TTL_S;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Compares without an early exit (no timing hint to a guesser). */
static bool same_token(const char *a, const char *b)
{
    unsigned char d = 0;
    for (size_t i = 0; i < TOKEN_HEX; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* The server a live token is for: true with server filled. */
static bool token_find(struct cmp_consoles *c, const char *token, char server[STORE_ID_LEN + 1])
{
    if (!token || strlen(token) != TOKEN_HEX)
        return false;
    bool found = false;
    pthread_mutex_lock(&c->lock);
    expire(c, now_s());
    for (unsigned i = 0; i < c->n; i++)
        if (same_token(c->tokens[i].token, token)) {
            memcpy(server, c->tokens[i].server, STORE_ID_LEN + 1);
            found = true;
        }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* ---- the server and its console socket ---- */

/* The server's record (any project), or replies 404/500 and returns NULL. */
static json_t *server_get(struct api_req *r, const char *id)
{
    struct cmp_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return NULL;
    json_t *rec = NULL;
    int rc = strlen(id) <= STORE_ID_LEN ? store_get(t, st->consoles->servers, id, &rec) : -ENOENT;
    store_abort(t);
    if (rc < 0) {
        api_reply_errno(r, rc, "Instance %s could not be found.", id);
        return NULL;
    }
    return rec;
}

static bool server_running(const json_t *server)
{
    const char *vm = json_string_value(json_object_get(server, "vm_state"));
    return vm && !strcmp(vm, "active") &&
           json_integer_value(json_object_get(server, "power_state")) == 1;
}

/* Connects to RUN/<id>/console.sock (RUN = DATA/vmm, core/vmmctl). A path
 * too long for sun_path is reached through its directory's descriptor. */
static int console_connect(struct api_req *r, const char *id)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof(dir), "%s/vmm/%s", api_server_data_dir(api_req_server(r)), id);
    snprintf(path, sizeof(path), "%s/console.sock", dir);
    int dfd = -1;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path)) {
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -errno;
        snprintf(path, sizeof(path), "/proc/self/fd/%d/console.sock", dfd);
    }
    memcpy(a.sun_path, path, strlen(path) + 1); /* it fits: checked above */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    if (!rc && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        rc = -errno;
    if (dfd >= 0)
        close(dfd);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    struct timeval tv = { .tv_sec = 5 }; /* a guest that reads nothing: give up */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Checks access and state, then makes the URL: 0, or replied. */
static int console_url(struct api_req *r, const char *id, char *url, size_t len)
{
    struct cmp_state *st = api_req_state(r);
    json_t *server = server_get(r, id);
    if (!server)
        return -1;
    int rc = api_req_access(r, json_string_value(json_object_get(server, "project_id")), true);
    bool running = server_running(server);
    json_decref(server);
    if (rc) {
        api_reply_error(r, rc, "Instance %s could not be found.", id);
        return -1;
    }
    if (!running) {
        api_reply_error(r, 409, "Instance %s is not ready", id);
        return -1;
    }
    char token[TOKEN_HEX + 1];
    rc = token_new(st->consoles, id, token);
    if (rc) {
        api_reply_errno(r, rc, "Cannot make a console token.");
        return -1;
    }
    const char *base = api_req_base_url(r); /* http://host:port or https:// */
    bool tls = !strncmp(base, "https://", 8);
    snprintf(url, len, "%s://%s/compute/serial?token=%s", tls ? "wss" : "ws", base + (tls ? 8 : 7),
             token);
    return 0;
}

/* ---- the two ways to ask ---- */

static bool one_of(const char *v, const char *const *set)
{
    for (; v && *set; set++)
        if (!strcmp(v, *set))
            return true;
    return false;
}

void cmp_remote_console_create(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    if (micro < 6) {
        api_reply_error(r, 404, "The resource could not be found.");
        return;
    }
    json_t *body;
    json_t *rc_obj = cmp_body(r, "remote_console", &body);
    if (!rc_obj)
        return;
    static const char *const protocols[] = { "vnc", "spice", "rdp", "serial", "mks", NULL };
    static const char *const types[] = { "novnc",  "xvpvnc", "rdp-html5", "spice-html5",
                                         "serial", "webmks", NULL };
    const char *protocol = json_string_value(json_object_get(rc_obj, "protocol"));
    const char *type = json_string_value(json_object_get(rc_obj, "type"));
    char url[1024];
    if (!one_of(protocol, protocols) || !one_of(type, types) ||
        (micro < 8 && (!strcmp(protocol, "mks") || !strcmp(type, "webmks"))))
        api_reply_error(r, 400, "Invalid input for field/attribute remote_console.");
    else if (strcmp(protocol, "serial"))
        api_reply_error(r, 400, "Unavailable console type %s.", protocol);
    else if (strcmp(type, "serial"))
        api_reply_error(r, 400, "Invalid console type %s", type);
    else if (console_url(r, api_req_param(r, 0), url, sizeof(url)) == 0)
        api_reply_json(r, 200,
                       json_pack("{s:{s:s, s:s, s:s}}", "remote_console", "protocol", "serial",
                                 "type", "serial", "url", url));
    json_decref(body);
}

void cmp_action_get_serial_console(struct api_req *r, const json_t *server, const json_t *args)
{
    const char *type = json_string_value(json_object_get(args, "type"));
    const char *id = json_string_value(json_object_get(server, "id"));
    char url[1024];
    if (!json_is_object(args) || !type)
        api_reply_error(r, 400, "Invalid input for field/attribute os-getSerialConsole.");
    else if (strcmp(type, "serial"))
        api_reply_error(r, 400, "Invalid console type %s", type);
    else if (console_url(r, id ? id : "", url, sizeof(url)) == 0)
        api_reply_json(r, 200,
                       json_pack("{s:{s:s, s:s}}", "console", "type", "serial", "url", url));
}

/* ---- the WebSocket: GET /compute/serial?token=TOKEN ---- */

struct relay {
    int fd; /* the console socket */
};

static int relay_to_console(struct api_ws *ws, void *ctx, bool text, const uint8_t *data,
                            size_t len)
{
    (void)ws;
    (void)text;
    struct relay *rl = ctx;
    while (len) {
        ssize_t w = send(rl->fd, data, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1; /* the VMM is gone, or its guest reads nothing for 5 s */
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static int relay_from_console(struct api_ws *ws, void *ctx)
{
    struct relay *rl = ctx;
    uint8_t buf[16384];
    ssize_t n = recv(rl->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1; /* the VMM closed it (the VM ended, or another client has it) */
    return api_ws_send(ws, false, buf, (size_t)n);
}

static void relay_end(void *ctx)
{
    struct relay *rl = ctx;
    close(rl->fd);
    free(rl);
}

void cmp_serial_console_ws(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    char id[STORE_ID_LEN + 1];
    if (!token_find(st->consoles, api_req_query(r, "token"), id)) {
        api_reply_error(r, 401, "The token is invalid or has expired.");
        return;
    }
    json_t *server = server_get(r, id);
    if (!server)
        return;
    bool running = server_running(server);
    json_decref(server);
    int fd = running ? console_connect(r, id) : -ENOENT;
    if (fd < 0) {
        api_reply_error(r, 409, "Instance %s is not running.", id);
        return;
    }
    struct relay *rl = malloc(sizeof(*rl));
    if (!rl) {
        close(fd);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    rl->fd = fd;
    struct api_ws_handler h = { .subprotocol = "binary",
                                .peer_fd = fd,
                                .on_message = relay_to_console,
                                .on_peer = relay_from_console,
                                .on_close = relay_end,
                                .ctx = rl };
    if (!api_req_websocket(r, &h))
        relay_end(rl);
}
