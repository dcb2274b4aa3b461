/* The image members API (shared images): GET/POST /v2/images/{id}/members,
 * GET/PUT/DELETE /v2/images/{id}/members/{member}. The owner adds and
 * removes members; each member project accepts or rejects for itself. */
#include "api/image/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Loads the image for a members call; replies and returns NULL if it is
 * not visible. */
static json_t *member_image(struct api_req *r, struct store_txn *t, struct image_caller *who)
{
    return img_load_visible(r, t, api_req_param(r, 0), who);
}

void img_list_members(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *img = member_image(r, t, &who), *all = NULL;
    if (!img) {
        store_abort(t);
        return;
    }
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (!vis || strcmp(vis, "shared") != 0) {
        store_abort(t);
        json_decref(img);
        return api_reply_error(r, 403, "Only shared images have members.");
    }
    int rc = image_db_members(t, img_db(), api_req_param(r, 0), &all);
    store_abort(t);
    if (rc < 0) {
        json_decref(img);
        return api_reply_error(r, 500, "Cannot list members: %s", strerror(-rc));
    }
    /* The owner sees every member; a member only itself. */
    json_t *shown = json_array();
    size_t i;
    json_t *m;
    json_array_foreach (all, i, m) {
        const char *mid = json_string_value(json_object_get(m, "member_id"));
        if (image_can_modify(img, &who) || who.is_admin ||
            (who.project_id && strcmp(mid, who.project_id) == 0))
            json_array_append_new(shown, img_member_view(m));
    }
    json_decref(all);
    json_decref(img);
    api_reply_json(r, 200,
                   json_pack("{s:o, s:s}", "members", shown, "schema", "/v2/schemas/members"));
}

void img_add_member(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *mj = json_object_get(body, "member");
    if (!json_is_string(mj)) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid value for 'member': a project id string.");
    }
    char member_id[256];
    snprintf(member_id, sizeof member_id, "%s", json_string_value(mj));
    json_decref(body);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *img = member_image(r, t, &who), *m = NULL;
    if (!img) {
        store_abort(t);
        return;
    }
    char now[32];
    image_timestamp(now);
    struct image_err err;
    m = image_member_new(img, member_id, &who, now, &err);
    json_decref(img);
    if (!m) {
        store_abort(t);
        return img_reply_err(r, &err);
    }
    json_t *old = NULL;
    if (image_db_member_get(t, img_db(), api_req_param(r, 0), member_id, &old) == 0) {
        json_decref(old);
        json_decref(m);
        store_abort(t);
        return api_reply_error(r, 409, "The member %s is already a member of image %s.", member_id,
                               api_req_param(r, 0));
    }
    int rc = image_db_member_put(t, img_db(), m);
    if (rc < 0) {
        store_abort(t);
        json_decref(m);
        return api_reply_error(r, 500, "Cannot add the member: %s", strerror(-rc));
    }
    if (api_txn_commit(r, t))
        api_reply_json(r, 200, img_member_view(m));
    json_decref(m);
}

/* The member {1} of image {0}, for its owner or the member itself. */
static json_t *load_member(struct api_req *r, struct store_txn *t, struct image_caller *who,
                           json_t **img_out)
{
    json_t *img = member_image(r, t, who), *m = NULL;
    if (!img)
        return NULL;
    const char *mid = api_req_param(r, 1);
    bool mine = who->project_id && strcmp(mid, who->project_id) == 0;
    if ((!mine && !image_can_modify(img, who)) ||
        image_db_member_get(t, img_db(), api_req_param(r, 0), mid, &m) < 0) {
        json_decref(img);
        api_reply_error(r, 404, "%s is not a member of image %s", mid, api_req_param(r, 0));
        return NULL;
    }
    *img_out = img;
    return m;
}

void img_show_member(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *img = NULL, *m = load_member(r, t, &who, &img);
    store_abort(t);
    json_decref(img);
    if (m) {
        api_reply_json(r, 200, img_member_view(m));
        json_decref(m);
    }
}

void img_update_member(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    json_t *body = api_req_json(r);
    if (!body)
        return;
    char status[32];
    const char *s = json_string_value(json_object_get(body, "status"));
    snprintf(status, sizeof status, "%s", s ? s : "");
    json_decref(body);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *img = NULL, *m = load_member(r, t, &who, &img);
    json_decref(img);
    if (!m) {
        store_abort(t);
        return;
    }
    char now[32];
    image_timestamp(now);
    struct image_err err;
    if (image_member_set_status(m, status, &who, now, &err) < 0) {
        store_abort(t);
        json_decref(m);
        return img_reply_err(r, &err);
    }
    int rc = image_db_member_put(t, img_db(), m);
    if (rc < 0) {
        store_abort(t);
        json_decref(m);
        return api_reply_error(r, 500, "Cannot store the member: %s", strerror(-rc));
    }
    if (api_txn_commit(r, t))
        api_reply_json(r, 200, img_member_view(m));
    json_decref(m);
}

void img_delete_member(struct api_req *r)
{
    struct image_caller who = img_caller(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *img = NULL, *m = load_member(r, t, &who, &img);
    if (!m) {
        store_abort(t);
        return;
    }
    json_decref(m);
    bool owner = image_can_modify(img, &who);
    json_decref(img);
    if (!owner) {
        store_abort(t);
        return api_reply_error(r, 403, "Only the image owner may remove members.");
    }
    int rc = image_db_member_del(t, img_db(), api_req_param(r, 0), api_req_param(r, 1));
    if (rc < 0) {
        store_abort(t);
        return api_reply_error(r, 500, "Cannot remove the member: %s", strerror(-rc));
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, 204);
}
