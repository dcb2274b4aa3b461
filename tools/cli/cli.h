/* picostack: the command-line client. Shared declarations of its files:
 *   main.c      options, OS_* variables and --rc files, dispatch
 *   http.c      libcurl requests, JSON bodies, error messages
 *   auth.c      token from OS_AUTH_URL/v3/auth/tokens, service catalog
 *   output.c    tables, -f json, -f value, -c columns
 *   identity.c  token issue, project/user/role commands
 *   image.c     image commands
 *   volume.c    volume, snapshot, backup and type commands
 *   transfer.c  streamed image upload and download
 *   compute.c   compute requests (microversion), flavor/server/network lookups
 *   flavor.c    flavor commands
 *   keypair.c   keypair commands
 *   server.c    server create/list/show/delete, --wait
 *   server_action.c  server start/stop/reboot/console/attach/detach
 */
#ifndef PICOSTACK_TOOLS_CLI_H
#define PICOSTACK_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <curl/curl.h>
#include <jansson.h>

#include "tools/common/progress.h"

enum out_format { OUT_TABLE, OUT_JSON, OUT_VALUE };

struct cli {
    CURL *curl;
    bool debug;
    enum out_format format;
    const char *columns[16]; /* -c COL, repeatable */
    size_t ncolumns;
    char *token;             /* X-Subject-Token */
    json_t *token_body;      /* the "token" object */
    const char *api_version; /* "OpenStack-API-Version" value, while set */
};

/* ---- http.c ---- */
struct http_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *subject_token; /* X-Subject-Token header, if any */
    char *content_md5;   /* Content-MD5 header, if any */
};

void http_resp_free(struct http_resp *r);
/* A request with an optional JSON body (content_type defaults to
 * application/json). Returns 0 when a response came back (any status),
 * -1 on a transport error (printed). */
int http_json(struct cli *c, const char *method, const char *url, json_t *body,
              const char *content_type, struct http_resp *r);
/* The server's error message from a response body (JSON in any of the
 * OpenStack shapes, or the text itself), into buf. */
const char *http_error_message(const struct http_resp *r, char *buf, size_t len);
/* Print "picostack: <what>: <server message> (HTTP n)" to stderr. */
int http_fail(const char *what, const struct http_resp *r);
/* Decode the body as JSON; NULL (printed) if it is not. */
json_t *http_body_json(const struct http_resp *r);
/* Percent-encode s for a query string (static buffer per call site: copy). */
char *http_escape(struct cli *c, const char *s);
/* Appends "&key=value" (value percent-encoded) to the query string q of
 * size len; nothing when value is NULL. */
void http_query_add(struct cli *c, char *q, size_t len, const char *key, const char *value);
void http_common_headers(struct cli *c, struct curl_slist **h);
/* Resets the handle for a request to url with headers h (and --debug's
 * verbosity); the caller adds the method, body and callbacks. */
void http_setup(struct cli *c, const char *url, struct curl_slist *h);
/* A request answered with JSON: the decoded body (an empty object for an
 * empty 2xx body) when the status is 2xx; else NULL, the server's message
 * printed as "<what>: ..." unless quiet404 and the status is 404. *status
 * (may be NULL) gets the status when a response came. */
json_t *http_call(struct cli *c, const char *method, const char *url, json_t *body,
                  const char *content_type, const char *what, bool quiet404, long *status);
/* CURLOPT_WRITEFUNCTION collecting a body into a http_resp, up to about
 * HTTP_BODY_MAX bytes (the rest is dropped: a hostile server cannot make it
 * grow without end). */
#define HTTP_BODY_MAX (64u << 20)
size_t http_collect_body(char *data, size_t size, size_t n, void *ud);
/* CURLOPT_HEADERFUNCTION filling a struct http_resp's headers. */
size_t http_on_header(char *line, size_t size, size_t n, void *ud);

/* ---- auth.c ---- */
/* Authenticate with the OS_* variables. 0 or -1 (printed). */
int auth_login(struct cli *c);
/* The public URL of a service type from the catalog, without a trailing
 * slash (a new string), or NULL (printed). */
char *auth_endpoint(struct cli *c, const char *type);
const char *env_or(const char *name, const char *fallback);

/* ---- output.c ---- */
/* One object as a Field/Value table (keys sorted), or JSON, or values. */
void out_show(struct cli *c, json_t *obj);
/* Rows: headings[i] is the column title, keys[i] the field read from
 * each row object. */
void out_list(struct cli *c, json_t *rows, const char *const *headings, const char *const *keys,
              size_t ncols);

/* ---- transfer.c ---- */
/* The image service's v2 root (…/image/v2) followed by path, a new
 * string, or NULL (printed). */
char *image_url(struct cli *c, const char *path);
int image_upload(struct cli *c, const char *id, const char *file);
int image_download(struct cli *c, json_t *img, const char *file);

/* ---- compute.c ---- */
/* The compute microversion every compute request asks for (2.37: --nic
 * none|auto, the newest the server side promises). */
#define COMPUTE_MICROVERSION "2.37"
/* A JSON request to path under the compute root (…/compute/v2.1), with
 * the microversion headers; consumes body. As http_call otherwise. */
json_t *compute_call(struct cli *c, const char *method, const char *path, json_t *body,
                     const char *what, bool quiet404, long *status);
/* A JSON request to path under the network root (…/v2.0). */
json_t *network_call(struct cli *c, const char *method, const char *path, const char *what,
                     bool quiet404, long *status);
/* A flavor, server or network by id, or else by name (exactly one); NULL
 * (printed) if none. */
json_t *find_flavor(struct cli *c, const char *ref);
json_t *find_server(struct cli *c, const char *ref);
json_t *find_network(struct cli *c, const char *ref);
/* The volume by id or name (volume.c). */
json_t *find_volume(struct cli *c, const char *ref);
/* "net1=10.0.0.5, 192.0.2.7; net2=..." from a server's addresses. */
char *format_addresses(json_t *addresses);
/* Reads a whole file (at most max bytes) into a new NUL-terminated
 * buffer; NULL (printed) on error. */
char *read_small_file(const char *path, size_t max, size_t *len);
/* --property k=v options into an object; -1 (printed) on a malformed one. */
int take_properties(int *argc, char **argv, json_t *into);

/* ---- commands: each returns the process exit status ---- */
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_project(struct cli *c, int argc, char **argv);
int cmd_user(struct cli *c, int argc, char **argv);
int cmd_role(struct cli *c, int argc, char **argv);
int cmd_image(struct cli *c, int argc, char **argv);
int cmd_volume(struct cli *c, int argc, char **argv);
int cmd_flavor(struct cli *c, int argc, char **argv);
int cmd_keypair(struct cli *c, int argc, char **argv);
int cmd_server(struct cli *c, int argc, char **argv);
/* server.c, for server_action.c: poll a server until its status is one
 * of the '|'-separated targets (or, with "DELETED", until it is gone);
 * a progress line on stderr. 0, or 1 (printed) on ERROR or timeout. */
int server_wait(struct cli *c, const char *id, const char *targets, double timeout_s);
int server_action(struct cli *c, int argc, char **argv, const char *verb);
/* An image by id, or else by name (exactly one); NULL (printed) if none. */
json_t *find_image(struct cli *c, const char *ref);

/* A usage error: print and return 2. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Simple option scanning for subcommands: returns the value of --name
 * (removing both words from argv), or NULL. */
const char *take_opt(int *argc, char **argv, const char *name);
bool take_flag(int *argc, char **argv, const char *name);

#endif
