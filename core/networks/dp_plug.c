/* Plugging ports (for compute, and for tests' stand-in guests) and tearing
 * the whole data plane down. */
#include "core/networks/dp_world.h"
#include "core/networks/net_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_port(struct store_txn *t, struct net_db *db, const char *port_id, json_t **port,
                     json_t **net, struct net_err *err)
{
    int rc = net_record_get(t, db, NET_PORT, port_id, port);
    if (rc == -ENOENT)
        return net_not_found(err, NET_PORT, port_id);
    if (!rc)
        rc = net_record_get(t, db, NET_NETWORK, net_str(*port, "network_id"), net);
    return rc;
}

int net_dp_plug(struct net_dp *dp, struct store_txn *t, struct net_db *db, const char *port_id,
                enum net_plug_kind kind, char ifname[16], struct net_err *err)
{
    json_t *port = NULL, *net = NULL;
    int rc = load_port(t, db, port_id, &port, &net, err);
    if (!rc) {
        net_private_set(port, "plug", json_string(kind == NET_PLUG_VETH ? "veth" : "tap"));
        json_object_set_new(port, "status", json_string("ACTIVE"));
        json_object_set_new(port, "binding:vif_type", json_string("tap"));
        net_touch(port);
        rc = net_put(t, db, NET_PORT, port);
    }
    if (!rc) {
        int saved;
        pthread_mutex_lock(&dp->lock);
        rc = dp_ns_enter(dp->netns, &saved);
        if (!rc) {
            struct dp_nl *nl = NULL;
            rc = dp_nl_open(&nl);
            if (!rc) {
                rc = dp_plug_link(dp, nl, port, net, ifname);
                dp_nl_close(nl);
            }
            dp_ns_leave(saved);
        }
        pthread_mutex_unlock(&dp->lock);
        if (rc)
            net_fail(err, rc, "DataPlaneError", "plugging port %s: %s", port_id, strerror(-rc));
    }
    json_decref(port);
    json_decref(net);
    return rc;
}

int net_dp_unplug(struct net_dp *dp, struct store_txn *t, struct net_db *db, const char *port_id,
                  struct net_err *err)
{
    json_t *port = NULL, *net = NULL;
    int rc = load_port(t, db, port_id, &port, &net, err);
    if (!rc) {
        net_private_set(port, "plug", NULL);
        json_object_set_new(port, "status", json_string("DOWN"));
        json_object_set_new(port, "binding:vif_type", json_string("unbound"));
        net_touch(port);
        rc = net_put(t, db, NET_PORT, port);
    }
    if (!rc) {
        int saved;
        pthread_mutex_lock(&dp->lock);
        rc = dp_ns_enter(dp->netns, &saved);
        if (!rc) {
            struct dp_nl *nl = NULL;
            rc = dp_nl_open(&nl);
            if (!rc) {
                char tap[16];
                dp_name(dp, 't', net_record_index(port), tap);
                rc = dp_link_delete(nl, tap);
                dp_nl_close(nl);
            }
            dp_ns_leave(saved);
        }
        pthread_mutex_unlock(&dp->lock);
    }
    json_decref(port);
    json_decref(net);
    return rc;
}

struct teardown {
    struct net_dp *dp;
    struct dp_nl *nl;
    int rc;
};

static void keep_first(struct teardown *c, int rc)
{
    if (rc && !c->rc)
        c->rc = rc;
}

static int drop_any_link(const char *name, void *ctx)
{
    struct teardown *c = ctx;
    size_t plen = strlen(c->dp->prefix);
    if (strchr("btvdgi", name[plen]) && name[plen + 1] >= '0' && name[plen + 1] <= '9')
        keep_first(c, dp_link_delete(c->nl, name));
    return 0;
}

static int drop_any_ns(const char *name, void *ctx)
{
    struct teardown *c = ctx;
    char dhcp[16];
    snprintf(dhcp, sizeof dhcp, "%s-dhcp-", c->dp->prefix);
    if (strncmp(name, dhcp, strlen(dhcp)) == 0)
        dp_dnsmasq_stop(c->dp, strtol(name + strlen(dhcp), NULL, 10));
    keep_first(c, dp_ns_delete(name));
    return 0;
}

int net_dp_teardown(struct net_dp *dp)
{
    struct teardown c = { dp, NULL, 0 };
    int saved;
    pthread_mutex_lock(&dp->lock);
    char nsprefix[16];
    snprintf(nsprefix, sizeof nsprefix, "%s-", dp->prefix);
    keep_first(&c, dp_ns_scan(nsprefix, drop_any_ns, &c));
    /* The records of applied rules go with the rules. */
    DIR *d = opendir(dp->run_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "nft-", 4) == 0) {
            char file[600];
            snprintf(file, sizeof file, "%s/%s", dp->run_dir, e->d_name);
            unlink(file);
        }
    if (d)
        closedir(d);
    int rc = dp_ns_enter(dp->netns, &saved);
    if (!rc) {
        rc = dp_nl_open(&c.nl);
        if (!rc) {
            keep_first(&c, dp_link_scan(c.nl, dp->prefix, drop_any_link, &c));
            dp_nl_close(c.nl);
        }
        char cmd[128];
        snprintf(cmd, sizeof cmd, "add table inet %s\ndelete table inet %s\n", dp->prefix,
                 dp->prefix);
        keep_first(&c, dp_nft_run(cmd, NULL));
        snprintf(cmd, sizeof cmd, "add table bridge %s\ndelete table bridge %s\n", dp->prefix,
                 dp->prefix);
        keep_first(&c, dp_nft_run(cmd, NULL));
        dp_ns_leave(saved);
    }
    pthread_mutex_unlock(&dp->lock);
    return rc ? rc : c.rc;
}
