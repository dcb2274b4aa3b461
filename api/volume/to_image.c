/* os-volume_upload_image (`openstack image create --volume VOL NAME`):
 * a new active image that shares the volume's clusters, in constant time.
 * The block-store snapshot is made first (core/volumes), then the image
 * record is written in one transaction; a failed write deletes the
 * snapshot again, and a crash between the two leaves an object no active
 * image owns, which the image service frees at its next start. The record
 * write bumps the image records' generation (core/images), so the image
 * service's list shows it at once. Only raw/bare is offered: any other
 * disk format would need a conversion, not a shared snapshot. */
#include "api/volume/internal.h"
#include "core/blockstore/blockstore.h"
#include "core/images/images.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A string field of a (default def); NULL after replying 400. */
static const char *field(struct api_req *r, const json_t *a, const char *key, const char *def)
{
    const json_t *x = json_object_get(a, key);
    if (!x || json_is_null(x))
        return def;
    if (!json_is_string(x)) {
        api_reply_error(r, 400, "Invalid input received: %s must be a string.", key);
        return NULL;
    }
    return json_string_value(x);
}

/* The queued image record the action asks for; NULL after replying. */
static json_t *new_image(struct api_req *r, const json_t *a, const char *id, bool *force)
{
    const char *name = field(r, a, "image_name", NULL);
    const char *disk = name ? field(r, a, "disk_format", "raw") : NULL;
    const char *cont = disk ? field(r, a, "container_format", "bare") : NULL;
    const char *vis = cont ? field(r, a, "visibility", "private") : NULL;
    if (!vis)
        return name ? NULL
                    : (api_reply_error(r, 400, "Invalid input received: image_name is required."),
                       NULL);
    int f = json_object_get(a, "force") ? vol_bool(json_object_get(a, "force")) : 0;
    int prot = json_object_get(a, "protected") ? vol_bool(json_object_get(a, "protected")) : 0;
    if (f < 0 || prot < 0)
        return api_reply_error(r, 400,
                               "Invalid input received: force and protected must "
                               "be booleans."),
               NULL;
    if (strcmp(disk, "raw") || strcmp(cont, "bare"))
        return api_reply_error(r, 400,
                               "Invalid input received: only disk_format raw and "
                               "container_format bare are supported (the image "
                               "shares the volume's blocks)."),
               NULL;
    *force = f;
    struct volumes_caller c = vol_caller(r);
    struct image_caller who = { .project_id = c.project_id,
                                .is_admin = c.is_admin,
                                .can_write = c.can_write };
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", name, "disk_format", disk,
                             "container_format", cont, "visibility", vis, "protected", prot);
    char now[32];
    image_timestamp(now);
    struct image_err err = { 0 };
    json_t *img = body ? image_new(body, id, &who, now, &err) : NULL;
    json_decref(body);
    if (!img)
        api_reply_errno(r, body ? err.err : -ENOMEM, "%s", body ? err.msg : "out of memory");
    return img;
}

int vol_upload_image(struct api_req *r, struct vol_state *st, const char *vol_id, const json_t *a)
{
    if (!json_is_object(a))
        return api_reply_error(r, 400,
                               "Invalid input received: os-volume_upload_image must "
                               "be an object."),
               1;
    char id[STORE_ID_LEN + 1];
    store_new_id(id);
    bool force = false;
    json_t *img = new_image(r, a, id, &force);
    if (!img)
        return 1;
    struct volumes_caller who = vol_caller(r);
    uint64_t bytes = 0;
    int rc = volume_upload_image(st->v, &who, vol_id, id, force, &bytes);
    if (rc == 0 && (rc = image_db_put_active(st->images, img, id, bytes)) < 0) {
        int d = API_BS(st->srv, blockstore_delete(api_server_blockstore(st->srv), id));
        if (d < 0)
            fprintf(stderr, "picostackd: image %s from volume %s: cannot delete its data: %s\n", id,
                    vol_id, strerror(-d));
    }
    json_t *vol = NULL;
    if (rc == 0)
        rc = volume_get(st->v, &who, vol_id, &vol);
    if (rc < 0) {
        json_decref(img);
        return rc;
    }
    json_t *vt = json_object_get(vol, "volume_type");
    json_t *out = json_pack(
        "{s:{s:s, s:O?, s:s?, s:O?, s:I, s:o, s:s, s:s, s:s, s:s, s:O?, s:O?}}",
        "os-volume_upload_image", "id", vol_id, "updated_at", json_object_get(vol, "updated_at"),
        "status", json_string_value(json_object_get(vol, "status")), "display_description",
        json_object_get(vol, "description"), "size", (json_int_t)(bytes / VOLUMES_GIB),
        "volume_type", json_is_string(vt) ? json_pack("{s:O}", "name", vt) : json_null(),
        "image_id", id, "image_name", json_string_value(json_object_get(img, "name")),
        "container_format", "bare", "disk_format", "raw", "visibility",
        json_object_get(img, "visibility"), "protected", json_object_get(img, "protected"));
    json_decref(vol);
    json_decref(img);
    if (!out)
        return -ENOMEM;
    api_reply_json(r, 202, out);
    return 1;
}
