/* core/volumes: a volume from a backup, a backup of a snapshot, and the
 * extend of an in-use volume with the compute service's resize hook; each
 * with its bad inputs, and the crash cases of the first. */
#include "vol_test.h"

#define NCL  12
#define SIZE ((uint64_t)NCL * CS)

static struct fx F;

/* A backup (full or incremental) of vol, or of its snapshot snap, run to
 * the end; NULL when begin failed with expect_rc. */
static json_t *backup(const char *vol, const char *snap, bool incremental, int expect_rc)
{
    json_t *rec = NULL;
    struct volume_backup_create req = {
        .volume_id = vol, .snapshot_id = snap, .name = "b", .incremental = incremental
    };
    int rc = volume_backup_begin(F.v, &ALICE, &req, &rec);
    CHECK(rc == expect_rc, "backup_begin = %d (%s)", rc, volumes_error());
    if (rc < 0)
        return NULL;
    OK(volume_backup_run(F.v, jstr(rec, "id")));
    json_t *done;
    OK(volume_backup_get(F.v, &ALICE, jstr(rec, "id"), &done));
    json_decref(rec);
    CHECK_STR(jstr(done, "status"), "available");
    return done;
}

static json_t *snapshot(const char *vol)
{
    json_t *s = NULL;
    struct volume_snapshot_create req = { .volume_id = vol, .name = "s", .force = true };
    OK(volume_snapshot_create(F.v, &ALICE, &req, &s));
    return s;
}

static void expect_contents(const char *vol, const unsigned char *want, const char *what)
{
    char obj[64];
    volumes_object_name(obj, "volume", vol);
    unsigned char *got = fx_read(&F, obj, SIZE);
    CHECK(memcmp(got, want, SIZE) == 0, "%s: contents differ", what);
    free(got);
}

static void expect_status(const char *kind, const char *id, const char *status)
{
    json_t *r = NULL;
    if (!strcmp(kind, "volume"))
        OK(volume_get(F.v, &ADMIN, id, &r));
    else
        OK(volume_backup_get(F.v, &ADMIN, id, &r));
    CHECK_STR(jstr(r, "status"), status);
    json_decref(r);
}

/* POST /volumes with backup_id, as the API does it. */
static int from_backup(const char *bid, uint64_t gb, const struct volumes_caller *who, char id[40])
{
    json_t *rec = NULL;
    struct volume_create req = { .name = "fb", .size_gb = gb, .backup_id = bid };
    int rc = volume_create(F.v, who, &req, &rec);
    if (rc < 0)
        return rc;
    CHECK_STR(jstr(rec, "status"), "restoring-backup");
    snprintf(id, 40, "%s", jstr(rec, "id"));
    json_decref(rec);
    expect_status("backup", bid, "restoring");
    return 0;
}

static void test_from_backup(const char *vol, const json_t *full, const unsigned char *want)
{
    const char *bid = jstr(full, "id");
    char nv[40];
    OK(from_backup(bid, 0, &ALICE, nv));
    /* the backup is busy until the copy ends */
    ERR(from_backup(bid, 0, &ALICE, (char[40]){ 0 }), -EBUSY);
    ERR(volume_backup_delete(F.v, &ALICE, bid, false), -EBUSY);
    OK(volume_backup_restore_run(F.v, bid, nv));
    expect_status("volume", nv, "available");
    expect_status("backup", bid, "available");
    expect_contents(nv, want, "volume from a backup");
    json_t *r;
    OK(volume_get(F.v, &ALICE, nv, &r));
    CHECK_EQ(json_integer_value(json_object_get(r, "size")), 1);
    json_decref(r);
    OK(volume_delete(F.v, &ALICE, nv, 0));

    /* larger than the backup: fine; smaller: no */
    OK(from_backup(bid, 3, &ALICE, nv));
    OK(volume_backup_restore_run(F.v, bid, nv));
    OK(volume_get(F.v, &ALICE, nv, &r));
    CHECK_EQ(json_integer_value(json_object_get(r, "size")), 3);
    json_decref(r);
    OK(volume_delete(F.v, &ALICE, nv, 0));

    struct volumes_quota lim, before, after;
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &before));
    ERR(from_backup("no-such-backup", 0, &ALICE, nv), -ENOENT);
    ERR(from_backup(bid, 0, &BOB, nv), -ENOENT); /* another project's */
    ERR(from_backup(bid, 0, &READER, nv), -EPERM);
    json_t *two = NULL;
    struct volume_create req = { .size_gb = 1, .backup_id = bid, .source_volid = vol };
    ERR(volume_create(F.v, &ALICE, &req, &two), -EINVAL); /* two sources */
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &after));
    CHECK_EQ(after.v[VOLQ_VOLUMES], before.v[VOLQ_VOLUMES]);
    CHECK_EQ(after.v[VOLQ_GIGABYTES], before.v[VOLQ_GIGABYTES]);

    /* a backup that is not available: error */
    OK(volume_backup_begin(F.v, &ALICE, &(struct volume_backup_create){ .volume_id = vol }, &r));
    char busy[40];
    snprintf(busy, sizeof busy, "%s", jstr(r, "id"));
    json_decref(r);
    ERR(from_backup(busy, 0, &ALICE, nv), -EBUSY); /* creating */
    ERR(volume_backup_reset_status(F.v, &ADMIN, busy, "error"), -EBUSY);
    OK(volume_backup_run(F.v, busy));
    ERR(volume_backup_reset_status(F.v, &ALICE, busy, "error"), -EPERM);
    ERR(volume_backup_reset_status(F.v, &ADMIN, busy, "creating"), -EINVAL);
    OK(volume_backup_reset_status(F.v, &ADMIN, busy, "error"));
    ERR(from_backup(busy, 0, &ALICE, nv), -EBUSY); /* error */
    OK(volume_backup_reset_status(F.v, &ADMIN, busy, "available"));
    OK(volume_backup_delete(F.v, &ALICE, busy, false));

    /* kill -9 after the acknowledgement, before the copy: error_restoring,
     * the backup available again, no orphan */
    OK(from_backup(bid, 0, &ALICE, nv));
    fx_close(&F);
    fx_open_in(&F, F.dir);
    CHECK(volumes_reconcile(F.v, stderr) >= 2);
    expect_status("volume", nv, "error_restoring");
    expect_status("backup", bid, "available");
    OK(volume_delete(F.v, &ALICE, nv, 0));
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
}

static void test_snapshot_backups(const char *vol, const unsigned char *state0)
{
    char obj[64];
    volumes_object_name(obj, "volume", vol);
    json_t *snap = snapshot(vol); /* holds state0 */
    const char *sid = jstr(snap, "id");
    fx_write(&F, obj, 2, 50); /* the volume moves on; the snapshot does not */

    json_t *sb = backup(vol, sid, false, 0);
    CHECK_STR(jstr(sb, "snapshot_id"), sid);
    CHECK_EQ(json_integer_value(json_object_get(sb, "object_count")), 4);
    char base[64];
    struct blockstore_info bi;
    volumes_object_name(base, "backup", jstr(sb, "id"));
    CHECK(blockstore_info(F.bs, base, &bi) == -ENOENT); /* its clone went */
    char nv[40];
    OK(from_backup(jstr(sb, "id"), 0, &ALICE, nv));
    OK(volume_backup_restore_run(F.v, jstr(sb, "id"), nv));
    expect_contents(nv, state0, "restore of a snapshot backup");
    OK(volume_delete(F.v, &ALICE, nv, 0));

    /* an incremental of a snapshot newer than the volume's last backup
     * holds only what changed since; the volume's base stays its own */
    json_t *full = backup(vol, NULL, false, 0);
    fx_write(&F, obj, 7, 51);
    unsigned char *state2 = fx_read(&F, obj, SIZE);
    json_t *snap2 = snapshot(vol);
    fx_write(&F, obj, 8, 52);
    json_t *inc = backup(vol, jstr(snap2, "id"), true, 0);
    CHECK_STR(jstr(inc, "parent_id"), jstr(full, "id"));
    CHECK_EQ(json_integer_value(json_object_get(inc, "object_count")), 1);
    OK(from_backup(jstr(inc, "id"), 0, &ALICE, nv));
    OK(volume_backup_restore_run(F.v, jstr(inc, "id"), nv));
    expect_contents(nv, state2, "restore of an incremental snapshot backup");
    OK(volume_delete(F.v, &ALICE, nv, 0));
    volumes_object_name(base, "backup", jstr(full, "id"));
    CHECK(blockstore_info(F.bs, base, &bi) == 0);
    json_t *inc2 = backup(vol, NULL, true, 0); /* still builds on full */
    CHECK_STR(jstr(inc2, "parent_id"), jstr(full, "id"));

    /* an incremental of a snapshot older than the last backup: refused
     * (the copy fails; the chain stays restorable) */
    json_t *bad = NULL;
    struct volume_backup_create req = { .volume_id = vol, .snapshot_id = sid, .incremental = true };
    OK(volume_backup_begin(F.v, &ALICE, &req, &bad));
    CHECK(volume_backup_run(F.v, jstr(bad, "id")) < 0);
    expect_status("backup", jstr(bad, "id"), "error");
    OK(volume_backup_delete(F.v, &ALICE, jstr(bad, "id"), false));
    json_decref(bad);

    /* bad input */
    char other[40];
    fx_volume(&F, &ALICE, 1, other);
    ERR(volume_backup_begin(
            F.v, &ALICE, &(struct volume_backup_create){ .volume_id = other, .snapshot_id = sid },
            NULL),
        -EINVAL); /* not a snapshot of that volume */
    ERR(volume_backup_begin(
            F.v, &ALICE, &(struct volume_backup_create){ .volume_id = vol, .snapshot_id = "nope" },
            NULL),
        -ENOENT);
    ERR(volume_backup_begin(F.v, &BOB,
                            &(struct volume_backup_create){ .volume_id = vol, .snapshot_id = sid },
                            NULL),
        -ENOENT);
    OK(volume_snapshot_reset_status(F.v, &ADMIN, sid, "error"));
    ERR(volume_backup_begin(F.v, &ALICE,
                            &(struct volume_backup_create){ .volume_id = vol, .snapshot_id = sid },
                            NULL),
        -EBUSY);
    OK(volume_delete(F.v, &ALICE, other, 0));

    json_t *all[] = { inc2, inc, full, sb };
    for (size_t i = 0; i < 4; i++) {
        OK(volume_backup_delete(F.v, &ALICE, jstr(all[i], "id"), false));
        json_decref(all[i]);
    }
    OK(volume_snapshot_delete(F.v, &ALICE, jstr(snap2, "id"), false));
    OK(volume_snapshot_delete(F.v, &ADMIN, sid, true));
    json_decref(snap2);
    json_decref(snap);
    free(state2);
}

struct told {
    int calls;
    char server[64], object[64];
    uint64_t bytes;
    int fail;
};

static int resize_hook(void *ctx, const char *volume_id, const char *server_id, const char *object,
                       uint64_t bytes, char why[256])
{
    struct told *t = ctx;
    (void)volume_id;
    t->calls++;
    snprintf(t->server, sizeof t->server, "%s", server_id);
    snprintf(t->object, sizeof t->object, "%s", object);
    t->bytes = bytes;
    if (t->fail)
        snprintf(why, 256, "the VMM is gone");
    return t->fail;
}

static void test_extend_in_use(void)
{
    char vol[40], obj[64];
    fx_volume(&F, &ALICE, 1, vol);
    volumes_object_name(obj, "volume", vol);
    json_t *att;
    OK(volume_attach_begin(F.v, &ALICE, vol, "server-1", NULL, &att));
    /* attaching: neither kind of extend */
    ERR(volume_extend(F.v, &ALICE, vol, 2, VOLUME_EXTEND_ATTACHED), -EBUSY);
    OK(volume_attach_complete(F.v, &ALICE, jstr(att, "id"), "/dev/vdb", NULL));
    struct told told = { 0 };
    volumes_set_resize_hook(F.v, resize_hook, &told);

    ERR(volume_extend(F.v, &ALICE, vol, 2, 0), -EBUSY);                       /* before 3.42 */
    ERR(volume_extend(F.v, &ALICE, vol, 1, VOLUME_EXTEND_ATTACHED), -EINVAL); /* not bigger */
    ERR(volume_extend(F.v, &BOB, vol, 2, VOLUME_EXTEND_ATTACHED), -ENOENT);
    ERR(volume_extend(F.v, &READER, vol, 2, VOLUME_EXTEND_ATTACHED), -EPERM);
    CHECK_EQ(told.calls, 0);

    OK(volume_extend(F.v, &ALICE, vol, 2, VOLUME_EXTEND_ATTACHED));
    CHECK_EQ(told.calls, 1);
    CHECK_STR(told.server, "server-1");
    CHECK_STR(told.object, obj);
    CHECK_EQ(told.bytes, 2 * VOLUMES_GIB);
    json_t *r;
    OK(volume_get(F.v, &ALICE, vol, &r));
    CHECK_STR(jstr(r, "status"), "in-use");
    CHECK_EQ(json_integer_value(json_object_get(r, "size")), 2);
    json_decref(r);
    struct blockstore_info bi;
    CHECK(blockstore_info(F.bs, obj, &bi) == 0 && bi.size == 2 * VOLUMES_GIB);

    /* the hook fails: extended, in-use, and the caller hears of it */
    told.fail = -EIO;
    ERR(volume_extend(F.v, &ALICE, vol, 3, VOLUME_EXTEND_ATTACHED), -EIO);
    CHECK(strstr(volumes_error(), "the VMM is gone") != NULL, "%s", volumes_error());
    OK(volume_get(F.v, &ALICE, vol, &r));
    CHECK_STR(jstr(r, "status"), "in-use");
    CHECK_EQ(json_integer_value(json_object_get(r, "size")), 3);
    json_decref(r);

    /* over quota: nothing changes, nobody told */
    told = (struct told){ 0 };
    json_t *q = json_pack("{s:i}", "gigabytes", 3);
    OK(volumes_quota_set(F.v, &ADMIN, "p1", q));
    json_decref(q);
    ERR(volume_extend(F.v, &ALICE, vol, 4, VOLUME_EXTEND_ATTACHED), -EDQUOT);
    CHECK_EQ(told.calls, 0);
    OK(volumes_quota_reset(F.v, &ADMIN, "p1"));

    /* an available volume with the flag: extended, nobody told */
    OK(volume_detach(F.v, &ALICE, vol, NULL));
    OK(volume_extend(F.v, &ALICE, vol, 4, VOLUME_EXTEND_ATTACHED));
    CHECK_EQ(told.calls, 0);
    expect_status("volume", vol, "available");
    volumes_set_resize_hook(F.v, NULL, NULL);
    json_decref(att);
    OK(volume_delete(F.v, &ALICE, vol, 0));
}

int main(void)
{
    fx_open(&F);
    char vol[40], obj[64];
    fx_volume(&F, &ALICE, 1, vol);
    volumes_object_name(obj, "volume", vol);
    for (uint64_t cl = 0; cl < 4; cl++)
        fx_write(&F, obj, cl, (unsigned)cl + 1);
    unsigned char *state0 = fx_read(&F, obj, SIZE);
    json_t *full = backup(vol, NULL, false, 0);
    test_from_backup(vol, full, state0);
    OK(volume_backup_delete(F.v, &ALICE, jstr(full, "id"), false));
    json_decref(full);
    test_snapshot_backups(vol, state0);
    test_extend_in_use();
    OK(volume_delete(F.v, &ALICE, vol, 0));
    struct volumes_quota lim, use;
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &use));
    CHECK_EQ(use.v[VOLQ_VOLUMES], 0);
    CHECK_EQ(use.v[VOLQ_BACKUPS], 0);
    CHECK_EQ(use.v[VOLQ_SNAPSHOTS], 0);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 0);
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
    free(state0);
    fx_close(&F);
    return t_done(__FILE__);
}
