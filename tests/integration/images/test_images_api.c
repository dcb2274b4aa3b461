/* The image service against a real picostackd: every error path, the
 * lifecycle, listing, members, RBAC across projects, and data (checksums,
 * ranges, cut-off uploads, restarts). Each subtest is its own ctest test
 * with its own daemon. */
#include "img_harness.h"
#include "tests/support/files.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATCH_CT "application/openstack-images-v2.1-json-patch"

static int run_check(struct picostackd *d);

static void md5_hex(const void *buf, size_t n, char out[33])
{
    unsigned char d[16];
    unsigned dl;
    EVP_Digest(buf, n, d, &dl, EVP_md5(), NULL);
    for (int i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- discovery and error paths ---- */

static void t_errors(struct picostackd *d)
{
    struct resp r;
    /* Version discovery needs no token; the SDK reads it at /image. */
    http_req(d, "GET", "/image", NULL, NULL, NULL, &r);
    CHECK(r.status == 300 || r.status == 200, "GET /image: %ld", r.status);
    json_t *v0 = json_array_get(json_object_get(r.json, "versions"), 0);
    CHECK(jstr(v0, "id") && strcmp(jstr(v0, "status"), "CURRENT") == 0);
    resp_free(&r);
    CHECK(http_status(d, "GET", "/image/versions", NULL, NULL, NULL) == 200);
    /* The schemas python-glanceclient reads. */
    CHECK(http_status(d, "GET", "/image/v2/schemas/image", NULL, NULL, NULL) == 401);

    /* 401 without or with a bad token. */
    CHECK(http_status(d, "GET", "/image/v2/images", NULL, NULL, NULL) == 401);
    CHECK(http_status(d, "GET", "/image/v2/images", "garbage", NULL, NULL) == 401);

    char *tok = admin_login(d);
    CHECK(tok != NULL);
    static const char *const schemas[] = { "image", "images", "member", "members" };
    for (size_t i = 0; i < 4; i++) {
        char sp[64];
        snprintf(sp, sizeof sp, "/image/v2/schemas/%s", schemas[i]);
        http_req(d, "GET", sp, tok, NULL, NULL, &r);
        CHECK(r.status == 200 && jstr(r.json, "name") &&
                  strcmp(jstr(r.json, "name"), schemas[i]) == 0,
              "schema %s: %ld", schemas[i], r.status);
        resp_free(&r);
    }
    CHECK(http_status(d, "GET", "/image/v2/schemas/nope", tok, NULL, NULL) == 404);
    /* Unknown ids (and names tried as ids) are 404, as clients expect. */
    CHECK(http_status(d, "GET", "/image/v2/images/cirros", tok, NULL, NULL) == 404);
    CHECK(http_status(d, "GET", "/image/v2/images/00000000-0000-4000-8000-000000000000", tok, NULL,
                      NULL) == 404);
    CHECK(http_status(d, "DELETE", "/image/v2/images/nope", tok, NULL, NULL) == 404);
    CHECK(http_status(d, "PUT", "/image/v2/images/nope/file", tok, "application/octet-stream",
                      "x") == 404);
    CHECK(http_status(d, "GET", "/image/v2/images/nope/file", tok, NULL, NULL) == 404);
    CHECK(http_status(d, "GET", "/image/v2/nothing", tok, NULL, NULL) == 404);

    /* Create: malformed JSON, wrong types, read-only and reserved fields. */
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"name\":") == 400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "[1]") == 400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"name\":5}") == 400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"disk_format\":\"floppy\"}") ==
          400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"min_ram\":-5}") == 400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"visibility\":\"everyone\"}") ==
          400);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"status\":\"active\"}") == 403);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"checksum\":\"x\"}") == 403);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, "{\"kernel_id\":7}") == 400);
    /* Over 1 MiB of JSON: 413. */
    size_t big = (1u << 20) + 100;
    char *huge = malloc(big + 32);
    snprintf(huge, 32, "{\"name\":\"");
    memset(huge + 9, 'a', big);
    strcpy(huge + 9 + big, "\"}");
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, huge) == 413);
    free(huge);

    char *id = create_image(
        d, tok, "{\"name\":\"e\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    CHECK(id != NULL);
    char path[256], file[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    snprintf(file, sizeof file, "/image/v2/images/%s/file", id);
    /* A duplicate id: 409. */
    char dup[128];
    snprintf(dup, sizeof dup, "{\"id\":\"%s\"}", id);
    CHECK(http_status(d, "POST", "/image/v2/images", tok, NULL, dup) == 409);

    /* Patch: media type, malformed, read-only, missing properties. */
    CHECK(http_status(d, "PATCH", path, tok, "application/json", "[]") == 415);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT, "[{\"op\":") == 400);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT, "{\"op\":\"add\"}") == 400);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT, "[{\"op\":\"copy\",\"path\":\"/name\"}]") ==
          400);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"active\"}]") == 403);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"remove\",\"path\":\"/ghost\"}]") == 409);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"remove\",\"path\":\"/name\"}]") == 403);

    /* Status machine errors. */
    CHECK(http_status(d, "GET", file, tok, NULL, NULL) == 204, "download of a queued image");
    snprintf(path, sizeof path, "/image/v2/images/%s/actions/deactivate", id);
    CHECK(http_status(d, "POST", path, tok, NULL, NULL) == 403);
    snprintf(path, sizeof path, "/image/v2/images/%s/actions/reactivate", id);
    CHECK(http_status(d, "POST", path, tok, NULL, NULL) == 403);
    CHECK(upload_buf(d, tok, id, "hello", 5, &r) == 0 && r.status == 204);
    resp_free(&r);
    CHECK(upload_buf(d, tok, id, "again", 5, &r) == 0 && r.status == 409, "re-upload: %ld",
          r.status);
    resp_free(&r);
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/disk_format\",\"value\":\"qcow2\"}]") ==
          403);

    /* Range errors. */
    const char *bad_range[] = { "Range: bytes=10-20", NULL };
    http_req_h(d, "GET", file, tok, NULL, NULL, bad_range, &r);
    CHECK(r.status == 416, "range past the end: %ld", r.status);
    resp_free(&r);

    /* Members of a non-shared image: 403; tags. */
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"private\"}]") ==
          200);
    snprintf(path, sizeof path, "/image/v2/images/%s/members", id);
    CHECK(http_status(d, "POST", path, tok, NULL, "{\"member\":\"someone\"}") == 403);
    CHECK(http_status(d, "POST", path, tok, NULL, "{\"member\":5}") == 400);
    CHECK(http_status(d, "GET", path, tok, NULL, NULL) == 403);
    snprintf(path, sizeof path, "/image/v2/images/%s/members/someone", id);
    CHECK(http_status(d, "GET", path, tok, NULL, NULL) == 404);
    snprintf(path, sizeof path, "/image/v2/images/%s/tags/t1", id);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 404);
    CHECK(http_status(d, "PUT", path, tok, NULL, NULL) == 204);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);

    /* Protected images refuse deletion until unprotected. */
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/protected\",\"value\":true}]") == 200);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 403);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/protected\",\"value\":false}]") == 200);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);
    CHECK(http_status(d, "GET", path, tok, NULL, NULL) == 404);

    /* List parameters. */
    CHECK(http_status(d, "GET", "/image/v2/images?limit=abc", tok, NULL, NULL) == 400);
    CHECK(http_status(d, "GET", "/image/v2/images?sort_key=secret", tok, NULL, NULL) == 400);
    CHECK(http_status(d, "GET", "/image/v2/images?sort_dir=sideways", tok, NULL, NULL) == 400);
    CHECK(http_status(d, "GET", "/image/v2/images?marker=00000000-0000-4000-8000-000000000000", tok,
                      NULL, NULL) == 400);
    CHECK(http_status(d, "GET", "/image/v2/images?visibility=secret", tok, NULL, NULL) == 400);
    free(id);
    free(tok);
}

/* ---- lifecycle: create, upload, show, download, ranges, patch, deactivate ---- */

static void t_lifecycle(struct picostackd *d)
{
    char *tok = admin_login(d);
    char *id =
        create_image(d, tok,
                     "{\"name\":\"cirros\",\"disk_format\":\"raw\",\"container_format\":\"bare\","
                     "\"owner_specified.openstack.md5\":\"\",\"tags\":[\"t\"]}");
    CHECK(id != NULL);
    json_t *img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0);
    CHECK(img && json_is_null(json_object_get(img, "checksum")));
    CHECK(img && jstr(img, "owner_specified.openstack.md5"));
    json_decref(img);

    /* 300 KiB + 7 bytes: not a multiple of anything. */
    size_t n = 300 * 1024 + 7;
    char *data = malloc(n);
    struct gen g;
    gen_init(&g, 42);
    gen_fill(&g, data, n & ~7u);
    memcpy(data + (n & ~7u), "tail!!!", n - (n & ~7u));
    struct resp r;
    CHECK(upload_buf(d, tok, id, data, n, &r) == 0 && r.status == 204, "upload: %ld %s", r.status,
          r.body ? r.body : "");
    resp_free(&r);

    char md5[33], sha[129];
    md5_hex(data, n, md5);
    {
        unsigned char dg[64];
        unsigned dl;
        EVP_Digest(data, n, dg, &dl, EVP_sha512(), NULL);
        for (int i = 0; i < 64; i++)
            sprintf(sha + 2 * i, "%02x", dg[i]);
    }
    img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0);
    CHECK(img && json_integer_value(json_object_get(img, "size")) == (json_int_t)n);
    CHECK(img && json_integer_value(json_object_get(img, "virtual_size")) == (json_int_t)n);
    CHECK(img && jstr(img, "checksum") && strcmp(jstr(img, "checksum"), md5) == 0);
    CHECK(img && strcmp(jstr(img, "os_hash_algo"), "sha512") == 0);
    CHECK(img && jstr(img, "os_hash_value") && strcmp(jstr(img, "os_hash_value"), sha) == 0);
    CHECK(img && !json_object_get(img, "_picostack"), "private fields leak");
    json_decref(img);

    char file[256], path[256];
    snprintf(file, sizeof file, "/image/v2/images/%s/file", id);
    http_req(d, "GET", file, tok, NULL, NULL, &r);
    CHECK(r.status == 200 && r.len == n && memcmp(r.body, data, n) == 0, "download: %ld %zu",
          r.status, r.len);
    CHECK(strcmp(r.content_md5, md5) == 0, "Content-MD5 %s", r.content_md5);
    resp_free(&r);
    const char *range[] = { "Range: bytes=100-199", NULL };
    http_req_h(d, "GET", file, tok, NULL, NULL, range, &r);
    CHECK(r.status == 206 && r.len == 100 && memcmp(r.body, data + 100, 100) == 0);
    CHECK(strstr(r.content_range, "bytes 100-199/") != NULL, "%s", r.content_range);
    resp_free(&r);
    const char *suffix[] = { "Range: bytes=-7", NULL };
    http_req_h(d, "GET", file, tok, NULL, NULL, suffix, &r);
    CHECK(r.status == 206 && r.len == 7 && memcmp(r.body, "tail!!!", 7) == 0);
    resp_free(&r);

    /* Custom properties by JSON patch, as `openstack image set --property`. */
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    http_req(
        d, "PATCH", path, tok, PATCH_CT,
        "[{\"op\":\"add\",\"path\":\"/kernel_id\",\"value\":\"k-1\"},"
        "{\"op\":\"add\",\"path\":\"/ramdisk_id\",\"value\":\"r-1\"},"
        "{\"op\":\"add\",\"path\":\"/os_command_line\",\"value\":\"console=ttyS0 root=/dev/vda\"},"
        "{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"cirros-2\"}]",
        &r);
    CHECK(r.status == 200, "patch: %ld %s", r.status, r.body ? r.body : "");
    CHECK(jstr(r.json, "os_command_line") &&
          strcmp(jstr(r.json, "os_command_line"), "console=ttyS0 root=/dev/vda") == 0);
    CHECK(jstr(r.json, "name") && strcmp(jstr(r.json, "name"), "cirros-2") == 0);
    resp_free(&r);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"remove\",\"path\":\"/ramdisk_id\"}]") == 200);
    img = get_image(d, tok, id);
    CHECK(img && !json_object_get(img, "ramdisk_id") && jstr(img, "kernel_id"));
    json_decref(img);

    /* Deactivate: admin can still download, the owner project's member
     * cannot; reactivate. */
    snprintf(path, sizeof path, "/image/v2/images/%s/actions/deactivate", id);
    CHECK(http_status(d, "POST", path, tok, NULL, NULL) == 204);
    img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "deactivated") == 0);
    json_decref(img);
    CHECK(http_status(d, "GET", file, tok, NULL, NULL) == 200);
    snprintf(path, sizeof path, "/image/v2/images/%s/actions/reactivate", id);
    CHECK(http_status(d, "POST", path, tok, NULL, NULL) == 204);
    img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0);
    json_decref(img);

    /* Chunked upload (no Content-Length) works too. */
    char *id2 = create_image(
        d, tok, "{\"name\":\"chunked\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    double secs;
    CHECK(upload_gen(d, tok, id2, 7, 3 << 20, true, &r, &secs) == 0 && r.status == 204,
          "chunked: %ld", r.status);
    resp_free(&r);
    char gm[33], gs[129];
    gen_digests(7, 3 << 20, gm, gs);
    img = get_image(d, tok, id2);
    CHECK(img && jstr(img, "checksum") && strcmp(jstr(img, "checksum"), gm) == 0);
    json_decref(img);

    /* An empty upload makes an empty active image, as in Glance. */
    char *empty = create_image(
        d, tok, "{\"name\":\"empty\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    CHECK(upload_buf(d, tok, empty, "", 0, &r) == 0 && r.status == 204, "empty upload: %ld %s",
          r.status, r.body ? r.body : "");
    resp_free(&r);
    img = get_image(d, tok, empty);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0 &&
          json_integer_value(json_object_get(img, "size")) == 0);
    CHECK(img && strcmp(jstr(img, "checksum"), "d41d8cd98f00b204e9800998ecf8427e") == 0);
    json_decref(img);
    snprintf(path, sizeof path, "/image/v2/images/%s/file", empty);
    http_req(d, "GET", path, tok, NULL, NULL, &r);
    CHECK(r.status == 200 && r.len == 0);
    resp_free(&r);
    snprintf(path, sizeof path, "/image/v2/images/%s", empty);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);
    free(empty);

    /* Metrics count images by status. */
    http_req(d, "GET", "/metrics", NULL, NULL, NULL, &r);
    CHECK(r.body && strstr(r.body, "picostack_images{status=\"active\"} 2"), "metrics:\n%s",
          r.body ? r.body : "");
    CHECK(r.body && strstr(r.body, "picostack_image_bytes_stored"));
    resp_free(&r);

    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);
    CHECK(http_status(d, "GET", file, tok, NULL, NULL) == 404);
    free(data);
    free(id);
    free(id2);
    free(tok);
}

/* ---- listing: filters, sorting, pages with `next` ---- */

static void t_list(struct picostackd *d)
{
    char *tok = admin_login(d);
    char *ids[7];
    for (int i = 0; i < 7; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"img-%d\",\"visibility\":\"%s\",\"min_ram\":%d}", i,
                 i % 2 ? "private" : "public", 10 - i);
        ids[i] = create_image(d, tok, body);
        CHECK(ids[i] != NULL);
    }
    struct resp r;
    http_req(d, "GET", "/image/v2/images?name=img-3", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 1);
    CHECK(strcmp(jstr(json_array_get(json_object_get(r.json, "images"), 0), "id"), ids[3]) == 0);
    resp_free(&r);
    http_req(d, "GET", "/image/v2/images?visibility=private", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 3);
    resp_free(&r);
    http_req(d, "GET", "/image/v2/images?status=active", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 0);
    resp_free(&r);

    /* Walk pages of 3 sorted by name, following `next`. */
    char path[1024] = "/image/v2/images?limit=3&sort_key=name&sort_dir=asc";
    int seen = 0, pages = 0;
    while (path[0] && pages < 10) {
        http_req(d, "GET", path, tok, NULL, NULL, &r);
        CHECK(r.status == 200);
        json_t *imgs = json_object_get(r.json, "images");
        size_t i;
        json_t *img;
        json_array_foreach (imgs, i, img) {
            char want[16];
            snprintf(want, sizeof want, "img-%d", seen);
            CHECK(strcmp(jstr(img, "name"), want) == 0, "page %d: %s, want %s", pages,
                  jstr(img, "name"), want);
            seen++;
        }
        const char *next = jstr(r.json, "next");
        if (next)
            snprintf(path, sizeof path, "/image%s", next);
        else
            path[0] = '\0';
        resp_free(&r);
        pages++;
    }
    CHECK(seen == 7 && pages == 3, "seen %d in %d pages", seen, pages);
    http_req(d, "GET", "/image/v2/images?sort=min_ram:asc", tok, NULL, NULL, &r);
    CHECK(strcmp(jstr(json_array_get(json_object_get(r.json, "images"), 0), "name"), "img-6") == 0);
    resp_free(&r);
    /* Lists see every change at once (they reuse decoded records until
     * the next change). */
    char ipath[256];
    snprintf(ipath, sizeof ipath, "/image/v2/images/%s", ids[2]);
    CHECK(http_status(d, "PATCH", ipath, tok, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"renamed\"}]") == 200);
    http_req(d, "GET", "/image/v2/images?name=renamed", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 1);
    resp_free(&r);
    CHECK(http_status(d, "DELETE", ipath, tok, NULL, NULL) == 204);
    http_req(d, "GET", "/image/v2/images?name=renamed", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 0);
    resp_free(&r);
    http_req(d, "GET", "/image/v2/images", tok, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 6);
    resp_free(&r);
    for (int i = 0; i < 7; i++)
        free(ids[i]);
    free(tok);
}

/* ---- RBAC across projects, members ---- */

static void t_rbac_members(struct picostackd *d)
{
    char *adm = admin_login(d);
    char p1[64], p2[64], p3[64];
    char *m1 = project_user(d, adm, "proj1", "alice", "member", p1);
    char *m2 = project_user(d, adm, "proj2", "bob", "member", p2);
    char *r1 = project_user(d, adm, "proj3", "carol", "reader", p3);
    CHECK(m1 && m2 && r1);

    /* admin's private image: invisible (404) to other projects. */
    char *secret = create_image(d, adm, "{\"name\":\"admin-secret\",\"visibility\":\"private\"}");
    char path[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", secret);
    CHECK(http_status(d, "GET", path, m1, NULL, NULL) == 404);
    CHECK(http_status(d, "DELETE", path, m1, NULL, NULL) == 404);
    struct resp r;
    http_req(d, "GET", "/image/v2/images", m1, NULL, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "images")) == 0);
    resp_free(&r);

    /* A reader reads, but creates nothing. */
    CHECK(http_status(d, "POST", "/image/v2/images", r1, NULL, "{\"name\":\"x\"}") == 403);
    /* Members may not publicize. */
    CHECK(http_status(d, "POST", "/image/v2/images", m1, NULL,
                      "{\"name\":\"x\",\"visibility\":\"public\"}") == 403);

    /* alice shares an image with proj2. */
    char *shared = create_image(d, m1, "{\"name\":\"alice-shared\",\"visibility\":\"shared\"}");
    CHECK(shared != NULL);
    CHECK(upload_buf(d, m1, shared, "shared bytes", 12, &r) == 0 && r.status == 204);
    resp_free(&r);
    char img_path[256], file[256], members[256], mine[256];
    snprintf(img_path, sizeof img_path, "/image/v2/images/%s", shared);
    snprintf(file, sizeof file, "/image/v2/images/%s/file", shared);
    snprintf(members, sizeof members, "/image/v2/images/%s/members", shared);
    snprintf(mine, sizeof mine, "/image/v2/images/%s/members/%s", shared, p2);
    CHECK(http_status(d, "GET", img_path, m2, NULL, NULL) == 404);
    /* bob cannot add himself; alice adds him. */
    char body[128];
    snprintf(body, sizeof body, "{\"member\":\"%s\"}", p2);
    CHECK(http_status(d, "POST", members, m2, NULL, body) == 404);
    http_req(d, "POST", members, m1, NULL, body, &r);
    CHECK(r.status == 200 && strcmp(jstr(r.json, "status"), "pending") == 0, "%ld", r.status);
    resp_free(&r);
    CHECK(http_status(d, "POST", members, m1, NULL, body) == 409);
    /* Pending: bob sees it by id but not in his default list. */
    CHECK(http_status(d, "GET", img_path, m2, NULL, NULL) == 200);
    http_req(d, "GET", "/image/v2/images", m2, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 0);
    resp_free(&r);
    /* Only bob may accept; alice may not. */
    CHECK(http_status(d, "PUT", mine, m1, NULL, "{\"status\":\"accepted\"}") == 403);
    CHECK(http_status(d, "PUT", mine, m2, NULL, "{\"status\":\"maybe\"}") == 400);
    CHECK(http_status(d, "PUT", mine, m2, NULL, "{\"status\":\"accepted\"}") == 200);
    http_req(d, "GET", "/image/v2/images", m2, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 1);
    resp_free(&r);
    http_req(d, "GET", file, m2, NULL, NULL, &r);
    CHECK(r.status == 200 && r.len == 12 && memcmp(r.body, "shared bytes", 12) == 0);
    resp_free(&r);
    /* bob may not change or delete alice's image, nor remove members. */
    CHECK(http_status(d, "PATCH", img_path, m2, PATCH_CT,
                      "[{\"op\":\"add\",\"path\":\"/x\",\"value\":\"y\"}]") == 403);
    CHECK(http_status(d, "DELETE", img_path, m2, NULL, NULL) == 403);
    CHECK(http_status(d, "DELETE", mine, m2, NULL, NULL) == 403);
    http_req(d, "GET", members, m1, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "members")) == 1);
    resp_free(&r);
    /* A reader of another project: 404. */
    CHECK(http_status(d, "GET", img_path, r1, NULL, NULL) == 404);
    /* alice removes bob: the image is hidden from him again. */
    CHECK(http_status(d, "DELETE", mine, m1, NULL, NULL) == 204);
    CHECK(http_status(d, "GET", img_path, m2, NULL, NULL) == 404);
    /* Community images: anyone may read, only when asked for in lists. */
    CHECK(http_status(d, "PATCH", img_path, m1, PATCH_CT,
                      "[{\"op\":\"replace\",\"path\":\"/visibility\",\"value\":\"community\"}]") ==
          200);
    CHECK(http_status(d, "GET", img_path, m2, NULL, NULL) == 200);
    http_req(d, "GET", "/image/v2/images?visibility=community", m2, NULL, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "images")) == 1);
    resp_free(&r);
    /* The reader of proj3 can't delete even a visible image. */
    CHECK(http_status(d, "DELETE", img_path, r1, NULL, NULL) == 403);
    /* Admin can delete anything. */
    CHECK(http_status(d, "DELETE", img_path, adm, NULL, NULL) == 204);
    free(secret);
    free(shared);
    free(m1);
    free(m2);
    free(r1);
    free(adm);
}

/* ---- 1 GiB round trip, byte for byte ---- */

static void t_big(struct picostackd *d)
{
    const char *env = getenv("PICOSTACK_BIG_MIB");
    uint64_t n = (env ? strtoull(env, NULL, 10) : 1024) << 20;
    n += 4096 + 123; /* not a multiple of any block size */
    char *tok = admin_login(d);
    char *id = create_image(
        d, tok, "{\"name\":\"big\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    struct resp r;
    double up = 0, down = 0;
    CHECK(upload_gen(d, tok, id, 1234, n, false, &r, &up) == 0 && r.status == 204, "upload %ld %s",
          r.status, r.body ? r.body : "");
    resp_free(&r);
    char md5[33], sha[129];
    gen_digests(1234, n, md5, sha);
    json_t *img = get_image(d, tok, id);
    CHECK(img && json_integer_value(json_object_get(img, "size")) == (json_int_t)n);
    CHECK(img && jstr(img, "checksum") && strcmp(jstr(img, "checksum"), md5) == 0);
    CHECK(img && jstr(img, "os_hash_value") && strcmp(jstr(img, "os_hash_value"), sha) == 0);
    json_decref(img);
    uint64_t got = 0;
    bool same = false;
    char dm[33], ds[129];
    CHECK(download_check(d, tok, id, 1234, &got, &same, dm, ds, &r, &down) == 0 && r.status == 200);
    CHECK(got == n && same, "got %llu of %llu, same %d", (unsigned long long)got,
          (unsigned long long)n, same);
    CHECK(strcmp(dm, md5) == 0 && strcmp(ds, sha) == 0);
    CHECK(strcmp(r.content_md5, md5) == 0);
    resp_free(&r);
    printf("big: %llu MiB: upload %.1f MB/s, download %.1f MB/s\n", (unsigned long long)(n >> 20),
           n / up / 1e6, n / down / 1e6);
    free(id);
    free(tok);
}

/* ---- an upload cut off half-way: queued again, no space kept ---- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void cut_upload(struct picostackd *d, const char *tok, const char *id, uint64_t announce,
                       uint64_t send_bytes)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons(d->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
    char head[2048];
    int hl = snprintf(head, sizeof head,
                      "PUT /image/v2/images/%s/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "X-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %llu\r\n\r\n",
                      id, tok, (unsigned long long)announce);
    CHECK(write(s, head, (size_t)hl) == hl);
    char *buf = malloc(1 << 20);
    struct gen g;
    gen_init(&g, 99);
    for (uint64_t sent = 0; sent < send_bytes;) {
        size_t k = send_bytes - sent < (1u << 20) ? (size_t)(send_bytes - sent) : (1u << 20);
        gen_fill(&g, buf, 1 << 20);
        ssize_t w = write(s, buf, k);
        if (w <= 0)
            break;
        sent += (uint64_t)w;
    }
    free(buf);
    close(s);
}

static json_t *wait_status(struct picostackd *d, const char *tok, const char *id, const char *want)
{
    for (int i = 0; i < 200; i++) {
        json_t *img = get_image(d, tok, id);
        if (img && strcmp(jstr(img, "status"), want) == 0)
            return img;
        json_decref(img);
        usleep(25000);
    }
    return get_image(d, tok, id);
}

static void t_cutoff(struct picostackd *d)
{
    char *tok = admin_login(d);
    char *id = create_image(
        d, tok, "{\"name\":\"cut\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    uint64_t before = blocks_used(d);
    cut_upload(d, tok, id, 64 << 20, 32 << 20);
    json_t *img = wait_status(d, tok, id, "queued");
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0, "after a cut: %s",
          img ? jstr(img, "status") : "?");
    CHECK(img && json_is_null(json_object_get(img, "size")));
    json_decref(img);
    uint64_t after = blocks_used(d);
    CHECK(after <= before + (1 << 20), "space kept: %llu -> %llu", (unsigned long long)before,
          (unsigned long long)after);
    /* It can be uploaded again. */
    struct resp r;
    CHECK(upload_gen(d, tok, id, 5, 8 << 20, false, &r, NULL) == 0 && r.status == 204);
    resp_free(&r);
    img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0);
    json_decref(img);
    /* Deleted while its data streams in: the upload fails (409), nothing
     * of it is kept. */
    char *doomed = create_image(
        d, tok, "{\"name\":\"doomed\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    pid_t kid = fork();
    if (kid == 0) {
        struct resp cr;
        int rc = upload_gen(d, tok, doomed, 6, 512 << 20, true, &cr, NULL);
        _exit(rc == 0 && cr.status == 409 ? 0 : 10 + (int)(cr.status / 100));
    }
    json_t *v = wait_status(d, tok, doomed, "saving");
    CHECK(v && strcmp(jstr(v, "status"), "saving") == 0);
    json_decref(v);
    char dpath[256];
    snprintf(dpath, sizeof dpath, "/image/v2/images/%s", doomed);
    CHECK(http_status(d, "DELETE", dpath, tok, NULL, NULL) == 204);
    int kst;
    waitpid(kid, &kst, 0);
    CHECK(WIFEXITED(kst) && WEXITSTATUS(kst) == 0, "the upload of a deleted image: exit %d",
          WEXITSTATUS(kst));
    CHECK(http_status(d, "GET", dpath, tok, NULL, NULL) == 404);
    free(doomed);

    /* Deleted while being downloaded: the reader still gets every byte
     * right (the data is freed, and its clusters reused, only when the
     * download ends), and then the space is freed. */
    char *read_me = create_image(
        d, tok, "{\"name\":\"read-me\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    uint64_t rn = 48 << 20;
    CHECK(upload_gen(d, tok, read_me, 12, rn, false, &r, NULL) == 0 && r.status == 204);
    resp_free(&r);
    {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int small = 4096;
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons(d->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
        char head[2048];
        int hl = snprintf(head, sizeof head,
                          "GET /image/v2/images/%s/file HTTP/1.1\r\nHost: x\r\n"
                          "X-Auth-Token: %s\r\nConnection: close\r\n\r\n",
                          read_me, tok);
        CHECK(write(s, head, (size_t)hl) == hl);
        /* Read the headers (and whatever body came with them). */
        char *buf = malloc(1 << 20), *want = malloc(1 << 20);
        size_t have = 0;
        char *body = NULL;
        while (!body && have < 65536) {
            ssize_t k = read(s, buf + have, 65536 - have);
            if (k <= 0)
                break;
            have += (size_t)k;
            buf[have] = '\0';
            body = strstr(buf, "\r\n\r\n");
        }
        CHECK(body != NULL);
        size_t off = body ? (size_t)(body + 4 - buf) : have;
        /* Delete it, then fill the store with other data that would take
         * its clusters if they were freed. */
        char rpath[256];
        snprintf(rpath, sizeof rpath, "/image/v2/images/%s", read_me);
        CHECK(http_status(d, "DELETE", rpath, tok, NULL, NULL) == 204);
        char *filler = create_image(
            d, tok, "{\"name\":\"filler\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
        CHECK(upload_gen(d, tok, filler, 13, rn, false, &r, NULL) == 0 && r.status == 204);
        resp_free(&r);
        /* The rest of the download, compared with what was uploaded. */
        struct gen g;
        gen_init(&g, 12);
        uint64_t got = 0;
        bool same = true;
        size_t wlen = 0, wpos = 0;
        memmove(buf, buf + off, have - off);
        have -= off;
        for (;;) {
            for (size_t i = 0; i < have; i++, got++) {
                if (wpos == wlen) {
                    gen_fill(&g, want, 1 << 20);
                    wlen = 1 << 20;
                    wpos = 0;
                }
                if (buf[i] != want[wpos++])
                    same = false;
            }
            ssize_t k = read(s, buf, 1 << 20);
            if (k <= 0)
                break;
            have = (size_t)k;
        }
        CHECK(got == rn && same, "download of a deleted image: %llu of %llu bytes, same %d",
              (unsigned long long)got, (unsigned long long)rn, same);
        close(s);
        free(buf);
        free(want);
        snprintf(rpath, sizeof rpath, "/image/v2/images/%s", filler);
        CHECK(http_status(d, "DELETE", rpath, tok, NULL, NULL) == 204);
        free(filler);
    }
    for (int i = 0; i < 100 && blocks_used(d) > before + (8 << 20) + (1 << 20); i++)
        usleep(20000);
    free(read_me);

    /* Deleting frees the space again. */
    char path[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", id);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);
    after = blocks_used(d);
    CHECK(after <= before + (1 << 20), "space after delete: %llu -> %llu",
          (unsigned long long)before, (unsigned long long)after);
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    CHECK(run_check(d) == 0, "picostack-img check after the cut-off and deleted uploads");
    free(id);
    free(tok);
}

/* ---- restart keeps everything; kill -9 mid-upload leaves a clean store ---- */

static int run_check(struct picostackd *d)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/picostack-img' --store '%s' check >&2", d->bin_dir, d->dir);
    return system(cmd);
}

static void t_restart(struct picostackd *d)
{
    char *tok = admin_login(d);
    char *id = create_image(d, tok,
                            "{\"name\":\"keep\",\"disk_format\":\"raw\",\"container_format\":"
                            "\"bare\",\"kernel_id\":\"k\"}");
    struct resp r;
    CHECK(upload_gen(d, tok, id, 11, 5 << 20, false, &r, NULL) == 0 && r.status == 204);
    resp_free(&r);
    char *queued = create_image(d, tok, "{\"name\":\"still-queued\"}");
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    CHECK(picostackd_restart(d, IMG_DAEMON_ARGS) == 0);
    /* Tokens survive a restart (signed, not in memory). */
    json_t *img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0 &&
          strcmp(jstr(img, "kernel_id"), "k") == 0);
    json_decref(img);
    img = get_image(d, tok, queued);
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0);
    json_decref(img);
    uint64_t got;
    bool same;
    char m[33], s[129], want_m[33], want_s[129];
    CHECK(download_check(d, tok, id, 11, &got, &same, m, s, &r, NULL) == 0 && r.status == 200);
    gen_digests(11, 5 << 20, want_m, want_s);
    CHECK(got == 5 << 20 && same && strcmp(m, want_m) == 0);
    resp_free(&r);

    /* kill -9 while an upload streams: after restart the image is queued,
     * the store checks clean, and the upload can be done again. */
    char *victim = create_image(
        d, tok, "{\"name\":\"victim\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    pid_t child = fork();
    if (child == 0) {
        struct resp cr;
        upload_gen(d, tok, victim, 3, 512 << 20, false, &cr, NULL);
        _exit(0);
    }
    /* Let it get going, then kill the daemon. */
    for (int i = 0; i < 100; i++) {
        json_t *v = get_image(d, tok, victim);
        bool saving = v && strcmp(jstr(v, "status"), "saving") == 0;
        json_decref(v);
        if (saving)
            break;
        usleep(10000);
    }
    usleep(200000);
    CHECK(picostackd_stop(d, SIGKILL) == 128 + SIGKILL);
    int st;
    waitpid(child, &st, 0);
    CHECK(run_check(d) == 0, "picostack-img check after kill -9");
    CHECK(picostackd_restart(d, IMG_DAEMON_ARGS) == 0);
    img = get_image(d, tok, victim);
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0, "victim: %s",
          img ? jstr(img, "status") : "?");
    json_decref(img);
    CHECK(upload_gen(d, tok, victim, 3, 4 << 20, false, &r, NULL) == 0 && r.status == 204);
    resp_free(&r);
    /* kill -9 between mutations: whatever was acknowledged is there. */
    char path[256];
    snprintf(path, sizeof path, "/image/v2/images/%s", victim);
    CHECK(http_status(d, "PATCH", path, tok, PATCH_CT,
                      "[{\"op\":\"add\",\"path\":\"/acked\",\"value\":\"yes\"}]") == 200);
    CHECK(picostackd_stop(d, SIGKILL) == 128 + SIGKILL);
    CHECK(run_check(d) == 0, "picostack-img check after the second kill -9");
    CHECK(picostackd_restart(d, IMG_DAEMON_ARGS) == 0);
    img = get_image(d, tok, victim);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0 && jstr(img, "acked"));
    json_decref(img);
    free(victim);
    free(queued);
    free(id);
    free(tok);
}

/* ---- qcow2: bytes kept as uploaded, and converted into a disk ---- */

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void t_qcow2(struct picostackd *d)
{
    char raw[400], q[400], back[400], cmd[4000];
    snprintf(raw, sizeof raw, "%s.raw", d->dir);
    snprintf(q, sizeof q, "%s.qcow2", d->dir);
    snprintf(back, sizeof back, "%s.back", d->dir);
    /* 4 MiB of data with a hole, as a raw file, then as qcow2. */
    size_t n = 4 << 20;
    char *data = calloc(1, n);
    struct gen g;
    gen_init(&g, 77);
    gen_fill(&g, data, 1 << 20);
    gen_fill(&g, data + (3 << 20), 1 << 20);
    FILE *f = fopen(raw, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof cmd, "qemu-img convert -f raw -O qcow2 '%s' '%s'", raw, q);
    CHECK(sh(cmd) == 0);
    size_t qn = 0;
    char *qbytes = NULL;
    t_read_file(q, &qbytes, &qn);
    CHECK(qbytes && qn > 0);

    char *tok = admin_login(d);
    char *id = create_image(
        d, tok, "{\"name\":\"q\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\"}");
    struct resp r;
    CHECK(upload_buf(d, tok, id, qbytes, qn, &r) == 0 && r.status == 204, "qcow2 upload: %ld %s",
          r.status, r.body ? r.body : "");
    resp_free(&r);
    char md5[33];
    md5_hex(qbytes, qn, md5);
    json_t *img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0);
    CHECK(img && json_integer_value(json_object_get(img, "size")) == (json_int_t)qn);
    CHECK(img && json_integer_value(json_object_get(img, "virtual_size")) == (json_int_t)n);
    CHECK(img && strcmp(jstr(img, "checksum"), md5) == 0);
    json_decref(img);
    char file[256];
    snprintf(file, sizeof file, "/image/v2/images/%s/file", id);
    http_req(d, "GET", file, tok, NULL, NULL, &r);
    CHECK(r.status == 200 && r.len == qn && memcmp(r.body, qbytes, qn) == 0,
          "the qcow2 bytes come back as uploaded");
    resp_free(&r);

    /* Not a qcow2 at all, or a broken one: 400, back to queued, nothing kept. */
    char *bad = create_image(
        d, tok, "{\"name\":\"bad\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\"}");
    CHECK(upload_buf(d, tok, bad, data, 1 << 20, &r) == 0 && r.status == 400,
          "raw bytes as qcow2: %ld", r.status);
    resp_free(&r);
    char broken[4096];
    memcpy(broken, qbytes, sizeof broken);
    memset(broken + 40, 0xff, 64); /* L1 table offset and friends */
    CHECK(upload_buf(d, tok, bad, broken, sizeof broken, &r) == 0 && r.status == 400,
          "broken qcow2: %ld", r.status);
    resp_free(&r);
    img = get_image(d, tok, bad);
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0);
    json_decref(img);

    /* The converted disk, read back by the block store's own tool, is the
     * raw data. */
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    snprintf(cmd, sizeof cmd,
             "'%s/picostack-img' --store '%s' export %s.disk '%s' && cmp '%s' '%s'", d->bin_dir,
             d->dir, id, back, raw, back);
    CHECK(sh(cmd) == 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s/picostack-img' --store '%s' list | grep -c %s", d->bin_dir,
             d->dir, bad);
    CHECK(sh(cmd) != 0, "the refused upload left objects");
    CHECK(sh((snprintf(cmd, sizeof cmd, "'%s/picostack-img' --store '%s' check >&2", d->bin_dir,
                       d->dir),
              cmd)) == 0);
    unlink(raw);
    unlink(q);
    unlink(back);
    free(data);
    free(qbytes);
    free(id);
    free(bad);
    free(tok);
}

/* ---- concurrent uploads and downloads ---- */

static void t_concurrent(struct picostackd *d)
{
    char *tok = admin_login(d);
    enum { N = 4 };
    uint64_t size = 48ull << 20;
    char *ids[N + 1];
    for (int i = 0; i <= N; i++) {
        char body[128];
        snprintf(body, sizeof body,
                 "{\"name\":\"c%d\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}", i);
        ids[i] = create_image(d, tok, body);
    }
    /* Image N is there first; it is downloaded while the others upload. */
    struct resp r;
    CHECK(upload_gen(d, tok, ids[N], 500, size, false, &r, NULL) == 0 && r.status == 204);
    resp_free(&r);
    pid_t kids[2 * N];
    for (int i = 0; i < N; i++) {
        if ((kids[i] = fork()) == 0) {
            struct resp cr;
            int ok = upload_gen(d, tok, ids[i], 600 + i, size, i % 2, &cr, NULL) == 0 &&
                     cr.status == 204;
            _exit(ok ? 0 : 1);
        }
        if ((kids[N + i] = fork()) == 0) {
            struct resp cr;
            uint64_t got;
            bool same;
            char m[33], sh5[129];
            int ok = download_check(d, tok, ids[N], 500, &got, &same, m, sh5, &cr, NULL) == 0 &&
                     cr.status == 200 && got == size && same;
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < 2 * N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %d failed", i < N ? "upload" : "download",
              i % N);
    }
    for (int i = 0; i < N; i++) {
        char m[33], sh5[129];
        gen_digests(600 + i, size, m, sh5);
        json_t *img = get_image(d, tok, ids[i]);
        CHECK(img && strcmp(jstr(img, "status"), "active") == 0 &&
                  strcmp(jstr(img, "checksum"), m) == 0,
              "image %d", i);
        json_decref(img);
        uint64_t got;
        bool same;
        CHECK(download_check(d, tok, ids[i], 600 + i, &got, &same, m, sh5, &r, NULL) == 0 &&
                  r.status == 200 && got == size && same,
              "image %d read back", i);
        resp_free(&r);
    }
    for (int i = 0; i <= N; i++)
        free(ids[i]);
    free(tok);
}

/* ---- a full disk: 413, back to queued, nothing kept, store clean ---- */

static void t_enospc(struct picostackd *d)
{
    char *tok = admin_login(d);
    char *id = create_image(
        d, tok, "{\"name\":\"too-big\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    uint64_t before = blocks_used(d);
    struct resp r;
    /* With a Content-Length: refused before any data. */
    CHECK(upload_gen(d, tok, id, 8, 256 << 20, false, &r, NULL) == 0 && r.status == 413,
          "upload larger than the disk: %ld %s", r.status, r.body ? r.body : "");
    resp_free(&r);
    /* Chunked: refused when the disk is nearly full. */
    CHECK(upload_gen(d, tok, id, 8, 256 << 20, true, &r, NULL) == 0 && r.status == 413,
          "chunked upload larger than the disk: %ld %s", r.status, r.body ? r.body : "");
    resp_free(&r);
    json_t *img = wait_status(d, tok, id, "queued");
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0);
    json_decref(img);
    uint64_t after = blocks_used(d);
    CHECK(after <= before + (1 << 20), "space kept after ENOSPC: %llu -> %llu",
          (unsigned long long)before, (unsigned long long)after);
    /* The daemon goes on; a smaller upload fits. */
    CHECK(upload_gen(d, tok, id, 8, 8 << 20, false, &r, NULL) == 0 && r.status == 204, "%ld",
          r.status);
    resp_free(&r);
    img = get_image(d, tok, id);
    CHECK(img && strcmp(jstr(img, "status"), "active") == 0);
    json_decref(img);
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    CHECK(run_check(d) == 0, "picostack-img check after ENOSPC");
    free(id);
    free(tok);
}

/* ---- the reserve: concurrent chunked uploads cannot cross it ---- */

struct up_job {
    struct picostackd *d;
    const char *tok;
    char *id;
    uint64_t n;
    long status;
    char why[300];
};

static void *up_thread(void *arg)
{
    struct up_job *j = arg;
    struct resp r;
    j->status = upload_gen(j->d, j->tok, j->id, 5, j->n, true, &r, NULL) == 0 ? r.status : -1;
    snprintf(j->why, sizeof j->why, "%s", r.body ? r.body : "");
    resp_free(&r);
    return NULL;
}

static uint64_t fs_free(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (uint64_t)v.f_bavail * v.f_frsize : 0;
}

static void t_reserve(struct picostackd *d)
{
    /* 6 x 15 MiB chunked (each below any check interval) on a 96 MiB fs
     * whose reserve is 16 MiB: they cannot all fit, and none may eat into
     * the reserve. */
    enum { N = 6 };
    char *tok = admin_login(d);
    struct up_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct up_job){ d, tok, NULL, 15u << 20, 0, "" };
        jobs[i].id = create_image(
            d, tok, "{\"name\":\"r\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
        CHECK(jobs[i].id != NULL);
    }
    for (int i = 0; i < N; i++)
        CHECK(pthread_create(&th[i], NULL, up_thread, &jobs[i]) == 0);
    int refused = 0, stored = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].status == 413)
            refused++;
        else if (jobs[i].status == 204)
            stored++;
        else
            CHECK(false, "upload %d: %ld", i, jobs[i].status);
        fprintf(stderr, "upload %d: %ld %s\n", i, jobs[i].status, jobs[i].why);
    }
    uint64_t left = fs_free(d->dir);
    fprintf(stderr, "reserve: %d stored, %d refused, %llu MiB free\n", stored, refused,
            (unsigned long long)(left >> 20));
    CHECK(refused > 0 && refused + stored == N);
    CHECK(left >= (15u << 20), "the reserve was crossed: %llu bytes free",
          (unsigned long long)left);
    for (int i = 0; i < N; i++)
        free(jobs[i].id);
    free(tok);
}

/* ---- a qcow2 bomb: refused by the size cap, logins go on ---- */

struct login_probe {
    struct picostackd *d;
    volatile bool stop;
    double worst;
    int n;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *login_loop(void *arg)
{
    struct login_probe *p = arg;
    while (!p->stop) {
        double a = mono();
        char *t = admin_login(p->d);
        double took = mono() - a;
        CHECK(t != NULL);
        free(t);
        if (took > p->worst)
            p->worst = took;
        p->n++;
        usleep(50000);
    }
    return NULL;
}

static void t_bomb(struct picostackd *d)
{
    /* 512 MiB of the same byte, compressed: a few hundred KiB of qcow2. */
    char raw[400], q[400], cmd[2000];
    snprintf(raw, sizeof raw, "%s.raw", d->dir);
    snprintf(q, sizeof q, "%s.qcow2", d->dir);
    snprintf(cmd, sizeof cmd,
             "head -c 512M /dev/zero | tr '\\0' 'U' > '%s' && "
             "qemu-img convert -c -f raw -O qcow2 '%s' '%s' && rm -f '%s'",
             raw, raw, q, raw);
    CHECK(sh(cmd) == 0);
    size_t qn = 0;
    char *qbytes = NULL;
    t_read_file(q, &qbytes, &qn);
    unlink(q);
    CHECK(qbytes && qn > 0 && qn < (8u << 20), "bomb of %zu bytes", qn);
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    const char *args[] = { "--log-level", "error", "--image-size-cap", "64M", NULL };
    CHECK(picostackd_restart(d, args) == 0);
    char *tok = admin_login(d);
    char *id = create_image(
        d, tok, "{\"name\":\"bomb\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\"}");
    struct login_probe p = { d, false, 0, 0 };
    pthread_t th;
    CHECK(pthread_create(&th, NULL, login_loop, &p) == 0);
    struct resp r;
    double a = mono();
    CHECK(upload_buf(d, tok, id, qbytes, qn, &r) == 0 && r.status == 413, "bomb: %ld %s", r.status,
          r.body ? r.body : "");
    double took = mono() - a;
    resp_free(&r);
    usleep(300000);
    p.stop = true;
    pthread_join(th, NULL);
    fprintf(stderr, "bomb: %zu bytes refused in %.2f s; %d logins meanwhile, worst %.2f s\n", qn,
            took, p.n, p.worst);
    CHECK(p.worst < 1.0, "a login took %.2f s during the conversion", p.worst);
    json_t *img = wait_status(d, tok, id, "queued");
    CHECK(img && strcmp(jstr(img, "status"), "queued") == 0);
    json_decref(img);
    CHECK(blocks_used(d) < (8u << 20), "the bomb's output was kept: %llu",
          (unsigned long long)blocks_used(d));
    free(qbytes);
    free(id);
    free(tok);
}

/* ---- a burst of uploads: memory comes back ---- */

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

struct burst_job {
    struct picostackd *d;
    const char *tok;
    int i;
    long status;
};

static void *burst_thread(void *arg)
{
    struct burst_job *j = arg;
    char *id = create_image(
        j->d, j->tok, "{\"name\":\"b\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}");
    if (!id)
        return NULL;
    if (j->i % 2) {
        cut_upload(j->d, j->tok, id, 8u << 20, 2u << 20); /* cut off */
        j->status = 0;
    } else {
        struct resp r;
        j->status =
            upload_gen(j->d, j->tok, id, 3, 4u << 20, j->i % 4 == 0, &r, NULL) == 0 ? r.status : -1;
        resp_free(&r);
    }
    free(id);
    return NULL;
}

struct rss_sampler {
    pid_t pid;
    volatile bool stop;
    long peak;
};

static void *sample_rss(void *arg)
{
    struct rss_sampler *s = arg;
    while (!s->stop) {
        long now = rss_kib(s->pid);
        if (now > s->peak)
            s->peak = now;
        usleep(10000);
    }
    return NULL;
}

/* 64 uploads at once, half of them cut off: the memory they take is
 * bounded (the upload caps, small buffers) and goes back afterwards. */
static void t_burst(struct picostackd *d)
{
    enum { N = 64 };
    char *tok = admin_login(d);
    sleep(1);
    long idle = rss_kib(d->pid);
    struct rss_sampler smp = { d->pid, false, idle };
    pthread_t sampler;
    CHECK(pthread_create(&sampler, NULL, sample_rss, &smp) == 0);
    struct burst_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct burst_job){ d, tok, i, 0 };
        CHECK(pthread_create(&th[i], NULL, burst_thread, &jobs[i]) == 0);
    }
    int stored = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        stored += jobs[i].status == 204;
        CHECK(jobs[i].status == 0 || jobs[i].status == 204 || jobs[i].status == 429 ||
                  jobs[i].status == 503,
              "upload %d: %ld", i, jobs[i].status);
    }
    long after = -1;
    for (int k = 0; k < 20; k++) { /* the trim runs once the uploads are over */
        usleep(250000);
        after = rss_kib(d->pid);
        if (after < idle + 16 * 1024)
            break;
    }
    smp.stop = true;
    pthread_join(sampler, NULL);
    fprintf(stderr, "burst: %d stored; RSS idle %ld KiB, peak %ld KiB, after %ld KiB\n", stored,
            idle, smp.peak, after);
    CHECK(stored > 0);
    if (getenv("PICOSTACK_SANITIZED")) /* ASan keeps freed memory in quarantine */
        return free(tok);
    CHECK(smp.peak < idle + 64 * 1024, "RSS peak during the burst: %ld KiB (idle %ld KiB)",
          smp.peak, idle);
    CHECK(after >= 0 && after < idle + 16 * 1024, "RSS after the burst: %ld KiB (idle %ld KiB)",
          after, idle);
    free(tok);
}

/* ---- the per-project storage quota (Glance's user_storage_quota) ---- */

static void t_quota(struct picostackd *d)
{
    CHECK(picostackd_stop(d, SIGTERM) == 0);
    const char *args[] = { "--log-level", "error", "--user-storage-quota", "10M", NULL };
    CHECK(picostackd_restart(d, args) == 0);
    char *tok = admin_login(d);
    const char *body = "{\"name\":\"q\",\"disk_format\":\"raw\",\"container_format\":\"bare\"}";
    char *a = create_image(d, tok, body), *b = create_image(d, tok, body);
    struct resp r;
    CHECK(upload_gen(d, tok, a, 1, 6u << 20, false, &r, NULL) == 0 && r.status == 204, "%ld",
          r.status);
    resp_free(&r);
    /* Over the quota: refused before any data with a length, as it comes
     * when chunked; nothing is kept. */
    CHECK(upload_gen(d, tok, b, 2, 6u << 20, false, &r, NULL) == 0 && r.status == 413, "%ld",
          r.status);
    resp_free(&r);
    CHECK(upload_gen(d, tok, b, 2, 6u << 20, true, &r, NULL) == 0 && r.status == 413, "%ld",
          r.status);
    resp_free(&r);
    json_t *img = wait_status(d, tok, b, "queued");
    CHECK(img != NULL);
    json_decref(img);
    /* Within it: fine; and after a delete the room is back. */
    CHECK(upload_gen(d, tok, b, 2, 3u << 20, true, &r, NULL) == 0 && r.status == 204, "%ld",
          r.status);
    resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/image/v2/images/%s", a);
    CHECK(http_status(d, "DELETE", path, tok, NULL, NULL) == 204);
    char *c = create_image(d, tok, body);
    CHECK(upload_gen(d, tok, c, 3, 6u << 20, false, &r, NULL) == 0 && r.status == 204, "%ld",
          r.status);
    resp_free(&r);
    free(a), free(b), free(c), free(tok);
}

/* The ENOSPC test runs on a small ext4 of its own (a loop mount, as root).
 * Where that cannot be made it reports itself skipped (77). */
static int with_small_fs(int argc, char **argv, const struct subtest *tests, size_t n)
{
    if (geteuid() != 0) {
        fprintf(stderr, "%s: needs root for a loop mount: skipped\n", argv[2]);
        return 77;
    }
    char base[] = "/var/tmp/picostack-enospc-XXXXXX", img[64], mnt[64], cmd[400];
    if (!mkdtemp(base))
        return 1;
    snprintf(img, sizeof img, "%s/fs.img", base);
    snprintf(mnt, sizeof mnt, "%s/mnt", base);
    snprintf(cmd, sizeof cmd,
             "truncate -s 96M '%s' && mkfs.ext4 -q '%s' && mkdir '%s' && "
             "mount -o loop '%s' '%s'",
             img, img, mnt, img, mnt);
    if (sh(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        sh(cmd);
        fprintf(stderr, "enospc: cannot loop-mount a small filesystem here: skipped\n");
        return 77;
    }
    setenv("PICOSTACK_TEST_DIR", mnt, 1);
    int rc = run_subtest(argc, argv, tests, n);
    snprintf(cmd, sizeof cmd, "umount '%s'; rm -rf '%s'", mnt, base);
    sh(cmd);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = {
        { "errors", t_errors },   { "lifecycle", t_lifecycle },
        { "list", t_list },       { "rbac_members", t_rbac_members },
        { "big", t_big },         { "cutoff", t_cutoff },
        { "restart", t_restart }, { "qcow2", t_qcow2 },
        { "enospc", t_enospc },   { "concurrent", t_concurrent },
        { "reserve", t_reserve }, { "bomb", t_bomb },
        { "burst", t_burst },     { "quota", t_quota },
    };
    if (argc == 3 && (strcmp(argv[2], "enospc") == 0 || strcmp(argv[2], "reserve") == 0))
        return with_small_fs(argc, argv, tests, sizeof tests / sizeof tests[0]);
    return run_subtest(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
