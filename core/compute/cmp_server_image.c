/* createImage: a new Glance image of a server's boot volume that shares
 * its clusters, in constant time, made the way the volume service's
 * os-volume_upload_image makes one (volume_upload_image snapshots the
 * volume into the image's block-store object, image_db_put_active writes
 * the active record; a failed write deletes the object again).
 *
 * Nova snapshots a running server; the block store refuses to snapshot a
 * disk a running VMM writes, so here the server must be stopped (SHUTOFF):
 * ACTIVE, PAUSED and SUSPENDED answer 409 saying so.  Every server here
 * boots from a volume (an image's is a copy-on-write clone), so both
 * kinds get the same kind of image: raw data shared with the boot volume,
 * with Nova's snapshot properties (image_type snapshot, instance_uuid,
 * base_image_ref, the boot properties it was booted with), rather than
 * Nova's data-less image with block_device_mapping properties for
 * volume-backed servers. */
#include "core/compute/cmp_internal.h"
#include "core/blockstore/blockstore.h"
#include "core/images/images.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Nova's name: 1-255 characters, no leading or trailing white space. */
static bool good_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 255 && !isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]);
}

/* The request: {"name": NAME, "metadata": {KEY: STRING}}. */
static int check_request(const json_t *arg, struct compute_err *err)
{
    if (!json_is_object(arg))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute createImage.");
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)arg, key, v)
        if (strcmp(key, "name") && strcmp(key, "metadata"))
            return cmp_fail(err, -EINVAL,
                            "Additional properties are not allowed ('%s' was unexpected)", key);
    if (!good_name(str(arg, "name")))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
    json_t *meta = json_object_get(arg, "metadata");
    if (meta && !json_is_object(meta))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute metadata.");
    json_object_foreach (meta, key, v)
        if (!*key || strlen(key) > 255 || !json_is_string(v) || json_string_length(v) > 255)
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute metadata.");
    return 0;
}

/* The server for who, stopped, and its boot volume's id. */
static int load_stopped(struct compute *c, const struct compute_caller *who, const char *id,
                        json_t **rec, char vol[STORE_ID_LEN + 1], struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    rc = cmp_server_load(c, t, who, id, true, rec);
    store_abort(t);
    if (rc)
        return rc;
    const char *vm = str(*rec, "vm_state") ?: "", *task = str(*rec, "task_state");
    if ((rc = cmp_check_lock(who, *rec, err)))
        ;
    else if (task)
        rc = cmp_fail(err, -EBUSY, "Cannot 'createImage' instance %s while it is in task_state %s",
                      id, task);
    else if (!strcmp(vm, "active") || !strcmp(vm, "paused") || !strcmp(vm, "suspended"))
        rc = cmp_fail(err, -EBUSY,
                      "Cannot 'createImage' instance %s while it is in vm_state %s: picostack "
                      "images a server's boot volume only while no VMM writes it; stop the "
                      "server first",
                      id, vm);
    else if (strcmp(vm, "stopped"))
        rc = cmp_fail(err, -EBUSY, "Cannot 'createImage' instance %s while it is in vm_state %s",
                      id, vm);
    vol[0] = 0;
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(*rec, "volumes"), i, v)
        if (json_is_integer(json_object_get(v, "boot_index")) &&
            json_integer_value(json_object_get(v, "boot_index")) == 0)
            snprintf(vol, STORE_ID_LEN + 1, "%s", str(v, "volume_id") ?: "");
    if (!rc && !vol[0])
        rc = cmp_fail(err, -EBUSY, "Instance %s has no boot volume to make an image of", id);
    if (rc)
        json_decref(*rec);
    return rc;
}

/* The queued image record: the name, the request's metadata, Nova's
 * snapshot properties and the boot properties the server was made with. */
static json_t *image_record(const json_t *rec, const json_t *arg, const char *image_id,
                            const struct compute_caller *who, struct compute_err *err)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "name", str(arg, "name"), "disk_format", "raw",
                             "container_format", "bare", "visibility", "private");
    if (!body)
        return NULL;
    json_object_update(body, json_object_get(arg, "metadata"));
    static const char *const inherited[][2] = {
        { "kernel_id", "kernel_id" },
        { "ramdisk_id", "ramdisk_id" },
        { "cmdline", "os_command_line" },
        { "os_boot", "os_boot" },
        { "firmware_type", "hw_firmware_type" },
    };
    for (size_t i = 0; i < sizeof inherited / sizeof inherited[0]; i++) {
        const char *v = str(rec, inherited[i][0]);
        if (v && *v)
            json_object_set_new(body, inherited[i][1], json_string(v));
    }
    json_object_set_new(body, "image_type", json_string("snapshot"));
    json_object_set_new(body, "instance_uuid", json_string(str(rec, "id")));
    json_object_set_new(body, "base_image_ref", json_string(str(rec, "image_id") ?: ""));
    if (who->user_id)
        json_object_set_new(body, "user_id", json_string(who->user_id));
    char now[32];
    image_timestamp(now);
    struct image_caller ic = { who->project_id, who->is_admin, who->can_write };
    struct image_err ie = { 0 };
    json_t *img = image_new(body, image_id, &ic, now, &ie);
    json_decref(body);
    if (!img)
        cmp_fail(err, ie.err ? ie.err : -ENOMEM, "%s", ie.msg);
    return img;
}

static void record_action(struct compute *c, const struct compute_caller *who, const char *id)
{
    struct store_txn *t;
    if (store_begin(c->store, true, &t))
        return;
    if (cmp_action_record(c, t, who, id, "createImage", NULL))
        store_abort(t);
    else
        store_commit(t);
}

int compute_server_create_image(struct compute *c, const struct compute_caller *who, const char *id,
                                const json_t *arg, char image_id[STORE_ID_LEN + 1],
                                struct compute_err *err)
{
    if (!c->host.volumes || !c->host.images || !c->host.bs)
        return cmp_fail(err, -ENXIO, "no block store: images cannot be made here");
    int rc = check_request(arg, err);
    json_t *rec;
    char vol[STORE_ID_LEN + 1];
    if (rc || (rc = load_stopped(c, who, id, &rec, vol, err)))
        return rc;
    store_new_id(image_id);
    json_t *img = image_record(rec, arg, image_id, who, err);
    json_decref(rec);
    if (!img)
        return err->msg[0] ? -EINVAL : -ENOMEM;
    struct volumes_caller vc = { who->project_id, who->user_id, who->is_admin, who->can_write };
    uint64_t bytes = 0;
    rc = volume_upload_image(c->host.volumes, &vc, vol, image_id, true, &bytes);
    if (rc) {
        cmp_fail(err, rc, "%s", volumes_error());
    } else if ((rc = image_db_put_active(c->host.images, img, image_id, bytes))) {
        c->host.bs_lock(c->host.bs_ctx);
        int d = blockstore_delete(c->host.bs, image_id);
        c->host.bs_unlock(c->host.bs_ctx);
        if (d)
            fprintf(stderr, "picostackd: image %s of server %s: cannot delete its data: %s\n",
                    image_id, id, strerror(-d));
        cmp_fail(err, rc, "the image record could not be written: %s", strerror(-rc));
    }
    json_decref(img);
    if (!rc)
        record_action(c, who, id);
    return rc;
}
