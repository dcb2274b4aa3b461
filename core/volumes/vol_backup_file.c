/* core/volumes: the backup folder format (volumes.h, "Backups"): writing
 * one backup crash-safely, reading its records with their checksums,
 * checking a chain and restoring one into a block-store disk. Nothing here
 * needs the control-plane records: a backup directory alone restores. */
#include "core/volumes/vol_backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HDR 32

int vol_backup_path(const char *dir, const char *id, const char *suffix, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s%s", dir, id, suffix ? suffix : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool safe_id(const char *id)
{
    return id && *id && strlen(id) <= 64 && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (int)got;
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* rm -r of a backup folder (flat: two files at most). */
int vol_backup_remove(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            unlinkat(dirfd(d), e->d_name, 0) < 0)
            rc = -errno;
    closedir(d);
    if (rmdir(path) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* ---- writing ---- */

int vol_bk_open(struct vol_bk_writer *w, const char *dir, const char *id)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (!safe_id(id))
        return vol_fail(-EINVAL, "bad backup id");
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    snprintf(w->id, sizeof w->id, "%s", id);
    char path[4300];
    int rc = vol_backup_path(dir, id, ".partial", w->partial, sizeof w->partial);
    if (rc < 0)
        return rc;
    vol_backup_remove(w->partial); /* a leftover of a killed run */
    if (mkdir(w->partial, 0700) < 0)
        return vol_fail(-errno, "cannot make %s: %s", w->partial, strerror(errno));
    snprintf(path, sizeof path, "%s/clusters", w->partial);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return vol_fail(-errno, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

int vol_bk_add(struct vol_bk_writer *w, uint64_t vcl, const void *data, uint32_t len)
{
    bool zero = true;
    const unsigned char *p = data;
    for (uint32_t i = 0; i < len && zero; i++)
        zero = p[i] == 0;
    unsigned char h[HDR] = { 0 };
    le64(h, vcl);
    le32(h + 8, zero ? 1 : 0);
    le32(h + 12, zero ? 0 : len);
    le32(h + 16, zero ? 0 : (uint32_t)crc32(0, data, len));
    le32(h + 20, (uint32_t)crc32(0, h, 20));
    int rc = write_all(w->fd, h, HDR);
    if (rc == 0 && !zero)
        rc = write_all(w->fd, data, len);
    if (rc < 0)
        return vol_fail(rc, "cannot write backup %s: %s", w->id, strerror(-rc));
    w->records++;
    w->bytes += HDR + (zero ? 0 : len);
    return 0;
}

int vol_bk_commit(struct vol_bk_writer *w, json_t *manifest)
{
    json_object_set_new(manifest, "format", json_string(VOLUMES_BACKUP_FORMAT));
    json_object_set_new(manifest, "id", json_string(w->id));
    json_object_set_new(manifest, "cluster_size", json_integer(EXTMAP_CLUSTER_SIZE));
    json_object_set_new(manifest, "clusters", json_integer((json_int_t)w->records));
    json_object_set_new(manifest, "data_bytes", json_integer((json_int_t)w->bytes));
    int rc = fsync(w->fd) < 0 ? -errno : 0;
    close(w->fd);
    w->fd = -1;
    char path[4300], final[4200];
    snprintf(path, sizeof path, "%s/manifest.json", w->partial);
    if (rc == 0 && json_dump_file(manifest, path, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
        rc = -EIO;
    if (rc == 0)
        rc = fsync_path(path);
    if (rc == 0)
        rc = vol_backup_path(w->dir, w->id, NULL, final, sizeof final);
    if (rc == 0 && rename(w->partial, final) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_path(w->dir);
    if (rc < 0)
        return vol_fail(rc, "cannot complete backup %s: %s", w->id, strerror(-rc));
    return 0;
}

void vol_bk_abort(struct vol_bk_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->partial[0])
        vol_backup_remove(w->partial);
}

/* ---- reading ---- */

int volumes_backup_manifest(const char *backup_dir, const char *id, json_t **out)
{
    char path[4200];
    if (!safe_id(id) || vol_backup_path(backup_dir, id, "/manifest.json", path, sizeof path))
        return vol_fail(-EINVAL, "bad backup id");
    json_error_t e;
    json_t *m = json_load_file(path, 0, &e);
    if (!m)
        return vol_fail(access(path, F_OK) ? -ENOENT : -EINVAL, "backup %s: %s: %s", id, path,
                        e.text);
    const char *fmt = json_string_value(json_object_get(m, "format"));
    if (!fmt || strcmp(fmt, VOLUMES_BACKUP_FORMAT) ||
        json_integer_value(json_object_get(m, "cluster_size")) != EXTMAP_CLUSTER_SIZE ||
        !json_is_integer(json_object_get(m, "size")) ||
        !json_is_integer(json_object_get(m, "clusters"))) {
        json_decref(m);
        return vol_fail(-EINVAL, "backup %s: not a %s manifest", id, VOLUMES_BACKUP_FORMAT);
    }
    *out = m;
    return 0;
}

/* Calls fn for each record of backup id, checking every checksum and that
 * clusters increase and stay below size. Returns the record count. */
int vol_bk_each(const char *dir, const char *id, uint64_t size,
                int (*fn)(void *ctx, uint64_t vcl, const void *data, uint32_t len, bool zero),
                void *ctx)
{
    char path[4200];
    if (vol_backup_path(dir, id, "/clusters", path, sizeof path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vol_fail(-errno, "backup %s: %s: %s", id, path, strerror(errno));
    unsigned char *buf = malloc(EXTMAP_CLUSTER_SIZE);
    int rc = buf ? 0 : -ENOMEM;
    uint64_t n = 0, last = 0, limit = (size + EXTMAP_CLUSTER_SIZE - 1) / EXTMAP_CLUSTER_SIZE;
    while (rc == 0) {
        unsigned char h[HDR];
        int got = read_all(fd, h, HDR);
        if (got == 0)
            break;
        if (got != HDR || get32(h + 20) != (uint32_t)crc32(0, h, 20)) {
            rc =
                vol_fail(-EBADMSG, "backup %s: record %llu: bad header", id, (unsigned long long)n);
            break;
        }
        uint64_t vcl = get64(h);
        uint32_t flags = get32(h + 8), len = get32(h + 12);
        if ((n && vcl <= last) || vcl >= limit || len > EXTMAP_CLUSTER_SIZE || flags > 1 ||
            (flags && len)) {
            rc = vol_fail(-EBADMSG, "backup %s: record %llu: cluster %llu out of order or range",
                          id, (unsigned long long)n, (unsigned long long)vcl);
            break;
        }
        if (len &&
            (read_all(fd, buf, len) != (int)len || get32(h + 16) != (uint32_t)crc32(0, buf, len))) {
            rc = vol_fail(-EBADMSG, "backup %s: cluster %llu: data fails its checksum", id,
                          (unsigned long long)vcl);
            break;
        }
        if (fn)
            rc = fn(ctx, vcl, buf, len, flags == 1);
        last = vcl;
        n++;
    }
    free(buf);
    close(fd);
    return rc < 0 ? rc : (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* The chain from the full backup to id (oldest first): a new array of
 * manifests. Checks links: parents complete, same volume, no shrinking. */
int vol_bk_chain(const char *dir, const char *id, json_t **out, FILE *report, int *problems)
{
    json_t *chain = json_array();
    char cur[80];
    snprintf(cur, sizeof cur, "%s", id);
    for (int depth = 0;; depth++) {
        json_t *m;
        int rc = depth > 10000 ? vol_fail(-ELOOP, "backup chain too long") : 0;
        if (rc == 0)
            rc = volumes_backup_manifest(dir, cur, &m);
        if (rc < 0) {
            if (report)
                fprintf(report, "%s\n", volumes_error());
            json_decref(chain);
            return rc;
        }
        json_t *child = json_array_get(chain, 0);
        if (child) {
            const char *a = json_string_value(json_object_get(m, "volume_id")),
                       *b = json_string_value(json_object_get(child, "volume_id"));
            if (!a || !b || strcmp(a, b)) {
                if (report)
                    fprintf(report, "backup %s: parent %s is of another volume\n",
                            json_string_value(json_object_get(child, "id")), cur);
                (*problems)++;
            }
            if (json_integer_value(json_object_get(m, "size")) >
                json_integer_value(json_object_get(child, "size"))) {
                if (report)
                    fprintf(report, "backup %s: parent %s is larger\n",
                            json_string_value(json_object_get(child, "id")), cur);
                (*problems)++;
            }
        }
        json_array_insert_new(chain, 0, m);
        const char *parent = json_string_value(json_object_get(m, "parent_id"));
        if (!parent)
            break;
        snprintf(cur, sizeof cur, "%s", parent);
    }
    *out = chain;
    return 0;
}

int volumes_backup_check(const char *backup_dir, const char *id, FILE *report)
{
    int problems = 0;
    json_t *chain, *m;
    int rc = vol_bk_chain(backup_dir, id, &chain, report, &problems);
    if (rc < 0)
        return rc == -ENOENT ? rc : 1;
    size_t i;
    json_array_foreach (chain, i, m) {
        const char *bid = json_string_value(json_object_get(m, "id"));
        int n = vol_bk_each(backup_dir, bid,
                            (uint64_t)json_integer_value(json_object_get(m, "size")), NULL, NULL);
        if (n < 0) {
            if (report)
                fprintf(report, "%s\n", volumes_error());
            problems++;
        } else if (n != json_integer_value(json_object_get(m, "clusters"))) {
            if (report)
                fprintf(report, "backup %s: %d records, the manifest says %lld\n", bid, n,
                        (long long)json_integer_value(json_object_get(m, "clusters")));
            problems++;
        }
    }
    json_decref(chain);
    return problems;
}

/* ---- restoring ---- */

struct restore {
    struct blockstore_disk *d;
    const struct volumes_bs_lock *lk;
};

static int zero_run(void *ctx, uint64_t first, uint64_t count)
{
    struct restore *r = ctx;
    r->lk->lock(r->lk->ctx);
    int rc = extmap_discard(blockstore_disk_map(r->d), first * EXTMAP_CLUSTER_SIZE,
                            count * EXTMAP_CLUSTER_SIZE);
    r->lk->unlock(r->lk->ctx);
    return rc;
}

struct runs {
    uint64_t (*v)[2];
    size_t n, cap;
};

static int note_run(void *ctx, uint64_t first, uint64_t count)
{
    struct runs *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        void *x = realloc(r->v, cap * sizeof *r->v);
        if (!x)
            return -ENOMEM;
        r->v = x;
        r->cap = cap;
    }
    r->v[r->n][0] = first;
    r->v[r->n++][1] = count;
    return 0;
}

static int put_cluster(void *ctx, uint64_t vcl, const void *data, uint32_t len, bool zero)
{
    struct restore *r = ctx;
    struct extmap *m = blockstore_disk_map(r->d);
    uint64_t off = vcl * EXTMAP_CLUSTER_SIZE;
    r->lk->lock(r->lk->ctx); /* a write may refill its grant from the store */
    int rc = zero ? extmap_discard(m, off, EXTMAP_CLUSTER_SIZE) : extmap_write(m, data, off, len);
    r->lk->unlock(r->lk->ctx);
    return rc;
}

int volumes_backup_restore_into(struct blockstore *bs, const struct volumes_bs_lock *lk,
                                const char *backup_dir, const char *id, const char *object)
{
    int problems = 0;
    json_t *chain, *m;
    int rc = vol_bk_chain(backup_dir, id, &chain, NULL, &problems);
    if (rc < 0)
        return rc;
    if (problems) {
        json_decref(chain);
        return vol_fail(-EBADMSG, "backup %s: the chain is inconsistent (run check)", id);
    }
    uint64_t size = (uint64_t)json_integer_value(
        json_object_get(json_array_get(chain, json_array_size(chain) - 1), "size"));
    struct blockstore_info info;
    struct runs old = { 0 };
    struct restore r = { .lk = lk };
    lk->lock(lk->ctx);
    rc = blockstore_info(bs, object, &info);
    if (rc == 0 && info.size < size)
        rc = vol_fail(-EINVAL, "the volume (%llu bytes) is smaller than the backup (%llu)",
                      (unsigned long long)info.size, (unsigned long long)size);
    else if (rc < 0)
        vol_fail(rc, "%s", blockstore_error());
    if (rc == 0) /* what it holds now goes: the backup replaces it all */
        rc = blockstore_changed(bs, NULL, object, note_run, &old);
    if (rc == 0)
        rc = blockstore_disk_open(bs, object, 0, &r.d);
    lk->unlock(lk->ctx);
    for (size_t i = 0; rc == 0 && i < old.n; i++)
        rc = zero_run(&r, old.v[i][0], old.v[i][1]);
    free(old.v);
    size_t i;
    json_array_foreach (chain, i, m) {
        if (rc < 0)
            break;
        const char *bid = json_string_value(json_object_get(m, "id"));
        rc = vol_bk_each(backup_dir, bid, (uint64_t)json_integer_value(json_object_get(m, "size")),
                         put_cluster, &r);
    }
    if (r.d) {
        lk->lock(lk->ctx);
        int c = blockstore_disk_close(r.d);
        lk->unlock(lk->ctx);
        if (rc >= 0 && c < 0)
            rc = vol_fail(c, "%s", blockstore_error());
    }
    json_decref(chain);
    return rc < 0 ? rc : 0;
}
