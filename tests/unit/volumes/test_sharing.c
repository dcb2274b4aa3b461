/* core/volumes: what moves or is shared between projects (transfers,
 * private types, QoS specs), reserve/unreserve, retype, and the two-commit
 * creation: an object the block store made for a creation whose record
 * never committed is freed by the reconciliation. Real LMDB and a real
 * block store in a temporary dir. */
#include "tests/unit/volumes/vol_test.h"

static struct fx F;

static void usage_of(const char *project, struct volumes_quota *use)
{
    struct volumes_quota lim;
    OK(volumes_quota_get(F.v, &ADMIN, project, &lim, use));
}

static void test_transfers(void)
{
    char vol[40], keep[40];
    fx_volume(&F, &ALICE, 2, vol);
    fx_volume(&F, &ALICE, 1, keep);
    json_t *snap = NULL, *tr = NULL, *x = NULL;
    struct volume_snapshot_create sreq = { .volume_id = vol, .name = "s" };
    OK(volume_snapshot_create(F.v, &ALICE, &sreq, &snap));
    char key[VOLUMES_TRANSFER_KEY_LEN + 1], wrong[VOLUMES_TRANSFER_KEY_LEN + 1];
    ERR(volume_transfer_create(F.v, &BOB, vol, NULL, false, &tr, key), -ENOENT);
    ERR(volume_transfer_create(F.v, &READER, vol, NULL, false, &tr, key), -EPERM);
    ERR(volume_transfer_create(F.v, &ALICE, vol, NULL, true, &tr, key), -EBUSY);
    OK(volume_transfer_create(F.v, &ALICE, vol, "t", false, &tr, key));
    CHECK(strlen(key) == VOLUMES_TRANSFER_KEY_LEN);
    char *dump = json_dumps(tr, 0);
    CHECK(dump && !strstr(dump, key), "the key is not kept in clear");
    free(dump);
    const char *tid = jstr(tr, "id");
    ERR(volume_delete(F.v, &ALICE, vol, 0), -EBUSY);
    ERR(volume_transfer_create(F.v, &ALICE, vol, NULL, false, &x, wrong), -EBUSY);
    snprintf(wrong, sizeof wrong, "%s", key);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    ERR(volume_transfer_accept(F.v, &BOB, tid, wrong, &x), -EINVAL);
    ERR(volume_transfer_accept(F.v, &BOB, tid, "", &x), -EINVAL);
    ERR(volume_transfer_accept(F.v, &BOB, "nope", key, &x), -ENOENT);
    json_t *q = json_pack("{s:i}", "gigabytes", 3);
    OK(volumes_quota_set(F.v, &ADMIN, "p2", q));
    ERR(volume_transfer_accept(F.v, &BOB, tid, key, &x), -EDQUOT); /* 2 + 2 GiB */
    OK(volumes_quota_reset(F.v, &ADMIN, "p2"));
    json_decref(q);
    struct volumes_quota a0, b0, a1, b1;
    usage_of("p1", &a0);
    usage_of("p2", &b0);
    OK(volume_transfer_accept(F.v, &BOB, tid, key, &x));
    CHECK_STR(jstr(x, "destination_project_id"), "p2");
    json_decref(x);
    usage_of("p1", &a1);
    usage_of("p2", &b1);
    CHECK_EQ(a0.v[VOLQ_VOLUMES] - a1.v[VOLQ_VOLUMES], 1);
    CHECK_EQ(b1.v[VOLQ_VOLUMES] - b0.v[VOLQ_VOLUMES], 1);
    CHECK_EQ(b1.v[VOLQ_GIGABYTES] - b0.v[VOLQ_GIGABYTES], 4);
    CHECK_EQ(b1.v[VOLQ_SNAPSHOTS] - b0.v[VOLQ_SNAPSHOTS], 1);
    CHECK_EQ(a0.v[VOLQ_GIGABYTES] - a1.v[VOLQ_GIGABYTES], 4);
    ERR(volume_get(F.v, &ALICE, vol, &x), -ENOENT);
    OK(volume_get(F.v, &BOB, vol, &x));
    CHECK_STR(jstr(x, "status"), "available");
    CHECK_STR(jstr(x, "user_id"), "u2");
    json_decref(x);
    OK(volume_snapshot_get(F.v, &BOB, jstr(snap, "id"), &x));
    json_decref(x);
    ERR(volume_transfer_get(F.v, &ALICE, tid, &x), -ENOENT); /* gone once accepted */

    /* a deleted transfer gives the volume back; a forced delete drops it */
    json_decref(tr);
    OK(volume_transfer_create(F.v, &ALICE, keep, NULL, false, &tr, key));
    OK(volume_transfer_list(F.v, &ALICE, false, &x));
    CHECK(json_array_size(x) == 1);
    json_decref(x);
    OK(volume_transfer_list(F.v, &BOB, false, &x));
    CHECK(json_array_size(x) == 0);
    json_decref(x);
    ERR(volume_transfer_delete(F.v, &BOB, jstr(tr, "id")), -ENOENT);
    OK(volume_transfer_delete(F.v, &ALICE, jstr(tr, "id")));
    OK(volume_get(F.v, &ALICE, keep, &x));
    CHECK_STR(jstr(x, "status"), "available");
    json_decref(x);
    json_decref(tr);
    OK(volume_transfer_create(F.v, &ALICE, keep, NULL, false, &tr, key));
    OK(volume_delete(F.v, &ADMIN, keep, VOLUME_FORCE));
    ERR(volume_transfer_get(F.v, &ADMIN, jstr(tr, "id"), &x), -ENOENT);
    json_decref(tr);
    OK(volume_delete(F.v, &BOB, vol, VOLUME_CASCADE));
    json_decref(snap);
}

static void test_types_qos(void)
{
    json_t *t = NULL, *x = NULL, *q = NULL;
    OK(volume_type_create(F.v, &ADMIN, "private", NULL, false, NULL, &t));
    const char *tid = jstr(t, "id");
    struct volume_create req = { .size_gb = 1, .volume_type = tid };
    ERR(volume_create(F.v, &ALICE, &req, &x), -ENOENT);
    ERR(volume_type_get(F.v, &ALICE, tid, &x), -ENOENT);
    ERR(volume_type_access_change(F.v, &ALICE, tid, "p1", true), -EPERM);
    OK(volume_type_access_change(F.v, &ADMIN, tid, "p1", true));
    ERR(volume_type_access_change(F.v, &ADMIN, tid, "p1", true), -EEXIST);
    ERR(volume_type_access_change(F.v, &ADMIN, tid, "", true), -EINVAL);
    OK(volume_type_access_list(F.v, &ADMIN, tid, &x));
    CHECK(json_array_size(x) == 1 && !strcmp(json_string_value(json_array_get(x, 0)), "p1"));
    json_decref(x);
    OK(volume_type_get(F.v, &ALICE, tid, &x));
    json_decref(x);
    ERR(volume_type_get(F.v, &BOB, tid, &x), -ENOENT);
    OK(volume_create(F.v, &ALICE, &req, &x));
    char vol[40];
    snprintf(vol, sizeof vol, "%s", jstr(x, "id"));
    json_decref(x);
    OK(volume_type_access_change(F.v, &ADMIN, tid, "p1", false));
    ERR(volume_type_access_change(F.v, &ADMIN, tid, "p1", false), -ENOENT);
    ERR(volume_create(F.v, &ALICE, &req, &x), -ENOENT);

    /* retype: to a type the caller may use, available or in-use only */
    ERR(volume_retype(F.v, &ALICE, vol, tid), -ENOENT);
    ERR(volume_retype(F.v, &ALICE, vol, "nope"), -ENOENT);
    OK(volume_retype(F.v, &ALICE, vol, VOLUMES_DEFAULT_TYPE));
    OK(volume_get(F.v, &ALICE, vol, &x));
    CHECK_STR(jstr(x, "volume_type"), VOLUMES_DEFAULT_TYPE);
    json_decref(x);

    /* reserve / unreserve */
    ERR(volume_unreserve(F.v, &ALICE, vol), -EBUSY);
    OK(volume_reserve(F.v, &ALICE, vol));
    ERR(volume_reserve(F.v, &ALICE, vol), -EBUSY);
    ERR(volume_retype(F.v, &ALICE, vol, VOLUMES_DEFAULT_TYPE), -EBUSY);
    ERR(volume_reserve(F.v, &BOB, vol), -ENOENT);
    OK(volume_unreserve(F.v, &ALICE, vol));

    /* QoS: admins only; names unique; one spec per type; in use */
    json_t *specs = json_pack("{s:s}", "read_iops_sec", "2000");
    ERR(volume_qos_create(F.v, &ALICE, "q", NULL, specs, &q), -EPERM);
    ERR(volume_qos_create(F.v, &ADMIN, "q", "sideways", specs, &q), -EINVAL);
    OK(volume_qos_create(F.v, &ADMIN, "q", NULL, specs, &q));
    CHECK_STR(jstr(q, "consumer"), "back-end");
    ERR(volume_qos_create(F.v, &ADMIN, "q", NULL, NULL, &x), -EEXIST);
    OK(volume_qos_create(F.v, &ADMIN, "q2", "both", NULL, &x));
    const char *qid = jstr(q, "id");
    OK(volume_qos_associate(F.v, &ADMIN, qid, tid));
    ERR(volume_qos_associate(F.v, &ADMIN, jstr(x, "id"), tid), -EBUSY);
    ERR(volume_qos_associate(F.v, &ADMIN, qid, "nope"), -ENOENT);
    ERR(volume_qos_delete(F.v, &ADMIN, qid, false), -EBUSY);
    json_t *a;
    OK(volume_qos_associations(F.v, &ADMIN, qid, &a));
    CHECK(json_array_size(a) == 1);
    json_decref(a);
    json_t *keys = json_pack("[s]", "read_iops_sec");
    OK(volume_qos_unset_keys(F.v, &ADMIN, qid, keys));
    ERR(volume_qos_unset_keys(F.v, &ADMIN, qid, keys), -ENOENT);
    OK(volume_qos_disassociate(F.v, &ADMIN, qid, NULL));
    OK(volume_type_get(F.v, &ADMIN, tid, &a));
    CHECK(json_is_null(json_object_get(a, "qos_specs_id")));
    json_decref(a);
    OK(volume_qos_associate(F.v, &ADMIN, qid, tid));
    OK(volume_qos_delete(F.v, &ADMIN, qid, true)); /* force: the type lets go */
    OK(volume_qos_associate(F.v, &ADMIN, jstr(x, "id"), tid));
    OK(volume_qos_delete(F.v, &ADMIN, jstr(x, "id"), true));
    json_decref(keys);
    json_decref(specs);
    json_decref(q);
    json_decref(x);
    OK(volume_delete(F.v, &ALICE, vol, 0));
    OK(volume_type_delete(F.v, &ADMIN, tid));
    json_decref(t);
}

/* The window between a creation's block-store object and its record: the
 * reconciliation frees such an object and leaves the usage untouched. */
static void test_creation_window(void)
{
    struct volumes_quota before, after;
    usage_of("p1", &before);
    char obj[64];
    volumes_object_name(obj, "volume", "00000000-0000-4000-8000-00000000c0de");
    pthread_mutex_lock(&F.lock);
    CHECK(blockstore_create(F.bs, obj, VOLUMES_GIB) == 0, "%s", blockstore_error());
    pthread_mutex_unlock(&F.lock);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 1);
    struct blockstore_info i;
    pthread_mutex_lock(&F.lock);
    CHECK(blockstore_info(F.bs, obj, &i) == -ENOENT);
    pthread_mutex_unlock(&F.lock);
    usage_of("p1", &after);
    CHECK(!memcmp(&before, &after, sizeof before));
    /* a creation over quota leaves no object behind */
    json_t *q = json_pack("{s:i}", "volumes", 0), *x;
    OK(volumes_quota_set(F.v, &ADMIN, "p1", q));
    struct volume_create req = { .size_gb = 1 };
    ERR(volume_create(F.v, &ALICE, &req, &x), -EDQUOT);
    OK(volumes_quota_reset(F.v, &ADMIN, "p1"));
    json_decref(q);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 0);
}

/* A type asking for another vendor: the volume is made in error, with
 * its usage, no disk, and a user message its project reads and deletes. */
static void test_no_backend(void)
{
    json_t *t, *x,
        *specs = json_pack("{s:s, s:s}", "vendor_name", "acme", "multiattach", "<is> True");
    OK(volume_type_create(F.v, &ADMIN, "acme", NULL, true, specs, &t));
    struct volume_create req = { .size_gb = 1, .volume_type = "acme", .request_id = "req-1" };
    struct volumes_quota u0, u1;
    usage_of("p1", &u0);
    OK(volume_create(F.v, &ALICE, &req, &x));
    CHECK_STR(jstr(x, "status"), "error");
    char vol[40], obj[64];
    snprintf(vol, sizeof vol, "%s", jstr(x, "id"));
    json_decref(x);
    volumes_object_name(obj, "volume", vol);
    struct blockstore_info i;
    pthread_mutex_lock(&F.lock);
    CHECK(blockstore_info(F.bs, obj, &i) == -ENOENT);
    pthread_mutex_unlock(&F.lock);
    usage_of("p1", &u1);
    CHECK_EQ(u1.v[VOLQ_VOLUMES] - u0.v[VOLQ_VOLUMES], 1);
    OK(volume_message_list(F.v, &ALICE, false, &x));
    CHECK(json_array_size(x) == 1);
    json_t *m = json_array_get(x, 0);
    CHECK_STR(jstr(m, "resource_uuid"), vol);
    CHECK_STR(jstr(m, "request_id"), "req-1");
    CHECK(strstr(jstr(m, "user_message") ?: "", "vendor_name") != NULL);
    char mid[40];
    snprintf(mid, sizeof mid, "%s", jstr(m, "id"));
    json_decref(x);
    OK(volume_message_list(F.v, &BOB, false, &x));
    CHECK(json_array_size(x) == 0);
    json_decref(x);
    ERR(volume_message_delete(F.v, &BOB, mid), -ENOENT);
    ERR(volume_message_delete(F.v, &READER, mid), -EPERM);
    OK(volume_message_delete(F.v, &ALICE, mid));
    ERR(volume_message_get(F.v, &ALICE, mid, &x), -ENOENT);
    CHECK_EQ(volumes_reconcile(F.v, stderr), 0); /* an error volume without a disk is known */
    OK(volume_delete(F.v, &ALICE, vol, 0));
    /* the matching vendor is fine */
    json_t *good = json_pack("{s:s}", "capabilities:vendor_name", VOLUMES_VENDOR);
    OK(volume_type_set_specs(F.v, &ADMIN, "acme", good, NULL));
    json_t *bad = json_pack("{s:s}", "vendor_name", VOLUMES_VENDOR);
    OK(volume_type_set_specs(F.v, &ADMIN, "acme", bad, NULL));
    OK(volume_create(F.v, &ALICE, &req, &x));
    CHECK_STR(jstr(x, "status"), "available");
    OK(volume_delete(F.v, &ALICE, jstr(x, "id"), 0));
    json_decref(x);
    OK(volume_type_delete(F.v, &ADMIN, jstr(t, "id")));
    json_decref(good), json_decref(bad), json_decref(specs), json_decref(t);
}

int main(void)
{
    fx_open(&F);
    test_transfers();
    test_types_qos();
    test_creation_window();
    test_no_backend();
    CHECK_EQ(volumes_reconcile(F.v, stderr), 0);
    CHECK(blockstore_check(F.bs, 0, stderr) == 0);
    fx_close(&F);
    return t_done(__FILE__);
}
