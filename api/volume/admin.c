/* The admin views of the backend: picostack is one process, so its
 * "services" are fixed: cinder-scheduler and cinder-backup on host
 * "picostack", cinder-volume on "picostack@blockstore" with one pool
 * "picostack@blockstore#pico" (the block store; capacity from its file
 * system). os-services (list and filters; enable/disable refused: nothing
 * can be switched off in one process), os-hosts (list, show with usage),
 * scheduler-stats/get_pools, capabilities/{host}, the default quota class. */
#include "api/volume/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#define HOST    VOLUMES_HOST
#define BACKEND VOLUMES_HOST "@" VOLUMES_BACKEND_NAME
#define POOL    BACKEND "#pico"

static const char *const services[][2] = { { "cinder-scheduler", HOST },
                                           { "cinder-volume", BACKEND },
                                           { "cinder-backup", HOST } };

static bool need_admin(struct api_req *r)
{
    if (vol_micro(r) < 0)
        return false;
    if (!api_req_is_admin(r)) {
        api_reply_error(r, 403, "Policy doesn't allow this to be performed.");
        return false;
    }
    return true;
}

/* "picostack" matches "picostack" and "picostack@anything", as Cinder's
 * host filter. */
static bool host_matches(const char *want, const char *host)
{
    size_t n = strlen(want);
    return !strncmp(want, host, n) && (host[n] == '\0' || host[n] == '@' || host[n] == '#');
}

void vol_admin_service_list(struct api_req *r)
{
    if (!need_admin(r))
        return;
    const char *host = api_req_query(r, "host"), *binary = api_req_query(r, "binary");
    char now[32];
    volumes_timestamp(now);
    json_t *out = json_array();
    for (size_t i = 0; i < API_COUNT(services); i++) {
        if ((host && !host_matches(host, services[i][1])) ||
            (binary && strcmp(binary, services[i][0])))
            continue;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:b}", "binary",
                                             services[i][0], "host", services[i][1], "zone",
                                             VOLUMES_AZ, "status", "enabled", "state", "up",
                                             "updated_at", now, "disabled_reason", "frozen", 0));
    }
    api_reply_json(r, 200, json_pack("{s:o}", "services", out));
}

/* PUT os-services/{enable,disable,disable-log-reason,freeze,thaw}. */
void vol_admin_service_action(struct api_req *r)
{
    if (!need_admin(r))
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    const char *act = api_req_param(r, 0), *host = json_string_value(json_object_get(b, "host")),
               *binary = json_string_value(json_object_get(b, "binary")),
               *why = json_string_value(json_object_get(b, "disabled_reason"));
    bool known_host = false, known = false;
    for (size_t i = 0; i < API_COUNT(services); i++) {
        bool h = host && !strcmp(host, services[i][1]);
        known_host |= h || (host && !strcmp(host, HOST));
        known |= h && (!binary || !strcmp(binary, services[i][0]));
    }
    bool freeze = !strcmp(act, "freeze") || !strcmp(act, "thaw");
    bool enable = !strcmp(act, "enable"), disable = !strcmp(act, "disable"),
         reason = !strcmp(act, "disable-log-reason");
    if (!freeze && !enable && !disable && !reason)
        api_reply_error(r, 404, "Unknown action %s.", act);
    else if (freeze && !known_host)
        api_reply_error(r, 400, "Invalid host: %s is not a backend host.", host ?: "(none)");
    else if (reason && (!why || !*why))
        api_reply_error(r, 400, "Invalid input received: a disabled_reason is needed.");
    else if (!freeze && !known)
        api_reply_error(r, 404, "Service %s on host %s could not be found.", binary ?: "(none)",
                        host ?: "(none)");
    else if (enable)
        api_reply_json(r, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:b, s:n}", "host", host, "service",
                                 binary ? binary : "", "binary", binary ? binary : "", "status",
                                 "enabled", "disabled", 0, "disabled_reason"));
    else /* one process: its parts cannot be switched off */
        api_reply_error(r, 400,
                        "Invalid input received: picostack's %s runs in picostackd and "
                        "cannot be disabled or frozen on its own.",
                        binary ?: "backend");
    json_decref(b);
}

void vol_admin_host_list(struct api_req *r)
{
    if (!need_admin(r))
        return;
    char now[32];
    volumes_timestamp(now);
    json_t *out = json_array();
    for (size_t i = 0; i < API_COUNT(services); i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "host_name",
                                             services[i][1], "service", services[i][0], "zone",
                                             VOLUMES_AZ, "service-status", "available",
                                             "service-state", "enabled", "last-update", now));
    api_reply_json(r, 200, json_pack("{s:o}", "hosts", out));
}

struct usage {
    long long vols, vol_gb, snaps, snap_gb;
};

/* Adds each record's size to its project's usage and to the total. */
static void tally(json_t *by_project, json_t *recs, bool snapshots, struct usage *total)
{
    size_t i;
    json_t *x;
    json_array_foreach (recs, i, x) {
        const char *p = json_string_value(json_object_get(x, "project_id"));
        long long gb = json_integer_value(json_object_get(x, "size"));
        json_t *u = json_object_get(by_project, p ? p : "");
        if (!u) {
            u = json_pack("[I, I, I, I]", 0LL, 0LL, 0LL, 0LL);
            json_object_set_new(by_project, p ? p : "", u);
        }
        int at = snapshots ? 2 : 0;
        json_array_set_new(u, at, json_integer(json_integer_value(json_array_get(u, at)) + 1));
        json_array_set_new(u, at + 1,
                           json_integer(json_integer_value(json_array_get(u, at + 1)) + gb));
        if (snapshots)
            total->snaps++, total->snap_gb += gb;
        else
            total->vols++, total->vol_gb += gb;
    }
}

static json_t *resource(const char *project, const struct usage *u)
{
    char n[4][24];
    snprintf(n[0], sizeof n[0], "%lld", u->vols);
    snprintf(n[1], sizeof n[1], "%lld", u->vol_gb);
    snprintf(n[2], sizeof n[2], "%lld", u->snaps);
    snprintf(n[3], sizeof n[3], "%lld", u->snap_gb);
    return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "resource", "project", project, "host",
                     BACKEND, "volume_count", n[0], "total_volume_gb", n[1], "snapshot_count", n[2],
                     "total_snapshot_gb", n[3]);
}

/* GET os-hosts/{host}: the backend's usage, in total and per project. */
void vol_admin_host_show(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!need_admin(r))
        return;
    if (strcmp(api_req_param(r, 0), BACKEND))
        return api_reply_error(r, 404, "Host %s could not be found or runs no cinder-volume.",
                               api_req_param(r, 0));
    struct volumes_caller who = vol_caller(r);
    json_t *vols, *snaps;
    int rc = volume_list(st->v, &who, true, &vols);
    if (rc < 0)
        return vol_reply_err(r, rc);
    if ((rc = volume_snapshot_list(st->v, &who, true, &snaps)) < 0) {
        json_decref(vols);
        return vol_reply_err(r, rc);
    }
    json_t *by = json_object();
    struct usage total = { 0 };
    tally(by, vols, false, &total);
    tally(by, snaps, true, &total);
    json_decref(vols);
    json_decref(snaps);
    json_t *out = json_array();
    json_array_append_new(out, resource("(total)", &total));
    const char *p;
    json_t *u;
    json_object_foreach (by, p, u) {
        struct usage x = { json_integer_value(json_array_get(u, 0)),
                           json_integer_value(json_array_get(u, 1)),
                           json_integer_value(json_array_get(u, 2)),
                           json_integer_value(json_array_get(u, 3)) };
        json_array_append_new(out, resource(p, &x));
    }
    json_decref(by);
    api_reply_json(r, 200, json_pack("{s:o}", "host", out));
}

/* The pool's capabilities, capacity from the data directory's file
 * system (where the block store lives). */
static json_t *capabilities(struct api_req *r)
{
    struct statvfs fs;
    const char *dir = api_server_data_dir(api_req_server(r));
    double total = 0, free_gb = 0;
    if (statvfs(dir && *dir ? dir : ".", &fs) == 0) {
        total = (double)fs.f_blocks * fs.f_frsize / VOLUMES_GIB;
        free_gb = (double)fs.f_bavail * fs.f_frsize / VOLUMES_GIB;
    }
    char now[32];
    volumes_timestamp(now);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:i, s:b, s:s}", "volume_backend_name",
                     VOLUMES_BACKEND_NAME, "vendor_name", VOLUMES_VENDOR, "storage_protocol",
                     VOLUMES_PROTOCOL, "driver_version", "1.0", "timestamp", now,
                     "total_capacity_gb", total, "free_capacity_gb", free_gb, "reserved_percentage",
                     0, "QoS_support", 0, "updated", now);
}

void vol_admin_pools(struct api_req *r)
{
    if (!need_admin(r))
        return;
    const char *d = api_req_query(r, "detail");
    json_t *ds = json_string(d ? d : "false");
    bool detail = d && vol_bool(ds) == 1;
    json_decref(ds);
    json_t *pool = json_pack("{s:s}", "name", POOL);
    if (detail)
        json_object_set_new(pool, "capabilities", capabilities(r));
    api_reply_json(r, 200, json_pack("{s:[o]}", "pools", pool));
}

void vol_admin_backend_capabilities(struct api_req *r)
{
    if (!need_admin(r))
        return;
    if (!host_matches(BACKEND, api_req_param(r, 0)) || strchr(api_req_param(r, 0), '@') == NULL)
        return api_reply_error(r, 404, "Backend %s could not be found.", api_req_param(r, 0));
    json_t *c = capabilities(r);
    json_t *out = json_pack("{s:O, s:O, s:O, s:O, s:s, s:s, s:n, s:n, s:n, s:[], s:{}}",
                            "volume_backend_name", json_object_get(c, "volume_backend_name"),
                            "vendor_name", json_object_get(c, "vendor_name"), "storage_protocol",
                            json_object_get(c, "storage_protocol"), "driver_version",
                            json_object_get(c, "driver_version"), "pool_name", "pico", "namespace",
                            "OS::Storage::Capabilities::blockstore", "visibility", "description",
                            "display_name", "replication_targets", "properties");
    json_decref(c);
    api_reply_json(r, 200, out);
}

/* The default class, every key (id: "default" on show, none on update). */
static void reply_class(struct api_req *r, bool with_id)
{
    struct vol_state *st = api_req_state(r);
    struct volumes_caller who = vol_caller(r);
    json_t *q;
    int rc = volumes_quota_class_get(st->v, &who, &q);
    if (rc < 0)
        return vol_reply_err(r, rc);
    json_object_set_new(q, "groups", json_integer(10));
    if (with_id)
        json_object_set_new(q, "id", json_string("default"));
    api_reply_json(r, 200, json_pack("{s:o}", "quota_class_set", q));
}

/* Only the "default" class exists (Cinder's). */
static bool default_class(struct api_req *r)
{
    if (!need_admin(r))
        return false;
    if (strcmp(api_req_param(r, 0), "default")) {
        api_reply_error(r, 404, "Quota class %s could not be found.", api_req_param(r, 0));
        return false;
    }
    return true;
}

/* GET os-quota-class-sets/default: the limits projects get by default. */
void vol_admin_quota_class_show(struct api_req *r)
{
    if (default_class(r))
        reply_class(r, true);
}

/* PUT os-quota-class-sets/default: new defaults (per type too). */
void vol_admin_quota_class_update(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (!default_class(r))
        return;
    json_t *whole, *b = vol_body(r, "quota_class_set", &whole);
    if (!b)
        return;
    json_object_del(b, "groups"); /* shown, not kept (one fixed limit) */
    json_object_del(b, "id");
    struct volumes_caller who = vol_caller(r);
    int rc = volumes_quota_class_set(st->v, &who, b);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    reply_class(r, false);
}
