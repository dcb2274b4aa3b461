/* Flavors: list (+ detail, filters, pages), show, create/delete (admin),
 * extra specs, access to private flavors. */
#include "api/compute/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *caller_project(struct api_req *r)
{
    const struct identity_token *t = api_req_auth(r);
    return t && t->project_id[0] ? t->project_id : NULL;
}

static json_t *links(struct api_req *r, const char *id)
{
    char self[600], book[600];
    snprintf(self, sizeof self, "%s/compute/v2.1/flavors/%s", api_req_base_url(r), id);
    snprintf(book, sizeof book, "%s/compute/flavors/%s", api_req_base_url(r), id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "href", self, "rel", "self", "href", book, "rel",
                     "bookmark");
}

static json_t *view(struct api_req *r, json_t *f, bool detail)
{
    const char *id = json_string_value(json_object_get(f, "id"));
    if (!detail)
        return json_pack("{s:s, s:O, s:o}", "id", id, "name", json_object_get(f, "name"), "links",
                         links(r, id));
    json_int_t swap = json_integer_value(json_object_get(f, "swap"));
    return json_pack("{s:s, s:O, s:O, s:O, s:O, s:o, s:O, s:b, s:O, s:O, s:o}", "id", id, "name",
                     json_object_get(f, "name"), "ram", json_object_get(f, "ram"), "vcpus",
                     json_object_get(f, "vcpus"), "disk", json_object_get(f, "disk"), "swap",
                     swap ? json_integer(swap) : json_string(""), "OS-FLV-EXT-DATA:ephemeral",
                     json_object_get(f, "ephemeral"), "OS-FLV-DISABLED:disabled", 0,
                     "os-flavor-access:is_public", json_object_get(f, "is_public"), "rxtx_factor",
                     json_object_get(f, "rxtx_factor"), "links", links(r, id));
}

/* Nova's is_public query: true (default), false, or none (all). */
static int parse_public(const char *v)
{
    if (!v)
        return 1;
    if (!strcasecmp(v, "none"))
        return -1;
    int b = api_bool_word(v);
    return b < 0 ? -2 : b;
}

static bool parse_min(const char *v, long *out)
{
    if (!v)
        return true;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > INT_MAX)
        return false;
    *out = n;
    return true;
}

static bool keep(struct api_req *r, json_t *f, int pub, long min_ram, long min_disk)
{
    bool is_pub = json_is_true(json_object_get(f, "is_public"));
    bool admin = api_req_is_admin(r);
    if (!admin && !compute_flavor_visible(f, caller_project(r)))
        return false;
    /* Admins filter on the flag; others also see the private flavors they
     * were given with is_public=true, as Nova does. */
    if (pub == 1 && !is_pub && admin)
        return false;
    if (pub == 0 && is_pub)
        return false;
    return json_integer_value(json_object_get(f, "ram")) >= min_ram &&
           json_integer_value(json_object_get(f, "disk")) >= min_disk;
}

static void list(struct api_req *r, bool detail)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    int pub = parse_public(api_req_query(r, "is_public"));
    long min_ram = 0, min_disk = 0, limit = LONG_MAX;
    const char *lim = api_req_query(r, "limit"), *marker = api_req_query(r, "marker");
    if (pub == -2 || !parse_min(api_req_query(r, "minRam"), &min_ram) ||
        !parse_min(api_req_query(r, "minDisk"), &min_disk) || !parse_min(lim, &limit))
        return api_reply_error(r, 400, "Invalid filter or limit in the query.");
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *all;
    int rc = compute_flavor_list(st->c, t, &all);
    store_abort(t);
    if (rc)
        return api_reply_errno(r, rc, "Listing flavors failed.");
    json_t *out = json_array();
    bool started = !marker, found = !marker, more = false;
    const char *last = NULL;
    size_t i;
    json_t *f;
    json_array_foreach (all, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        if (!started) {
            if (!strcmp(id, marker))
                started = found = true;
            continue;
        }
        if (!keep(r, f, pub, min_ram, min_disk))
            continue;
        if ((long)json_array_size(out) >= limit) {
            more = true;
            break;
        }
        json_array_append_new(out, view(r, f, detail));
        last = id;
    }
    if (!found) {
        json_decref(all);
        json_decref(out);
        return api_reply_error(r, 400, "marker [%s] not found", marker);
    }
    json_t *body = json_pack("{s:o}", "flavors", out);
    if (more && last) {
        char next[700];
        snprintf(next, sizeof next, "%s/compute/v2.1/flavors%s?limit=%ld&marker=%s",
                 api_req_base_url(r), detail ? "/detail" : "", limit, last);
        json_object_set_new(body, "flavors_links",
                            json_pack("[{s:s, s:s}]", "rel", "next", "href", next));
    }
    json_decref(all);
    api_reply_json(r, 200, body);
}

void cmp_flavor_list(struct api_req *r)
{
    list(r, false);
}

void cmp_flavor_detail(struct api_req *r)
{
    list(r, true);
}

/* The flavor of param 0 visible to the caller, or replies 404 (NULL). */
static json_t *load(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return NULL;
    json_t *f = NULL;
    int rc = compute_flavor_get(st->c, t, id, &f);
    store_abort(t);
    if (!rc && !api_req_is_admin(r) && !compute_flavor_visible(f, caller_project(r))) {
        json_decref(f);
        rc = -ENOENT;
    }
    if (rc) {
        api_reply_errno(r, rc, "Flavor %s could not be found.", id);
        return NULL;
    }
    return f;
}

void cmp_flavor_show(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *f = load(r);
    if (!f)
        return;
    api_reply_json(r, 200, json_pack("{s:o}", "flavor", view(r, f, true)));
    json_decref(f);
}

void cmp_flavor_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *body, *in = cmp_body(r, "flavor", &body);
    if (!in)
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *f = NULL;
    struct compute_err err = { "" };
    int rc = compute_flavor_create(st->c, t, in, &f, &err);
    json_decref(body);
    if (rc) {
        store_abort(t);
        return cmp_reply_err(r, rc, &err, "Flavor create failed.");
    }
    if (api_txn_commit(r, t))
        api_reply_json(r, 200, json_pack("{s:o}", "flavor", view(r, f, true)));
    json_decref(f);
}

void cmp_flavor_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    int rc = compute_flavor_delete(st->c, t, api_req_param(r, 0));
    if (rc) {
        store_abort(t);
        return api_reply_errno(r, rc, "Flavor %s could not be found.", api_req_param(r, 0));
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, 202);
}

static json_t *access_view(json_t *f)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(f, "access"), i, p)
        json_array_append_new(
            out, json_pack("{s:O, s:O}", "flavor_id", json_object_get(f, "id"), "tenant_id", p));
    return json_pack("{s:o}", "flavor_access", out);
}

void cmp_flavor_access_list(struct api_req *r)
{
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *f = load(r);
    if (!f)
        return;
    if (json_is_true(json_object_get(f, "is_public")))
        api_reply_error(r, 404, "Access list not available for public flavors.");
    else
        api_reply_json(r, 200, access_view(f));
    json_decref(f);
}

/* POST /flavors/{id}/action: addTenantAccess / removeTenantAccess. */
void cmp_flavor_action(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *add = json_object_get(body, "addTenantAccess");
    json_t *del = json_object_get(body, "removeTenantAccess");
    json_t *arg = add ?: del;
    if (!json_is_object(arg) || (add && del)) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid action: addTenantAccess or removeTenantAccess.");
    }
    const char *tenant = json_string_value(json_object_get(arg, "tenant"));
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    struct compute_err err = { "" };
    int rc = compute_flavor_access(st->c, t, api_req_param(r, 0), tenant, add != NULL, &err);
    json_decref(body);
    json_t *f = NULL;
    if (!rc)
        rc = compute_flavor_get(st->c, t, api_req_param(r, 0), &f);
    if (rc) {
        store_abort(t);
        return cmp_reply_err(r, rc, &err, "Flavor access failed.");
    }
    if (api_txn_commit(r, t))
        api_reply_json(r, 200, access_view(f));
    json_decref(f);
}

/* ---- extra specs ---- */

void cmp_specs_list(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *f = load(r);
    if (!f)
        return;
    api_reply_json(r, 200, json_pack("{s:O}", "extra_specs", json_object_get(f, "extra_specs")));
    json_decref(f);
}

static void set_specs(struct api_req *r, json_t *specs, json_t *body, bool whole)
{
    struct cmp_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t) {
        json_decref(body);
        return;
    }
    json_t *all = NULL;
    struct compute_err err = { "" };
    int rc = compute_flavor_set_specs(st->c, t, api_req_param(r, 0), specs, &all, &err);
    if (rc) {
        store_abort(t);
        json_decref(body);
        return cmp_reply_err(r, rc, &err, "Setting extra specs failed.");
    }
    json_decref(all);
    if (api_txn_commit(r, t))
        api_reply_json(r, 200,
                       whole ? json_pack("{s:O}", "extra_specs", specs) : json_incref(specs));
    json_decref(body);
}

void cmp_specs_create(struct api_req *r)
{
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *body, *specs = cmp_body(r, "extra_specs", &body);
    if (specs)
        set_specs(r, specs, body, true);
}

void cmp_spec_show(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *f = load(r);
    if (!f)
        return;
    const char *key = api_req_param(r, 1);
    json_t *v = json_object_get(json_object_get(f, "extra_specs"), key);
    if (v)
        api_reply_json(r, 200, json_pack("{s:O}", key, v));
    else
        api_reply_error(r, 404, "Flavor %s has no extra specs with key %s.", api_req_param(r, 0),
                        key);
    json_decref(f);
}

void cmp_spec_update(struct api_req *r)
{
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    json_t *body = api_req_json(r);
    if (!body)
        return;
    if (json_object_size(body) != 1 || !json_object_get(body, api_req_param(r, 1))) {
        json_decref(body);
        return api_reply_error(r, 400, "Request body and URI mismatch");
    }
    set_specs(r, body, json_incref(body), false);
    json_decref(body);
}

void cmp_spec_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0 || !api_req_require_admin(r))
        return;
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    int rc = compute_flavor_del_spec(st->c, t, api_req_param(r, 0), api_req_param(r, 1));
    if (rc) {
        store_abort(t);
        return api_reply_errno(r, rc, "Flavor %s has no extra specs with key %s.",
                               api_req_param(r, 0), api_req_param(r, 1));
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, 200);
}
