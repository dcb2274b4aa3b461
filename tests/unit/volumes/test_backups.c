/* core/volumes backups on a real LMDB store and block store in a temporary
 * dir: full and incremental backups (an incremental one stores exactly the
 * clusters changed since the previous backup, found from the layer tree),
 * restore into a new and into an existing volume compared byte for byte,
 * a restore from the backup directory alone after the store is gone,
 * `check` of a chain and of a corrupted one, delete rules, RBAC, and a
 * backup cut off after it began (marked error by the reconciliation, the
 * previous chain still restorable and still the base of the next one). */
#include "tests/unit/volumes/vol_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NCL  40 /* clusters of the volume we look at (1 GiB volume) */
#define SIZE ((uint64_t)NCL * CS)

static struct fx F;

static json_t *backup(const char *vol, bool incremental, int expect_rc)
{
    json_t *rec = NULL;
    struct volume_backup_create req = { .volume_id = vol, .name = "b", .incremental = incremental };
    int rc = volume_backup_begin(F.v, &ALICE, &req, &rec);
    CHECK(rc == expect_rc, "backup_begin = %d (%s)", rc, volumes_error());
    if (rc < 0)
        return NULL;
    CHECK_STR(jstr(rec, "status"), "creating");
    OK(volume_backup_run(F.v, jstr(rec, "id")));
    json_t *done;
    OK(volume_backup_get(F.v, &ALICE, jstr(rec, "id"), &done));
    json_decref(rec);
    CHECK_STR(jstr(done, "status"), "available");
    return done;
}

static void discard(const char *object, uint64_t cl)
{
    struct blockstore_disk *d;
    CHECK(blockstore_disk_open(F.bs, object, 0, &d) == 0);
    CHECK(extmap_discard(blockstore_disk_map(d), cl * CS, CS) == 0);
    CHECK(blockstore_disk_close(d) == 0);
}

static void restore_new(const char *bid, const unsigned char *want)
{
    char vol[40], obj[64];
    OK(volume_backup_restore_begin(F.v, &ALICE, bid, NULL, NULL, vol));
    json_t *rec;
    OK(volume_get(F.v, &ALICE, vol, &rec));
    CHECK_STR(jstr(rec, "status"), "restoring-backup");
    json_decref(rec);
    OK(volume_backup_restore_run(F.v, bid, vol));
    OK(volume_get(F.v, &ALICE, vol, &rec));
    CHECK_STR(jstr(rec, "status"), "available");
    json_decref(rec);
    volumes_object_name(obj, "volume", vol);
    unsigned char *got = fx_read(&F, obj, SIZE);
    CHECK(memcmp(got, want, SIZE) == 0, "restored volume differs from the backup");
    free(got);
    OK(volume_delete(F.v, &ALICE, vol, 0));
}

static void corrupt(const char *bid)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s/clusters", F.backups, bid);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    unsigned char c;
    CHECK(pread(fd, &c, 1, 40) == 1);
    c ^= 0x5a;
    CHECK(pwrite(fd, &c, 1, 40) == 1);
    close(fd);
}

int main(void)
{
    fx_open(&F);
    char vol[40], obj[64];
    fx_volume(&F, &ALICE, 1, vol);
    volumes_object_name(obj, "volume", vol);
    for (uint64_t cl = 0; cl < 10; cl++)
        fx_write(&F, obj, cl, (unsigned)cl + 1);
    unsigned char *state0 = fx_read(&F, obj, SIZE);

    ERR(volume_backup_begin(F.v, &ALICE,
                            &(struct volume_backup_create){ .volume_id = vol, .incremental = true },
                            NULL),
        -EINVAL); /* no full backup yet */
    ERR(volume_backup_begin(F.v, &BOB, &(struct volume_backup_create){ .volume_id = vol }, NULL),
        -ENOENT);
    ERR(volume_backup_begin(F.v, &READER, &(struct volume_backup_create){ .volume_id = vol }, NULL),
        -EPERM);
    json_t *full = backup(vol, false, 0);
    CHECK_EQ(json_integer_value(json_object_get(full, "object_count")), 10);
    CHECK(json_is_false(json_object_get(full, "is_incremental")));
    ERR(volume_backup_get(F.v, &BOB, jstr(full, "id"), NULL), -ENOENT);

    /* change 3 clusters: 2 writes, 1 discard */
    fx_write(&F, obj, 3, 77);
    fx_write(&F, obj, 33, 78);
    discard(obj, 5);
    unsigned char *state1 = fx_read(&F, obj, SIZE);
    json_t *inc = backup(vol, true, 0);
    CHECK_EQ(json_integer_value(json_object_get(inc, "object_count")), 3);
    CHECK(json_integer_value(json_object_get(inc, "data_bytes")) < 2 * CS + 4096);
    CHECK_STR(jstr(inc, "parent_id"), jstr(full, "id"));
    json_t *x;
    OK(volume_backup_get(F.v, &ALICE, jstr(full, "id"), &x));
    CHECK(json_is_true(json_object_get(x, "has_dependent_backups")));
    json_decref(x);
    /* only the newest backup keeps a snapshot (the next base) */
    char base[64];
    volumes_object_name(base, "backup", jstr(full, "id"));
    struct blockstore_info bi;
    CHECK(blockstore_info(F.bs, base, &bi) == -ENOENT);
    volumes_object_name(base, "backup", jstr(inc, "id"));
    CHECK(blockstore_info(F.bs, base, &bi) == 0);

    CHECK_EQ(volumes_backup_check(F.backups, jstr(inc, "id"), stderr), 0);
    restore_new(jstr(inc, "id"), state1);
    restore_new(jstr(full, "id"), state0);

    /* into the existing volume (its later writes go) */
    fx_write(&F, obj, 20, 9);
    char got_vol[40];
    OK(volume_backup_restore_begin(F.v, &ALICE, jstr(full, "id"), vol, NULL, got_vol));
    CHECK_STR(got_vol, vol);
    ERR(volume_backup_restore_begin(F.v, &ALICE, jstr(full, "id"), vol, NULL, got_vol), -EBUSY);
    OK(volume_backup_restore_run(F.v, jstr(full, "id"), vol));
    unsigned char *got = fx_read(&F, obj, SIZE);
    CHECK(memcmp(got, state0, SIZE) == 0, "restore into the existing volume differs");
    free(got);

    /* cut off after it began: error at the next start, chain intact */
    json_t *cut;
    OK(volume_backup_begin(F.v, &ALICE,
                           &(struct volume_backup_create){ .volume_id = vol, .incremental = true },
                           &cut));
    ERR(volume_delete(F.v, &ALICE, vol, 0), -EBUSY); /* a backup of it is running */
    fx_close(&F);
    fx_open_in(&F, F.dir);
    OK(volumes_reconcile(F.v, stderr));
    OK(volume_backup_get(F.v, &ALICE, jstr(cut, "id"), &x));
    CHECK_STR(jstr(x, "status"), "error");
    json_decref(x);
    volumes_object_name(base, "backup", jstr(cut, "id"));
    CHECK(blockstore_info(F.bs, base, &bi) == -ENOENT);
    CHECK_EQ(volumes_backup_check(F.backups, jstr(inc, "id"), stderr), 0);
    restore_new(jstr(inc, "id"), state1);
    /* the next incremental still builds on inc: the volume went back to
     * state0 by the restore, so what differs from inc is what inc changed */
    json_t *inc2 = backup(vol, true, 0);
    CHECK_STR(jstr(inc2, "parent_id"), jstr(inc, "id"));
    restore_new(jstr(inc2, "id"), state0);
    OK(volume_backup_delete(F.v, &ALICE, jstr(cut, "id"), false));
    json_decref(cut);

    /* delete rules */
    ERR(volume_backup_delete(F.v, &ALICE, jstr(full, "id"), false), -EBUSY);
    ERR(volume_backup_delete(F.v, &BOB, jstr(inc2, "id"), false), -ENOENT);

    /* the backup directory alone: a new store restores it */
    char other[700];
    snprintf(other, sizeof other, "%s/other", F.dir);
    mkdir(other, 0700);
    struct blockstore *bs2;
    CHECK(blockstore_open(other, BLOCKSTORE_CREATE, NULL, &bs2) == 0);
    CHECK(blockstore_create(bs2, "fresh", VOLUMES_GIB) == 0);
    pthread_mutex_t mutex2 = PTHREAD_MUTEX_INITIALIZER;
    struct volumes_bs_lock lock2 = volumes_mutex_lock(&mutex2);
    OK(volumes_backup_restore_into(bs2, &lock2, F.backups, jstr(inc, "id"), "fresh"));
    struct blockstore_disk *d;
    got = malloc(SIZE);
    CHECK(blockstore_disk_open(bs2, "fresh", BLOCKSTORE_RDONLY, &d) == 0);
    CHECK(extmap_read(blockstore_disk_map(d), got, 0, SIZE) == 0);
    blockstore_disk_close(d);
    CHECK(memcmp(got, state1, SIZE) == 0, "standalone restore differs");
    free(got);
    CHECK(blockstore_create(bs2, "tiny", 1 << 20) == 0);
    ERR(volumes_backup_restore_into(bs2, &lock2, F.backups, jstr(inc, "id"), "tiny"), -EINVAL);

    /* corruption is found, and refused by a restore */
    corrupt(jstr(inc, "id"));
    CHECK(volumes_backup_check(F.backups, jstr(inc2, "id"), stderr) > 0);
    CHECK(volumes_backup_restore_into(bs2, &lock2, F.backups, jstr(inc, "id"), "fresh") < 0);
    ERR(volumes_backup_check(F.backups, "no-such-backup", NULL), -ENOENT);
    blockstore_close(bs2);

    OK(volume_backup_delete(F.v, &ALICE, jstr(inc2, "id"), false));
    OK(volume_backup_delete(F.v, &ALICE, jstr(inc, "id"), false));
    OK(volume_backup_delete(F.v, &ALICE, jstr(full, "id"), false));
    struct volumes_quota lim, use;
    OK(volumes_quota_get(F.v, &ALICE, "p1", &lim, &use));
    CHECK_EQ(use.v[VOLQ_BACKUPS], 0);
    OK(volume_delete(F.v, &ALICE, vol, 0));
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
    struct blockstore_stat st;
    CHECK(blockstore_stat(F.bs, &st) == 0);
    CHECK_EQ(st.used, 0);
    json_decref(full);
    json_decref(inc);
    json_decref(inc2);
    free(state0);
    free(state1);
    fx_close(&F);
    return t_done("volumes.unit.backups");
}
