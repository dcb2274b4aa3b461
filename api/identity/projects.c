/* Keystone /v3/projects: admin manages them; other users see the projects
 * their token is scoped to. */
#include "api/identity/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Non-admins see the projects they have a role on (in their token's view). */
static bool has_role_on(struct api_req *r, json_t *rec, void *ctx)
{
    struct store_txn *t = ctx;
    (void)t;
    const char *pid = json_string_value(json_object_get(rec, "id"));
    return !strcmp(pid, api_req_auth(r)->project_id);
}

/* Keystone's default policy: listing projects is the admin's (a user
 * lists its own through /v3/auth/projects or /v3/users/{id}/projects). */
void idn_project_list(struct api_req *r)
{
    (void)has_role_on;
    if (api_req_require_admin(r))
        idn_entity_list(r, IDENTITY_PROJECT, NULL, NULL);
}

void idn_project_show(struct api_req *r)
{
    idn_entity_show(r, IDENTITY_PROJECT,
                    api_req_is_admin(r) ||
                        !strcmp(api_req_param(r, 0), api_req_auth(r)->project_id));
}

void idn_project_create(struct api_req *r)
{
    idn_entity_create(r, IDENTITY_PROJECT);
}

void idn_project_update(struct api_req *r)
{
    idn_entity_update(r, IDENTITY_PROJECT);
}

void idn_project_delete(struct api_req *r)
{
    idn_entity_delete(r, IDENTITY_PROJECT);
}

/* ---------- project tags (/v3/projects/{id}/tags[/{tag}]) ---------- */

/* Keystone's tag rules: 1..255 characters, no '/' or ','; at most 80. */
static bool tag_ok(const char *tag)
{
    size_t n = tag ? strlen(tag) : 0;
    return n > 0 && n <= 255 && !strchr(tag, '/') && !strchr(tag, ',');
}

static json_t *project_for(struct api_req *r, struct store_txn *t)
{
    json_t *rec;
    int rc = identity_get(t, idn_of(r), IDENTITY_PROJECT, api_req_param(r, 0), &rec);
    if (rc) {
        idn_fail(r, rc, "project", api_req_param(r, 0));
        return NULL;
    }
    return rec;
}

static bool may_read(struct api_req *r)
{
    if (api_req_is_admin(r) || !strcmp(api_req_param(r, 0), api_req_auth(r)->project_id))
        return true;
    api_reply_error(r, 403, "You are not authorized to perform the requested action.");
    return false;
}

static int tag_index(json_t *tags, const char *tag)
{
    size_t i;
    json_t *v;
    json_array_foreach (tags, i, v)
        if (!strcmp(json_string_value(v) ?: "", tag))
            return (int)i;
    return -1;
}

void idn_project_tags(struct api_req *r)
{
    if (!may_read(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    json_t *rec = t ? project_for(r, t) : NULL;
    if (t)
        store_abort(t);
    if (rec)
        api_reply_json(r, 200, json_pack("{s:O}", "tags", json_object_get(rec, "tags")));
    json_decref(rec);
}

void idn_project_tag(struct api_req *r)
{
    if (!may_read(r))
        return;
    struct store_txn *t = api_txn_begin(r, false);
    json_t *rec = t ? project_for(r, t) : NULL;
    if (t)
        store_abort(t);
    if (rec && tag_index(json_object_get(rec, "tags"), api_req_param(r, 1)) >= 0)
        api_reply_empty(r, 204);
    else if (rec)
        api_reply_error(r, 404, "Could not find tag: %s.", api_req_param(r, 1));
    json_decref(rec);
}

/* Changes the project's tags in one transaction: replaces them with
 * replace (stolen) when given, else adds or removes tag.  Replies status
 * (with the tags unless 204). */
static void store_tags(struct api_req *r, json_t *replace, const char *tag, bool add, int status)
{
    struct store_txn *t = api_txn_begin(r, true);
    json_t *old = t ? project_for(r, t) : NULL;
    if (!old) {
        if (t)
            store_abort(t);
        json_decref(replace);
        return;
    }
    json_t *rec = json_deep_copy(old);
    json_t *tags = json_object_get(rec, "tags");
    if (!json_is_array(tags))
        json_object_set_new(rec, "tags", tags = json_array());
    int rc = 0;
    if (replace) {
        json_object_set_new(rec, "tags", replace);
    } else {
        int at = tag_index(tags, tag);
        if (!add && at < 0)
            rc = -ENOENT;
        else if (!add)
            json_array_remove(tags, (size_t)at);
        else if (at < 0 && json_array_size(tags) >= 80)
            rc = -EINVAL;
        else if (at < 0)
            json_array_append_new(tags, json_string(tag));
    }
    if (!rc)
        rc = identity_update(t, idn_of(r), IDENTITY_PROJECT, old, rec);
    if (rc) {
        store_abort(t);
        idn_fail(r, rc, replace ? "project" : "tag", replace ? api_req_param(r, 0) : tag);
    } else if (idn_commit(r, t)) {
        if (status != 200) /* Keystone's PUT /tags/{tag} is 201 without a body */
            api_reply_empty(r, status);
        else
            api_reply_json(r, status, json_pack("{s:O}", "tags", json_object_get(rec, "tags")));
    }
    json_decref(old);
    json_decref(rec);
}

/* PUT /tags {"tags": [...]} replaces them all; DELETE /tags removes all. */
void idn_project_tags_set(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    if (!strcmp(api_req_method(r), "DELETE")) {
        store_tags(r, json_array(), NULL, false, 204);
        return;
    }
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *tags = json_object_get(body, "tags"), *out = json_array();
    size_t i;
    json_t *v;
    bool ok = json_is_array(tags) && json_array_size(tags) <= 80;
    json_array_foreach (ok ? tags : NULL, i, v) {
        ok &= tag_ok(json_string_value(v));
        if (ok && tag_index(out, json_string_value(v)) < 0)
            json_array_append(out, v);
    }
    json_decref(body);
    if (!ok) {
        json_decref(out);
        api_reply_error(r, 400, "Invalid input for field 'tags'.");
        return;
    }
    store_tags(r, out, NULL, false, 200);
}

/* PUT /tags/{tag} adds one (201); DELETE /tags/{tag} removes it (204). */
void idn_project_tag_set(struct api_req *r)
{
    if (!api_req_require_admin(r))
        return;
    const char *tag = api_req_param(r, 1);
    bool add = !strcmp(api_req_method(r), "PUT");
    if (add && !tag_ok(tag)) {
        api_reply_error(r, 400, "Invalid tag: %s.", tag);
        return;
    }
    store_tags(r, NULL, tag, add, add ? 201 : 204);
}
