/* Nova's volume and snapshot proxies, /os-volumes and /os-snapshots: the
 * block-storage records of core/volumes in Nova's older camelCase view
 * (displayName, createdAt, ...). Nova removed them at microversion 2.36,
 * so they answer 404 from there; Tempest's compute volume tests and old
 * clients use them at 2.1. */
#include "api/compute/internal.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROXY_MAX_MICRO 35

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The microversion, or -1 after an answer (a bad version, or 404 past the
 * proxies' last one). */
static int proxy_micro(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro > PROXY_MAX_MICRO) {
        api_reply_error(r, 404, "The resource could not be found.");
        return -1;
    }
    return micro;
}

static struct volumes_caller vcaller(struct api_req *r)
{
    struct compute_caller c = cmp_caller(r);
    return (struct volumes_caller){ c.project_id, c.user_id, c.is_admin, c.can_write };
}

static void reply_vol_err(struct api_req *r, int rc)
{
    const char *msg = volumes_error();
    if (!msg[0])
        msg = strerror(-rc);
    if (rc == -EBUSY || rc == -ENOTSUP)
        return api_reply_error(r, 400, "%s", msg); /* Cinder's InvalidVolume, as Nova passes it */
    if (rc == -EDQUOT)
        return api_reply_error(r, 403, "%s", msg); /* Nova: OverQuota is 403 here */
    api_reply_errno(r, rc, "%s", msg);
}

/* "createdAt" as Nova prints it: Cinder's timestamp without microseconds. */
static json_t *created_at(const json_t *rec)
{
    char t[32];
    snprintf(t, sizeof t, "%.19s", str(rec, "created_at") ?: "");
    return json_string(t);
}

static json_t *attachments_view(struct volumes *v, const json_t *rec)
{
    static const struct volumes_caller system = { .is_admin = true };
    json_t *out = json_array(), *x, *a;
    size_t i;
    json_array_foreach (json_object_get(rec, "attachments"), i, x) {
        if (volume_attachment_get(v, &system, json_string_value(x), &a) < 0)
            continue;
        json_array_append_new(out, json_pack("{s:s?, s:s?, s:s?, s:s?}", "id", str(rec, "id"),
                                             "volumeId", str(rec, "id"), "serverId",
                                             str(a, "instance"), "device", str(a, "mountpoint")));
        json_decref(a);
    }
    if (!json_array_size(out)) /* Nova's [{}] for a volume attached nowhere */
        json_array_append_new(out, json_object());
    return out;
}

static json_t *volume_view(struct volumes *v, const json_t *rec)
{
    json_t *meta = json_object_get(rec, "metadata");
    return json_pack("{s:s?, s:s?, s:O, s:s, s:o, s:s?, s:s?, s:s?, s:s?, s:o, s:o}", "id",
                     str(rec, "id"), "status", str(rec, "status"), "size",
                     json_object_get(rec, "size"), "availabilityZone",
                     str(rec, "availability_zone") ?: "nova", "createdAt", created_at(rec),
                     "displayName", str(rec, "name"), "displayDescription", str(rec, "description"),
                     "volumeType", str(rec, "volume_type"), "snapshotId", str(rec, "snapshot_id"),
                     "metadata", json_is_object(meta) ? json_deep_copy(meta) : json_object(),
                     "attachments", attachments_view(v, rec));
}

static json_t *snapshot_view(const json_t *rec)
{
    return json_pack("{s:s?, s:s?, s:s?, s:O, s:o, s:s?, s:s?}", "id", str(rec, "id"), "volumeId",
                     str(rec, "volume_id"), "status", str(rec, "status"), "size",
                     json_object_get(rec, "size"), "createdAt", created_at(rec), "displayName",
                     str(rec, "name"), "displayDescription", str(rec, "description"));
}

/* Nova's limit and offset on a whole list (common.limited). */
static int page_of(struct api_req *r, size_t *offset, size_t *limit)
{
    const char *keys[2] = { "offset", "limit" };
    size_t *outs[2] = { offset, limit };
    *offset = 0;
    *limit = (size_t)-1;
    for (int k = 0; k < 2; k++) {
        const char *s = api_req_query(r, keys[k]);
        if (!s)
            continue;
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (!*s || *end || errno || n < 0) {
            api_reply_error(r, 400, "%s param must be an integer >= 0", keys[k]);
            return -1;
        }
        *outs[k] = (size_t)n;
    }
    return 0;
}

typedef int (*list_fn)(struct volumes *, const struct volumes_caller *, bool, json_t **);

static void proxy_list(struct api_req *r, list_fn list, const char *key, bool volumes)
{
    struct cmp_state *st = api_req_state(r);
    size_t offset, limit;
    if (proxy_micro(r) < 0 || page_of(r, &offset, &limit) < 0)
        return;
    struct volumes_caller who = vcaller(r);
    json_t *all, *out = json_array(), *x;
    int rc = list(st->volumes, &who, false, &all);
    if (rc < 0) {
        json_decref(out);
        return reply_vol_err(r, rc);
    }
    size_t i;
    json_array_foreach (all, i, x)
        if (i >= offset && i - offset < limit)
            json_array_append_new(out, volumes ? volume_view(st->volumes, x) : snapshot_view(x));
    json_decref(all);
    api_reply_json(r, 200, json_pack("{s:o}", key, out));
}

void cmp_proxy_volume_list(struct api_req *r)
{
    proxy_list(r, volume_list, "volumes", true);
}

void cmp_proxy_snapshot_list(struct api_req *r)
{
    proxy_list(r, volume_snapshot_list, "snapshots", false);
}

void cmp_proxy_volume_show(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    struct volumes_caller who = vcaller(r);
    json_t *rec;
    int rc = volume_get(st->volumes, &who, api_req_param(r, 0), &rec);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "volume", volume_view(st->volumes, rec)));
    json_decref(rec);
}

void cmp_proxy_snapshot_show(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    struct volumes_caller who = vcaller(r);
    json_t *rec;
    int rc = volume_snapshot_get(st->volumes, &who, api_req_param(r, 0), &rec);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "snapshot", snapshot_view(rec)));
    json_decref(rec);
}

/* An optional string field: NULL when absent or null; -1 (answered) when
 * of another type. */
static int opt_str(struct api_req *r, const json_t *in, const char *key, const char **out)
{
    json_t *x = json_object_get(in, key);
    *out = json_string_value(x);
    if (x && !json_is_null(x) && !json_is_string(x)) {
        api_reply_error(r, 400, "Invalid input for field/attribute %s.", key);
        return -1;
    }
    return 0;
}

/* Nova's schema: size an integer or a string of digits, at least 1. */
static int size_of(struct api_req *r, const json_t *in, uint64_t *gb)
{
    json_t *x = json_object_get(in, "size");
    const char *s = json_string_value(x);
    char *end = NULL;
    long long n = json_is_integer(x) ? json_integer_value(x) : s && *s ? strtoll(s, &end, 10) : -1;
    if ((s && (!*s || *end)) || n < 1) {
        api_reply_error(r, 400, "Invalid input for field/attribute size: a positive integer.");
        return -1;
    }
    *gb = (uint64_t)n;
    return 0;
}

void cmp_proxy_volume_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    json_t *body, *in = cmp_body(r, "volume", &body);
    if (!in)
        return;
    struct volume_create req = { 0 };
    json_t *meta = json_object_get(in, "metadata");
    if (size_of(r, in, &req.size_gb) < 0 || opt_str(r, in, "display_name", &req.name) < 0 ||
        opt_str(r, in, "display_description", &req.description) < 0 ||
        opt_str(r, in, "volume_type", &req.volume_type) < 0 ||
        opt_str(r, in, "availability_zone", &req.availability_zone) < 0 ||
        opt_str(r, in, "snapshot_id", &req.snapshot_id) < 0)
        return json_decref(body);
    if (meta && !json_is_object(meta)) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input for field/attribute metadata.");
    }
    req.metadata = meta;
    req.request_id = api_req_id(r);
    struct volumes_caller who = vcaller(r);
    json_t *rec;
    int rc = volume_create(st->volumes, &who, &req, &rec);
    json_decref(body);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "volume", volume_view(st->volumes, rec)));
    json_decref(rec);
}

/* force: a bool, or Nova's strings ("True", "false", ...). */
static int force_of(struct api_req *r, const json_t *in, bool *force)
{
    json_t *x = json_object_get(in, "force");
    const char *s = json_string_value(x);
    *force = json_is_true(x) || (s && (!strcasecmp(s, "true") || !strcmp(s, "1")));
    if (x && !json_is_boolean(x) && !json_is_null(x) &&
        !(s && (*force || !strcasecmp(s, "false") || !strcmp(s, "0")))) {
        api_reply_error(r, 400, "Invalid input for field/attribute force.");
        return -1;
    }
    return 0;
}

void cmp_proxy_snapshot_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    json_t *body, *in = cmp_body(r, "snapshot", &body);
    if (!in)
        return;
    struct volume_snapshot_create req = { 0 };
    if (opt_str(r, in, "volume_id", &req.volume_id) < 0 ||
        opt_str(r, in, "display_name", &req.name) < 0 ||
        opt_str(r, in, "display_description", &req.description) < 0 ||
        force_of(r, in, &req.force) < 0)
        return json_decref(body);
    if (!req.volume_id) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input for field/attribute volume_id.");
    }
    struct volumes_caller who = vcaller(r);
    json_t *rec;
    int rc = volume_snapshot_create(st->volumes, &who, &req, &rec);
    json_decref(body);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_json(r, 200, json_pack("{s:o}", "snapshot", snapshot_view(rec)));
    json_decref(rec);
}

void cmp_proxy_volume_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    struct volumes_caller who = vcaller(r);
    int rc = volume_delete(st->volumes, &who, api_req_param(r, 0), 0);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_empty(r, 202);
}

void cmp_proxy_snapshot_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (proxy_micro(r) < 0)
        return;
    struct volumes_caller who = vcaller(r);
    int rc = volume_snapshot_delete(st->volumes, &who, api_req_param(r, 0), false);
    if (rc < 0)
        return reply_vol_err(r, rc);
    api_reply_empty(r, 202);
}
