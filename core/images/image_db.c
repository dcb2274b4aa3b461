/* Image records and members in the control-plane LMDB environment
 * (core/store): table "images.records" (id -> image record) and
 * "images.members" (image id \0 member id -> member record). The caller
 * owns the transaction, so a status flip, a patch or a deletion with its
 * members is one short write transaction. */
#include "core/images/images.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct image_db {
    struct store *store;
    unsigned t_images, t_members, t_meta;
};

/* The change counter ("images.meta" key "generation"): bumped by every
 * write of an image record, inside the writer's own transaction, so a
 * reader's transaction sees the records and the counter of one moment. */
static const char GEN_KEY[] = "generation";

int image_db_generation(struct store_txn *t, struct image_db *db, uint64_t *out)
{
    const void *val;
    size_t vlen;
    int rc = store_get_raw(t, db->t_meta, GEN_KEY, sizeof GEN_KEY - 1, &val, &vlen);
    if (rc == -ENOENT) {
        *out = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (vlen != sizeof *out)
        return -EIO;
    memcpy(out, val, sizeof *out);
    return 0;
}

static int bump_generation(struct store_txn *t, struct image_db *db)
{
    uint64_t gen;
    int rc = image_db_generation(t, db, &gen);
    if (rc < 0)
        return rc;
    gen++;
    return store_put_raw(t, db->t_meta, GEN_KEY, sizeof GEN_KEY - 1, &gen, sizeof gen);
}

int image_db_open(struct store *s, struct image_db **out)
{
    struct image_db *db = calloc(1, sizeof *db);
    if (!db)
        return -ENOMEM;
    db->store = s;
    int rc = store_table(s, "images.records", &db->t_images);
    if (!rc)
        rc = store_table(s, "images.members", &db->t_members);
    if (!rc)
        rc = store_table(s, "images.meta", &db->t_meta);
    if (rc) {
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void image_db_close(struct image_db *db)
{
    free(db);
}

struct store *image_db_store(struct image_db *db)
{
    return db->store;
}

int image_db_get(struct store_txn *t, struct image_db *db, const char *id, json_t **out)
{
    if (!id || strlen(id) > STORE_MAX_KEY)
        return -ENOENT;
    return store_get(t, db->t_images, id, out);
}

int image_db_put(struct store_txn *t, struct image_db *db, const json_t *img)
{
    const char *id = json_string_value(json_object_get(img, "id"));
    if (!id)
        return -EINVAL;
    int rc = bump_generation(t, db);
    return rc < 0 ? rc : store_put(t, db->t_images, id, img);
}

int image_db_put_active(struct image_db *db, json_t *img, const char *object, uint64_t bytes)
{
    char now[32];
    image_timestamp(now);
    struct image_err err;
    if (image_upload_begin(img, now, &err) < 0 ||
        image_upload_finish(img, (int64_t)bytes, (int64_t)bytes, NULL, NULL, now, &err) < 0)
        return err.err;
    if (image_private_set(img, IMAGE_DISK, object) < 0)
        return -ENOMEM;
    struct store_txn *t;
    int rc = store_begin(image_db_store(db), true, &t);
    if (rc < 0)
        return rc;
    if ((rc = image_db_put(t, db, img)) < 0) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

static int member_key(char key[STORE_MAX_KEY], const char *image_id, const char *member_id)
{
    if (!image_id || !member_id)
        return -EINVAL;
    return store_index_key(key, image_id, member_id, NULL);
}

struct collect {
    json_t *out;
    int (*fn)(json_t *rec, void *ctx);
    void *ctx;
};

static int collect_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key, (void)klen;
    struct collect *c = ctx;
    json_t *rec = store_decode(val, vlen);
    if (!rec)
        return -EIO;
    int rc = 0;
    if (c->fn)
        rc = c->fn(rec, c->ctx);
    else
        json_array_append(c->out, rec);
    json_decref(rec);
    return rc;
}

int image_db_members(struct store_txn *t, struct image_db *db, const char *image_id, json_t **out)
{
    char prefix[STORE_MAX_KEY];
    int plen = store_index_key(prefix, image_id, "", NULL);
    if (plen < 0)
        return plen;
    /* The key is "image\0member": the prefix is "image\0". */
    plen = (int)strlen(image_id) + 1;
    struct collect c = { .out = json_array() };
    int rc = store_scan(t, db->t_members, prefix, (size_t)plen, collect_one, &c);
    if (rc < 0) {
        json_decref(c.out);
        return rc;
    }
    *out = c.out;
    return 0;
}

int image_db_del(struct store_txn *t, struct image_db *db, const char *id)
{
    json_t *members;
    int rc = image_db_members(t, db, id, &members);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *m;
    json_array_foreach (members, i, m) {
        rc = image_db_member_del(t, db, id, json_string_value(json_object_get(m, "member_id")));
        if (rc < 0)
            break;
    }
    json_decref(members);
    if (rc == 0)
        rc = bump_generation(t, db);
    return rc < 0 ? rc : store_del(t, db->t_images, id);
}

int image_db_scan(struct store_txn *t, struct image_db *db, int (*fn)(json_t *img, void *ctx),
                  void *ctx)
{
    struct collect c = { .fn = fn, .ctx = ctx };
    return store_scan(t, db->t_images, NULL, 0, collect_one, &c);
}

int image_db_member_get(struct store_txn *t, struct image_db *db, const char *image_id,
                        const char *member_id, json_t **out)
{
    char key[STORE_MAX_KEY];
    int klen = member_key(key, image_id, member_id);
    if (klen < 0)
        return klen == -EINVAL ? -ENOENT : klen;
    const void *val;
    size_t vlen;
    int rc = store_get_raw(t, db->t_members, key, (size_t)klen, &val, &vlen);
    if (rc < 0)
        return rc;
    *out = store_decode(val, vlen);
    return *out ? 0 : -EIO;
}

int image_db_member_put(struct store_txn *t, struct image_db *db, const json_t *member)
{
    char key[STORE_MAX_KEY];
    int klen = member_key(key, json_string_value(json_object_get(member, "image_id")),
                          json_string_value(json_object_get(member, "member_id")));
    if (klen < 0)
        return klen;
    char *text = json_dumps(member, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int rc = store_put_raw(t, db->t_members, key, (size_t)klen, text, strlen(text));
    free(text);
    return rc;
}

int image_db_member_del(struct store_txn *t, struct image_db *db, const char *image_id,
                        const char *member_id)
{
    char key[STORE_MAX_KEY];
    int klen = member_key(key, image_id, member_id);
    if (klen < 0)
        return klen == -EINVAL ? -ENOENT : klen;
    return store_del_raw(t, db->t_members, key, (size_t)klen);
}
