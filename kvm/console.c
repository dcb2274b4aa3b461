/* The console's ring file and socket (console.h). */
#include "kvm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/control.h"

/* The ring starts again at its beginning whenever the writer has taken
 * everything, so it touches only as much memory as the writer ever fell
 * behind (a VMM's memory beyond guest RAM is counted per server). */
#define BUF_SIZE    (256 * 1024) /* guest output waiting for the writer */
#define CHUNK       (16 * 1024)  /* what the writer takes at a time */
#define RX_RETRY_NS (10 * 1000 * 1000)

struct console {
    /* the buffer between the vCPUs and the writer */
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    uint8_t *buf;
    size_t head, len; /* a ring of BUF_SIZE */
    bool writer_waits, stopping, writing;
    pthread_t writer;
    bool writer_started;

    /* the ring file (writer thread only, once started) */
    int log_fd, old_fd; /* PATH, PATH.1; -1 without --console-log */
    uint64_t half, log_size;

    /* the socket: client_fd is read by the writer, set by the loop */
    struct loop *loop;
    const char *socket_path;
    int listen_fd, client_fd;
    struct loop_src *client_src;
    struct console_input in;

    struct console_stats st; /* under lock */
};

/* ---- the ring file ---- */

static void count(struct console *c, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&c->lock);
    *field += n;
    pthread_mutex_unlock(&c->lock);
}

/* PATH's content becomes PATH.1 (its last `half` bytes at most) and PATH
 * starts empty. A failure leaves PATH as it was: it is retried later and
 * meanwhile output is dropped rather than letting PATH grow past half. */
static int rotate(struct console *c)
{
    uint8_t tmp[CHUNK];
    uint64_t from = c->log_size > c->half ? c->log_size - c->half : 0;
    if (ftruncate(c->old_fd, 0) < 0)
        return -errno;
    for (uint64_t off = from; off < c->log_size;) {
        ssize_t n = pread(c->log_fd, tmp, sizeof(tmp), (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = pwrite(c->old_fd, tmp + done, (size_t)(n - done), (off_t)(off - from));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? -errno : -EIO;
            done += w;
            off += (uint64_t)w;
        }
    }
    if (ftruncate(c->log_fd, 0) < 0)
        return -errno;
    c->log_size = 0;
    count(c, &c->st.rotations, 1);
    return 0;
}

static void log_write(struct console *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->log_size >= c->half && rotate(c) < 0)
            break;
        size_t room = c->half - c->log_size;
        ssize_t w = write(c->log_fd, p, n < room ? n : room);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* ENOSPC and friends: the rest is dropped, counted below */
        c->log_size += (uint64_t)w;
        count(c, &c->st.log_bytes, (uint64_t)w);
        p += w;
        n -= (size_t)w;
    }
    if (n)
        count(c, &c->st.log_dropped, n);
}

/* ---- the writer thread ---- */

static void client_send(struct console *c, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&c->lock);
    int fd = c->client_fd;
    size_t sent = 0;
    while (fd >= 0 && sent < n) {
        ssize_t w = send(fd, p + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a full socket (a slow client) or a gone one */
        sent += (size_t)w;
    }
    if (fd >= 0) {
        c->st.client_bytes += sent;
        c->st.client_dropped += n - sent;
    }
    pthread_mutex_unlock(&c->lock);
}

static void *writer_main(void *opaque)
{
    struct console *c = opaque;
    uint8_t *chunk = malloc(CHUNK);
    for (;;) {
        pthread_mutex_lock(&c->lock);
        c->writing = false;
        while (!c->len && !c->stopping) {
            pthread_cond_broadcast(&c->idle);
            c->writer_waits = true;
            pthread_cond_wait(&c->wake, &c->lock);
            c->writer_waits = false;
        }
        if (!c->len) { /* stopping, and everything written */
            pthread_cond_broadcast(&c->idle);
            pthread_mutex_unlock(&c->lock);
            break;
        }
        c->writing = true;
        size_t n = c->len < CHUNK ? c->len : CHUNK;
        if (!chunk) { /* cannot happen in practice: drop rather than spin */
            c->st.log_dropped += c->len;
            c->len = 0;
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        size_t first = BUF_SIZE - c->head < n ? BUF_SIZE - c->head : n;
        memcpy(chunk, c->buf + c->head, first);
        memcpy(chunk + first, c->buf, n - first);
        c->head = (c->head + n) % BUF_SIZE;
        c->len -= n;
        if (!c->len)
            c->head = 0; /* the next byte goes to the already touched start */
        pthread_mutex_unlock(&c->lock);
        client_send(c, chunk, n);
        if (c->log_fd >= 0)
            log_write(c, chunk, n);
    }
    free(chunk);
    return NULL;
}

void console_put(struct console *c, uint8_t byte)
{
    pthread_mutex_lock(&c->lock);
    if (c->len == BUF_SIZE) {
        c->st.log_dropped++; /* the writer is behind (a stuck disk) */
    } else {
        c->buf[(c->head + c->len) % BUF_SIZE] = byte;
        c->len++;
        if (c->writer_waits)
            pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

void console_flush(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->writer_started && (c->len || c->writing))
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

void console_get_stats(struct console *c, struct console_stats *st)
{
    pthread_mutex_lock(&c->lock);
    *st = c->st;
    pthread_mutex_unlock(&c->lock);
}

/* ---- the socket, on the event loop ---- */

static void client_drop(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    int fd = c->client_fd;
    c->client_fd = -1;
    pthread_mutex_unlock(&c->lock);
    if (fd >= 0)
        close(fd);
    c->client_src = NULL;
}

static int on_client(void *opaque, int res);

static int on_retry(void *opaque, int res)
{
    struct console *c = opaque;
    (void)res;
    if (c->client_fd >= 0) {
        c->client_src = loop_add_fd(c->loop, c->client_fd, on_client, c);
        if (!c->client_src)
            client_drop(c);
    }
    return LOOP_DROP;
}

/* What the client typed goes to the guest as fast as its FIFO takes it;
 * while the FIFO is full the client is looked at again 10 ms later. */
static int on_client(void *opaque, int res)
{
    struct console *c = opaque;
    if (res < 0) {
        client_drop(c);
        return LOOP_DROP;
    }
    unsigned space = c->in.space(c->in.opaque);
    if (space == 0) {
        /* The guest does not read: wait, but notice a client that left. */
        char b;
        ssize_t n = recv(c->client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            client_drop(c);
            return LOOP_DROP;
        }
        c->client_src = NULL;
        if (!loop_add_timer(c->loop, RX_RETRY_NS, on_retry, c))
            client_drop(c);
        return LOOP_DROP;
    }
    uint8_t buf[256];
    ssize_t n = read(c->client_fd, buf, space < sizeof(buf) ? space : sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return LOOP_KEEP;
    if (n <= 0) {
        client_drop(c);
        return LOOP_DROP;
    }
    c->in.receive(c->in.opaque, buf, (unsigned)n);
    return LOOP_KEEP;
}

static int on_listen(void *opaque, int res)
{
    struct console *c = opaque;
    if (res < 0)
        return LOOP_DROP;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return LOOP_KEEP;
    if (c->client_fd >= 0) {
        close(fd); /* one client at a time */
        count(c, &c->st.refused, 1);
        return LOOP_KEEP;
    }
    pthread_mutex_lock(&c->lock);
    c->client_fd = fd;
    c->st.clients++;
    pthread_mutex_unlock(&c->lock);
    c->client_src = loop_add_fd(c->loop, fd, on_client, c);
    if (!c->client_src)
        client_drop(c);
    return LOOP_KEEP;
}

/* ---- open and close ---- */

static int open_log(struct console *c, const char *path, verr_t *err)
{
    char old[4096];
    if ((size_t)snprintf(old, sizeof(old), "%s.1", path) >= sizeof(old))
        return verr_set(err, ENAMETOOLONG, "--console-log %s: path too long", path);
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
    /* PATH is read back (pread) when it turns over. */
    c->log_fd = open(path, (flags & ~O_WRONLY) | O_RDWR, 0640);
    if (c->log_fd < 0)
        return verr_set(err, errno, "--console-log %s: %s", path, strerror(errno));
    c->old_fd = open(old, flags, 0640);
    if (c->old_fd < 0)
        return verr_set(err, errno, "--console-log %s: %s", old, strerror(errno));
    struct stat st;
    if (fstat(c->log_fd, &st) < 0)
        return verr_set(err, errno, "--console-log %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return verr_set(err, EINVAL, "--console-log %s: not a regular file", path);
    c->log_size = (uint64_t)st.st_size;
    return 0;
}

int console_open(struct console **out, const char *log_path, uint64_t cap, const char *socket_path,
                 struct loop *loop, struct console_input in, verr_t *err)
{
    if (!cap)
        cap = VMM_DEFAULT_CONSOLE_CAP;
    if (cap < VMM_MIN_CONSOLE_CAP || cap > VMM_MAX_CONSOLE_CAP)
        return verr_set(err, EINVAL, "--console-cap %llu: from %d to %llu bytes",
                        (unsigned long long)cap, VMM_MIN_CONSOLE_CAP, VMM_MAX_CONSOLE_CAP);
    struct console *c = calloc(1, sizeof(*c));
    uint8_t *buf = malloc(BUF_SIZE);
    if (!c || !buf) {
        free(c);
        free(buf);
        return verr_set(err, ENOMEM, "console: out of memory");
    }
    c->buf = buf;
    c->log_fd = c->old_fd = c->listen_fd = c->client_fd = -1;
    c->half = cap / 2;
    c->loop = loop;
    c->in = in;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->idle, NULL);
    int r = log_path ? open_log(c, log_path, err) : 0;
    if (!r && socket_path && loop) {
        c->listen_fd = control_listen(socket_path, err);
        if (c->listen_fd < 0) {
            r = c->listen_fd;
        } else {
            c->socket_path = socket_path;
            if (!loop_add_fd(loop, c->listen_fd, on_listen, c))
                r = verr_set(err, errno, "--console-socket: %s", strerror(errno));
        }
    }
    if (!r) {
        r = -pthread_create(&c->writer, NULL, writer_main, c);
        if (r)
            verr_set(err, -r, "console writer thread: %s", strerror(-r));
        pthread_mutex_lock(&c->lock);
        c->writer_started = !r;
        pthread_mutex_unlock(&c->lock);
    }
    if (r) {
        console_close(c);
        return r;
    }
    *out = c;
    return 0;
}

void console_close(struct console *c)
{
    if (!c)
        return;
    if (c->writer_started) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->writer, NULL);
    }
    if (c->client_fd >= 0)
        close(c->client_fd);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        if (c->socket_path)
            unlink(c->socket_path);
    }
    if (c->log_fd >= 0)
        close(c->log_fd);
    if (c->old_fd >= 0)
        close(c->old_fd);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->lock);
    free(c->buf);
    free(c);
}
