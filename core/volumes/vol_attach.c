/* core/volumes: attachment bookkeeping (the compute service attaches the
 * disks; this keeps the states Cinder shows). Volume: available ->
 * attaching -> in-use -> detaching -> available; attachment records:
 * attaching -> attached (-> gone when detached). Each call is one store
 * transaction: nothing on the block store changes. */
#include "core/volumes/vol_internal.h"

#include <string.h>

static int open_volume(struct volumes *v, const struct volumes_caller *who, const char *id,
                       struct store_txn **t, json_t **vol)
{
    int rc = vol_begin(v, true, t);
    if (rc < 0)
        return rc;
    rc = vol_load(*t, v, K_VOLUME, id, who, true, vol);
    if (rc < 0)
        store_abort(*t);
    return rc;
}

static int put_both(struct store_txn *t, struct volumes *v, json_t *vol, json_t *att, int rc)
{
    if (rc == 0) {
        vol_touch(vol);
        rc = vol_put(t, v, K_VOLUME, vol);
    }
    if (rc == 0 && att)
        rc = vol_put(t, v, K_ATTACHMENT, att);
    return vol_end(t, rc);
}

int volume_attach_begin(struct volumes *v, const struct volumes_caller *who, const char *volume_id,
                        const char *instance, const char *mode, json_t **attachment)
{
    if (!mode)
        mode = "rw";
    if (strcmp(mode, "rw") && strcmp(mode, "ro"))
        return vol_fail(-EINVAL, "Invalid input received: mode must be rw or ro.");
    if (instance && strlen(instance) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: instance id too long.");
    struct store_txn *t;
    json_t *vol;
    int rc = open_volume(v, who, volume_id, &t, &vol);
    if (rc < 0)
        return rc;
    const char *st = vol_str(vol, "status");
    bool multi = json_is_true(json_object_get(vol, "multiattach"));
    if (strcmp(st, "available") && !(multi && !strcmp(st, "in-use")))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: Volume %s status must be available to attach "
                      "(it is %s).",
                      volume_id, st);
    else if (json_is_true(json_object_get(vol, "readonly")) && !strcmp(mode, "rw"))
        rc = vol_fail(-EINVAL, "Invalid volume: a read-only volume attaches only in ro mode.");
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    json_t *att = vol_new_record(id, who);
    vol_set_str(att, "project_id", vol_str(vol, "project_id"));
    vol_set_str(att, "volume_id", volume_id);
    vol_set_str(att, "instance", instance);
    vol_set_str(att, "status", "attaching");
    vol_set_str(att, "attach_mode", mode);
    vol_set_str(att, "mountpoint", NULL);
    vol_set_str(att, "attached_at", NULL);
    vol_set_str(att, "detached_at", NULL);
    if (rc == 0) {
        if (!strcmp(st, "available"))
            vol_set_str(vol, "status", "attaching");
        json_array_append_new(json_object_get(vol, "attachments"), json_string(id));
    }
    rc = put_both(t, v, vol, att, rc);
    json_decref(vol);
    if (rc == 0 && attachment)
        *attachment = json_incref(att);
    json_decref(att);
    return rc;
}

int volume_attach_complete(struct volumes *v, const struct volumes_caller *who,
                           const char *attachment_id, const char *mountpoint, json_t **out)
{
    struct store_txn *t;
    json_t *att = NULL, *vol = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_ATTACHMENT, attachment_id, who, true, &att);
    if (rc == 0)
        rc = vol_get(t, v, K_VOLUME, vol_str(att, "volume_id"), &vol);
    if (rc == 0 && strcmp(vol_str(att, "status"), "attaching"))
        rc = vol_fail(-EBUSY, "Invalid attachment: it is %s, not attaching.",
                      vol_str(att, "status"));
    char now[32];
    volumes_timestamp(now);
    if (rc == 0) {
        vol_set_str(att, "status", "attached");
        vol_set_str(att, "attached_at", now);
        if (mountpoint)
            vol_set_str(att, "mountpoint", mountpoint);
        vol_set_str(vol, "status", "in-use");
    }
    if (rc == 0)
        rc = put_both(t, v, vol, att, 0);
    else
        store_abort(t);
    if (rc == 0 && out)
        *out = json_incref(att);
    json_decref(att);
    json_decref(vol);
    return rc;
}

static int flip(struct volumes *v, const struct volumes_caller *who, const char *volume_id,
                const char *from, const char *to)
{
    struct store_txn *t;
    json_t *vol;
    int rc = open_volume(v, who, volume_id, &t, &vol);
    if (rc < 0)
        return rc;
    if (strcmp(vol_str(vol, "status"), from))
        rc = vol_fail(-EBUSY, "Invalid volume: Volume status must be %s (it is %s).", from,
                      vol_str(vol, "status"));
    else
        vol_set_str(vol, "status", to);
    rc = put_both(t, v, vol, NULL, rc);
    json_decref(vol);
    return rc;
}

int volume_reserve(struct volumes *v, const struct volumes_caller *who, const char *volume_id)
{
    return flip(v, who, volume_id, "available", "attaching");
}

int volume_unreserve(struct volumes *v, const struct volumes_caller *who, const char *volume_id)
{
    struct store_txn *t;
    json_t *vol;
    int rc = open_volume(v, who, volume_id, &t, &vol);
    if (rc < 0)
        return rc;
    if (strcmp(vol_str(vol, "status"), "attaching"))
        rc = vol_fail(-EBUSY, "Invalid volume: Volume status must be attaching (it is %s).",
                      vol_str(vol, "status"));
    else if (json_array_size(json_object_get(vol, "attachments")))
        rc = vol_fail(-EBUSY, "Invalid volume: an attachment is in progress: detach it.");
    else
        vol_set_str(vol, "status", "available");
    rc = put_both(t, v, vol, NULL, rc);
    json_decref(vol);
    return rc;
}

int volume_detach_begin(struct volumes *v, const struct volumes_caller *who, const char *volume_id)
{
    return flip(v, who, volume_id, "in-use", "detaching");
}

int volume_detach_roll(struct volumes *v, const struct volumes_caller *who, const char *volume_id)
{
    return flip(v, who, volume_id, "detaching", "in-use");
}

int volume_detach(struct volumes *v, const struct volumes_caller *who, const char *volume_id,
                  const char *attachment_id)
{
    struct store_txn *t;
    json_t *vol;
    int rc = open_volume(v, who, volume_id, &t, &vol);
    if (rc < 0)
        return rc;
    json_t *list = json_object_get(vol, "attachments");
    size_t n = json_array_size(list), at = n;
    for (size_t i = 0; i < n; i++)
        if (!attachment_id || !strcmp(json_string_value(json_array_get(list, i)), attachment_id))
            at = i;
    if (n == 0)
        rc = vol_fail(-EBUSY, "Invalid volume: Volume %s is not attached.", volume_id);
    else if (!attachment_id && n > 1)
        rc = vol_fail(-EINVAL,
                      "Invalid input received: the volume has %zu attachments: name "
                      "one.",
                      n);
    else if (at == n)
        rc = vol_fail(-ENOENT, "Attachment %s could not be found.", attachment_id);
    if (rc == 0) {
        int d = vol_del(t, v, K_ATTACHMENT, json_string_value(json_array_get(list, at)));
        rc = d == -ENOENT ? 0 : d;
        json_array_remove(list, at);
        if (json_array_size(list) == 0)
            vol_set_str(vol, "status", "available");
        else if (!strcmp(vol_str(vol, "status"), "detaching"))
            vol_set_str(vol, "status", "in-use");
    }
    rc = put_both(t, v, vol, NULL, rc);
    json_decref(vol);
    return rc;
}

int volume_attachment_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                          json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_ATTACHMENT, id, who, false, out);
    store_abort(t);
    return rc;
}

int volume_attachment_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                           json_t **out)
{
    return vol_list_visible(v, K_ATTACHMENT, who, all_projects, out);
}
