/* The dashboard's static files (assets.h), served from picostackd's memory:
 * gzip when the client accepts it, ETag revalidation (no-cache: a new
 * picostackd brings new files at once), and for the page itself a
 * Content-Security-Policy that allows only this origin's scripts, so a
 * name that got into the page as markup could still run nothing. */
#include "api/dashboard/assets.h"
#include "api/dashboard/internal.h"

#include <string.h>

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self' "
                          "'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                          "form-action 'self'";

static const struct dash_asset *find(const char *path)
{
    for (size_t i = 0; i < dash_n_assets; i++)
        if (!strcmp(dash_assets[i].path, path))
            return &dash_assets[i];
    return NULL;
}

static bool accepts_gzip(struct api_req *r)
{
    const char *ae = api_req_header(r, "Accept-Encoding");
    return ae && strstr(ae, "gzip"); /* every browser's; q=0 is not worth parsing */
}

static void serve(struct api_req *r, const struct dash_asset *a)
{
    api_reply_header(r, "ETag", a->etag);
    api_reply_header(r, "Cache-Control", "no-cache");
    api_reply_header(r, "Vary", "Accept-Encoding");
    api_reply_header(r, "X-Content-Type-Options", "nosniff");
    if (!strncmp(a->type, "text/html", 9)) {
        api_reply_header(r, "Content-Security-Policy", csp);
        api_reply_header(r, "X-Frame-Options", "DENY");
        api_reply_header(r, "Referrer-Policy", "no-referrer");
    }
    const char *inm = api_req_header(r, "If-None-Match");
    if (inm && strstr(inm, a->etag)) {
        api_reply_empty(r, 304);
        return;
    }
    if (accepts_gzip(r)) {
        api_reply_header(r, "Content-Encoding", "gzip");
        api_reply_static(r, 200, a->type, a->gz, a->gz_len);
    } else {
        api_reply_static(r, 200, a->type, a->raw, a->raw_len);
    }
}

void dash_index(struct api_req *r)
{
    const struct dash_asset *a = find("/index.html");
    if (!a) {
        api_reply_error(r, 404, "The dashboard was built without its files.");
        return;
    }
    serve(r, a);
}

void dash_static(struct api_req *r)
{
    const struct dash_asset *a = find(api_req_path(r));
    if (!a) {
        api_reply_error(r, 404, "The resource could not be found.");
        return;
    }
    serve(r, a);
}
