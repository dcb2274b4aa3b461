/* The metadata service: http://169.254.169.254/ as Nova's metadata API
 * answers it, served inside each network's DHCP namespace (listeners.c)
 * on listeners of its own (api_server_attach): never on the API port, no
 * catalog entry, no token (as Nova's, which trusts the network: the
 * bridge's anti-spoofing rules make a request's source address its
 * port's). The request's listener names the network, its source address
 * the port there (fixed_ips), the port's device_id the server (core/compute
 * record, SERVERS.md), and core/compute makes the documents. Read-only:
 * GET and HEAD; an unknown source or path is 404. Without a data plane
 * (picostackd without --net-dp) there are no namespaces and it serves
 * nothing. */
#include "api/metadata/internal.h"
#include "core/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void md_error(struct api_req *r, int status, const char *message)
{
    char text[512];
    snprintf(text, sizeof text, "%d %s\n\n%s\n\n", status,
             status == 404   ? "Not Found"
             : status == 405 ? "Method Not Allowed"
             : status == 400 ? "Bad Request"
                             : "Error",
             message);
    api_reply_text(r, status, "text/plain; charset=UTF-8", text);
}

struct find_port {
    const char *network_id, *addr;
    json_t *port; /* new reference */
};

static int match_port(json_t *port, void *ctx)
{
    struct find_port *f = ctx;
    const char *net = json_string_value(json_object_get(port, "network_id"));
    if (!net || strcmp(net, f->network_id) != 0)
        return 0;
    size_t i;
    json_t *fx;
    json_array_foreach (json_object_get(port, "fixed_ips"), i, fx) {
        const char *a = json_string_value(json_object_get(fx, "ip_address"));
        if (a && strcmp(a, f->addr) == 0) {
            f->port = json_incref(port);
            return 1;
        }
    }
    return 0;
}

/* The server whose port on the listener's network has the client's
 * address: 0 and *server, or -ENOENT. */
static int server_of(struct md_state *st, struct store_txn *t, const char *network_id,
                     const char *addr, json_t **server)
{
    struct find_port f = { network_id, addr, NULL };
    int rc = net_record_scan(t, st->db, NET_PORT, match_port, &f);
    if (rc < 0)
        return rc;
    const char *dev = json_string_value(json_object_get(f.port, "device_id"));
    rc = dev && *dev ? store_get(t, st->servers, dev, server) : -ENOENT;
    json_decref(f.port);
    return rc;
}

struct body {
    char *data;
    size_t len;
};

static long body_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct body *b = ctx;
    if (pos >= b->len)
        return 0;
    size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
    memcpy(buf, b->data + pos, n);
    return (long)n;
}

static void body_done(void *ctx)
{
    struct body *b = ctx;
    free(b->data);
    free(b);
}

static void serve(struct api_req *r)
{
    struct md_state *st = api_req_state(r);
    const struct md_listener *l = api_req_listener_ctx(r);
    if (!l)
        return md_error(r, 404, "The resource could not be found.");
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *server = NULL, *ports = NULL;
    int rc = server_of(st, t, l->network_id, api_req_client(r), &server);
    if (!rc)
        rc = compute_metadata_ports(t, st->db, server, &ports);
    store_abort(t);
    struct compute_metadata *md = NULL;
    struct compute_err err = { 0 };
    if (!rc)
        rc = compute_metadata_build(server, ports, time(NULL), &md, &err);
    json_decref(server);
    json_decref(ports);
    struct body *b = rc ? NULL : calloc(1, sizeof *b);
    const char *type = NULL;
    if (b)
        rc = compute_metadata_lookup(md, api_req_path(r), &b->data, &b->len, &type);
    else if (!rc)
        rc = -ENOMEM;
    compute_metadata_free(md);
    if (rc) {
        free(b);
        if (rc == -ENOENT)
            return md_error(r, 404, "The resource could not be found.");
        fprintf(stderr, "picostackd: metadata for %s: %s\n", api_req_client(r),
                err.msg[0] ? err.msg : strerror(-rc));
        return md_error(r, 500, "An unknown error has occurred.");
    }
    api_reply_stream(r, 200, type, b->len, body_read, body_done, b);
}

static int metadata_init(struct api_server *srv, void **state)
{
    struct md_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->srv = srv;
    st->store = api_server_store(srv);
    st->dp = api_server_netdp(srv);
    pthread_mutex_init(&st->lock, NULL);
    int rc = net_db_open(st->store, &st->db);
    if (!rc)
        rc = store_table(st->store, "compute.servers", &st->servers);
    if (!rc && st->dp) {
        struct store_txn *t;
        rc = store_begin(st->store, false, &t);
        if (!rc) {
            md_follow(st, t, st->db);
            store_abort(t);
            net_dp_set_sync_hook(st->dp, md_follow, st);
        }
    }
    if (rc) {
        md_listeners_free(st);
        if (st->db)
            net_db_close(st->db);
        pthread_mutex_destroy(&st->lock);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void metadata_fini(void *state)
{
    struct md_state *st = state;
    if (!st)
        return;
    if (st->dp)
        net_dp_set_sync_hook(st->dp, NULL, NULL);
    md_listeners_free(st);
    net_db_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Every path goes to serve(), which answers what core/compute's lookup
 * knows. */
static const struct api_route routes[] = {
    { "GET", "", serve, API_PUBLIC },
    { "GET", "/{*}", serve, API_PUBLIC },
};

static const char *const depends[] = { "network", NULL };

const struct api_service api_metadata_service = {
    .name = "metadata",
    .prefix = "/metadata",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = md_error,
    .needs = API_NEEDS_STORE,
    .depends = depends,
    .init = metadata_init,
    .fini = metadata_fini,
    .own_listeners = true,
};
