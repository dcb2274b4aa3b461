/* core/images: create validation, views, patches, status machine, access. */
#include "core/images/images.h"
#include "tests/support/check.h"

#include <errno.h>
#include <string.h>

static const char *ID = "0b6e3d3a-1f2e-4c55-9a7b-3c2d1e0f9a8b";
static const char *NOW = "2026-11-24T23:00:00Z";
static struct image_caller owner = { .project_id = "p1", .can_write = true };
static struct image_caller other = { .project_id = "p2", .can_write = true };
static struct image_caller reader = { .project_id = "p1", .can_write = false };
static struct image_caller admin = { .project_id = "padm", .is_admin = true, .can_write = true };

static json_t *make(const char *body_text, struct image_err *err)
{
    json_t *body = json_loads(body_text, 0, NULL);
    json_t *img = image_new(body, ID, &owner, NOW, err);
    json_decref(body);
    return img;
}

static void test_create(void)
{
    struct image_err err = { 0 };
    json_t *img =
        make("{\"name\":\"cirros\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\","
             "\"kernel_id\":\"k1\",\"tags\":[\"a\",\"a\",\"b\"]}",
             &err);
    CHECK(img);
    CHECK_STR(image_status(img), "queued");
    CHECK_STR(json_string_value(json_object_get(img, "visibility")), "shared");
    CHECK_STR(json_string_value(json_object_get(img, "owner")), "p1");
    CHECK_STR(json_string_value(json_object_get(img, "kernel_id")), "k1");
    CHECK(json_array_size(json_object_get(img, "tags")) == 2);
    CHECK(json_is_null(json_object_get(img, "size")));
    /* core/ knows no HTTP: the record has no links (api/image adds them). */
    CHECK(json_object_get(img, IMAGE_PRIVATE_KEY));
    CHECK(!json_object_get(img, "self") && !json_object_get(img, "file") &&
          !json_object_get(img, "schema"));
    json_decref(img);

    CHECK(!make("{\"status\":\"active\"}", &err) && err.err == -EPERM);
    CHECK(!make("{\"size\":3}", &err) && err.err == -EPERM);
    CHECK(!make("{\"disk_format\":\"vmdk2\"}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"min_ram\":-1}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"min_disk\":\"1\"}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"protected\":\"yes\"}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"visibility\":\"everyone\"}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"visibility\":\"public\"}", &err) && err.err == -EPERM);
    CHECK(!make("{\"custom\":5}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"owner\":\"someone-else\"}", &err) && err.err == -EPERM);
    CHECK(!make("{\"id\":\"not-a-uuid\"}", &err) && err.err == -EINVAL);
    CHECK(!make("{\"" IMAGE_PRIVATE_KEY "\":{}}", &err) && err.err == -EPERM);
    CHECK(!make("{\"tags\":[1]}", &err) && err.err == -EINVAL);
    json_t *arr = json_array();
    CHECK(!image_new(arr, ID, &owner, NOW, &err) && err.err == -EINVAL);
    json_decref(arr);
    /* Glance's CLI sends these unknown keys: they become properties. */
    img = make("{\"owner_specified.openstack.md5\":\"\",\"owner_specified.openstack.object\":"
               "\"images/x\"}",
               &err);
    CHECK(img);
    CHECK_STR(json_string_value(json_object_get(img, "owner_specified.openstack.object")),
              "images/x");
    json_decref(img);
}

static int patch(json_t *img, const char *ops_text, const struct image_caller *who,
                 struct image_err *err)
{
    json_t *ops = json_loads(ops_text, 0, NULL);
    int r = image_patch(img, ops, who, "2026-11-24T23:30:00Z", err);
    json_decref(ops);
    return r;
}

static void test_patch(void)
{
    struct image_err err = { 0 };
    json_t *img = make("{\"name\":\"a\",\"os_command_line\":\"console=ttyS0\"}", &err);
    CHECK(patch(img,
                "[{\"op\":\"add\",\"path\":\"/kernel_id\",\"value\":\"k\"},"
                "{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"b\"},"
                "{\"op\":\"remove\",\"path\":\"/os_command_line\"}]",
                &owner, &err) == 0);
    CHECK_STR(json_string_value(json_object_get(img, "kernel_id")), "k");
    CHECK_STR(json_string_value(json_object_get(img, "name")), "b");
    CHECK(!json_object_get(img, "os_command_line"));
    CHECK_STR(json_string_value(json_object_get(img, "updated_at")), "2026-11-24T23:30:00Z");

    /* All or nothing: the second op fails, so the first is not kept. */
    CHECK(patch(img,
                "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"c\"},"
                "{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"active\"}]",
                &owner, &err) < 0);
    CHECK(err.err == -EPERM);
    CHECK_STR(json_string_value(json_object_get(img, "name")), "b");

    CHECK(patch(img, "[{\"op\":\"remove\",\"path\":\"/nope\"}]", &owner, &err) < 0 &&
          err.err == -EBUSY);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":\"x\"}]", &owner, &err) <
              0 &&
          err.err == -EBUSY);
    CHECK(patch(img, "[{\"op\":\"remove\",\"path\":\"/name\"}]", &owner, &err) < 0 &&
          err.err == -EPERM);
    CHECK(patch(img, "[{\"op\":\"move\",\"path\":\"/name\"}]", &owner, &err) < 0 &&
          err.err == -EINVAL);
    CHECK(patch(img, "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":\"x\"}]", &owner, &err) < 0 &&
          err.err == -EINVAL);
    CHECK(patch(img, "[{\"op\":\"add\",\"path\":\"/k\"}]", &owner, &err) < 0 && err.err == -EINVAL);
    CHECK(patch(img, "{}", &owner, &err) < 0 && err.err == -EINVAL);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"x\"}]", &owner, &err) < 0 &&
          err.err == -EPERM);
    CHECK(patch(img, "[{\"op\":\"add\",\"path\":\"/k\",\"value\":\"v\"}]", &other, &err) < 0 &&
          err.err == -EPERM);
    CHECK(patch(img, "[{\"op\":\"add\",\"path\":\"/k\",\"value\":\"v\"}]", &reader, &err) < 0 &&
          err.err == -EPERM);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"public\"}]", &owner,
                &err) < 0 &&
          err.err == -EPERM);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"public\"}]", &admin,
                &err) == 0);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/tags\",\"value\":[\"x\"]}]", &owner, &err) ==
          0);
    CHECK(patch(img, "[{\"op\":\"add\",\"path\":\"/a~1b\",\"value\":\"slash\"}]", &owner, &err) ==
          0);
    CHECK_STR(json_string_value(json_object_get(img, "a/b")), "slash");
    json_decref(img);
}

static void test_status(void)
{
    struct image_err err = { 0 };
    json_t *img = make("{\"name\":\"s\"}", &err);
    CHECK(image_deactivate(img, NOW, &err) < 0 && err.err == -EPERM);
    CHECK(image_check_download(img, &owner, &err) < 0 && err.err == -ENODATA);
    CHECK(image_upload_finish(img, 1, 1, "m", "s", NOW, &err) < 0 && err.err == -EBUSY);
    CHECK(image_upload_begin(img, NOW, &err) == 0);
    CHECK_STR(image_status(img), "saving");
    CHECK(image_upload_begin(img, NOW, &err) < 0 && err.err == -EBUSY);
    image_private_set(img, IMAGE_DISK, "stale");
    image_upload_abort(img, NOW);
    CHECK_STR(image_status(img), "queued");
    CHECK(image_private_get(img, IMAGE_DISK) == NULL);
    CHECK(image_upload_begin(img, NOW, &err) == 0);
    CHECK(image_upload_finish(img, 10, 20, "d41d8cd98f00b204e9800998ecf8427e", "abc", NOW, &err) ==
          0);
    CHECK_STR(image_status(img), "active");
    CHECK(json_integer_value(json_object_get(img, "size")) == 10);
    CHECK(json_integer_value(json_object_get(img, "virtual_size")) == 20);
    CHECK_STR(json_string_value(json_object_get(img, "os_hash_algo")), "sha512");
    CHECK(image_upload_begin(img, NOW, &err) < 0 && err.err == -EBUSY);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/disk_format\",\"value\":\"raw\"}]", &owner,
                &err) < 0 &&
          err.err == -EPERM);
    CHECK(image_check_download(img, &owner, &err) == 0);
    CHECK(image_deactivate(img, NOW, &err) == 0);
    CHECK(image_deactivate(img, NOW, &err) == 0);
    CHECK(image_check_download(img, &owner, &err) < 0 && err.err == -EPERM);
    CHECK(image_check_download(img, &admin, &err) == 0);
    CHECK(image_reactivate(img, NOW, &err) == 0);
    CHECK_STR(image_status(img), "active");

    CHECK(image_check_delete(img, &other, &err) < 0 && err.err == -EPERM);
    CHECK(image_check_delete(img, &reader, &err) < 0 && err.err == -EPERM);
    CHECK(image_check_delete(img, &owner, &err) == 0);
    CHECK(patch(img, "[{\"op\":\"replace\",\"path\":\"/protected\",\"value\":true}]", &owner,
                &err) == 0);
    CHECK(image_check_delete(img, &owner, &err) < 0 && err.err == -EPERM);
    CHECK(image_check_delete(img, &admin, &err) < 0 && err.err == -EPERM);
    json_decref(img);
}

static void test_access_and_members(void)
{
    struct image_err err = { 0 };
    json_t *img = make("{\"name\":\"m\",\"visibility\":\"private\"}", &err);
    CHECK(image_can_see(img, &owner, NULL));
    CHECK(image_can_see(img, &reader, NULL));
    CHECK(image_can_see(img, &admin, NULL));
    CHECK(!image_can_see(img, &other, NULL));
    CHECK(!image_member_new(img, "p2", &owner, NOW, &err) && err.err == -EPERM);
    json_object_set_new(img, "visibility", json_string("shared"));
    CHECK(!image_can_see(img, &other, NULL));
    CHECK(!image_member_new(img, "p2", &other, NOW, &err) && err.err == -EPERM);
    json_t *m = image_member_new(img, "p2", &owner, NOW, &err);
    CHECK(m);
    CHECK_STR(json_string_value(json_object_get(m, "status")), "pending");
    CHECK(image_can_see(img, &other, "pending"));
    CHECK(image_member_set_status(m, "accepted", &owner, NOW, &err) < 0 && err.err == -EPERM);
    CHECK(image_member_set_status(m, "maybe", &other, NOW, &err) < 0 && err.err == -EINVAL);
    CHECK(image_member_set_status(m, "accepted", &other, NOW, &err) == 0);
    CHECK_STR(json_string_value(json_object_get(m, "status")), "accepted");
    json_decref(m);
    json_object_set_new(img, "visibility", json_string("community"));
    CHECK(image_can_see(img, &other, NULL));
    CHECK(!image_can_modify(img, &other));
    json_decref(img);
}

static void test_hash_and_qcow2(void)
{
    struct image_hasher *h = image_hasher_new();
    char md5[33], sha[129];
    image_hasher_update(h, "ab", 2);
    image_hasher_update(h, "c", 1);
    image_hasher_final(h, md5, sha);
    image_hasher_free(h);
    CHECK_STR(md5, "900150983cd24fb0d6963f7d28e17f72");
    CHECK_STR(sha, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    unsigned char hdr[32] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    hdr[28] = 0x40; /* 0x40000000 = 1 GiB, big-endian at offset 24 */
    CHECK(image_qcow2_virtual_size(hdr, sizeof hdr) == 1 << 30);
    CHECK(image_qcow2_virtual_size(hdr, 16) == -1);
    CHECK(image_qcow2_virtual_size("raw bytes raw bytes raw bytes raw bytes", 32) == -1);
    CHECK(image_is_uuid(ID));
    CHECK(!image_is_uuid("0b6e3d3a-1f2e-4c55-9a7b-3c2d1e0f9a8"));
    CHECK(!image_is_uuid("0b6e3d3a_1f2e-4c55-9a7b-3c2d1e0f9a8b"));
}

int main(void)
{
    test_create();
    test_patch();
    test_status();
    test_access_and_members();
    test_hash_and_qcow2();
    return t_done("images.unit.image_record");
}
