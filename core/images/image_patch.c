/* JSON patch of an image (application/openstack-images-v2.1-json-patch):
 * the ops are applied to a copy, which replaces the record only if every
 * op succeeded, so a refused patch changes nothing. */
#include "core/images/images.h"
#include "core/images/image_internal.h"

#include <errno.h>
#include <string.h>

/* "/name" -> "name"; JSON pointer escapes ~1 and ~0 are decoded. A path
 * with another '/' (e.g. "/tags/0", "/locations/-") is refused. */
static int path_key(const char *path, char *out, size_t outlen, struct image_err *err)
{
    if (!path || path[0] != '/' || path[1] == '\0')
        return image_fail(err, -EINVAL, "Invalid JSON pointer for this resource: '%s'",
                          path ? path : "");
    size_t n = 0;
    for (const char *p = path + 1; *p; p++) {
        char c = *p;
        if (c == '/')
            return image_fail(err, -EINVAL, "Invalid JSON pointer for this resource: '%s'", path);
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return image_fail(err, -EINVAL, "Invalid JSON pointer: '%s'", path);
            p++;
        }
        if (n + 1 >= outlen)
            return image_fail(err, -EINVAL, "Property name too long.");
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int apply_op(json_t *img, const json_t *op, const struct image_caller *who,
                    struct image_err *err)
{
    if (!json_is_object(op))
        return image_fail(err, -EINVAL, "Each patch operation must be a JSON object.");
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    json_t *value = json_object_get(op, "value");
    char key[IMAGE_MAX_PROPERTY_LEN + 2];

    if (!name)
        return image_fail(err, -EINVAL, "Unable to find 'op' in JSON Schema change");
    if (path_key(path, key, sizeof key, err) < 0)
        return -1;
    if (strcmp(key, "id") == 0)
        return image_fail(err, -EPERM, "Attribute '%s' is read-only.", key);

    if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0) {
        if (!value)
            return image_fail(err, -EINVAL, "Operation '%s' requires a member named 'value'.",
                              name);
        bool exists = json_object_get(img, key) != NULL;
        if (strcmp(name, "replace") == 0 && !exists && !image_attr_is_base(key))
            return image_fail(err, -EBUSY, "Property %s does not exist.", key);
        return image_set_attr(img, key, value, who, err);
    }
    if (strcmp(name, "remove") == 0) {
        if (image_attr_read_only(key))
            return image_fail(err, -EPERM, "Attribute '%s' is read-only.", key);
        if (image_attr_is_base(key))
            return image_fail(err, -EPERM, "Properties %s must not be removed.", key);
        if (!json_object_get(img, key))
            return image_fail(err, -EBUSY, "Property %s does not exist.", key);
        json_object_del(img, key);
        return 0;
    }
    return image_fail(err, -EINVAL, "Invalid operation: `%s`.", name);
}

int image_patch(json_t *img, const json_t *ops, const struct image_caller *who, const char *now,
                struct image_err *err)
{
    if (!json_is_array(ops))
        return image_fail(err, -EINVAL,
                          "The request body must be a JSON array of patch operations.");
    if (!image_can_modify(img, who))
        return image_fail(err, -EPERM, "You are not permitted to modify this image.");
    json_t *copy = json_deep_copy(img);
    if (!copy)
        return image_fail(err, -ENOMEM, "Out of memory.");
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        if (apply_op(copy, op, who, err) < 0) {
            json_decref(copy);
            return -1;
        }
    }
    /* A public image may be made only by an admin, as Glance's policy has it. */
    const char *vis = json_string_value(json_object_get(copy, "visibility"));
    const char *was = json_string_value(json_object_get(img, "visibility"));
    if (vis && strcmp(vis, "public") == 0 && strcmp(was, "public") != 0 && !who->is_admin) {
        json_decref(copy);
        return image_fail(err, -EPERM, "You are not authorized to publicize images.");
    }
    json_object_set_new(copy, "updated_at", json_string(now));
    json_object_update(img, copy);
    /* Keys removed in the copy must go from img too. */
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe (img, tmp, key, v)
        if (!json_object_get(copy, key))
            json_object_del(img, key);
    json_decref(copy);
    return 0;
}
