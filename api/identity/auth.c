/* Keystone: version discovery and /v3/auth/... (tokens, catalog, projects). */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *version_v3(struct api_req *r)
{
    char href[300];
    snprintf(href, sizeof(href), "%s/identity/v3/", api_req_base_url(r));
    return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "id", "v3.14", "status",
                     "stable", "updated", "2020-04-07T00:00:00Z", "links", "rel", "self", "href",
                     href, "media-types", "base", "application/json", "type",
                     "application/vnd.openstack.identity-v3+json");
}

void idn_versions(struct api_req *r)
{
    api_reply_json(r, 300, json_pack("{s:{s:[o]}}", "versions", "values", version_v3(r)));
}

void idn_version_v3(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:o}", "version", version_v3(r)));
}

/* ---------- the token body ---------- */

static json_t *token_roles(struct store_txn *t, struct identity *idn,
                           const struct identity_token *tok)
{
    json_t *roles = json_array(), *rec;
    for (unsigned i = 0; i < tok->n_roles; i++) {
        if (identity_get(t, idn, IDENTITY_ROLE, tok->role_ids[i], &rec) == 0) {
            json_array_append_new(roles, json_pack("{s:s, s:O}", "id", tok->role_ids[i], "name",
                                                   json_object_get(rec, "name")));
            json_decref(rec);
        }
    }
    return roles;
}

static json_t *token_body(struct api_req *r, struct store_txn *t, const struct identity_token *tok)
{
    struct identity *idn = idn_of(r);
    char issued[32], expires[32], audit[23];
    idn_time(tok->issued_us, issued);
    idn_time(tok->expires_us, expires);
    identity_audit_text(tok->audit, audit);
    json_t *methods = json_array();
    if (tok->methods & IDENTITY_METHOD_PASSWORD)
        json_array_append_new(methods, json_string("password"));
    if (tok->methods & IDENTITY_METHOD_TOKEN)
        json_array_append_new(methods, json_string("token"));
    if (tok->methods & IDENTITY_METHOD_APP_CRED)
        json_array_append_new(methods, json_string("application_credential"));

    json_t *user = json_pack("{s:s, s:s, s:n}", "id", tok->user_id, "name", tok->user_id,
                             "password_expires_at");
    json_t *rec;
    if (identity_get(t, idn, IDENTITY_USER, tok->user_id, &rec) == 0) {
        json_object_set(user, "name", json_object_get(rec, "name"));
        json_object_set_new(
            user, "domain",
            idn_domain_ref(t, idn, json_string_value(json_object_get(rec, "domain_id"))));
        json_decref(rec);
    }
    json_t *body = json_pack("{s:o, s:o, s:[s], s:s, s:s}", "methods", methods, "user", user,
                             "audit_ids", audit, "expires_at", expires, "issued_at", issued);
    if (tok->app_cred_id[0] &&
        identity_get(t, idn, IDENTITY_APP_CRED, tok->app_cred_id, &rec) == 0) {
        json_object_set_new(body, "application_credential",
                            json_pack("{s:s, s:O, s:b}", "id", tok->app_cred_id, "name",
                                      json_object_get(rec, "name"), "restricted",
                                      !json_is_true(json_object_get(rec, "unrestricted"))));
        json_decref(rec);
    }
    if (tok->trust_id[0] && identity_get(t, idn, IDENTITY_TRUST, tok->trust_id, &rec) == 0) {
        json_object_set_new(body, "OS-TRUST:trust",
                            json_pack("{s:s, s:O, s:{s:O}, s:{s:O}}", "id", tok->trust_id,
                                      "impersonation", json_object_get(rec, "impersonation"),
                                      "trustee_user", "id", json_object_get(rec, "trustee_user_id"),
                                      "trustor_user", "id",
                                      json_object_get(rec, "trustor_user_id")));
        json_decref(rec);
    }
    if (tok->scope == IDENTITY_SCOPE_DOMAIN)
        json_object_set_new(body, "domain", idn_domain_ref(t, idn, tok->domain_id));
    if (tok->scope == IDENTITY_SCOPE_SYSTEM)
        json_object_set_new(body, "system", json_pack("{s:b}", "all", 1));
    if (tok->scope == IDENTITY_SCOPE_DOMAIN || tok->scope == IDENTITY_SCOPE_SYSTEM)
        json_object_set_new(body, "roles", token_roles(t, idn, tok));
    if (tok->project_id[0]) {
        json_t *project = json_pack("{s:s, s:s}", "id", tok->project_id, "name", tok->project_id);
        if (identity_get(t, idn, IDENTITY_PROJECT, tok->project_id, &rec) == 0) {
            json_object_set(project, "name", json_object_get(rec, "name"));
            json_object_set_new(
                project, "domain",
                idn_domain_ref(t, idn, json_string_value(json_object_get(rec, "domain_id"))));
            json_decref(rec);
        }
        json_object_set_new(body, "project", project);
        json_object_set_new(body, "roles", token_roles(t, idn, tok));
        json_object_set_new(body, "is_domain", json_false());
    }
    return json_pack("{s:o}", "token", body);
}

/* The token body as text; a scoped token's catalog is spliced in from the
 * cached catalog text (the body always ends in "}}"). */
static char *token_text(struct api_req *r, struct store_txn *t, const struct identity_token *tok,
                        bool catalog, size_t *len)
{
    json_t *body = token_body(r, t, tok);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return NULL;
    *len = strlen(text);
    size_t clen;
    const char *cat =
        catalog && tok->scope != IDENTITY_SCOPE_NONE ? idn_catalog_text(r, &clen) : NULL;
    if (!cat || *len < 2)
        return text;
    char *out = malloc(*len + clen + 16);
    if (!out) {
        free(text);
        return NULL;
    }
    size_t n = *len - 2;
    memcpy(out, text, n);
    memcpy(out + n, ",\"catalog\":", 11);
    memcpy(out + n + 11, cat, clen);
    memcpy(out + n + 11 + clen, "}}", 3);
    *len = n + 11 + clen + 2;
    free(text);
    return out;
}

/* ---------- POST /v3/auth/tokens ---------- */

struct auth_req {
    json_t *body; /* the request, kept for the worker */
    const char *user_id, *user_name, *user_domain_id, *user_domain_name, *password;
    const char *token;
    json_t *app_cred; /* auth.identity.application_credential */
    json_t *scope;    /* NULL: unscoped */
    bool unscoped;    /* "scope": "unscoped" (no default project either) */
    unsigned methods;
};

static void auth_free(struct auth_req *a)
{
    json_decref(a->body);
    free(a);
}

/* A domain by {"id"} or {"name"}, enabled: the record, or NULL. */
static json_t *find_domain(struct api_req *r, struct store_txn *t, json_t *ref)
{
    const char *id = json_string_value(json_object_get(ref, "id"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    json_t *rec = NULL;
    int rc = id     ? identity_get(t, idn_of(r), IDENTITY_DOMAIN, id, &rec)
             : name ? identity_find(t, idn_of(r), IDENTITY_DOMAIN, NULL, name, &rec)
                    : -ENOENT;
    if (rc == 0 && !json_is_true(json_object_get(rec, "enabled"))) {
        json_decref(rec);
        return NULL;
    }
    return rc ? NULL : rec;
}

/* Resolves auth.scope into req (scope and target, copied to out): 0, or
 * replies (401/400) and fails. */
static int resolve_scope(struct api_req *r, struct store_txn *t, json_t *scope,
                         struct identity_token_req *req, char out[STORE_ID_LEN + 1])
{
    struct identity *idn = idn_of(r);
    out[0] = '\0';
    req->scope = IDENTITY_SCOPE_NONE;
    if (!scope)
        return 0;
    if (json_object_get(scope, "system")) {
        req->scope = IDENTITY_SCOPE_SYSTEM;
        return 0;
    }
    json_t *dom = json_object_get(scope, "domain");
    if (json_is_object(dom)) {
        json_t *rec = find_domain(r, t, dom);
        if (!rec) {
            api_reply_error(r, 401, "Could not scope to the domain requested.");
            return -ENOENT;
        }
        snprintf(out, STORE_ID_LEN + 1, "%s", json_string_value(json_object_get(rec, "id")));
        json_decref(rec);
        req->scope = IDENTITY_SCOPE_DOMAIN;
        req->target = out;
        return 0;
    }
    json_t *p = json_object_get(scope, "project");
    if (!json_is_object(p)) {
        api_reply_error(r, 400, "Invalid input for field 'auth.scope': project, domain or system.");
        return -EINVAL;
    }
    const char *id = json_string_value(json_object_get(p, "id"));
    const char *name = json_string_value(json_object_get(p, "name"));
    json_t *rec = NULL;
    int rc;
    if (id) {
        rc = identity_get(t, idn, IDENTITY_PROJECT, id, &rec);
    } else if (name) {
        json_t *d = json_object_get(p, "domain");
        if (!json_object_get(d, "id") && !json_object_get(d, "name")) {
            api_reply_error(r, 400, "scope.project.domain is required with scope.project.name.");
            return -EINVAL;
        }
        json_t *drec = find_domain(r, t, d);
        rc = drec ? identity_find(t, idn, IDENTITY_PROJECT,
                                  json_string_value(json_object_get(drec, "id")), name, &rec)
                  : -ENOENT;
        json_decref(drec);
    } else {
        api_reply_error(r, 400, "scope.project needs an id or a name.");
        return -EINVAL;
    }
    if (rc == 0 && !json_is_true(json_object_get(rec, "enabled")))
        rc = -EACCES;
    if (rc == 0) {
        /* A project in a disabled domain cannot be scoped to. */
        json_t *dref = json_pack("{s:O}", "id", json_object_get(rec, "domain_id"));
        json_t *drec = find_domain(r, t, dref);
        json_decref(dref);
        rc = drec ? 0 : -EACCES;
        json_decref(drec);
    }
    if (rc) {
        json_decref(rec);
        api_reply_error(r, 401, "Could not scope to the project requested.");
        return rc;
    }
    snprintf(out, STORE_ID_LEN + 1, "%s", json_string_value(json_object_get(rec, "id")));
    json_decref(rec);
    req->scope = IDENTITY_SCOPE_PROJECT;
    req->target = out;
    return 0;
}

static void issue_req_and_reply(struct api_req *r, struct store_txn *t,
                                struct identity_token_req *req, json_t *scope);

/* Has ISO 8601 time text (Keystone's, with or without fraction and Z) passed? */
static bool expired(json_t *when)
{
    const char *s = json_string_value(when);
    struct tm tm = { 0 };
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return false;
    return (int64_t)timegm(&tm) * 1000000 <= identity_now_us();
}

/* A trust scope ({"id"}): the caller must be the trustee; the token is the
 * trustor's when the trust impersonates, and carries the trust's roles the
 * trustor still holds on the project (*roles, the caller frees it). */
static int resolve_trust(struct api_req *r, struct store_txn *t, json_t *ref,
                         struct identity_token_req *req, char out[STORE_ID_LEN + 1],
                         char user_out[STORE_ID_LEN + 1], json_t **roles)
{
    struct identity *idn = idn_of(r);
    json_t *trust = NULL, *held = NULL;
    const char *id = json_string_value(json_object_get(ref, "id"));
    if (!id || identity_get(t, idn, IDENTITY_TRUST, id, &trust) != 0 ||
        strcmp(json_string_value(json_object_get(trust, "trustee_user_id")) ?: "", req->user_id) ||
        expired(json_object_get(trust, "expires_at")) ||
        !json_is_string(json_object_get(trust, "project_id"))) {
        json_decref(trust);
        api_reply_error(r, 401, "Could not scope to the trust requested.");
        return -EACCES;
    }
    const char *trustor = json_string_value(json_object_get(trust, "trustor_user_id"));
    snprintf(out, STORE_ID_LEN + 1, "%s", json_string_value(json_object_get(trust, "project_id")));
    *roles = json_object();
    if (identity_effective_roles(t, idn, trustor, out, &held) == 0) {
        size_t i;
        json_t *role;
        json_array_foreach (json_object_get(trust, "roles"), i, role) {
            const char *rid = json_string_value(json_object_get(role, "id"));
            if (rid && json_object_get(held, rid))
                json_object_set_new(*roles, rid, json_true());
        }
    }
    json_decref(held);
    req->trust_id = id; /* borrowed from the request body */
    if (json_is_true(json_object_get(trust, "impersonation"))) {
        snprintf(user_out, STORE_ID_LEN + 1, "%s", trustor);
        req->user_id = user_out;
    }
    req->scope = IDENTITY_SCOPE_PROJECT;
    req->target = out;
    req->roles = *roles;
    json_decref(trust);
    return 0;
}

/* Issues the token for user_id and replies 201. */
static void issue_and_reply(struct api_req *r, struct store_txn *t, const char *user_id,
                            json_t *scope, unsigned methods, int64_t expires_us)
{
    struct identity_token_req req = { .user_id = user_id,
                                      .methods = methods,
                                      .expires_us = expires_us };
    issue_req_and_reply(r, t, &req, scope);
}

static void issue_req_and_reply(struct api_req *r, struct store_txn *t,
                                struct identity_token_req *req, json_t *scope)
{
    char target[STORE_ID_LEN + 1], trustor[STORE_ID_LEN + 1], text[IDENTITY_TOKEN_MAX];
    unsigned methods = req->methods;
    json_t *trust = json_object_get(scope, "OS-TRUST:trust"), *trust_roles = NULL;
    if (trust ? resolve_trust(r, t, trust, req, target, trustor, &trust_roles)
              : resolve_scope(r, t, scope, req, target))
        return;
    struct identity_token tok;
    int rc = identity_token_issue_req(t, idn_of(r), req, &tok, text);
    json_decref(trust_roles);
    if (rc == -EACCES) {
        api_reply_error(r, 401, "The user has no role on the scope requested.");
        return;
    }
    if (rc) {
        api_reply_error(r, 500, "Cannot issue a token: %s.", strerror(-rc));
        return;
    }
    size_t len;
    char *body = token_text(r, t, &tok, !api_req_query(r, "nocatalog"), &len);
    if (!body) {
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    api_reply_header(r, "X-Subject-Token", text);
    api_reply_json_text(r, 201, body, len);
    free(body);
    api_metrics_token_issued(api_req_server(r), methods & IDENTITY_METHOD_APP_CRED
                                                    ? "application_credential"
                                                : methods & IDENTITY_METHOD_TOKEN ? "token"
                                                                                  : "password");
}

/* Users of a disabled domain cannot log in. */
static bool user_domain_enabled(struct api_req *r, json_t *user)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return false;
    json_t *d;
    bool ok = identity_get(t, idn_of(r), IDENTITY_DOMAIN,
                           json_string_value(json_object_get(user, "domain_id")) ?: "", &d) == 0;
    if (ok)
        ok = json_is_true(json_object_get(d, "enabled")), json_decref(d);
    store_abort(t);
    return ok;
}

static void deny(struct api_req *r)
{
    api_reply_error(r, 401, "The request you have made requires authentication.");
}

/* No scope asked: Keystone scopes to the user's default project when the
 * user has a role there (and the project is enabled); else unscoped. */
static json_t *default_scope(struct store_txn *t, struct api_req *r, json_t *user)
{
    const char *dp = json_string_value(json_object_get(user, "default_project_id"));
    json_t *roles = NULL, *p = NULL;
    json_t *out = NULL;
    if (dp && identity_get(t, idn_of(r), IDENTITY_PROJECT, dp, &p) == 0 &&
        json_is_true(json_object_get(p, "enabled")) &&
        identity_effective_roles(t, idn_of(r), json_string_value(json_object_get(user, "id")), dp,
                                 &roles) == 0 &&
        json_object_size(roles))
        out = json_pack("{s:{s:s}}", "project", "id", dp);
    json_decref(p);
    json_decref(roles);
    return out;
}

/* Runs on a worker: Argon2id is slow on purpose. */
static void password_auth(struct api_req *r, void *ctx)
{
    struct auth_req *a = ctx;
    struct identity *idn = idn_of(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t) {
        auth_free(a);
        return;
    }
    json_t *user = NULL;
    int rc;
    if (a->user_id) {
        rc = identity_get(t, idn, IDENTITY_USER, a->user_id, &user);
    } else {
        const char *did = a->user_domain_id;
        json_t *drec = NULL;
        if (!did && a->user_domain_name &&
            identity_find(t, idn, IDENTITY_DOMAIN, NULL, a->user_domain_name, &drec) == 0)
            did = json_string_value(json_object_get(drec, "id"));
        rc = did ? identity_find(t, idn, IDENTITY_USER, did, a->user_name, &user) : -ENOENT;
        json_decref(drec);
    }
    store_abort(t);
    const char *uid = rc == 0 ? json_string_value(json_object_get(user, "id")) : NULL;
    if (idn_login_user_locked(r, uid)) {
        api_reply_error(r, 401, "The account is locked for user: %s.", uid);
        json_decref(user);
        auth_free(a);
        return;
    }
    bool ok = identity_password_ok(rc == 0 ? user : NULL, a->password) && rc == 0;
    if (ok && !user_domain_enabled(r, user))
        ok = false;
    idn_login_result(r, uid, ok);
    if (ok && identity_password_expired(user, identity_now_us())) {
        api_reply_error(r, 401, "The password is expired and needs to be changed for user: %s.",
                        json_string_value(json_object_get(user, "id")));
        json_decref(user);
        auth_free(a);
        return;
    }
    if (rc != 0 || !ok || !json_is_true(json_object_get(user, "enabled"))) {
        json_decref(user);
        auth_free(a);
        deny(r);
        return;
    }
    t = api_txn_begin(r, false);
    if (t) {
        json_t *scope = a->scope      ? json_incref(a->scope)
                        : a->unscoped ? NULL
                                      : default_scope(t, r, user);
        issue_and_reply(r, t, json_string_value(json_object_get(user, "id")), scope,
                        IDENTITY_METHOD_PASSWORD, 0);
        json_decref(scope);
        store_abort(t);
    }
    json_decref(user);
    auth_free(a);
}

static void token_auth(struct api_req *r, struct auth_req *a)
{
    struct identity_token old;
    if (identity_token_check(idn_of(r), a->token, &old) != 0) {
        auth_free(a);
        deny(r);
        return;
    }
    struct store_txn *t = api_txn_begin(r, false);
    if (t) {
        /* A rescoped token keeps its methods and expiry (Keystone's way). */
        issue_and_reply(r, t, old.user_id, a->scope, old.methods | IDENTITY_METHOD_TOKEN,
                        old.expires_us);
        store_abort(t);
    }
    auth_free(a);
}

/* The application credential named in a->app_cred, or NULL. */
static json_t *find_app_cred(struct api_req *r, struct store_txn *t, json_t *ac)
{
    struct identity *idn = idn_of(r);
    const char *id = json_string_value(json_object_get(ac, "id"));
    json_t *rec = NULL;
    if (id)
        return identity_get(t, idn, IDENTITY_APP_CRED, id, &rec) == 0 ? rec : NULL;
    const char *name = json_string_value(json_object_get(ac, "name"));
    json_t *user = json_object_get(ac, "user");
    const char *uid = json_string_value(json_object_get(user, "id"));
    json_t *urec = NULL;
    if (!uid && json_is_string(json_object_get(user, "name"))) {
        json_t *d = json_object_get(user, "domain");
        const char *did = json_string_value(json_object_get(d, "id"));
        json_t *drec = NULL;
        if (!did && identity_find(t, idn, IDENTITY_DOMAIN, NULL,
                                  json_string_value(json_object_get(d, "name")) ?: "", &drec) == 0)
            did = json_string_value(json_object_get(drec, "id"));
        if (did)
            identity_find(t, idn, IDENTITY_USER, did,
                          json_string_value(json_object_get(user, "name")), &urec);
        json_decref(drec);
        uid = json_string_value(json_object_get(urec, "id"));
    }
    if (name && uid)
        identity_find(t, idn, IDENTITY_APP_CRED, uid, name, &rec);
    json_decref(urec);
    return rec;
}

/* Runs on a worker: the secret is an Argon2id hash. */
static void app_cred_auth(struct api_req *r, void *ctx)
{
    struct auth_req *a = ctx;
    struct identity *idn = idn_of(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t) {
        auth_free(a);
        return;
    }
    json_t *ac = find_app_cred(r, t, a->app_cred), *user = NULL;
    const char *secret = json_string_value(json_object_get(a->app_cred, "secret"));
    bool ok = identity_password_ok(ac, secret ? secret : "") && ac && secret &&
              !expired(json_object_get(ac, "expires_at")) &&
              identity_get(t, idn, IDENTITY_USER, json_string_value(json_object_get(ac, "user_id")),
                           &user) == 0 &&
              json_is_true(json_object_get(user, "enabled"));
    store_abort(t);
    if (ok)
        ok = user_domain_enabled(r, user);
    if (!ok || !(t = api_txn_begin(r, false))) {
        if (!ok)
            deny(r);
        json_decref(ac);
        json_decref(user);
        auth_free(a);
        return;
    }
    /* The credential's roles the user still holds on its project. */
    const char *project = json_string_value(json_object_get(ac, "project_id"));
    json_t *held = NULL, *roles = json_object();
    if (identity_effective_roles(t, idn, json_string_value(json_object_get(ac, "user_id")), project,
                                 &held) == 0) {
        size_t i;
        json_t *role;
        json_array_foreach (json_object_get(ac, "roles"), i, role) {
            const char *rid = json_string_value(json_object_get(role, "id"));
            if (rid && json_object_get(held, rid))
                json_object_set_new(roles, rid, json_true());
        }
    }
    json_t *scope = json_pack("{s:{s:s}}", "project", "id", project);
    struct identity_token_req req = {
        .user_id = json_string_value(json_object_get(ac, "user_id")),
        .methods = IDENTITY_METHOD_APP_CRED,
        .app_cred_id = json_string_value(json_object_get(ac, "id")),
        .roles = roles,
    };
    issue_req_and_reply(r, t, &req, scope);
    store_abort(t);
    json_decref(scope);
    json_decref(held);
    json_decref(roles);
    json_decref(ac);
    json_decref(user);
    auth_free(a);
}

/* auth.identity.password.user: replies 400 and returns false if unusable. */
static bool parse_password(struct api_req *r, struct auth_req *a, json_t *password)
{
    json_t *user = json_object_get(password, "user");
    a->user_id = json_string_value(json_object_get(user, "id"));
    a->user_name = json_string_value(json_object_get(user, "name"));
    json_t *d = json_object_get(user, "domain");
    a->user_domain_id = json_string_value(json_object_get(d, "id"));
    a->user_domain_name = json_string_value(json_object_get(d, "name"));
    a->password = json_string_value(json_object_get(user, "password"));
    if (!json_is_object(user) || !a->password || (!a->user_id && !a->user_name)) {
        api_reply_error(r, 400,
                        "Invalid input for field 'auth.identity.password.user': "
                        "id or name, and password (strings), are required.");
        return false;
    }
    if (!a->user_id && !a->user_domain_id && !a->user_domain_name) {
        api_reply_error(r, 400,
                        "Invalid input for field "
                        "'auth.identity.password.user.domain': required with a name.");
        return false;
    }
    return true;
}

void idn_token_issue(struct api_req *r)
{
    json_t *body = api_req_json(r);
    if (!body)
        return;
    struct auth_req *a = calloc(1, sizeof(*a));
    if (!a) {
        json_decref(body);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    a->body = body;
    json_t *auth = json_object_get(body, "auth");
    json_t *ident = json_object_get(auth, "identity");
    json_t *methods = json_object_get(ident, "methods");
    if (!json_is_object(auth) || !json_is_object(ident) || !json_is_array(methods)) {
        auth_free(a);
        api_reply_error(r, 400,
                        "Invalid input for field 'auth.identity.methods': "
                        "an array of authentication methods is required.");
        return;
    }
    size_t i;
    json_t *m;
    json_array_foreach (methods, i, m) {
        const char *s = json_string_value(m);
        if (!s) {
            auth_free(a);
            api_reply_error(r, 400,
                            "Invalid input for field 'auth.identity.methods': "
                            "strings expected.");
            return;
        }
        if (!strcmp(s, "password"))
            a->methods |= IDENTITY_METHOD_PASSWORD;
        else if (!strcmp(s, "token"))
            a->methods |= IDENTITY_METHOD_TOKEN;
        else if (!strcmp(s, "application_credential"))
            a->methods |= IDENTITY_METHOD_APP_CRED;
        else {
            auth_free(a);
            api_reply_error(r, 401,
                            "Unsupported authentication method in "
                            "'auth.identity.methods'.");
            return;
        }
    }
    json_t *scope = json_object_get(auth, "scope");
    if (scope && !json_is_object(scope) &&
        !(json_is_string(scope) && !strcmp(json_string_value(scope), "unscoped"))) {
        auth_free(a);
        api_reply_error(r, 400, "Invalid input for field 'auth.scope': an object is expected.");
        return;
    }
    a->scope = json_is_object(scope) ? scope : NULL;
    a->unscoped = json_is_string(scope);
    if (a->methods & IDENTITY_METHOD_APP_CRED) {
        a->app_cred = json_object_get(ident, "application_credential");
        if (!json_is_object(a->app_cred)) {
            auth_free(a);
            api_reply_error(r, 400,
                            "Invalid input for field "
                            "'auth.identity.application_credential'.");
            return;
        }
        api_req_defer(r, app_cred_auth, a);
        return;
    }
    if (a->methods & IDENTITY_METHOD_PASSWORD) {
        if (idn_login_address_ok(r) && parse_password(r, a, json_object_get(ident, "password")))
            api_req_defer(r, password_auth, a);
        else
            auth_free(a);
        return;
    }
    a->token = json_string_value(json_object_get(json_object_get(ident, "token"), "id"));
    if (!a->token) {
        auth_free(a);
        api_reply_error(r, 400,
                        "Invalid input for field 'auth.identity.token.id': "
                        "a string is required.");
        return;
    }
    token_auth(r, a);
}

/* ---------- GET/HEAD/DELETE /v3/auth/tokens ---------- */

/* The X-Subject-Token, checked; replies 404 and returns false if invalid. */
static bool subject(struct api_req *r, struct identity_token *tok, const char **text)
{
    *text = api_req_header(r, "X-Subject-Token");
    if (!*text) {
        api_reply_error(r, 400, "Invalid input for field 'X-Subject-Token': required.");
        return false;
    }
    const struct identity_token *me = api_req_auth(r);
    if (!strcmp(*text, api_req_header(r, "X-Auth-Token") ?: "")) {
        *tok = *me; /* validating one's own token: checked already */
    } else if (identity_token_check(idn_of(r), *text, tok) != 0) {
        api_reply_error(r, 404, "Could not find token: %.40s.", *text);
        return false;
    }
    if (strcmp(me->user_id, tok->user_id) != 0 && !api_req_is_admin(r)) {
        api_reply_error(r, 403, "You are not authorized to perform the requested action.");
        return false;
    }
    return true;
}

void idn_token_validate(struct api_req *r)
{
    struct identity_token tok;
    const char *text;
    if (!subject(r, &tok, &text))
        return;
    bool catalog = !api_req_query(r, "nocatalog");
    char key[IDENTITY_TOKEN_MAX + 300];
    snprintf(key, sizeof(key), "%s\n%s\n%c", text, api_req_base_url(r), catalog ? 'c' : 'n');
    uint64_t gen = identity_generation(idn_of(r));
    size_t len;
    const char *cached = idn_cache_get(key, gen, &len);
    api_reply_header(r, "X-Subject-Token", text);
    if (cached) {
        api_reply_json_text(r, 200, cached, len);
        return;
    }
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    char *body = token_text(r, t, &tok, catalog, &len);
    store_abort(t);
    if (!body) {
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    idn_cache_put(key, gen, body, len);
    api_reply_json_text(r, 200, body, len);
    free(body);
}

void idn_token_revoke(struct api_req *r)
{
    struct identity_token tok;
    const char *text;
    if (!subject(r, &tok, &text))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    int rc = identity_revoke_token(t, idn_of(r), &tok);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "token", NULL);
        return;
    }
    if (idn_commit(r, t))
        api_reply_empty(r, 204);
}

void idn_auth_catalog(struct api_req *r)
{
    if (!api_req_auth(r)->project_id[0]) {
        api_reply_error(r, 403,
                        "A project-scoped token is required to produce a service "
                        "catalog.");
        return;
    }
    idn_reply_collection(r, "catalog", "/auth/catalog", idn_catalog(r));
}

struct projects_ctx {
    struct api_req *r;
    struct store_txn *t;
    json_t *out;
    const char *last;
};

static int add_project(const char *p, const char *u, const char *role, void *ctx)
{
    (void)u;
    (void)role;
    struct projects_ctx *pc = ctx;
    json_t *rec;
    size_t i;
    json_t *e;
    json_array_foreach (pc->out, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "id")), p))
            return 0;
    if (identity_get(pc->t, idn_of(pc->r), IDENTITY_PROJECT, p, &rec) == 0) {
        json_array_append_new(pc->out, idn_render(pc->r, IDENTITY_PROJECT, rec));
        json_decref(rec);
    }
    return 0;
}

/* Projects a user has a role on (for /v3/auth/projects, /v3/users/{}/projects). */
void idn_reply_user_projects(struct api_req *r, const char *user_id, const char *self_path)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct projects_ctx pc = { r, t, json_array(), NULL };
    int rc = identity_assignments(t, idn_of(r), NULL, user_id, NULL, add_project, &pc);
    store_abort(t);
    if (rc) {
        json_decref(pc.out);
        idn_fail(r, rc, "projects", NULL);
        return;
    }
    idn_reply_collection(r, "projects", self_path, pc.out);
}

void idn_auth_projects(struct api_req *r)
{
    idn_reply_user_projects(r, api_req_auth(r)->user_id, "/auth/projects");
}

struct domains_ctx {
    struct api_req *r;
    struct store_txn *t;
    json_t *out;
};

static int add_domain(json_t *rec, void *ctx)
{
    struct domains_ctx *dc = ctx;
    json_t *roles = NULL;
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (json_is_true(json_object_get(rec, "enabled")) &&
        identity_effective_roles(dc->t, idn_of(dc->r), idn_me(dc->r), id, &roles) == 0 &&
        json_object_size(roles))
        json_array_append_new(dc->out, idn_render(dc->r, IDENTITY_DOMAIN, rec));
    json_decref(roles);
    return 0;
}

/* Domains the caller has a role on (directly or through a group). */
void idn_auth_domains(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct domains_ctx dc = { r, t, json_array() };
    int rc = identity_list(t, idn_of(r), IDENTITY_DOMAIN, add_domain, &dc);
    store_abort(t);
    if (rc) {
        json_decref(dc.out);
        idn_fail(r, rc, "domains", NULL);
        return;
    }
    idn_reply_collection(r, "domains", "/auth/domains", dc.out);
}

/* System scope is granted through /v3/system grants. */
void idn_auth_system(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *roles = NULL;
    int rc = identity_effective_roles(t, idn_of(r), idn_me(r), IDENTITY_SYSTEM, &roles);
    store_abort(t);
    if (rc) {
        idn_fail(r, rc, "system", NULL);
        return;
    }
    json_t *out = json_object_size(roles) ? json_pack("[{s:b}]", "all", 1) : json_array();
    json_decref(roles);
    idn_reply_collection(r, "system", "/auth/system", out);
}
