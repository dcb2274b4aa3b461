/* The configuration keys: one parser per kind of value, one table of keys
 * (config.h is the manual). */
#include "core/config/config.h"
#include "core/blockstore/blockstore.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* ---- value parsers: 0, or -EINVAL with the reason in err ---- */

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned *out, char *err,
                      size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end || errno || n < min || n > max)
        return fail(err, errlen, "'%s' is not a whole number from %lu to %lu", v, min, max);
    *out = (unsigned)n;
    return 0;
}

static int parse_ratio(const char *v, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d) || d <= 0 || d > 1000)
        return fail(err, errlen, "'%s' is not a ratio (a number above 0, at most 1000)", v);
    *out = d;
    return 0;
}

static int parse_bool(const char *v, bool *out, char *err, size_t errlen)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return fail(err, errlen, "'%s' is not yes or no", v);
    return 0;
}

static int parse_path(const char *v, bool may_be_empty, char *out, size_t len, char *err,
                      size_t errlen)
{
    if (!*v && may_be_empty) {
        out[0] = '\0';
        return 0;
    }
    if (v[0] != '/')
        return fail(err, errlen, "'%s' is not an absolute path", v);
    if (strlen(v) >= len)
        return fail(err, errlen, "path longer than %zu bytes", len - 1);
    memset(out, 0, len); /* no stale tail of an earlier value */
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0" */
static int parse_one_listen(const char *s, size_t n, struct config_listen *l, char *err,
                            size_t errlen)
{
    char buf[96];
    if (n == 0 || n >= sizeof(buf))
        return fail(err, errlen, "'%.*s' is not ADDR:PORT", (int)n, s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *colon = strrchr(buf, ':');
    if (!colon)
        return fail(err, errlen, "'%s' has no :PORT", buf);
    *colon = '\0';
    char *host = buf;
    l->ipv6 = false;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']')
            return fail(err, errlen, "'%s]' is not an IPv6 address in brackets", host);
        host[hl - 1] = '\0';
        host++;
        l->ipv6 = true;
    }
    unsigned char addr[16];
    if (inet_pton(l->ipv6 ? AF_INET6 : AF_INET, host, addr) != 1)
        return fail(err, errlen, "'%s' is not a numeric %s address%s", host,
                    l->ipv6 ? "IPv6" : "IPv4", l->ipv6 ? "" : " (IPv6 goes in brackets)");
    if (parse_uint(colon + 1, 0, 65535, &l->port, err, errlen) < 0)
        return fail(err, errlen, "port '%s' is not from 0 to 65535", colon + 1);
    if (strlen(host) >= sizeof(l->addr)) /* cannot be: inet_pton accepted it */
        return fail(err, errlen, "'%s' is too long", host);
    memcpy(l->addr, host, strlen(host) + 1);
    return 0;
}

static int parse_listen(struct config *c, const char *v, char *err, size_t errlen)
{
    struct config_listen ls[CONFIG_MAX_LISTEN];
    memset(ls, 0, sizeof(ls)); /* whole entries compare equal (memcmp) */
    unsigned n = 0;
    const char *p = v;
    while (1) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (n == CONFIG_MAX_LISTEN)
            return fail(err, errlen, "more than %d listen addresses", CONFIG_MAX_LISTEN);
        int rc = parse_one_listen(p, trimmed, &ls[n], err, errlen);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < n; i++)
            if (ls[i].port && ls[i].port == ls[n].port && !strcmp(ls[i].addr, ls[n].addr))
                return fail(err, errlen, "%s port %u is listed twice", ls[n].addr, ls[n].port);
        n++;
        if (!p[len])
            break;
        p += len + 1;
    }
    memcpy(c->listen, ls, sizeof(ls));
    c->n_listen = n;
    return 0;
}

static int parse_interface(const char *v, char *out, char *err, size_t errlen)
{
    size_t n = strlen(v);
    if (n >= IF_NAMESIZE)
        return fail(err, errlen, "'%s' is longer than an interface name (%d bytes)", v,
                    IF_NAMESIZE - 1);
    for (size_t i = 0; i < n; i++)
        if (v[i] == '/' || v[i] == ':' || isspace((unsigned char)v[i]) || !isprint(v[i]))
            return fail(err, errlen, "'%s' is not an interface name", v);
    if (!strcmp(v, ".") || !strcmp(v, ".."))
        return fail(err, errlen, "'%s' is not an interface name", v);
    memset(out, 0, IF_NAMESIZE);
    memcpy(out, v, n + 1);
    return 0;
}

/* ---- the keys ---- */

static int set_listen(struct config *c, const char *v, char *e, size_t el)
{
    return parse_listen(c, v, e, el);
}
static int set_data_dir(struct config *c, const char *v, char *e, size_t el)
{
    return parse_path(v, false, c->data_dir, sizeof(c->data_dir), e, el);
}
static int set_backup_dir(struct config *c, const char *v, char *e, size_t el)
{
    return parse_path(v, true, c->backup_dir, sizeof(c->backup_dir), e, el);
}
static int set_token_ttl(struct config *c, const char *v, char *e, size_t el)
{
    return parse_uint(v, 1, 7 * 86400, &c->token_ttl, e, el);
}
static int set_cpu_allocation_ratio(struct config *c, const char *v, char *e, size_t el)
{
    return parse_ratio(v, &c->cpu_allocation_ratio, e, el);
}
static int set_ram_allocation_ratio(struct config *c, const char *v, char *e, size_t el)
{
    return parse_ratio(v, &c->ram_allocation_ratio, e, el);
}
static int set_uplink_interface(struct config *c, const char *v, char *e, size_t el)
{
    return parse_interface(v, c->uplink_interface, e, el);
}
static int set_log_level(struct config *c, const char *v, char *e, size_t el)
{
    static const char *const names[] = { "error", "info", "debug" };
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i])) {
            c->log_level = (enum config_log_level)i;
            return 0;
        }
    return fail(e, el, "'%s' is not error, info or debug", v);
}
static int set_tls(struct config *c, const char *v, char *e, size_t el)
{
    if (!strcmp(v, "auto"))
        c->tls = CONFIG_TLS_AUTO;
    else if (!strcmp(v, "on"))
        c->tls = CONFIG_TLS_ON;
    else if (!strcmp(v, "off"))
        c->tls = CONFIG_TLS_OFF;
    else
        return fail(e, el, "'%s' is not auto, on or off", v);
    return 0;
}
static int set_tls_cert(struct config *c, const char *v, char *e, size_t el)
{
    return parse_path(v, true, c->tls_cert, sizeof(c->tls_cert), e, el);
}
static int set_tls_key(struct config *c, const char *v, char *e, size_t el)
{
    return parse_path(v, true, c->tls_key, sizeof(c->tls_key), e, el);
}
static int set_plain_http_on_lan(struct config *c, const char *v, char *e, size_t el)
{
    return parse_bool(v, &c->plain_http_on_lan, e, el);
}
static int set_threads(struct config *c, const char *v, char *e, size_t el)
{
    return parse_uint(v, 0, 1024, &c->threads, e, el);
}

static int set_deleted_servers_kept(struct config *c, const char *v, char *e, size_t el)
{
    return parse_uint(v, 1, 1000000, &c->deleted_servers_kept, e, el);
}

static int set_zero_ahead_mib(struct config *c, const char *v, char *e, size_t el)
{
    return parse_uint(v, 0, 1048576, &c->zero_ahead_mib, e, el);
}

/* Every key once; the setter of key K is set_K. */
#define CONFIG_KEYS(X)                                                                     \
    X(listen)                                                                              \
    X(data_dir)                                                                            \
    X(backup_dir)                                                                          \
    X(token_ttl)                                                                           \
    X(cpu_allocation_ratio)                                                                \
    X(ram_allocation_ratio) X(uplink_interface) X(log_level) X(tls) X(tls_cert) X(tls_key) \
        X(plain_http_on_lan) X(threads) X(deleted_servers_kept) X(zero_ahead_mib)

struct key {
    const char *name;
    int (*set)(struct config *c, const char *v, char *err, size_t errlen);
};
#define KEY_ENTRY(k) { #k, set_##k },
static const struct key keys[] = { CONFIG_KEYS(KEY_ENTRY) };
#define KEY_NAME(k) #k,
const char *const config_keys[] = { CONFIG_KEYS(KEY_NAME) NULL };
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

void config_defaults(struct config *c)
{
    /* field by field after a memset: a compound literal may leave its
     * padding undefined, and tests compare configs with memcmp */
    memset(c, 0, sizeof(*c));
    /* local tools on loopback (plain HTTP), the LAN over HTTPS */
    c->n_listen = 2;
    snprintf(c->listen[0].addr, sizeof(c->listen[0].addr), "127.0.0.1");
    c->listen[0].port = 8080;
    snprintf(c->listen[1].addr, sizeof(c->listen[1].addr), "0.0.0.0");
    c->listen[1].port = 8443;
    c->token_ttl = 3600;
    c->cpu_allocation_ratio = 16.0;
    c->ram_allocation_ratio = 1.5;
    c->deleted_servers_kept = 1000;
    c->zero_ahead_mib = 256;
    c->log_level = CONFIG_LOG_INFO;
    c->tls = CONFIG_TLS_AUTO;
    if (blockstore_default_dir(c->data_dir, sizeof(c->data_dir)) < 0)
        c->data_dir[0] = '\0'; /* config_check says so */
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(key, keys[i].name)) {
            char why[CONFIG_ERR_LEN];
            int rc = keys[i].set(c, value, why, sizeof(why));
            if (rc < 0)
                fail(err, errlen, "%s: %s", key, why);
            return rc;
        }
    return fail(err, errlen, "unknown key '%s'", key);
}
