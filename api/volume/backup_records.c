/* Backup records (admins): GET /backups/{id}/export_record answers the
 * record core/volumes exports (the backup's manifest and display fields),
 * as JSON in base64 under Cinder's backup_url; POST /backups/import_record
 * takes such a record back (into this store or a fresh one over the same
 * backup directory). */
#include "api/volume/internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Cinder checks that the service named is one it runs. */
#define BACKUP_SERVICE "cinder.backup.drivers.picostack.PicostackBackupDriver"
#define BACKUP_URL_MAX (64u << 10)

void vol_backup_export(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    struct volumes_caller who = vol_caller(r);
    json_t *rec;
    int rc = volume_backup_export(st->v, &who, api_req_param(r, 0), &rec);
    if (rc < 0)
        return vol_reply_err(r, rc);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    size_t n = text ? strlen(text) : 0;
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = text ? malloc(cap) : NULL;
    if (!b64) {
        free(text);
        return api_reply_error(r, 500, "Out of memory.");
    }
    sodium_bin2base64(b64, cap, (const unsigned char *)text, n, sodium_base64_VARIANT_ORIGINAL);
    free(text);
    api_reply_json(r, 200,
                   json_pack("{s:{s:s, s:s}}", "backup-record", "backup_service", BACKUP_SERVICE,
                             "backup_url", b64));
    free(b64);
}

/* The record in a backup_url (a new reference), or NULL. */
static json_t *decode_url(const char *url)
{
    size_t n = strlen(url), len = 0;
    if (n > BACKUP_URL_MAX)
        return NULL;
    unsigned char *bin = malloc(n + 1);
    if (!bin)
        return NULL;
    json_t *rec = NULL;
    if (sodium_base642bin(bin, n, url, n, "\n\r ", &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0)
        rec = json_loadb((const char *)bin, len, 0, NULL);
    free(bin);
    if (rec && !json_is_object(rec)) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

void vol_backup_import(struct api_req *r)
{
    struct vol_state *st = api_req_state(r);
    if (vol_micro(r) < 0)
        return;
    json_t *whole, *b = vol_body(r, "backup-record", &whole);
    if (!b)
        return;
    const char *svc = json_string_value(json_object_get(b, "backup_service")),
               *url = json_string_value(json_object_get(b, "backup_url"));
    if (!svc || !url) {
        json_decref(whole);
        return api_reply_error(r, 400,
                               "Invalid input received: backup_service and backup_url "
                               "(strings) are required.");
    }
    if (strcmp(svc, BACKUP_SERVICE)) {
        api_reply_error(r, 400,
                        "Invalid input received: backup service %.100s is not available here "
                        "(%s is).",
                        svc, BACKUP_SERVICE);
        json_decref(whole);
        return;
    }
    json_t *rec = decode_url(url);
    json_decref(whole);
    if (!rec)
        return api_reply_error(r, 400,
                               "Invalid input received: backup_url is not a base64 "
                               "backup record.");
    struct volumes_caller who = vol_caller(r);
    json_t *out;
    int rc = volume_backup_import(st->v, &who, rec, &out);
    json_decref(rec);
    if (rc < 0)
        return vol_reply_err(r, rc);
    const char *id = json_string_value(json_object_get(out, "id"));
    api_reply_json(r, 201,
                   json_pack("{s:{s:s, s:O, s:o}}", "backup", "id", id, "name",
                             json_object_get(out, "name"), "links", vol_links(r, "backups", id)));
    json_decref(out);
}
