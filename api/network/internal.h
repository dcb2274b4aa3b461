/* Private to api/network: the Neutron v2.0 service's shared pieces. */
#ifndef PICOSTACK_API_NETWORK_INTERNAL_H
#define PICOSTACK_API_NETWORK_INTERNAL_H

#include "api/http/http.h"
#include "core/networks/networks.h"

#include <pthread.h>

struct netsvc {
    struct api_server *srv;
    struct store *store;
    struct net_db *db;
    struct net_dp *dp; /* NULL: model only */
    /* dnsmasq supervision */
    pthread_t supervisor;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping, supervising;
};

struct net_caller netsvc_caller(struct api_req *r);
/* Replies a core/networks error as Neutron does ({"NeutronError": {type,
 * message, detail}}), the status from the errno map except Neutron's 409s
 * for no free address and over quota. */
void netsvc_reply_err(struct api_req *r, int rc, const struct net_err *err);
/* Commits t (replying on failure), then brings the data plane in line. */
bool netsvc_commit(struct api_req *r, struct store_txn *t);
/* Ends a write transaction after a core call: rc != 0 aborts it and
 * replies the error, else it commits (netsvc_commit). true when committed,
 * for the caller to send its reply with out; otherwise out is freed. */
bool netsvc_finish(struct api_req *r, struct store_txn *t, int rc, const struct net_err *err,
                   json_t *out);

/* resources.c */
void netsvc_list(struct api_req *r);
void netsvc_create(struct api_req *r);
void netsvc_show(struct api_req *r);
void netsvc_update(struct api_req *r);
void netsvc_delete(struct api_req *r);
void netsvc_router_add(struct api_req *r);
void netsvc_router_remove(struct api_req *r);

/* quotas.c */
void netsvc_quota_list(struct api_req *r);
void netsvc_quota_show(struct api_req *r);
void netsvc_quota_details(struct api_req *r);
void netsvc_quota_update(struct api_req *r);
void netsvc_quota_delete(struct api_req *r);

#endif
