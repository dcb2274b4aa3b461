/* User messages (3.3+): list, show, delete. */
#include "api/volume/internal.h"

static json_t *message_view(struct api_req *r, const json_t *rec)
{
    json_t *v = volumes_view(rec);
    json_object_del(v, "project_id");
    json_object_set_new(v, "links",
                        vol_links(r, "messages", json_string_value(json_object_get(rec, "id"))));
    return v;
}

/* 3.3 or later, else 404 as Cinder. */
static bool need_3(struct api_req *r)
{
    int micro = vol_micro(r);
    if (micro >= 0 && micro < 3)
        api_reply_error(r, 404, "Messages need microversion 3.3 or later.");
    return micro >= 3;
}

void vol_message_list(struct api_req *r)
{
    static const struct vol_listing l = { "messages", volume_message_list, message_view, NULL };
    if (need_3(r))
        vol_list(r, &l, false);
}

void vol_message_show(struct api_req *r)
{
    if (need_3(r))
        vol_show(r, "message", volume_message_get, message_view);
}

void vol_message_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_3(r))
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_message_delete(st->v, &who, api_req_param(r, 0));
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 204);
}
