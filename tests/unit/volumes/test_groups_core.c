/* core/volumes groups on a real LMDB store and block store: a group
 * snapshot that passes the snapshot quota midway leaves nothing behind,
 * another project sees no group, a group's volume is not transferred, a
 * volume cannot join a group of another
 * project nor one being deleted, clones from a group snapshot hold the
 * data, and groups and group snapshots left creating/deleting by a crash
 * are set to error/error_deleting by the reconciliation. */
#include "tests/unit/volumes/vol_test.h"

static char *make_group(struct fx *f, const char *type_id)
{
    json_t *types = json_pack("[s]", type_id), *g = NULL, *gt = NULL;
    OK(volume_group_type_create(f->v, &ADMIN, "gt", NULL, true, NULL, &gt));
    struct volume_group_create req = { .name = "g",
                                       .group_type = jstr(gt, "id"),
                                       .volume_types = types };
    ERR(volume_group_create(f->v, &READER, &req, &g), -EPERM);
    OK(volume_group_create(f->v, &ALICE, &req, &g));
    char *id = strdup(jstr(g, "id"));
    json_decref(g);
    json_decref(gt);
    json_decref(types);
    return id;
}

static void volume_in(struct fx *f, const char *group, char id[40])
{
    json_t *rec = NULL;
    struct volume_create req = { .name = "m", .size_gb = 1, .group_id = group };
    OK(volume_create(f->v, &ALICE, &req, &rec));
    CHECK_STR(jstr(rec, "group_id"), group);
    snprintf(id, 40, "%s", jstr(rec, "id"));
    json_decref(rec);
}

static size_t count(struct fx *f,
                    int (*list)(struct volumes *, const struct volumes_caller *, bool, json_t **))
{
    json_t *l = NULL;
    OK(list(f->v, &ADMIN, true, &l));
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

int main(void)
{
    struct fx F;
    fx_open(&F);
    json_t *def = NULL;
    OK(volume_type_get(F.v, &ALICE, VOLUMES_DEFAULT_TYPE, &def));
    char *g = make_group(&F, jstr(def, "id"));
    char v1[40], v2[40], obj[64];
    volume_in(&F, g, v1);
    volume_in(&F, g, v2);
    volumes_object_name(obj, "volume", v1);
    fx_write(&F, obj, 1, 42);
    unsigned char *want = fx_read(&F, obj, 4 * CS);

    /* another project: nothing to see, no volume of its own may join */
    ERR(volume_group_get(F.v, &BOB, g, NULL), -ENOENT);
    struct volume_create breq = { .size_gb = 1, .group_id = g };
    ERR(volume_create(F.v, &BOB, &breq, NULL), -ENOENT);
    char bv[40];
    fx_volume(&F, &BOB, 1, bv);
    char add[64];
    snprintf(add, sizeof add, "%s", bv);
    json_t *ch = json_pack("{s:s}", "add_volumes", add);
    ERR(volume_group_update(F.v, &ALICE, g, ch, NULL), -EINVAL);
    json_decref(ch);

    /* a group is one project's: its volumes are not transferred */
    char key[VOLUMES_TRANSFER_KEY_LEN + 1];
    ERR(volume_transfer_create(F.v, &ALICE, v1, "t", false, NULL, key), -EBUSY);

    /* the snapshot quota passed midway: no member snapshot, no record */
    json_t *q = json_pack("{s:i}", "snapshots", 1);
    OK(volumes_quota_set(F.v, &ADMIN, "p1", q));
    json_decref(q);
    struct volume_group_snapshot_create sreq = { .group_id = g, .name = "gs" };
    ERR(volume_group_snapshot_create(F.v, &ALICE, &sreq, NULL), -EDQUOT);
    CHECK_EQ(count(&F, volume_snapshot_list), 0);
    CHECK_EQ(count(&F, volume_group_snapshot_list), 0);
    OK(volumes_quota_reset(F.v, &ADMIN, "p1"));
    json_t *gs = NULL;
    OK(volume_group_snapshot_create(F.v, &ALICE, &sreq, &gs));
    CHECK_EQ(count(&F, volume_snapshot_list), 2);

    /* a group from it: two clones, the data of the members */
    struct volume_group_create from = { .group_snapshot_id = jstr(gs, "id") };
    json_t *g2 = NULL;
    OK(volume_group_create(F.v, &ALICE, &from, &g2));
    CHECK_STR(jstr(g2, "status"), "available");
    CHECK_EQ(json_array_size(json_object_get(g2, "volumes")), 2);
    bool found = false;
    for (size_t i = 0; i < 2; i++) {
        volumes_object_name(obj, "volume",
                            json_string_value(json_array_get(json_object_get(g2, "volumes"), i)));
        unsigned char *got = fx_read(&F, obj, 4 * CS);
        found |= memcmp(got, want, 4 * CS) == 0;
        free(got);
    }
    CHECK(found, "no clone holds the member's data");

    /* crash leftovers: creating/deleting become error/error_deleting */
    OK(volume_group_reset_status(F.v, &ADMIN, jstr(g2, "id"), "creating"));
    OK(volume_group_snapshot_reset_status(F.v, &ADMIN, jstr(gs, "id"), "deleting"));
    ERR(volume_group_reset_status(F.v, &ALICE, jstr(g2, "id"), "error"), -EPERM);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 2);
    json_t *x = NULL;
    OK(volume_group_get(F.v, &ALICE, jstr(g2, "id"), &x));
    CHECK_STR(jstr(x, "status"), "error");
    json_decref(x);
    OK(volume_group_snapshot_get(F.v, &ALICE, jstr(gs, "id"), &x));
    CHECK_STR(jstr(x, "status"), "error_deleting");
    json_decref(x);

    /* deletes: an error group goes with its volumes; then the rest */
    OK(volume_group_delete(F.v, &ALICE, jstr(g2, "id"), true));
    OK(volume_group_snapshot_delete(F.v, &ALICE, jstr(gs, "id")));
    CHECK_EQ(count(&F, volume_snapshot_list), 0);
    ERR(volume_group_delete(F.v, &ALICE, g, false), -EBUSY);
    OK(volume_group_delete(F.v, &ALICE, g, true));
    ERR(volume_get(F.v, &ALICE, v1, NULL), -ENOENT);
    ERR(volume_create(F.v, &ALICE, &(struct volume_create){ .size_gb = 1, .group_id = g }, NULL),
        -ENOENT);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 0);
    json_decref(gs);
    json_decref(g2);
    json_decref(def);
    free(want);
    free(g);
    fx_close(&F);
    return t_done("volumes.unit.groups");
}
