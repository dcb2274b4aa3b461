/* blockstore: open/close, the data-dir lock, LMDB records and space. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int bs_mdb(int rc, const char *what)
{
    int e = rc == MDB_MAP_FULL   ? -ENOSPC
            : rc == MDB_NOTFOUND ? -ENOENT
            : rc > 0             ? -rc
            : rc < 0             ? -EIO
                                 : 0;
    if (rc)
        bs_fail(e, "%s: %s", what, mdb_strerror(rc));
    return e;
}

void bs_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint64_t bs_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int blockstore_default_dir(char *buf, size_t len)
{
    int n;
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (geteuid() == 0) {
        n = snprintf(buf, len, "/var/lib/picostack");
    } else if (xdg && xdg[0] == '/') { /* a relative one is invalid: ignored */
        n = snprintf(buf, len, "%s/picostack", xdg);
    } else {
        if (!home || !*home) {
            struct passwd *pw = getpwuid(geteuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home)
            return bs_fail(-ENOENT, "no home directory for the default data dir");
        n = snprintf(buf, len, "%s/.local/share/picostack", home);
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int bs_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BLOCKSTORE_NAME_MAX)
        return bs_fail(-EINVAL, "name must be 1..%d bytes", BLOCKSTORE_NAME_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return bs_fail(-EINVAL, "name '%s' has a '/' or a control character", name);
    return 0;
}

/* ---- the lock ---- */

/* The lock is flock(LOCK_EX) on DIR/lock, which holds the owner's pid
 * (picostackd takes the same lock before it opens the store). A flock
 * belongs to the open file, which fork() shares: so a child forked without
 * exec (exec closes it: O_CLOEXEC) closes its copy at once (pthread_atfork),
 * and the lock stays the parent's alone. Within one process a table of held
 * locks refuses a second open. */
static struct {
    dev_t dev;
    ino_t ino;
    int fd;
} held[16];
static int nheld;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void close_held_in_child(void)
{
    for (int i = 0; i < nheld; i++)
        close(held[i].fd);
    nheld = 0;
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, close_held_in_child);
}

static void unlock_held(int fd)
{
    for (int i = 0; i < nheld; i++)
        if (held[i].fd == fd) {
            held[i] = held[--nheld];
            return;
        }
}

static int take_lock(const char *dir, int *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return bs_fail(-errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return bs_fail(-e, "cannot stat %s: %s", path, strerror(e));
    }
    for (int i = 0; i < nheld; i++)
        if (held[i].dev == st.st_dev && held[i].ino == st.st_ino) {
            close(fd);
            return bs_fail(-EBUSY, "data dir %s is in use by pid %d (this process)", dir,
                           (int)getpid());
        }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK)
            return bs_fail(-EBUSY,
                           "data dir %s is in use by pid %s (picostackd or "
                           "picostack-img); stop it first",
                           dir, pid[0] ? pid : "?");
        return bs_fail(-e, "cannot lock %s: %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int e = errno ? errno : EIO;
        close(fd);
        return bs_fail(-e, "cannot write %s: %s", path, strerror(e));
    }
    if (nheld < (int)(sizeof(held) / sizeof(held[0])))
        held[nheld++] = (typeof(held[0])){ st.st_dev, st.st_ino, fd };
    pthread_once(&atfork_once, install_atfork);
    *out = fd;
    return 0;
}

/* ---- open / close ---- */

static int mkdir_p(const char *path)
{
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return bs_fail(-errno, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

int bs_data_fds(struct blockstore *bs, uint64_t upto_cluster)
{
    uint64_t files = (upto_cluster >> EXTMAP_FILE_SHIFT) + 1;
    if (files > EXTMAP_MAX_FILES)
        return bs_fail(-ENOSPC, "the store is at its size limit");
    for (uint64_t f = 0; f < files; f++) {
        if (bs->data_fds[f] >= 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/data.%llu", bs->blocks, (unsigned long long)f);
        int fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0640);
        if (fd < 0 && errno == EINVAL) /* no O_DIRECT on this filesystem */
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return bs_fail(-errno, "cannot open %s: %s", path, strerror(errno));
        bs->data_fds[f] = fd;
    }
    return 0;
}

static int open_env(struct blockstore *bs, const struct blockstore_options *opt)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/index", bs->blocks);
    int r = mkdir_p(path);
    if (r < 0)
        return r;
    if ((r = mdb_env_create(&bs->env)))
        return bs_mdb(r, "mdb_env_create");
    mdb_env_set_maxdbs(bs->env, 8);
    uint64_t ms = opt && opt->lmdb_map_size ? opt->lmdb_map_size : 64ull << 30;
    if ((r = mdb_env_set_mapsize(bs->env, ms)))
        return bs_mdb(r, "mdb_env_set_mapsize");
    /* we hold DIR/lock, so LMDB's own reader table is not needed */
    if ((r = mdb_env_open(bs->env, path, MDB_NOTLS | MDB_NOLOCK, 0640)))
        return bs_mdb(r, path);
    MDB_txn *t;
    if ((r = mdb_txn_begin(bs->env, NULL, 0, &t)))
        return bs_mdb(r, "mdb_txn_begin");
    const char *names[] = { "meta", "objects", "layers", "extents", "free", "grants", "zeroed" };
    MDB_dbi *dbis[] = { &bs->meta,  &bs->objects, &bs->layers, &bs->extents,
                        &bs->freel, &bs->grants,  &bs->zeroed };
    for (int i = 0; i < 7 && !r; i++)
        r = mdb_dbi_open(t, names[i], MDB_CREATE, dbis[i]);
    uint64_t v, version = 0;
    if (!r && bs_meta_get(t, bs, "version", &version) == -ENOENT) {
        r = bs_meta_put(t, bs, "version", BS_FORMAT) ||
            bs_meta_put(t, bs, "cluster_size", EXTMAP_CLUSTER_SIZE);
    } else if (!r && bs_meta_get(t, bs, "cluster_size", &v) == 0 && v != EXTMAP_CLUSTER_SIZE) {
        mdb_txn_abort(t);
        return bs_fail(-EINVAL, "store uses cluster size %llu", (unsigned long long)v);
    } else if (!r && version > BS_FORMAT) {
        mdb_txn_abort(t);
        return bs_fail(-ENOTSUP, "store format %llu is newer than this program's (%d)",
                       (unsigned long long)version, BS_FORMAT);
    } else if (!r && version < BS_FORMAT) {
        /* in place: every format-1 record (8-byte extents, PSJRNL1 journals,
         * PSXMAP1 maps) already reads as a format-2 whole cluster; the version
         * is raised so that an older program refuses the 16-byte records */
        r = bs_meta_put(t, bs, "version", BS_FORMAT);
    }
    bs->found_format = version ? version : BS_FORMAT; /* 0: a new store */
    if (r) {
        mdb_txn_abort(t);
        return r < 0 ? r : bs_mdb(r, "opening databases");
    }
    return bs_commit(t);
}

int blockstore_open(const char *dir, int flags, const struct blockstore_options *opt,
                    struct blockstore **out)
{
    struct blockstore *bs = calloc(1, sizeof(*bs));
    if (!bs)
        return -ENOMEM;
    bs->lock_fd = -1;
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        bs->data_fds[i] = -1;
    bs->dir = strdup(dir);
    if (asprintf(&bs->blocks, "%s/blocks", dir) < 0)
        bs->blocks = NULL;
    int r = bs->dir && bs->blocks ? 0 : -ENOMEM;
    struct stat st;
    if (r == 0 && stat(bs->blocks, &st) < 0) {
        if (!(flags & BLOCKSTORE_CREATE))
            r = bs_fail(-ENOENT, "no block store in %s (run: picostack-img --store %s init)", dir,
                        dir);
        else
            r = mkdir_p(dir);
    }
    if (r == 0)
        r = take_lock(dir, &bs->lock_fd);
    if (r == 0)
        r = mkdir_p(bs->blocks);
    char jdir[4096];
    if (r == 0) {
        snprintf(jdir, sizeof(jdir), "%s/journals", bs->blocks ? bs->blocks : "");
        r = mkdir_p(jdir);
    }
    if (r == 0)
        r = open_env(bs, opt);
    if (r == 0) {
        uint64_t hwm = 0;
        MDB_txn *t;
        r = bs_begin(bs, 1, &t);
        if (r == 0) {
            bs_meta_get(t, bs, "hwm", &hwm);
            mdb_txn_abort(t);
            r = bs_data_fds(bs, hwm);
        }
    }
    if (r == 0)
        r = blockstore_fold_all(bs);
    if (r < 0) {
        blockstore_close(bs);
        return r;
    }
    *out = bs;
    return 0;
}

void blockstore_close(struct blockstore *bs)
{
    if (!bs)
        return;
    while (bs->open_disks) {
        if (bs->open_disks->external)
            bs_detach(bs->open_disks);
        else
            blockstore_disk_close(bs->open_disks);
    }
    if (bs->env)
        mdb_env_close(bs->env);
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        if (bs->data_fds[i] >= 0)
            close(bs->data_fds[i]);
    if (bs->lock_fd >= 0) {
        unlock_held(bs->lock_fd);
        close(bs->lock_fd); /* releases the lock */
    }
    free(bs->dir);
    free(bs->blocks);
    free(bs);
}

/* ---- transactions and records ---- */

int bs_begin(struct blockstore *bs, int rdonly, MDB_txn **t)
{
    int r = mdb_txn_begin(bs->env, NULL, rdonly ? MDB_RDONLY : 0, t);
    return r ? bs_mdb(r, "mdb_txn_begin") : 0;
}

int bs_commit(MDB_txn *t)
{
    int r = mdb_txn_commit(t);
    return r ? bs_mdb(r, "commit of the block index") : 0;
}

int bs_each(MDB_txn *t, MDB_dbi dbi, const char *what, bs_each_fn fn, void *ctx)
{
    MDB_cursor *c;
    int r = mdb_cursor_open(t, dbi, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    MDB_val k, v;
    int g;
    for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && r == 0;
         g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        r = fn(ctx, &k, &v);
    mdb_cursor_close(c);
    if (r)
        return r < 0 ? r : 0;
    return g == MDB_NOTFOUND ? 0 : bs_mdb(g, what);
}

int bs_finish(struct blockstore *bs, MDB_txn *t, int r, struct bs_freed *freed)
{
    if (r < 0)
        mdb_txn_abort(t);
    else
        r = bs_commit(t);
    if (r == 0) {
        bs_punch(bs, freed);
    } else if (freed) {
        free(freed->r);
        *freed = (struct bs_freed){ 0 };
    }
    return r;
}

static int get(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, void *v, size_t vl)
{
    MDB_val key = { kl, (void *)k }, val;
    int r = mdb_get(t, dbi, &key, &val);
    if (r == MDB_NOTFOUND)
        return -ENOENT;
    if (r)
        return bs_mdb(r, "mdb_get");
    if (val.mv_size != vl)
        return bs_fail(-EUCLEAN, "index record of %zu bytes, expected %zu", val.mv_size, vl);
    memcpy(v, val.mv_data, vl);
    return 0;
}

static int put(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
    MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };
    int r = mdb_put(t, dbi, &key, &val, 0);
    return r ? bs_mdb(r, "mdb_put") : 0;
}

static int del(MDB_txn *t, MDB_dbi dbi, const void *k, size_t kl)
{
    MDB_val key = { kl, (void *)k };
    int r = mdb_del(t, dbi, &key, NULL);
    if (r == MDB_NOTFOUND)
        return -ENOENT;
    return r ? bs_mdb(r, "mdb_del") : 0;
}

int bs_meta_get(MDB_txn *t, struct blockstore *bs, const char *key, uint64_t *v)
{
    return get(t, bs->meta, key, strlen(key), v, sizeof(*v));
}

int bs_meta_put(MDB_txn *t, struct blockstore *bs, const char *key, uint64_t v)
{
    return put(t, bs->meta, key, strlen(key), &v, sizeof(v));
}

int bs_next_id(MDB_txn *t, struct blockstore *bs, uint64_t *id)
{
    uint64_t v = 0;
    int r = bs_meta_get(t, bs, "next_id", &v);
    if (r < 0 && r != -ENOENT)
        return r;
    *id = v + 1;
    return bs_meta_put(t, bs, "next_id", v + 1);
}

int bs_obj_get(MDB_txn *t, struct blockstore *bs, const char *name, struct obj_rec *o)
{
    return get(t, bs->objects, name, strlen(name), o, sizeof(*o));
}

int bs_obj_read(struct blockstore *bs, const char *name, struct obj_rec *o)
{
    MDB_txn *t;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    r = bs_obj_get(t, bs, name, o);
    mdb_txn_abort(t);
    return r;
}

int bs_obj_put(MDB_txn *t, struct blockstore *bs, const char *name, const struct obj_rec *o)
{
    return put(t, bs->objects, name, strlen(name), o, sizeof(*o));
}

int bs_layer_get(MDB_txn *t, struct blockstore *bs, uint64_t id, struct layer_rec *l)
{
    unsigned char k[8];
    bs_be64(k, id);
    int r = get(t, bs->layers, k, 8, l, sizeof(*l));
    if (r == -ENOENT)
        return bs_fail(-EUCLEAN, "layer %llu is missing", (unsigned long long)id);
    return r;
}

int bs_layer_put(MDB_txn *t, struct blockstore *bs, uint64_t id, const struct layer_rec *l)
{
    unsigned char k[8];
    bs_be64(k, id);
    return put(t, bs->layers, k, 8, l, sizeof(*l));
}

int bs_layer_new(MDB_txn *t, struct blockstore *bs, uint64_t parent, uint64_t *id)
{
    int r = bs_next_id(t, bs, id);
    if (r < 0)
        return r;
    struct layer_rec l = { .parent = parent, .holders = 1 };
    if ((r = bs_layer_put(t, bs, *id, &l)) < 0)
        return r;
    if (parent) {
        struct layer_rec p;
        if ((r = bs_layer_get(t, bs, parent, &p)) < 0)
            return r;
        p.children++;
        r = bs_layer_put(t, bs, parent, &p);
    }
    return r;
}

void bs_key16(unsigned char k[16], uint64_t a, uint64_t b)
{
    bs_be64(k, a);
    bs_be64(k + 8, b);
}

int bs_extent_decode(const MDB_val *v, struct bs_ext *e)
{
    uint32_t pad = 0;
    e->holes = 0;
    if (v->mv_size != 8 && v->mv_size != 16)
        return bs_fail(-EUCLEAN, "extent record of %zu bytes", v->mv_size);
    memcpy(&e->val, v->mv_data, 8);
    if (v->mv_size == 16) {
        memcpy(&e->holes, (char *)v->mv_data + 8, 4);
        memcpy(&pad, (char *)v->mv_data + 12, 4);
    }
    if (pad || e->holes >= EXTMAP_HOLES_FULL || (e->val == ZERO_MARK && e->holes))
        return bs_fail(-EUCLEAN, "extent record with holes %#x", e->holes);
    return 0;
}

int bs_extent_get(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl, struct bs_ext *e)
{
    unsigned char k[16];
    bs_key16(k, layer, vcl);
    MDB_val key = { 16, k }, val;
    int r = mdb_get(t, bs->extents, &key, &val);
    if (r == MDB_NOTFOUND)
        return -ENOENT;
    if (r)
        return bs_mdb(r, "mdb_get");
    return bs_extent_decode(&val, e);
}

int bs_extent_put(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl,
                  const struct bs_ext *e)
{
    unsigned char k[16], v[16] = { 0 };
    bs_key16(k, layer, vcl);
    memcpy(v, &e->val, 8);
    memcpy(v + 8, &e->holes, 4);
    return put(t, bs->extents, k, 16, v, e->holes ? 16 : 8); /* whole: as format 1 */
}

int bs_extent_del(MDB_txn *t, struct blockstore *bs, uint64_t layer, uint64_t vcl)
{
    unsigned char k[16];
    bs_key16(k, layer, vcl);
    return del(t, bs->extents, k, 16);
}

/* ---- space: the free list (start BE -> count) and the high-water mark ---- */

/* Takes up to *want clusters from the front of a range list (start BE ->
 * count) into out[*n...], leaving one slot of out for the high-water mark. */
static int take_ranges(MDB_txn *t, MDB_dbi dbi, uint64_t *want, struct extmap_range *out, int max,
                       int *n)
{
    MDB_cursor *c;
    int r = mdb_cursor_open(t, dbi, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    int g = 0;
    MDB_val k, v;
    while (*want && *n < max - 1 && r == 0 && (g = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
        uint64_t start = bs_get_be64(k.mv_data), count;
        memcpy(&count, v.mv_data, 8);
        uint64_t take = count < *want ? count : *want;
        if ((g = mdb_cursor_del(c, 0)))
            break;
        if (take < count) {
            unsigned char nk[8];
            uint64_t rest = count - take;
            bs_be64(nk, start + take);
            r = put(t, dbi, nk, 8, &rest, 8);
        }
        out[(*n)++] = (struct extmap_range){ start, take };
        *want -= take;
    }
    mdb_cursor_close(c);
    if (r < 0)
        return r;
    return g && g != MDB_NOTFOUND ? bs_mdb(g, "free list") : 0;
}

/* Zeroed clusters first (written before: a first write into them is an
 * overwrite for the filesystem), then freed ones, then new ones. */
int bs_alloc(MDB_txn *t, struct blockstore *bs, uint64_t want, struct extmap_range *out, int max,
             int *nout)
{
    int n = 0;
    int r = take_ranges(t, bs->zeroed, &want, out, max, &n);
    if (r == 0)
        r = take_ranges(t, bs->freel, &want, out, max, &n);
    if (r < 0)
        return r;
    if (want) {
        uint64_t hwm = 0;
        r = bs_meta_get(t, bs, "hwm", &hwm);
        if (r < 0 && r != -ENOENT)
            return r;
        if (hwm + want > ((uint64_t)EXTMAP_MAX_FILES << EXTMAP_FILE_SHIFT))
            return bs_fail(-ENOSPC, "the store is at its size limit");
        if ((r = bs_data_fds(bs, hwm + want - 1)) < 0)
            return r;
        out[n++] = (struct extmap_range){ hwm, want };
        if ((r = bs_meta_put(t, bs, "hwm", hwm + want)) < 0)
            return r;
    }
    *nout = n;
    return 0;
}

static int freed_add(struct bs_freed *f, uint64_t start, uint64_t count)
{
    if (!f)
        return 0;
    if (f->n && f->r[f->n - 1].start + f->r[f->n - 1].count == start) {
        f->r[f->n - 1].count += count;
        return 0;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct extmap_range *r = realloc(f->r, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        f->r = r;
        f->cap = cap;
    }
    f->r[f->n++] = (struct extmap_range){ start, count };
    return 0;
}

/* The ranges of a range list just before and at-or-after start. */
struct range_nb {
    int has_prev, has_next;
    uint64_t ps, pc, ns, nc;
};

static int range_neighbours(MDB_txn *t, MDB_dbi dbi, uint64_t start, struct range_nb *nb)
{
    *nb = (struct range_nb){ 0 };
    MDB_cursor *c;
    int r = mdb_cursor_open(t, dbi, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    unsigned char kb[8];
    bs_be64(kb, start);
    MDB_val k = { 8, kb }, v;
    r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (r == 0) {
        nb->has_next = 1;
        nb->ns = bs_get_be64(k.mv_data);
        memcpy(&nb->nc, v.mv_data, 8);
        r = mdb_cursor_get(c, &k, &v, MDB_PREV);
    } else if (r == MDB_NOTFOUND) {
        r = mdb_cursor_get(c, &k, &v, MDB_LAST);
    }
    if (r == 0) {
        nb->has_prev = 1;
        nb->ps = bs_get_be64(k.mv_data);
        memcpy(&nb->pc, v.mv_data, 8);
    }
    mdb_cursor_close(c);
    return r && r != MDB_NOTFOUND ? bs_mdb(r, "free list") : 0;
}

static int range_overlaps(const struct range_nb *nb, uint64_t start, uint64_t count)
{
    return (nb->has_next && nb->ns < start + count) || (nb->has_prev && nb->ps + nb->pc > start);
}

/* Neither free nor zeroed already: giving a cluster out twice would let two
 * writers share it. */
static int check_not_free(MDB_txn *t, struct blockstore *bs, uint64_t start, uint64_t count,
                          struct range_nb *in_free, struct range_nb *in_zeroed)
{
    int r = range_neighbours(t, bs->freel, start, in_free);
    if (r == 0)
        r = range_neighbours(t, bs->zeroed, start, in_zeroed);
    if (r < 0)
        return r;
    if (range_overlaps(in_free, start, count) || range_overlaps(in_zeroed, start, count))
        return bs_fail(-EUCLEAN, "freeing clusters %llu+%llu that are already free",
                       (unsigned long long)start, (unsigned long long)count);
    return 0;
}

/* Adds [start, start+count) to a range list, merged with its neighbours. */
static int range_insert(MDB_txn *t, MDB_dbi dbi, const struct range_nb *nb, uint64_t start,
                        uint64_t count)
{
    int r;
    if (nb->has_next && nb->ns == start + count) {
        unsigned char nk[8];
        bs_be64(nk, nb->ns);
        if ((r = del(t, dbi, nk, 8)) < 0)
            return r;
        count += nb->nc;
    }
    if (nb->has_prev && nb->ps + nb->pc == start) {
        start = nb->ps;
        count += nb->pc;
    }
    unsigned char kb[8];
    bs_be64(kb, start);
    return put(t, dbi, kb, 8, &count, 8);
}

int bs_free(MDB_txn *t, struct blockstore *bs, uint64_t start, uint64_t count,
            struct bs_freed *freed)
{
    if (!count)
        return 0;
    struct range_nb f, z;
    int r = check_not_free(t, bs, start, count, &f, &z);
    if (r == 0)
        r = freed_add(freed, start, count);
    return r < 0 ? r : range_insert(t, bs->freel, &f, start, count);
}

int bs_zeroed_add(MDB_txn *t, struct blockstore *bs, uint64_t start, uint64_t count)
{
    if (!count)
        return 0;
    struct range_nb f, z;
    int r = check_not_free(t, bs, start, count, &f, &z);
    return r < 0 ? r : range_insert(t, bs->zeroed, &z, start, count);
}

/* Gives granted clusters their blocks now (and the file its size): first
 * writes then neither allocate nor extend the file (which serialises O_DIRECT
 * writes on most filesystems), and a full filesystem shows up here, before
 * any data is written. */
int bs_reserve(struct blockstore *bs, const struct extmap_range *r)
{
    uint64_t p = r->start, left = r->count;
    while (left) {
        uint64_t f = p >> EXTMAP_FILE_SHIFT, in = p & ((1ull << EXTMAP_FILE_SHIFT) - 1);
        uint64_t n = (1ull << EXTMAP_FILE_SHIFT) - in;
        if (n > left)
            n = left;
        int e = bs_data_fds(bs, p + n - 1);
        if (e < 0)
            return e;
        /* A signal (a child exiting, a timer) can interrupt a long
         * allocation: that is no error, so it starts again. */
        int rc;
        do
            rc = fallocate(bs->data_fds[f], 0, (off_t)(in << EXTMAP_CLUSTER_SHIFT),
                           (off_t)(n << EXTMAP_CLUSTER_SHIFT));
        while (rc < 0 && errno == EINTR);
        if (rc < 0 && errno != EOPNOTSUPP)
            return bs_fail(-errno, "reserving %llu MiB in the image files: %s",
                           (unsigned long long)(n * EXTMAP_CLUSTER_SIZE >> 20), strerror(errno));
        p += n;
        left -= n;
    }
    return 0;
}

void bs_punch(struct blockstore *bs, struct bs_freed *freed)
{
    for (size_t i = 0; freed && i < freed->n; i++) {
        uint64_t p = freed->r[i].start, left = freed->r[i].count;
        while (left) {
            uint64_t f = p >> EXTMAP_FILE_SHIFT;
            uint64_t in_file =
                (1ull << EXTMAP_FILE_SHIFT) - (p & ((1ull << EXTMAP_FILE_SHIFT) - 1));
            uint64_t n = left < in_file ? left : in_file;
            if (f < EXTMAP_MAX_FILES && bs->data_fds[f] >= 0) /* space back to the fs */
                (void)fallocate(
                    bs->data_fds[f], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    (off_t)((p & ((1ull << EXTMAP_FILE_SHIFT) - 1)) << EXTMAP_CLUSTER_SHIFT),
                    (off_t)(n << EXTMAP_CLUSTER_SHIFT));
            p += n;
            left -= n;
        }
    }
    if (freed) {
        free(freed->r);
        *freed = (struct bs_freed){ 0 };
    }
}

/* ---- grants: (object BE, start BE) -> count ---- */

int bs_grant_add(MDB_txn *t, struct blockstore *bs, uint64_t obj, uint64_t start, uint64_t count)
{
    unsigned char k[16];
    bs_key16(k, obj, start);
    return put(t, bs->grants, k, 16, &count, 8);
}

/* Removes cluster p from obj's grant (the writer mapped it). */
int bs_grant_take(MDB_txn *t, struct blockstore *bs, uint64_t obj, uint64_t p)
{
    MDB_cursor *c;
    int r = mdb_cursor_open(t, bs->grants, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    unsigned char kb[16];
    bs_key16(kb, obj, p + 1);
    MDB_val k = { 16, kb }, v;
    r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (r == 0)
        r = mdb_cursor_get(c, &k, &v, MDB_PREV);
    else if (r == MDB_NOTFOUND)
        r = mdb_cursor_get(c, &k, &v, MDB_LAST);
    uint64_t s = 0, n = 0;
    if (r == 0 && k.mv_size == 16 && bs_get_be64(k.mv_data) == obj) {
        s = bs_get_be64((unsigned char *)k.mv_data + 8);
        memcpy(&n, v.mv_data, 8);
    }
    if (r || !(s <= p && p < s + n)) {
        mdb_cursor_close(c);
        return bs_fail(-EUCLEAN, "journal maps cluster %llu, not granted to object %llu",
                       (unsigned long long)p, (unsigned long long)obj);
    }
    r = mdb_cursor_del(c, 0);
    mdb_cursor_close(c);
    if (r)
        return bs_mdb(r, "grants");
    if (p > s && (r = bs_grant_add(t, bs, obj, s, p - s)) < 0)
        return r;
    if (p + 1 < s + n && (r = bs_grant_add(t, bs, obj, p + 1, s + n - p - 1)) < 0)
        return r;
    return 0;
}

int bs_grant_release(MDB_txn *t, struct blockstore *bs, uint64_t obj, struct bs_freed *freed)
{
    for (;;) {
        MDB_cursor *c;
        int r = mdb_cursor_open(t, bs->grants, &c);
        if (r)
            return bs_mdb(r, "mdb_cursor_open");
        unsigned char kb[16];
        bs_key16(kb, obj, 0);
        MDB_val k = { 16, kb }, v;
        r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (r == MDB_NOTFOUND || (r == 0 && bs_get_be64(k.mv_data) != obj)) {
            mdb_cursor_close(c);
            return 0;
        }
        uint64_t s = 0, n = 0;
        if (r == 0) {
            s = bs_get_be64((unsigned char *)k.mv_data + 8);
            memcpy(&n, v.mv_data, 8);
            r = mdb_cursor_del(c, 0);
        }
        mdb_cursor_close(c);
        if (r)
            return bs_mdb(r, "grants");
        if ((r = bs_free(t, bs, s, n, freed)) < 0)
            return r;
    }
}
