/* core/volumes: user messages (Cinder 3.3+): what went wrong with a
 * request after it was accepted, kept per project for the user to read
 * (and delete) until guaranteed_until, 30 days. Today one event makes
 * them: a volume whose type asks for capabilities the backend lacks
 * ("no valid backend"), which is created in error. */
#include "core/volumes/vol_internal.h"

#include <string.h>
#include <time.h>

#define KEEP_S (30 * 24 * 3600)

int vol_message_add(struct store_txn *t, struct volumes *v, const char *project,
                    const char *request_id, const char *event_id, const char *resource_type,
                    const char *resource_uuid, const char *text)
{
    char id[STORE_ID_LEN + 1], now[32], until[32];
    store_new_id(id);
    volumes_timestamp(now);
    time_t later = time(NULL) + KEEP_S;
    struct tm tm;
    gmtime_r(&later, &tm);
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%S.000000", &tm);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id,
                          "project_id", project ? project : "", "request_id",
                          request_id ? request_id : "", "message_level", "ERROR", "event_id",
                          event_id, "resource_type", resource_type, "resource_uuid", resource_uuid,
                          "user_message", text, "created_at", now, "guaranteed_until", until);
    int rc = vol_put(t, v, K_MESSAGE, m);
    json_decref(m);
    return rc;
}

int volume_message_get(struct volumes *v, const struct volumes_caller *who, const char *id,
                       json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_MESSAGE, id, who, false, out);
    store_abort(t);
    return rc;
}

int volume_message_list(struct volumes *v, const struct volumes_caller *who, bool all_projects,
                        json_t **out)
{
    return vol_list_visible(v, K_MESSAGE, who, all_projects, out);
}

int volume_message_delete(struct volumes *v, const struct volumes_caller *who, const char *id)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, K_MESSAGE, id, who, true, NULL);
    if (rc == 0)
        rc = vol_del(t, v, K_MESSAGE, id);
    return vol_end(t, rc);
}

/* Cinder's capabilities filter, for the capabilities picostack's one
 * backend reports: an unscoped or "capabilities:" key among them must
 * match; operators ("<is> True", "<in> ...") and other keys are left to
 * the features that read them. */
int vol_backend_fits(const json_t *type, char why[256])
{
    static const char *const caps[][2] = { { "volume_backend_name", VOLUMES_BACKEND_NAME },
                                           { "vendor_name", VOLUMES_VENDOR },
                                           { "storage_protocol", VOLUMES_PROTOCOL } };
    const char *k;
    json_t *x;
    json_object_foreach (json_object_get(type, "extra_specs"), k, x) {
        const char *key = strncmp(k, "capabilities:", 13) ? k : k + 13;
        const char *want = json_string_value(x);
        if (!want || want[0] == '<')
            continue;
        for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
            if (!strcmp(key, caps[i][0]) && strcmp(want, caps[i][1])) {
                snprintf(why, 256, "%s is %s here, the type asks for %s", caps[i][0], caps[i][1],
                         want);
                return 0;
            }
    }
    return 1;
}
