/* Where values come from (the file, the environment) and the checks that
 * hold between keys. */
#include "core/config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 4096

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* The value part of a line: a quoted string, or text up to " #". */
static int line_value(char *v, char **out, const char **why)
{
    v = trim(v);
    if (*v == '"') {
        char *close = strchr(v + 1, '"');
        if (!close) {
            *why = "the value's closing quote is missing";
            return -EINVAL;
        }
        char *rest = trim(close + 1);
        if (*rest && *rest != '#') {
            *why = "text after the quoted value";
            return -EINVAL;
        }
        *close = '\0';
        *out = v + 1;
        return 0;
    }
    for (char *p = v; *p; p++)
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    *out = trim(v);
    return 0;
}

static bool key_chars_ok(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
            return false;
    return true;
}

/* One line of the file: 0 (applied or blank), or -EINVAL with err set to
 * "path:lineno: ...". */
static int load_line(struct config *c, char *line, const char *path, unsigned lineno, char *err,
                     size_t errlen)
{
    char *s = trim(line);
    if (!*s || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(err, errlen, -EINVAL, "%s:%u: not 'key = value': '%.80s'", path, lineno, s);
    *eq = '\0';
    char *key = trim(s), *value;
    const char *why;
    if (!key_chars_ok(key))
        return fail(err, errlen, -EINVAL, "%s:%u: '%.80s' is not a key name", path, lineno, key);
    if (line_value(eq + 1, &value, &why) < 0)
        return fail(err, errlen, -EINVAL, "%s:%u: %s: %s", path, lineno, key, why);
    char msg[CONFIG_ERR_LEN];
    int rc = config_set(c, key, value, msg, sizeof(msg));
    if (rc < 0)
        return fail(err, errlen, rc, "%s:%u: %s", path, lineno, msg);
    return 0;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    ssize_t n;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > MAX_LINE)
            rc = fail(err, errlen, -EINVAL, "%s:%u: line longer than %d bytes", path, lineno,
                      MAX_LINE);
        else if (memchr(line, '\0', (size_t)n))
            rc = fail(err, errlen, -EINVAL, "%s:%u: a NUL byte in the line", path, lineno);
        else
            rc = load_line(c, line, path, lineno, err, errlen);
    }
    if (!rc && ferror(f))
        rc = fail(err, errlen, -EIO, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

int config_load_env(struct config *c, char *err, size_t errlen)
{
    char name[64], msg[CONFIG_ERR_LEN];
    const char *old = getenv("PICOSTACK_DATA"); /* the name quickstart and tests use */
    if (old && *old && config_set(c, "data_dir", old, msg, sizeof(msg)) < 0)
        return fail(err, errlen, -EINVAL, "PICOSTACK_DATA: %s", msg);
    for (const char *const *k = config_keys; *k; k++) {
        int n = snprintf(name, sizeof(name), "PICOSTACK_");
        for (const char *p = *k; *p && n < (int)sizeof(name) - 1; p++)
            name[n++] = (char)toupper((unsigned char)*p);
        name[n] = '\0';
        const char *v = getenv(name);
        if (!v || !*v)
            continue;
        if (config_set(c, *k, v, msg, sizeof(msg)) < 0)
            return fail(err, errlen, -EINVAL, "%s: %s", name, msg);
    }
    return 0;
}

bool config_listen_is_loopback(const struct config_listen *l)
{
    if (l->ipv6)
        return !strcmp(l->addr, "::1");
    struct in_addr a;
    return inet_pton(AF_INET, l->addr, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool config_listen_uses_tls(const struct config *c, const struct config_listen *l)
{
    switch (c->tls) {
    case CONFIG_TLS_ON: return true;
    case CONFIG_TLS_OFF: return false;
    default: return !config_listen_is_loopback(l);
    }
}

int config_check(const struct config *c, char *err, size_t errlen)
{
    if (!c->data_dir[0])
        return fail(err, errlen, -EINVAL, "data_dir: not set (no home directory for a default)");
    if (!c->n_listen)
        return fail(err, errlen, -EINVAL, "listen: no address");
    if (!c->tls_cert[0] != !c->tls_key[0])
        return fail(err, errlen, -EINVAL, "tls_cert and tls_key go together (one is set)");
    for (unsigned i = 0; i < c->n_listen; i++) {
        const struct config_listen *l = &c->listen[i];
        if (!config_listen_uses_tls(c, l) && !config_listen_is_loopback(l) && !c->plain_http_on_lan)
            return fail(err, errlen, -EINVAL,
                        "listen: %s%s%s:%u would serve plain HTTP beyond this host (tls = off); "
                        "set plain_http_on_lan = yes to allow it",
                        l->ipv6 ? "[" : "", l->addr, l->ipv6 ? "]" : "", l->port);
    }
    return 0;
}
