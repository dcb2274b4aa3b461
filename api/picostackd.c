/* picostackd: the control-plane daemon (docs/ARCHITECTURE.md, "Processes").
 *   picostackd [--config FILE] [--data DIR] [--listen ADDR:PORT,...] ...
 *              (picostackd --help; the keys: core/config/config.h)
 *              [--net-dataplane] [--net-namespace NS] [--net-prefix P]
 *              [--net-physnets NAME:IFACE,...] [--net-run-dir DIR]
 * Owns DIR (flock on DIR/lock), its LMDB state in DIR/state/, and serves
 * the OpenStack-compatible API (HTTPS beyond loopback) until SIGTERM/SIGINT,
 * telling systemd when it is ready (sd_notify). */
#include "api/daemon.h"
#include "api/services.h"
#include "core/blockstore/blockstore.h"
#include "core/networks/networks.h"
#include "core/store/store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The URL clients are told (admin-openrc, clouds.yaml): the first HTTPS
 * listener if there is one, else the first; a wildcard address becomes
 * loopback (which the certificate names). */
static void auth_url(const struct config *c, const unsigned *ports, char *out, size_t len)
{
    unsigned pick = 0;
    for (unsigned i = c->n_listen; i-- > 0;)
        if (config_listen_uses_tls(c, &c->listen[i]))
            pick = i;
    const struct config_listen *l = &c->listen[pick];
    const char *host = l->addr;
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    else if (!strcmp(host, "::"))
        host = "::1";
    snprintf(out, len, "%s://%s%s%s:%u/identity", config_listen_uses_tls(c, l) ? "https" : "http",
             l->ipv6 ? "[" : "", host, l->ipv6 ? "]" : "", ports ? ports[pick] : l->port);
}

static bool any_tls(const struct config *c)
{
    for (unsigned i = 0; i < c->n_listen; i++)
        if (config_listen_uses_tls(c, &c->listen[i]))
            return true;
    return false;
}

static int publish_credentials(const struct config *c, const unsigned *ports, const char *password,
                               const struct daemon_tls *tls)
{
    char url[256];
    auth_url(c, ports, url, sizeof(url));
    struct daemon_creds cr = { .data_dir = c->data_dir,
                               .auth_url = url,
                               .password = password,
                               .ca_file = any_tls(c) ? tls->ca_file : NULL };
    int rc = daemon_write_credentials(&cr);
    if (!rc)
        fprintf(
            stderr,
            "picostackd: first start: admin credentials in %s/admin-openrc and %s/clouds.yaml\n",
            c->data_dir, c->data_dir);
    return rc;
}

/* First start: admin's random password reaches DIR/admin-openrc and
 * DIR/clouds.yaml (synced) before the setup that uses it is committed, so
 * no crash can leave an admin whose password nobody knows; a crash in
 * between leaves files that the next first start overwrites.  With port 0
 * the port is known only once listening: main() writes them again then. */
static int first_start(const struct config *c, struct identity *idn, const struct daemon_tls *tls,
                       char password[33], bool *created)
{
    *created = false;
    int rc = identity_bootstrap_needed(idn);
    if (rc <= 0)
        return rc;
    identity_new_password(password);
    if ((rc = publish_credentials(c, NULL, password, tls)) < 0)
        return rc;
    return identity_bootstrap_with(idn, password, created);
}

/* The data plane's handle; its files under /run/picostack/PREFIX unless
 * told otherwise (dnsmasq, which drops to nobody, must reach them). */
static int open_netdp(const struct daemon_opts *o, struct net_dp **out)
{
    char run[PATH_MAX];
    const char *prefix = o->net_prefix ? o->net_prefix : "ps";
    if (o->net_run_dir)
        snprintf(run, sizeof(run), "%s", o->net_run_dir);
    else {
        if (mkdir("/run/picostack", 0755) < 0 && errno != EEXIST)
            return -errno;
        snprintf(run, sizeof(run), "/run/picostack/%s", prefix);
    }
    struct net_dp_config cfg = {
        .prefix = prefix,
        .netns = o->net_ns,
        .run_dir = run,
        .physnets = o->net_physnets,
    };
    return net_dp_open(&cfg, out);
}

/* What --check-config prints: the configuration in effect. */
static void print_config(const struct daemon_opts *o)
{
    const struct config *c = &o->cfg;
    static const char *const levels[] = { "error", "info", "debug" };
    static const char *const tls[] = { "auto", "on", "off" };
    printf("# picostackd: configuration %s\n", o->config_file[0] ? o->config_file : "(defaults)");
    printf("listen = ");
    for (unsigned i = 0; i < c->n_listen; i++)
        printf("%s%s%s%s:%u%s", i ? ", " : "", c->listen[i].ipv6 ? "[" : "", c->listen[i].addr,
               c->listen[i].ipv6 ? "]" : "", c->listen[i].port,
               config_listen_uses_tls(c, &c->listen[i]) ? " (https)" : " (http)");
    printf("\ndata_dir = %s\nbackup_dir = %s\ntoken_ttl = %u\ncpu_allocation_ratio = %g\n"
           "ram_allocation_ratio = %g\nuplink_interface = %s\nlog_level = %s\ntls = %s\n"
           "tls_cert = %s\ntls_key = %s\nplain_http_on_lan = %s\nthreads = %u\n"
           "deleted_servers_kept = %u\nzero_ahead_mib = %u\n",
           c->data_dir, c->backup_dir, c->token_ttl, c->cpu_allocation_ratio,
           c->ram_allocation_ratio, c->uplink_interface, levels[c->log_level], tls[c->tls],
           c->tls_cert, c->tls_key, c->plain_http_on_lan ? "yes" : "no", c->threads,
           c->deleted_servers_kept, c->zero_ahead_mib);
}

/* The data dir, the block store, the store, identity, the certificate and
 * the first-start credentials: what --init makes and serving needs. */
struct daemon {
    struct blockstore *bs;
    struct store *store;
    struct identity *idn;
    struct daemon_tls tls;
    char password[33];
    bool created;
};

static int daemon_open(const struct config *c, const struct identity_password_rules *pw,
                       struct daemon *d)
{
    int rc = mkdir_p(c->data_dir);
    if (rc < 0) {
        fprintf(stderr, "picostackd: cannot create %s: %s\n", c->data_dir, strerror(-rc));
        return rc;
    }
    /* One owner per data dir: opening the block store takes DIR/lock (an
     * exclusive flock, held until exit) and recovers what a crash left. */
    rc = blockstore_open(c->data_dir, BLOCKSTORE_CREATE, NULL, &d->bs);
    if (rc < 0) {
        fprintf(stderr, "picostackd: %s: %s\n", c->data_dir,
                rc == -EBUSY ? "in use by another process (DIR/lock is held)" : blockstore_error());
        return rc;
    }
    char state[PATH_MAX + 16];
    snprintf(state, sizeof(state), "%s/state", c->data_dir);
    rc = store_open(state, &d->store);
    if (rc < 0) {
        fprintf(stderr, "picostackd: cannot open %s: %s\n", state, strerror(-rc));
        return rc;
    }
    rc = identity_open(d->store, (int)c->token_ttl, &d->idn);
    if (rc < 0) {
        fprintf(stderr, "picostackd: identity: %s\n", strerror(-rc));
        return rc;
    }
    rc = identity_set_password_rules(d->idn, pw);
    if (rc < 0) {
        fprintf(stderr, "picostackd: --password-regex: %s\n",
                rc == -EINVAL ? "not a valid extended regular expression" : strerror(-rc));
        return rc;
    }
    if (any_tls(c) && (rc = daemon_tls_load(c, &d->tls)) < 0)
        return rc;
    rc = first_start(c, d->idn, &d->tls, d->password, &d->created);
    if (rc < 0)
        fprintf(stderr, "picostackd: first-start setup failed: %s\n", strerror(-rc));
    return rc;
}

static void daemon_close(struct daemon *d)
{
    sodium_memzero(d->password, sizeof(d->password));
    daemon_tls_free(&d->tls);
    if (d->idn)
        identity_close(d->idn);
    if (d->store)
        store_close(d->store);
    if (d->bs)
        blockstore_close(d->bs);
}

static int serve_api(const struct daemon_opts *o, struct daemon *d, struct net_dp *netdp)
{
    const struct config *c = &o->cfg;
    const struct api_config *limits = &o->limits;
    /* Signals go to the main thread only (sigwait below). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct api_listener ls[CONFIG_MAX_LISTEN];
    for (unsigned i = 0; i < c->n_listen; i++)
        ls[i] = (struct api_listener){ c->listen[i].addr, c->listen[i].port,
                                       config_listen_uses_tls(c, &c->listen[i]) };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* The HTTP limits as the options set them (0: the defaults), then the rest. */
    struct api_config cfg = *limits;
    cfg.listeners = ls;
    cfg.n_listeners = c->n_listen;
    cfg.tls_cert_pem = d->tls.cert_pem;
    cfg.tls_key_pem = d->tls.key_pem;
    cfg.log_level = (int)c->log_level;
    cfg.identity = d->idn;
    cfg.store = d->store;
    cfg.blockstore = d->bs;
    cfg.data_dir = c->data_dir;
    cfg.threads = c->threads ? c->threads : (unsigned)(ncpu > 2 ? 2 * ncpu : 4);
    cfg.workers = (unsigned)(ncpu > 1 ? ncpu : 1);
    cfg.netdp = netdp;
    cfg.netdp_netns = o->net_ns;
    cfg.cpu_allocation_ratio = c->cpu_allocation_ratio;
    cfg.ram_allocation_ratio = c->ram_allocation_ratio;
    cfg.deleted_servers_kept = c->deleted_servers_kept;
    struct api_server *srv;
    const char *failed = NULL;
    int rc = api_server_new(&cfg, &srv);
    if (rc) {
        fprintf(stderr, "picostackd: server: %s\n", strerror(-rc));
        return rc;
    }
    if ((rc = api_services_register(srv, &failed)) != 0) {
        fprintf(stderr, "picostackd: service %s: %s\n", failed, strerror(-rc));
        api_server_free(srv);
        return rc;
    }
    rc = api_server_start(srv);
    unsigned ports[CONFIG_MAX_LISTEN];
    for (unsigned i = 0; i < c->n_listen; i++)
        ports[i] = api_server_listener_port(srv, i);
    bool port0 = false;
    for (unsigned i = 0; i < c->n_listen; i++)
        port0 |= !c->listen[i].port;
    if (!rc && d->created && port0)
        rc = publish_credentials(c, ports, d->password, &d->tls);
    sodium_memzero(d->password, sizeof(d->password));
    if (rc) {
        fprintf(stderr, "picostackd: cannot serve: %s%s\n", strerror(-rc),
                rc == -EPROTONOSUPPORT ? " (libmicrohttpd without TLS)" : "");
        api_server_free(srv);
        return rc;
    }
    for (unsigned i = 0; i < c->n_listen; i++) {
        const struct config_listen *l = &c->listen[i];
        fprintf(stderr, "picostackd: serving %s://%s%s%s:%u (data %s, pid %d)\n",
                config_listen_uses_tls(c, l) ? "https" : "http", l->ipv6 ? "[" : "", l->addr,
                l->ipv6 ? "]" : "", ports[i], c->data_dir, (int)getpid());
    }
    sd_notifyf(0, "READY=1\nSTATUS=serving on %u address(es)\nMAINPID=%d", c->n_listen,
               (int)getpid());
    struct daemon_zeroer *zeroer = NULL;
    if ((rc = daemon_zeroer_start(srv, d->bs, c->zero_ahead_mib, &zeroer)) < 0)
        fprintf(stderr, "picostackd: zeroing ahead not started: %s\n", strerror(-rc));

    int sig = 0;
    sigwait(&sigs, &sig);
    sd_notify(0, "STOPPING=1\nSTATUS=finishing in-flight requests");
    fprintf(stderr, "picostackd: signal %d: finishing in-flight requests\n", sig);
    daemon_zeroer_stop(zeroer);
    api_server_stop(srv, 30000);
    api_server_free(srv);
    return 0;
}

/* The network data plane (when asked for) lives as long as the server; what
 * runs in the kernel and dnsmasq stays after picostackd stops. */
static int serve(const struct daemon_opts *o, struct daemon *d)
{
    struct net_dp *netdp = NULL;
    int rc;
    if (o->net_dp && (rc = open_netdp(o, &netdp)) < 0) {
        fprintf(stderr, "picostackd: network data plane: %s\n", strerror(-rc));
        return rc;
    }
    rc = serve_api(o, d, netdp);
    net_dp_close(netdp);
    return rc;
}

int main(int argc, char **argv)
{
    struct daemon_opts o;
    int rc = daemon_options(argc, argv, &o);
    if (rc)
        return rc > 0 ? 0 : 2; /* --help, or bad configuration (said) */
    switch (o.mode) {
    case DAEMON_CHECK_CONFIG: print_config(&o); return 0;
    case DAEMON_PRINT_DATA_DIR: printf("%s\n", o.cfg.data_dir); return 0;
    default: break;
    }
    struct daemon d = { 0 };
    rc = daemon_open(&o.cfg, &o.pw, &d);
    if (!rc && o.mode == DAEMON_INIT)
        fprintf(stderr, "picostackd: %s is set up%s\n", o.cfg.data_dir,
                d.created ? "" : " (it was already)");
    else if (!rc)
        rc = serve(&o, &d);
    daemon_close(&d);
    if (!rc && o.mode == DAEMON_SERVE)
        fprintf(stderr, "picostackd: stopped\n");
    return rc ? 1 : 0;
}
