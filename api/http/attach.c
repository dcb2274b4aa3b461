/* Services' own listeners (http.h, api_server_attach): sockets a service
 * opened itself (e.g. inside a network namespace), each served by a small
 * libmicrohttpd daemon of its own with the server's limits, routed to that
 * service only. */
#include "api/http/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static struct api_attached *slot_of(struct api_server *srv, unsigned id)
{
    for (unsigned i = 0; i < srv->n_attached; i++)
        if (srv->attached[i].id == id)
            return &srv->attached[i];
    return NULL;
}

int api_server_attach(struct api_server *srv, const struct api_service *svc, int fd, void *ctx,
                      unsigned *id)
{
    int idx = -1;
    /* Registered, or being registered (attaching from its init). */
    for (unsigned i = 0; i <= srv->n_services && i < API_MAX_SERVICES; i++)
        if (srv->services[i] == svc)
            idx = (int)i;
    if (idx < 0 || !svc->own_listeners || fd < 0)
        return -EINVAL;
    pthread_mutex_lock(&srv->attach_lock);
    struct api_attached *a = slot_of(srv, 0);
    if (!a) {
        struct api_attached *grown =
            realloc(srv->attached, (srv->n_attached + 1) * sizeof(*srv->attached));
        if (!grown) {
            pthread_mutex_unlock(&srv->attach_lock);
            return -ENOMEM;
        }
        srv->attached = grown;
        a = &srv->attached[srv->n_attached++];
    }
    if (++srv->next_attach_id == 0)
        srv->next_attach_id = 1;
    *a = (struct api_attached){ .id = srv->next_attach_id, .fd = fd, .svc_index = idx, .ctx = ctx };
    /* Started under the lock: a connection's lookup (api_attached_of) then
     * finds the slot however fast it arrives. */
    int rc = 0;
    if (srv->started && !(a->mhd = api_listen_fd_start(srv, fd))) {
        a->id = 0;
        rc = -EIO;
    }
    if (!rc)
        *id = a->id;
    pthread_mutex_unlock(&srv->attach_lock);
    return rc;
}

void api_server_detach(struct api_server *srv, unsigned id)
{
    pthread_mutex_lock(&srv->attach_lock);
    struct api_attached *a = id ? slot_of(srv, id) : NULL;
    struct MHD_Daemon *mhd = a ? a->mhd : NULL;
    int fd = a ? a->fd : -1;
    pthread_mutex_unlock(&srv->attach_lock);
    if (!a)
        return;
    /* Stopped outside the lock (its requests look the slot up, which
     * stays until the daemon is gone); MHD closes the socket it serves. */
    if (mhd)
        MHD_stop_daemon(mhd);
    else if (fd >= 0)
        close(fd);
    pthread_mutex_lock(&srv->attach_lock);
    a = slot_of(srv, id);
    if (a)
        *a = (struct api_attached){ .id = 0, .fd = -1 };
    pthread_mutex_unlock(&srv->attach_lock);
}

void *api_req_listener_ctx(const struct api_req *r)
{
    return r->own_svc >= 0 ? r->listener_ctx : NULL;
}

int api_attached_of(struct api_server *srv, struct MHD_Connection *c, void **ctx)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
    if (!ci)
        return -1;
    for (unsigned i = 0; i < srv->n_listen; i++)
        if (srv->listen[i].mhd == ci->daemon)
            return -1;
    int svc = -1;
    pthread_mutex_lock(&srv->attach_lock);
    for (unsigned i = 0; i < srv->n_attached; i++)
        if (srv->attached[i].id && srv->attached[i].mhd == ci->daemon) {
            svc = srv->attached[i].svc_index;
            *ctx = srv->attached[i].ctx;
        }
    pthread_mutex_unlock(&srv->attach_lock);
    return svc;
}

int api_attached_start(struct api_server *srv)
{
    int rc = 0;
    pthread_mutex_lock(&srv->attach_lock);
    for (unsigned i = 0; i < srv->n_attached && !rc; i++) {
        struct api_attached *a = &srv->attached[i];
        if (a->id && !a->mhd && a->fd >= 0 && !(a->mhd = api_listen_fd_start(srv, a->fd)))
            rc = -EIO;
    }
    pthread_mutex_unlock(&srv->attach_lock);
    return rc;
}

void api_attached_stop(struct api_server *srv)
{
    for (;;) {
        struct MHD_Daemon *mhd = NULL;
        unsigned id = 0;
        pthread_mutex_lock(&srv->attach_lock);
        for (unsigned i = 0; i < srv->n_attached && !mhd; i++)
            if (srv->attached[i].id && srv->attached[i].mhd) {
                mhd = srv->attached[i].mhd;
                id = srv->attached[i].id;
            }
        pthread_mutex_unlock(&srv->attach_lock);
        if (!mhd)
            return;
        MHD_stop_daemon(mhd);
        pthread_mutex_lock(&srv->attach_lock);
        struct api_attached *a = slot_of(srv, id);
        if (a) {
            a->mhd = NULL;
            a->fd = -1; /* closed by MHD */
        }
        pthread_mutex_unlock(&srv->attach_lock);
    }
}

void api_attached_fini(struct api_server *srv)
{
    api_attached_stop(srv);
    for (unsigned i = 0; i < srv->n_attached; i++)
        if (srv->attached[i].id && srv->attached[i].fd >= 0)
            close(srv->attached[i].fd);
    free(srv->attached);
    srv->attached = NULL;
    srv->n_attached = 0;
    pthread_mutex_destroy(&srv->attach_lock);
}
