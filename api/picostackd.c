/* picostackd: the control-plane daemon (DESIGN.md, "Processes").
 *   picostackd [--data DIR] [--listen ADDR:PORT] [--log-level L]
 *              [--token-ttl SECONDS] [--threads N]
 * Owns DIR (flock on DIR/lock), its LMDB state in DIR/state/, and serves
 * the OpenStack-compatible API until SIGTERM/SIGINT. */
#include "api/services.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct options {
    char data[PATH_MAX];
    char addr[64];
    unsigned port;
    int log_level;
    int token_ttl;
    unsigned threads;
    struct identity_password_rules pw; /* Keystone's [security_compliance]; off */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: picostackd [--data DIR] [--listen ADDR:PORT] [--log-level error|info|debug]\n"
            "                  [--token-ttl SECONDS] [--threads N]\n"
            "  --data       data directory (default /var/lib/picostack as root,\n"
            "               else ~/.local/share/picostack)\n"
            "  --listen     address and port (default 127.0.0.1:8080)\n"
            "  --token-ttl  token lifetime (default 3600; env PICOSTACK_TOKEN_TTL)\n"
            "  password rules (Keystone's security_compliance; all off by default):\n"
            "  --password-min-length N  --password-regex ERE [--password-regex-description T]\n"
            "  --password-expires-days N  --password-history N (a user's own change may not\n"
            "               reuse its last N passwords)\n");
}

static int parse_listen(const char *s, struct options *o)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(o->addr))
        return -1;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535)
        return -1;
    memcpy(o->addr, s, colon - s);
    o->addr[colon - s] = '\0';
    o->port = (unsigned)port;
    return 0;
}

static int parse_level(const char *s)
{
    if (!strcmp(s, "error") || !strcmp(s, "0"))
        return 0;
    if (!strcmp(s, "info") || !strcmp(s, "1"))
        return 1;
    if (!strcmp(s, "debug") || !strcmp(s, "2"))
        return 2;
    return -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        { "data", required_argument, NULL, 'd' },
        { "listen", required_argument, NULL, 'l' },
        { "log-level", required_argument, NULL, 'v' },
        { "token-ttl", required_argument, NULL, 't' },
        { "threads", required_argument, NULL, 'T' },
        { "password-min-length", required_argument, NULL, 'm' },
        { "password-regex", required_argument, NULL, 'r' },
        { "password-regex-description", required_argument, NULL, 'R' },
        { "password-expires-days", required_argument, NULL, 'e' },
        { "password-history", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    *o = (struct options){ .port = 8080, .log_level = 1 };
    snprintf(o->addr, sizeof(o->addr), "127.0.0.1");
    const char *ttl = getenv("PICOSTACK_TOKEN_TTL");
    if (ttl)
        o->token_ttl = atoi(ttl);
    if (blockstore_default_dir(o->data, sizeof(o->data)) < 0)
        o->data[0] = '\0';
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': snprintf(o->data, sizeof(o->data), "%s", optarg); break;
        case 'l':
            if (parse_listen(optarg, o) < 0) {
                fprintf(stderr, "picostackd: --listen wants ADDR:PORT, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'v':
            if ((o->log_level = parse_level(optarg)) < 0) {
                fprintf(stderr, "picostackd: --log-level wants error, info or debug\n");
                return -1;
            }
            break;
        case 't': o->token_ttl = atoi(optarg); break;
        case 'T': o->threads = (unsigned)atoi(optarg); break;
        case 'm': o->pw.min_length = (unsigned)atoi(optarg); break;
        case 'r': o->pw.regex = optarg; break;
        case 'R': o->pw.regex_description = optarg; break;
        case 'e': o->pw.expires_days = (unsigned)atoi(optarg); break;
        case 'H': o->pw.history = (unsigned)atoi(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc || !o->data[0]) {
        usage(stderr);
        return -1;
    }
    if (o->token_ttl < 0) {
        fprintf(stderr, "picostackd: the token lifetime must be positive\n");
        return -1;
    }
    return 0;
}

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

static int write_openrc(const struct options *o, const char *password)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/admin-openrc", o->data);
    snprintf(tmp, sizeof(tmp), "%s/.admin-openrc.tmp", o->data);
    const char *host = strcmp(o->addr, "0.0.0.0") ? o->addr : "127.0.0.1";
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -errno;
    }
    fprintf(f,
            "# picostack admin credentials (source this file)\n"
            "export OS_AUTH_URL=http://%s:%u/identity\n"
            "export OS_IDENTITY_API_VERSION=3\n"
            "export OS_USERNAME=admin\n"
            "export OS_PASSWORD=%s\n"
            "export OS_PROJECT_NAME=admin\n"
            "export OS_USER_DOMAIN_ID=default\n"
            "export OS_USER_DOMAIN_NAME=Default\n"
            "export OS_PROJECT_DOMAIN_ID=default\n"
            "export OS_PROJECT_DOMAIN_NAME=Default\n"
            "export OS_REGION_NAME=RegionOne\n",
            host, o->port, password);
    if (fflush(f) != 0 || fsync(fd) != 0) {
        fclose(f);
        return -EIO;
    }
    if (fclose(f) != 0)
        return -EIO;
    return rename(tmp, path) < 0 ? -errno : 0;
}

static int publish_openrc(struct options *o, const char *password)
{
    int rc = write_openrc(o, password);
    if (rc < 0) {
        fprintf(stderr, "picostackd: cannot write %s/admin-openrc: %s\n", o->data, strerror(-rc));
        return rc;
    }
    fprintf(stderr, "picostackd: first start: admin credentials in %s/admin-openrc\n", o->data);
    return 0;
}

/* First start: admin's random password reaches DIR/admin-openrc (synced)
 * before the setup that uses it is committed, so no crash can leave an
 * admin whose password nobody knows; a crash in between leaves an openrc
 * that the next first start overwrites.  With port 0 the port is known
 * only once listening: main() writes the file again then. */
static int first_start(struct options *o, struct identity *idn, char password[33], bool *created)
{
    *created = false;
    int rc = identity_bootstrap_needed(idn);
    if (rc <= 0)
        return rc;
    identity_new_password(password);
    if ((rc = publish_openrc(o, password)) < 0)
        return rc;
    return identity_bootstrap_with(idn, password, created);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_args(argc, argv, &o) < 0)
        return 2;
    int rc = mkdir_p(o.data);
    if (rc < 0) {
        fprintf(stderr, "picostackd: cannot create %s: %s\n", o.data, strerror(-rc));
        return 1;
    }
    /* One owner per data dir: opening the block store takes DIR/lock (an
     * exclusive flock, held until exit) and recovers what a crash left. */
    struct blockstore *bs;
    rc = blockstore_open(o.data, BLOCKSTORE_CREATE, NULL, &bs);
    if (rc < 0) {
        fprintf(stderr, "picostackd: %s: %s\n", o.data,
                rc == -EBUSY ? "in use by another process (DIR/lock is held)" : blockstore_error());
        return 1;
    }

    char state[PATH_MAX + 16];
    snprintf(state, sizeof(state), "%s/state", o.data);
    struct store *store;
    struct identity *idn;
    rc = store_open(state, &store);
    if (rc < 0) {
        fprintf(stderr, "picostackd: cannot open %s: %s\n", state, strerror(-rc));
        return 1;
    }
    rc = identity_open(store, o.token_ttl, &idn);
    if (rc < 0) {
        fprintf(stderr, "picostackd: identity: %s\n", strerror(-rc));
        return 1;
    }
    rc = identity_set_password_rules(idn, &o.pw);
    if (rc < 0) {
        fprintf(stderr, "picostackd: --password-regex: %s\n",
                rc == -EINVAL ? "not a valid extended regular expression" : strerror(-rc));
        return 1;
    }
    char password[33];
    bool created;
    rc = first_start(&o, idn, password, &created);
    if (rc < 0) {
        fprintf(stderr, "picostackd: first-start setup failed: %s\n", strerror(-rc));
        return 1;
    }
    /* Signals go to the main thread only (sigwait below). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    struct api_config cfg = {
        .listen_addr = o.addr,
        .port = o.port,
        .log_level = o.log_level,
        .identity = idn,
        .store = store,
        .blockstore = bs,
        .data_dir = o.data,
        .threads = o.threads ? o.threads : (unsigned)(ncpu > 2 ? 2 * ncpu : 4),
        .workers = (unsigned)(ncpu > 1 ? ncpu : 1),
    };
    struct api_server *srv;
    const char *failed = NULL;
    rc = api_server_new(&cfg, &srv);
    if (!rc && (rc = api_services_register(srv, &failed)) != 0) {
        fprintf(stderr, "picostackd: service %s: %s\n", failed, strerror(-rc));
        return 1;
    }
    if (!rc)
        rc = api_server_start(srv);
    if (!rc && created && !o.port) {
        o.port = api_server_port(srv);
        rc = publish_openrc(&o, password);
    }
    sodium_memzero(password, sizeof(password));
    if (rc) {
        fprintf(stderr, "picostackd: cannot serve on %s:%u: %s\n", o.addr, o.port, strerror(-rc));
        return 1;
    }
    fprintf(stderr, "picostackd: serving http://%s:%u (data %s, pid %d)\n", o.addr,
            api_server_port(srv), o.data, (int)getpid());

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "picostackd: signal %d: finishing in-flight requests\n", sig);
    api_server_stop(srv, 30000);
    api_server_free(srv);
    identity_close(idn);
    store_close(store);
    blockstore_close(bs);
    fprintf(stderr, "picostackd: stopped\n");
    return 0;
}
