/* HTTP with libcurl: one handle for the whole run (keep-alive), JSON
 * bodies in and out, and the server's own error messages. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_resp_free(struct http_resp *r)
{
    free(r->body);
    free(r->subject_token);
    free(r->content_md5);
    memset(r, 0, sizeof *r);
}

size_t http_collect_body(char *data, size_t size, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t len = size * n;
    if (r->len > HTTP_BODY_MAX)
        return len; /* past the bound: drop the rest */
    char *b = realloc(r->body, r->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, data, len);
    r->len += len;
    b[r->len] = '\0';
    r->body = b;
    return len;
}

/* "Name: value\r\n" -> a new trimmed value if the name matches. */
static char *header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    return strndup(v, (size_t)(end - v));
}

size_t http_on_header(char *line, size_t size, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t len = size * n;
    char *v;
    if ((v = header_value(line, len, "X-Subject-Token"))) {
        free(r->subject_token);
        r->subject_token = v;
    } else if ((v = header_value(line, len, "Content-MD5"))) {
        free(r->content_md5);
        r->content_md5 = v;
    }
    return len;
}

void http_common_headers(struct cli *c, struct curl_slist **h)
{
    *h = curl_slist_append(*h, "User-Agent: picostack-cli/1");
    if (c->token) {
        char line[4096];
        snprintf(line, sizeof line, "X-Auth-Token: %s", c->token);
        *h = curl_slist_append(*h, line);
    }
    if (c->api_version) {
        char line[256];
        snprintf(line, sizeof line, "OpenStack-API-Version: %s", c->api_version);
        *h = curl_slist_append(*h, line);
    }
}

void http_setup(struct cli *c, const char *url, struct curl_slist *h)
{
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_VERBOSE, c->debug ? 1L : 0L);
    /* HTTPS: the CA the openstack CLI is given too (picostackd's own, in
     * admin-openrc); else the system's. */
    const char *ca = getenv("OS_CACERT");
    if (ca && *ca)
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, ca);
}

int http_json(struct cli *c, const char *method, const char *url, json_t *body,
              const char *content_type, struct http_resp *r)
{
    memset(r, 0, sizeof *r);
    char *text = NULL;
    struct curl_slist *h = NULL;
    http_common_headers(c, &h);
    h = curl_slist_append(h, "Accept: application/json");
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 content_type ? content_type : "application/json");
        h = curl_slist_append(h, ct);
    }
    http_setup(c, url, h);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    if (text) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_collect_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, r);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    free(text);
    if (rc != CURLE_OK) {
        fprintf(stderr, "picostack: %s %s: %s\n", method, url, curl_easy_strerror(rc));
        http_resp_free(r);
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
    return 0;
}

json_t *http_call(struct cli *c, const char *method, const char *url, json_t *body,
                  const char *content_type, const char *what, bool quiet404, long *status)
{
    struct http_resp r;
    if (http_json(c, method, url, body, content_type, &r) < 0)
        return NULL;
    if (status)
        *status = r.status;
    json_t *j = NULL;
    if (r.status >= 200 && r.status < 300)
        j = r.len ? http_body_json(&r) : json_object();
    else if (!(quiet404 && r.status == 404))
        http_fail(what, &r);
    http_resp_free(&r);
    return j;
}

/* Look for a "message" (or Glance's "explanation") in obj or one level
 * down: Keystone {"error":{...}}, Nova/Cinder {"itemNotFound":{...}},
 * Neutron {"NeutronError":{...}}, Glance {"message":...}. */
static const char *find_message(json_t *obj, int depth)
{
    if (!json_is_object(obj))
        return NULL;
    const char *m = json_string_value(json_object_get(obj, "message"));
    if (!m)
        m = json_string_value(json_object_get(obj, "explanation"));
    if (m || depth > 0)
        return m;
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v)
        if ((m = find_message(v, depth + 1)))
            return m;
    return NULL;
}

const char *http_error_message(const struct http_resp *r, char *buf, size_t len)
{
    buf[0] = '\0';
    if (r->body && r->len) {
        json_t *j = json_loadb(r->body, r->len, 0, NULL);
        const char *m = find_message(j, 0);
        const char *h1 = strstr(r->body, "</h1>");
        if (m) {
            snprintf(buf, len, "%s", m);
        } else if (h1) {
            /* Glance's HTML error page: the message follows the heading. */
            h1 += 5;
            h1 += strspn(h1, " \t\r\n");
            snprintf(buf, len, "%.*s", (int)strcspn(h1, "<"), h1);
        } else {
            snprintf(buf, len, "%.*s", (int)(r->len > 300 ? 300 : r->len), r->body);
        }
        json_decref(j);
        /* Keep one line. */
        for (char *p = buf; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    if (!buf[0])
        snprintf(buf, len, "no message");
    return buf;
}

int http_fail(const char *what, const struct http_resp *r)
{
    char msg[512];
    fprintf(stderr, "picostack: %s: %s (HTTP %ld)\n", what, http_error_message(r, msg, sizeof msg),
            r->status);
    return 1;
}

json_t *http_body_json(const struct http_resp *r)
{
    json_error_t e;
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, &e) : NULL;
    if (!j)
        fprintf(stderr, "picostack: the server's answer is not JSON (HTTP %ld)\n", r->status);
    return j;
}

char *http_escape(struct cli *c, const char *s)
{
    return curl_easy_escape(c->curl, s, 0);
}

void http_query_add(struct cli *c, char *q, size_t len, const char *key, const char *value)
{
    if (!value)
        return;
    char *e = http_escape(c, value);
    size_t at = strlen(q);
    if (e && at < len)
        snprintf(q + at, len - at, "&%s=%s", key, e);
    curl_free(e);
}
