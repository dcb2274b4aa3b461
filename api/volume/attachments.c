/* The attachments API (microversion 3.27+; os-complete 3.44): the
 * bookkeeping the compute service uses to attach a volume to a server.
 * Create reserves (attaching), update with a connector or os-complete
 * completes (attached, volume in-use), delete detaches. */
#include "api/volume/internal.h"

#include <errno.h>
#include <string.h>

json_t *vol_attachment_view(struct api_req *r, const json_t *rec)
{
    (void)r;
    json_t *v = volumes_view(rec);
    json_object_set(v, "instance", json_object_get(rec, "instance"));
    json_object_set_new(v, "connection_info", json_object());
    json_object_del(v, "project_id");
    json_object_del(v, "user_id");
    json_object_del(v, "created_at");
    json_object_del(v, "updated_at");
    json_object_del(v, "mountpoint");
    return v;
}

/* 3.27 or later; replies 404 (as Cinder does for an unknown route at that
 * version) and returns false otherwise. */
static bool need_27(struct api_req *r, int micro)
{
    if (micro < 0)
        return false;
    if (micro < 27) {
        api_reply_error(r, 404, "The attachments API needs microversion 3.27 or later.");
        return false;
    }
    return true;
}

static void reply_att(struct api_req *r, json_t *rec)
{
    json_t *view = vol_attachment_view(r, rec);
    json_decref(rec);
    api_reply_json(r, 200, json_pack("{s:o}", "attachment", view));
}

void vol_attachment_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_27(r, vol_micro(r)))
        return;
    json_t *whole, *b = vol_body(r, "attachment", &whole);
    if (!b)
        return;
    const char *vol = json_string_value(json_object_get(b, "volume_uuid"));
    const char *inst = json_string_value(json_object_get(b, "instance_uuid"));
    json_t *conn = json_object_get(b, "connector");
    if (!vol) {
        json_decref(whole);
        return api_reply_error(r, 400, "Invalid input received: volume_uuid is needed.");
    }
    struct volumes_caller who = vol_caller(r);
    json_t *att;
    int rc = volume_attach_begin(st->v, &who, vol, inst,
                                 json_string_value(json_object_get(b, "mode")), &att);
    if (rc == 0 && json_is_object(conn)) { /* a connector: ready to use at once */
        json_t *done;
        rc = volume_attach_complete(st->v, &who, json_string_value(json_object_get(att, "id")),
                                    json_string_value(json_object_get(conn, "mountpoint")), &done);
        if (rc == 0) {
            json_decref(att);
            att = done;
        }
    }
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_att(r, att);
}

static void list(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_27(r, vol_micro(r)))
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *recs;
    int rc = volume_attachment_list(st->v, &who, vol_all_tenants(r), &recs);
    if (rc < 0)
        return vol_reply_err(r, rc);
    static const char *const extra[] = { "volume_id", "instance", NULL };
    vol_reply_list(r, "attachments", vol_views(r, recs, vol_attachment_view), false, extra);
}

void vol_attachment_list(struct api_req *r)
{
    list(r);
}
void vol_attachment_list_detail(struct api_req *r)
{
    list(r);
}

void vol_attachment_show(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_27(r, vol_micro(r)))
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_attachment_get(st->v, &who, api_req_param(r, 0), &rec);
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_att(r, rec);
}

void vol_attachment_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_27(r, vol_micro(r)))
        return;
    json_t *whole, *b = vol_body(r, "attachment", &whole);
    if (!b)
        return;
    json_t *conn = json_object_get(b, "connector");
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_attach_complete(st->v, &who, api_req_param(r, 0),
                                    json_string_value(json_object_get(conn, "mountpoint")), &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_att(r, rec);
}

void vol_attachment_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_27(r, vol_micro(r)))
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_attachment_get(st->v, &who, api_req_param(r, 0), &rec);
    if (rc == 0) {
        rc = volume_detach(st->v, &who, json_string_value(json_object_get(rec, "volume_id")),
                           api_req_param(r, 0));
        json_decref(rec);
    }
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:{}}", "attachments"));
}

void vol_attachment_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    int micro = vol_micro(r);
    if (!need_27(r, micro))
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    if (!json_object_get(b, "os-complete") || micro < 44) {
        json_decref(b);
        return api_reply_error(r, 400, "Invalid input received: only os-complete (3.44+).");
    }
    json_decref(b);
    struct volumes_caller who = vol_caller(r);
    int rc = volume_attach_complete(st->v, &who, api_req_param(r, 0), NULL, NULL);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 204);
}
