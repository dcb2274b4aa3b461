/* Integration tests of Glance's metadata side in picostackd (issue 18):
 * the older JSON-patch media type, lenient boolean filters, reserved
 * properties, admin owner updates, and metadata definitions, against a
 * real daemon.  Usage: test_images_meta BUILD/bin SUBTEST */
#include "img_harness.h"

#include <stdlib.h>
#include <string.h>

#define V20 "application/openstack-images-v2.0-json-patch"
#define V21 "application/openstack-images-v2.1-json-patch"

static void t_patch_filters(struct picostackd *d)
{
    char *a = admin_login(d);
    char pid[64];
    char *u = project_user(d, a, "pm", "um", "member", pid);
    char *id = create_image(
        d, u, "{\"name\":\"p\",\"disk_format\":\"vhd\",\"container_format\":\"bare\"}");
    CHECK(id != NULL, "vhd is one of Glance's disk formats");
    char path[200], body[300];
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    /* the older media type: {"replace": path, "value": v} */
    CHECK(http_status(d, "PATCH", path, u, V20, "[{\"replace\":\"/name\",\"value\":\"q\"}]") ==
          200);
    json_t *img = get_image(d, u, id);
    CHECK(img && !strcmp(jstr(img, "name") ?: "", "q"));
    json_decref(img);
    CHECK(http_status(d, "PATCH", path, u, V20, "[{\"add\":\"/k\",\"value\":\"v\"}]") == 200);
    CHECK(http_status(d, "PATCH", path, u, V20, "[{\"remove\":\"/k\"}]") == 200);
    CHECK(http_status(d, "PATCH", path, u, V20, "[{\"frobnicate\":\"/k\"}]") == 400);
    /* v2.1 still wants "op" */
    CHECK(http_status(d, "PATCH", path, u, V21, "[{\"replace\":\"/name\",\"value\":\"x\"}]") ==
          400);
    /* reserved properties are refused */
    CHECK(http_status(d, "PATCH", path, u, V21,
                      "[{\"op\":\"add\",\"path\":\"/os_glance_x\",\"value\":\"1\"}]") == 403);
    /* a member may not give the image away; an admin may */
    snprintf(body, sizeof body, "[{\"op\":\"replace\",\"path\":\"/owner\",\"value\":\"%s\"}]",
             "00000000-0000-4000-8000-000000000001");
    CHECK(http_status(d, "PATCH", path, u, V21, body) == 403);
    CHECK(http_status(d, "PATCH", path, a, V21, body) == 200);
    /* booleans read leniently; garbage refused */
    static const char *const yes[] = { "True", "yes", "ON", "1" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/image/v2/images?os_hidden=%s", yes[i]);
        CHECK(http_status(d, "GET", path, a, NULL, NULL) == 200, "os_hidden=%s", yes[i]);
    }
    CHECK(http_status(d, "GET", "/image/v2/images?os_hidden=maybe", a, NULL, NULL) == 400);
    /* Glance's filters on formats and sizes */
    struct resp r;
    http(d, "GET", "/image/v2/images?disk_format=vhd", u, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "images")) == 0,
          "the image went to another owner above");
    resp_free(&r);
    http(d, "GET", "/image/v2/images?disk_format=vhd", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "images")) == 1);
    resp_free(&r);
    http(d, "GET", "/image/v2/images?disk_format=raw&size_min=0", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "images")) == 0);
    resp_free(&r);
    CHECK(http_status(d, "GET", "/image/v2/images?size_min=abc", a, NULL, NULL) == 400);
    CHECK(http_status(d, "GET", "/image/v2/images?protected=perhaps", a, NULL, NULL) == 400);
    CHECK(http_status(d, "DELETE", "/image/v2/images/", a, NULL, NULL) == 404);
    free(id), free(u), free(a);
}

static void t_metadefs(struct picostackd *d)
{
    char *a = admin_login(d);
    char pid[64];
    char *u = project_user(d, a, "pd", "ud", "member", pid);
    const char *ns = "/image/v2/metadefs/namespaces";
    CHECK(http_status(d, "POST", ns, u, NULL, "{\"namespace\":\"n1\"}") == 403);
    CHECK(http_status(d, "POST", ns, a, NULL, "{\"namespace\":\"\"}") == 400);
    CHECK(http_status(d, "POST", ns, a, NULL, "{\"namespace\":7}") == 400);
    CHECK(http_status(d, "POST", ns, a, NULL,
                      "{\"namespace\":\"n1\",\"visibility\":\"public\",\"protected\":true}") ==
          201);
    CHECK(http_status(d, "POST", ns, a, NULL, "{\"namespace\":\"n1\"}") == 409);
    CHECK(http_status(d, "POST", ns, a, NULL, "{\"namespace\":\"secret\"}") == 201);
    /* members see public namespaces only */
    CHECK(http_status(d, "GET", "/image/v2/metadefs/namespaces/n1", u, NULL, NULL) == 200);
    CHECK(http_status(d, "GET", "/image/v2/metadefs/namespaces/secret", u, NULL, NULL) == 404);
    CHECK(http_status(d, "DELETE", "/image/v2/metadefs/namespaces/n1", a, NULL, NULL) == 403);
    CHECK(http_status(d, "POST", "/image/v2/metadefs/namespaces/n1/objects", a, NULL,
                      "{\"name\":\"o1\",\"description\":\"d\"}") == 201);
    CHECK(http_status(d, "POST", "/image/v2/metadefs/namespaces/n1/objects", a, NULL,
                      "{\"name\":\"o1\"}") == 409);
    CHECK(http_status(d, "PUT", "/image/v2/metadefs/namespaces/n1/objects/o1", a, NULL,
                      "{\"name\":\"o2\"}") == 200);
    CHECK(http_status(d, "GET", "/image/v2/metadefs/namespaces/n1/objects/o1", a, NULL, NULL) ==
          404);
    CHECK(http_status(d, "GET", "/image/v2/metadefs/namespaces/n1/objects/o2", u, NULL, NULL) ==
          200);
    CHECK(http_status(d, "POST", "/image/v2/metadefs/namespaces/n1/tags", a, NULL,
                      "{\"tags\":[{\"name\":\"t1\"},{\"name\":\"t2\"}]}") == 201);
    struct resp r;
    http(d, "GET", "/image/v2/metadefs/namespaces/n1/tags", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "tags")) == 2);
    resp_free(&r);
    CHECK(http_status(d, "GET", "/image/v2/schemas/metadefs/namespace", a, NULL, NULL) == 200);
    CHECK(http_status(d, "GET", "/image/v2/schemas/metadefs/nope", a, NULL, NULL) == 404);
    CHECK(http_status(d, "PUT", "/image/v2/metadefs/namespaces/n1", a, NULL,
                      "{\"namespace\":\"n1\",\"protected\":false}") == 200);
    CHECK(http_status(d, "DELETE", "/image/v2/metadefs/namespaces/n1", a, NULL, NULL) == 204);
    CHECK(http_status(d, "GET", "/image/v2/metadefs/namespaces/n1/tags", a, NULL, NULL) == 404);
    free(u), free(a);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = {
        { "patch_filters", t_patch_filters },
        { "metadefs", t_metadefs },
    };
    return run_subtest(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
