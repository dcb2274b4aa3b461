/* Servers: create, list (+ detail, filters, sort, pages), show, update,
 * delete, metadata; the Nova view of a record. The model and the
 * orchestration are core/compute's. */
#include "api/compute/internal.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

struct compute_caller cmp_caller(struct api_req *r)
{
    const struct identity_token *t = api_req_auth(r);
    struct compute_caller c = { 0 };
    if (!t)
        return c;
    c.project_id = t->project_id[0] ? t->project_id : NULL;
    c.user_id = t->user_id;
    c.request_id = api_req_id(r);
    c.is_admin = (t->role_flags & IDENTITY_ADMIN) != 0;
    c.can_write = c.project_id && (t->role_flags & (IDENTITY_ADMIN | IDENTITY_MEMBER)) != 0;
    return c;
}

void cmp_reply_server_err(struct api_req *r, int rc, const struct compute_err *err,
                          const char *fallback)
{
    const char *msg = err && err->msg[0] ? err->msg : fallback;
    if (rc == -EDQUOT) /* Nova: quota is 403 */
        return api_reply_error(r, 403, "%s", msg);
    if (rc == -ENOSPC) /* no host with room: a conflict with the host's state */
        return api_reply_error(r, 409, "%s", msg);
    if (rc == -ENOTSUP)
        return api_reply_error(r, 400, "%s", msg);
    cmp_reply_err(r, rc, err, fallback);
}

json_t *cmp_server_of(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    struct compute_caller who = cmp_caller(r);
    json_t *rec;
    int rc = compute_server_find(st->c, &who, api_req_param(r, 0), &rec);
    if (rc) {
        api_reply_errno(r, rc, "Instance %s could not be found.", api_req_param(r, 0));
        return NULL;
    }
    return rec;
}

static json_t *links(struct api_req *r, const char *coll, const char *id)
{
    char self[600], book[600];
    snprintf(self, sizeof self, "%s/compute/v2.1/%s/%s", api_req_base_url(r), coll, id);
    snprintf(book, sizeof book, "%s/compute/%s/%s", api_req_base_url(r), coll, id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "href", self, "rel", "self", "href", book, "rel",
                     "bookmark");
}

static json_t *bookmark(struct api_req *r, const char *coll, const char *id)
{
    char book[600];
    snprintf(book, sizeof book, "%s/compute/%s/%s", api_req_base_url(r), coll, id);
    return json_pack("[{s:s, s:s}]", "href", book, "rel", "bookmark");
}

/* Nova's hostId: sha224(project_id + host), hex. */
static json_t *host_id(const char *project)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char in[128], hex[2 * EVP_MAX_MD_SIZE + 1];
    snprintf(in, sizeof in, "%spicostack", project ? project : "");
    if (!EVP_Digest(in, strlen(in), md, &n, EVP_sha224(), NULL))
        return json_string("");
    sodium_bin2hex(hex, sizeof hex, md, n);
    return json_string(hex);
}

static json_t *addresses(const json_t *rec)
{
    json_t *out = json_object(), *p, *ip;
    size_t i, k;
    json_array_foreach (json_object_get(rec, "ports"), i, p) {
        const char *net = str(p, "network_name") ?: str(p, "network_id") ?: "";
        json_t *list = json_object_get(out, net);
        if (!list) {
            list = json_array();
            json_object_set_new(out, net, list);
        }
        json_array_foreach (json_object_get(p, "fixed_ips"), k, ip)
            json_array_append_new(list,
                                  json_pack("{s:i, s:s?, s:s, s:s?}", "version", 4, "addr",
                                            str(ip, "ip_address"), "OS-EXT-IPS:type", "fixed",
                                            "OS-EXT-IPS-MAC:mac_addr", str(p, "mac_address")));
    }
    return out;
}

json_t *cmp_server_view(struct api_req *r, const json_t *rec, int micro)
{
    const char *id = str(rec, "id"), *image = str(rec, "image_id");
    json_t *f = json_object_get(rec, "flavor"), *v, *g;
    size_t i;
    json_t *vols = json_array(), *groups = json_array();
    json_array_foreach (json_object_get(rec, "volumes"), i, v) {
        json_t *e = json_pack("{s:s?}", "id", str(v, "volume_id"));
        if (micro >= 3)
            json_object_set(e, "delete_on_termination",
                            json_object_get(v, "delete_on_termination"));
        json_array_append_new(vols, e);
    }
    json_array_foreach (json_object_get(rec, "security_groups"), i, g)
        json_array_append_new(groups, json_pack("{s:O}", "name", g));
    json_t *srv = json_pack(
        "{s:s, s:s?, s:s, s:s?, s:s?, s:O, s:o, s:o, s:o, s:s?, s:s?, s:o, s:s, s:s, s:o, s:s, "
        "s:s, s:s, s:O, s:O, s:n, s:O, s:O, s:O, s:o}",
        "id", id, "name", str(rec, "name"), "status", compute_server_status(rec), "tenant_id",
        str(rec, "project_id"), "user_id", str(rec, "user_id"), "metadata",
        json_object_get(rec, "metadata"), "hostId", host_id(str(rec, "project_id")), "image",
        image && *image
            ? json_pack("{s:s, s:o}", "id", image, "links", bookmark(r, "images", image))
            : json_string(""),
        "flavor",
        json_pack("{s:s?, s:o}", "id", str(f, "id"), "links",
                  bookmark(r, "flavors", str(f, "id") ?: "")),
        "created", str(rec, "created"), "updated", str(rec, "updated"), "addresses", addresses(rec),
        "accessIPv4", str(rec, "access_ipv4") ?: "", "accessIPv6", str(rec, "access_ipv6") ?: "",
        "links", links(r, "servers", id), "OS-DCF:diskConfig", "MANUAL",
        "OS-EXT-AZ:availability_zone", "nova", "config_drive",
        json_is_true(json_object_get(rec, "config_drive")) ? "True" : "", "key_name",
        json_object_get(rec, "key_name") ?: json_null(), "OS-SRV-USG:launched_at",
        json_object_get(rec, "launched_at") ?: json_null(), "OS-SRV-USG:terminated_at",
        "OS-EXT-STS:task_state", json_object_get(rec, "task_state") ?: json_null(),
        "OS-EXT-STS:vm_state", json_object_get(rec, "vm_state"), "OS-EXT-STS:power_state",
        json_object_get(rec, "power_state"), "os-extended-volumes:volumes_attached", vols);
    if (!srv) {
        json_decref(groups);
        return NULL;
    }
    /* Nova shows progress in these statuses only */
    static const char *const progressing[] = { "ACTIVE", "BUILD",         "REBUILD",
                                               "RESIZE", "VERIFY_RESIZE", NULL };
    for (const char *const *p = progressing; *p; p++)
        if (!strcmp(*p, compute_server_status(rec)))
            json_object_set_new(srv, "progress", json_integer(0));
    if (json_array_size(groups)) /* Nova leaves the key out when there are none */
        json_object_set_new(srv, "security_groups", groups);
    else
        json_decref(groups);
    if (api_req_is_admin(r)) {
        char name[64];
        snprintf(name, sizeof name, "instance-%.8s", id);
        json_object_set_new(srv, "OS-EXT-SRV-ATTR:host", json_string("picostack"));
        json_object_set_new(srv, "OS-EXT-SRV-ATTR:hypervisor_hostname", json_string("picostack"));
        json_object_set_new(srv, "OS-EXT-SRV-ATTR:instance_name", json_string(name));
    }
    json_t *fault = json_object_get(rec, "fault");
    if (json_is_object(fault))
        json_object_set(srv, "fault", fault);
    if (micro >= 9)
        json_object_set_new(srv, "locked",
                            json_boolean(json_is_true(json_object_get(rec, "locked"))));
    if (micro >= 73)
        json_object_set(srv, "locked_reason", json_object_get(rec, "locked_reason") ?: json_null());
    if (micro >= 19)
        json_object_set_new(srv, "description", json_null());
    json_t *tags = json_object_get(rec, "tags");
    if (micro >= 26)
        json_object_set_new(srv, "tags", tags ? json_incref(tags) : json_array());
    return srv;
}

json_t *cmp_server_view_brief(struct api_req *r, const json_t *rec, int micro)
{
    /* What Nova's update and rebuild answers leave out of the full view. */
    static const char *const extended[] = {
        "OS-EXT-AZ:availability_zone",
        "OS-EXT-STS:task_state",
        "OS-EXT-STS:vm_state",
        "OS-EXT-STS:power_state",
        "OS-SRV-USG:launched_at",
        "OS-SRV-USG:terminated_at",
        "OS-EXT-SRV-ATTR:host",
        "OS-EXT-SRV-ATTR:hypervisor_hostname",
        "OS-EXT-SRV-ATTR:instance_name",
        "config_drive",
        "key_name",
        "os-extended-volumes:volumes_attached",
        "security_groups",
    };
    json_t *v = cmp_server_view(r, rec, micro);
    for (size_t i = 0; v && i < API_COUNT(extended); i++)
        json_object_del(v, extended[i]);
    return v;
}

/* ---- create ---- */

void cmp_admin_pass(char out[13])
{
    static const char set[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 12; i++)
        out[i] = set[randombytes_uniform(sizeof set - 1)];
    out[12] = 0;
}

void cmp_server_create(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *body, *in = cmp_body(r, "server", &body);
    if (!in)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *recs;
    bool reservation = json_is_true(json_object_get(in, "return_reservation_id"));
    /* the scheduler hints sit beside "server": core reads them inside */
    json_t *hints = json_object_get(body, "os:scheduler_hints")
                        ?: json_object_get(body, "OS-SCH-HNT:scheduler_hints");
    if (hints)
        json_object_set(in, "scheduler_hints", hints);
    json_t *given = json_object_get(in, "adminPass");
    if (given && !json_is_string(given)) {
        json_decref(body);
        return api_reply_error(r, 400, "Invalid input for field/attribute adminPass.");
    }
    /* Nova answers the one given (the guest is told neither here) */
    char pass[13];
    const char *pass_out = pass;
    json_t *given_copy = json_incref(given);
    int rc = compute_server_create(st->c, &who, in, micro, &recs, &err);
    json_decref(body);
    if (rc) {
        json_decref(given_copy);
        return cmp_reply_server_err(r, rc, &err, "Server create failed.");
    }
    json_t *first = json_array_get(recs, 0);
    const char *id = str(first, "id");
    char loc[600];
    cmp_admin_pass(pass);
    if (given_copy)
        pass_out = json_string_value(given_copy);
    snprintf(loc, sizeof loc, "%s/compute/v2.1/servers/%s", api_req_base_url(r), id);
    api_reply_header(r, "Location", loc);
    json_t *groups = json_array(), *g;
    size_t i;
    json_array_foreach (json_object_get(first, "security_groups"), i, g)
        json_array_append_new(groups, json_pack("{s:O}", "name", g));
    json_t *out = reservation
                      ? json_pack("{s:s+}", "reservation_id", "r-", id)
                      : json_pack("{s:{s:s, s:o, s:s, s:o, s:s}}", "server", "id", id, "links",
                                  links(r, "servers", id), "OS-DCF:diskConfig", "MANUAL",
                                  "security_groups", groups, "adminPass", pass_out);
    if (reservation)
        json_decref(groups);
    json_decref(given_copy);
    json_decref(recs);
    api_reply_json(r, 202, out);
}

/* ---- list ---- */

struct sort_key {
    const char *nova, *field; /* Nova's sort key, the record's field */
};
static const struct sort_key sort_keys[] = {
    { "created_at", "created" },
    { "updated_at", "updated" },
    { "display_name", "name" },
    { "name", "name" },
    { "uuid", "id" },
    { "id", "id" },
    { "vm_state", "vm_state" },
    { "task_state", "task_state" },
    { "power_state", "power_state" },
    { "launched_at", "launched_at" },
    { "project_id", "project_id" },
    { "user_id", "user_id" },
};

struct sort_by {
    const char *field;
    bool desc;
};

static int cmp_text(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) || json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    return strcmp(json_string_value(a) ?: "", json_string_value(b) ?: "");
}

static int by_key(const void *pa, const void *pb, void *ctx)
{
    const struct sort_by *s = ctx;
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int d = cmp_text(json_object_get(a, s->field), json_object_get(b, s->field));
    if (!d)
        d = strcmp(str(a, "id") ?: "", str(b, "id") ?: "");
    return s->desc ? -d : d;
}

static void sort_records(json_t *recs, const char *field, bool desc)
{
    size_t n = json_array_size(recs);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(recs, i));
    struct sort_by by = { field, desc };
    qsort_r(v, n, sizeof *v, by_key, &by);
    json_array_clear(recs);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(recs, v[i]);
    free(v);
}

static bool matches(struct api_req *r, const json_t *rec, const struct cmp_filters *fl)
{
    const char *status = api_req_query(r, "status"), *image = api_req_query(r, "image");
    const char *flavor = api_req_query(r, "flavor");
    const char *project = api_req_query(r, "project_id") ?: api_req_query(r, "tenant_id");
    if (!cmp_filters_match(fl, rec))
        return false;
    if (status && *status && strcasecmp(status, compute_server_status(rec)))
        return false;
    if (image && *image) {
        const char *slash = strrchr(image, '/');
        if (strcmp(slash ? slash + 1 : image, str(rec, "image_id") ?: ""))
            return false;
    }
    if (flavor && *flavor) {
        const char *slash = strrchr(flavor, '/');
        if (strcmp(slash ? slash + 1 : flavor, str(json_object_get(rec, "flavor"), "id") ?: ""))
            return false;
    }
    if (project && *project && api_req_is_admin(r) && strcmp(project, str(rec, "project_id") ?: ""))
        return false;
    return true;
}

static void list(struct api_req *r, bool detail)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    const char *all = api_req_query(r, "all_tenants") ?: api_req_query(r, "all_projects");
    int all_b = all ? (*all ? api_bool_word(all) : 1) : 0;
    if (all_b < 0)
        return api_reply_error(r, 400, "Invalid value for all_tenants: %s", all);
    if (all_b && !api_req_is_admin(r))
        return api_reply_error(r, 403,
                               "Policy doesn't allow os_compute_api:servers:index:"
                               "get_all_tenants to be performed.");
    const char *lim = api_req_query(r, "limit"), *marker = api_req_query(r, "marker");
    long limit = LONG_MAX;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (!*lim || *end || limit < 0)
            return api_reply_error(r, 400, "limit must be a non-negative integer.");
    }
    const char *sk = api_req_query(r, "sort_key") ?: "created_at";
    const char *sd = api_req_query(r, "sort_dir") ?: "desc";
    const char *field = NULL;
    for (size_t i = 0; i < API_COUNT(sort_keys); i++)
        if (!strcmp(sk, sort_keys[i].nova))
            field = sort_keys[i].field;
    if (!field || (strcmp(sd, "asc") && strcmp(sd, "desc")))
        return api_reply_error(r, 400, "Invalid sort_key or sort_dir: %s %s", sk, sd);
    struct cmp_filters fl;
    if (cmp_filters_read(r, &fl))
        return;
    struct compute_caller who = cmp_caller(r);
    json_t *recs;
    int rc = compute_server_list(st->c, &who, all_b == 1, &recs);
    if (rc) {
        cmp_filters_free(&fl);
        return cmp_reply_err(r, rc, NULL, "Cannot list servers.");
    }
    sort_records(recs, field, !strcmp(sd, "desc"));
    json_t *out = json_array(), *rec;
    size_t i;
    bool found = !marker, more = false;
    const char *last = NULL;
    json_array_foreach (recs, i, rec) {
        if (!found) {
            found = !strcmp(str(rec, "id") ?: "", marker);
            continue;
        }
        if (!matches(r, rec, &fl))
            continue;
        if ((long)json_array_size(out) >= limit) {
            more = true;
            break;
        }
        last = str(rec, "id");
        json_array_append_new(out, detail ? cmp_server_view(r, rec, micro)
                                          : json_pack("{s:s, s:s?, s:o}", "id", last, "name",
                                                      str(rec, "name"), "links",
                                                      links(r, "servers", last)));
    }
    cmp_filters_free(&fl);
    if (!found) {
        json_decref(recs);
        json_decref(out);
        return api_reply_error(r, 400, "marker [%s] not found", marker);
    }
    json_t *body = json_pack("{s:o}", "servers", out);
    if (more && last) {
        char next[800];
        snprintf(next, sizeof next, "%s/compute/v2.1/servers%s?limit=%ld&marker=%s",
                 api_req_base_url(r), detail ? "/detail" : "", limit, last);
        json_object_set_new(body, "servers_links",
                            json_pack("[{s:s, s:s}]", "href", next, "rel", "next"));
    }
    json_decref(recs);
    api_reply_json(r, 200, body);
}

void cmp_server_list(struct api_req *r)
{
    list(r, false);
}

void cmp_server_detail(struct api_req *r)
{
    list(r, true);
}

void cmp_server_show(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_t *out = json_pack("{s:o}", "server", cmp_server_view(r, rec, micro));
    json_decref(rec);
    api_reply_json(r, 200, out);
}

/* GET /servers/{id}/ips[/{network}]: the addresses by network, each with
 * only its version and address (as Nova shows them there). */
void cmp_server_ips(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_t *all = addresses(rec), *list, *ip;
    json_decref(rec);
    const char *net_name, *only = api_req_param(r, 1);
    json_t *out = json_object();
    json_object_foreach (all, net_name, list) {
        if (only && strcmp(only, net_name))
            continue;
        json_t *short_list = json_array();
        size_t i;
        json_array_foreach (list, i, ip)
            json_array_append_new(short_list,
                                  json_pack("{s:O, s:O}", "version", json_object_get(ip, "version"),
                                            "addr", json_object_get(ip, "addr")));
        json_object_set_new(out, net_name, short_list);
    }
    json_decref(all);
    if (only && !json_object_size(out)) {
        json_decref(out);
        return api_reply_error(r, 404, "Network %s could not be found.", only);
    }
    api_reply_json(r, 200, only ? out : json_pack("{s:o}", "addresses", out));
}

void cmp_server_update(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *body, *in = cmp_body(r, "server", &body);
    if (!in)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *rec;
    int rc = compute_server_update(st->c, &who, api_req_param(r, 0), in, &rec, &err);
    json_decref(body);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    json_t *out = json_pack("{s:o}", "server", cmp_server_view_brief(r, rec, micro));
    json_decref(rec);
    api_reply_json(r, 200, out);
}

void cmp_server_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    int rc = compute_server_delete(st->c, &who, api_req_param(r, 0));
    if (rc)
        return api_reply_errno(r, rc, "Instance %s could not be found.", api_req_param(r, 0));
    api_reply_empty(r, 204);
}

/* ---- metadata ---- */

void cmp_server_meta_list(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_t *out = json_pack("{s:O}", "metadata", json_object_get(rec, "metadata"));
    json_decref(rec);
    api_reply_json(r, 200, out);
}

static void meta_write(struct api_req *r, bool replace)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    json_t *body, *in = cmp_body(r, "metadata", &body);
    if (!in)
        return;
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *meta;
    int rc = compute_server_meta_set(st->c, &who, api_req_param(r, 0), in, replace, &meta, &err);
    json_decref(body);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    api_reply_json(r, 200, json_pack("{s:o}", "metadata", meta));
}

void cmp_server_meta_set(struct api_req *r)
{
    meta_write(r, false);
}

void cmp_server_meta_replace(struct api_req *r)
{
    meta_write(r, true);
}

void cmp_server_meta_show(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_t *v = json_object_get(json_object_get(rec, "metadata"), api_req_param(r, 1));
    json_t *out = v ? json_pack("{s:{s:O}}", "meta", api_req_param(r, 1), v) : NULL;
    json_decref(rec);
    if (!out)
        return api_reply_error(r, 404, "Metadata item was not found");
    api_reply_json(r, 200, out);
}

void cmp_server_meta_put(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    json_t *body, *in = cmp_body(r, "meta", &body);
    if (!in)
        return;
    const char *key = api_req_param(r, 1);
    if (json_object_size(in) != 1 || !json_object_get(in, key)) {
        json_decref(body);
        return api_reply_error(r, 400, "Request body and URI mismatch");
    }
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    json_t *meta;
    int rc = compute_server_meta_set(st->c, &who, api_req_param(r, 0), in, false, &meta, &err);
    json_t *out = rc ? NULL : json_pack("{s:O}", "meta", in);
    json_decref(body);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Instance could not be found.");
    json_decref(meta);
    api_reply_json(r, 200, out);
}

void cmp_server_meta_delete(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    if (cmp_micro(r) < 0)
        return;
    struct compute_caller who = cmp_caller(r);
    int rc = compute_server_meta_delete(st->c, &who, api_req_param(r, 0), api_req_param(r, 1));
    if (rc)
        return api_reply_errno(r, rc, "Metadata item was not found");
    api_reply_empty(r, 204);
}
