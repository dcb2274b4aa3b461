/* The status machine (queued -> saving -> active <-> deactivated; a
 * failed upload goes back to queued) and who may see or change an image. */
#include "core/images/images.h"
#include "core/images/image_internal.h"

#include <errno.h>
#include <string.h>

static bool is(const json_t *img, const char *status)
{
    const char *s = image_status(img);
    return s && strcmp(s, status) == 0;
}

static void set_status(json_t *img, const char *status, const char *now)
{
    json_object_set_new(img, "status", json_string(status));
    json_object_set_new(img, "updated_at", json_string(now));
}

int image_upload_begin(json_t *img, const char *now, struct image_err *err)
{
    if (!is(img, "queued"))
        return image_fail(err, -EBUSY, "Image status transition from %s to saving is not allowed",
                          image_status(img));
    set_status(img, "saving", now);
    return 0;
}

void image_upload_abort(json_t *img, const char *now)
{
    set_status(img, "queued", now);
    image_private_set(img, IMAGE_DISK, NULL);
    static const char *const data_fields[] = {
        "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", NULL,
    };
    for (size_t i = 0; data_fields[i]; i++)
        json_object_set_new(img, data_fields[i], json_null());
}

int image_upload_finish(json_t *img, int64_t size, int64_t virtual_size, const char *md5_hex,
                        const char *sha512_hex, const char *now, struct image_err *err)
{
    if (!is(img, "saving"))
        return image_fail(err, -EBUSY, "Image status transition from %s to active is not allowed",
                          image_status(img));
    json_object_set_new(img, "size", json_integer(size));
    json_object_set_new(img, "virtual_size", json_integer(virtual_size));
    json_object_set_new(img, "checksum", json_string(md5_hex));
    json_object_set_new(img, "os_hash_algo", json_string("sha512"));
    json_object_set_new(img, "os_hash_value", json_string(sha512_hex));
    set_status(img, "active", now);
    return 0;
}

int image_deactivate(json_t *img, const char *now, struct image_err *err)
{
    if (is(img, "deactivated"))
        return 0;
    if (!is(img, "active"))
        return image_fail(err, -EPERM, "Not allowed to deactivate image in status '%s'",
                          image_status(img));
    set_status(img, "deactivated", now);
    return 0;
}

int image_reactivate(json_t *img, const char *now, struct image_err *err)
{
    if (is(img, "active"))
        return 0;
    if (!is(img, "deactivated"))
        return image_fail(err, -EPERM, "Not allowed to reactivate image in status '%s'",
                          image_status(img));
    set_status(img, "active", now);
    return 0;
}

static bool owned_by(const json_t *img, const struct image_caller *who)
{
    const char *owner = json_string_value(json_object_get(img, "owner"));
    return owner && who->project_id && strcmp(owner, who->project_id) == 0;
}

bool image_can_see(const json_t *img, const struct image_caller *who, const char *member_status)
{
    if (who->is_admin || owned_by(img, who))
        return true;
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (!vis)
        return false;
    if (strcmp(vis, "public") == 0 || strcmp(vis, "community") == 0)
        return true;
    return strcmp(vis, "shared") == 0 && member_status != NULL;
}

bool image_can_modify(const json_t *img, const struct image_caller *who)
{
    return who->is_admin || (who->can_write && owned_by(img, who));
}

int image_check_delete(const json_t *img, const struct image_caller *who, struct image_err *err)
{
    if (!image_can_modify(img, who))
        return image_fail(err, -EPERM, "You are not permitted to delete this image.");
    if (json_is_true(json_object_get(img, "protected")))
        return image_fail(err, -EPERM, "Image %s is protected and cannot be deleted.",
                          json_string_value(json_object_get(img, "id")));
    return 0;
}

int image_check_download(const json_t *img, const struct image_caller *who, struct image_err *err)
{
    if (is(img, "deactivated") && !who->is_admin)
        return image_fail(
            err, -EPERM,
            "The requested image has been deactivated. Image data download is forbidden.");
    if (!is(img, "active") && !is(img, "deactivated"))
        return image_fail(err, -ENODATA, "The image has no data.");
    return 0;
}
