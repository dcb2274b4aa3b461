/* picostackd's options: the configuration file, then the environment,
 * then the command line (core/config does the parsing and checking). */
#include "api/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: picostackd [--config FILE] [--data DIR] [--listen ADDR:PORT[,...]]\n"
            "                  [--log-level error|info|debug] [--token-ttl SECONDS] [--threads N]\n"
            "                  [--tls auto|on|off] [--tls-cert PEM --tls-key PEM]\n"
            "                  [--check-config | --init | --print-data-dir]\n"
            "  --config     configuration file (default " CONFIG_DEFAULT_FILE " when it exists;\n"
            "               env PICOSTACK_CONFIG); the environment (PICOSTACK_<KEY>) and\n"
            "               then these options override it\n"
            "  --data       data directory (default /var/lib/picostack as root,\n"
            "               else ~/.local/share/picostack)\n"
            "  --listen     addresses and ports (default 127.0.0.1:8080); IPv6 as [::1]:8080\n"
            "  --tls        auto: HTTPS except on loopback (default); on; off\n"
            "  --tls-cert, --tls-key  PEM files; without them a self-signed certificate is\n"
            "               made in DIR/tls/ on first start\n"
            "  --token-ttl  token lifetime in seconds (default 3600)\n"
            "  --check-config  read and check the configuration, print it, exit\n"
            "  --init       first-start setup (data dir, credentials, certificate), exit\n"
            "  --print-data-dir  print the data directory, exit\n"
            "  --net-dataplane  build networks on this host (bridges, namespaces, nftables,\n"
            "               dnsmasq); without it the network API changes only the model\n"
            "  --net-namespace NS  the namespace the data plane treats as the host's (implies\n"
            "               --net-dataplane; default: picostackd's own)\n"
            "  --net-prefix P  prefix of the kernel objects it names (default ps, 1-4 chars)\n"
            "  --net-physnets NAME:IFACE,...  flat networks' host interfaces\n"
            "  --net-run-dir DIR  dnsmasq's files (default /run/picostack/PREFIX)\n"
            "  password rules (Keystone's security_compliance; all off by default):\n"
            "  --password-min-length N  --password-regex ERE [--password-regex-description T]\n"
            "  --password-expires-days N  --password-history N (a user's own change may not\n"
            "               reuse its last N passwords)\n"
            "  --metrics loopback|admin|open\n"
            "               who may read /metrics (default loopback: loopback clients\n"
            "               or an admin token)\n");
    for (size_t i = 0; i < api_limit_options_count; i++)
        fprintf(f, "  --%s %s\n               %s\n", api_limit_options[i].name,
                api_limit_options[i].bytes ? "BYTES" : "N", api_limit_options[i].help);
}

/* The long options that are configuration keys: option name -> key. */
static const struct {
    const char *option, *key;
} option_keys[] = {
    { "data", "data_dir" },         { "listen", "listen" },
    { "log-level", "log_level" },   { "token-ttl", "token_ttl" },
    { "threads", "threads" },       { "tls", "tls" },
    { "tls-cert", "tls_cert" },     { "tls-key", "tls_key" },
    { "backup-dir", "backup_dir" }, { "uplink-interface", "uplink_interface" },
};
#define N_OPTION_KEYS (sizeof(option_keys) / sizeof(option_keys[0]))
enum {
    OPT_CONFIG = 1000,
    OPT_CHECK,
    OPT_INIT,
    OPT_PRINT_DATA,
    OPT_METRICS,
    OPT_NET_DP,
    OPT_NET_NS,
    OPT_NET_PREFIX,
    OPT_NET_PHYSNETS,
    OPT_NET_RUN_DIR,
    OPT_PW_MIN,
    OPT_PW_REGEX,
    OPT_PW_REGEX_DESC,
    OPT_PW_EXPIRES,
    OPT_PW_HISTORY,
    OPT_KEY = 2000,
    OPT_LIMIT = 3000
};

/* The HTTP limits of http.h (api_limit_options) and --metrics. */
static int limit_option(struct daemon_opts *o, int c, const char *arg)
{
    if (c == OPT_METRICS) {
        if (api_config_set_metrics(&o->limits, arg) == 0)
            return 0;
        fprintf(stderr, "picostackd: --metrics wants loopback, admin or open\n");
        return -EINVAL;
    }
    const struct api_limit_option *lo = &api_limit_options[c - OPT_LIMIT];
    if (api_config_set_limit(&o->limits, lo, arg) == 0)
        return 0;
    fprintf(stderr, "picostackd: --%s wants %s, got '%s'\n", lo->name,
            lo->bytes ? "a byte count (K, M, G, T suffixes)" : "a number", arg);
    return -EINVAL;
}

/* The file to read: --config (must exist), else $PICOSTACK_CONFIG (must
 * exist), else the default file if it exists. */
static const char *config_file(int argc, char **argv, bool *required)
{
    *required = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], "--config=", 9))
            return argv[i] + 9;
    }
    const char *env = getenv("PICOSTACK_CONFIG");
    if (env && *env)
        return env;
    *required = false;
    return CONFIG_DEFAULT_FILE;
}

static int load_sources(int argc, char **argv, struct daemon_opts *o)
{
    char err[CONFIG_ERR_LEN];
    bool required;
    const char *file = config_file(argc, argv, &required);
    int rc = config_load_file(&o->cfg, file, err, sizeof(err));
    if (rc == -ENOENT && !required)
        rc = 0;
    else if (!rc)
        snprintf(o->config_file, sizeof(o->config_file), "%s", file);
    if (!rc)
        rc = config_load_env(&o->cfg, err, sizeof(err));
    if (rc)
        fprintf(stderr, "picostackd: %s\n", err);
    return rc;
}

static int daemon_options_parse(int argc, char **argv, struct daemon_opts *o, struct option *longs);

int daemon_options(int argc, char **argv, struct daemon_opts *o)
{
    struct option *longs = calloc(N_OPTION_KEYS + 17 + api_limit_options_count, sizeof(*longs));
    if (!longs)
        return -ENOMEM;
    int rc = daemon_options_parse(argc, argv, o, longs);
    free(longs);
    return rc;
}

static int daemon_options_parse(int argc, char **argv, struct daemon_opts *o, struct option *longs)
{
    size_t n = 0;
    for (; n < N_OPTION_KEYS; n++)
        longs[n] =
            (struct option){ option_keys[n].option, required_argument, NULL, OPT_KEY + (int)n };
    longs[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
    longs[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK };
    longs[n++] = (struct option){ "init", no_argument, NULL, OPT_INIT };
    longs[n++] = (struct option){ "print-data-dir", no_argument, NULL, OPT_PRINT_DATA };
    longs[n++] = (struct option){ "help", no_argument, NULL, 'h' };
    longs[n++] = (struct option){ "metrics", required_argument, NULL, OPT_METRICS };
    longs[n++] = (struct option){ "net-dataplane", no_argument, NULL, OPT_NET_DP };
    longs[n++] = (struct option){ "net-namespace", required_argument, NULL, OPT_NET_NS };
    longs[n++] = (struct option){ "net-prefix", required_argument, NULL, OPT_NET_PREFIX };
    longs[n++] = (struct option){ "net-physnets", required_argument, NULL, OPT_NET_PHYSNETS };
    longs[n++] = (struct option){ "net-run-dir", required_argument, NULL, OPT_NET_RUN_DIR };
    longs[n++] = (struct option){ "password-min-length", required_argument, NULL, OPT_PW_MIN };
    longs[n++] = (struct option){ "password-regex", required_argument, NULL, OPT_PW_REGEX };
    longs[n++] =
        (struct option){ "password-regex-description", required_argument, NULL, OPT_PW_REGEX_DESC };
    longs[n++] =
        (struct option){ "password-expires-days", required_argument, NULL, OPT_PW_EXPIRES };
    longs[n++] = (struct option){ "password-history", required_argument, NULL, OPT_PW_HISTORY };
    for (size_t i = 0; i < api_limit_options_count; i++)
        longs[n++] = (struct option){ api_limit_options[i].name, required_argument, NULL,
                                      OPT_LIMIT + (int)i };
    longs[n] = (struct option){ 0 };

    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout); /* even when the configuration file is broken */
            return 1;
        }
    memset(o, 0, sizeof(*o));
    config_defaults(&o->cfg);
    if (load_sources(argc, argv, o) < 0)
        return -EINVAL;
    char err[CONFIG_ERR_LEN];
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c >= OPT_KEY && c < OPT_KEY + (int)N_OPTION_KEYS) {
            if (config_set(&o->cfg, option_keys[c - OPT_KEY].key, optarg, err, sizeof(err)) < 0) {
                fprintf(stderr, "picostackd: --%s: %s\n", option_keys[c - OPT_KEY].option, err);
                return -EINVAL;
            }
            continue;
        }
        if (c == OPT_METRICS || (c >= OPT_LIMIT && c < OPT_LIMIT + (int)api_limit_options_count)) {
            if (limit_option(o, c, optarg) < 0)
                return -EINVAL;
            continue;
        }
        switch (c) {
        case OPT_CONFIG: break; /* read above */
        case OPT_NET_DP: o->net_dp = true; break;
        case OPT_NET_NS: o->net_dp = true, o->net_ns = optarg; break;
        case OPT_NET_PREFIX: o->net_prefix = optarg; break;
        case OPT_NET_PHYSNETS: o->net_physnets = optarg; break;
        case OPT_NET_RUN_DIR: o->net_run_dir = optarg; break;
        case OPT_PW_MIN: o->pw.min_length = (unsigned)atoi(optarg); break;
        case OPT_PW_REGEX: o->pw.regex = optarg; break;
        case OPT_PW_REGEX_DESC: o->pw.regex_description = optarg; break;
        case OPT_PW_EXPIRES: o->pw.expires_days = (unsigned)atoi(optarg); break;
        case OPT_PW_HISTORY: o->pw.history = (unsigned)atoi(optarg); break;
        case OPT_CHECK: o->mode = DAEMON_CHECK_CONFIG; break;
        case OPT_INIT: o->mode = DAEMON_INIT; break;
        case OPT_PRINT_DATA: o->mode = DAEMON_PRINT_DATA_DIR; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -EINVAL;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return -EINVAL;
    }
    if (config_check(&o->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "picostackd: %s%s%s\n", o->config_file, o->config_file[0] ? ": " : "", err);
        return -EINVAL;
    }
    return 0;
}
