/* The dashboard service: /dashboard on picostackd's own port (internal.h).
 * Routes:
 *   GET    /dashboard[/]             the single page (index.html)
 *   GET    /dashboard/{file...}      static files (compiled in, gzip when
 *                                    accepted, ETag revalidation)
 *   GET    /dashboard/api/session    who the cookie's token is, and its
 *                                    CSRF token (401 without a valid one)
 *   POST   /dashboard/api/session    X-Auth-Token -> the session cookie
 *   PUT    /dashboard/api/session    {"project_id"}: the project switcher
 *                                    (rescopes the token, revokes the old)
 *   DELETE /dashboard/api/session    logout: revokes the token, clears
 *                                    the cookie (needs the CSRF header)
 *   GET    /dashboard/api/summary    host CPU, memory, block store */
#include "api/dashboard/internal.h"

#include <errno.h>
#include <stdlib.h>

static int dash_init(struct api_server *srv, void **state)
{
    struct dash_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    crypto_generichash_keygen(st->key);
    st->srv = srv;
    int rc = api_server_set_cookie_auth(srv, dash_cookie_auth, st);
    if (rc) {
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void dash_fini(void *state)
{
    if (state)
        sodium_memzero(state, sizeof(struct dash_state));
    free(state);
}

static const struct api_route routes[] = {
    { "GET", "/api/session", dash_session_show, API_PUBLIC },
    { "POST", "/api/session", dash_session_create, 0 },
    { "PUT", "/api/session", dash_session_switch, 0 },
    { "DELETE", "/api/session", dash_session_delete, 0 },
    { "GET", "/api/summary", dash_summary, 0 },
    { "GET", "", dash_index, API_PUBLIC },
    { "GET", "/{*}", dash_static, API_PUBLIC },
};

static const char *const depends[] = { "identity", NULL };

const struct api_service api_dashboard_service = {
    .name = "dashboard",
    .prefix = "/dashboard",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_keystone,
    .needs = API_NEEDS_IDENTITY,
    .depends = depends,
    .init = dash_init,
    .fini = dash_fini,
};
