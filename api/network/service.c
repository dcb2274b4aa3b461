/* The network service: Neutron v2.0 (a subset) under /network/v2.0, as
 * DevStack lays it out (catalog type "network", URL …/network: the SDK adds
 * /v2.0 itself). The model and the data plane are core/networks; this
 * folder maps HTTP and JSON to them: resources.c (CRUD of every kind,
 * router interfaces), quotas.c, and here the state, errors, version
 * discovery, extensions, and the dnsmasq supervisor. */
#include "api/network/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct net_caller netsvc_caller(struct api_req *r)
{
    const struct identity_token *t = api_req_auth(r);
    struct net_caller c = { 0 };
    if (!t)
        return c;
    c.project_id = t->project_id[0] ? t->project_id : NULL;
    c.is_admin = api_req_is_admin(r);
    c.can_write = c.project_id && (t->role_flags & (IDENTITY_ADMIN | IDENTITY_MEMBER)) != 0;
    return c;
}

void netsvc_reply_err(struct api_req *r, int rc, const struct net_err *err)
{
    int status = api_errno_status(rc);
    if (rc == -ENOSPC || rc == -EDQUOT)
        status = 409; /* IpAddressGenerationFailure, OverQuota */
    const char *type = err && err->type ? err->type : NULL;
    const char *msg = err && err->msg[0] ? err->msg : strerror(-rc);
    if (!type) {
        api_reply_errno(r, rc, "%s", msg);
        return;
    }
    api_reply_json(r, status,
                   json_pack("{s:{s:s, s:s, s:s}}", "NeutronError", "type", type, "message", msg,
                             "detail", ""));
}

bool netsvc_commit(struct api_req *r, struct store_txn *t)
{
    if (!api_txn_commit(r, t))
        return false;
    struct netsvc *st = api_req_state(r);
    if (!st->dp)
        return true;
    /* The data plane follows the committed model; a failure here is logged
     * (the next change or restart retries), the API answer stands. */
    struct store_txn *rt;
    struct net_err err = { 0 };
    int rc = store_begin(st->store, false, &rt);
    if (!rc) {
        rc = net_dp_sync(st->dp, rt, st->db, &err);
        store_abort(rt);
    }
    if (rc)
        fprintf(stderr, "picostackd: network data plane: %s\n",
                err.msg[0] ? err.msg : strerror(-rc));
    return true;
}

bool netsvc_finish(struct api_req *r, struct store_txn *t, int rc, const struct net_err *err,
                   json_t *out)
{
    if (rc) {
        store_abort(t);
        json_decref(out);
        netsvc_reply_err(r, rc, err);
        return false;
    }
    if (!netsvc_commit(r, t)) {
        json_decref(out);
        return false;
    }
    return true;
}

/* ---- version discovery, extensions ---- */

static json_t *version(struct api_req *r)
{
    char href[512];
    snprintf(href, sizeof href, "%s/network/v2.0/", api_req_base_url(r));
    return json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", "v2.0", "status", "CURRENT", "links",
                     "href", href, "rel", "self");
}

static void versions(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:[o]}", "versions", version(r)));
}

static void resources(struct api_req *r)
{
    json_t *res = json_array();
    for (int k = 0; k < NET_KINDS; k++) {
        char href[512];
        const char *plural = net_kind_plural((enum net_kind)k);
        snprintf(href, sizeof href, "%s/network/v2.0/%s", api_req_base_url(r), plural);
        json_array_append_new(res, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name",
                                             net_kind_name((enum net_kind)k), "collection", plural,
                                             "links", "href", href, "rel", "self"));
    }
    api_reply_json(r, 200, json_pack("{s:o}", "resources", res));
}

static void extensions(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:o}", "extensions", net_extensions()));
}

static void extension(struct api_req *r)
{
    json_t *all = net_extensions(), *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach (all, i, e)
        if (strcmp(json_string_value(json_object_get(e, "alias")), api_req_param(r, 0)) == 0)
            found = json_incref(e);
    json_decref(all);
    if (!found) {
        struct net_err err = { "ExtensionNotFound", "" };
        snprintf(err.msg, sizeof err.msg, "Extension with alias %s does not exist",
                 api_req_param(r, 0));
        netsvc_reply_err(r, -ENOENT, &err);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "extension", found));
}

/* ---- the supervisor: dnsmasq processes that die are restarted ---- */

static void *supervise(void *arg)
{
    struct netsvc *st = arg;
    pthread_mutex_lock(&st->lock);
    while (!st->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_cond_timedwait(&st->cond, &st->lock, &until);
        if (st->stopping)
            break;
        pthread_mutex_unlock(&st->lock);
        int n = net_dp_supervise(st->dp);
        if (n > 0)
            fprintf(stderr, "picostackd: restarted %d dnsmasq process(es)\n", n);
        pthread_mutex_lock(&st->lock);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

static int network_init(struct api_server *srv, void **state)
{
    struct netsvc *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->srv = srv;
    st->store = api_server_store(srv);
    st->dp = api_server_netdp(srv);
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    int rc = net_db_open(st->store, &st->db);
    if (!rc && st->dp) {
        /* Rebuild (or adopt) the whole data plane before serving. */
        struct store_txn *t;
        struct net_err err = { 0 };
        rc = store_begin(st->store, false, &t);
        if (!rc) {
            rc = net_dp_sync(st->dp, t, st->db, &err);
            store_abort(t);
        }
        if (rc)
            fprintf(stderr, "picostackd: network data plane at start: %s\n",
                    err.msg[0] ? err.msg : strerror(-rc));
        rc = pthread_create(&st->supervisor, NULL, supervise, st);
        st->supervising = rc == 0;
        rc = -rc;
    }
    if (rc) {
        net_db_close(st->db);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void network_fini(void *state)
{
    struct netsvc *st = state;
    if (!st)
        return;
    if (st->supervising) {
        pthread_mutex_lock(&st->lock);
        st->stopping = true;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
        pthread_join(st->supervisor, NULL);
    }
    net_db_close(st->db);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st);
}

#define KIND_ROUTES(path)                                                                  \
    { "GET", "/v2.0/" path, netsvc_list, 0 }, { "POST", "/v2.0/" path, netsvc_create, 0 }, \
        { "GET", "/v2.0/" path "/{}", netsvc_show, 0 },                                    \
        { "PUT", "/v2.0/" path "/{}", netsvc_update, 0 },                                  \
    {                                                                                      \
        "DELETE", "/v2.0/" path "/{}", netsvc_delete, 0                                    \
    }

static const struct api_route routes[] = {
    { "GET", "", versions, API_PUBLIC },
    { "GET", "/v2.0", resources, 0 },
    { "GET", "/v2.0/extensions", extensions, 0 },
    { "GET", "/v2.0/extensions/{}", extension, 0 },
    { "GET", "/v2.0/quotas", netsvc_quota_list, 0 },
    { "GET", "/v2.0/quotas/{}", netsvc_quota_show, 0 },
    { "GET", "/v2.0/quotas/{}/details", netsvc_quota_details, 0 },
    { "PUT", "/v2.0/quotas/{}", netsvc_quota_update, 0 },
    { "DELETE", "/v2.0/quotas/{}", netsvc_quota_delete, 0 },
    KIND_ROUTES("networks"),
    KIND_ROUTES("subnets"),
    KIND_ROUTES("ports"),
    KIND_ROUTES("routers"),
    { "PUT", "/v2.0/routers/{}/add_router_interface", netsvc_router_add, 0 },
    { "PUT", "/v2.0/routers/{}/remove_router_interface", netsvc_router_remove, 0 },
    KIND_ROUTES("floatingips"),
    KIND_ROUTES("security-groups"),
    KIND_ROUTES("security-group-rules"),
};

static const struct api_catalog_entry catalog[] = {
    { "network", "neutron", "/network" },
};

static const char *const depends[] = { "identity", NULL };

const struct api_service api_network_service = {
    .name = "network",
    .prefix = "/network",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_neutron,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_IDENTITY | API_NEEDS_STORE,
    .depends = depends,
    .init = network_init,
    .fini = network_fini,
};
