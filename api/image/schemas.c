/* GET /v2/schemas/{image,images,member,members}: the JSON schemas Glance
 * publishes, which python-glanceclient reads to build its models (the
 * openstack CLI does not need them). They describe what this service
 * returns: core fields with their types (null where an image may not have
 * a value yet), custom properties as strings. */
#include "api/image/internal.h"

#include <string.h>

static json_t *nullable(const char *type)
{
    return json_pack("{s:[s,s]}", "type", type, "null");
}

static json_t *image_schema(void)
{
    json_t *props = json_object();
    static const char *const strings[] = { "id",    "status",     "visibility",
                                           "owner", "created_at", "updated_at",
                                           "self",  "file",       "schema" };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        json_object_set_new(props, strings[i], json_pack("{s:s}", "type", "string"));
    static const char *const maybe_strings[] = { "name",     "disk_format",  "container_format",
                                                 "checksum", "os_hash_algo", "os_hash_value" };
    for (size_t i = 0; i < sizeof maybe_strings / sizeof maybe_strings[0]; i++)
        json_object_set_new(props, maybe_strings[i], nullable("string"));
    json_object_set_new(props, "size", nullable("integer"));
    json_object_set_new(props, "virtual_size", nullable("integer"));
    json_object_set_new(props, "min_disk", json_pack("{s:s}", "type", "integer"));
    json_object_set_new(props, "min_ram", json_pack("{s:s}", "type", "integer"));
    json_object_set_new(props, "protected", json_pack("{s:s}", "type", "boolean"));
    json_object_set_new(props, "os_hidden", json_pack("{s:s}", "type", "boolean"));
    json_object_set_new(props, "tags",
                        json_pack("{s:s, s:{s:s, s:i}}", "type", "array", "items", "type", "string",
                                  "maxLength", 255));
    return json_pack("{s:s, s:o, s:{s:s}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "name", "image",
                     "properties", props, "additionalProperties", "type", "string", "links", "rel",
                     "self", "href", "{self}", "rel", "enclosure", "href", "{file}", "rel",
                     "describedby", "href", "{schema}");
}

static json_t *member_schema(void)
{
    json_t *props = json_object();
    static const char *const strings[] = { "image_id",   "member_id",  "status",
                                           "created_at", "updated_at", "schema" };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        json_object_set_new(props, strings[i], json_pack("{s:s}", "type", "string"));
    return json_pack("{s:s, s:o}", "name", "member", "properties", props);
}

static json_t *collection(const char *name, const char *item, json_t *item_schema)
{
    return json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, s:{s:s}}, s:[{s:s, s:s}, {s:s, "
                     "s:s}, {s:s, s:s}]}",
                     "name", name, "properties", item, "type", "array", "items", item_schema,
                     "schema", "type", "string", "first", "type", "string", "next", "type",
                     "string", "links", "rel", "first", "href", "{first}", "rel", "next", "href",
                     "{next}", "rel", "describedby", "href", "{schema}");
}

void img_schema(struct api_req *r)
{
    const char *which = api_req_param(r, 0);
    json_t *body = NULL;
    if (strcmp(which, "image") == 0)
        body = image_schema();
    else if (strcmp(which, "images") == 0)
        body = collection("images", "images", image_schema());
    else if (strcmp(which, "member") == 0)
        body = member_schema();
    else if (strcmp(which, "members") == 0)
        body = collection("members", "members", member_schema());
    if (!body)
        return api_reply_error(r, 404, "No schema named %s", which);
    api_reply_json(r, 200, body);
}
