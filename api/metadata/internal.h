/* api/metadata's private parts: the service's state and its listeners,
 * one per network with a DHCP namespace. */
#ifndef PICOSTACK_API_METADATA_INTERNAL_H
#define PICOSTACK_API_METADATA_INTERNAL_H

#include "api/http/http.h"
#include "core/networks/networks.h"
#include "core/store/store.h"

#include <pthread.h>

/* The port guests reach: http://169.254.169.254/ */
#define MD_PORT 80

/* One listener: the ctx the framework hands back with each request. */
struct md_listener {
    char network_id[STORE_ID_LEN + 1];
    unsigned api_id; /* api_server_attach's */
    bool seen;       /* still wanted (during a reconcile) */
};

struct md_state {
    struct api_server *srv;
    struct store *store;
    struct net_dp *dp; /* NULL: no data plane, nothing served */
    struct net_db *db;
    unsigned servers; /* core/compute's "compute.servers" (SERVERS.md) */
    pthread_mutex_t lock;
    struct md_listener **ls;
    size_t n;
};

extern const struct api_service api_metadata_service;

/* Makes the listeners match the networks (read transaction t): one for
 * each network whose DHCP namespace exists, none for the others. The
 * net_dp_sync hook, also run once at init. */
void md_follow(void *st, struct store_txn *t, struct net_db *db);
/* Detaches and frees every listener. */
void md_listeners_free(struct md_state *st);

#endif
