/* core/config/config.h — picostackd's configuration: one file,
 * /etc/picostack/picostackd.conf, overridden by the environment, overridden
 * by the command line.  No HTTP here; nothing is applied, only parsed and
 * checked: the daemon reads a `struct config` and acts on it.
 *
 * The file: one `key = value` per line; `#` starts a comment (whole line,
 * or after the value when preceded by a space); blank lines are ignored;
 * spaces around the key and value are dropped; a value may be written in
 * double quotes (to keep a `#` or spaces at its ends).  A key given twice
 * keeps the last value.  Every key (the manual is packaging/picostackd.conf):
 *
 *     listen                = 127.0.0.1:8080, 0.0.0.0:8443
 *                                                 ADDR:PORT[, ADDR:PORT...] (up to 4;
 *                                                 IPv6 as [::1]:8080; 0.0.0.0 = all)
 *     data_dir              = /var/lib/picostack  state, images, disks
 *     backup_dir            = /var/lib/picostack/backups
 *     token_ttl             = 3600                seconds, 1 .. 604800 (a week)
 *     cpu_allocation_ratio  = 16.0                vCPUs per host CPU (Nova's default)
 *     ram_allocation_ratio  = 1.5                 guest RAM per host RAM (Nova's default)
 *     uplink_interface      =                     host interface for external networks
 *     log_level             = info                error | info | debug
 *     tls                   = auto                auto: HTTPS except on loopback;
 *                                                 on: HTTPS everywhere; off: plain HTTP
 *     tls_cert              =                     PEM certificate (chain), or empty:
 *     tls_key               =                     generated on first start in data_dir/tls/
 *     plain_http_on_lan     = no                  yes allows tls = off on a non-loopback address
 *     threads               = 0                   request threads, 0 = by CPU count
 *     deleted_servers_kept  = 1000                deleted servers whose instance actions
 *                                                 stay readable, 1 .. 1000000
 *     zero_ahead_mib        = 256                 block store space kept zeroed for
 *                                                 first writes, 0 .. 1048576 (0: off)
 *
 * Environment: PICOSTACK_<KEY IN CAPITALS> (PICOSTACK_TOKEN_TTL,
 * PICOSTACK_LISTEN, ...); PICOSTACK_DATA is also read as data_dir (older
 * name).  Command line: the daemon calls config_set() for each option.
 *
 * Errors: every function returns 0 or a negative errno (-EINVAL bad value,
 * unknown key or malformed line; -ENOENT no such file; other errnos from
 * reading) and writes a message into err: for a file "FILE:LINE: what is
 * wrong", for the environment "PICOSTACK_X: what is wrong".  A failed call
 * may have applied the lines before the bad one: callers stop on error
 * (the daemon does not start half-configured). */
#ifndef PICOSTACK_CONFIG_H
#define PICOSTACK_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_FILE "/etc/picostack/picostackd.conf"
#define CONFIG_MAX_LISTEN   4
#define CONFIG_ERR_LEN      (PATH_MAX + 256)

enum config_log_level { CONFIG_LOG_ERROR = 0, CONFIG_LOG_INFO = 1, CONFIG_LOG_DEBUG = 2 };
enum config_tls { CONFIG_TLS_AUTO, CONFIG_TLS_ON, CONFIG_TLS_OFF };

struct config_listen {
    char addr[64]; /* numeric: "127.0.0.1", "::1", "0.0.0.0", "::" */
    unsigned port; /* 0 = any free port */
    bool ipv6;
};

struct config {
    struct config_listen listen[CONFIG_MAX_LISTEN];
    unsigned n_listen;
    char data_dir[PATH_MAX];
    char backup_dir[PATH_MAX]; /* "" = data_dir/backups */
    unsigned token_ttl;        /* seconds */
    double cpu_allocation_ratio;
    double ram_allocation_ratio;
    char uplink_interface[IF_NAMESIZE]; /* "" = none */
    enum config_log_level log_level;
    enum config_tls tls;
    char tls_cert[PATH_MAX]; /* "" = generated in data_dir/tls/ */
    char tls_key[PATH_MAX];
    bool plain_http_on_lan;
    unsigned threads; /* 0 = by CPU count */
    unsigned deleted_servers_kept;
    unsigned zero_ahead_mib; /* 0 = off */
};

/* The defaults (listed above).  data_dir is /var/lib/picostack for root
 * and ~/.local/share/picostack otherwise (as the block store's default). */
void config_defaults(struct config *c);

/* One key: "listen", "token_ttl", ...  The value is checked; on error c is
 * unchanged for that key. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);

/* The file at path, line by line, through config_set. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* PICOSTACK_<KEY> variables of the environment that are set (and not
 * empty), through config_set. */
int config_load_env(struct config *c, char *err, size_t errlen);

/* Checks that hold between keys: tls_cert and tls_key given together; with
 * tls = off, every listen address is loopback unless plain_http_on_lan. */
int config_check(const struct config *c, char *err, size_t errlen);

/* True when a listen address only accepts connections from this host. */
bool config_listen_is_loopback(const struct config_listen *l);
/* True when that address is to serve HTTPS under c->tls. */
bool config_listen_uses_tls(const struct config *c, const struct config_listen *l);

/* The key names, NULL-terminated (for --help and tests). */
extern const char *const config_keys[];

#endif
