/* /servers/{id}/tags (Nova 2.26+; 404 below): the list, the whole set
 * (PUT, DELETE) and one tag (GET 204/404, PUT 201 new or 204, DELETE). */
#include "api/compute/internal.h"

#include <stdio.h>
#include <string.h>

static bool tags_micro(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return false;
    if (micro < 26) {
        api_reply_error(r, 404, "The resource could not be found.");
        return false;
    }
    return true;
}

static int run(struct api_req *r, enum compute_tag_op op, json_t *all, json_t **out)
{
    struct cmp_state *st = api_req_state(r);
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    int rc = compute_server_tags(st->c, &who, api_req_param(r, 0), op, api_req_param(r, 1), all,
                                 out, &err);
    if (rc < 0)
        cmp_reply_err(r, rc, &err, "Instance could not be found.");
    return rc;
}

void cmp_tags_list(struct api_req *r)
{
    json_t *tags;
    if (tags_micro(r) && run(r, COMPUTE_TAGS_GET, NULL, &tags) >= 0)
        api_reply_json(r, 200, json_pack("{s:o}", "tags", tags));
}

void cmp_tags_replace(struct api_req *r)
{
    if (!tags_micro(r))
        return;
    json_t *body = api_req_json(r), *tags;
    if (!body)
        return;
    if (json_object_size(body) != 1 || !json_is_array(json_object_get(body, "tags"))) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input: {\"tags\": [...]} expected.");
    }
    if (run(r, COMPUTE_TAGS_REPLACE, json_object_get(body, "tags"), &tags) >= 0)
        api_reply_json(r, 200, json_pack("{s:o}", "tags", tags));
    json_decref(body);
}

void cmp_tags_clear(struct api_req *r)
{
    if (tags_micro(r) && run(r, COMPUTE_TAGS_CLEAR, NULL, NULL) >= 0)
        api_reply_empty(r, 204);
}

void cmp_tag_check(struct api_req *r)
{
    json_t *tags;
    if (!tags_micro(r) || run(r, COMPUTE_TAGS_GET, NULL, &tags) < 0)
        return;
    size_t i;
    json_t *t;
    bool found = false;
    json_array_foreach (tags, i, t)
        found |= !strcmp(json_string_value(t) ?: "", api_req_param(r, 1));
    json_decref(tags);
    if (!found)
        return api_reply_error(r, 404, "Tag %s not found.", api_req_param(r, 1));
    api_reply_empty(r, 204);
}

void cmp_tag_add(struct api_req *r)
{
    int rc;
    if (!tags_micro(r) || (rc = run(r, COMPUTE_TAG_ADD, NULL, NULL)) < 0)
        return;
    char loc[800];
    snprintf(loc, sizeof loc, "%s/compute/v2.1/servers/%s/tags/%s", api_req_base_url(r),
             api_req_param(r, 0), api_req_param(r, 1));
    api_reply_header(r, "Location", loc);
    api_reply_empty(r, rc == 1 ? 201 : 204);
}

void cmp_tag_delete(struct api_req *r)
{
    if (tags_micro(r) && run(r, COMPUTE_TAG_DEL, NULL, NULL) >= 0)
        api_reply_empty(r, 204);
}
