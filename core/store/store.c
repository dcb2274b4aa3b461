/* The LMDB environment behind core/store/store.h. */
#include "core/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_MAX_TABLES 128
#define STORE_MAP_SIZE   (4ULL << 30) /* address space only; the file grows as used */

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_MAX_TABLES];
    unsigned n_tables;
    pthread_key_t cache_key; /* each thread's parked read txn */
};

struct store_txn {
    struct store *s;
    MDB_txn *txn;
    bool cached; /* a thread's reusable read txn */
    bool in_use;
};

/* Read transactions are the hot path (every token body, every list): a
 * thread parks its read txn with mdb_txn_reset and revives it with
 * mdb_txn_renew, which skips the reader-slot search and two allocations. */
static void drop_cached(void *p)
{
    struct store_txn *t = p;
    if (t) {
        mdb_txn_abort(t->txn);
        free(t);
    }
}

/* LMDB returns positive MDB_* codes or errnos; map both to -errno. */
static int mdb_err(int rc)
{
    switch (rc) {
    case 0: return 0;
    case MDB_NOTFOUND: return -ENOENT;
    case MDB_MAP_FULL: return -ENOSPC;
    case MDB_BAD_VALSIZE: return -ENAMETOOLONG;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL: return -EAGAIN;
    case MDB_DBS_FULL: return -EMFILE;
    default: return rc > 0 && rc < 4096 ? -rc : -EIO;
    }
}

int store_open(const char *dir, struct store **out)
{
    if (sodium_init() < 0)
        return -EIO;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, STORE_MAX_TABLES);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, 512);
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, STORE_MAP_SIZE);
    /* MDB_NOTLS: a read txn is not tied to a thread's slot, so many request
     * threads can read at once without exhausting slots. */
    if (!rc)
        rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    if (rc) {
        if (s->env)
            mdb_env_close(s->env);
        free(s);
        return mdb_err(rc);
    }
    rc = pthread_key_create(&s->cache_key, drop_cached);
    if (rc) {
        mdb_env_close(s->env);
        free(s);
        return -rc;
    }
    /* Readers left behind by a killed process would pin old pages. */
    int dead = 0;
    mdb_reader_check(s->env, &dead);
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    /* The caller's thread may hold a parked txn; other threads dropped
     * theirs when they exited (the key's destructor). */
    drop_cached(pthread_getspecific(s->cache_key));
    pthread_setspecific(s->cache_key, NULL);
    pthread_key_delete(s->cache_key);
    mdb_env_close(s->env);
    free(s);
}

int store_table(struct store *s, const char *name, unsigned *table)
{
    if (s->n_tables >= STORE_MAX_TABLES)
        return -EMFILE;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return mdb_err(rc);
    MDB_dbi dbi;
    rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
    if (rc) {
        mdb_txn_abort(txn);
        return mdb_err(rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return mdb_err(rc);
    s->dbi[s->n_tables] = dbi;
    *table = s->n_tables++;
    return 0;
}

int store_begin(struct store *s, bool write, struct store_txn **out)
{
    if (!write) {
        struct store_txn *c = pthread_getspecific(s->cache_key);
        if (c && !c->in_use && mdb_txn_renew(c->txn) == 0) {
            c->in_use = true;
            *out = c;
            return 0;
        }
    }
    struct store_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        free(t);
        return mdb_err(rc);
    }
    t->s = s;
    t->in_use = true;
    if (!write && !pthread_getspecific(s->cache_key) && pthread_setspecific(s->cache_key, t) == 0)
        t->cached = true;
    *out = t;
    return 0;
}

int store_commit(struct store_txn *t)
{
    if (t->cached) { /* a read txn: nothing to commit */
        store_abort(t);
        return 0;
    }
    int rc = mdb_txn_commit(t->txn);
    free(t);
    return mdb_err(rc);
}

void store_abort(struct store_txn *t)
{
    if (!t)
        return;
    if (t->cached) {
        mdb_txn_reset(t->txn);
        t->in_use = false;
        return;
    }
    mdb_txn_abort(t->txn);
    free(t);
}

static int check_table(struct store_txn *t, unsigned table)
{
    return table < t->s->n_tables ? 0 : -EBADF;
}

int store_get_raw(struct store_txn *t, unsigned table, const void *key, size_t klen,
                  const void **val, size_t *vlen)
{
    int rc = check_table(t, table);
    if (rc)
        return rc;
    if (klen == 0 || klen > STORE_MAX_KEY)
        return -ENOENT;
    MDB_val k = { klen, (void *)key }, v;
    rc = mdb_get(t->txn, t->s->dbi[table], &k, &v);
    if (rc)
        return mdb_err(rc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

int store_put_raw(struct store_txn *t, unsigned table, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    int rc = check_table(t, table);
    if (rc)
        return rc;
    if (klen == 0 || klen > STORE_MAX_KEY)
        return -ENAMETOOLONG;
    MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
    return mdb_err(mdb_put(t->txn, t->s->dbi[table], &k, &v, 0));
}

int store_del_raw(struct store_txn *t, unsigned table, const void *key, size_t klen)
{
    int rc = check_table(t, table);
    if (rc)
        return rc;
    if (klen == 0 || klen > STORE_MAX_KEY)
        return -ENOENT;
    MDB_val k = { klen, (void *)key };
    return mdb_err(mdb_del(t->txn, t->s->dbi[table], &k, NULL));
}

json_t *store_decode(const void *val, size_t vlen)
{
    return json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
}

int store_get(struct store_txn *t, unsigned table, const char *key, json_t **out)
{
    const void *val;
    size_t vlen;
    int rc = store_get_raw(t, table, key, strlen(key), &val, &vlen);
    if (rc)
        return rc;
    *out = store_decode(val, vlen);
    return *out ? 0 : -EIO;
}

int store_put(struct store_txn *t, unsigned table, const char *key, const json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int rc = store_put_raw(t, table, key, strlen(key), text, strlen(text));
    free(text);
    return rc;
}

int store_del(struct store_txn *t, unsigned table, const char *key)
{
    return store_del_raw(t, table, key, strlen(key));
}

int store_scan(struct store_txn *t, unsigned table, const void *prefix, size_t plen,
               store_scan_fn fn, void *ctx)
{
    int rc = check_table(t, table);
    if (rc)
        return rc;
    MDB_cursor *c;
    rc = mdb_cursor_open(t->txn, t->s->dbi[table], &c);
    if (rc)
        return mdb_err(rc);
    MDB_val k = { plen, (void *)prefix }, v;
    rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    int ret = 0;
    while (rc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        ret = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ctx);
        if (ret)
            break;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (ret)
        return ret;
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : mdb_err(rc);
}

int store_index_key(char out[STORE_MAX_KEY], const char *a, const char *b, const char *c)
{
    const char *parts[3] = { a, b, c };
    size_t n = 0;
    for (int i = 0; i < 3 && parts[i]; i++) {
        size_t len = strlen(parts[i]);
        if (n + len + 1 > STORE_MAX_KEY)
            return -ENAMETOOLONG;
        if (i > 0)
            out[n++] = '\0';
        memcpy(out + n, parts[i], len);
        n += len;
    }
    return (int)n;
}
