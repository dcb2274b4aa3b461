/* Image members: the projects a shared image is offered to, each of which
 * accepts or rejects it. */
#include "core/images/images.h"
#include "core/images/image_internal.h"

#include <errno.h>
#include <string.h>

json_t *image_member_new(const json_t *img, const char *member_id, const struct image_caller *who,
                         const char *now, struct image_err *err)
{
    if (!image_can_modify(img, who)) {
        image_fail(err, -EPERM, "You are not permitted to add members to this image.");
        return NULL;
    }
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (!vis || strcmp(vis, "shared") != 0) {
        image_fail(err, -EPERM, "Only shared images have members.");
        return NULL;
    }
    if (!member_id || !*member_id || strlen(member_id) > 255) {
        image_fail(err, -EINVAL, "Invalid value for 'member': a project id.");
        return NULL;
    }
    const char *id = json_string_value(json_object_get(img, "id"));
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "member_id", member_id, "image_id", id,
                          "status", "pending", "created_at", now, "updated_at", now);
    if (!m)
        image_fail(err, -ENOMEM, "Out of memory.");
    return m;
}

int image_member_set_status(json_t *member, const char *status, const struct image_caller *who,
                            const char *now, struct image_err *err)
{
    const char *mid = json_string_value(json_object_get(member, "member_id"));
    if (!who->project_id || !mid || strcmp(mid, who->project_id) != 0)
        return image_fail(err, -EPERM, "Only the member project may change its membership status.");
    if (!status || (strcmp(status, "pending") != 0 && strcmp(status, "accepted") != 0 &&
                    strcmp(status, "rejected") != 0))
        return image_fail(err, -EINVAL, "Invalid status: one of pending, accepted, rejected.");
    json_object_set_new(member, "status", json_string(status));
    json_object_set_new(member, "updated_at", json_string(now));
    return 0;
}
