/* Server tags (Nova 2.26): strings of 1..60 characters without '/' or
 * ',', at most 50 per server, kept in the record's "tags" in the order
 * they were added (no duplicates). */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <string.h>

#define MAX_TAGS 50

static int check_tag(const json_t *t, struct compute_err *err)
{
    const char *s = json_string_value(t);
    if (!s || !*s || strlen(s) > 60 || strpbrk(s, "/,"))
        return cmp_fail(err, -EINVAL,
                        "Invalid input for field/attribute tags: a tag is 1 to 60 characters "
                        "without '/' or ','.");
    return 0;
}

static bool has(const json_t *tags, const char *tag)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t)
        if (!strcmp(json_string_value(t) ?: "", tag))
            return true;
    return false;
}

int compute_server_tags(struct compute *c, const struct compute_caller *who, const char *id,
                        enum compute_tag_op op, const char *tag, json_t *all, json_t **out,
                        struct compute_err *err)
{
    size_t i;
    json_t *t;
    if (out)
        *out = NULL;
    if (op == COMPUTE_TAGS_REPLACE) {
        if (!json_is_array(all))
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute tags.");
        json_array_foreach (all, i, t)
            if (check_tag(t, err))
                return -EINVAL;
    } else if (op == COMPUTE_TAG_ADD) {
        json_t *one = json_string(tag ? tag : "");
        int rc = check_tag(one, err);
        json_decref(one);
        if (rc)
            return rc;
    }
    struct store_txn *txn;
    int rc = store_begin(c->store, op != COMPUTE_TAGS_GET, &txn);
    if (rc)
        return rc;
    json_t *rec = NULL;
    rc = cmp_server_load(c, txn, who, id, op != COMPUTE_TAGS_GET, &rec);
    if (!rc && op != COMPUTE_TAGS_GET)
        rc = cmp_check_lock(who, rec, err);
    json_t *tags = rc ? NULL : json_object_get(rec, "tags");
    if (!rc && !json_is_array(tags)) {
        tags = json_array();
        json_object_set_new(rec, "tags", tags);
    }
    int result = 0; /* ADD: 1 when new; DEL: -ENOENT when not there */
    if (!rc) {
        switch (op) {
        case COMPUTE_TAGS_GET: break;
        case COMPUTE_TAGS_REPLACE:
            json_array_clear(tags);
            json_array_foreach (all, i, t)
                if (!has(tags, json_string_value(t)))
                    json_array_append(tags, t);
            break;
        case COMPUTE_TAGS_CLEAR: json_array_clear(tags); break;
        case COMPUTE_TAG_ADD:
            if (!has(tags, tag)) {
                json_array_append_new(tags, json_string(tag));
                result = 1;
            }
            break;
        case COMPUTE_TAG_DEL:
            result = -ENOENT;
            for (i = json_array_size(tags); i-- > 0;)
                if (!strcmp(json_string_value(json_array_get(tags, i)) ?: "", tag ? tag : "")) {
                    json_array_remove(tags, i);
                    result = 0;
                }
            if (result)
                rc = cmp_fail(err, -ENOENT, "Tag %s not found on instance %s.", tag ? tag : "", id);
            break;
        }
        if (!rc && json_array_size(tags) > MAX_TAGS)
            rc = cmp_fail(err, -EINVAL, "At most %d tags per server.", MAX_TAGS);
    }
    if (!rc && op != COMPUTE_TAGS_GET)
        rc = cmp_server_put(c, txn, rec);
    if (!rc && out)
        *out = json_incref(tags);
    json_decref(rec);
    if (rc || op == COMPUTE_TAGS_GET) {
        store_abort(txn);
        return rc;
    }
    rc = store_commit(txn);
    if (rc && out)
        json_decref(*out);
    return rc ? rc : result;
}
