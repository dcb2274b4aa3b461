/* Backups: create (--incremental, --force) answers 202 at once with the
 * record in status creating, and the copy runs on a thread of its own
 * (vol_spawn); list, show, delete, restore (to a new or an existing
 * volume, also on a thread), and the admin actions. */
#include "api/volume/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *vol_backup_view(struct api_req *r, const json_t *rec)
{
    json_t *v = volumes_view(rec);
    json_object_set_new(v, "links",
                        vol_links(r, "backups", json_string_value(json_object_get(rec, "id"))));
    json_object_set(v, "os-backup-project-attr:project_id", json_object_get(rec, "project_id"));
    json_object_set(v, "data_timestamp", json_object_get(rec, "created_at"));
    json_object_set_new(v, "metadata", json_object());
    json_object_del(v, "project_id");
    json_object_del(v, "volume_name");
    json_object_del(v, "parent_id");  /* not in Cinder's view */
    json_object_del(v, "data_bytes"); /* ours: the manifest has it */
    return v;
}

struct job {
    char backup[40], volume[40];
};

static void run_backup(struct vol_state *st, void *ctx)
{
    struct job *j = ctx;
    if (volume_backup_run(st->v, j->backup) < 0)
        fprintf(stderr, "picostackd: backup %s: %s\n", j->backup, volumes_error());
    free(j);
}

static void run_restore(struct vol_state *st, void *ctx)
{
    struct job *j = ctx;
    if (volume_backup_restore_run(st->v, j->backup, j->volume) < 0)
        fprintf(stderr, "picostackd: restore of backup %s: %s\n", j->backup, volumes_error());
    free(j);
}

int vol_spawn_restore(struct vol_state *st, const char *backup_id, const char *volume_id)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    snprintf(j->backup, sizeof j->backup, "%s", backup_id);
    snprintf(j->volume, sizeof j->volume, "%s", volume_id);
    int rc = vol_spawn(st, run_restore, j);
    if (rc < 0)
        free(j);
    return rc;
}

void vol_backup_create(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "backup", &whole);
    if (!b)
        return;
    json_t *inc = json_object_get(b, "incremental"), *force = json_object_get(b, "force");
    int i = inc && !json_is_null(inc) ? vol_bool(inc) : 0,
        f = force && !json_is_null(force) ? vol_bool(force) : 0;
    json_t *name = json_object_get(b, "name"), *desc = json_object_get(b, "description");
    if (!json_is_string(json_object_get(b, "volume_id")) || i < 0 || f < 0 ||
        (name && !json_is_null(name) && !json_is_string(name)) ||
        (desc && !json_is_null(desc) && !json_is_string(desc))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: volume_id (a string), "
                               "incremental and force (booleans), name, description.");
    }
    json_t *snap = json_object_get(b, "snapshot_id"), *cont = json_object_get(b, "container");
    if ((snap && !json_is_null(snap) && !json_is_string(snap)) ||
        (cont && !json_is_null(cont) && !json_is_string(cont))) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: snapshot_id and container are strings.");
    }
    struct volume_backup_create req = { .volume_id =
                                            json_string_value(json_object_get(b, "volume_id")),
                                        .name = json_string_value(name),
                                        .description = json_string_value(desc),
                                        .incremental = i == 1,
                                        .force = f == 1,
                                        .snapshot_id = json_string_value(snap),
                                        .container = json_string_value(cont) };
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_backup_begin(st->v, &who, &req, &rec);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    struct job *j = calloc(1, sizeof *j);
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (j)
        snprintf(j->backup, sizeof j->backup, "%s", id);
    if (!j || (rc = vol_spawn(st, run_backup, j)) < 0) {
        free(j);
        json_decref(rec);
        return api_reply_error(r, 500, "Cannot start the backup copy.");
    }
    api_reply_json(r, 202,
                   json_pack("{s:{s:s, s:O, s:o}}", "backup", "id", id, "name",
                             json_object_get(rec, "name"), "links", vol_links(r, "backups", id)));
    json_decref(rec);
}

static const char *const backup_filters[] = { "volume_id", NULL };
static const struct vol_listing backups_listing = { "backups", volume_backup_list, vol_backup_view,
                                                    backup_filters };

void vol_backup_list(struct api_req *r)
{
    vol_list(r, &backups_listing, true);
}
void vol_backup_list_detail(struct api_req *r)
{
    vol_list(r, &backups_listing, false);
}

void vol_backup_show(struct api_req *r)
{
    vol_show(r, "backup", volume_backup_get, vol_backup_view);
}

void vol_backup_delete(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc = volume_backup_delete(st->v, &who, api_req_param(r, 0), false);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

void vol_backup_restore(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "restore", &whole);
    if (!b)
        return;
    json_t *vid = json_object_get(b, "volume_id"), *name = json_object_get(b, "name");
    if ((vid && !json_is_null(vid) && !json_is_string(vid)) ||
        (name && !json_is_null(name) && !json_is_string(name))) {
        json_decref(whole);
        return api_reply_error(r, 400, "Invalid input received: volume_id and name are strings.");
    }
    struct volumes_caller who = vol_caller(r);
    char vol[40];
    const char *bid = api_req_param(r, 0);
    int rc = volume_backup_restore_begin(st->v, &who, bid, json_string_value(vid),
                                         json_string_value(name), vol);
    json_decref(whole);
    if (rc < 0)
        return vol_reply_err(r, rc);
    if (vol_spawn_restore(st, bid, vol) < 0)
        return api_reply_error(r, 500, "Cannot start the restore.");
    json_t *v = NULL;
    volume_get(st->v, &who, vol, &v);
    api_reply_json(r, 202,
                   json_pack("{s:{s:s, s:s, s:O}}", "restore", "backup_id", bid, "volume_id", vol,
                             "volume_name", v ? json_object_get(v, "name") : json_null()));
    json_decref(v);
}

void vol_backup_action(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *b = api_req_json(r);
    if (!b)
        return;
    struct volumes_caller who = vol_caller(r);
    int rc;
    json_t *reset = json_object_get(b, "os-reset_status");
    if (json_object_get(b, "os-force_delete"))
        rc = volume_backup_delete(st->v, &who, api_req_param(r, 0), true);
    else if (json_is_object(reset))
        rc = volume_backup_reset_status(st->v, &who, api_req_param(r, 0),
                                        json_string_value(json_object_get(reset, "status")));
    else {
        json_decref(b);
        return api_reply_error(r, 400, "Invalid input received: unknown or missing action.");
    }
    json_decref(b);
    if (rc < 0)
        return vol_reply_err(r, rc);
    api_reply_empty(r, 202);
}

/* PUT /backups/{id} (3.9+): name and description; Cinder answers id,
 * name and links. */
static json_t *updated_view(struct api_req *r, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    return json_pack("{s:O, s:O, s:o}", "id", json_object_get(rec, "id"), "name",
                     json_object_get(rec, "name"), "links", vol_links(r, "backups", id));
}

void vol_backup_update(struct api_req *r)
{
    if (vol_req_micro(r) < 9)
        return api_reply_error(r, 404, "Updating a backup needs microversion 3.9 or later.");
    vol_rename(r, "backup", volume_backup_update, updated_view);
}
