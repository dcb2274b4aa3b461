/* api/daemon.h — picostackd's own pieces (private to the daemon: main in
 * picostackd.c; no service uses them).
 *
 *   daemon_options.c      argv + environment + /etc/picostack/picostackd.conf
 *                         into a struct config (core/config), and the modes
 *                         (--check-config, --init, --print-data-dir)
 *   daemon_tls.c          the certificate: the configured one, or a
 *                         self-signed CA and a server certificate for this
 *                         host's names and addresses, made on first start
 *   daemon_credentials.c  admin-openrc and clouds.yaml (first start)
 *   daemon_zero_ahead.c   the thread that keeps the block store's clusters
 *                         zeroed ahead (zero_ahead_mib)
 */
#ifndef PICOSTACK_API_DAEMON_H
#define PICOSTACK_API_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/http/http.h"
#include "core/config/config.h"
#include "core/identity/identity.h"

enum daemon_mode {
    DAEMON_SERVE,          /* the default */
    DAEMON_CHECK_CONFIG,   /* --check-config: read and check, say so, exit */
    DAEMON_INIT,           /* --init: first-start setup, then exit (postinst) */
    DAEMON_PRINT_DATA_DIR, /* --print-data-dir */
};

struct daemon_opts {
    struct config cfg;
    char config_file[PATH_MAX]; /* the file read ("" when none) */
    enum daemon_mode mode;
    struct api_config limits;          /* the HTTP limits of the options (http.h); 0: defaults */
    struct identity_password_rules pw; /* Keystone's [security_compliance]; off */
    /* the network data plane (--net-*): off unless asked for */
    bool net_dp;
    const char *net_ns, *net_prefix, *net_physnets, *net_run_dir;
};

/* Fills o from the defaults, the configuration file (--config FILE, else
 * $PICOSTACK_CONFIG, else /etc/picostack/picostackd.conf when it exists),
 * the environment, and the command line, in that order, then checks the
 * result.  0; 1 after --help (printed); -EINVAL with the reason printed
 * on stderr. */
int daemon_options(int argc, char **argv, struct daemon_opts *o);

/* ---- zeroing ahead ---- */
struct blockstore;
struct daemon_zeroer;
/* Starts the thread that keeps `mib` MiB of the block store zeroed ahead
 * (blockstore_zero_ahead under api_blockstore_lock), from 10 s after the
 * call; mib 0 or no store: nothing started, *out NULL. 0 or -errno. */
int daemon_zeroer_start(struct api_server *srv, struct blockstore *bs, unsigned mib,
                        struct daemon_zeroer **out);
void daemon_zeroer_stop(struct daemon_zeroer *z); /* NULL is fine */

/* ---- TLS ---- */
struct daemon_tls {
    char *cert_pem, *key_pem; /* what the server serves (malloc'd) */
    char ca_file[PATH_MAX];   /* what clients trust: OS_CACERT / cacert */
    bool generated;           /* made now (first start) */
};
/* With tls_cert/tls_key configured: reads them (ca_file = tls_cert).
 * Otherwise uses DATA/tls/{ca.pem,cert.pem,key.pem}, making them when
 * missing: a CA (its key is thrown away once it has signed) and a server
 * certificate for this host's name, "localhost", and every address of its
 * interfaces, ECDSA P-256, valid 10 years.  0 or -errno (reason on
 * stderr). */
int daemon_tls_load(const struct config *c, struct daemon_tls *t);
void daemon_tls_free(struct daemon_tls *t);

/* ---- credentials ---- */
struct daemon_creds {
    const char *data_dir;
    const char *auth_url; /* "https://127.0.0.1:8443/identity" */
    const char *password;
    const char *ca_file; /* NULL for plain HTTP */
};
/* DATA/admin-openrc and DATA/clouds.yaml (0600, written to a temporary
 * file, synced, renamed).  0 or -errno (reason on stderr). */
int daemon_write_credentials(const struct daemon_creds *c);

#endif
