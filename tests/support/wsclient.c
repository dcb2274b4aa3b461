/* The tests' WebSocket client (wsclient.h). */
#include "tests/support/wsclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Exactly n bytes before the deadline, or -1. */
static int read_exact(int fd, void *buf, size_t n, double end)
{
    uint8_t *p = buf;
    while (n) {
        int ms = (int)((end - now_s()) * 1000);
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (ms <= 0 || poll(&pf, 1, ms) != 1)
            return -1;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ws_open(unsigned port, const char *path, const char *extra, int *status, char *head,
            size_t head_len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("ws_open: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[2048];
    bool own_key = extra && strcasestr(extra, "Sec-WebSocket-Key:");
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n%s%s\r\n",
                     path, port, own_key ? "" : "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                     extra ? extra : "Sec-WebSocket-Version: 13\r\n");
    if (write_all(fd, req, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    /* The head, byte by byte: nothing of the WebSocket after it is eaten. */
    size_t len = 0;
    double end = now_s() + 10;
    while (len + 1 < head_len) {
        if (read_exact(fd, head + len, 1, end) < 0)
            break;
        len++;
        head[len] = 0;
        if (len >= 4 && !memcmp(head + len - 4, "\r\n\r\n", 4))
            break;
    }
    head[len] = 0;
    if (sscanf(head, "HTTP/1.1 %d", status) != 1) {
        fprintf(stderr, "ws_open: no status line in '%s'\n", head);
        close(fd);
        return -1;
    }
    return fd;
}

void ws_head_value(const char *head, const char *name, char *out, size_t len)
{
    out[0] = 0;
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (!strncasecmp(h, name, nl) && h[nl] == ':') {
            h += nl + 1;
            h += strspn(h, " ");
            size_t n = strcspn(h, "\r");
            snprintf(out, len, "%.*s", (int)n, h);
            return;
        }
    }
}

static size_t put_header(uint8_t *h, bool fin, unsigned op, bool masked, uint64_t len)
{
    size_t n = 2;
    h[0] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x7f));
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        h[1] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        h[1] = m | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        h[1] = m | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    return n;
}

int ws_send_frame(int fd, bool fin, unsigned op, bool masked, const void *data, size_t len)
{
    static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
    uint8_t *f = malloc(14 + len);
    if (!f)
        return -1;
    size_t n = put_header(f, fin, op, masked, len);
    if (masked) {
        memcpy(f + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        f[n + i] = ((const uint8_t *)data)[i] ^ (masked ? key[i & 3] : 0);
    int rc = write_all(fd, f, n + len);
    free(f);
    return rc;
}

int ws_send_header(int fd, bool fin, unsigned op, uint64_t len)
{
    uint8_t h[14];
    size_t n = put_header(h, fin, op, true, len);
    memset(h + n, 0x11, 4);
    return write_all(fd, h, n + 4);
}

int ws_read_frame(int fd, unsigned *op, bool *fin, uint8_t **data, size_t *len, double timeout_s)
{
    double end = now_s() + timeout_s;
    uint8_t h[10];
    if (read_exact(fd, h, 2, end) < 0)
        return -1;
    if (h[1] & 0x80) {
        fprintf(stderr, "ws_read_frame: the server masked a frame\n");
        return -1;
    }
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        if (read_exact(fd, h + 2, 2, end) < 0)
            return -1;
        n = (uint64_t)h[2] << 8 | h[3];
    } else if (n == 127) {
        if (read_exact(fd, h + 2, 8, end) < 0)
            return -1;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | h[2 + i];
    }
    if (n > (64u << 20))
        return -1;
    uint8_t *p = malloc(n + 1);
    if (!p || read_exact(fd, p, n, end) < 0) {
        free(p);
        return -1;
    }
    p[n] = 0;
    *op = h[0] & 0x0f;
    *fin = h[0] & 0x80;
    *data = p;
    *len = n;
    return 0;
}

int ws_read_close(int fd, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        unsigned op;
        bool fin;
        uint8_t *d;
        size_t n;
        if (ws_read_frame(fd, &op, &fin, &d, &n, end - now_s()) < 0)
            return -1;
        int code = n >= 2 ? d[0] << 8 | d[1] : 1005;
        free(d);
        if (op == 8)
            return code;
    }
}

bool ws_eof(int fd, double timeout_s)
{
    double end = now_s() + timeout_s;
    uint8_t b[256];
    while (now_s() < end) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, 50) != 1)
            continue;
        ssize_t r = recv(fd, b, sizeof(b), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false;
    }
    return false;
}
