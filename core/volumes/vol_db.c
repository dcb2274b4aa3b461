/* core/volumes: the store side (one table "volumes", keys "KIND/ID"),
 * errors, access checks and record helpers. */
#include "core/volumes/vol_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static __thread char err_msg[512];

int vol_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return err;
}

const char *volumes_error(void)
{
    return err_msg;
}

void volumes_timestamp(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%06u", base, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

int vol_begin(struct volumes *v, bool write, struct store_txn **t)
{
    int rc = store_begin(v->store, write, t);
    return rc < 0 ? vol_fail(rc, "cannot open a store transaction: %s", strerror(-rc)) : 0;
}

int vol_end(struct store_txn *t, int rc)
{
    if (rc < 0) {
        store_abort(t);
        return rc;
    }
    int c = store_commit(t);
    return c < 0 ? vol_fail(c, "cannot commit: %s", strerror(-c)) : rc;
}

static int key_of(char key[STORE_MAX_KEY], const char *kind, const char *id)
{
    if (!id || !*id || strlen(kind) + strlen(id) + 2 > STORE_MAX_KEY)
        return -ENOENT;
    size_t k = strlen(kind);
    memcpy(key, kind, k);
    key[k] = '/';
    memcpy(key + k + 1, id, strlen(id) + 1);
    return 0;
}

int vol_get(struct store_txn *t, struct volumes *v, const char *kind, const char *id, json_t **out)
{
    char key[STORE_MAX_KEY];
    int rc = key_of(key, kind, id);
    if (rc == 0)
        rc = store_get(t, v->table, key, out);
    if (rc == -ENOENT)
        return vol_fail(-ENOENT, "%s %s could not be found.", kind, id ? id : "(none)");
    return rc;
}

int vol_put_key(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
                const json_t *rec)
{
    char key[STORE_MAX_KEY];
    int rc = key_of(key, kind, id);
    if (rc == 0)
        rc = store_put(t, v->table, key, rec);
    return rc < 0 ? vol_fail(rc, "cannot store %s %s: %s", kind, id, strerror(-rc)) : 0;
}

int vol_put(struct store_txn *t, struct volumes *v, const char *kind, const json_t *rec)
{
    return vol_put_key(t, v, kind, vol_str(rec, "id"), rec);
}

int vol_del(struct store_txn *t, struct volumes *v, const char *kind, const char *id)
{
    char key[STORE_MAX_KEY];
    int rc = key_of(key, kind, id);
    if (rc == 0)
        rc = store_del(t, v->table, key);
    return rc;
}

static int collect(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
    (void)key, (void)klen;
    json_t *rec = store_decode(val, vlen);
    if (!rec)
        return -EIO;
    return json_array_append_new(ctx, rec) ? -ENOMEM : 0;
}

static int by_created(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *cx = vol_str(x, "created_at"), *cy = vol_str(y, "created_at");
    int c = strcmp(cx ? cx : "", cy ? cy : "");
    if (c)
        return c;
    const char *ix = vol_str(x, "id"), *iy = vol_str(y, "id");
    return strcmp(ix ? ix : "", iy ? iy : "");
}

int vol_all(struct store_txn *t, struct volumes *v, const char *kind, json_t **out)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "%s/", kind);
    json_t *all = json_array();
    if (!all)
        return -ENOMEM;
    int rc = store_scan(t, v->table, prefix, (size_t)plen, collect, all);
    if (rc < 0) {
        json_decref(all);
        return vol_fail(rc, "cannot list %ss: %s", kind, strerror(-rc));
    }
    size_t n = json_array_size(all);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        json_decref(all);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(all, i));
    qsort(items, n, sizeof *items, by_created);
    json_array_clear(all);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(all, items[i]);
    free(items);
    *out = all;
    return 0;
}

int vol_all_read(struct volumes *v, const char *kind, json_t **out)
{
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_all(t, v, kind, out);
    store_abort(t);
    return rc;
}

int vol_list_seen(struct volumes *v, const char *kind, const struct volumes_caller *who,
                  bool (*seen)(const json_t *rec, const struct volumes_caller *who), json_t **out)
{
    json_t *all, *x;
    int rc = vol_all_read(v, kind, &all);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_array_foreach (all, i, x)
        if (seen(x, who))
            json_array_append(*out, x);
    json_decref(all);
    return 0;
}

const char *vol_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

int64_t vol_int(const json_t *rec, const char *key)
{
    return json_integer_value(json_object_get(rec, key));
}

void vol_set_str(json_t *rec, const char *key, const char *val)
{
    json_object_set_new(rec, key, val ? json_string(val) : json_null());
}

void vol_touch(json_t *rec)
{
    char now[32];
    volumes_timestamp(now);
    vol_set_str(rec, "updated_at", now);
}

const char *vol_priv(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(rec, VOLUMES_PRIVATE_KEY), key));
}

void vol_priv_set(json_t *rec, const char *key, const char *val)
{
    json_t *p = json_object_get(rec, VOLUMES_PRIVATE_KEY);
    if (!p) {
        p = json_object();
        json_object_set_new(rec, VOLUMES_PRIVATE_KEY, p);
    }
    if (val)
        json_object_set_new(p, key, json_string(val));
    else
        json_object_del(p, key);
}

json_t *volumes_view(const json_t *rec)
{
    json_t *v = json_deep_copy(rec);
    if (v)
        json_object_del(v, VOLUMES_PRIVATE_KEY);
    return v;
}

json_t *vol_new_record(const char *id, const struct volumes_caller *who)
{
    char now[32];
    volumes_timestamp(now);
    json_t *r = json_object();
    vol_set_str(r, "id", id);
    vol_set_str(r, "created_at", now);
    vol_set_str(r, "updated_at", now);
    vol_set_str(r, "project_id", who->project_id);
    vol_set_str(r, "user_id", who->user_id);
    return r;
}

int vol_check_text(const json_t *val, const char *what, size_t max)
{
    if (!val || json_is_null(val))
        return 0;
    if (!json_is_string(val))
        return vol_fail(-EINVAL, "%s must be a string.", what);
    if (json_string_length(val) > max)
        return vol_fail(-EINVAL, "%s is longer than %zu characters.", what, max);
    return 0;
}

int vol_check_meta(const json_t *meta)
{
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return vol_fail(-EINVAL, "metadata must be an object.");
    const char *k;
    json_t *val;
    json_object_foreach ((json_t *)meta, k, val) {
        if (!*k || strlen(k) > 255)
            return vol_fail(-EINVAL, "metadata keys are 1 to 255 characters.");
        if (!json_is_string(val) || json_string_length(val) > 255)
            return vol_fail(-EINVAL, "metadata value of '%s' must be a string of at most 255.", k);
    }
    return 0;
}

int vol_can_see(const json_t *rec, const struct volumes_caller *who)
{
    if (who->is_admin)
        return 0;
    const char *owner = vol_str(rec, "project_id");
    if (!who->project_id || !owner || strcmp(owner, who->project_id))
        return vol_fail(-ENOENT, "%s could not be found.", vol_str(rec, "id"));
    return 0;
}

int vol_can_write(const json_t *rec, const struct volumes_caller *who)
{
    int rc = vol_can_see(rec, who);
    if (rc == 0 && !who->can_write && !who->is_admin)
        return vol_fail(-EPERM, "Policy doesn't allow this change (read-only role).");
    return rc;
}

int vol_need_admin(const struct volumes_caller *who, const char *what)
{
    return who->is_admin ? 0 : vol_fail(-EPERM, "Policy doesn't allow %s to be performed.", what);
}

int vol_need_admin_on(struct volumes *v, const struct volumes_caller *who, const char *kind,
                      const char *id, const char *what)
{
    if (who->is_admin)
        return 0;
    struct store_txn *t;
    int rc = vol_begin(v, false, &t);
    if (rc < 0)
        return rc;
    rc = vol_load(t, v, kind, id, who, false, NULL); /* another project's: -ENOENT */
    store_abort(t);
    return rc < 0 ? rc : vol_need_admin(who, what);
}

int vol_load(struct store_txn *t, struct volumes *v, const char *kind, const char *id,
             const struct volumes_caller *who, bool write, json_t **out)
{
    json_t *rec;
    int rc = vol_get(t, v, kind, id, &rec);
    if (rc < 0)
        return rc;
    rc = write ? vol_can_write(rec, who) : vol_can_see(rec, who);
    if (rc == -ENOENT)
        vol_fail(-ENOENT, "%s %s could not be found.", kind, id);
    if (rc < 0) {
        json_decref(rec);
        return rc;
    }
    if (out)
        *out = rec;
    else
        json_decref(rec);
    return 0;
}

void volumes_object_name(char out[64], const char *kind, const char *id)
{
    snprintf(out, 64, "%s-%.40s", kind, id);
}

/* ---- block-store calls ---- */

static void mutex_lock(void *m)
{
    pthread_mutex_lock(m);
}
static void mutex_unlock(void *m)
{
    pthread_mutex_unlock(m);
}
struct volumes_bs_lock volumes_mutex_lock(pthread_mutex_t *m)
{
    return (struct volumes_bs_lock){ mutex_lock, mutex_unlock, m };
}

#define LOCKED(v, call)                                          \
    ({                                                           \
        BS_LOCK(v);                                              \
        int _r = (call);                                         \
        if (_r < 0)                                              \
            vol_fail(_r, "block store: %s", blockstore_error()); \
        BS_UNLOCK(v);                                            \
        _r;                                                      \
    })

int vol_bs_create(struct volumes *v, const char *name, uint64_t size)
{
    return LOCKED(v, blockstore_create(v->bs, name, size));
}
int vol_bs_snapshot(struct volumes *v, const char *disk, const char *name)
{
    return LOCKED(v, blockstore_snapshot(v->bs, disk, name));
}
int vol_bs_clone(struct volumes *v, const char *src, const char *name)
{
    return LOCKED(v, blockstore_clone(v->bs, src, name));
}
int vol_bs_extend(struct volumes *v, const char *disk, uint64_t size)
{
    return LOCKED(v, blockstore_extend(v->bs, disk, size));
}
int vol_bs_delete(struct volumes *v, const char *name)
{
    int rc = LOCKED(v, blockstore_delete(v->bs, name));
    return rc == -ENOENT ? 0 : rc;
}
int vol_bs_exists(struct volumes *v, const char *name, uint64_t *size)
{
    struct blockstore_info i;
    int rc = LOCKED(v, blockstore_info(v->bs, name, &i));
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (size)
        *size = i.size;
    return 1;
}
