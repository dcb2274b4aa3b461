/* The server's guard against hostile and careless clients (http.h, "limits"):
 * every connection is tracked from accept to close, and a reaper thread
 * closes those whose request head is not complete by its deadline or whose
 * body stops advancing (MHD's own timeout is an idle timeout: a client that
 * trickles one byte now and then is never dropped by it).  Closing is a
 * shutdown() of the socket under the guard's lock: MHD then sees the end of
 * the stream and closes the connection itself (its CLOSED notification
 * takes the same lock, so the descriptor is still MHD's when we touch it).
 *
 * Also here: the caps on uploads in flight (overall and per project), and
 * giving freed memory back to the system after a burst of uploads. */
#include "api/http/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define REAPER_TICK_MS 200

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

int api_guard_init(struct api_server *srv)
{
    struct api_config *c = &srv->cfg;
    c->max_connections = or_default(c->max_connections, 512);
    c->max_connections_per_ip = or_default(c->max_connections_per_ip, 128);
    c->head_timeout_s = or_default(c->head_timeout_s, 10);
    c->body_timeout_s = or_default(c->body_timeout_s, 30);
    c->idle_timeout_s = or_default(c->idle_timeout_s, 60);
    c->memory_budget_mb = or_default(c->memory_budget_mb, 256);
    if (!c->max_uploads) {
        int64_t room = ((int64_t)c->memory_budget_mb << 20) - (32 << 20) -
                       (int64_t)c->max_connections * (64 << 10);
        int64_t n = room / API_UPLOAD_COST;
        c->max_uploads = n < 4 ? 4 : (unsigned)n;
    }
    c->max_uploads_per_project =
        or_default(c->max_uploads_per_project, c->max_uploads / 4 ? c->max_uploads / 4 : 1);
    c->slow_workers = or_default(c->slow_workers, 1);
    c->slow_queue = or_default(c->slow_queue, 4);
    c->lockout_duration_s = or_default(c->lockout_duration_s, 1800);
    c->login_failures_per_min = or_default(c->login_failures_per_min, 30);
    if (!c->image_size_cap)
        c->image_size_cap = 1ull << 40; /* Glance's default */
    srv->upload_slots = calloc(c->max_uploads, sizeof(*srv->upload_slots));
    if (!srv->upload_slots)
        return -ENOMEM;
    pthread_mutex_init(&srv->guard_lock, NULL);
    pthread_cond_init(&srv->guard_cond, NULL);
    /* Upload buffers are big and short-lived: always mmap them (a fixed
     * threshold also stops glibc from raising it after the first free),
     * so a burst's buffers go back to the system when freed instead of
     * staying in the arenas. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    return 0;
}

void api_guard_fini(struct api_server *srv)
{
    free(srv->upload_slots);
    pthread_mutex_destroy(&srv->guard_lock);
    pthread_cond_destroy(&srv->guard_cond);
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

void api_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    struct api_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct api_conn *cn = calloc(1, sizeof(*cn));
        if (!cn)
            return; /* untracked: MHD's idle timeout still applies */
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        cn->fd = fd ? fd->connect_fd : MHD_INVALID_SOCKET;
        cn->loopback = addr && is_loopback(addr->client_addr);
        cn->phase = API_CONN_HEAD;
        cn->deadline_ns = api_now_ns() + (int64_t)srv->cfg.head_timeout_s * 1000000000;
        pthread_mutex_lock(&srv->guard_lock);
        cn->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = cn;
        srv->conns = cn;
        pthread_mutex_unlock(&srv->guard_lock);
        *socket_context = cn;
        return;
    }
    struct api_conn *cn = *socket_context;
    if (!cn)
        return;
    pthread_mutex_lock(&srv->guard_lock);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        srv->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    pthread_mutex_unlock(&srv->guard_lock);
    free(cn->raw_path);
    free(cn);
    *socket_context = NULL;
}

struct api_conn *api_guard_conn(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The request line is in: keep the path as received (before MHD decodes
 * it) for the log and for the encoded-NUL check. */
void *api_guard_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    struct api_conn *cn = api_guard_conn(c);
    if (cn) {
        free(cn->raw_path);
        cn->raw_path = strndup(uri, strcspn(uri, "?"));
    }
    return NULL;
}

void api_guard_phase(struct api_server *srv, struct api_conn *cn, enum api_conn_phase phase)
{
    if (!cn)
        return;
    int64_t now = api_now_ns();
    pthread_mutex_lock(&srv->guard_lock);
    if (cn->phase != API_CONN_DEAD && cn->phase != API_CONN_UPGRADED) {
        cn->phase = phase;
        if (phase == API_CONN_HEAD) /* the next request on a kept-alive connection */
            cn->deadline_ns =
                now + (int64_t)(srv->cfg.head_timeout_s + srv->cfg.idle_timeout_s) * 1000000000;
        if (phase == API_CONN_BODY) {
            cn->window_ns = now;
            atomic_store(&cn->body_bytes, 0);
        }
    }
    pthread_mutex_unlock(&srv->guard_lock);
}

void api_guard_body(struct api_conn *cn, size_t n)
{
    if (cn)
        atomic_fetch_add_explicit(&cn->body_bytes, n, memory_order_relaxed);
}

/* One pass of the reaper: closes the connections past their deadline. */
static void reap(struct api_server *srv)
{
    int64_t now = api_now_ns(), window = (int64_t)srv->cfg.body_timeout_s * 1000000000;
    for (struct api_conn *cn = srv->conns; cn; cn = cn->next) {
        bool late = false;
        if (cn->phase == API_CONN_HEAD)
            late = now > cn->deadline_ns;
        else if (cn->phase == API_CONN_BODY && now - cn->window_ns >= window) {
            late = atomic_load(&cn->body_bytes) < API_BODY_MIN_BYTES;
            cn->window_ns = now;
            atomic_store(&cn->body_bytes, 0);
        }
        if (late && cn->fd != MHD_INVALID_SOCKET) {
            shutdown(cn->fd, SHUT_RDWR);
            cn->phase = API_CONN_DEAD;
            atomic_fetch_add(&srv->dropped_slow, 1);
        }
    }
}

static void *reaper_main(void *arg)
{
    struct api_server *srv = arg;
    pthread_mutex_lock(&srv->guard_lock);
    while (!srv->reaper_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += REAPER_TICK_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&srv->guard_cond, &srv->guard_lock, &ts);
        reap(srv);
        if (srv->trim_due && srv->uploads == 0) {
            /* A burst is over: hand the freed pages of every arena back. */
            srv->trim_due = false;
            pthread_mutex_unlock(&srv->guard_lock);
            malloc_trim(0);
            pthread_mutex_lock(&srv->guard_lock);
        }
    }
    pthread_mutex_unlock(&srv->guard_lock);
    return NULL;
}

int api_guard_start(struct api_server *srv)
{
    srv->reaper_stop = false;
    int rc = pthread_create(&srv->reaper, NULL, reaper_main, srv);
    if (rc)
        return -rc;
    srv->reaper_running = true;
    return 0;
}

void api_guard_stop(struct api_server *srv)
{
    if (!srv->reaper_running)
        return;
    pthread_mutex_lock(&srv->guard_lock);
    srv->reaper_stop = true;
    pthread_cond_broadcast(&srv->guard_cond);
    pthread_mutex_unlock(&srv->guard_lock);
    pthread_join(srv->reaper, NULL);
    srv->reaper_running = false;
}

int api_guard_upload_admit(struct api_req *r)
{
    struct api_server *srv = r->srv;
    const char *project = r->authed ? r->tok.project_id : "";
    int free_slot = -1, mine = -1, status = 0;
    pthread_mutex_lock(&srv->guard_lock);
    for (unsigned i = 0; i < srv->cfg.max_uploads; i++) {
        struct api_upload_slot *s = &srv->upload_slots[i];
        if (s->n && !strcmp(s->project, project))
            mine = (int)i;
        else if (!s->n && free_slot < 0)
            free_slot = (int)i;
    }
    if (srv->uploads >= srv->cfg.max_uploads)
        status = 503;
    else if (mine >= 0 && srv->upload_slots[mine].n >= srv->cfg.max_uploads_per_project)
        status = 429;
    else {
        if (mine < 0) {
            mine = free_slot; /* there is one: fewer uploads than slots */
            snprintf(srv->upload_slots[mine].project, sizeof(srv->upload_slots[mine].project), "%s",
                     project);
        }
        srv->upload_slots[mine].n++;
        srv->uploads++;
        srv->trim_due = true;
        r->upload_slot = mine + 1;
    }
    pthread_mutex_unlock(&srv->guard_lock);
    if (status)
        atomic_fetch_add(&srv->refused_uploads, 1);
    return status;
}

void api_guard_upload_release(struct api_req *r)
{
    if (!r->upload_slot)
        return;
    struct api_server *srv = r->srv;
    pthread_mutex_lock(&srv->guard_lock);
    srv->upload_slots[r->upload_slot - 1].n--;
    srv->uploads--;
    pthread_mutex_unlock(&srv->guard_lock);
    r->upload_slot = 0;
}

char *api_guard_log_path(const char *raw)
{
    size_t n = strlen(raw);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f)
            o += sprintf(o, "%%%02X", *p);
        else
            *o++ = (char)*p;
    }
    *o = '\0';
    return out;
}
