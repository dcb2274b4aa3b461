/* Fixtures for the core/volumes tests: a real control-plane LMDB store
 * and a real block store in one temporary data dir, the volumes module on
 * them, callers of two projects, and cluster I/O on volumes. */
#ifndef PICOSTACK_VOL_TEST_H
#define PICOSTACK_VOL_TEST_H

#include "core/blockstore/blockstore.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CS EXTMAP_CLUSTER_SIZE

struct fx {
    char dir[512], backups[600];
    struct store *s;
    struct blockstore *bs;
    pthread_mutex_t lock;
    struct volumes *v;
};

static const struct volumes_caller ADMIN = {
    .project_id = "padmin", .user_id = "u0", .is_admin = true, .can_write = true
};
static const struct volumes_caller ALICE = { .project_id = "p1",
                                             .user_id = "u1",
                                             .can_write = true };
static const struct volumes_caller READER = { .project_id = "p1", .user_id = "u3" };
static const struct volumes_caller BOB = { .project_id = "p2", .user_id = "u2", .can_write = true };

#define OK(expr)                                                    \
    do {                                                            \
        int r_ = (expr);                                            \
        CHECK(r_ >= 0, "%s = %d (%s)", #expr, r_, volumes_error()); \
        if (r_ < 0)                                                 \
            exit(t_done(__FILE__));                                 \
    } while (0)
#define ERR(expr, e)                                                                   \
    do {                                                                               \
        int r_ = (expr);                                                               \
        CHECK(r_ == (e), "%s = %d, expected %s (%s)", #expr, r_, #e, volumes_error()); \
    } while (0)

static inline void fx_open_in(struct fx *f, const char *dir)
{
    if (dir != f->dir) /* reopening passes f->dir itself */
        snprintf(f->dir, sizeof f->dir, "%s", dir);
    snprintf(f->backups, sizeof f->backups, "%s/backups", dir);
    char state[600];
    snprintf(state, sizeof state, "%s/state", dir);
    pthread_mutex_init(&f->lock, NULL);
    int rc = blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &f->bs);
    CHECK(rc == 0, "blockstore_open: %s", blockstore_error());
    CHECK(store_open(state, &f->s) == 0);
    struct volumes_config cfg = { .backup_dir = f->backups };
    struct volumes_bs_lock lk = volumes_mutex_lock(&f->lock);
    rc = volumes_open(f->s, f->bs, &lk, &cfg, &f->v);
    CHECK(rc == 0, "volumes_open: %s", volumes_error());
    if (rc)
        exit(t_done("fixture"));
}

static inline void fx_open(struct fx *f)
{
    fx_open_in(f, t_tmpdir("voltest"));
}

static inline void fx_close(struct fx *f)
{
    volumes_close(f->v);
    store_close(f->s);
    blockstore_close(f->bs);
}

/* A new empty volume of gb GiB owned by who; its id in id. */
static inline void fx_volume(struct fx *f, const struct volumes_caller *who, uint64_t gb,
                             char id[40])
{
    json_t *rec = NULL;
    struct volume_create req = { .name = "v", .size_gb = gb };
    OK(volume_create(f->v, who, &req, &rec));
    snprintf(id, 40, "%s", json_string_value(json_object_get(rec, "id")));
    json_decref(rec);
}

static inline void fill_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 11));
}

/* Writes cluster cl of a block-store object with pattern(seed). */
static inline void fx_write(struct fx *f, const char *object, uint64_t cl, unsigned seed)
{
    static unsigned char buf[CS] __attribute__((aligned(4096)));
    fill_pattern(buf, CS, seed);
    struct blockstore_disk *d;
    pthread_mutex_lock(&f->lock);
    int rc = blockstore_disk_open(f->bs, object, 0, &d);
    CHECK(rc == 0, "open %s: %s", object, blockstore_error());
    if (rc == 0) {
        CHECK(extmap_write(blockstore_disk_map(d), buf, cl * CS, CS) == 0);
        CHECK(blockstore_disk_close(d) == 0);
    }
    pthread_mutex_unlock(&f->lock);
}

/* The whole contents of an object (malloc'd, len bytes). */
static inline unsigned char *fx_read(struct fx *f, const char *object, uint64_t len)
{
    unsigned char *b = malloc(len);
    struct blockstore_disk *d;
    pthread_mutex_lock(&f->lock);
    int rc = blockstore_disk_open(f->bs, object, BLOCKSTORE_RDONLY, &d);
    pthread_mutex_unlock(&f->lock);
    CHECK(rc == 0, "open %s: %s", object, blockstore_error());
    if (rc == 0) {
        CHECK(extmap_read(blockstore_disk_map(d), b, 0, len) == 0);
        pthread_mutex_lock(&f->lock);
        blockstore_disk_close(d);
        pthread_mutex_unlock(&f->lock);
    }
    return b;
}

static inline const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
