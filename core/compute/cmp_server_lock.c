/* Locks (Nova's lock/unlock actions): a locked server refuses every
 * changing action of a non-admin with 409; the owner may unlock a lock the
 * owner set, only an admin one an admin set. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <string.h>

int cmp_check_lock(const struct compute_caller *who, const json_t *rec, struct compute_err *err)
{
    if (!json_is_true(json_object_get(rec, "locked")) || who->is_admin)
        return 0;
    return cmp_fail(err, -EBUSY, "Instance %s is locked",
                    json_string_value(json_object_get(rec, "id")) ?: "");
}

int cmp_server_lock(struct compute *c, const struct compute_caller *who, const char *id, bool lock,
                    json_t *arg, struct compute_err *err)
{
    json_t *reason = json_object_get(arg, "locked_reason");
    if (lock && reason && !(json_is_string(reason) && json_string_length(reason) <= 255))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute locked_reason.");
    if (arg && !json_is_null(arg) && !json_is_object(arg))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute %s.",
                        lock ? "lock" : "unlock");
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    if ((rc = cmp_server_load(c, t, who, id, true, &rec))) {
        store_abort(t);
        return rc;
    }
    const char *by = json_string_value(json_object_get(rec, "locked_by")) ?: "";
    if (!lock && json_is_true(json_object_get(rec, "locked")) && !strcmp(by, "admin") &&
        !who->is_admin)
        rc = cmp_fail(err, -EPERM,
                      "Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                      "unlock_override to be performed.");
    if (!rc) {
        json_object_set_new(rec, "locked", json_boolean(lock));
        json_object_set_new(rec, "locked_by",
                            lock ? json_string(who->is_admin ? "admin" : "owner") : json_null());
        json_object_set(rec, "locked_reason", lock && reason ? reason : json_null());
        rc = cmp_server_put(c, t, rec);
    }
    if (!rc)
        rc = cmp_action_record(c, t, who, id, lock ? "lock" : "unlock", NULL);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}
