/* Private to api/dashboard/: the web dashboard served at /dashboard
 * (service.c).  The browser talks to the same OpenStack APIs the CLI uses;
 * this service adds only what a browser needs: the static files
 * (static.c), a login session kept in a cookie with its CSRF token
 * (session.c) and one summary for the overview (summary.c). */
#ifndef PICOSTACK_API_DASHBOARD_INTERNAL_H
#define PICOSTACK_API_DASHBOARD_INTERNAL_H

#include <sodium.h>

#include "api/http/http.h"

/* The session cookie (HttpOnly, SameSite=Strict, Path=/, Secure on TLS)
 * holds the Keystone token; every request the dashboard makes with it
 * carries DASH_CSRF_HEADER, a MAC of that token under the process's key
 * (a form, or a page of another site, cannot send the header or know its
 * value). */
#define DASH_COOKIE      "picostack_session"
#define DASH_CSRF_HEADER "X-Dashboard-CSRF"
#define DASH_CSRF_HEX    32

struct dash_state {
    unsigned char key[crypto_generichash_KEYBYTES];
    struct api_server *srv;
};

/* session.c */
/* The CSRF token of a token text (hex, NUL-ended). */
void dash_csrf_of(const struct dash_state *st, const char *token, char out[DASH_CSRF_HEX + 1]);
/* The cookie's token text from the request's Cookie header: true, or false
 * when there is none (or it is too long). */
bool dash_cookie_token(struct api_req *r, char token[IDENTITY_TOKEN_MAX]);
/* api_cookie_auth_fn: the cookie's token, only with a matching CSRF header. */
bool dash_cookie_auth(struct api_req *r, void *ctx, char token[IDENTITY_TOKEN_MAX]);
void dash_session_show(struct api_req *r);
void dash_session_create(struct api_req *r);
void dash_session_switch(struct api_req *r);
void dash_session_delete(struct api_req *r);

/* static.c */
void dash_static(struct api_req *r);
void dash_index(struct api_req *r);

/* summary.c */
void dash_summary(struct api_req *r);

#endif
