/* core/volumes: export and import of backup records (volumes.h). The
 * exported record is the manifest the backup folder already holds (so a
 * backup directory plus its exported records is a whole backup service),
 * with the record's display fields and the folder that holds the data.
 * An import writes one record in one transaction; the data are not
 * copied: several records may name one folder, which goes with the last. */
#include "core/volumes/vol_backup.h"

#include <string.h>

/* A folder or backup id as a path component: letters, digits, '-', '_'. */
static bool plain_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static const char *folder_of(const json_t *rec)
{
    const char *f = vol_priv(rec, "folder");
    return f ? f : vol_str(rec, "id");
}

int vol_backup_folder(struct volumes *v, const char *id, char folder[80])
{
    struct store_txn *t;
    json_t *rec;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_get(t, v, K_BACKUP, id, &rec);
    store_abort(t);
    if (rc < 0)
        return rc;
    snprintf(folder, 80, "%s", folder_of(rec));
    json_decref(rec);
    return 0;
}

int vol_backup_folder_shared(struct volumes *v, const char *id, char folder[80])
{
    struct store_txn *t;
    json_t *all;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_all(t, v, K_BACKUP, &all);
    store_abort(t);
    if (rc < 0)
        return rc;
    snprintf(folder, 80, "%s", id);
    size_t i;
    json_t *x;
    json_array_foreach (all, i, x)
        if (!strcmp(vol_str(x, "id"), id))
            snprintf(folder, 80, "%s", folder_of(x));
    int shared = 0;
    json_array_foreach (all, i, x)
        shared |= strcmp(vol_str(x, "id"), id) && !strcmp(folder_of(x), folder);
    json_decref(all);
    return shared;
}

int volume_backup_export(struct volumes *v, const struct volumes_caller *who, const char *id,
                         json_t **record)
{
    int rc = vol_need_admin_on(v, who, K_BACKUP, id, "backup:export-import");
    json_t *rec = NULL, *m = NULL;
    if (rc == 0 && !v->backup_dir[0])
        rc = vol_fail(-ENOTSUP, "No backup directory is configured.");
    if (rc == 0)
        rc = volume_backup_get(v, who, id, &rec);
    if (rc == 0 && strcmp(vol_str(rec, "status"), "available"))
        rc = vol_fail(-EBUSY, "Invalid backup: Backup status must be available (it is %s).",
                      vol_str(rec, "status"));
    if (rc == 0)
        rc = volumes_backup_manifest(v->backup_dir, folder_of(rec), &m);
    if (rc == 0) {
        json_object_set(m, "id", json_object_get(rec, "id"));
        vol_set_str(m, "folder", folder_of(rec));
        static const char *const keys[] = { "name", "description", "container" };
        for (size_t i = 0; i < 3; i++)
            json_object_set(m, keys[i], json_object_get(rec, keys[i]));
        *record = m;
    }
    json_decref(rec);
    return rc;
}

/* The import's fields, checked: id, folder, the folder's manifest. */
static int check_record(struct volumes *v, const json_t *record, const char **id,
                        const char **folder, json_t **manifest)
{
    const char *fmt = vol_str(record, "format");
    *id = vol_str(record, "id");
    *folder = vol_str(record, "folder") ? vol_str(record, "folder") : *id;
    if (!json_is_object(record) || !fmt || strcmp(fmt, VOLUMES_BACKUP_FORMAT))
        return vol_fail(-EINVAL, "Invalid input received: not a %s backup record.",
                        VOLUMES_BACKUP_FORMAT);
    if (!plain_name(*id) || !plain_name(*folder))
        return vol_fail(-EINVAL, "Invalid input received: bad backup id or folder.");
    static const char *const text[] = { "name", "description", "container" };
    for (size_t i = 0; i < 3; i++) {
        int rc = vol_check_text(json_object_get(record, text[i]), text[i], VOLUMES_NAME_MAX);
        if (rc < 0)
            return rc;
    }
    int rc = volumes_backup_manifest(v->backup_dir, *folder, manifest);
    if (rc < 0)
        return vol_fail(-EINVAL,
                        "Invalid backup: the backup directory has no complete backup "
                        "%s (%s).",
                        *folder, volumes_error());
    int problems = volumes_backup_check(v->backup_dir, *folder, NULL);
    if (problems != 0) {
        json_decref(*manifest);
        return vol_fail(-EINVAL,
                        "Invalid backup: backup %s's chain does not verify (%d "
                        "problems).",
                        *folder, problems < 0 ? 1 : problems);
    }
    return 0;
}

/* The new record from the manifest m and the exported fields. */
static json_t *imported(const struct volumes_caller *who, const json_t *record, const char *id,
                        const char *folder, const json_t *m)
{
    json_t *r = vol_new_record(id, who);
    static const char *const text[] = { "name", "description" };
    for (size_t i = 0; i < 2; i++)
        vol_set_str(r, text[i], vol_str(record, text[i]));
    vol_set_str(r, "container", vol_str(record, "container") ?: folder);
    vol_set_str(r, "volume_id", vol_str(m, "volume_id"));
    vol_set_str(r, "snapshot_id", NULL);
    uint64_t bytes = (uint64_t)json_integer_value(json_object_get(m, "size"));
    json_object_set_new(r, "size", json_integer((json_int_t)((bytes + VOLUMES_GIB - 1) >> 30)));
    vol_set_str(r, "status", "available");
    const char *parent = vol_str(m, "parent_id");
    json_object_set_new(r, "is_incremental", json_boolean(parent != NULL));
    json_object_set_new(r, "has_dependent_backups", json_false());
    vol_set_str(r, "parent_id", parent);
    json_object_set(r, "object_count", json_object_get(m, "clusters"));
    json_object_set(r, "data_bytes", json_object_get(m, "data_bytes"));
    vol_set_str(r, "availability_zone", VOLUMES_AZ);
    vol_set_str(r, "fail_reason", NULL);
    vol_set_str(r, "volume_name", vol_str(m, "volume_name"));
    if (strcmp(folder, id))
        vol_priv_set(r, "folder", folder);
    return r;
}

/* Writes the imported record r (its usage taken; a parent record it
 * names learns of its dependant), in t. */
static int write_import(struct store_txn *t, struct volumes *v, json_t *r)
{
    json_t *old = NULL, *parent = NULL;
    const char *id = vol_str(r, "id"), *p = vol_str(r, "project_id");
    if (vol_get(t, v, K_BACKUP, id, &old) == 0) {
        json_decref(old);
        return vol_fail(-EBUSY, "Invalid backup: Backup %s already exists in database.", id);
    }
    int rc = vol_usage_add(t, v, p, VOLQ_BACKUPS, 1, true);
    if (rc == 0)
        rc = vol_usage_add(t, v, p, VOLQ_BACKUP_GIGABYTES, vol_int(r, "size"), true);
    const char *pid = vol_str(r, "parent_id");
    if (rc == 0 && pid && vol_get(t, v, K_BACKUP, pid, &parent) == 0) {
        json_object_set_new(parent, "has_dependent_backups", json_true());
        rc = vol_put(t, v, K_BACKUP, parent);
        json_decref(parent);
    }
    return rc == 0 ? vol_put(t, v, K_BACKUP, r) : rc;
}

int volume_backup_import(struct volumes *v, const struct volumes_caller *who, const json_t *record,
                         json_t **out)
{
    int rc = vol_need_admin(who, "backup:backup-import");
    if (rc == 0 && !v->backup_dir[0])
        rc = vol_fail(-ENOTSUP, "No backup directory is configured.");
    if (rc == 0 && !who->project_id)
        rc = vol_fail(-EPERM, "A project-scoped token is needed.");
    const char *id, *folder;
    json_t *m = NULL;
    if (rc < 0 || (rc = check_record(v, record, &id, &folder, &m)) < 0)
        return rc;
    json_t *r = imported(who, record, id, folder, m);
    json_decref(m);
    struct store_txn *t;
    if ((rc = vol_begin(v, true, &t)) == 0)
        rc = vol_end(t, write_import(t, v, r));
    if (rc == 0 && out)
        *out = json_incref(r);
    json_decref(r);
    return rc;
}
