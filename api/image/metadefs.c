/* Glance metadata definitions (/v2/metadefs/...): namespaces and, inside
 * each, objects, properties, tags and resource type associations, plus the
 * resource types and the metadefs schemas.  One namespace is one record
 * (table "images.metadefs", keyed by its name) holding its children, so
 * every change is one read-modify-write in one LMDB transaction.
 * RBAC as Glance's defaults: admin manages them; everyone reads public
 * namespaces, owners and admin read private ones. */
#include "api/image/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned t_metadefs;

int img_metadefs_init(struct store *s)
{
    return store_table(s, "images.metadefs", &t_metadefs);
}

/* The resource types Glance ships its definitions for. */
static const char *const resource_types[] = {
    "OS::Glance::Image", "OS::Cinder::Volume",  "OS::Nova::Flavor",    "OS::Nova::Aggregate",
    "OS::Nova::Server",  "OS::Trove::Instance", "OS::Glance::Metadef", "OS::Software::WebServer",
};

/* Children of a namespace: the key of their map in the record. */
enum child { OBJECTS, PROPERTIES, TAGS, RTYPES };
static const char *const child_key[] = { "objects", "properties", "tags",
                                         "resource_type_associations" };

static const char *sval(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool readable(struct api_req *r, json_t *ns)
{
    const char *vis = sval(ns, "visibility"), *owner = sval(ns, "owner");
    return api_req_is_admin(r) || (vis && !strcmp(vis, "public")) ||
           (owner && !strcmp(owner, api_req_auth(r)->project_id));
}

/* The namespace {0} in t if the caller may see it (404 otherwise). */
static json_t *load(struct api_req *r, struct store_txn *t)
{
    json_t *ns = NULL;
    int rc = store_get(t, t_metadefs, api_req_param(r, 0), &ns);
    if (rc == 0 && !readable(r, ns)) {
        json_decref(ns);
        rc = -ENOENT;
    }
    if (rc) {
        api_reply_error(r, rc == -ENOENT ? 404 : 500,
                        "Metadata definition namespace=%s was not "
                        "found.",
                        api_req_param(r, 0));
        return NULL;
    }
    return ns;
}

static void stamp(json_t *o, bool created)
{
    char now[32];
    image_timestamp(now);
    if (created)
        json_object_set_new(o, "created_at", json_string(now));
    json_object_set_new(o, "updated_at", json_string(now));
}

/* The namespace as Glance shows it: children maps become what the API
 * lists (objects and tags as arrays, properties as a map). */
static json_t *ns_view(json_t *ns, bool full)
{
    json_t *v = json_deep_copy(ns);
    char self[300];
    snprintf(self, sizeof self, "/v2/metadefs/namespaces/%s", sval(ns, "namespace") ?: "");
    json_object_set_new(v, "self", json_string(self));
    json_object_set_new(v, "schema", json_string("/v2/schemas/metadefs/namespace"));
    for (int c = OBJECTS; c <= RTYPES; c++) {
        json_t *m = json_object_get(ns, child_key[c]);
        if (!full || !json_object_size(m)) {
            json_object_del(v, child_key[c]);
            continue;
        }
        if (c == PROPERTIES)
            continue;
        json_t *arr = json_array();
        const char *k;
        json_t *e;
        json_object_foreach (m, k, e)
            json_array_append(arr, e);
        json_object_set_new(v, child_key[c], arr);
    }
    return v;
}

static bool admin(struct api_req *r)
{
    return api_req_require_admin(r);
}

static bool valid_name(const char *s)
{
    return s && *s && strlen(s) <= 80;
}

/* ---------- namespaces ---------- */

struct listing {
    struct api_req *r;
    json_t *out;
    const char *visibility, *resource_type;
};

static int list_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key;
    (void)klen;
    struct listing *l = ctx;
    json_t *ns = store_decode(val, vlen);
    if (!ns)
        return -EIO;
    bool ok = readable(l->r, ns) &&
              (!l->visibility || !strcmp(sval(ns, "visibility") ?: "", l->visibility)) &&
              (!l->resource_type ||
               json_object_get(json_object_get(ns, child_key[RTYPES]), l->resource_type));
    if (ok)
        json_array_append_new(l->out, ns_view(ns, false));
    json_decref(ns);
    return 0;
}

void img_metadef_ns_list(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    struct listing l = { r, json_array(), api_req_query(r, "visibility"),
                         api_req_query(r, "resource_types") };
    int rc = store_scan(t, t_metadefs, NULL, 0, list_one, &l);
    store_abort(t);
    if (rc) {
        json_decref(l.out);
        api_reply_error(r, 500, "Cannot list namespaces: %s", strerror(-rc));
        return;
    }
    api_reply_json(r, 200,
                   json_pack("{s:o, s:s, s:s}", "namespaces", l.out, "first",
                             "/v2/metadefs/namespaces", "schema",
                             "/v2/schemas/metadefs/namespaces"));
}

/* Checks the namespace fields in body; replies 400 and returns false. */
static bool ns_fields_ok(struct api_req *r, json_t *b)
{
    json_t *vis = json_object_get(b, "visibility"), *prot = json_object_get(b, "protected");
    if (!valid_name(sval(b, "namespace")) ||
        (vis && (!json_is_string(vis) || (strcmp(json_string_value(vis), "public") &&
                                          strcmp(json_string_value(vis), "private")))) ||
        (prot && !json_is_boolean(prot))) {
        api_reply_error(r, 400,
                        "Invalid namespace: 'namespace' (1 to 80 characters), "
                        "'visibility' public or private, 'protected' a boolean.");
        return false;
    }
    return true;
}

void img_metadef_ns_create(struct api_req *r)
{
    if (!admin(r))
        return;
    json_t *b = api_req_json(r);
    if (!b || !ns_fields_ok(r, b)) {
        json_decref(b);
        return;
    }
    json_t *ns = json_deep_copy(b);
    json_decref(b);
    if (!json_object_get(ns, "visibility"))
        json_object_set_new(ns, "visibility", json_string("private"));
    if (!json_object_get(ns, "protected"))
        json_object_set_new(ns, "protected", json_false());
    json_object_set_new(ns, "owner", json_string(api_req_auth(r)->project_id));
    stamp(ns, true);
    /* children given at creation (arrays of {name, ...}) become maps */
    for (int c = OBJECTS; c <= RTYPES; c++) {
        json_t *given = json_object_get(ns, child_key[c]), *m = json_object();
        size_t i;
        json_t *e;
        if (c == PROPERTIES && json_is_object(given)) {
            json_object_update(m, given);
        } else {
            json_array_foreach (given, i, e) {
                if (json_is_object(e) && sval(e, "name"))
                    json_object_set(m, sval(e, "name"), e);
            }
        }
        json_object_set_new(ns, child_key[c], m);
    }
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(ns);
        return;
    }
    json_t *old;
    int rc = store_get(t, t_metadefs, sval(ns, "namespace"), &old);
    if (rc == 0) {
        json_decref(old);
        rc = -EEXIST;
    } else if (rc == -ENOENT) {
        rc = store_put(t, t_metadefs, sval(ns, "namespace"), ns);
    }
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Cannot create namespace %s: %s", sval(ns, "namespace"),
                        rc == -EEXIST ? "it exists" : strerror(-rc));
    } else if (api_txn_commit(r, t)) {
        api_reply_json(r, 201, ns_view(ns, true));
    }
    json_decref(ns);
}

void img_metadef_ns_show(struct api_req *r)
{
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *ns = load(r, t);
    store_abort(t);
    if (ns)
        api_reply_json(r, 200, ns_view(ns, true));
    json_decref(ns);
}

/* Writes ns under its (maybe new) name in place of the record named {0}. */
static int save(struct store_txn *t, struct api_req *r, json_t *ns)
{
    const char *old = api_req_param(r, 0), *name = sval(ns, "namespace");
    int rc = 0;
    if (strcmp(old, name)) {
        json_t *clash;
        if (store_get(t, t_metadefs, name, &clash) == 0) {
            json_decref(clash);
            return -EEXIST;
        }
        rc = store_del(t, t_metadefs, old);
    }
    return rc ? rc : store_put(t, t_metadefs, name, ns);
}

void img_metadef_ns_update(struct api_req *r)
{
    if (!admin(r))
        return;
    json_t *b = api_req_json(r);
    if (!b || !ns_fields_ok(r, b)) {
        json_decref(b);
        return;
    }
    struct store_txn *t = api_txn_begin(r, true);
    json_t *ns = t ? load(r, t) : NULL;
    if (!ns) {
        if (t)
            store_abort(t);
        json_decref(b);
        return;
    }
    static const char *const fields[] = { "namespace", "display_name", "description", "visibility",
                                          "protected" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_get(b, fields[i]))
            json_object_set(ns, fields[i], json_object_get(b, fields[i]));
    json_decref(b);
    stamp(ns, false);
    int rc = save(t, r, ns);
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Cannot update namespace %s", api_req_param(r, 0));
    } else if (api_txn_commit(r, t)) {
        api_reply_json(r, 200, ns_view(ns, false));
    }
    json_decref(ns);
}

void img_metadef_ns_delete(struct api_req *r)
{
    if (!admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    json_t *ns = t ? load(r, t) : NULL;
    if (!ns) {
        if (t)
            store_abort(t);
        return;
    }
    int rc = json_is_true(json_object_get(ns, "protected"))
                 ? -EPERM
                 : store_del(t, t_metadefs, api_req_param(r, 0));
    json_decref(ns);
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Namespace %s is protected and cannot be deleted.",
                        api_req_param(r, 0));
    } else if (api_txn_commit(r, t)) {
        api_reply_empty(r, 204);
    }
}

/* ---------- children: objects, properties, tags, resource types ---------- */

static enum child child_of(struct api_req *r)
{
    const char *p = api_req_path(r);
    return strstr(p, "/objects")      ? OBJECTS
           : strstr(p, "/properties") ? PROPERTIES
           : strstr(p, "/tags")       ? TAGS
                                      : RTYPES;
}

static void reply_child(struct api_req *r, enum child c, json_t *e, int status)
{
    json_t *v = json_deep_copy(e);
    if (c == OBJECTS) {
        char self[400];
        snprintf(self, sizeof self, "/v2/metadefs/namespaces/%s/objects/%s", api_req_param(r, 0),
                 sval(e, "name") ?: "");
        json_object_set_new(v, "self", json_string(self));
        json_object_set_new(v, "schema", json_string("/v2/schemas/metadefs/object"));
    }
    api_reply_json(r, status, v);
}

void img_metadef_child_list(struct api_req *r)
{
    enum child c = child_of(r);
    struct store_txn *t = api_txn_begin(r, false);
    json_t *ns = t ? load(r, t) : NULL;
    if (t)
        store_abort(t);
    if (!ns)
        return;
    json_t *m = json_object_get(ns, child_key[c]), *out;
    if (c == PROPERTIES) {
        out = json_incref(m ? m : json_object());
    } else {
        out = json_array();
        const char *k;
        json_t *e;
        json_object_foreach (m, k, e)
            json_array_append(out, e);
    }
    json_decref(ns);
    api_reply_json(r, 200, json_pack("{s:o}", child_key[c], out));
}

void img_metadef_child_show(struct api_req *r)
{
    enum child c = child_of(r);
    struct store_txn *t = api_txn_begin(r, false);
    json_t *ns = t ? load(r, t) : NULL;
    if (t)
        store_abort(t);
    if (!ns)
        return;
    json_t *e = json_object_get(json_object_get(ns, child_key[c]), api_req_param(r, 1));
    if (e)
        reply_child(r, c, e, 200);
    else
        api_reply_error(r, 404, "Metadata definition %s=%s was not found.", child_key[c],
                        api_req_param(r, 1));
    json_decref(ns);
}

/* One change of a namespace's children, in one transaction: op 'C'
 * create (body {name, ...}), 'U' update {1}, 'D' delete {1}, 'A' delete
 * all, 'M' create many tags ({"tags": [...]}), 'T' create tag {1}. */
static void child_change(struct api_req *r, char op)
{
    if (!admin(r))
        return;
    enum child c = child_of(r);
    json_t *b = NULL;
    if (op == 'C' || op == 'U' || op == 'M') {
        if (!(b = api_req_json(r)))
            return;
        if (op != 'M' && !valid_name(sval(b, "name"))) {
            json_decref(b);
            api_reply_error(r, 400, "Invalid input: 'name' (1 to 80 characters) is required.");
            return;
        }
    }
    struct store_txn *t = api_txn_begin(r, true);
    json_t *ns = t ? load(r, t) : NULL;
    if (!ns) {
        if (t)
            store_abort(t);
        json_decref(b);
        return;
    }
    json_t *m = json_object_get(ns, child_key[c]);
    if (!json_is_object(m))
        json_object_set_new(ns, child_key[c], m = json_object());
    const char *target = api_req_param(r, 1);
    json_t *result = NULL;
    int rc = 0;
    if ((op == 'U' || op == 'D') && !json_object_get(m, target)) {
        rc = -ENOENT;
    } else if (op == 'C' || op == 'T') {
        const char *name = op == 'T' ? target : sval(b, "name");
        if (json_object_get(m, name)) {
            rc = -EEXIST;
        } else {
            result = op == 'T' ? json_pack("{s:s}", "name", name) : json_deep_copy(b);
            stamp(result, true);
            json_object_set(m, name, result);
        }
    } else if (op == 'U') {
        result = json_deep_copy(json_object_get(m, target));
        json_object_update(result, b);
        stamp(result, false);
        const char *name = sval(result, "name");
        if (strcmp(name, target) && json_object_get(m, name)) {
            rc = -EEXIST;
        } else {
            json_object_del(m, target);
            json_object_set(m, name, result);
        }
    } else if (op == 'D') {
        json_object_del(m, target);
    } else if (op == 'A') {
        json_object_clear(m);
    } else if (op == 'M') {
        json_t *tags = json_object_get(b, "tags");
        size_t i;
        json_t *e;
        if (!json_is_array(tags))
            rc = -EINVAL;
        if (!json_object_get(b, "append"))
            json_object_clear(m);
        json_array_foreach (rc ? NULL : tags, i, e) {
            if (!valid_name(sval(e, "name"))) {
                rc = -EINVAL;
                break;
            }
            json_t *tag = json_pack("{s:s}", "name", sval(e, "name"));
            stamp(tag, true);
            json_object_set_new(m, sval(e, "name"), tag);
        }
        result = json_pack("{s:O}", "tags", tags);
    }
    if (!rc) {
        stamp(ns, false);
        rc = store_put(t, t_metadefs, api_req_param(r, 0), ns);
    }
    json_decref(ns);
    json_decref(b);
    if (rc) {
        store_abort(t);
        api_reply_errno(r, rc, "Metadata definition %s: %s", child_key[c],
                        rc == -ENOENT   ? "not found"
                        : rc == -EEXIST ? "a duplicate"
                                        : "invalid");
    } else if (api_txn_commit(r, t)) {
        if (op == 'D' || op == 'A')
            api_reply_empty(r, 204);
        else if (op == 'M')
            api_reply_json(r, 201, json_incref(result));
        else
            reply_child(r, c, result, op == 'U' ? 200 : 201);
    }
    json_decref(result);
}

void img_metadef_child_create(struct api_req *r)
{
    child_change(r, child_of(r) == TAGS ? 'M' : 'C');
}
void img_metadef_child_update(struct api_req *r)
{
    child_change(r, 'U');
}
void img_metadef_child_delete(struct api_req *r)
{
    child_change(r, 'D');
}
void img_metadef_child_delete_all(struct api_req *r)
{
    child_change(r, 'A');
}
void img_metadef_tag_create(struct api_req *r)
{
    child_change(r, 'T');
}

/* POST /namespaces/{ns}/resource_types: an association {name, prefix...}. */
void img_metadef_rtype_create(struct api_req *r)
{
    child_change(r, 'C');
}

void img_metadef_rtypes(struct api_req *r)
{
    json_t *out = json_array();
    char now[32];
    image_timestamp(now);
    for (size_t i = 0; i < sizeof resource_types / sizeof resource_types[0]; i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "name", resource_types[i],
                                             "created_at", now, "updated_at", now));
    api_reply_json(r, 200, json_pack("{s:o}", "resource_types", out));
}

/* ---------- schemas (/v2/schemas/metadefs/{name}) ---------- */

void img_metadef_schema(struct api_req *r)
{
    static const struct {
        const char *path, *name, *item;
    } schemas[] = {
        { "namespace", "namespace", NULL },
        { "namespaces", "namespaces", "namespace" },
        { "object", "object", NULL },
        { "objects", "objects", "object" },
        { "property", "property", NULL },
        { "properties", "properties", "property" },
        { "tag", "tag", NULL },
        { "tags", "tags", "tag" },
        { "resource_type", "resource_type_association", NULL },
        { "resource_types", "resource_type_associations", "resource_type_association" },
    };
    const char *which = api_req_param(r, 0);
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        if (strcmp(which, schemas[i].path))
            continue;
        json_t *props = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "name", "type", "string",
                                  "description", "type", "string", "created_at", "type", "string",
                                  "updated_at", "type", "string");
        json_t *body;
        if (schemas[i].item)
            body = json_pack("{s:s, s:{s:{s:s, s:{s:s, s:o}}, s:{s:s}, s:{s:s}}, s:[]}", "name",
                             schemas[i].name, "properties", schemas[i].name, "type", "array",
                             "items", "type", "object", "properties", props, "first", "type",
                             "string", "schema", "type", "string", "links");
        else
            body = json_pack("{s:s, s:o, s:b, s:[]}", "name", schemas[i].name, "properties", props,
                             "additionalProperties", 0, "links");
        api_reply_json(r, 200, body);
        return;
    }
    api_reply_error(r, 404, "No schema named metadefs/%s", which);
}
