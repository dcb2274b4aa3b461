/* The login session of the dashboard (internal.h).  The browser logs in
 * with Keystone itself (POST /identity/v3/auth/tokens: its password
 * checks, lockout, rate limit and messages) and at once hands the token
 * to POST /dashboard/api/session, which puts it in an HttpOnly cookie and
 * answers the CSRF token; the page keeps no token.  From then on the
 * framework accepts the cookie in place of X-Auth-Token, but only on
 * requests that carry the matching CSRF header (dash_cookie_auth), so a
 * cross-site form or fetch (which cannot set that header) is refused 401
 * even where a browser would send the cookie. */
#include "api/dashboard/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void dash_csrf_of(const struct dash_state *st, const char *token, char out[DASH_CSRF_HEX + 1])
{
    unsigned char mac[DASH_CSRF_HEX / 2];
    crypto_generichash(mac, sizeof mac, (const unsigned char *)token, strlen(token), st->key,
                       sizeof st->key);
    sodium_bin2hex(out, DASH_CSRF_HEX + 1, mac, sizeof mac);
}

bool dash_cookie_token(struct api_req *r, char token[IDENTITY_TOKEN_MAX])
{
    const char *c = api_req_header(r, "Cookie");
    static const char name[] = DASH_COOKIE "=";
    for (const char *p = c; p && *p;) {
        p += strspn(p, " ;");
        size_t n = strcspn(p, ";");
        if (n > sizeof name - 1 && !strncmp(p, name, sizeof name - 1)) {
            size_t len = n - (sizeof name - 1);
            if (len >= IDENTITY_TOKEN_MAX)
                return false;
            memcpy(token, p + sizeof name - 1, len);
            token[len] = 0;
            return true;
        }
        p += n;
    }
    return false;
}

bool dash_cookie_auth(struct api_req *r, void *ctx, char token[IDENTITY_TOKEN_MAX])
{
    const char *sent = api_req_header(r, DASH_CSRF_HEADER);
    if (!sent || strlen(sent) != DASH_CSRF_HEX || !dash_cookie_token(r, token))
        return false;
    char want[DASH_CSRF_HEX + 1];
    dash_csrf_of(ctx, token, want);
    return sodium_memcmp(want, sent, DASH_CSRF_HEX) == 0;
}

/* "Set-Cookie" for value (NULL: clear it). */
static void set_cookie(struct api_req *r, const char *value, long max_age)
{
    char c[IDENTITY_TOKEN_MAX + 160];
    bool tls = !strncmp(api_req_base_url(r), "https:", 6);
    snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", DASH_COOKIE,
             value ? value : "", value ? max_age : 0, tls ? "; Secure" : "");
    api_reply_header(r, "Set-Cookie", c);
}

static const char *name_of(struct store_txn *t, struct identity *idn, enum identity_kind k,
                           const char *id, json_t **keep)
{
    if (!id[0] || identity_get(t, idn, k, id, keep))
        return NULL;
    return json_string_value(json_object_get(*keep, "name"));
}

/* 200 {"session": {...}} for the token (its user, project, admin flag,
 * expiry and CSRF token). */
static void reply_session(struct api_req *r, const struct identity_token *tok, const char *text)
{
    struct dash_state *st = api_req_state(r);
    struct identity *idn = api_server_identity(api_req_server(r));
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *user = NULL, *project = NULL;
    const char *user_name = name_of(t, idn, IDENTITY_USER, tok->user_id, &user);
    const char *project_name = name_of(t, idn, IDENTITY_PROJECT, tok->project_id, &project);
    char csrf[DASH_CSRF_HEX + 1];
    dash_csrf_of(st, text, csrf);
    json_t *body =
        json_pack("{s:{s:s,s:s?,s:s,s:s?,s:b,s:I,s:s}}", "session", "user_id", tok->user_id,
                  "user_name", user_name, "project_id", tok->project_id, "project_name",
                  project_name, "admin", (tok->role_flags & IDENTITY_ADMIN) != 0, "expires_in_s",
                  (json_int_t)((tok->expires_us - identity_now_us()) / 1000000), "csrf", csrf);
    json_decref(user);
    json_decref(project);
    store_abort(t);
    api_reply_header(r, "Cache-Control", "no-store");
    api_reply_json(r, 200, body);
}

void dash_session_show(struct api_req *r)
{
    char text[IDENTITY_TOKEN_MAX];
    struct identity_token tok;
    struct identity *idn = api_server_identity(api_req_server(r));
    if (!dash_cookie_token(r, text) || identity_token_check(idn, text, &tok) != 0) {
        api_reply_header(r, "Cache-Control", "no-store");
        api_reply_error(r, 401, "Not logged in.");
        return;
    }
    reply_session(r, &tok, text);
}

void dash_session_create(struct api_req *r)
{
    const char *text = api_req_header(r, "X-Auth-Token");
    const struct identity_token *tok = api_req_auth(r);
    if (!text) { /* a cookie cannot make a new session */
        api_reply_error(r, 400, "Log in with Keystone and send its token as X-Auth-Token.");
        return;
    }
    if (tok->scope != IDENTITY_SCOPE_PROJECT) {
        api_reply_error(r, 400, "The dashboard needs a project-scoped token.");
        return;
    }
    set_cookie(r, text, (long)((tok->expires_us - identity_now_us()) / 1000000));
    reply_session(r, tok, text);
}

/* A project the user may scope to: enabled, in an enabled domain (as
 * Keystone's scope check; the role is identity_token_issue's check). */
static int scopable(struct store_txn *t, struct identity *idn, const char *project_id)
{
    json_t *p = NULL, *d = NULL;
    int rc = identity_get(t, idn, IDENTITY_PROJECT, project_id, &p);
    if (!rc && !json_is_true(json_object_get(p, "enabled")))
        rc = -EACCES;
    if (!rc)
        rc = identity_get(t, idn, IDENTITY_DOMAIN,
                          json_string_value(json_object_get(p, "domain_id")) ?: "", &d);
    if (!rc && !json_is_true(json_object_get(d, "enabled")))
        rc = -EACCES;
    json_decref(p);
    json_decref(d);
    return rc;
}

/* PUT {"project_id": ID}: the project switcher.  Rescopes the session's
 * token as Keystone's token method does (same user, methods + token, same
 * expiry), revokes the old one and sets the cookie to the new one. */
void dash_session_switch(struct api_req *r)
{
    json_t *body = api_req_json(r);
    if (!body)
        return;
    const char *pid = json_string_value(json_object_get(body, "project_id"));
    if (!pid || strlen(pid) > STORE_ID_LEN) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field 'project_id': a project id is required.");
        return;
    }
    struct identity *idn = api_server_identity(api_req_server(r));
    const struct identity_token *old = api_req_auth(r);
    struct identity_token tok;
    char text[IDENTITY_TOKEN_MAX];
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    int rc = scopable(t, idn, pid);
    if (!rc)
        rc = identity_token_issue(t, idn, old->user_id, pid, old->methods | IDENTITY_METHOD_TOKEN,
                                  NULL, old->expires_us, &tok, text);
    json_decref(body);
    if (rc) {
        store_abort(t);
        api_reply_error(r, 401, "Could not scope to the project requested.");
        return;
    }
    rc = identity_revoke_token(t, idn, old);
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Cannot revoke the token: %s.", strerror(-rc));
        return;
    }
    if (!api_txn_commit(r, t))
        return;
    identity_changed(idn);
    set_cookie(r, text, (long)((tok.expires_us - identity_now_us()) / 1000000));
    reply_session(r, &tok, text);
}

void dash_session_delete(struct api_req *r)
{
    struct identity *idn = api_server_identity(api_req_server(r));
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    int rc = identity_revoke_token(t, idn, api_req_auth(r));
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Cannot revoke the token: %s.", strerror(-rc));
        return;
    }
    if (!api_txn_commit(r, t))
        return;
    identity_changed(idn);
    set_cookie(r, NULL, 0);
    api_reply_empty(r, 204);
}
