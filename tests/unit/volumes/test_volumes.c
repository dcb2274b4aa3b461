/* core/volumes on a real LMDB store and a real block store in a temporary
 * data dir: volume types, volumes (empty, from an image, a snapshot, a
 * volume: data shared, copy-on-write), update, metadata, extend, delete
 * rules (snapshots, cascade, attachments, force), reset-state, RBAC
 * (another project sees nothing, readers write nothing), attachments,
 * upload to an image, quotas, and a clone of a 64 TiB volume costing what
 * one of 1 GiB costs. */
#include "tests/unit/volumes/vol_test.h"

static struct fx F;

static void types(void)
{
    json_t *t = NULL, *list = NULL;
    OK(volume_type_get(F.v, &ALICE, VOLUMES_DEFAULT_TYPE, &t));
    CHECK_STR(jstr(t, "name"), VOLUMES_DEFAULT_TYPE);
    json_decref(t);
    ERR(volume_type_create(F.v, &ALICE, "fast", NULL, true, NULL, NULL), -EPERM);
    json_t *specs = json_pack("{s:s}", "volume_backend_name", "pico");
    OK(volume_type_create(F.v, &ADMIN, "fast", "ssd", true, specs, &t));
    json_decref(specs);
    ERR(volume_type_create(F.v, &ADMIN, "fast", NULL, true, NULL, NULL), -EEXIST);
    json_t *bad = json_pack("{s:i}", "k", 1);
    ERR(volume_type_create(F.v, &ADMIN, "bad", NULL, true, bad, NULL), -EINVAL);
    ERR(volume_type_create(F.v, &ADMIN, "", NULL, true, NULL, NULL), -EINVAL);
    json_decref(bad);
    char id[40];
    snprintf(id, sizeof id, "%s", jstr(t, "id"));
    json_decref(t);
    OK(volume_type_create(F.v, &ADMIN, "hidden", NULL, false, NULL, NULL));
    OK(volume_type_list(F.v, &ALICE, &list));
    CHECK_EQ(json_array_size(list), 2); /* default + fast; not the private one */
    json_decref(list);
    OK(volume_type_list(F.v, &ADMIN, &list));
    CHECK_EQ(json_array_size(list), 3);
    json_decref(list);
    ERR(volume_type_get(F.v, &ALICE, "hidden", &t), -ENOENT);
    json_t *more = json_pack("{s:s}", "qos", "gold");
    OK(volume_type_set_specs(F.v, &ADMIN, id, more, &t));
    CHECK_STR(jstr(t, "qos"), "gold");
    CHECK_STR(jstr(t, "volume_backend_name"), "pico");
    json_decref(t);
    ERR(volume_type_set_specs(F.v, &ALICE, id, more, NULL), -EPERM);
    json_decref(more);
    OK(volume_type_unset_spec(F.v, &ADMIN, id, "qos"));
    ERR(volume_type_unset_spec(F.v, &ADMIN, id, "qos"), -ENOENT);
    json_t *ch = json_pack("{s:s}", "name", "faster");
    OK(volume_type_update(F.v, &ADMIN, "fast", ch, NULL));
    json_decref(ch);
    /* in use: not deletable; the default never */
    json_t *vol;
    struct volume_create req = { .size_gb = 1, .volume_type = "faster" };
    OK(volume_create(F.v, &ALICE, &req, &vol));
    CHECK_STR(jstr(vol, "volume_type"), "faster");
    ERR(volume_type_delete(F.v, &ADMIN, id), -EBUSY);
    OK(volume_delete(F.v, &ALICE, jstr(vol, "id"), 0));
    json_decref(vol);
    OK(volume_type_delete(F.v, &ADMIN, id));
    ERR(volume_type_delete(F.v, &ADMIN, VOLUMES_DEFAULT_TYPE), -EBUSY);
    OK(volume_type_delete(F.v, &ADMIN, "hidden"));
    req.volume_type = "nope";
    ERR(volume_create(F.v, &ALICE, &req, NULL), -ENOENT);
}

static void crud_and_rbac(void)
{
    char id[40], obj[64];
    json_t *rec = NULL, *list = NULL;
    json_t *meta = json_pack("{s:s}", "purpose", "db");
    struct volume_create req = {
        .name = "data", .description = "d", .size_gb = 2, .metadata = meta
    };
    OK(volume_create(F.v, &ALICE, &req, &rec));
    json_decref(meta);
    snprintf(id, sizeof id, "%s", jstr(rec, "id"));
    CHECK_STR(jstr(rec, "status"), "available");
    CHECK_STR(jstr(rec, "bootable"), "false");
    CHECK_STR(jstr(rec, "availability_zone"), "nova");
    CHECK_STR(jstr(rec, "volume_type"), VOLUMES_DEFAULT_TYPE);
    CHECK_STR(jstr(json_object_get(rec, "metadata"), "purpose"), "db");
    json_t *view = volumes_view(rec);
    CHECK(!json_object_get(view, VOLUMES_PRIVATE_KEY));
    json_decref(view);
    json_decref(rec);
    volumes_object_name(obj, "volume", id);
    struct blockstore_info bi;
    CHECK(blockstore_info(F.bs, obj, &bi) == 0);
    CHECK_EQ(bi.size, 2 * VOLUMES_GIB);

    /* another project: nothing; a reader: reads only */
    ERR(volume_get(F.v, &BOB, id, &rec), -ENOENT);
    ERR(volume_delete(F.v, &BOB, id, 0), -ENOENT);
    ERR(volume_extend(F.v, &BOB, id, 3, 0), -ENOENT);
    OK(volume_list(F.v, &BOB, false, &list));
    CHECK_EQ(json_array_size(list), 0);
    json_decref(list);
    OK(volume_list(F.v, &BOB, true, &list)); /* all_projects is for admins */
    CHECK_EQ(json_array_size(list), 0);
    json_decref(list);
    OK(volume_list(F.v, &ADMIN, true, &list));
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    OK(volume_get(F.v, &READER, id, &rec));
    json_decref(rec);
    ERR(volume_delete(F.v, &READER, id, 0), -EPERM);
    ERR(volume_create(F.v, &READER, &req, NULL), -EPERM);
    json_t *ch = json_pack("{s:s}", "name", "x");
    ERR(volume_update(F.v, &READER, id, ch, NULL), -EPERM);
    json_decref(ch);

    /* update and metadata */
    ch = json_pack("{s:s, s:n, s:b, s:b, s:{s:s}}", "name", "renamed", "description", "bootable", 1,
                   "readonly", 1, "metadata", "a", "1");
    OK(volume_update(F.v, &ALICE, id, ch, &rec));
    json_decref(ch);
    CHECK_STR(jstr(rec, "name"), "renamed");
    CHECK(json_is_null(json_object_get(rec, "description")));
    CHECK_STR(jstr(rec, "bootable"), "true");
    CHECK(json_is_true(json_object_get(rec, "readonly")));
    CHECK(!json_object_get(json_object_get(rec, "metadata"), "purpose"));
    json_decref(rec);
    ch = json_pack("{s:i}", "bootable", 3);
    ERR(volume_update(F.v, &ALICE, id, ch, NULL), -EINVAL);
    json_decref(ch);
    ch = json_pack("{s:{s:i}}", "metadata", "k", 1);
    ERR(volume_update(F.v, &ALICE, id, ch, NULL), -EINVAL);
    json_decref(ch);
    json_t *m = json_pack("{s:s}", "b", "2");
    OK(volume_set_metadata(F.v, &ALICE, id, m, false, &rec));
    CHECK_STR(jstr(rec, "a"), "1");
    CHECK_STR(jstr(rec, "b"), "2");
    json_decref(rec);
    json_decref(m);
    OK(volume_delete_metadata(F.v, &ALICE, id, "a"));
    ERR(volume_delete_metadata(F.v, &ALICE, id, "a"), -ENOENT);

    /* extend: grow only */
    ERR(volume_extend(F.v, &ALICE, id, 2, 0), -EINVAL);
    ERR(volume_extend(F.v, &ALICE, id, 1, 0), -EINVAL);
    OK(volume_extend(F.v, &ALICE, id, 5, 0));
    OK(volume_get(F.v, &ALICE, id, &rec));
    CHECK_EQ(json_integer_value(json_object_get(rec, "size")), 5);
    CHECK_STR(jstr(rec, "status"), "available");
    json_decref(rec);
    CHECK(blockstore_info(F.bs, obj, &bi) == 0);
    CHECK_EQ(bi.size, 5 * VOLUMES_GIB);

    /* reset-state: admins only, known statuses */
    ERR(volume_reset_status(F.v, &ALICE, id, "error", NULL), -EPERM);
    ERR(volume_reset_status(F.v, &ADMIN, id, "bogus", NULL), -EINVAL);
    OK(volume_reset_status(F.v, &ADMIN, id, "error", NULL));
    ERR(volume_extend(F.v, &ALICE, id, 6, 0), -EBUSY);
    OK(volume_reset_status(F.v, &ADMIN, id, "available", NULL));

    /* bad input */
    struct volume_create bad = { .size_gb = 0 };
    ERR(volume_create(F.v, &ALICE, &bad, NULL), -EINVAL);
    bad.size_gb = VOLUMES_MAX_GB + 1;
    ERR(volume_create(F.v, &ALICE, &bad, NULL), -EINVAL);
    bad.size_gb = 1;
    bad.availability_zone = "mars";
    ERR(volume_create(F.v, &ALICE, &bad, NULL), -EINVAL);
    bad.availability_zone = NULL;
    bad.snapshot_id = "00000000-0000-4000-8000-000000000000";
    ERR(volume_create(F.v, &ALICE, &bad, NULL), -ENOENT);
    bad.source_volid = id;
    ERR(volume_create(F.v, &ALICE, &bad, NULL), -EINVAL);

    OK(volume_delete(F.v, &ALICE, id, 0));
    ERR(volume_get(F.v, &ALICE, id, &rec), -ENOENT);
    CHECK(blockstore_info(F.bs, obj, &bi) == -ENOENT);
    struct volumes_quota lim, use;
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &use));
    CHECK_EQ(use.v[VOLQ_VOLUMES], 0);
    CHECK_EQ(use.v[VOLQ_GIGABYTES], 0);
}

static void copies(void)
{
    /* an image object as the images module makes them (name = image id) */
    const char *image = "11111111-1111-4111-8111-111111111111";
    struct blockstore_writer *w;
    static unsigned char buf[3 * CS];
    fill_pattern(buf, sizeof buf, 7);
    CHECK(blockstore_image_begin(F.bs, image, 0, &w) == 0);
    CHECK(blockstore_image_append(w, buf, sizeof buf) == 0);
    CHECK(blockstore_image_commit(w) == 0);

    json_t *vol, *snap, *copy, *clone;
    json_t *props = json_pack("{s:s}", "os_distro", "debian");
    struct volume_create req = { .name = "boot",
                                 .size_gb = 1,
                                 .image_id = image,
                                 .image_object = image,
                                 .image_bytes = sizeof buf,
                                 .image_meta = props };
    OK(volume_create(F.v, &ALICE, &req, &vol));
    json_decref(props);
    CHECK_STR(jstr(vol, "bootable"), "true");
    CHECK_STR(jstr(json_object_get(vol, "volume_image_metadata"), "os_distro"), "debian");
    CHECK_STR(jstr(vol, "image_id"), image);
    char vobj[64];
    volumes_object_name(vobj, "volume", jstr(vol, "id"));
    unsigned char *got = fx_read(&F, vobj, sizeof buf);
    CHECK(memcmp(got, buf, sizeof buf) == 0);
    free(got);
    struct blockstore_info bi;
    CHECK(blockstore_info(F.bs, vobj, &bi) == 0);
    CHECK_EQ(bi.allocated, 0); /* shares the image's clusters */
    CHECK_EQ(bi.size, VOLUMES_GIB);
    req.image_bytes = 2 * VOLUMES_GIB; /* larger than asked for */
    ERR(volume_create(F.v, &ALICE, &req, NULL), -EINVAL);
    req.image_object = NULL;
    ERR(volume_create(F.v, &ALICE, &req, NULL), -EINVAL);

    fx_write(&F, vobj, 1, 99); /* the volume's own data from now on */
    struct volume_snapshot_create sreq = { .volume_id = jstr(vol, "id"), .name = "s1" };
    OK(volume_snapshot_create(F.v, &ALICE, &sreq, &snap));
    CHECK_STR(jstr(snap, "status"), "available");
    CHECK_EQ(json_integer_value(json_object_get(snap, "size")), 1);
    ERR(volume_snapshot_create(F.v, &BOB, &sreq, NULL), -ENOENT);
    fx_write(&F, vobj, 2, 100); /* after the snapshot: not in it */

    struct volume_create from_snap = { .snapshot_id = jstr(snap, "id"), .size_gb = 2 };
    OK(volume_create(F.v, &ALICE, &from_snap, &copy));
    CHECK_EQ(json_integer_value(json_object_get(copy, "size")), 2);
    struct volume_create small = { .snapshot_id = jstr(snap, "id"), .size_gb = 0 };
    json_t *same;
    OK(volume_create(F.v, &ALICE, &small, &same)); /* size from the source */
    CHECK_EQ(json_integer_value(json_object_get(same, "size")), 1);
    struct volume_create from_vol = { .source_volid = jstr(vol, "id") };
    OK(volume_create(F.v, &ALICE, &from_vol, &clone));
    ERR(volume_create(F.v, &BOB, &from_vol, NULL), -ENOENT);

    char cobj[64], kobj[64];
    volumes_object_name(cobj, "volume", jstr(copy, "id"));
    volumes_object_name(kobj, "volume", jstr(clone, "id"));
    unsigned char want[3 * CS];
    memcpy(want, buf, sizeof want);
    fill_pattern(want + CS, CS, 99);
    got = fx_read(&F, cobj, sizeof want); /* snapshot: cluster 2 is the image's */
    CHECK(memcmp(got, want, sizeof want) == 0);
    free(got);
    fill_pattern(want + 2 * CS, CS, 100);
    got = fx_read(&F, kobj, sizeof want); /* volume clone: both writes */
    CHECK(memcmp(got, want, sizeof want) == 0);
    free(got);
    fx_write(&F, kobj, 0, 5); /* copy-on-write: the source does not change */
    got = fx_read(&F, vobj, CS);
    CHECK(memcmp(got, buf, CS) == 0);
    free(got);

    /* delete rules: snapshots hold the volume unless cascade */
    ERR(volume_delete(F.v, &ALICE, jstr(vol, "id"), 0), -EBUSY);
    OK(volume_upload_image(F.v, &ALICE, jstr(vol, "id"), "22222222-2222-4222-8222-222222222222",
                           false, NULL));
    ERR(volume_upload_image(F.v, &ALICE, jstr(vol, "id"), "volume-x", false, NULL), -EINVAL);
    got = fx_read(&F, "22222222-2222-4222-8222-222222222222", sizeof want);
    fill_pattern(want + 2 * CS, CS, 100);
    memcpy(want, buf, CS);
    CHECK(memcmp(got, want, sizeof want) == 0);
    free(got);
    OK(volume_delete(F.v, &ALICE, jstr(vol, "id"), VOLUME_CASCADE));
    ERR(volume_snapshot_get(F.v, &ALICE, jstr(snap, "id"), NULL), -ENOENT);
    /* copies live on after their sources */
    got = fx_read(&F, kobj, 3 * CS);
    CHECK(memcmp(got + CS, want + CS, 2 * CS) == 0);
    free(got);
    OK(volume_delete(F.v, &ALICE, jstr(copy, "id"), 0));
    OK(volume_delete(F.v, &ALICE, jstr(same, "id"), 0));
    OK(volume_delete(F.v, &ALICE, jstr(clone, "id"), 0));
    CHECK(blockstore_delete(F.bs, "22222222-2222-4222-8222-222222222222") == 0);
    CHECK(blockstore_delete(F.bs, image) == 0);
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
    struct blockstore_stat st;
    CHECK(blockstore_stat(F.bs, &st) == 0);
    CHECK_EQ(st.used, 0);
    json_decref(vol);
    json_decref(snap);
    json_decref(copy);
    json_decref(same);
    json_decref(clone);
}

static void snapshots(void)
{
    char id[40];
    fx_volume(&F, &ALICE, 1, id);
    json_t *snap, *list;
    struct volume_snapshot_create sreq = { .volume_id = id, .name = "s" };
    OK(volume_snapshot_create(F.v, &ALICE, &sreq, &snap));
    json_t *ch = json_pack("{s:s, s:{s:s}}", "name", "s2", "metadata", "k", "v");
    json_t *rec;
    OK(volume_snapshot_update(F.v, &ALICE, jstr(snap, "id"), ch, &rec));
    CHECK_STR(jstr(rec, "name"), "s2");
    json_decref(rec);
    json_decref(ch);
    json_t *m = json_pack("{s:s}", "k2", "v2");
    OK(volume_snapshot_set_metadata(F.v, &ALICE, jstr(snap, "id"), m, false, &rec));
    CHECK_STR(jstr(rec, "k"), "v");
    CHECK_STR(jstr(rec, "k2"), "v2");
    json_decref(rec);
    json_decref(m);
    OK(volume_snapshot_list(F.v, &ALICE, false, &list));
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    OK(volume_snapshot_list(F.v, &BOB, false, &list));
    CHECK_EQ(json_array_size(list), 0);
    json_decref(list);
    ERR(volume_snapshot_delete(F.v, &BOB, jstr(snap, "id"), false), -ENOENT);
    ERR(volume_snapshot_reset_status(F.v, &ALICE, jstr(snap, "id"), "error"), -EPERM);
    OK(volume_snapshot_reset_status(F.v, &ADMIN, jstr(snap, "id"), "error"));
    OK(volume_snapshot_delete(F.v, &ALICE, jstr(snap, "id"), false));
    /* of an in-use volume: only with force */
    json_t *att;
    OK(volume_attach_begin(F.v, &ALICE, id, "server-1", NULL, &att));
    OK(volume_attach_complete(F.v, &ALICE, jstr(att, "id"), "/dev/vdb", NULL));
    ERR(volume_snapshot_create(F.v, &ALICE, &sreq, NULL), -EBUSY);
    sreq.force = true;
    OK(volume_snapshot_create(F.v, &ALICE, &sreq, &rec));
    OK(volume_detach(F.v, &ALICE, id, NULL));
    OK(volume_snapshot_delete(F.v, &ALICE, jstr(rec, "id"), false));
    json_decref(rec);
    json_decref(att);
    json_decref(snap);
    OK(volume_delete(F.v, &ALICE, id, 0));
}

static void attachments(void)
{
    char id[40];
    fx_volume(&F, &ALICE, 1, id);
    json_t *att, *vol, *list;
    ERR(volume_attach_begin(F.v, &BOB, id, "srv", NULL, NULL), -ENOENT);
    ERR(volume_attach_begin(F.v, &ALICE, id, "srv", "rx", NULL), -EINVAL);
    OK(volume_attach_begin(F.v, &ALICE, id, "srv", "rw", &att));
    CHECK_STR(jstr(att, "status"), "attaching");
    OK(volume_get(F.v, &ALICE, id, &vol));
    CHECK_STR(jstr(vol, "status"), "attaching");
    json_decref(vol);
    ERR(volume_attach_begin(F.v, &ALICE, id, "srv2", NULL, NULL), -EBUSY); /* not multiattach */
    OK(volume_attach_complete(F.v, &ALICE, jstr(att, "id"), "/dev/vdb", NULL));
    ERR(volume_attach_complete(F.v, &ALICE, jstr(att, "id"), NULL, NULL), -EBUSY);
    OK(volume_get(F.v, &ALICE, id, &vol));
    CHECK_STR(jstr(vol, "status"), "in-use");
    CHECK_EQ(json_array_size(json_object_get(vol, "attachments")), 1);
    json_decref(vol);
    OK(volume_attachment_list(F.v, &ALICE, false, &list));
    CHECK_EQ(json_array_size(list), 1);
    json_decref(list);
    OK(volume_attachment_list(F.v, &BOB, false, &list));
    CHECK_EQ(json_array_size(list), 0);
    json_decref(list);
    ERR(volume_delete(F.v, &ALICE, id, 0), -EBUSY);
    ERR(volume_extend(F.v, &ALICE, id, 2, 0), -EBUSY);
    OK(volume_detach_begin(F.v, &ALICE, id));
    OK(volume_detach_roll(F.v, &ALICE, id));
    OK(volume_detach_begin(F.v, &ALICE, id));
    ERR(volume_detach(F.v, &ALICE, id, "00000000-0000-4000-8000-000000000000"), -ENOENT);
    OK(volume_detach(F.v, &ALICE, id, jstr(att, "id")));
    ERR(volume_attachment_get(F.v, &ALICE, jstr(att, "id"), NULL), -ENOENT);
    OK(volume_get(F.v, &ALICE, id, &vol));
    CHECK_STR(jstr(vol, "status"), "available");
    json_decref(vol);
    ERR(volume_detach(F.v, &ALICE, id, NULL), -EBUSY);
    /* read-only volumes attach ro; force delete of an attached volume */
    json_t *ch = json_pack("{s:b}", "readonly", 1);
    OK(volume_update(F.v, &ALICE, id, ch, NULL));
    json_decref(ch);
    ERR(volume_attach_begin(F.v, &ALICE, id, "srv", "rw", NULL), -EINVAL);
    json_decref(att);
    OK(volume_attach_begin(F.v, &ALICE, id, "srv", "ro", &att));
    ERR(volume_delete(F.v, &ALICE, id, VOLUME_FORCE), -EPERM);
    OK(volume_delete(F.v, &ADMIN, id, VOLUME_FORCE));
    ERR(volume_attachment_get(F.v, &ADMIN, jstr(att, "id"), NULL), -ENOENT);
    json_decref(att);
}

static void quotas(void)
{
    struct volumes_quota lim, use;
    ERR(volumes_quota_get(F.v, &ALICE, "p2", &lim, &use), -EPERM);
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &use));
    CHECK_EQ(lim.v[VOLQ_VOLUMES], 10);
    CHECK_EQ(lim.v[VOLQ_GIGABYTES], 1000);
    json_t *q = json_pack("{s:i, s:i}", "volumes", 2, "gigabytes", 5);
    ERR(volumes_quota_set(F.v, &ALICE, "p1", q), -EPERM);
    OK(volumes_quota_set(F.v, &ADMIN, "p1", q));
    json_decref(q);
    q = json_pack("{s:i}", "bogus", 1);
    ERR(volumes_quota_set(F.v, &ADMIN, "p1", q), -EINVAL);
    json_decref(q);
    q = json_pack("{s:i}", "volumes", -2);
    ERR(volumes_quota_set(F.v, &ADMIN, "p1", q), -EINVAL);
    json_decref(q);
    char a[40], b[40];
    fx_volume(&F, &ALICE, 2, a);
    struct volume_create big = { .size_gb = 4 };
    ERR(volume_create(F.v, &ALICE, &big, NULL), -EDQUOT); /* 2 + 4 > 5 GiB */
    fx_volume(&F, &ALICE, 3, b);
    struct volume_create one = { .size_gb = 1 };
    ERR(volume_create(F.v, &ALICE, &one, NULL), -EDQUOT); /* 3rd volume */
    ERR(volume_extend(F.v, &ALICE, a, 3, 0), -EDQUOT);
    struct volume_snapshot_create s = { .volume_id = a };
    ERR(volume_snapshot_create(F.v, &ALICE, &s, NULL), -EDQUOT); /* snapshots count GiB too */
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &use));
    CHECK_EQ(use.v[VOLQ_VOLUMES], 2);
    CHECK_EQ(use.v[VOLQ_GIGABYTES], 5);
    OK(volume_delete(F.v, &ALICE, a, 0));
    OK(volume_delete(F.v, &ALICE, b, 0));
    OK(volumes_quota_reset(F.v, &ADMIN, "p1"));
    q = json_pack("{s:i}", "per_volume_gigabytes", 2);
    OK(volumes_quota_set(F.v, &ADMIN, "p1", q));
    json_decref(q);
    ERR(volume_create(F.v, &ALICE, &big, NULL), -EDQUOT);
    OK(volumes_quota_reset(F.v, &ADMIN, "p1"));
}

/* 200 threads create 1 GiB volumes at once against a quota of 37: exactly
 * 37 succeed, and the usage says 37. */
#define RACERS 200
#define LIMIT  37
static int results[RACERS];
static void *racer(void *arg)
{
    int i = (int)(long)arg;
    struct volume_create req = { .size_gb = 1 };
    const struct volumes_caller who = { .project_id = "race", .can_write = true };
    results[i] = volume_create(F.v, &who, &req, NULL);
    return NULL;
}

static void quota_race(void)
{
    json_t *q = json_pack("{s:i, s:i}", "volumes", LIMIT, "gigabytes", 1000);
    OK(volumes_quota_set(F.v, &ADMIN, "race", q));
    json_decref(q);
    pthread_t th[RACERS];
    for (long i = 0; i < RACERS; i++)
        CHECK(pthread_create(&th[i], NULL, racer, (void *)i) == 0);
    int ok = 0, quota = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        ok += results[i] == 0;
        quota += results[i] == -EDQUOT;
    }
    CHECK_EQ(ok, LIMIT);
    CHECK_EQ(quota, RACERS - LIMIT);
    struct volumes_quota lim, use;
    const struct volumes_caller who = { .project_id = "race", .can_write = true };
    OK(volumes_quota_get(F.v, &who, "race", &lim, &use));
    CHECK_EQ(use.v[VOLQ_VOLUMES], LIMIT);
    json_t *list;
    OK(volume_list(F.v, &who, false, &list));
    CHECK_EQ(json_array_size(list), LIMIT);
    size_t i;
    json_t *x;
    json_array_foreach (list, i, x)
        OK(volume_delete(F.v, &who, jstr(x, "id"), 0));
    json_decref(list);
}

/* A clone of a 64 TiB volume (with data) costs what one of 1 GiB costs:
 * the medians of a few runs, on this (shared, fsyncing) machine. */
static double clone_cost(const char *src)
{
    double t[7];
    for (int k = 0; k < 7; k++) {
        struct volume_create req = { .source_volid = src };
        json_t *rec;
        double t0 = now_s();
        OK(volume_create(F.v, &ADMIN, &req, &rec));
        t[k] = now_s() - t0;
        char obj[64];
        volumes_object_name(obj, "volume", jstr(rec, "id"));
        struct blockstore_info bi;
        CHECK(blockstore_info(F.bs, obj, &bi) == 0);
        CHECK_EQ(bi.allocated, 0);
        OK(volume_delete(F.v, &ADMIN, jstr(rec, "id"), 0));
        json_decref(rec);
    }
    for (int a = 0; a < 7; a++) /* sort for the median */
        for (int b = a + 1; b < 7; b++)
            if (t[b] < t[a]) {
                double x = t[a];
                t[a] = t[b];
                t[b] = x;
            }
    return t[3];
}

static void clone_cost_flat(void)
{
    json_t *q = json_pack("{s:i}", "gigabytes", -1);
    OK(volumes_quota_set(F.v, &ADMIN, "padmin", q));
    json_decref(q);
    char small[40], huge[40], obj[64];
    fx_volume(&F, &ADMIN, 1, small);
    fx_volume(&F, &ADMIN, VOLUMES_MAX_GB, huge);
    volumes_object_name(obj, "volume", huge);
    for (uint64_t cl = 0; cl < 64; cl++) /* data spread over the 64 TiB */
        fx_write(&F, obj, cl * ((EXTMAP_MAX_SIZE / CS) / 64), (unsigned)cl);
    double a = clone_cost(small), b = clone_cost(huge);
    printf("clone: 1 GiB %.2f ms, 64 TiB %.2f ms (medians of 7)\n", a * 1e3, b * 1e3);
    CHECK(b < 3 * a + 0.02, "64 TiB clone %.3f s vs 1 GiB %.3f s", b, a);
    OK(volume_delete(F.v, &ADMIN, small, 0));
    OK(volume_delete(F.v, &ADMIN, huge, 0));
}

int main(void)
{
    fx_open(&F);
    types();
    crud_and_rbac();
    copies();
    snapshots();
    attachments();
    quotas();
    quota_race();
    clone_cost_flat();
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
    fx_close(&F);
    return t_done("volumes.unit.core");
}
