/* Replies and the per-service error shapes. */
#include "api/http/internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_reply_header(struct api_req *r, const char *name, const char *value)
{
    if (r->n_headers == API_MAX_EXTRA_HEADERS)
        return;
    r->headers[r->n_headers].name = strdup(name);
    r->headers[r->n_headers].value = strdup(value);
    r->n_headers++;
}

static void finish(struct api_req *r, int status, struct MHD_Response *resp,
                   const char *content_type)
{
    if (!resp) {
        fprintf(stderr, "picostackd: out of memory building a reply\n");
        return;
    }
    if (r->resp) { /* a handler bug: keep the first reply */
        fprintf(stderr, "picostackd: second reply to %s %s dropped\n", r->method, r->url);
        MHD_destroy_response(resp);
        return;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    bool has_id = false; /* every response carries one; a handler's own wins */
    for (unsigned i = 0; i < r->n_headers; i++)
        if (r->headers[i].name && r->headers[i].value) {
            MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
            has_id |= !strcasecmp(r->headers[i].name, "X-Openstack-Request-Id");
        }
    if (!has_id)
        MHD_add_response_header(resp, "X-Openstack-Request-Id", r->req_id);
    r->status = status;
    r->resp = resp;
}

void api_reply_mhd(struct api_req *r, int status, struct MHD_Response *resp)
{
    finish(r, status, resp, NULL);
}

void api_reply_json(struct api_req *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        text = strdup("{}");
        status = 500;
        if (!text)
            return;
    }
    finish(r, status, MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE),
           "application/json");
}

void api_reply_json_text(struct api_req *r, int status, const char *text, size_t len)
{
    finish(r, status, MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY),
           "application/json");
}

void api_reply_empty(struct api_req *r, int status)
{
    finish(r, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), NULL);
}

void api_reply_text(struct api_req *r, int status, const char *content_type, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return;
    finish(r, status, MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE),
           content_type);
}

void api_reply_static(struct api_req *r, int status, const char *content_type, const void *data,
                      size_t len)
{
    finish(r, status, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT),
           content_type);
}

struct stream_ctx {
    api_read_fn read;
    void (*done)(void *);
    void *ctx;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_ctx *s = cls;
    long n = s->read(s->ctx, pos, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void stream_free(void *cls)
{
    struct stream_ctx *s = cls;
    if (s->done)
        s->done(s->ctx);
    free(s);
}

void api_reply_stream(struct api_req *r, int status, const char *content_type, uint64_t size,
                      api_read_fn read, void (*done)(void *ctx), void *ctx)
{
    struct stream_ctx *s = malloc(sizeof(*s));
    if (!s) {
        if (done)
            done(ctx);
        return;
    }
    *s = (struct stream_ctx){ read, done, ctx };
    finish(r, status,
           MHD_create_response_from_callback(size == UINT64_MAX ? MHD_SIZE_UNKNOWN : size,
                                             256 * 1024, stream_read, s, stream_free),
           content_type);
}

void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->svc && r->svc->error)
        r->svc->error(r, status, msg);
    else
        api_error_keystone(r, status, msg);
}

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void api_error_keystone(struct api_req *r, int status, const char *message)
{
    api_reply_json(r, status,
                   json_pack("{s:{s:i, s:s, s:s}}", "error", "code", status, "title",
                             reason(status), "message", message));
}

/* Nova and Cinder name the body after the fault. */
void api_error_nova(struct api_req *r, int status, const char *message)
{
    const char *kind = status == 400   ? "badRequest"
                       : status == 401 ? "unauthorized"
                       : status == 403 ? "forbidden"
                       : status == 404 ? "itemNotFound"
                       : status == 409 ? "conflictingRequest"
                       : status == 413 ? "overLimit"
                       : status == 405 ? "methodNotAllowed"
                                       : "computeFault";
    api_reply_json(r, status,
                   json_pack("{s:{s:i, s:s}}", kind, "code", status, "message", message));
}

void api_error_neutron(struct api_req *r, int status, const char *message)
{
    const char *type = status == 400   ? "BadRequest"
                       : status == 401 ? "NotAuthorized"
                       : status == 403 ? "PolicyNotAuthorized"
                       : status == 404 ? "NotFound"
                       : status == 409 ? "Conflict"
                       : status == 413 ? "RequestTooLarge"
                                       : "InternalError";
    api_reply_json(r, status,
                   json_pack("{s:{s:s, s:s, s:s}}", "NeutronError", "type", type, "message",
                             message, "detail", ""));
}

/* Glance (webob) answers errors as a small HTML-ish text; clients print it. */
void api_error_glance(struct api_req *r, int status, const char *message)
{
    char body[700];
    snprintf(body, sizeof(body),
             "<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n"
             "  <h1>%d %s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
             status, reason(status), status, reason(status), message);
    api_reply_text(r, status, "text/html; charset=UTF-8", body);
}

int api_bool_word(const char *v)
{
    static const char *const yes[] = { "true", "yes", "on", "y", "t", "1" };
    static const char *const no[] = { "false", "no", "off", "n", "f", "0" };
    for (size_t i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcasecmp(v, yes[i]))
            return 1;
        if (!strcasecmp(v, no[i]))
            return 0;
    }
    return -1;
}
