/* Image records: building one from a create body, time
 * stamps, private fields. */
#include "core/images/images.h"
#include "core/images/image_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int image_fail(struct image_err *err, int errnum, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->err = errnum;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void image_timestamp(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool image_is_uuid(const char *s)
{
    if (!s || strlen(s) != IMAGE_ID_LEN)
        return false;
    for (int i = 0; i < IMAGE_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* Attributes nobody may set: Glance answers 403 "read-only". */
static const char *const read_only[] = {
    "status",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "os_glance_import_method",
    IMAGE_PRIVATE_KEY,
    NULL,
};

bool image_attr_read_only(const char *key)
{
    for (size_t i = 0; read_only[i]; i++)
        if (strcmp(key, read_only[i]) == 0)
            return true;
    return strncmp(key, "os_glance", 9) == 0;
}

static const char *const base_attrs[] = {
    "id",        "name",    "visibility",  "protected",
    "os_hidden", "tags",    "disk_format", "container_format",
    "min_disk",  "min_ram", "owner",       NULL,
};

bool image_attr_is_base(const char *key)
{
    for (size_t i = 0; base_attrs[i]; i++)
        if (strcmp(key, base_attrs[i]) == 0)
            return true;
    return image_attr_read_only(key);
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const char *const disk_formats[] = {
    "raw", "qcow2", "iso", "aki", "ari", "ami", "vhd", "vhdx", "vmdk", "vdi", "ploop", NULL,
};
static const char *const container_formats[] = {
    "bare", "ovf", "aki", "ari", "ami", "ova", "docker", "compressed", NULL,
};
static const char *const visibilities[] = {
    "private", "shared", "community", "public", NULL,
};

/* Check value for a settable attribute key and store it in img. Shared by
 * create and patch, so both accept exactly the same values. */
int image_set_attr(json_t *img, const char *key, json_t *value, const struct image_caller *who,
                   struct image_err *err)
{
    if (image_attr_read_only(key))
        return image_fail(err, -EPERM, "Attribute '%s' is read-only.", key);
    if (strlen(key) == 0 || strlen(key) > IMAGE_MAX_PROPERTY_LEN)
        return image_fail(err, -EINVAL, "Invalid property name.");

    if (strcmp(key, "name") == 0) {
        if (!json_is_null(value) && (!json_is_string(value) || json_string_length(value) > 255))
            return image_fail(
                err, -EINVAL,
                "Invalid value for 'name': a string of at most 255 characters or null.");
    } else if (strcmp(key, "visibility") == 0) {
        if (!json_is_string(value) || !in_list(json_string_value(value), visibilities))
            return image_fail(
                err, -EINVAL,
                "Invalid value for 'visibility': one of private, shared, community, public.");
    } else if (strcmp(key, "protected") == 0 || strcmp(key, "os_hidden") == 0) {
        if (!json_is_boolean(value))
            return image_fail(err, -EINVAL, "Invalid value for '%s': a boolean.", key);
    } else if (strcmp(key, "disk_format") == 0 || strcmp(key, "container_format") == 0) {
        const char *const *ok = key[0] == 'd' ? disk_formats : container_formats;
        if (!json_is_null(value) &&
            (!json_is_string(value) || !in_list(json_string_value(value), ok)))
            return image_fail(err, -EINVAL, "Invalid value for '%s': '%s' is not supported.", key,
                              json_is_string(value) ? json_string_value(value) : "(not a string)");
        const char *st = image_status(img);
        if (st && strcmp(st, "queued") != 0)
            return image_fail(err, -EPERM,
                              "Attribute '%s' can be only replaced for a queued image.", key);
    } else if (strcmp(key, "min_disk") == 0 || strcmp(key, "min_ram") == 0) {
        if (!json_is_integer(value) || json_integer_value(value) < 0)
            return image_fail(err, -EINVAL, "Invalid value for '%s': a non-negative integer.", key);
    } else if (strcmp(key, "tags") == 0) {
        if (!json_is_array(value))
            return image_fail(err, -EINVAL, "Invalid value for 'tags': an array of strings.");
        size_t i;
        json_t *t;
        json_t *uniq = json_array();
        json_array_foreach (value, i, t) {
            if (!json_is_string(t) || json_string_length(t) == 0 ||
                json_string_length(t) > IMAGE_MAX_PROPERTY_LEN) {
                json_decref(uniq);
                return image_fail(err, -EINVAL,
                                  "Invalid value for 'tags': strings of 1 to 255 characters.");
            }
            if (!image_tags_has(uniq, json_string_value(t)))
                json_array_append(uniq, t);
        }
        json_object_set_new(img, key, uniq);
        return 0;
    } else if (strcmp(key, "owner") == 0) {
        if (!json_is_string(value) && !json_is_null(value))
            return image_fail(err, -EINVAL, "Invalid value for 'owner': a string.");
        bool own = json_is_string(value) && who && who->project_id &&
                   strcmp(json_string_value(value), who->project_id) == 0;
        if (!own && (!who || !who->is_admin))
            return image_fail(err, -EPERM, "Attribute 'owner' is reserved.");
    } else if (strcmp(key, "id") == 0) {
        if (!json_is_string(value) || !image_is_uuid(json_string_value(value)))
            return image_fail(err, -EINVAL, "Invalid value for 'id': a UUID.");
    } else {
        /* A custom property: Glance keeps them as strings. */
        if (!json_is_string(value))
            return image_fail(err, -EINVAL, "Invalid value for property '%s': a string.", key);
        if (json_string_length(value) > IMAGE_MAX_PROPERTY_LEN * 256)
            return image_fail(err, -EINVAL, "Value of property '%s' is too long.", key);
    }
    json_object_set(img, key, value);
    return 0;
}

bool image_tags_has(const json_t *tags, const char *tag)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t)
        if (strcmp(json_string_value(t), tag) == 0)
            return true;
    return false;
}

json_t *image_new(json_t *body, const char *id, const struct image_caller *who, const char *now,
                  struct image_err *err)
{
    if (!json_is_object(body)) {
        image_fail(err, -EINVAL, "The request body must be a JSON object.");
        return NULL;
    }
    json_t *img =
        json_pack("{s:s, s:n, s:s, s:s, s:b, s:b, s:[], s:n, s:n,"
                  " s:i, s:i, s:n, s:n, s:n, s:n, s:n, s:s?, s:s, s:s}",
                  "id", id, "name", "status", "queued", "visibility", "shared", "protected", 0,
                  "os_hidden", 0, "tags", "disk_format", "container_format", "min_disk", 0,
                  "min_ram", 0, "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                  "owner", who->project_id, "created_at", now, "updated_at", now);
    if (!img) {
        image_fail(err, -ENOMEM, "Out of memory.");
        return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach (body, key, value) {
        if (image_set_attr(img, key, value, who, err) < 0) {
            json_decref(img);
            return NULL;
        }
    }
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    if (strcmp(vis, "public") == 0 && !who->is_admin) {
        json_decref(img);
        image_fail(err, -EPERM, "You are not authorized to publicize images.");
        return NULL;
    }
    json_object_set_new(img, IMAGE_PRIVATE_KEY, json_object());
    return img;
}

const char *image_status(const json_t *img)
{
    return json_string_value(json_object_get(img, "status"));
}

static json_t *private_obj(json_t *img)
{
    json_t *p = json_object_get(img, IMAGE_PRIVATE_KEY);
    if (!json_is_object(p)) {
        p = json_object();
        json_object_set_new(img, IMAGE_PRIVATE_KEY, p);
    }
    return p;
}

const char *image_private_get(const json_t *img, const char *key)
{
    return json_string_value(json_object_get(json_object_get(img, IMAGE_PRIVATE_KEY), key));
}

int image_private_set(json_t *img, const char *key, const char *value)
{
    json_t *p = private_obj(img);
    if (!value)
        return json_object_del(p, key), 0;
    return json_object_set_new(p, key, json_string(value)) == 0 ? 0 : -1;
}

int64_t image_private_get_int(const json_t *img, const char *key)
{
    json_t *v = json_object_get(json_object_get(img, IMAGE_PRIVATE_KEY), key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

int image_private_set_int(json_t *img, const char *key, int64_t value)
{
    return json_object_set_new(private_obj(img), key, json_integer(value)) == 0 ? 0 : -1;
}
