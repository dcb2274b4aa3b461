/* Server records: load and store, visibility, status, listing, name and
 * metadata updates, usage against quotas and host capacity, and the
 * instance action log. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cmp_now(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

bool cmp_may(const struct compute_caller *who, const json_t *rec, bool write)
{
    if (who->is_admin)
        return true;
    const char *p = str(rec, "project_id");
    if (!who->project_id || !p || strcmp(p, who->project_id))
        return false;
    return !write || who->can_write;
}

int compute_server_get(struct compute *c, struct store_txn *t, const char *id, json_t **rec)
{
    if (!id || !store_is_id(id))
        return -ENOENT;
    return store_get(t, c->servers, id, rec);
}

int cmp_server_load(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                    const char *id, bool write, json_t **rec)
{
    json_t *r;
    int rc = compute_server_get(c, t, id, &r);
    if (rc)
        return rc;
    if (!cmp_may(who, r, false)) {
        json_decref(r);
        return -ENOENT;
    }
    if (write && !cmp_may(who, r, true)) {
        json_decref(r);
        return -EPERM;
    }
    *rec = r;
    return 0;
}

int compute_server_find(struct compute *c, const struct compute_caller *who, const char *id,
                        json_t **rec)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    rc = cmp_server_load(c, t, who, id, false, rec);
    store_abort(t);
    return rc;
}

int cmp_server_put(struct compute *c, struct store_txn *t, json_t *rec)
{
    char now[32];
    cmp_now(now);
    json_object_set_new(rec, "updated", json_string(now));
    return store_put(t, c->servers, str(rec, "id"), rec);
}

const char *compute_server_status(const json_t *rec)
{
    const char *vm = str(rec, "vm_state") ?: "", *task = str(rec, "task_state");
    static const struct {
        const char *vm, *status;
    } map[] = { { "building", "BUILD" },  { "active", "ACTIVE" },        { "stopped", "SHUTOFF" },
                { "paused", "PAUSED" },   { "suspended", "SUSPENDED" },  { "error", "ERROR" },
                { "deleted", "DELETED" }, { "resized", "VERIFY_RESIZE" } };
    if (task && !strcmp(task, "rebuilding"))
        return "REBUILD";
    if (!strcmp(vm, "active") && task) {
        if (!strcmp(task, "rebooting"))
            return "REBOOT";
        if (!strcmp(task, "rebooting_hard"))
            return "HARD_REBOOT";
        if (!strncmp(task, "resize", 6))
            return "RESIZE";
    }
    if (!strcmp(vm, "stopped") && task && !strncmp(task, "resize", 6))
        return "RESIZE";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(vm, map[i].vm))
            return map[i].status;
    return "UNKNOWN";
}

int cmp_server_set_state(struct compute *c, const char *id, const char *vm_state,
                         const char *task_state, int power_state, const char *fault)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    rc = store_get(t, c->servers, id, &rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    if (vm_state)
        json_object_set_new(rec, "vm_state", json_string(vm_state));
    if (task_state)
        json_object_set_new(rec, "task_state", *task_state ? json_string(task_state) : json_null());
    if (power_state >= 0)
        json_object_set_new(rec, "power_state", json_integer(power_state));
    char now[32];
    cmp_now(now);
    if (fault)
        json_object_set_new(
            rec, "fault",
            json_pack("{s:i, s:s, s:s}", "code", 500, "message", fault, "created", now));
    else if (strcmp(str(rec, "vm_state") ?: "", "error"))
        json_object_set_new(rec, "fault", json_null());
    if (vm_state && !strcmp(vm_state, "active")) {
        if (json_is_null(json_object_get(rec, "launched_at")) ||
            !json_object_get(rec, "launched_at"))
            json_object_set_new(rec, "launched_at", json_string(now));
        json_object_set_new(rec, "boot_id", json_string(c->boot_id));
    }
    rc = cmp_server_put(c, t, rec);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

/* ---- listing ---- */

struct collect {
    const struct compute_caller *who;
    bool all;
    json_t *out;
    const char *port_id; /* by_port */
};

static int collect_one(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    struct collect *cl = ctx;
    json_t *rec = store_decode(v, vl);
    if (!rec)
        return -ENOMEM;
    bool mine = cl->all ? cl->who->is_admin
                        : cmp_may(&(struct compute_caller){ .project_id = cl->who->project_id },
                                  rec, false);
    if (mine)
        json_array_append(cl->out, rec);
    json_decref(rec);
    return 0;
}

static int by_created(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int d = strcmp(str(x, "created") ?: "", str(y, "created") ?: "");
    return d ? d : strcmp(str(x, "id") ?: "", str(y, "id") ?: "");
}

int compute_server_list(struct compute *c, const struct compute_caller *who, bool all_projects,
                        json_t **out)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    struct collect cl = { who, all_projects && who->is_admin, json_array(), NULL };
    rc = cl.out ? store_scan(t, c->servers, NULL, 0, collect_one, &cl) : -ENOMEM;
    store_abort(t);
    if (rc < 0) {
        json_decref(cl.out);
        return rc;
    }
    size_t n = json_array_size(cl.out);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        json_decref(cl.out);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(cl.out, i));
    qsort(v, n, sizeof *v, by_created);
    json_array_clear(cl.out);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cl.out, v[i]);
    free(v);
    *out = cl.out;
    return 0;
}

static int port_match(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    struct collect *cl = ctx;
    json_t *rec = store_decode(v, vl), *p;
    size_t i;
    if (!rec)
        return -ENOMEM;
    json_array_foreach (json_object_get(rec, "ports"), i, p)
        if (!strcmp(str(p, "port_id") ?: "", cl->port_id)) {
            cl->out = rec;
            return 1;
        }
    json_decref(rec);
    return 0;
}

int compute_server_by_port(struct compute *c, struct store_txn *t, const char *port_id,
                           json_t **rec)
{
    struct collect cl = { .port_id = port_id };
    int rc = store_scan(t, c->servers, NULL, 0, port_match, &cl);
    if (rc < 0)
        return rc;
    if (!cl.out)
        return -ENOENT;
    *rec = cl.out;
    return 0;
}

/* ---- usage ---- */

struct usage {
    const char *project; /* NULL: every project */
    long n, vcpus, ram;
};

static int add_usage(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    struct usage *u = ctx;
    json_t *rec = store_decode(v, vl);
    if (!rec)
        return -ENOMEM;
    if (!u->project || !strcmp(str(rec, "project_id") ?: "", u->project)) {
        json_t *f = json_object_get(rec, "flavor"), *old = json_object_get(rec, "old_flavor");
        long vc = (long)json_integer_value(json_object_get(f, "vcpus"));
        long ram = (long)json_integer_value(json_object_get(f, "ram"));
        /* During a resize the larger of both is held (revert must fit). */
        if (json_is_object(old)) {
            long ovc = (long)json_integer_value(json_object_get(old, "vcpus"));
            long oram = (long)json_integer_value(json_object_get(old, "ram"));
            vc = vc > ovc ? vc : ovc;
            ram = ram > oram ? ram : oram;
        }
        u->n++;
        u->vcpus += vc;
        u->ram += ram;
    }
    json_decref(rec);
    return 0;
}

int cmp_usage(struct compute *c, struct store_txn *t, const char *project_id, long *instances,
              long *cores, long *ram)
{
    struct usage u = { project_id ? project_id : "", 0, 0, 0 };
    int rc = store_scan(t, c->servers, NULL, 0, add_usage, &u);
    if (rc < 0)
        return rc;
    *instances = u.n;
    *cores = u.vcpus;
    *ram = u.ram;
    return 0;
}

int compute_usage(struct compute *c, struct store_txn *t, const char *project_id, long *instances,
                  long *cores, long *ram)
{
    return cmp_usage(c, t, project_id, instances, cores, ram);
}

int cmp_host_usage(struct compute *c, struct store_txn *t, long *vcpus, long *ram)
{
    struct usage u = { NULL, 0, 0, 0 };
    int rc = store_scan(t, c->servers, NULL, 0, add_usage, &u);
    if (rc < 0)
        return rc;
    *vcpus = u.vcpus;
    *ram = u.ram;
    return 0;
}

static void host_size(struct compute *c, double *cpus, double *ram_mib)
{
    long n = c->host.host_cpus ? (long)c->host.host_cpus : sysconf(_SC_NPROCESSORS_ONLN);
    double ram = c->host.host_ram_mib
                     ? (double)c->host.host_ram_mib
                     : (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
    double cr = c->host.cpu_ratio > 0 ? c->host.cpu_ratio : 16.0;
    double rr = c->host.ram_ratio > 0 ? c->host.ram_ratio : 1.5;
    *cpus = (double)(n > 0 ? n : 1) * cr;
    *ram_mib = ram * rr;
}

int cmp_check_room(struct compute *c, struct store_txn *t, const char *project_id, long n,
                   long vcpus, long ram, struct compute_err *err)
{
    json_t *q;
    int rc = compute_quota_get(c, t, project_id, &q);
    if (rc)
        return rc;
    long used_n = 0, used_c = 0, used_r = 0;
    rc = cmp_usage(c, t, project_id, &used_n, &used_c, &used_r);
    long lim_n = (long)json_integer_value(json_object_get(q, "instances"));
    long lim_c = (long)json_integer_value(json_object_get(q, "cores"));
    long lim_r = (long)json_integer_value(json_object_get(q, "ram"));
    json_decref(q);
    if (rc)
        return rc;
    if (lim_n >= 0 && used_n + n > lim_n)
        return cmp_fail(err, -EDQUOT,
                        "Quota exceeded for instances: Requested %ld, but already used %ld of "
                        "%ld instances",
                        n, used_n, lim_n);
    if (lim_c >= 0 && used_c + vcpus > lim_c)
        return cmp_fail(err, -EDQUOT,
                        "Quota exceeded for cores: Requested %ld, but already used %ld of %ld "
                        "cores",
                        vcpus, used_c, lim_c);
    if (lim_r >= 0 && used_r + ram > lim_r)
        return cmp_fail(err, -EDQUOT,
                        "Quota exceeded for ram: Requested %ld, but already used %ld of %ld ram",
                        ram, used_r, lim_r);
    long host_c = 0, host_r = 0;
    rc = cmp_host_usage(c, t, &host_c, &host_r);
    if (rc)
        return rc;
    double cap_c, cap_r;
    host_size(c, &cap_c, &cap_r);
    if ((double)(host_c + vcpus) > cap_c)
        return cmp_fail(err, -ENOSPC,
                        "No valid host was found. There are not enough host resources "
                        "available: %ld vCPUs asked, %ld of %.0f allocated.",
                        vcpus, host_c, cap_c);
    if ((double)(host_r + ram) > cap_r)
        return cmp_fail(err, -ENOSPC,
                        "No valid host was found. There are not enough host resources "
                        "available: %ld MiB of RAM asked, %ld of %.0f MiB allocated.",
                        ram, host_r, cap_r);
    return 0;
}

/* ---- updates ---- */

int cmp_check_meta(json_t *meta, struct compute_err *err)
{
    if (!json_is_object(meta))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute metadata.");
    const char *k;
    json_t *v;
    json_object_foreach (meta, k, v)
        if (!*k || strlen(k) > 255 || !json_is_string(v) || json_string_length(v) > 255)
            return cmp_fail(err, -EINVAL,
                            "Invalid input for field/attribute metadata: keys and values are "
                            "strings of at most 255 characters.");
    if (json_object_size(meta) > 128)
        return cmp_fail(err, -EDQUOT, "Quota exceeded for metadata_items: at most 128.");
    return 0;
}

/* Loads id for writing, lets fn change it, stores it: one transaction. */
static int modify(struct compute *c, const struct compute_caller *who, const char *id,
                  int (*fn)(json_t *rec, void *ctx, struct compute_err *err), void *ctx,
                  json_t **out, struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (!rc) {
        rc = fn(rec, ctx, err);
        if (!rc)
            rc = cmp_server_put(c, t, rec);
        if (!rc && out)
            *out = json_incref(rec);
        json_decref(rec);
    }
    if (rc) {
        store_abort(t);
        return rc;
    }
    rc = store_commit(t);
    if (rc && out)
        json_decref(*out);
    return rc;
}

static int apply_update(json_t *rec, void *ctx, struct compute_err *err)
{
    json_t *ch = ctx, *name = json_object_get(ch, "name");
    if (name) {
        if (!json_is_string(name) || json_string_length(name) < 1 || json_string_length(name) > 255)
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
        json_object_set(rec, "name", name);
    }
    const char *k;
    json_t *v;
    json_object_foreach (ch, k, v)
        if (strcmp(k, "name") && strcmp(k, "accessIPv4") && strcmp(k, "accessIPv6") &&
            strcmp(k, "description"))
            return cmp_fail(err, -EINVAL,
                            "Invalid input for field/attribute server. Additional properties "
                            "are not allowed ('%s' was unexpected)",
                            k);
    return cmp_access_ips_apply(ch, rec, err);
}

int compute_server_update(struct compute *c, const struct compute_caller *who, const char *id,
                          json_t *changes, json_t **out, struct compute_err *err)
{
    if (!json_is_object(changes))
        return cmp_fail(err, -EINVAL, "Invalid input: server must be an object.");
    return modify(c, who, id, apply_update, changes, out, err);
}

struct meta_op {
    const struct compute_caller *who;
    json_t *meta;
    bool replace;
    const char *del;
};

static int apply_meta(json_t *rec, void *ctx, struct compute_err *err)
{
    struct meta_op *op = ctx;
    int rc = cmp_check_lock(op->who, rec, err);
    if (rc)
        return rc;
    json_t *cur = json_object_get(rec, "metadata");
    if (!json_is_object(cur)) {
        cur = json_object();
        json_object_set_new(rec, "metadata", cur);
    }
    if (op->del) {
        if (!json_object_get(cur, op->del))
            return cmp_fail(err, -ENOENT, "Metadata item was not found");
        json_object_del(cur, op->del);
        return 0;
    }
    json_t *next = op->replace ? json_deep_copy(op->meta) : json_deep_copy(cur);
    if (!next)
        return -ENOMEM;
    if (!op->replace)
        json_object_update(next, op->meta);
    rc = cmp_check_meta(next, err);
    if (!rc)
        json_object_set(rec, "metadata", next);
    json_decref(next);
    return rc;
}

int compute_server_meta_set(struct compute *c, const struct compute_caller *who, const char *id,
                            json_t *meta, bool replace, json_t **out, struct compute_err *err)
{
    int rc = cmp_check_meta(meta, err);
    if (rc)
        return rc;
    struct meta_op op = { who, meta, replace, NULL };
    json_t *rec;
    rc = modify(c, who, id, apply_meta, &op, &rec, err);
    if (rc)
        return rc;
    *out = json_incref(json_object_get(rec, "metadata"));
    json_decref(rec);
    return 0;
}

int compute_server_meta_delete(struct compute *c, const struct compute_caller *who, const char *id,
                               const char *key)
{
    struct meta_op op = { who, NULL, false, key };
    struct compute_err err;
    return modify(c, who, id, apply_meta, &op, NULL, &err);
}

/* ---- instance actions ---- */

int cmp_action_record(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                      const char *server_id, const char *action, const char *message)
{
    char rid[64], key[STORE_MAX_KEY], now[32];
    if (who->request_id && *who->request_id)
        snprintf(rid, sizeof rid, "%s", who->request_id);
    else {
        char id[STORE_ID_LEN + 1];
        store_new_id(id);
        snprintf(rid, sizeof rid, "req-%s", id);
    }
    int klen = store_index_key(key, server_id, rid, NULL);
    if (klen < 0)
        return klen;
    cmp_now(now);
    json_t *a =
        json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s}]}", "action",
                  action, "request_id", rid, "user_id", who->user_id, "project_id", who->project_id,
                  "start_time", now, "instance_uuid", server_id, "message",
                  message ? json_string(message) : json_null(), "events", "event", action,
                  "start_time", now, "finish_time", now, "result", message ? "Error" : "Success");
    if (!a)
        return -ENOMEM;
    /* orders actions of the same second (dropped from what is listed) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_object_set_new(a, "start_ns",
                        json_integer((json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!text)
        return -ENOMEM;
    int rc = store_put_raw(t, c->actions, key, (size_t)klen, text, strlen(text));
    free(text);
    return rc;
}

static int collect_action(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    json_t *a = store_decode(v, vl);
    if (!a)
        return -ENOMEM;
    json_array_append_new(ctx, a);
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int d = strcmp(str(y, "start_time") ?: "", str(x, "start_time") ?: "");
    if (d)
        return d;
    json_int_t nx = json_integer_value(json_object_get(x, "start_ns"));
    json_int_t ny = json_integer_value(json_object_get(y, "start_ns"));
    return ny > nx ? 1 : ny < nx ? -1 : 0;
}

/* The server, or with deleted its tombstone, that who may see. */
static int load_or_tombstone(struct compute *c, struct store_txn *t,
                             const struct compute_caller *who, const char *id, bool deleted,
                             json_t **rec)
{
    int rc = cmp_server_load(c, t, who, id, false, rec);
    if (rc != -ENOENT || !deleted)
        return rc;
    if ((rc = cmp_tombstone_get(c, t, id, rec)))
        return rc;
    if (!cmp_may(who, *rec, false)) {
        json_decref(*rec);
        return -ENOENT;
    }
    return 0;
}

int compute_actions_list(struct compute *c, const struct compute_caller *who, const char *id,
                         bool deleted, json_t **out)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    json_t *rec, *all = json_array();
    rc = all ? load_or_tombstone(c, t, who, id, deleted, &rec) : -ENOMEM;
    if (!rc) {
        json_decref(rec);
        char pre[STORE_MAX_KEY];
        int plen = store_index_key(pre, id, "", NULL);
        rc = plen < 0 ? plen : store_scan(t, c->actions, pre, (size_t)plen, collect_action, all);
    }
    store_abort(t);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    size_t n = json_array_size(all);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        json_decref(all);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(all, i));
    qsort(v, n, sizeof *v, newest_first);
    json_array_clear(all);
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "start_ns");
        json_array_append_new(all, v[i]);
    }
    free(v);
    *out = all;
    return 0;
}

int compute_action_get(struct compute *c, const struct compute_caller *who, const char *id,
                       bool deleted, const char *request_id, json_t **out)
{
    json_t *all;
    int rc = compute_actions_list(c, who, id, deleted, &all);
    if (rc)
        return rc;
    json_t *a;
    size_t i;
    rc = -ENOENT;
    json_array_foreach (all, i, a)
        if (!strcmp(str(a, "request_id") ?: "", request_id)) {
            *out = json_incref(a);
            rc = 0;
            break;
        }
    json_decref(all);
    return rc;
}
