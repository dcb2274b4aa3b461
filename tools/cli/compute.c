/* What the flavor, keypair and server commands share: compute requests at
 * a fixed microversion, network requests, lookups by id or name (as the
 * openstack CLI resolves them), address formatting and small files. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *service_call(struct cli *c, const char *type, const char *prefix, const char *method,
                            const char *path, json_t *body, const char *what, bool quiet404,
                            long *status)
{
    char *base = auth_endpoint(c, type), *url = NULL;
    if (base && asprintf(&url, "%s%s%s", base, prefix, path) < 0)
        url = NULL;
    free(base);
    json_t *j = url ? http_call(c, method, url, body, NULL, what, quiet404, status) : NULL;
    free(url);
    json_decref(body);
    return j;
}

json_t *compute_call(struct cli *c, const char *method, const char *path, json_t *body,
                     const char *what, bool quiet404, long *status)
{
    c->api_version = "compute " COMPUTE_MICROVERSION;
    json_t *j = service_call(c, "compute", "", method, path, body, what, quiet404, status);
    c->api_version = NULL;
    return j;
}

json_t *network_call(struct cli *c, const char *method, const char *path, const char *what,
                     bool quiet404, long *status)
{
    /* The catalog's network endpoint is the service root; the API is v2.0. */
    return service_call(c, "network", "/v2.0", method, path, NULL, what, quiet404, status);
}

/* One of json's "coll" array whose name is ref, or NULL (printed). */
static json_t *only_named(json_t *j, const char *coll, const char *kind, const char *ref)
{
    json_t *list = json_object_get(j, coll), *o = NULL, *e;
    size_t i, n = 0;
    json_array_foreach (list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (name && strcmp(name, ref) == 0) {
            n++;
            if (!o)
                o = e;
        }
    }
    if (!j)
        return NULL;
    if (n == 0) {
        fprintf(stderr, "picostack: No %s with a name or ID of '%s' exists.\n", kind, ref);
        return NULL;
    }
    if (n > 1) {
        fprintf(stderr, "picostack: More than one %s exists with the name '%s'.\n", kind, ref);
        return NULL;
    }
    return json_incref(o);
}

json_t *find_flavor(struct cli *c, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/flavors/%s", esc);
    curl_free(esc);
    long status = 0;
    json_t *j = compute_call(c, "GET", path, NULL, "flavor lookup", true, &status);
    if (j || status != 404) {
        json_t *f = json_incref(json_object_get(j, "flavor"));
        json_decref(j);
        return f;
    }
    /* Public and private flavors alike (an admin sees both). */
    j = compute_call(c, "GET", "/flavors/detail?is_public=None", NULL, "flavor lookup", false,
                     NULL);
    json_t *f = only_named(j, "flavors", "flavor", ref);
    json_decref(j);
    return f;
}

/* ref as an anchored POSIX extended regular expression matching only
 * itself (Nova's name filter is a regular expression). */
static char *anchored(const char *ref)
{
    char *re = malloc(2 * strlen(ref) + 3), *p = re;
    if (!re)
        return NULL;
    *p++ = '^';
    for (; *ref; ref++) {
        if (strchr(".^$*+?()[]{}|\\", *ref))
            *p++ = '\\';
        *p++ = *ref;
    }
    *p++ = '$';
    *p = '\0';
    return re;
}

json_t *find_server(struct cli *c, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/servers/%s", esc);
    long status = 0;
    json_t *j = compute_call(c, "GET", path, NULL, "server lookup", true, &status);
    if (j || status != 404) {
        curl_free(esc);
        json_t *s = json_incref(json_object_get(j, "server"));
        json_decref(j);
        return s;
    }
    /* The name filter is a regular expression in Nova: one that matches
     * only ref; then the exact matches are kept. */
    curl_free(esc);
    char *re = anchored(ref);
    esc = re ? http_escape(c, re) : NULL;
    free(re);
    if (!esc)
        return NULL;
    snprintf(path, sizeof path, "/servers/detail?name=%s", esc);
    curl_free(esc);
    j = compute_call(c, "GET", path, NULL, "server lookup", false, NULL);
    json_t *s = only_named(j, "servers", "server", ref);
    json_decref(j);
    return s;
}

json_t *find_network(struct cli *c, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/networks/%s", esc);
    long status = 0;
    json_t *j = network_call(c, "GET", path, "network lookup", true, &status);
    if (j || status != 404) {
        curl_free(esc);
        json_t *n = json_incref(json_object_get(j, "network"));
        json_decref(j);
        return n;
    }
    snprintf(path, sizeof path, "/networks?name=%s", esc);
    curl_free(esc);
    j = network_call(c, "GET", path, "network lookup", false, NULL);
    json_t *n = only_named(j, "networks", "network", ref);
    json_decref(j);
    return n;
}

/* Appends "s" to a growing string. */
static void append(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *b = realloc(*buf, *len + n + 1);
    if (!b)
        return;
    memcpy(b + *len, s, n + 1);
    *buf = b;
    *len += n;
}

char *format_addresses(json_t *addresses)
{
    char *out = strdup("");
    size_t len = 0, i;
    const char *net;
    json_t *list, *a;
    bool first_net = true;
    if (!out)
        return NULL;
    json_object_foreach (addresses, net, list) {
        if (!first_net)
            append(&out, &len, "; ");
        first_net = false;
        append(&out, &len, net);
        append(&out, &len, "=");
        json_array_foreach (list, i, a) {
            if (i)
                append(&out, &len, ", ");
            const char *addr = json_string_value(json_object_get(a, "addr"));
            append(&out, &len, addr ? addr : "?");
        }
    }
    return out;
}

char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "picostack: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err || n > max) {
        fprintf(stderr, "picostack: %s: %s\n", path, !buf || err ? "cannot read it" : "too big");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
