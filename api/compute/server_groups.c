/* os-server-groups (2.1 .. 2.63 form: "policies", a list of one policy;
 * project_id and user_id from 2.13). The model is core/compute's. */
#include "api/compute/internal.h"

#include <string.h>

static json_t *group_view(const json_t *g, int micro)
{
    json_t *v =
        json_pack("{s:O, s:O, s:[O], s:O, s:O}", "id", json_object_get(g, "id"), "name",
                  json_object_get(g, "name"), "policies", json_object_get(g, "policy"), "members",
                  json_object_get(g, "members"), "metadata", json_object_get(g, "metadata"));
    if (v && micro >= 13) {
        json_object_set(v, "project_id", json_object_get(g, "project_id"));
        json_t *user = json_object_get(g, "user_id");
        json_object_set_new(v, "user_id", user ? json_incref(user) : json_string(""));
    }
    return v;
}

void cmp_group_list(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    const char *all = api_req_query(r, "all_projects");
    int all_b = all ? (*all ? api_bool_word(all) : 1) : 0;
    if (all_b < 0)
        return api_reply_error(r, 400, "Invalid value for all_projects: %s", all);
    struct compute_caller who = cmp_caller(r);
    json_t *groups, *g, *out = json_array();
    size_t i;
    int rc = compute_group_list(st->c, &who, all_b == 1 && who.is_admin, &groups);
    if (rc) {
        json_decref(out);
        return cmp_reply_err(r, rc, NULL, "Cannot list server groups.");
    }
    json_array_foreach (groups, i, g)
        json_array_append_new(out, group_view(g, micro));
    json_decref(groups);
    api_reply_json(r, 200, json_pack("{s:o}", "server_groups", out));
}

void cmp_group_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *body, *in = cmp_body(r, "server_group", &body);
    if (!in)
        return;
    json_t *pol = json_object_get(in, "policies"), *name = json_object_get(in, "name");
    const char *k;
    json_t *v;
    json_object_foreach (in, k, v)
        if (strcmp(k, "name") && strcmp(k, "policies")) {
            api_reply_error(r, 400,
                            "Invalid input for field/attribute server_group. Additional "
                            "properties are not allowed ('%s' was unexpected)",
                            k);
            json_decref(body); /* k lives in it */
            return;
        }
    if (!json_is_array(pol) || json_array_size(pol) != 1 || !json_is_string(name)) {
        json_decref(body);
        return api_reply_error(r, 400,
                               "Invalid input for field/attribute server_group: a name and "
                               "policies, a list of one policy.");
    }
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *g;
    int rc = compute_group_create(st->c, &who, json_string_value(name),
                                  json_string_value(json_array_get(pol, 0)), &g, &err);
    json_decref(body);
    if (rc)
        return cmp_reply_err(r, rc, &err, "Cannot create the server group.");
    api_reply_json(r, 200, json_pack("{s:o}", "server_group", group_view(g, micro)));
    json_decref(g);
}

void cmp_group_show(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    json_t *g;
    if (compute_group_get(st->c, &who, api_req_param(r, 0), &g))
        return api_reply_error(r, 404, "Server group %s could not be found.", api_req_param(r, 0));
    api_reply_json(r, 200, json_pack("{s:o}", "server_group", group_view(g, micro)));
    json_decref(g);
}

void cmp_group_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    int rc = compute_group_delete(st->c, &who, api_req_param(r, 0));
    if (rc)
        return api_reply_errno(r, rc, "Server group %s could not be found.", api_req_param(r, 0));
    api_reply_empty(r, 204);
}
