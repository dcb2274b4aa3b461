/* The metadata listeners follow the data plane: after every net_dp_sync
 * (and once at init) each network with a DHCP namespace has one listener
 * on 169.254.169.254:80 inside it, and a network that lost its namespace
 * (deleted, or its last DHCP subnet gone) loses its listener. */
#include "api/metadata/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct md_listener *find(struct md_state *st, const char *network_id)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->ls[i]->network_id, network_id) == 0)
            return st->ls[i];
    return NULL;
}

static void open_one(struct md_state *st, const json_t *net, const char *id)
{
    int fd = -1;
    int rc = net_dp_metadata_listen(st->dp, net, MD_PORT, &fd);
    if (rc == -ENOENT)
        return; /* no DHCP namespace: nothing to serve there */
    struct md_listener *l = rc ? NULL : calloc(1, sizeof *l);
    struct md_listener **grown = l ? realloc(st->ls, (st->n + 1) * sizeof *st->ls) : NULL;
    if (grown) {
        st->ls = grown;
        snprintf(l->network_id, sizeof l->network_id, "%s", id);
        rc = api_server_attach(st->srv, &api_metadata_service, fd, l, &l->api_id);
    } else if (!rc) {
        rc = -ENOMEM;
    }
    if (rc) {
        fprintf(stderr, "picostackd: metadata service on network %s: %s\n", id, strerror(-rc));
        if (fd >= 0)
            close(fd);
        free(l);
        return;
    }
    l->seen = true;
    st->ls[st->n++] = l;
}

struct follow {
    struct md_state *st;
};

static int visit(json_t *net, void *ctx)
{
    struct md_state *st = ((struct follow *)ctx)->st;
    const char *id = json_string_value(json_object_get(net, "id"));
    if (!id || strlen(id) > STORE_ID_LEN || net_dp_dhcp_netns_exists(st->dp, net) != 0)
        return 0;
    struct md_listener *l = find(st, id);
    if (l)
        l->seen = true;
    else
        open_one(st, net, id);
    return 0;
}

void md_follow(void *arg, struct store_txn *t, struct net_db *db)
{
    struct md_state *st = arg;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->n; i++)
        st->ls[i]->seen = false;
    struct follow f = { st };
    int rc = net_record_scan(t, db, NET_NETWORK, visit, &f);
    if (rc < 0) { /* keep what serves; the next sync tries again */
        fprintf(stderr, "picostackd: metadata service: networks: %s\n", strerror(-rc));
        pthread_mutex_unlock(&st->lock);
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < st->n; i++) {
        struct md_listener *l = st->ls[i];
        if (l->seen) {
            st->ls[kept++] = l;
            continue;
        }
        api_server_detach(st->srv, l->api_id); /* its requests are over */
        free(l);
    }
    st->n = kept;
    pthread_mutex_unlock(&st->lock);
}

void md_listeners_free(struct md_state *st)
{
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->n; i++) {
        api_server_detach(st->srv, st->ls[i]->api_id);
        free(st->ls[i]);
    }
    free(st->ls);
    st->ls = NULL;
    st->n = 0;
    pthread_mutex_unlock(&st->lock);
}
