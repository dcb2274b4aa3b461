/* Tests against a real picostackd: the daemon on 127.0.0.1 (a free port, a
 * temporary data dir) and a real libcurl client. Used by every C test suite
 * that talks HTTP to picostackd (tests/integration/api, .../images). */
#ifndef PICOSTACK_TEST_PICOSTACKD_HARNESS_H
#define PICOSTACK_TEST_PICOSTACKD_HARNESS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

struct picostackd {
    char bin[512];     /* the picostackd binary */
    char bin_dir[512]; /* its folder (build/bin), for the other tools */
    char dir[256];     /* data dir */
    char log[264];     /* <dir>.log: the daemon's stdout and stderr */
    unsigned port;
    pid_t pid;
    char base[64];            /* http://127.0.0.1:PORT */
    char admin_password[512]; /* admin's, from admin-openrc */
};

/* Starts bin on a new temporary data dir (see t_mkdtemp) with extra
 * arguments (NULL-terminated, may be NULL); ready once /healthcheck answers
 * 200 and the admin password is known. 0 or -errno. */
int picostackd_start(struct picostackd *d, const char *bin, const char *const *extra);
/* Starts again on the same dir and port. */
int picostackd_restart(struct picostackd *d, const char *const *extra);
/* Sends sig and waits; returns the exit status, or 128+signal. */
int picostackd_stop(struct picostackd *d, int sig);
/* Stops a running daemon with SIGTERM and CHECKs its clean exit (so that
 * ASan's leak check in the daemon counts), prints the log when a check
 * failed, removes the data dir and the log. */
void picostackd_cleanup(struct picostackd *d);

struct resp {
    long status;
    char *body;
    size_t len;
    json_t *json; /* parsed body or NULL */
    char subject_token[1024];
    char request_id[64];
    char www_auth[200];
    char content_md5[64];
    char content_range[96];
    char location[512];
};
void resp_free(struct resp *r);

/* One request. token (X-Auth-Token), ctype, body and headers (extra header
 * lines, NULL-terminated) may be NULL; with a body and no ctype the
 * Content-Type is JSON. 0, or -EIO when no HTTP answer came. */
int http_req_h(struct picostackd *d, const char *method, const char *path, const char *token,
               const char *ctype, const char *body, const char *const *headers, struct resp *out);
int http_req(struct picostackd *d, const char *method, const char *path, const char *token,
             const char *ctype, const char *body, struct resp *out);
/* A JSON request (Content-Type: application/json even without a body). */
int http(struct picostackd *d, const char *method, const char *path, const char *token,
         const char *body, struct resp *out);

/* The status of one request (as http_req), or -1 when no answer came. */
long http_status(struct picostackd *d, const char *method, const char *path, const char *token,
                 const char *ctype, const char *body);

/* A JSON request with one optional extra header line (e.g. a microversion):
 * returns the status (0 when no answer came); the response goes to *out
 * when out is given (the caller frees it), else it is freed. */
long http_call(struct picostackd *d, const char *token, const char *method, const char *path,
               const char *body, const char *header, struct resp *out);

/* For requests the helpers above do not cover (streamed uploads and
 * downloads): a handle set up as http_req_h sets it up (URL, method,
 * headers, the body and the headers read into out; ctype only if given),
 * for the caller to adjust; NULL when out of memory. http_perform runs it,
 * fills out->status (and out->json), frees the handle; 0 or -EIO. */
CURL *http_prepare(struct picostackd *d, const char *method, const char *path, const char *token,
                   const char *ctype, const char *const *headers, struct resp *out);
int http_perform(CURL *c, struct resp *out);

/* Password login: returns a malloc'd token or NULL. project may be NULL. */
char *login(struct picostackd *d, const char *user, const char *password, const char *project);
char *admin_login(struct picostackd *d);

/* Creates an entity; returns its id (malloc'd) or NULL. */
char *create_project(struct picostackd *d, const char *tok, const char *name);
char *create_user(struct picostackd *d, const char *tok, const char *name, const char *pw);
char *find_role(struct picostackd *d, const char *tok, const char *name);
/* Grants role r to user u on project p; returns the HTTP status. */
int grant(struct picostackd *d, const char *tok, const char *p, const char *u, const char *r);

/* The string member key of o, or NULL. */
const char *jstr(json_t *o, const char *key);

#endif
