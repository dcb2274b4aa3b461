/* /servers/{id}/os-instance-actions: what was done to a server, by whom,
 * with which request id (`openstack server event list`).  From
 * microversion 2.21 on, as in Nova, a deleted server's actions stay
 * readable (core keeps the newest deleted servers'; see compute.h). */
#include "api/compute/internal.h"

#define DELETED_MICRO 21 /* 2.21: deleted servers' actions are readable */

static json_t *summary(const json_t *a)
{
    json_t *o = json_deep_copy(a);
    json_object_del(o, "events");
    return o;
}

void cmp_actions_list(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    json_t *all, *a, *out = json_array();
    int rc = compute_actions_list(st->c, &who, api_req_param(r, 0), micro >= DELETED_MICRO, &all);
    if (rc) {
        json_decref(out);
        return api_reply_errno(r, rc, "Instance %s could not be found.", api_req_param(r, 0));
    }
    size_t i;
    json_array_foreach (all, i, a)
        json_array_append_new(out, summary(a));
    json_decref(all);
    api_reply_json(r, 200, json_pack("{s:o}", "instanceActions", out));
}

void cmp_action_show(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    json_t *a;
    int rc = compute_action_get(st->c, &who, api_req_param(r, 0), micro >= DELETED_MICRO,
                                api_req_param(r, 1), &a);
    if (rc)
        return api_reply_errno(r, rc, "Action %s could not be found.", api_req_param(r, 1));
    api_reply_json(r, 200, json_pack("{s:o}", "instanceAction", a));
}
