/* core/volumes backup records on a real LMDB store and block store: the
 * container name, export (admins only), import under another id beside
 * the original (both restore; the shared folder goes with the last
 * record), hostile records (wrong format, path-like ids, a missing or
 * corrupted folder), the volume metadata restored with the data, and an import of an incremental backup into a fresh
 * store over the same backup directory that restores byte for byte. */
#include "tests/unit/volumes/vol_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIZE ((uint64_t)40 * CS)

static json_t *backup(struct fx *f, const char *vol, bool incremental, const char *container)
{
    json_t *rec = NULL;
    struct volume_backup_create req = {
        .volume_id = vol, .name = "b", .incremental = incremental, .container = container
    };
    OK(volume_backup_begin(f->v, &ALICE, &req, &rec));
    OK(volume_backup_run(f->v, jstr(rec, "id")));
    json_t *done;
    OK(volume_backup_get(f->v, &ALICE, jstr(rec, "id"), &done));
    json_decref(rec);
    return done;
}

/* Restores backup bid (as admin) into a new volume and compares. */
static void restore_check(struct fx *f, const char *bid, const unsigned char *want)
{
    char vol[40], obj[64];
    OK(volume_backup_restore_begin(f->v, &ADMIN, bid, NULL, NULL, vol));
    OK(volume_backup_restore_run(f->v, bid, vol));
    json_t *rec = NULL; /* the volume's metadata came back with the data */
    OK(volume_get(f->v, &ADMIN, vol, &rec));
    CHECK_STR(jstr(json_object_get(rec, "metadata"), "origin"), "test");
    json_decref(rec);
    volumes_object_name(obj, "volume", vol);
    unsigned char *got = fx_read(f, obj, SIZE);
    CHECK(memcmp(got, want, SIZE) == 0, "backup %s restored differently", bid);
    free(got);
    OK(volume_delete(f->v, &ADMIN, vol, 0));
}

static bool folder_exists(struct fx *f, const char *id)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", f->backups, id);
    return access(path, F_OK) == 0;
}

static void hostile(struct fx *f, const json_t *good)
{
    json_t *bad = json_deep_copy(good);
    ERR(volume_backup_import(f->v, &ALICE, bad, NULL), -EPERM);
    json_object_set_new(bad, "id", json_string("../../etc"));
    ERR(volume_backup_import(f->v, &ADMIN, bad, NULL), -EINVAL);
    json_object_set_new(bad, "id", json_string("fresh-id-1"));
    json_object_set_new(bad, "folder", json_string("no-such-folder"));
    ERR(volume_backup_import(f->v, &ADMIN, bad, NULL), -EINVAL);
    json_object_set_new(bad, "folder", json_string("a/b"));
    ERR(volume_backup_import(f->v, &ADMIN, bad, NULL), -EINVAL);
    json_object_del(bad, "folder");
    json_object_set_new(bad, "format", json_string("other/1"));
    ERR(volume_backup_import(f->v, &ADMIN, bad, NULL), -EINVAL);
    json_object_set_new(bad, "format", json_integer(1));
    ERR(volume_backup_import(f->v, &ADMIN, bad, NULL), -EINVAL);
    json_decref(bad);
    json_t *arr = json_array();
    ERR(volume_backup_import(f->v, &ADMIN, arr, NULL), -EINVAL);
    json_decref(arr);
}

int main(void)
{
    struct fx F, G;
    fx_open(&F);
    char vol[40], obj[64];
    fx_volume(&F, &ALICE, 1, vol);
    volumes_object_name(obj, "volume", vol);
    for (uint64_t cl = 0; cl < 8; cl++)
        fx_write(&F, obj, cl, (unsigned)cl + 11);
    unsigned char *state0 = fx_read(&F, obj, SIZE);
    json_t *meta = json_pack("{s:s}", "origin", "test");
    OK(volume_set_metadata(F.v, &ALICE, vol, meta, false, NULL));
    json_decref(meta);
    json_t *full = backup(&F, vol, false, NULL);
    CHECK_STR(jstr(full, "container"), jstr(full, "id")); /* none asked: its folder */
    fx_write(&F, obj, 2, 99);
    unsigned char *state1 = fx_read(&F, obj, SIZE);
    json_t *inc = backup(&F, vol, true, "my-container");
    CHECK_STR(jstr(inc, "container"), "my-container");
    char big[300];
    memset(big, 'c', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ERR(volume_backup_begin(F.v, &ALICE,
                            &(struct volume_backup_create){ .volume_id = vol, .container = big },
                            NULL),
        -EINVAL);

    /* export: admins only */
    json_t *rec = NULL;
    ERR(volume_backup_export(F.v, &ALICE, jstr(full, "id"), &rec), -EPERM);
    ERR(volume_backup_export(F.v, &ADMIN, "nope", &rec), -ENOENT);
    OK(volume_backup_export(F.v, &ADMIN, jstr(full, "id"), &rec));
    CHECK_STR(jstr(rec, "format"), VOLUMES_BACKUP_FORMAT);
    CHECK_STR(jstr(rec, "folder"), jstr(full, "id"));
    ERR(volume_backup_import(F.v, &ADMIN, rec, NULL), -EBUSY); /* that id exists */
    hostile(&F, rec);

    /* a copy under another id: both restore; the folder stays until both go */
    json_object_set_new(rec, "id", json_string("copy-of-full"));
    json_t *copy = NULL;
    OK(volume_backup_import(F.v, &ADMIN, rec, &copy));
    CHECK_STR(jstr(copy, "status"), "available");
    CHECK_STR(jstr(copy, "project_id"), "padmin");
    CHECK_EQ(json_integer_value(json_object_get(copy, "size")), 1);
    json_decref(copy);
    restore_check(&F, "copy-of-full", state0);
    json_t *inc_rec = NULL;
    OK(volume_backup_export(F.v, &ADMIN, jstr(inc, "id"), &inc_rec));
    CHECK_STR(jstr(inc_rec, "container"), "my-container");
    CHECK_STR(jstr(inc_rec, "parent_id"), jstr(full, "id"));
    OK(volume_backup_delete(F.v, &ADMIN, "copy-of-full", false));
    CHECK(folder_exists(&F, jstr(full, "id")));
    OK(volume_backup_import(F.v, &ADMIN, rec, NULL));
    restore_check(&F, jstr(inc, "id"), state1);

    /* the store is lost; a fresh one over the same backup directory takes
     * the incremental record back and restores it */
    fx_close(&F);
    const char *gdir = t_tmpdir("voltest-fresh");
    char gb[700];
    snprintf(gb, sizeof gb, "%s/backups", gdir);
    CHECK(rename(F.backups, gb) == 0);
    fx_open_in(&G, gdir);
    json_t *got = NULL;
    OK(volume_backup_import(G.v, &ADMIN, inc_rec, &got));
    CHECK_STR(jstr(got, "container"), "my-container");
    CHECK(json_is_true(json_object_get(got, "is_incremental")));
    json_decref(got);
    restore_check(&G, jstr(inc, "id"), state1);
    /* a corrupted chain is refused */
    char path[800];
    snprintf(path, sizeof path, "%s/%s/clusters", G.backups, jstr(full, "id"));
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "XXXX", 4, 40) == 4);
    close(fd);
    ERR(volume_backup_import(G.v, &ADMIN, rec, NULL), -EINVAL);
    fx_close(&G);
    json_decref(rec);
    json_decref(inc_rec);
    json_decref(full);
    json_decref(inc);
    free(state0);
    free(state1);
    return t_done("volumes.unit.backup_records");
}
