/* Keystone application credentials (/v3/users/{u}/application_credentials)
 * and their access rules (/v3/users/{u}/access_rules).  A user manages its
 * own (admin may read and delete anyone's).  The secret is shown once, at
 * creation, and stored as an Argon2id hash like a password; authenticating
 * with it (auth.c) gives a token scoped to the credential's project with
 * the credential's roles.  Deleting one revokes its tokens. */
#include "api/identity/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static bool owner_or_admin(struct api_req *r, bool write)
{
    if (!strcmp(api_req_param(r, 0), idn_me(r)) || (!write && api_req_is_admin(r)) ||
        (write && api_req_is_admin(r)))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

static bool owned(json_t *rec, const char *user)
{
    return !strcmp(json_string_value(json_object_get(rec, "user_id")) ?: "", user);
}

static json_t *view(struct api_req *r, json_t *rec)
{
    char path[200];
    snprintf(path, sizeof(path), "/users/%s/application_credentials/%%s",
             json_string_value(json_object_get(rec, "user_id")) ?: "");
    json_t *out = identity_public(rec);
    json_object_set_new(out, "links",
                        idn_links(r, path, json_string_value(json_object_get(rec, "id"))));
    return out;
}

static int role_view(struct api_req *r, struct store_txn *t, const char *id, json_t *out)
{
    json_t *rec;
    if (identity_get(t, idn_of(r), IDENTITY_ROLE, id, &rec))
        return 0;
    json_array_append_new(out, json_pack("{s:O, s:O, s:O?}", "id", json_object_get(rec, "id"),
                                         "name", json_object_get(rec, "name"), "domain_id",
                                         json_object_get(rec, "domain_id")));
    json_decref(rec);
    return 0;
}

/* The roles asked for ({id} or {name}), each one the user holds on the
 * token's project now (Keystone checks the user's roles, not the token's);
 * none asked: the token's roles.  A JSON array of {id, name, domain_id},
 * or NULL after replying. */
static json_t *pick_roles(struct api_req *r, struct store_txn *t, json_t *asked)
{
    const struct identity_token *tok = api_req_auth(r);
    json_t *out = json_array();
    if (!asked) {
        for (unsigned i = 0; i < tok->n_roles; i++)
            role_view(r, t, tok->role_ids[i], out);
        return out;
    }
    json_t *held = NULL;
    int rc = identity_effective_roles(t, idn_of(r), tok->user_id, tok->project_id, &held);
    const char *id;
    json_t *v;
    json_object_foreach (rc ? NULL : held, id, v) {
        json_t *rec;
        if (identity_get(t, idn_of(r), IDENTITY_ROLE, id, &rec))
            continue;
        size_t k;
        json_t *a;
        bool want = false;
        json_array_foreach (asked, k, a) {
            want |= json_equal(json_object_get(a, "id"), json_object_get(rec, "id")) ||
                    json_equal(json_object_get(a, "name"), json_object_get(rec, "name"));
        }
        json_decref(rec);
        if (want)
            role_view(r, t, id, out);
    }
    json_decref(held);
    if (json_array_size(out) != json_array_size(asked)) {
        json_decref(out);
        api_reply_error(r, 403, "A role asked for is not one the user holds on the project.");
        return NULL;
    }
    return out;
}

/* Access rules get ids and are stored per user, shared by identical rules. */
static int store_rules(struct api_req *r, struct store_txn *t, json_t *rules)
{
    size_t i;
    json_t *rule;
    json_array_foreach (rules, i, rule) {
        if (!json_is_object(rule) || !json_is_string(json_object_get(rule, "path")) ||
            !json_is_string(json_object_get(rule, "method")) ||
            !json_is_string(json_object_get(rule, "service")))
            return -EINVAL;
        char id[STORE_ID_LEN + 1];
        store_new_id(id);
        json_object_set_new(rule, "id", json_string(id));
        json_t *rec = json_deep_copy(rule);
        json_object_set_new(rec, "user_id", json_string(api_req_param(r, 0)));
        int rc = identity_create(t, idn_of(r), IDENTITY_ACCESS_RULE, rec);
        json_decref(rec);
        if (rc)
            return rc;
    }
    return 0;
}

struct create {
    json_t *body, *rec;
    char *secret;
};

static void create_free(struct create *c)
{
    json_decref(c->body);
    json_decref(c->rec);
    if (c->secret)
        sodium_memzero(c->secret, strlen(c->secret));
    free(c->secret);
    free(c);
}

static void create_store(struct api_req *r, struct create *c)
{
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *e = json_object_get(c->body, "application_credential");
    json_t *roles = pick_roles(r, t, json_object_get(e, "roles"));
    if (!roles) {
        store_abort(t);
        return;
    }
    json_object_set_new(c->rec, "roles", roles);
    json_t *rules = json_object_get(c->rec, "access_rules");
    int rc = rules ? store_rules(r, t, rules) : 0;
    if (!rc)
        rc = identity_create(t, idn_of(r), IDENTITY_APP_CRED, c->rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, "application credential", NULL);
        return;
    }
    if (idn_commit(r, t)) {
        json_t *out = view(r, c->rec);
        json_object_set_new(out, "secret", json_string(c->secret));
        api_reply_json(r, 201, json_pack("{s:o}", "application_credential", out));
    }
}

static void create_work(struct api_req *r, void *ctx)
{
    struct create *c = ctx;
    if (identity_password_hash(c->secret, c->rec))
        api_reply_error(r, 500, "Cannot hash the secret.");
    else
        create_store(r, c);
    create_free(c);
}

void idn_app_cred_create(struct api_req *r)
{
    const struct identity_token *tok = api_req_auth(r);
    if (strcmp(api_req_param(r, 0), idn_me(r))) {
        api_reply_error(r, 403, "You may only create your own application credentials.");
        return;
    }
    if (tok->app_cred_id[0] || tok->trust_id[0] || tok->scope != IDENTITY_SCOPE_PROJECT) {
        api_reply_error(r, 403, "A project-scoped password or token login is required.");
        return;
    }
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *e = json_object_get(body, "application_credential");
    json_t *name = json_object_get(e, "name"), *secret = json_object_get(e, "secret");
    json_t *exp = json_object_get(e, "expires_at"), *unr = json_object_get(e, "unrestricted");
    json_t *rules = json_object_get(e, "access_rules"), *roles = json_object_get(e, "roles");
    if (!json_is_object(e) || !json_is_string(name) || !json_string_length(name) ||
        json_string_length(name) > 255 || (secret && !json_is_string(secret)) ||
        (exp && !json_is_string(exp) && !json_is_null(exp)) || (unr && !json_is_boolean(unr)) ||
        (rules && !json_is_array(rules)) || (roles && !json_is_array(roles))) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field 'application_credential'.");
        return;
    }
    struct create *c = calloc(1, sizeof(*c));
    char id[STORE_ID_LEN + 1], gen[65];
    if (!c) {
        json_decref(body);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    store_new_id(id);
    if (!secret) {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(gen, sizeof(gen), raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    c->body = body;
    c->secret = strdup(secret ? json_string_value(secret) : gen);
    json_t *desc = json_object_get(e, "description");
    c->rec =
        json_pack("{s:s, s:O, s:O, s:s, s:s, s:O, s:b, s:O}", "id", id, "name", name, "description",
                  json_is_string(desc) ? desc : json_null(), "user_id", idn_me(r), "project_id",
                  tok->project_id, "expires_at", exp ? exp : json_null(), "unrestricted",
                  json_is_true(unr), "access_rules", rules ? rules : json_null());
    if (!rules)
        json_object_set_new(c->rec, "access_rules", json_array());
    else
        json_object_set_new(c->rec, "access_rules", json_deep_copy(rules));
    api_req_defer(r, create_work, c);
}

struct listing {
    struct api_req *r;
    const char *user, *name;
    json_t *out;
    enum identity_kind k;
};

static int list_one(json_t *rec, void *ctx)
{
    struct listing *l = ctx;
    if (!owned(rec, l->user))
        return 0;
    if (l->name && strcmp(json_string_value(json_object_get(rec, "name")) ?: "", l->name))
        return 0;
    json_t *v = l->k == IDENTITY_APP_CRED ? view(l->r, rec) : identity_public(rec);
    if (l->k == IDENTITY_ACCESS_RULE)
        json_object_del(v, "user_id");
    json_array_append_new(l->out, v);
    return 0;
}

static void list(struct api_req *r, enum identity_kind k)
{
    if (!owner_or_admin(r, false))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct listing l = { r, api_req_param(r, 0), api_req_query(r, "name"), json_array(), k };
    int rc = identity_list(t, idn_of(r), k, list_one, &l);
    store_abort(t);
    if (rc) {
        json_decref(l.out);
        idn_fail(r, rc, idn_collection(k), NULL);
        return;
    }
    char path[160];
    snprintf(path, sizeof(path), "/users/%s/%s", l.user, idn_collection(k));
    idn_reply_collection(r, idn_collection(k), path, l.out);
}

/* The user's record {1} of kind k in t, or replies 404. */
static json_t *get_owned(struct api_req *r, struct store_txn *t, enum identity_kind k)
{
    json_t *rec;
    int rc = identity_get(t, idn_of(r), k, api_req_param(r, 1), &rec);
    if (!rc && !owned(rec, api_req_param(r, 0))) {
        json_decref(rec);
        rc = -ENOENT;
    }
    if (rc) {
        idn_fail(r, rc, identity_kind_name(k), api_req_param(r, 1));
        return NULL;
    }
    return rec;
}

static void show(struct api_req *r, enum identity_kind k)
{
    if (!owner_or_admin(r, false))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec = get_owned(r, t, k);
    store_abort(t);
    if (!rec)
        return;
    json_t *v = k == IDENTITY_APP_CRED ? view(r, rec) : identity_public(rec);
    api_reply_json(r, 200, json_pack("{s:o}", identity_kind_name(k), v));
    json_decref(rec);
}

struct in_use {
    const char *rule;
    bool used;
};

static int rule_used(json_t *rec, void *ctx)
{
    struct in_use *u = ctx;
    size_t i;
    json_t *rule;
    json_array_foreach (json_object_get(rec, "access_rules"), i, rule)
        u->used |= !strcmp(json_string_value(json_object_get(rule, "id")) ?: "", u->rule);
    return 0;
}

static void delete (struct api_req *r, enum identity_kind k)
{
    if (!owner_or_admin(r, true))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec = get_owned(r, t, k);
    if (!rec) {
        store_abort(t);
        return;
    }
    int rc = 0;
    if (k == IDENTITY_ACCESS_RULE) {
        struct in_use u = { api_req_param(r, 1), false };
        rc = identity_list(t, idn_of(r), IDENTITY_APP_CRED, rule_used, &u);
        if (!rc && u.used)
            rc = -EACCES;
    }
    if (!rc)
        rc = identity_delete(t, idn_of(r), k, rec);
    if (!rc && k == IDENTITY_APP_CRED)
        rc = identity_revoke_scope(t, idn_of(r), api_req_param(r, 1));
    json_decref(rec);
    if (rc == -EACCES) {
        store_abort(t);
        api_reply_error(r, 403, "The access rule is in use by an application credential.");
    } else if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), api_req_param(r, 1));
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

void idn_app_cred_list(struct api_req *r)
{
    list(r, IDENTITY_APP_CRED);
}
void idn_app_cred_show(struct api_req *r)
{
    show(r, IDENTITY_APP_CRED);
}
void idn_app_cred_delete(struct api_req *r)
{
    delete (r, IDENTITY_APP_CRED);
}
void idn_access_rule_list(struct api_req *r)
{
    list(r, IDENTITY_ACCESS_RULE);
}
void idn_access_rule_show(struct api_req *r)
{
    show(r, IDENTITY_ACCESS_RULE);
}
void idn_access_rule_delete(struct api_req *r)
{
    delete (r, IDENTITY_ACCESS_RULE);
}
