/* Server actions (POST /servers/{id}/action), delete, and the volume and
 * interface attachments: a state check and the record's change in one
 * transaction, then the VMM side (inline for pause/reboot soft, on the
 * worker for the slow ones). */
#include "core/compute/cmp_internal.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

/* A state change: the record must be in one of vm states (and have no
 * task unless any_task); then vm/task/power are set (NULL/-1: kept) and the
 * action recorded. *out: the record before (may be NULL). */
struct transition {
    const char *name; /* Nova's action name in messages and the log */
    const char *const *from;
    bool any_task;
    const char *vm, *task;
    int power;
};

static int transit(struct compute *c, const struct compute_caller *who, const char *id,
                   const struct transition *tr, json_t **before, struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    const char *vm = str(rec, "vm_state") ?: "", *task = str(rec, "task_state");
    if ((rc = cmp_check_lock(who, rec, err))) {
        json_decref(rec);
        store_abort(t);
        return rc;
    }
    if (!one_of(vm, tr->from) || (task && !tr->any_task) || (task && !strcmp(task, "deleting"))) {
        rc = cmp_fail(err, -EBUSY, "Cannot '%s' instance %s while it is in %s %s", tr->name, id,
                      task ? "task_state" : "vm_state", task ? task : vm);
        json_decref(rec);
        store_abort(t);
        return rc;
    }
    if (before)
        *before = json_deep_copy(rec);
    if (tr->vm)
        json_object_set_new(rec, "vm_state", json_string(tr->vm));
    if (tr->task)
        json_object_set_new(rec, "task_state", *tr->task ? json_string(tr->task) : json_null());
    if (tr->power >= 0)
        json_object_set_new(rec, "power_state", json_integer(tr->power));
    rc = cmp_server_put(c, t, rec);
    json_decref(rec);
    if (!rc)
        rc = cmp_action_record(c, t, who, id, tr->name, NULL);
    if (rc) {
        store_abort(t);
        if (before)
            json_decref(*before);
        return rc;
    }
    rc = store_commit(t);
    if (rc && before)
        json_decref(*before);
    return rc;
}

int compute_server_delete(struct compute *c, const struct compute_caller *who, const char *id)
{
    struct compute_err err;
    return compute_server_delete_checked(c, who, id, &err);
}

int compute_server_delete_checked(struct compute *c, const struct compute_caller *who,
                                  const char *id, struct compute_err *err)
{
    static const char *const any[] = { "building",  "active", "stopped", "paused",
                                       "suspended", "error",  "resized", NULL };
    const struct transition tr = { "delete", any, true, NULL, "deleting", -1 };
    json_t *rec;
    int rc = compute_server_find(c, who, id, &rec);
    if (rc)
        return rc;
    bool already = !strcmp(str(rec, "task_state") ?: "", "deleting");
    json_decref(rec);
    if (already)
        return 0;
    rc = transit(c, who, id, &tr, NULL, err);
    if (!rc)
        rc = cmp_job_queue(c, CMP_JOB_DELETE, id);
    return rc;
}

/* restore undoes a soft delete; picostack deletes at once (Nova without
 * reclaim_instance_interval), so no server is ever soft-deleted: 409, as
 * Nova answers for a server that is not. */
static int restore(struct compute *c, const struct compute_caller *who, const char *id,
                   struct compute_err *err)
{
    json_t *rec;
    int rc = compute_server_find(c, who, id, &rec);
    if (rc)
        return rc;
    rc = cmp_fail(err, -EBUSY, "Cannot 'restore' instance %s while it is in vm_state %s", id,
                  str(rec, "vm_state") ?: "");
    json_decref(rec);
    return rc;
}

static const char *const S_ACTIVE[] = { "active", NULL };
static const char *const S_STOPPED[] = { "stopped", NULL };
static const char *const S_PAUSED[] = { "paused", NULL };
static const char *const S_SUSPENDED[] = { "suspended", NULL };
static const char *const S_STOPPABLE[] = { "active", "paused", "suspended", "error", NULL };
static const char *const S_HARD[] = { "active", "stopped", "paused", "suspended", "error", NULL };

/* Inline VMM calls: pause/unpause/suspend/resume/reboot soft. On failure
 * the state goes back. */
static int inline_vmm(struct compute *c, const struct compute_caller *who, const char *id,
                      const struct transition *tr,
                      int (*call)(struct compute *, const char *, bool, struct compute_err *),
                      bool arg, const char *vm_after, int power_after, struct compute_err *err)
{
    json_t *before;
    int rc = transit(c, who, id, tr, &before, err);
    if (rc)
        return rc;
    rc = call(c, id, arg, err);
    if (rc)
        cmp_server_set_state(c, id, str(before, "vm_state"), "", -1, NULL);
    else
        cmp_server_set_state(c, id, vm_after, "", power_after, NULL);
    json_decref(before);
    return rc;
}

static int reboot_soft(struct compute *c, const char *id, bool arg, struct compute_err *err)
{
    (void)arg;
    return cmp_vmm_reboot_soft(c, id, err);
}

static int reboot(struct compute *c, const struct compute_caller *who, const char *id, json_t *arg,
                  struct compute_err *err)
{
    const char *type = str(arg, "type");
    if (!json_is_object(arg) || !type || (strcasecmp(type, "SOFT") && strcasecmp(type, "HARD")))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute type: 'SOFT' or 'HARD'.");
    if (!strcasecmp(type, "HARD")) {
        const struct transition tr = { "reboot", S_HARD, true, "active", "rebooting_hard", -1 };
        int rc = transit(c, who, id, &tr, NULL, err);
        return rc ? rc : cmp_job_queue(c, CMP_JOB_REBOOT_HARD, id);
    }
    const struct transition tr = { "reboot", S_ACTIVE, false, NULL, "rebooting", -1 };
    json_t *before;
    int rc = transit(c, who, id, &tr, &before, err);
    if (rc)
        return rc;
    json_decref(before);
    rc = reboot_soft(c, id, false, err);
    if (rc)
        cmp_server_set_state(c, id, NULL, "", -1, NULL);
    /* else the task clears when the guest resets (VMMCTL_RESET) */
    return rc;
}

static int resize(struct compute *c, const struct compute_caller *who, const char *id, json_t *arg,
                  struct compute_err *err)
{
    const char *ref = str(arg, "flavorRef");
    if (!json_is_object(arg) || !ref || !*ref)
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute flavorRef.");
    const char *slash = strrchr(ref, '/');
    ref = slash ? slash + 1 : ref;
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec = NULL, *f = NULL;
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (!rc)
        rc = cmp_check_lock(who, rec, err);
    if (rc)
        goto out;
    const char *vm = str(rec, "vm_state") ?: "";
    if (strcmp(vm, "stopped") || str(rec, "task_state")) {
        rc = cmp_fail(err, -EBUSY,
                      "Cannot 'resize' instance %s while it is in vm_state %s: picostack "
                      "resizes stopped servers only.",
                      id, vm);
        goto out;
    }
    if (compute_flavor_get(c, t, ref, &f) || !compute_flavor_visible(f, who->project_id)) {
        rc = cmp_fail(err, -EINVAL, "Flavor %s could not be found.", ref);
        goto out;
    }
    json_t *old = json_object_get(rec, "flavor");
    if (!strcmp(str(old, "id") ?: "", str(f, "id") ?: "")) {
        rc = cmp_fail(err, -EINVAL, "When resizing, instances must change flavor!");
        goto out;
    }
    long dv = (long)(json_integer_value(json_object_get(f, "vcpus")) -
                     json_integer_value(json_object_get(old, "vcpus")));
    long dr = (long)(json_integer_value(json_object_get(f, "ram")) -
                     json_integer_value(json_object_get(old, "ram")));
    long dd = (long)(json_integer_value(json_object_get(f, "disk")) -
                     json_integer_value(json_object_get(old, "disk")));
    if (dv < 0 || dr < 0 || dd < 0) {
        rc = cmp_fail(err, -EINVAL,
                      "Resizing to a smaller flavor is not supported: vcpus, ram "
                      "and disk must not shrink.");
        goto out;
    }
    if ((rc = cmp_check_room(c, t, str(rec, "project_id"), 0, dv, dr, err)))
        goto out;
    json_object_set(rec, "old_flavor", old);
    json_object_set_new(rec, "flavor",
                        json_pack("{s:s?, s:s?, s:O, s:O, s:O, s:I, s:I, s:O}", "id", str(f, "id"),
                                  "name", str(f, "name"), "ram", json_object_get(f, "ram"), "vcpus",
                                  json_object_get(f, "vcpus"), "disk", json_object_get(f, "disk"),
                                  "ephemeral", json_integer_value(json_object_get(f, "ephemeral")),
                                  "swap", json_integer_value(json_object_get(f, "swap")),
                                  "extra_specs",
                                  json_object_get(f, "extra_specs") ?: json_object()));
    json_object_set_new(rec, "vm_state", json_string("resized"));
    if (!(rc = cmp_server_put(c, t, rec)))
        rc = cmp_action_record(c, t, who, id, "resize", NULL);
out:
    json_decref(rec);
    json_decref(f);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

static int finish_resize(struct compute *c, const struct compute_caller *who, const char *id,
                         bool revert, struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    if ((rc = cmp_check_lock(who, rec, err))) {
        /* locked: refused below */
    } else if (strcmp(str(rec, "vm_state") ?: "", "resized")) {
        rc = cmp_fail(err, -EBUSY, "Cannot '%s' instance %s while it is in vm_state %s",
                      revert ? "revertResize" : "confirmResize", id, str(rec, "vm_state"));
    } else {
        if (revert)
            json_object_set(rec, "flavor", json_object_get(rec, "old_flavor"));
        json_object_del(rec, "old_flavor");
        json_object_set_new(rec, "vm_state", json_string("stopped"));
        rc = cmp_server_put(c, t, rec);
        if (!rc)
            rc = cmp_action_record(c, t, who, id, revert ? "revertResize" : "confirmResize", NULL);
    }
    json_decref(rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

/* add/remove a security group on every port of the server. */
static int security_group(struct compute *c, const struct compute_caller *who, const char *id,
                          json_t *arg, bool add, struct compute_err *err)
{
    const char *name = str(arg, "name");
    if (!json_is_object(arg) || !name || !*name)
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
    if (!c->host.net)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec = NULL, *ids = NULL, *names = json_pack("[s]", name);
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (!rc)
        rc = cmp_check_lock(who, rec, err);
    if (!rc && (rc = cmp_resolve_groups(c, t, who, names, &ids, err)) == -EINVAL)
        rc = cmp_fail(err, -ENOENT, "Security group %s not found.", name);
    json_t *groups = rc ? NULL : json_object_get(rec, "security_groups");
    bool has = false;
    size_t i;
    json_t *g, *p;
    json_array_foreach (groups, i, g)
        has |= !strcmp(json_string_value(g) ?: "", name);
    if (!rc && has == add)
        rc = cmp_fail(err, -EINVAL,
                      add ? "Security group %s is already associated with the instance %s"
                          : "Security group %s not associated with the instance %s",
                      name, id);
    const char *gid = json_string_value(json_array_get(ids, 0));
    struct net_caller nc = { who->project_id, who->is_admin, who->can_write };
    json_array_foreach (rc ? NULL : json_object_get(rec, "ports"), i, p) {
        json_t *port = NULL, *out = NULL;
        struct net_err ne = { 0 };
        if ((rc = net_show(t, c->host.net, NET_PORT, str(p, "port_id"), &nc, &port, &ne)))
            break;
        json_t *sg = json_deep_copy(json_object_get(port, "security_groups")) ?: json_array();
        for (size_t k = json_array_size(sg); k-- > 0;)
            if (!strcmp(json_string_value(json_array_get(sg, k)) ?: "", gid))
                json_array_remove(sg, k);
        if (add)
            json_array_append_new(sg, json_string(gid));
        json_t *b = json_pack("{s:o}", "security_groups", sg);
        rc = net_update(t, c->host.net, NET_PORT, str(p, "port_id"), b, &nc, &out, &ne);
        json_decref(b);
        json_decref(out);
        json_decref(port);
        if (rc) {
            cmp_fail(err, rc, "%s", ne.msg);
            break;
        }
    }
    if (!rc) {
        if (add)
            json_array_append_new(groups, json_string(name));
        else
            for (size_t k = json_array_size(groups); k-- > 0;)
                if (!strcmp(json_string_value(json_array_get(groups, k)) ?: "", name))
                    json_array_remove(groups, k);
        rc = cmp_server_put(c, t, rec);
    }
    if (!rc)
        rc = cmp_action_record(c, t, who, id, add ? "addSecurityGroup" : "removeSecurityGroup",
                               NULL);
    json_decref(rec);
    json_decref(ids);
    json_decref(names);
    if (rc) {
        store_abort(t);
        return rc;
    }
    rc = store_commit(t);
    if (!rc)
        cmp_net_sync(c);
    return rc;
}

int compute_server_action(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *action, json_t *arg, struct compute_err *err)
{
    if (!strcmp(action, "os-start")) {
        const struct transition tr = { "start", S_STOPPED, false, NULL, "powering-on", -1 };
        int rc = transit(c, who, id, &tr, NULL, err);
        return rc ? rc : cmp_job_queue(c, CMP_JOB_START, id);
    }
    if (!strcmp(action, "os-stop")) {
        const struct transition tr = { "stop", S_STOPPABLE, false, NULL, "powering-off", -1 };
        int rc = transit(c, who, id, &tr, NULL, err);
        return rc ? rc : cmp_job_queue(c, CMP_JOB_STOP, id);
    }
    if (!strcmp(action, "reboot"))
        return reboot(c, who, id, arg, err);
    if (!strcmp(action, "pause") || !strcmp(action, "suspend")) {
        bool susp = action[0] == 's';
        const struct transition tr = {
            action, S_ACTIVE, false, NULL, susp ? "suspending" : "pausing", -1
        };
        return inline_vmm(c, who, id, &tr, cmp_vmm_pause, true, susp ? "suspended" : "paused",
                          susp ? 7 : 3, err);
    }
    if (!strcmp(action, "unpause") || !strcmp(action, "resume")) {
        bool res = action[0] == 'r';
        const struct transition tr = { action, res ? S_SUSPENDED : S_PAUSED,   false,
                                       NULL,   res ? "resuming" : "unpausing", -1 };
        return inline_vmm(c, who, id, &tr, cmp_vmm_pause, false, "active", 1, err);
    }
    if (!strcmp(action, "resize"))
        return resize(c, who, id, arg, err);
    if (!strcmp(action, "confirmResize") || !strcmp(action, "revertResize")) {
        return finish_resize(c, who, id, action[0] == 'r', err);
    }
    if (!strcmp(action, "addSecurityGroup") || !strcmp(action, "removeSecurityGroup"))
        return security_group(c, who, id, arg, action[0] == 'a', err);
    if (!strcmp(action, "rebuild"))
        return cmp_server_rebuild(c, who, id, arg, err);
    if (!strcmp(action, "lock") || !strcmp(action, "unlock"))
        return cmp_server_lock(c, who, id, action[0] == 'l', arg, err);
    if (!strcmp(action, "forceDelete")) /* any state, as Nova's; the lock holds */
        return compute_server_delete_checked(c, who, id, err);
    if (!strcmp(action, "restore"))
        return restore(c, who, id, err);
    return cmp_fail(err, -ENOTSUP, "There is no such action: %s", action);
}
