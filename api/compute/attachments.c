/* /servers/{id}/os-volume_attachments and /servers/{id}/os-interface.
 * Both take effect at the next start of the server's VMM (no hot-plug);
 * the volume's state goes through core/volumes (attaching, in-use,
 * available) at once. */
#include "api/compute/internal.h"

#include <errno.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *volatt_view(const char *server, const json_t *v, int micro)
{
    json_t *o = json_pack("{s:s?, s:s?, s:s, s:s?}", "id", str(v, "volume_id"), "volumeId",
                          str(v, "volume_id"), "serverId", server, "device", str(v, "device"));
    if (o && micro >= 79)
        json_object_set(o, "delete_on_termination", json_object_get(v, "delete_on_termination"));
    return o;
}

bool cmp_volume_is_attachment(const json_t *rec, const json_t *v)
{
    const char *image = str(rec, "image_id");
    return !(image && *image && json_is_integer(json_object_get(v, "boot_index")));
}

void cmp_volatt_list(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *rec = cmp_server_of(r), *v, *out = json_array();
    if (!rec) {
        json_decref(out);
        return;
    }
    size_t i;
    json_array_foreach (json_object_get(rec, "volumes"), i, v)
        if (cmp_volume_is_attachment(rec, v))
            json_array_append_new(out, volatt_view(str(rec, "id"), v, micro));
    json_decref(rec);
    api_reply_json(r, 200, json_pack("{s:o}", "volumeAttachments", out));
}

void cmp_volatt_show(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *rec = cmp_server_of(r), *v, *out = NULL;
    if (!rec)
        return;
    size_t i;
    json_array_foreach (json_object_get(rec, "volumes"), i, v)
        if (cmp_volume_is_attachment(rec, v) &&
            !strcmp(str(v, "volume_id") ?: "", api_req_param(r, 1)))
            out = volatt_view(str(rec, "id"), v, micro);
    json_decref(rec);
    if (!out)
        return api_reply_error(r, 404, "Volume %s is not attached to server %s",
                               api_req_param(r, 1), api_req_param(r, 0));
    api_reply_json(r, 200, json_pack("{s:o}", "volumeAttachment", out));
}

void cmp_volatt_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *body, *in = cmp_body(r, "volumeAttachment", &body);
    if (!in)
        return;
    const char *vol = str(in, "volumeId");
    json_t *dev = json_object_get(in, "device");
    if (!vol || (dev && !json_is_null(dev) && !json_is_string(dev))) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input for field/attribute volumeId.");
    }
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *out;
    int rc = compute_volume_attach(st->c, &who, api_req_param(r, 0), vol, json_string_value(dev),
                                   &out, &err);
    json_decref(body);
    if (rc == -ENOENT && strstr(err.msg, "Volume")) /* an unknown volume: Nova's 404 */
        return api_reply_error(r, 404, "%s", err.msg);
    if (rc && strstr(err.msg, "Invalid volume")) /* a volume not available: Nova's 400 */
        return api_reply_error(r, 400, "%s", err.msg);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    if (micro < 79) /* shown from 2.79, as in the list */
        json_object_del(out, "delete_on_termination");
    api_reply_json(r, 200, json_pack("{s:o}", "volumeAttachment", out));
}

void cmp_volatt_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    int rc = compute_volume_detach(st->c, &who, api_req_param(r, 0), api_req_param(r, 1), &err);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    api_reply_empty(r, 202);
}

/* ---- os-interface ---- */

static json_t *iface_view(const json_t *p)
{
    json_t *ips = json_array(), *ip;
    size_t i;
    json_array_foreach (json_object_get(p, "fixed_ips"), i, ip)
        json_array_append_new(ips, json_pack("{s:s?, s:s?}", "subnet_id", str(ip, "subnet_id"),
                                             "ip_address", str(ip, "ip_address")));
    return json_pack("{s:s?, s:s?, s:s?, s:s, s:o}", "port_id", str(p, "port_id"), "net_id",
                     str(p, "network_id"), "mac_addr", str(p, "mac_address"), "port_state",
                     str(p, "tap") && *str(p, "tap") ? "ACTIVE" : "DOWN", "fixed_ips", ips);
}

void cmp_iface_list(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r), *p, *out = json_array();
    if (!rec) {
        json_decref(out);
        return;
    }
    size_t i;
    json_array_foreach (json_object_get(rec, "ports"), i, p)
        json_array_append_new(out, iface_view(p));
    json_decref(rec);
    api_reply_json(r, 200, json_pack("{s:o}", "interfaceAttachments", out));
}

void cmp_iface_show(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r), *p, *out = NULL;
    if (!rec)
        return;
    size_t i;
    json_array_foreach (json_object_get(rec, "ports"), i, p)
        if (!strcmp(str(p, "port_id") ?: "", api_req_param(r, 1)))
            out = iface_view(p);
    json_decref(rec);
    if (!out)
        return api_reply_error(r, 404, "Port %s is not attached", api_req_param(r, 1));
    api_reply_json(r, 200, json_pack("{s:o}", "interfaceAttachment", out));
}

void cmp_iface_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    json_t *body, *in = cmp_body(r, "interfaceAttachment", &body);
    if (!in)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *entry;
    int rc = compute_interface_attach(st->c, &who, api_req_param(r, 0), in, &entry, &err);
    json_decref(body);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    json_t *out = iface_view(entry);
    json_decref(entry);
    api_reply_json(r, 200, json_pack("{s:o}", "interfaceAttachment", out));
}

void cmp_iface_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    int rc = compute_interface_detach(st->c, &who, api_req_param(r, 0), api_req_param(r, 1), &err);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    api_reply_empty(r, 202);
}
