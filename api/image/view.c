/* Glance's view of core/images records: what the API shows of a stored
 * record, with the links Glance puts in it (core/ knows no URLs). */
#include "api/image/internal.h"

json_t *img_view(const json_t *img)
{
    /* A shallow copy: the values are shared (jansson counts references
     * atomically), only the top-level object is new. */
    json_t *v = json_copy((json_t *)img);
    if (!v)
        return NULL;
    json_object_del(v, IMAGE_PRIVATE_KEY);
    const char *id = json_string_value(json_object_get(img, "id"));
    char link[96];
    snprintf(link, sizeof link, "/v2/images/%s", id ? id : "");
    json_object_set_new(v, "self", json_string(link));
    snprintf(link, sizeof link, "/v2/images/%s/file", id ? id : "");
    json_object_set_new(v, "file", json_string(link));
    json_object_set_new(v, "schema", json_string("/v2/schemas/image"));
    return v;
}

json_t *img_member_view(const json_t *member)
{
    json_t *v = json_copy((json_t *)member);
    if (v)
        json_object_set_new(v, "schema", json_string("/v2/schemas/member"));
    return v;
}
