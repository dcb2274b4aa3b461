/* core/volumes: backup records. A backup is a block-store snapshot
 * "backup-ID" of its volume (taken in constant time when it starts, so the
 * volume stays usable during the copy) copied into the backup directory:
 * all the clusters the volume's chain holds (full) or those that changed
 * since the previous backup's snapshot (incremental, blockstore_changed()).
 * The newest backup of a volume keeps its snapshot as the next base; the
 * one before gives its up. */
#include "core/volumes/vol_backup.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 16 /* clusters read at once */

static int set_status(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
                      const char *status, const char *peer);

static int need_dir(struct volumes *v)
{
    return v->backup_dir[0] ? 0 : vol_fail(-ENOTSUP, "No backup directory is configured.");
}

/* The newest available backup of a volume that still has its base. */
static int latest_base(struct store_txn *t, struct volumes *v, const char *volume_id, json_t **out,
                       bool *busy)
{
    json_t *all;
    int rc = vol_all(t, v, K_BACKUP, &all);
    if (rc < 0)
        return rc;
    *out = NULL;
    *busy = false;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        if (strcmp(vol_str(x, "volume_id"), volume_id))
            continue;
        if (!strcmp(vol_str(x, "status"), "creating"))
            *busy = true;
        if (!strcmp(vol_str(x, "status"), "available") && vol_priv(x, "base")) {
            json_decref(*out);
            *out = json_incref(x);
        }
    }
    json_decref(all);
    return 0;
}

/* The snapshot a backup reads (req->snapshot_id), in t: one the caller
 * sees, available, of req->volume_id. */
static int snapshot_source(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                           const struct volume_backup_create *req, json_t **out)
{
    json_t *snap;
    int rc = vol_load(t, v, K_SNAPSHOT, req->snapshot_id, who, false, &snap);
    if (rc < 0)
        return rc;
    if (strcmp(vol_str(snap, "volume_id"), req->volume_id))
        rc = vol_fail(-EINVAL, "Invalid input received: snapshot %s is not of volume %s.",
                      req->snapshot_id, req->volume_id);
    else if (strcmp(vol_str(snap, "status"), "available"))
        rc = vol_fail(-EBUSY, "Invalid snapshot: Snapshot status must be available (it is %s).",
                      vol_str(snap, "status"));
    if (rc < 0) {
        json_decref(snap);
        return rc;
    }
    *out = snap;
    return 0;
}

static int begin_record(struct store_txn *t, struct volumes *v, const struct volumes_caller *who,
                        const struct volume_backup_create *req, json_t **out)
{
    json_t *vol, *prev = NULL, *snap = NULL;
    bool busy;
    int rc = vol_load(t, v, K_VOLUME, req->volume_id, who, true, &vol);
    if (rc < 0)
        return rc;
    if (req->snapshot_id && (rc = snapshot_source(t, v, who, req, &snap)) < 0) {
        json_decref(vol);
        return rc;
    }
    const char *st = vol_str(vol, "status");
    if (snap && strcmp(st, "available") && strcmp(st, "in-use")) /* the snapshot is read */
        rc = vol_fail(-EBUSY,
                      "Invalid volume: The volume must be available or in-use to back up a "
                      "snapshot of it (it is %s).",
                      st);
    else if (!snap && strcmp(st, "available") && !(req->force && !strcmp(st, "in-use")))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: The volume must be available%s to be backed up "
                      "(it is %s).",
                      req->force ? " or in-use" : "", st);
    if (rc == 0)
        rc = latest_base(t, v, req->volume_id, &prev, &busy);
    if (rc == 0 && busy)
        rc = vol_fail(-EBUSY, "Invalid volume: a backup of it is in progress.");
    if (rc == 0 && req->incremental && !prev)
        rc = vol_fail(-EINVAL, "Invalid backup: No backups available to do an incremental "
                               "backup.");
    const char *p = vol_str(vol, "project_id");
    int64_t gb = snap ? vol_int(snap, "size") : vol_int(vol, "size");
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_BACKUPS, 1, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_BACKUP_GIGABYTES, gb, true);
    char id[STORE_ID_LEN + 1], obj[64];
    store_new_id(id);
    json_t *r = vol_new_record(id, who);
    vol_set_str(r, "project_id", p);
    vol_set_str(r, "name", req->name);
    vol_set_str(r, "description", req->description);
    vol_set_str(r, "volume_id", req->volume_id);
    vol_set_str(r, "snapshot_id", req->snapshot_id);
    json_object_set_new(r, "size", json_integer(gb));
    vol_set_str(r, "status", "creating");
    json_object_set_new(r, "is_incremental", json_boolean(req->incremental));
    json_object_set_new(r, "has_dependent_backups", json_false());
    vol_set_str(r, "parent_id", req->incremental ? vol_str(prev, "id") : NULL);
    json_object_set_new(r, "object_count", json_integer(0));
    json_object_set_new(r, "data_bytes", json_integer(0));
    vol_set_str(r, "availability_zone", VOLUMES_AZ);
    vol_set_str(r, "container", req->container ? req->container : id);
    vol_set_str(r, "fail_reason", NULL);
    vol_set_str(r, "volume_name", vol_str(vol, "name"));
    volumes_object_name(obj, "backup", id);
    vol_priv_set(r, "base", obj);
    if (req->incremental)
        vol_priv_set(r, "parent_base", vol_priv(prev, "base"));
    json_object_set_new(json_object_get(r, VOLUMES_PRIVATE_KEY), "volume_metadata",
                        json_deep_copy(json_object_get(vol, "metadata")));
    if (rc == 0)
        rc = vol_put(t, v, K_BACKUP, r);
    json_decref(vol);
    json_decref(prev);
    json_decref(snap);
    if (rc < 0) {
        json_decref(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Marks a backup error (its snapshot dropped, its partial folder gone). */
static int fail_backup(struct volumes *v, const char *id, const char *why)
{
    char obj[64], path[4200];
    volumes_object_name(obj, "backup", id);
    int rc = vol_bs_delete(v, obj);
    if (vol_backup_path(v->backup_dir, id, ".partial", path, sizeof path) == 0)
        vol_backup_remove(path);
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = vol_get(t, v, K_BACKUP, id, &rec);
    if (rc == 0) {
        vol_set_str(rec, "status", "error");
        vol_set_str(rec, "fail_reason", why);
        vol_priv_set(rec, "base", NULL);
        vol_priv_set(rec, "parent_base", NULL);
        vol_touch(rec);
        rc = vol_put(t, v, K_BACKUP, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}

int volume_backup_begin(struct volumes *v, const struct volumes_caller *who,
                        const struct volume_backup_create *req, json_t **out)
{
    int rc = need_dir(v);
    if (rc == 0 && !req->volume_id)
        rc = vol_fail(-EINVAL, "Invalid input received: volume_id is needed.");
    if (rc == 0 && ((req->name && strlen(req->name) > VOLUMES_NAME_MAX) ||
                    (req->description && strlen(req->description) > VOLUMES_NAME_MAX) ||
                    (req->container && strlen(req->container) > VOLUMES_NAME_MAX)))
        rc = vol_fail(-EINVAL, "Invalid input received: name, description or container too long.");
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    if ((rc = vol_end(t, begin_record(t, v, who, req, &rec))) < 0)
        return rc;
    char src[64];
    if (req->snapshot_id) { /* a clone holds the snapshot's layer during the copy */
        volumes_object_name(src, "snapshot", req->snapshot_id);
        rc = vol_bs_clone(v, src, vol_priv(rec, "base"));
    } else {
        volumes_object_name(src, "volume", req->volume_id);
        rc = vol_bs_snapshot(v, src, vol_priv(rec, "base"));
    }
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", volumes_error());
        fail_backup(v, vol_str(rec, "id"), why);
        json_decref(rec);
        return vol_fail(rc, "%s", why);
    }
    *out = rec;
    return 0;
}

struct copy {
    struct volumes *v;
    struct blockstore_disk *d;
    struct vol_bk_writer *w;
    uint64_t size;
    unsigned char *buf;
};

struct run_list {
    uint64_t (*r)[2];
    size_t n, cap;
};

static int add_run(void *ctx, uint64_t first, uint64_t count)
{
    struct run_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        void *x = realloc(l->r, cap * sizeof *l->r);
        if (!x)
            return -ENOMEM;
        l->r = x;
        l->cap = cap;
    }
    l->r[l->n][0] = first;
    l->r[l->n++][1] = count;
    return 0;
}

/* Copies one run of clusters, BATCH at a time. */
static int copy_run(struct copy *c, uint64_t first, uint64_t count)
{
    const uint64_t cs = EXTMAP_CLUSTER_SIZE;
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < BATCH ? count - done : BATCH;
        uint64_t off = (first + done) * cs, len = n * cs;
        if (off + len > c->size)
            len = c->size - off;
        int rc = extmap_read(blockstore_disk_map(c->d), c->buf, off, len);
        if (rc < 0)
            return vol_fail(rc, "cannot read the volume: %s", strerror(-rc));
        for (uint64_t k = 0; k < n && k * cs < len; k++) {
            uint64_t l = len - k * cs < cs ? len - k * cs : cs;
            if ((rc = vol_bk_add(c->w, first + done + k, c->buf + k * cs, (uint32_t)l)) < 0)
                return rc;
        }
        done += n;
    }
    return 0;
}

/* The copy itself: the runs that changed since the base, read through a
 * read-only handle of the backup's snapshot (no lock needed to read). */
static int copy_clusters(struct volumes *v, const json_t *rec, struct vol_bk_writer *w)
{
    const char *base = vol_priv(rec, "base"), *parent = vol_priv(rec, "parent_base");
    struct run_list runs = { 0 };
    struct copy c = { .v = v, .w = w };
    struct blockstore_info info;
    BS_LOCK(v);
    int rc = blockstore_info(v->bs, base, &info);
    if (rc == 0)
        rc = blockstore_changed(v->bs, parent, base, add_run, &runs);
    if (rc == 0)
        rc = blockstore_disk_open(v->bs, base, BLOCKSTORE_RDONLY, &c.d);
    if (rc < 0)
        vol_fail(rc, "block store: %s", blockstore_error());
    BS_UNLOCK(v);
    c.size = info.size;
    c.buf = rc == 0 ? aligned_alloc(EXTMAP_BLOCK, BATCH * EXTMAP_CLUSTER_SIZE) : NULL;
    if (rc == 0 && !c.buf)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < runs.n; i++)
        rc = copy_run(&c, runs.r[i][0], runs.r[i][1]);
    if (c.d) {
        BS_LOCK(v);
        blockstore_disk_close(c.d);
        BS_UNLOCK(v);
    }
    free(c.buf);
    free(runs.r);
    return rc;
}

/* available, with its figures; the parent gives up its base (dropped). */
static int complete(struct volumes *v, const char *id, const struct vol_bk_writer *w)
{
    struct store_txn *t;
    json_t *rec = NULL, *parent = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_get(t, v, K_BACKUP, id, &rec);
    const char *pid = rc == 0 ? vol_str(rec, "parent_id") : NULL;
    char old_base[64] = "";
    json_t *all = NULL;
    bool of_snapshot = rc == 0 && vol_str(rec, "snapshot_id");
    if (of_snapshot) { /* its clone goes; the volume's base stays */
        snprintf(old_base, sizeof old_base, "%s", vol_priv(rec, "base"));
        vol_priv_set(rec, "base", NULL);
    } else if (rc == 0) {
        rc = vol_all(t, v, K_BACKUP, &all);
    }
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) { /* every older base of this volume goes */
        if (rc < 0 || !strcmp(vol_str(x, "id"), id) ||
            strcmp(vol_str(x, "volume_id"), vol_str(rec, "volume_id")) || !vol_priv(x, "base"))
            continue;
        snprintf(old_base, sizeof old_base, "%s", vol_priv(x, "base"));
        vol_priv_set(x, "base", NULL);
        rc = vol_put(t, v, K_BACKUP, x);
    }
    json_decref(all);
    if (rc == 0 && pid && (rc = vol_get(t, v, K_BACKUP, pid, &parent)) == 0) {
        json_object_set_new(parent, "has_dependent_backups", json_true());
        rc = vol_put(t, v, K_BACKUP, parent);
    }
    if (rc == 0) {
        vol_set_str(rec, "status", "available");
        json_object_set_new(rec, "object_count", json_integer((json_int_t)w->records));
        json_object_set_new(rec, "data_bytes", json_integer((json_int_t)w->bytes));
        vol_priv_set(rec, "parent_base", NULL);
        vol_touch(rec);
        rc = vol_put(t, v, K_BACKUP, rec);
    }
    json_decref(rec);
    json_decref(parent);
    rc = vol_end(t, rc);
    if (rc == 0 && old_base[0])
        vol_bs_delete(v, old_base); /* else the reconciliation frees it */
    return rc;
}

int volume_backup_run(struct volumes *v, const char *backup_id)
{
    struct store_txn *t;
    json_t *rec = NULL;
    int rc = need_dir(v);
    if (rc == 0 && (rc = vol_begin(v, false, &t)) == 0) {
        rc = vol_get(t, v, K_BACKUP, backup_id, &rec);
        store_abort(t);
    }
    if (rc < 0)
        return rc;
    if (strcmp(vol_str(rec, "status"), "creating")) {
        json_decref(rec);
        return vol_fail(-EBUSY, "backup %s is not being created", backup_id);
    }
    struct vol_bk_writer w;
    rc = vol_bk_open(&w, v->backup_dir, backup_id);
    if (rc == 0)
        rc = copy_clusters(v, rec, &w);
    if (rc == 0) {
        json_t *m = json_object();
        json_object_set(m, "volume_id", json_object_get(rec, "volume_id"));
        json_object_set(m, "volume_name", json_object_get(rec, "volume_name"));
        json_object_set(m, "parent_id", json_object_get(rec, "parent_id"));
        json_object_set(m, "created_at", json_object_get(rec, "created_at"));
        json_t *meta =
            json_object_get(json_object_get(rec, VOLUMES_PRIVATE_KEY), "volume_metadata");
        json_object_set_new(m, "volume_metadata",
                            json_is_object(meta) ? json_incref(meta) : json_object());
        json_object_set_new(m, "size",
                            json_integer(vol_int(rec, "size") * (json_int_t)VOLUMES_GIB));
        rc = vol_bk_commit(&w, m);
        json_decref(m);
    }
    json_decref(rec);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", volumes_error());
        vol_bk_abort(&w);
        fail_backup(v, backup_id, why);
        return vol_fail(rc, "%s", why);
    }
    return complete(v, backup_id, &w);
}

int volume_backup_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                      json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_BACKUP, id, who, false, out);
    store_abort(t);
    return rc;
}

int volume_backup_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                       json_t **out)
{
    return vol_list_visible(v, K_BACKUP, who, all_projects, out);
}

/* Removes a backup's folder (unless another record names it too),
 * snapshot, record and usage. */
int vol_backup_drop(struct volumes *v, const char *id)
{
    char path[4200], obj[64], folder[80];
    volumes_object_name(obj, "backup", id);
    int rc = vol_bs_delete(v, obj);
    int shared = rc == 0 ? vol_backup_folder_shared(v, id, folder) : rc;
    if (shared < 0)
        rc = shared;
    if (rc == 0 && !shared && vol_backup_path(v->backup_dir, folder, NULL, path, sizeof path) == 0)
        rc = vol_backup_remove(path);
    if (rc == 0 && vol_backup_path(v->backup_dir, id, ".partial", path, sizeof path) == 0)
        rc = vol_backup_remove(path);
    struct store_txn *t;
    json_t *rec = NULL, *parent = NULL, *all = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc < 0 ? vol_fail(rc, "cannot remove backup %s: %s", id, strerror(-rc)) : rc;
    rc = vol_get(t, v, K_BACKUP, id, &rec);
    const char *p = rc == 0 ? vol_str(rec, "project_id") : NULL;
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_BACKUPS, -1, false);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_BACKUP_GIGABYTES, -vol_int(rec, "size"), false);
    const char *pid = rc == 0 ? vol_str(rec, "parent_id") : NULL;
    if (rc == 0)
        rc = vol_del(t, v, K_BACKUP, id);
    if (rc == 0 && pid && vol_get(t, v, K_BACKUP, pid, &parent) == 0 &&
        vol_all(t, v, K_BACKUP, &all) == 0) {
        bool more = false;
        size_t i;
        json_t *x;
        json_array_foreach (all, i, x)
            more |= vol_str(x, "parent_id") && !strcmp(vol_str(x, "parent_id"), pid);
        json_object_set_new(parent, "has_dependent_backups", json_boolean(more));
        rc = vol_put(t, v, K_BACKUP, parent);
    }
    json_decref(rec);
    json_decref(parent);
    json_decref(all);
    return vol_end(t, rc);
}

int volume_backup_delete(struct volumes *v, const struct volumes_caller *who, const char *id,
                         bool force)
{
    if (force && !who->is_admin)
        return vol_need_admin_on(v, who, K_BACKUP, id, "backup force delete");
    struct store_txn *t;
    json_t *rec;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    if ((rc = vol_load(t, v, K_BACKUP, id, who, true, &rec)) < 0) {
        store_abort(t);
        return rc;
    }
    const char *st = vol_str(rec, "status");
    if (json_is_true(json_object_get(rec, "has_dependent_backups")))
        rc = vol_fail(-EBUSY, "Invalid backup: Incremental backups exist for this backup.");
    else if (!force && strcmp(st, "available") && strcmp(st, "error"))
        rc = vol_fail(-EBUSY,
                      "Invalid backup: Backup status must be available or error (it "
                      "is %s).",
                      st);
    else if (force && (!strcmp(st, "creating") || !strcmp(st, "restoring")))
        rc = vol_fail(-EBUSY, "Invalid backup: it is being %s; retry when it is done.",
                      !strcmp(st, "creating") ? "made" : "restored");
    vol_set_str(rec, "status", "deleting");
    if (rc == 0)
        rc = vol_put(t, v, K_BACKUP, rec);
    json_decref(rec);
    if ((rc = vol_end(t, rc)) < 0)
        return rc;
    return vol_backup_drop(v, id);
}

int volume_backup_reset_status(struct volumes *v, const struct volumes_caller *who, const char *id,
                               const char *status)
{
    int rc = vol_need_admin_on(v, who, K_BACKUP, id,
                               "volume_extension:backup_admin_actions:reset_status");
    if (rc == 0 && (!status || (strcmp(status, "available") && strcmp(status, "error"))))
        rc = vol_fail(-EINVAL, "Invalid input received: status must be available or error.");
    struct store_txn *t;
    json_t *rec = NULL;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    rc = vol_get(t, v, K_BACKUP, id, &rec);
    const char *st = rc == 0 ? vol_str(rec, "status") : "";
    if (rc == 0 && (!strcmp(st, "creating") || !strcmp(st, "restoring") || !strcmp(st, "deleting")))
        rc = vol_fail(-EBUSY, "Invalid backup: it is %s; retry when that is done.", st);
    if (rc == 0) {
        vol_set_str(rec, "status", status);
        vol_touch(rec);
        rc = vol_put(t, v, K_BACKUP, rec);
    }
    json_decref(rec);
    return vol_end(t, rc);
}

/* ---- restore ---- */

static int set_status(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
                      const char *status, const char *peer)
{
    json_t *rec;
    int rc = vol_get(t, v, kind, id, &rec);
    if (rc < 0)
        return rc;
    vol_set_str(rec, "status", status);
    vol_priv_set(rec, "op", peer ? "restore" : NULL);
    vol_priv_set(rec, "restore_peer", peer);
    vol_touch(rec);
    rc = vol_put(t, v, kind, rec);
    json_decref(rec);
    return rc;
}

int vol_restore_start(struct volumes *v, const char *volume_id, const char *backup_id, json_t **out)
{
    struct store_txn *t;
    json_t *bk = NULL;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_get(t, v, K_BACKUP, backup_id, &bk);
    if (rc == 0 && strcmp(vol_str(bk, "status"), "available"))
        rc = vol_fail(-EBUSY, "Invalid backup: Backup status must be available (it is %s).",
                      vol_str(bk, "status"));
    json_decref(bk);
    if (rc == 0)
        rc = set_status(t, v, K_BACKUP, backup_id, "restoring", volume_id);
    json_t *rec = NULL;
    if (rc == 0 && (rc = vol_get(t, v, K_VOLUME, volume_id, &rec)) == 0) {
        vol_set_str(rec, "status", "restoring-backup");
        vol_priv_set(rec, "op", "restore");
        vol_priv_set(rec, "restore_peer", backup_id);
        vol_priv_set(rec, "restore_from", NULL);
        vol_priv_set(rec, "source", NULL);
        vol_touch(rec);
        rc = vol_put(t, v, K_VOLUME, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}

int volume_backup_restore_begin(struct volumes *v, const struct volumes_caller *who,
                                const char *backup_id, const char *volume_id, const char *name,
                                char volume_out[40])
{
    json_t *bk = NULL, *vol = NULL;
    int rc = need_dir(v);
    if (rc == 0)
        rc = volume_backup_get(v, who, backup_id, &bk);
    if (rc == 0 && !who->can_write && !who->is_admin)
        rc = vol_fail(-EPERM, "Policy doesn't allow backup:restore to be performed.");
    if (rc == 0 && strcmp(vol_str(bk, "status"), "available"))
        rc = vol_fail(-EBUSY, "Invalid backup: Backup status must be available (it is %s).",
                      vol_str(bk, "status"));
    if (rc == 0 && !volume_id) { /* a new volume of the backup's size */
        char vname[VOLUMES_NAME_MAX + 1];
        snprintf(vname, sizeof vname, "restore_backup_%s", backup_id);
        struct volume_create req = { .name = name ? name : vname,
                                     .size_gb = (uint64_t)vol_int(bk, "size") };
        rc = volume_create(v, who, &req, &vol);
    } else if (rc == 0) {
        rc = volume_get(v, who, volume_id, &vol);
    }
    if (rc < 0) {
        json_decref(bk);
        return rc;
    }
    snprintf(volume_out, 40, "%s", vol_str(vol, "id"));
    struct store_txn *t;
    json_t *cur = NULL;
    rc = vol_begin(v, true, &t);
    if (rc == 0)
        rc = vol_load(t, v, K_VOLUME, volume_out, who, true, &cur);
    if (rc == 0 && strcmp(vol_str(cur, "status"), "available"))
        rc = vol_fail(-EBUSY,
                      "Invalid volume: Volume to be restored to must be available (it "
                      "is %s).",
                      vol_str(cur, "status"));
    if (rc == 0 && vol_int(cur, "size") < vol_int(bk, "size"))
        rc = vol_fail(-EINVAL,
                      "Invalid volume: volume size %lldGB cannot be smaller than the "
                      "backup size %lldGB.",
                      (long long)vol_int(cur, "size"), (long long)vol_int(bk, "size"));
    if (rc == 0)
        rc = set_status(t, v, K_VOLUME, volume_out, "restoring-backup", backup_id);
    if (rc == 0)
        rc = set_status(t, v, K_BACKUP, backup_id, "restoring", volume_out);
    if (t)
        rc = vol_end(t, rc);
    json_decref(cur);
    json_decref(bk);
    json_decref(vol);
    return rc;
}

/* Merges the backed-up volume metadata (string values) into the
 * restored volume's, in t. */
static int restore_metadata(struct store_txn *t, struct volumes *v, const char *volume_id,
                            const json_t *meta)
{
    if (!json_is_object(meta) || !json_object_size(meta) || vol_check_meta(meta) < 0)
        return 0;
    json_t *vol;
    int rc = vol_get(t, v, K_VOLUME, volume_id, &vol);
    if (rc < 0)
        return rc;
    json_t *cur = json_object_get(vol, "metadata");
    if (!json_is_object(cur))
        json_object_set_new(vol, "metadata", cur = json_object());
    json_object_update(cur, (json_t *)meta);
    rc = vol_put(t, v, K_VOLUME, vol);
    json_decref(vol);
    return rc;
}

int volume_backup_restore_run(struct volumes *v, const char *backup_id, const char *volume_id)
{
    char obj[64], why[512] = "", folder[80];
    volumes_object_name(obj, "volume", volume_id);
    int rc = vol_backup_folder(v, backup_id, folder);
    if (rc == 0)
        rc = volumes_backup_restore_into(v->bs, &v->lk, v->backup_dir, folder, obj);
    if (rc < 0)
        snprintf(why, sizeof why, "%s", volumes_error());
    json_t *m = NULL; /* the volume's metadata at backup time comes back too */
    if (rc == 0 && volumes_backup_manifest(v->backup_dir, folder, &m) < 0)
        m = NULL;
    struct store_txn *t;
    int e = vol_begin(v, true, &t);
    if (e == 0) {
        e = restore_metadata(t, v, volume_id, json_object_get(m, "volume_metadata"));
        if (e == 0)
            e = set_status(t, v, K_VOLUME, volume_id, rc < 0 ? "error_restoring" : "available",
                           NULL);
        if (e == 0)
            e = set_status(t, v, K_BACKUP, backup_id, "available", NULL);
        e = vol_end(t, e);
    }
    json_decref(m);
    if (rc < 0)
        return vol_fail(rc, "%s", why);
    return e;
}

/* ---- after a crash ---- */

int vol_backup_reconcile(struct volumes *v, FILE *report)
{
    struct store_txn *t;
    json_t *all;
    int rc = vol_begin(v, false, &t), fixes = 0;
    if (rc < 0)
        return rc;
    rc = vol_all(t, v, K_BACKUP, &all);
    store_abort(t);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x) {
        const char *id = vol_str(x, "id"), *st = vol_str(x, "status");
        if (!strcmp(st, "creating")) {
            rc = fail_backup(v, id, "interrupted (picostackd stopped during the copy)");
            if (report)
                fprintf(report, "backup %s: was being made: marked error\n", id);
        } else if (!strcmp(st, "deleting")) {
            rc = vol_backup_drop(v, id);
            if (report)
                fprintf(report, "backup %s: was being deleted: deleted\n", id);
        } else if (!strcmp(st, "restoring")) {
            rc = vol_begin(v, true, &t);
            if (rc == 0)
                rc = vol_end(t, set_status(t, v, K_BACKUP, id, "available", NULL));
            if (report)
                fprintf(report, "backup %s: was being restored: available again\n", id);
        } else {
            continue;
        }
        if (rc < 0)
            break;
        fixes++;
    }
    json_decref(all);
    return rc < 0 ? rc : fixes;
}

int volume_backup_update(struct volumes *v, const struct volumes_caller *who, const char *id,
                         const json_t *changes, json_t **out)
{
    json_t *name = json_object_get(changes, "name"),
           *desc = json_object_get(changes, "description");
    int rc = vol_check_text(name, "name", VOLUMES_NAME_MAX);
    if (rc == 0)
        rc = vol_check_text(desc, "description", VOLUMES_NAME_MAX);
    struct store_txn *t;
    if (rc < 0 || (rc = vol_begin(v, true, &t)) < 0)
        return rc;
    json_t *rec = NULL;
    rc = vol_load(t, v, K_BACKUP, id, who, true, &rec);
    if (rc == 0) {
        if (name)
            json_object_set(rec, "name", name);
        if (desc)
            json_object_set(rec, "description", desc);
        vol_touch(rec);
        rc = vol_put(t, v, K_BACKUP, rec);
    }
    rc = vol_end(t, rc);
    if (rc == 0 && out)
        *out = json_incref(rec);
    json_decref(rec);
    return rc;
}
