/* core/images: records and members in a real LMDB environment (core/store)
 * in a temporary directory: put/get, scan, members by image, delete with
 * members, and an aborted transaction leaves nothing. */
#include "core/images/images.h"
#include "core/store/store.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count(json_t *img, void *ctx)
{
    (void)img;
    (*(int *)ctx)++;
    return 0;
}

int main(void)
{
    char dir[256];
    CHECK(t_mkdtemp(dir, sizeof dir, "picostack-image-db") == 0);
    struct store *s = NULL;
    struct image_db *db = NULL;
    CHECK(store_open(dir, &s) == 0);
    CHECK(image_db_open(s, &db) == 0);
    struct image_caller who = { .project_id = "p1", .can_write = true };
    const char *ids[3] = { "00000000-0000-4000-8000-000000000001",
                           "00000000-0000-4000-8000-000000000002",
                           "00000000-0000-4000-8000-000000000003" };
    struct store_txn *t;
    uint64_t gen = 1;
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(image_db_generation(t, db, &gen) == 0 && gen == 0);
    for (int i = 0; i < 3; i++) {
        json_t *body = json_pack("{s:s, s:s}", "name", "x", "visibility", "shared");
        json_t *img = image_new(body, ids[i], &who, "2026-11-24T23:00:00Z", NULL);
        image_private_set(img, "upload", "nonce");
        CHECK(image_db_put(t, db, img) == 0);
        json_decref(img);
        json_decref(body);
    }
    CHECK(image_db_generation(t, db, &gen) == 0 && gen == 3);
    CHECK(store_commit(t) == 0);

    /* An aborted transaction changes nothing (nor the generation). */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(image_db_del(t, db, ids[0]) == 0);
    CHECK(image_db_generation(t, db, &gen) == 0 && gen == 4);
    store_abort(t);

    CHECK(store_begin(s, true, &t) == 0);
    json_t *img = NULL;
    CHECK(image_db_get(t, db, ids[0], &img) == 0);
    CHECK_STR(image_private_get(img, "upload"), "nonce");
    CHECK(image_db_get(t, db, "00000000-0000-4000-8000-00000000000f", &img) == -ENOENT);
    /* Members of image 1 and 2, keyed apart. */
    for (int i = 0; i < 2; i++) {
        json_t *im = NULL;
        CHECK(image_db_get(t, db, ids[i], &im) == 0);
        json_t *m1 = image_member_new(im, "p2", &who, "t", NULL);
        json_t *m2 = image_member_new(im, "p3", &who, "t", NULL);
        CHECK(m1 && m2);
        CHECK(image_db_member_put(t, db, m1) == 0 && image_db_member_put(t, db, m2) == 0);
        json_decref(m1);
        json_decref(m2);
        json_decref(im);
    }
    json_decref(img);
    json_t *ms = NULL;
    CHECK(image_db_members(t, db, ids[0], &ms) == 0 && json_array_size(ms) == 2);
    json_decref(ms);
    json_t *m = NULL;
    CHECK(image_db_member_get(t, db, ids[1], "p3", &m) == 0);
    CHECK_STR(json_string_value(json_object_get(m, "member_id")), "p3");
    json_decref(m);
    CHECK(image_db_member_get(t, db, ids[2], "p3", &m) == -ENOENT);
    CHECK(image_db_member_del(t, db, ids[1], "p3") == 0);
    CHECK(image_db_member_get(t, db, ids[1], "p3", &m) == -ENOENT);
    /* Deleting an image deletes its members, not the other image's. */
    CHECK(image_db_del(t, db, ids[0]) == 0);
    CHECK(image_db_members(t, db, ids[0], &ms) == 0 && json_array_size(ms) == 0);
    json_decref(ms);
    CHECK(image_db_members(t, db, ids[1], &ms) == 0 && json_array_size(ms) == 1);
    json_decref(ms);
    CHECK(store_commit(t) == 0);

    /* Reopen: what was committed is there. */
    image_db_close(db);
    store_close(s);
    CHECK(store_open(dir, &s) == 0);
    CHECK(image_db_open(s, &db) == 0);
    CHECK(store_begin(s, false, &t) == 0);
    int n = 0;
    CHECK(image_db_scan(t, db, count, &n) == 0 && n == 2);
    CHECK(image_db_get(t, db, ids[0], &img) == -ENOENT);
    /* 3 puts, 1 delete; member changes leave the records' generation. */
    CHECK(image_db_generation(t, db, &gen) == 0 && gen == 4, "generation %llu",
          (unsigned long long)gen);
    store_abort(t);
    image_db_close(db);
    store_close(s);

    CHECK(t_rm_rf(dir) == 0);
    return t_done("images.unit.image_db");
}
