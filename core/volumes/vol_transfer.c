/* core/volumes: volume transfers. A transfer offers one available volume
 * (and, unless no_snapshots, its snapshots) to whichever project presents
 * its auth key. The key is shown once, at creation; the record keeps only
 * a salted BLAKE2b hash of it. Accepting moves the volume, its snapshots
 * and their quota usage to the accepting project in one transaction. */
#include "core/volumes/vol_internal.h"

#include <sodium.h>
#include <string.h>

#define KEY_CHARS 16 /* hex digits of an auth key, as Cinder's */
#define SALT_LEN  16

static void key_hash(const char *salt_hex, const char *key, char out[2 * 32 + 1])
{
    unsigned char h[32];
    crypto_generichash_state s;
    crypto_generichash_init(&s, NULL, 0, sizeof h);
    crypto_generichash_update(&s, (const unsigned char *)salt_hex, strlen(salt_hex));
    crypto_generichash_update(&s, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&s, h, sizeof h);
    sodium_bin2hex(out, 2 * 32 + 1, h, sizeof h);
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    randombytes_buf(b, bytes);
    sodium_bin2hex(out, 2 * bytes + 1, b, bytes);
}

/* Moves a snapshot's or volume's usage from one project to another, in t;
 * the destination's limits are checked. */
static int move_usage(struct store_txn *t, struct volumes *v, const char *from, const char *to,
                      enum volumes_quota_res count, int64_t gb)
{
    int rc = vol_usage_add(t, v, to, count, 1, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, to, VOLQ_GIGABYTES, gb, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, from, count, -1, false);
    if (rc == 0)
        rc = vol_usage_add(t, v, from, VOLQ_GIGABYTES, -gb, false);
    return rc;
}

int volume_transfer_create(struct volumes *v, const struct volumes_caller *who,
                           const char *volume_id, const char *name, bool no_snapshots, json_t **out,
                           char auth_key[VOLUMES_TRANSFER_KEY_LEN + 1])
{
    if (name && strlen(name) > VOLUMES_NAME_MAX)
        return vol_fail(-EINVAL, "Invalid input received: name is longer than 255 characters.");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *vol = NULL, *snaps = NULL;
    rc = vol_load(t, v, K_VOLUME, volume_id, who, true, &vol);
    if (rc == 0 && strcmp(vol_str(vol, "status"), "available"))
        rc = vol_fail(-EBUSY, "Invalid volume: status must be available (it is %s).",
                      vol_str(vol, "status"));
    if (rc == 0 && vol_str(vol, "group_id")) /* a group is one project's */
        rc = vol_fail(-EBUSY,
                      "Invalid volume: a volume in a group cannot be transferred (remove "
                      "it from group %s first).",
                      vol_str(vol, "group_id"));
    if (rc == 0)
        rc = vol_snapshots_of(t, v, volume_id, &snaps);
    size_t i;
    json_t *x;
    json_array_foreach (snaps, i, x)
        if (rc == 0 && strcmp(vol_str(x, "status"), "available"))
            rc = vol_fail(-EBUSY, "Invalid snapshot: snapshot %s must be available.",
                          vol_str(x, "id"));
    /* The snapshots stay with the volume's layers: a transfer without
     * them would leave another project's snapshots on this volume. */
    if (rc == 0 && no_snapshots && json_array_size(snaps))
        rc = vol_fail(-EBUSY, "Invalid volume: it has snapshots; transfer them with it.");
    json_decref(snaps);
    char id[STORE_ID_LEN + 1], salt[2 * SALT_LEN + 1], hash[65];
    store_new_id(id);
    json_t *rec = vol_new_record(id, who);
    vol_set_str(rec, "project_id", vol_str(vol, "project_id"));
    vol_set_str(rec, "source_project_id", vol_str(vol, "project_id"));
    json_object_set_new(rec, "destination_project_id", json_null());
    vol_set_str(rec, "name", name);
    vol_set_str(rec, "volume_id", volume_id);
    json_object_set_new(rec, "accepted", json_false());
    json_object_set_new(rec, "no_snapshots", json_boolean(no_snapshots));
    random_hex(auth_key, KEY_CHARS / 2);
    random_hex(salt, SALT_LEN);
    key_hash(salt, auth_key, hash);
    vol_priv_set(rec, "salt", salt);
    vol_priv_set(rec, "hash", hash);
    if (rc == 0)
        rc = vol_put(t, v, K_TRANSFER, rec);
    if (rc == 0) {
        vol_set_str(vol, "status", "awaiting-transfer");
        vol_touch(vol);
        rc = vol_put(t, v, K_VOLUME, vol);
    }
    json_decref(vol);
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_transfer_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                        json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_TRANSFER, id, who, false, out);
    store_abort(t);
    return rc;
}

int volume_transfer_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                         json_t **out)
{
    return vol_list_visible(v, K_TRANSFER, who, all_projects, out);
}

/* The volume of a transfer back to available (unless gone), in t. */
static int release_volume(struct store_txn *t, struct volumes *v, const json_t *tr)
{
    json_t *vol;
    int rc = vol_get(t, v, K_VOLUME, vol_str(tr, "volume_id"), &vol);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && !strcmp(vol_str(vol, "status"), "awaiting-transfer")) {
        vol_set_str(vol, "status", "available");
        vol_touch(vol);
        rc = vol_put(t, v, K_VOLUME, vol);
    }
    json_decref(vol);
    return rc;
}

int volume_transfer_delete(struct volumes *v, const struct volumes_caller *who, const char *id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *tr = NULL;
    rc = vol_load(t, v, K_TRANSFER, id, who, true, &tr);
    if (rc == 0)
        rc = release_volume(t, v, tr);
    if (rc == 0)
        rc = vol_del(t, v, K_TRANSFER, id);
    json_decref(tr);
    return vol_end(t, rc);
}

int vol_transfers_drop(struct store_txn *t, struct volumes *v, const char *volume_id)
{
    json_t *all = NULL;
    int rc = vol_all(t, v, K_TRANSFER, &all);
    size_t i;
    json_t *x;
    json_array_foreach (rc == 0 ? all : NULL, i, x)
        if (rc == 0 && !strcmp(vol_str(x, "volume_id"), volume_id))
            rc = vol_del(t, v, K_TRANSFER, vol_str(x, "id"));
    json_decref(all);
    return rc;
}

/* Gives the volume (and its snapshots) to who's project, in t. */
static int take_over(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                     json_t *vol)
{
    const char *from = vol_str(vol, "project_id"), *to = who->project_id;
    const char *id = vol_str(vol, "id");
    json_t *snaps;
    int rc = move_usage(t, v, from, to, VOLQ_VOLUMES, vol_int(vol, "size"));
    if (rc == 0)
        rc = vol_snapshots_of(t, v, id, &snaps);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (snaps, i, x) {
        if (rc == 0)
            rc = move_usage(t, v, from, to, VOLQ_SNAPSHOTS, vol_int(x, "size"));
        vol_set_str(x, "project_id", to);
        vol_set_str(x, "user_id", who->user_id);
        if (rc == 0)
            rc = vol_put(t, v, K_SNAPSHOT, x);
    }
    json_decref(snaps);
    vol_set_str(vol, "project_id", to);
    vol_set_str(vol, "user_id", who->user_id);
    vol_set_str(vol, "status", "available");
    vol_touch(vol);
    return rc == 0 ? vol_put(t, v, K_VOLUME, vol) : rc;
}

int volume_transfer_accept(struct volumes *v, const struct volumes_caller *who, const char *id,
                           const char *auth_key, json_t **out)
{
    if (!who->project_id)
        return vol_fail(-EPERM, "A project-scoped token is needed.");
    if (!who->can_write && !who->is_admin)
        return vol_fail(-EPERM, "Policy doesn't allow transfer:accept to be performed.");
    if (!auth_key || !*auth_key)
        return vol_fail(-EINVAL, "Invalid input received: auth_key is needed.");
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    /* Any project may accept: the key, not the record's owner, decides. */
    json_t *tr = NULL, *vol = NULL;
    rc = vol_get(t, v, K_TRANSFER, id, &tr);
    char hash[65];
    if (rc == 0) {
        key_hash(vol_priv(tr, "salt") ?: "", auth_key, hash);
        const char *want = vol_priv(tr, "hash") ?: "";
        if (strlen(want) != 64 || sodium_memcmp(hash, want, 64))
            rc = vol_fail(-EINVAL,
                          "Invalid auth key: Attempt to transfer %s with invalid "
                          "auth key.",
                          id);
    }
    if (rc == 0)
        rc = vol_get(t, v, K_VOLUME, vol_str(tr, "volume_id"), &vol);
    if (rc == 0 && strcmp(vol_str(vol, "status"), "awaiting-transfer"))
        rc = vol_fail(-EBUSY, "Invalid volume: status must be awaiting-transfer (it is %s).",
                      vol_str(vol, "status"));
    if (rc == 0)
        rc = take_over(t, v, who, vol);
    if (rc == 0)
        rc = vol_del(t, v, K_TRANSFER, id);
    json_decref(vol);
    rc = vol_end(t, rc);
    if (rc == 0 && out) {
        vol_set_str(tr, "destination_project_id", who->project_id);
        json_object_set_new(tr, "accepted", json_true());
        *out = json_incref(tr);
    }
    json_decref(tr);
    return rc;
}
