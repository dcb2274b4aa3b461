/* The rebuild action: the server keeps its id, ports, addresses, flavor
 * and attached volumes, and gets a new boot disk made from the image asked
 * for (the old one is deleted), a new name, metadata and access IPs if
 * given. Status REBUILD until the worker (cmp_server_boot.c) has made the
 * disk and started the VMM again; a server that was stopped stays
 * SHUTOFF. A server booted from a volume keeps its disk: its rebuild must
 * name the volume's own image (Nova's rule) and only restarts it. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Nova's rebuild body (2.1 .. 2.37, plus description of 2.19). */
static int check_arg(json_t *arg, struct compute_err *err)
{
    static const char *const keys[] = {
        "imageRef",          "name",        "metadata",    "adminPass",
        "accessIPv4",        "accessIPv6",  "personality", "preserve_ephemeral",
        "OS-DCF:diskConfig", "description", NULL
    };
    if (!json_is_object(arg))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute rebuild.");
    const char *k;
    json_t *v;
    json_object_foreach (arg, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k))
            i++;
        if (!keys[i])
            return cmp_fail(err, -EINVAL,
                            "Invalid input for field/attribute rebuild. Additional properties "
                            "are not allowed ('%s' was unexpected)",
                            k);
    }
    json_t *img = json_object_get(arg, "imageRef"), *name = json_object_get(arg, "name");
    if (!json_is_string(img) || !json_string_length(img))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute imageRef.");
    if (name &&
        (!json_is_string(name) || json_string_length(name) < 1 || json_string_length(name) > 255))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
    json_t *pass = json_object_get(arg, "adminPass"), *pers = json_object_get(arg, "personality");
    if (pass && !json_is_string(pass))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute adminPass.");
    /* personality files are accepted and ignored, as with
     * compute-feature-enabled personality = false */
    if (pers && !json_is_array(pers))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute personality.");
    json_t *meta = json_object_get(arg, "metadata");
    return meta ? cmp_check_meta(meta, err) : 0;
}

/* A volume-backed server: the image its boot volume was made from ("" when
 * none), read before the write transaction (core/volumes has its own). */
static int boot_volume_image(struct compute *c, const struct compute_caller *who, const char *id,
                             char out[64], bool *volume_backed)
{
    json_t *rec, *v;
    size_t i;
    int rc = compute_server_find(c, who, id, &rec);
    if (rc)
        return rc;
    out[0] = 0;
    *volume_backed = !str(rec, "image_id") || !*str(rec, "image_id");
    json_array_foreach (*volume_backed ? json_object_get(rec, "volumes") : NULL, i, v) {
        if (json_integer_value(json_object_get(v, "boot_index")) != 0 ||
            !json_is_integer(json_object_get(v, "boot_index")))
            continue;
        struct volumes_caller vc = { who->project_id, who->user_id, true, false };
        json_t *vol;
        if (!volume_get(c->host.volumes, &vc, str(v, "volume_id"), &vol)) {
            snprintf(out, 64, "%s",
                     str(json_object_get(vol, "volume_image_metadata"), "image_id") ?: "");
            json_decref(vol);
        }
    }
    json_decref(rec);
    return 0;
}

/* The record's new image, boot files, name, metadata, access IPs; the
 * state REBUILD (task_state rebuilding, "rebuild_from" the vm_state to
 * come back to). */
static int apply(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                 json_t *rec, json_t *arg, const char *image_id, bool volume_backed,
                 struct compute_err *err)
{
    const char *vm = str(rec, "vm_state") ?: "", *task = str(rec, "task_state");
    int rc = cmp_check_lock(who, rec, err);
    if (rc)
        return rc;
    if ((strcmp(vm, "active") && strcmp(vm, "stopped") && strcmp(vm, "error")) || task)
        return cmp_fail(err, -EBUSY, "Cannot 'rebuild' instance %s while it is in %s %s",
                        str(rec, "id"), task ? "task_state" : "vm_state", task ? task : vm);
    json_t *img = NULL;
    if ((rc = cmp_usable_image(c, t, who, image_id, &img, err)))
        return rc;
    struct cmp_boot_props b;
    long gb = 0;
    if (!(rc = cmp_resolve_kernel(c, t, who, img, image_id, &b, err)) && !volume_backed)
        rc = cmp_image_fits(json_object_get(rec, "flavor"), img, &gb, err);
    if (!rc && (rc = cmp_access_ips_apply(arg, rec, err)) == 0) {
        if (!volume_backed) {
            json_object_set_new(rec, "image_id", json_string(image_id));
            if (gb > json_integer_value(json_object_get(rec, "boot_gb")))
                json_object_set_new(rec, "boot_gb", json_integer(gb));
        }
        const char *const keys[] = { "kernel_id", "ramdisk_id", "cmdline", "os_boot",
                                     "firmware_type" };
        const char *const vals[] = { b.kernel_id, b.ramdisk_id, b.cmdline, b.os_boot,
                                     b.firmware_type };
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            json_object_set_new(rec, keys[k], vals[k] ? json_string(vals[k]) : json_null());
    }
    json_decref(img); /* b's strings point into it: used above only */
    if (rc)
        return rc;
    if (json_object_get(arg, "name"))
        json_object_set(rec, "name", json_object_get(arg, "name"));
    if (json_object_get(arg, "metadata"))
        json_object_set(rec, "metadata", json_object_get(arg, "metadata"));
    json_object_set_new(rec, "rebuild_from",
                        json_string(strcmp(vm, "stopped") ? "active" : "stopped"));
    json_object_set_new(rec, "task_state", json_string("rebuilding"));
    return 0;
}

int cmp_server_rebuild(struct compute *c, const struct compute_caller *who, const char *id,
                       json_t *arg, struct compute_err *err)
{
    int rc = check_arg(arg, err);
    if (rc)
        return rc;
    if (!c->host.images || !c->host.volumes)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    const char *slash = strrchr(str(arg, "imageRef"), '/');
    const char *image_id = slash ? slash + 1 : str(arg, "imageRef");
    char vol_image[64];
    bool volume_backed;
    if ((rc = boot_volume_image(c, who, id, vol_image, &volume_backed)))
        return rc;
    if (volume_backed && strcmp(vol_image, image_id))
        return cmp_fail(err, -EINVAL,
                        "Unable to rebuild with a different image for a volume-backed server.");
    struct store_txn *t;
    if ((rc = store_begin(c->store, true, &t)))
        return rc;
    json_t *rec = NULL;
    if (!(rc = cmp_server_load(c, t, who, id, true, &rec)) &&
        !(rc = apply(c, t, who, rec, arg, image_id, volume_backed, err)) &&
        !(rc = cmp_server_put(c, t, rec)))
        rc = cmp_action_record(c, t, who, id, "rebuild", NULL);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    if ((rc = store_commit(t)))
        return rc;
    return cmp_job_queue(c, CMP_JOB_REBUILD, id);
}
