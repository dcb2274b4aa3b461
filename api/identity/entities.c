/* Keystone's four entities (domains, projects, users, roles) share one
 * engine: list with filters, show, create, PATCH and delete, each a
 * function of the entity kind. The resource files (domains.c, projects.c,
 * users.c, roles.c) are the routes' handlers and say who may do what.
 * RBAC (Keystone's defaults, simplified): admin does everything; others may
 * read their own user, the projects they have roles on, their own role
 * assignments, and change their own password. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Per kind: the collection's name (also its path under /v3) and the
 * longest name Keystone accepts (0: the kind has no required name). */
static const struct {
    const char *collection;
    size_t name_max;
} kinds[IDENTITY_KINDS] = {
    [IDENTITY_DOMAIN] = { "domains", 64 },
    [IDENTITY_PROJECT] = { "projects", 64 },
    [IDENTITY_USER] = { "users", 255 },
    [IDENTITY_ROLE] = { "roles", 255 },
    [IDENTITY_GROUP] = { "groups", 64 },
    [IDENTITY_REGION] = { "regions", 0 },
    [IDENTITY_SERVICE] = { "services", 0 },
    [IDENTITY_ENDPOINT] = { "endpoints", 0 },
    [IDENTITY_CREDENTIAL] = { "credentials", 0 },
    [IDENTITY_POLICY] = { "policies", 0 },
    [IDENTITY_APP_CRED] = { "application_credentials", 255 },
    [IDENTITY_ACCESS_RULE] = { "access_rules", 0 },
    [IDENTITY_TRUST] = { "OS-TRUST/trusts", 0 },
    [IDENTITY_CONSUMER] = { "OS-OAUTH1/consumers", 0 },
    [IDENTITY_ENDPOINT_GROUP] = { "OS-EP-FILTER/endpoint_groups", 0 },
    [IDENTITY_DOMAIN_CONFIG] = { "config", 0 },
};

const char *idn_kind_path(enum identity_kind k)
{
    return kinds[k].collection;
}

const char *idn_collection(enum identity_kind k)
{
    const char *slash = strrchr(kinds[k].collection, '/');
    return slash ? slash + 1 : kinds[k].collection;
}

/* The four entities with Keystone's fixed shape; the others keep what
 * their body says. */
static bool entity(enum identity_kind k)
{
    return k <= IDENTITY_ROLE || k == IDENTITY_GROUP;
}

const char *idn_me(struct api_req *r)
{
    return api_req_auth(r)->user_id;
}

/* Body {"<kind>": {...}}: the inner object, or replies 400 and NULL. */
static json_t *entity_body(struct api_req *r, json_t *body, enum identity_kind k)
{
    json_t *e = json_object_get(body, identity_kind_name(k));
    if (!json_is_object(e)) {
        api_reply_error(r, 400, "Invalid input for field '%s': an object is required.",
                        identity_kind_name(k));
        return NULL;
    }
    return e;
}

/* Type checks for the fields we know; replies 400 naming the field. */
static bool check_fields(struct api_req *r, enum identity_kind k, json_t *e, bool create)
{
    static const struct {
        const char *name;
        json_type type;
        unsigned kinds;
    } fields[] = {
        { "name", JSON_STRING, 15 },     { "description", JSON_STRING, 15 },
        { "enabled", JSON_TRUE, 7 },     { "domain_id", JSON_STRING, 6 },
        { "tags", JSON_ARRAY, 2 },       { "options", JSON_OBJECT, 15 },
        { "password", JSON_STRING, 4 },  { "default_project_id", JSON_STRING, 4 },
        { "parent_id", JSON_STRING, 2 }, { "is_domain", JSON_TRUE, 2 },
    };
    const char *kn = identity_kind_name(k);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_t *v = json_object_get(e, fields[i].name);
        if (!v || !(fields[i].kinds & (1u << k)))
            continue;
        bool ok = fields[i].type == JSON_TRUE
                      ? json_is_boolean(v)
                      : json_typeof(v) == fields[i].type ||
                            (json_is_null(v) && (!strcmp(fields[i].name, "description") ||
                                                 (!strcmp(fields[i].name, "domain_id") &&
                                                  json_is_true(json_object_get(e, "is_domain"))) ||
                                                 !strcmp(fields[i].name, "default_project_id") ||
                                                 !strcmp(fields[i].name, "password")));
        if (!ok) {
            api_reply_error(r, 400, "Invalid input for field '%s.%s': wrong type.", kn,
                            fields[i].name);
            return false;
        }
    }
    if (!kinds[k].name_max)
        return true;
    json_t *name = json_object_get(e, "name");
    if ((create || name) && (!json_is_string(name) || !json_string_length(name))) {
        api_reply_error(r, 400,
                        "Invalid input for field '%s.name': a non-empty string is "
                        "required.",
                        kn);
        return false;
    }
    if (name && json_string_length(name) > kinds[k].name_max) {
        api_reply_error(r, 400, "Invalid input for field '%s.name': longer than %zu.", kn,
                        kinds[k].name_max);
        return false;
    }
    json_t *tags = json_object_get(e, "tags");
    size_t i;
    json_t *tag;
    json_array_foreach (tags, i, tag) {
        if (!json_is_string(tag)) {
            api_reply_error(r, 400, "Invalid input for field '%s.tags': strings expected.", kn);
            return false;
        }
    }
    return true;
}

/* ---------- lists ---------- */

/* The query filters Keystone's lists take: exact matches on these fields
 * (booleans leniently), and name__contains/icontains/startswith/... */
static const char *const filters[] = {
    "name",       "domain_id",       "enabled",          "type",       "interface",
    "service_id", "region_id",       "parent_region_id", "user_id",    "parent_id",
    "is_domain",  "trustor_user_id", "trustee_user_id",  "project_id", "email",
};

struct list_ctx {
    struct api_req *r;
    enum identity_kind k;
    json_t *out;
    const char *path;
    bool (*visible)(struct api_req *r, json_t *rec, void *ctx);
    void *vctx;
};

static bool text_match(const char *have, const char *op, const char *want)
{
    if (!strcmp(op, "contains"))
        return strstr(have, want) != NULL;
    if (!strcmp(op, "icontains"))
        return strcasestr(have, want) != NULL;
    size_t hl = strlen(have), wl = strlen(want);
    if (!strcmp(op, "startswith"))
        return !strncmp(have, want, wl);
    if (!strcmp(op, "istartswith"))
        return !strncasecmp(have, want, wl);
    if (!strcmp(op, "endswith"))
        return hl >= wl && !strcmp(have + hl - wl, want);
    if (!strcmp(op, "iendswith"))
        return hl >= wl && !strcasecmp(have + hl - wl, want);
    return !strcmp(op, "equals") ? !strcmp(have, want) : true;
}

static bool filters_match(struct api_req *r, json_t *rec)
{
    for (size_t i = 0; i < API_COUNT(filters); i++) {
        const char *want = api_req_query(r, filters[i]);
        if (!want)
            continue;
        json_t *v = json_object_get(rec, filters[i]);
        if (json_is_boolean(v)) {
            if (json_is_true(v) != idn_truthy(want))
                return false;
        } else if (!json_is_string(v) || strcmp(json_string_value(v), want)) {
            return false;
        }
    }
    static const char *const ops[] = { "contains",    "icontains", "startswith",
                                       "istartswith", "endswith",  "iendswith" };
    const char *name = json_string_value(json_object_get(rec, "name"));
    for (size_t i = 0; i < API_COUNT(ops); i++) {
        char key[32];
        snprintf(key, sizeof(key), "name__%s", ops[i]);
        const char *want = api_req_query(r, key);
        if (want && (!name || !text_match(name, ops[i], want)))
            return false;
    }
    return true;
}

static int list_one(json_t *rec, void *ctx)
{
    struct list_ctx *lc = ctx;
    if (!filters_match(lc->r, rec))
        return 0;
    /* Roles: the global ones unless a domain is asked for. */
    if (lc->k == IDENTITY_ROLE && !api_req_query(lc->r, "domain_id") &&
        json_is_string(json_object_get(rec, "domain_id")))
        return 0;
    if (lc->visible && !lc->visible(lc->r, rec, lc->vctx))
        return 0;
    json_array_append_new(lc->out, idn_render(lc->r, lc->k, rec));
    return 0;
}

void idn_entity_collect(struct api_req *r, enum identity_kind k, json_t *out)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t) {
        json_decref(out);
        return;
    }
    struct list_ctx lc = { r, k, out, NULL, NULL, NULL };
    int rc = identity_list(t, idn_of(r), k, list_one, &lc);
    store_abort(t);
    if (rc) {
        json_decref(out);
        idn_fail(r, rc, idn_collection(k), NULL);
        return;
    }
    idn_reply_collection(r, idn_collection(k), NULL, out);
}

void idn_entity_list(struct api_req *r, enum identity_kind k,
                     bool (*visible)(struct api_req *, json_t *, void *), void *vctx)
{
    idn_entity_list_at(r, k, NULL, visible, vctx);
}

void idn_entity_list_at(struct api_req *r, enum identity_kind k, const char *path,
                        bool (*visible)(struct api_req *, json_t *, void *), void *vctx)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    /* Keystone reads booleans leniently (True, yes, on, 1, ...), but a value
     * that is none of them is a client error, not "false". */
    const char *enabled = api_req_query(r, "enabled");
    if (enabled && *enabled && api_bool_word(enabled) < 0) {
        store_abort(t);
        api_reply_error(r, 400, "Invalid value for enabled: %s (a boolean).", enabled);
        return;
    }
    struct list_ctx lc = { r, k, json_array(), path, visible, vctx };
    int rc = identity_list(t, idn_of(r), k, list_one, &lc);
    store_abort(t);
    if (rc) {
        json_decref(lc.out);
        idn_fail(r, rc, idn_collection(k), NULL);
        return;
    }
    idn_reply_collection(r, idn_collection(k), path, lc.out);
}

/* ---------- show ---------- */

void idn_entity_show(struct api_req *r, enum identity_kind k, bool allowed)
{
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec;
    int rc = identity_get(t, idn_of(r), k, id, &rec);
    store_abort(t);
    if (rc) {
        idn_fail(r, rc, identity_kind_name(k), id);
        return;
    }
    if (!allowed) {
        json_decref(rec);
        api_reply_error(r, 403, "You are not authorized to perform the requested action.");
        return;
    }
    json_t *out = idn_render(r, k, rec);
    json_decref(rec);
    api_reply_json(r, 200, json_pack("{s:o}", identity_kind_name(k), out));
}

/* ---------- create / update ---------- */

static bool domain_exists(struct api_req *r, struct store_txn *t, const char *domain_id)
{
    json_t *d;
    if (identity_get(t, idn_of(r), IDENTITY_DOMAIN, domain_id, &d) == 0) {
        json_decref(d);
        return true;
    }
    api_reply_error(r, 404, "Could not find domain: %s.", domain_id);
    return false;
}

/* A project below another takes its domain; a parent_id naming the domain
 * is the top.  Replies 400 and returns false for an unknown parent. */
static bool project_parent(struct api_req *r, struct store_txn *t, json_t *rec)
{
    const char *parent = json_string_value(json_object_get(rec, "parent_id"));
    const char *dom = json_string_value(json_object_get(rec, "domain_id"));
    json_t *p;
    if (!parent || (dom && !strcmp(parent, dom)))
        return true;
    if (identity_get(t, idn_of(r), IDENTITY_PROJECT, parent, &p) != 0) {
        json_t *d;
        if (identity_get(t, idn_of(r), IDENTITY_DOMAIN, parent, &d) == 0) {
            json_object_set_new(rec, "domain_id", json_string(parent));
            json_decref(d);
            return true;
        }
        api_reply_error(r, 404, "Could not find project: %s.", parent);
        return false;
    }
    json_object_set(rec, "domain_id", json_object_get(p, "domain_id"));
    json_decref(p);
    return true;
}

/* A project acting as a domain (is_domain) is a domain too, with the same
 * id (Keystone's model): it lists under /v3/domains. */
static int twin_domain(struct store_txn *t, struct identity *idn, json_t *project)
{
    json_t *d = json_pack("{s:O, s:O, s:O, s:O, s:[], s:{}}", "id", json_object_get(project, "id"),
                          "name", json_object_get(project, "name"), "description",
                          json_object_get(project, "description"), "enabled",
                          json_object_get(project, "enabled"), "tags", "options");
    int rc = d ? identity_create(t, idn, IDENTITY_DOMAIN, d) : -ENOMEM;
    json_decref(d);
    return rc;
}

/* Commits a new record built in rec (stolen) and replies 201. */
static void store_new(struct api_req *r, enum identity_kind k, json_t *rec)
{
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(rec);
        return;
    }
    const char *dom = json_string_value(json_object_get(rec, "domain_id"));
    if (dom && entity(k) && !domain_exists(r, t, dom)) {
        store_abort(t);
        json_decref(rec);
        return;
    }
    if (k == IDENTITY_PROJECT && !project_parent(r, t, rec)) {
        store_abort(t);
        json_decref(rec);
        return;
    }
    const char *dp = json_string_value(json_object_get(rec, "default_project_id"));
    json_t *p;
    if (dp) {
        if (identity_get(t, idn_of(r), IDENTITY_PROJECT, dp, &p) != 0) {
            store_abort(t);
            api_reply_error(r, 400,
                            "Invalid input for field 'user.default_project_id': "
                            "no project %s.",
                            dp);
            json_decref(rec);
            return;
        }
        json_decref(p);
    }
    int rc = identity_create(t, idn_of(r), k, rec);
    if (!rc && k == IDENTITY_PROJECT && json_is_true(json_object_get(rec, "is_domain")))
        rc = twin_domain(t, idn_of(r), rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), NULL);
        json_decref(rec);
        return;
    }
    if (idn_commit(r, t))
        api_reply_json(r, 201, json_pack("{s:o}", identity_kind_name(k), idn_render(r, k, rec)));
    json_decref(rec);
}

/* A new record from the body: Keystone keeps attributes it does not know
 * (and nulls) as the record's extras, so everything but the id, links
 * and password is kept. */
static json_t *new_record(json_t *e, enum identity_kind k)
{
    json_t *rec = json_deep_copy(e);
    json_object_del(rec, "password");
    json_object_del(rec, "links");
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe (rec, tmp, key, v)
        if (key[0] == '_')
            json_object_del(rec, key);
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    if (!(k == IDENTITY_REGION && json_is_string(json_object_get(e, "id"))))
        json_object_set_new(rec, "id", json_string(id));
    if (!entity(k))
        return rec;
    if (!json_is_string(json_object_get(rec, "description")))
        json_object_set_new(rec, "description", json_string(""));
    if (!json_is_object(json_object_get(rec, "options")))
        json_object_set_new(rec, "options", json_object());
    if (k == IDENTITY_DOMAIN) {
        json_t *den = json_object_get(e, "enabled");
        json_object_set_new(rec, "enabled", json_boolean(!den || json_is_true(den)));
        if (!json_is_array(json_object_get(rec, "tags")))
            json_object_set_new(rec, "tags", json_array());
        return rec;
    }
    if (k == IDENTITY_ROLE) {
        if (!json_is_string(json_object_get(rec, "domain_id")))
            json_object_set_new(rec, "domain_id", json_null());
        return rec;
    }
    const char *dom = json_string_value(json_object_get(e, "domain_id"));
    if (!dom)
        json_object_set_new(rec, "domain_id", json_string(IDENTITY_DEFAULT_DOMAIN));
    if (k == IDENTITY_GROUP)
        return rec;
    json_t *en = json_object_get(e, "enabled");
    json_object_set_new(rec, "enabled", json_boolean(!en || json_is_true(en)));
    if (k == IDENTITY_PROJECT) {
        json_object_set_new(rec, "is_domain",
                            json_boolean(json_is_true(json_object_get(e, "is_domain"))));
        if (json_is_true(json_object_get(e, "is_domain"))) {
            json_object_set_new(rec, "domain_id", json_null());
            json_object_set_new(rec, "parent_id", json_null());
            json_object_set_new(rec, "tags", json_array());
            return rec;
        }
        if (!json_is_string(json_object_get(e, "parent_id")))
            json_object_set_new(rec, "parent_id", json_string(dom ? dom : IDENTITY_DEFAULT_DOMAIN));
        if (!json_is_array(json_object_get(e, "tags")))
            json_object_set_new(rec, "tags", json_array());
    } else if (k == IDENTITY_USER) {
        json_object_set_new(rec, "password_expires_at", json_null());
    }
    return rec;
}

/* Users with a password: hashing runs on a worker. */
static void user_create_work(struct api_req *r, void *ctx)
{
    json_t *rec = ctx, *tmp = json_object();
    const char *pw = json_string_value(json_object_get(rec, "_plain"));
    int rc = identity_password_hash(pw, tmp);
    if (!rc)
        rc = identity_password_store(rec, json_string_value(json_object_get(tmp, "_password")),
                                     identity_now_us());
    json_decref(tmp);
    json_object_del(rec, "_plain");
    if (rc) {
        json_decref(rec);
        api_reply_error(r, 500, "Cannot hash the password.");
        return;
    }
    store_new(r, IDENTITY_USER, rec);
}

/* An admin's body {"<kind>": {...}} with its fields checked: the inner
 * object (owned by *body, which the caller releases), or NULL when answered. */
static json_t *admin_entity(struct api_req *r, enum identity_kind k, bool creating, json_t **body)
{
    *body = NULL;
    if (!api_req_require_admin(r) || !(*body = api_req_json(r)))
        return NULL;
    json_t *e = entity_body(r, *body, k);
    return e && check_fields(r, k, e, creating) ? e : NULL;
}

void idn_entity_create(struct api_req *r, enum identity_kind k)
{
    json_t *body, *e = admin_entity(r, k, true, &body);
    if (e) {
        json_t *rec = new_record(e, k);
        json_t *pw = k == IDENTITY_USER ? json_object_get(e, "password") : NULL;
        char why[160];
        if (json_is_string(pw) && identity_password_check(json_string_value(pw), why)) {
            json_decref(rec);
            json_decref(body);
            api_reply_error(r, 400, "%s", why);
            return;
        }
        if (json_is_string(pw)) {
            json_object_set(rec, "_plain", pw);
            api_req_defer(r, user_create_work, rec);
        } else {
            store_new(r, k, rec);
        }
    }
    json_decref(body);
}

/* PATCH: merges the allowed fields into the record, one transaction. */
struct update {
    enum identity_kind k;
    json_t *patch;       /* the inner object */
    json_t *body;        /* owns patch */
    char *password_hash; /* users: new hash computed off-thread */
};

static void update_free(struct update *u)
{
    json_decref(u->body);
    free(u->password_hash);
    free(u);
}

static int collect_user(const char *p, const char *u, const char *role, void *ctx)
{
    (void)p;
    (void)role;
    json_array_append_new(ctx, json_string(u));
    return 0;
}

/* Tokens carry role flags from role names: renaming a role revokes the
 * tokens of everyone holding it. */
static int revoke_holders(struct store_txn *t, struct identity *idn, const char *role)
{
    json_t *holders = json_array();
    int rc = identity_assignments(t, idn, NULL, NULL, role, collect_user, holders);
    size_t i;
    json_t *u;
    json_array_foreach (holders, i, u)
        if (!rc)
            rc = identity_revoke_user(t, idn, json_string_value(u));
    json_decref(holders);
    return rc;
}

struct in_scope {
    const char *field, *id;
    json_t *ids;
};

static int collect_in(json_t *rec, void *ctx)
{
    struct in_scope *in = ctx;
    const char *v = json_string_value(json_object_get(rec, in->field));
    if (v && !strcmp(v, in->id))
        json_array_append(in->ids, json_object_get(rec, "id"));
    return 0;
}

static bool has_children(struct store_txn *t, struct identity *idn, const char *project)
{
    struct in_scope in = { "parent_id", project, json_array() };
    int rc = identity_list(t, idn, IDENTITY_PROJECT, collect_in, &in);
    bool any = rc || json_array_size(in.ids);
    json_decref(in.ids);
    return any;
}

/* A disabled domain: its scoped tokens, and those of its users and
 * projects, stop working (Keystone's behaviour). */
static int revoke_domain(struct store_txn *t, struct identity *idn, const char *domain)
{
    int rc = store_is_id(domain) ? identity_revoke_scope(t, idn, domain) : 0;
    static const enum identity_kind kinds[] = { IDENTITY_USER, IDENTITY_PROJECT };
    for (int k = 0; k < 2 && !rc; k++) {
        struct in_scope in = { "domain_id", domain, json_array() };
        rc = identity_list(t, idn, kinds[k], collect_in, &in);
        size_t i;
        json_t *v;
        json_array_foreach (in.ids, i, v) {
            if (!rc)
                rc = kinds[k] == IDENTITY_USER
                         ? identity_revoke_user(t, idn, json_string_value(v))
                         : identity_revoke_project(t, idn, json_string_value(v));
        }
        json_decref(in.ids);
    }
    return rc;
}

static bool fixed_field(const char *key)
{
    return !strcmp(key, "domain_id") || !strcmp(key, "parent_id") || !strcmp(key, "is_domain");
}

static void apply_update(struct api_req *r, struct update *u)
{
    struct identity *idn = idn_of(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *old, *rec;
    int rc = identity_get(t, idn, u->k, id, &old);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(u->k), id);
        return;
    }
    const char *old_name = json_string_value(json_object_get(old, "name"));
    json_t *new_name = json_object_get(u->patch, "name");
    if (u->k == IDENTITY_ROLE && new_name && old_name &&
        (!strcmp(old_name, "admin") || !strcmp(old_name, "member") ||
         !strcmp(old_name, "reader")) &&
        strcmp(old_name, json_string_value(new_name) ?: "") != 0) {
        /* RBAC reads these names: a rename would change what holders may do. */
        store_abort(t);
        api_reply_error(r, 403, "Cannot rename the built-in role %s.", old_name);
        json_decref(old);
        return;
    }
    rec = json_deep_copy(old);
    const char *key;
    json_t *v;
    json_object_foreach (u->patch, key, v) {
        if (key[0] == '_' || !strcmp(key, "id") || !strcmp(key, "links") ||
            !strcmp(key, "password"))
            continue;
        if (entity(u->k) && fixed_field(key) && !json_equal(v, json_object_get(old, key))) {
            store_abort(t);
            json_decref(old);
            json_decref(rec);
            api_reply_error(r, 400, "Invalid input for field '%s.%s': it cannot change.",
                            identity_kind_name(u->k), key);
            return;
        }
        json_object_set(rec, key, v);
    }
    if (u->password_hash)
        rc = identity_password_store(rec, u->password_hash, identity_now_us());
    if (rc) {
        store_abort(t);
        json_decref(old);
        json_decref(rec);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    rc = identity_update(t, idn, u->k, old, rec);
    bool was_enabled = json_is_true(json_object_get(old, "enabled"));
    bool disabled = was_enabled && !json_is_true(json_object_get(rec, "enabled"));
    if (!rc && u->k == IDENTITY_USER && (disabled || u->password_hash))
        rc = identity_revoke_user(t, idn, id);
    if (!rc && u->k == IDENTITY_PROJECT && disabled)
        rc = identity_revoke_project(t, idn, id);
    if (!rc && u->k == IDENTITY_DOMAIN && disabled)
        rc = revoke_domain(t, idn, id);
    if (!rc && u->k == IDENTITY_ROLE &&
        !json_equal(json_object_get(old, "name"), json_object_get(rec, "name")))
        rc = revoke_holders(t, idn, id);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(u->k), id);
    } else if (idn_commit(r, t)) {
        api_reply_json(r, 200,
                       json_pack("{s:o}", identity_kind_name(u->k), idn_render(r, u->k, rec)));
    }
    json_decref(old);
    json_decref(rec);
}

static void update_work(struct api_req *r, void *ctx)
{
    struct update *u = ctx;
    json_t *tmp = json_object();
    if (identity_password_hash(json_string_value(json_object_get(u->patch, "password")), tmp)) {
        api_reply_error(r, 500, "Cannot hash the password.");
    } else {
        u->password_hash = strdup(json_string_value(json_object_get(tmp, "_password")));
        apply_update(r, u);
    }
    json_decref(tmp);
    update_free(u);
}

void idn_entity_update(struct api_req *r, enum identity_kind k)
{
    json_t *body, *e = admin_entity(r, k, false, &body);
    if (!e) {
        json_decref(body);
        return;
    }
    json_t *eid = json_object_get(e, "id");
    if (eid && (!json_is_string(eid) || strcmp(json_string_value(eid), api_req_param(r, 0)))) {
        json_decref(body);
        api_reply_error(r, 400, "Invalid input for field '%s.id': it cannot change.",
                        identity_kind_name(k));
        return;
    }
    struct update *u = calloc(1, sizeof(*u));
    if (!u) {
        json_decref(body);
        api_reply_error(r, 500, "Out of memory.");
        return;
    }
    *u = (struct update){ k, e, body, NULL };
    char why[160];
    if (k == IDENTITY_USER && json_is_string(json_object_get(e, "password")) &&
        identity_password_check(json_string_value(json_object_get(e, "password")), why)) {
        update_free(u);
        api_reply_error(r, 400, "%s", why);
        return;
    }
    if (k == IDENTITY_USER && json_is_string(json_object_get(e, "password"))) {
        api_req_defer(r, update_work, u);
        return;
    }
    apply_update(r, u);
    update_free(u);
}

/* ---------- delete ---------- */

void idn_entity_delete(struct api_req *r, enum identity_kind k)
{
    if (!api_req_require_admin(r))
        return;
    struct identity *idn = idn_of(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec;
    int rc = identity_get(t, idn, k, id, &rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), id);
        return;
    }
    /* Tokens carry roles: whoever held this role loses its tokens. */
    if (k == IDENTITY_ROLE)
        rc = revoke_holders(t, idn, id);
    /* Keystone deletes only a leaf project. */
    if (!rc && k == IDENTITY_PROJECT && has_children(t, idn, id)) {
        store_abort(t);
        json_decref(rec);
        api_reply_error(r, 403, "Cannot delete project %s: it has child projects.", id);
        return;
    }
    if (!rc)
        rc = identity_delete(t, idn, k, rec);
    json_t *twin = NULL;
    if (!rc && k == IDENTITY_PROJECT && json_is_true(json_object_get(rec, "is_domain")) &&
        identity_get(t, idn, IDENTITY_DOMAIN, id, &twin) == 0) {
        rc = identity_delete(t, idn, IDENTITY_DOMAIN, twin);
        json_decref(twin);
    }
    if (!rc && k == IDENTITY_USER)
        rc = identity_revoke_user(t, idn, id);
    if (!rc && k == IDENTITY_PROJECT)
        rc = identity_revoke_project(t, idn, id);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, identity_kind_name(k), id);
    } else if (idn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}
