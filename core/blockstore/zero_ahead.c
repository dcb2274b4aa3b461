/* Zeroing ahead (blockstore.h, "Zeroing ahead"): zeros written past the
 * high-water mark in large writes while the store is idle, so that the
 * clusters grants hand out next have been written before. A small first
 * write into space reserved with fallocate() makes ext4 split and convert an
 * unwritten extent (a journal handle per write); into written space it is an
 * overwrite. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define ZERO_CHUNK  (1u << 20) /* bytes per write */
#define BATCH_LIMIT (1u << 16) /* clusters per call: 4 GiB */

static int zeroed_count(MDB_txn *t, struct blockstore *bs, uint64_t *out)
{
    MDB_cursor *c;
    int r = mdb_cursor_open(t, bs->zeroed, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    MDB_val k, v;
    uint64_t sum = 0;
    int g;
    for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0;
         g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t n;
        if (v.mv_size != 8)
            break;
        memcpy(&n, v.mv_data, 8);
        sum += n;
    }
    mdb_cursor_close(c);
    if (g == 0)
        return bs_fail(-EUCLEAN, "a zeroed-list record of %zu bytes", v.mv_size);
    if (g != MDB_NOTFOUND)
        return bs_mdb(g, "zeroed list");
    *out = sum;
    return 0;
}

/* pwrite() of the whole range, through short writes and signals. */
static int write_all(int fd, const void *z, uint64_t off, uint64_t len)
{
    while (len) {
        size_t k = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
        ssize_t w = pwrite(fd, z, k, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

/* Zeros over clusters [p, p + n), which may span image files. */
static int write_zeros(struct blockstore *bs, uint64_t p, uint64_t n)
{
    void *z;
    if (posix_memalign(&z, 4096, ZERO_CHUNK))
        return -ENOMEM;
    memset(z, 0, ZERO_CHUNK);
    int r = 0;
    while (n && r == 0) {
        uint64_t f = p >> EXTMAP_FILE_SHIFT, in = p & ((1ull << EXTMAP_FILE_SHIFT) - 1);
        uint64_t m = (1ull << EXTMAP_FILE_SHIFT) - in;
        if (m > n)
            m = n;
        r = write_all(bs->data_fds[f], z, in << EXTMAP_CLUSTER_SHIFT, m << EXTMAP_CLUSTER_SHIFT);
        p += m;
        n -= m;
    }
    free(z);
    return r < 0 ? bs_fail(r, "zeroing ahead in the image files: %s", strerror(-r)) : 0;
}

/* Space written but not recorded goes back to the filesystem. */
static void unwrite(struct blockstore *bs, uint64_t p, uint64_t n)
{
    struct bs_freed f = { malloc(sizeof(struct extmap_range)), 1, 1 };
    if (!f.r)
        return;
    f.r[0] = (struct extmap_range){ p, n };
    bs_punch(bs, &f);
}

/* Whether the filesystem keeps 4 x reserve free after n more clusters. */
static int room_for(struct blockstore *bs, uint64_t reserve, uint64_t n)
{
    struct statvfs sv;
    if (reserve > (UINT64_MAX >> 3) || fstatvfs(bs->data_fds[0], &sv) < 0)
        return 0;
    uint64_t free_clusters = (uint64_t)sv.f_bavail * sv.f_frsize >> EXTMAP_CLUSTER_SHIFT;
    return free_clusters >= n + 4 * reserve;
}

int blockstore_zero_ahead(struct blockstore *bs, uint64_t reserve, uint64_t batch)
{
    if (batch == 0 || batch > BATCH_LIMIT)
        return bs_fail(-EINVAL, "zeroing ahead takes 1 to %u clusters at a time", BATCH_LIMIT);
    MDB_txn *t;
    uint64_t hwm = 0, have = 0;
    int r = bs_begin(bs, 1, &t);
    if (r < 0)
        return r;
    r = bs_meta_get(t, bs, "hwm", &hwm);
    if (r == -ENOENT)
        r = 0;
    if (r == 0)
        r = zeroed_count(t, bs, &have);
    mdb_txn_abort(t);
    if (r < 0 || have >= reserve)
        return r;
    uint64_t n = reserve - have < batch ? reserve - have : batch;
    if (hwm + n > ((uint64_t)EXTMAP_MAX_FILES << EXTMAP_FILE_SHIFT))
        return 0; /* at the size limit: the last clusters stay as they are */
    if ((r = bs_data_fds(bs, hwm + n - 1)) < 0)
        return r;
    if (!room_for(bs, reserve, n))
        return 0;
    /* Past the high-water mark nothing is anyone's: a crash before the
     * commit leaves zeros that the next call writes again. */
    if ((r = write_zeros(bs, hwm, n)) < 0) {
        unwrite(bs, hwm, n);
        return r;
    }
    if ((r = bs_begin(bs, 0, &t)) < 0) {
        unwrite(bs, hwm, n);
        return r;
    }
    uint64_t now = 0;
    r = bs_meta_get(t, bs, "hwm", &now);
    if (r == -ENOENT)
        r = 0;
    if (r == 0 && now != hwm) /* callers serialise their calls: a bug if seen */
        r = bs_fail(-EBUSY, "the high-water mark moved while zeroing ahead");
    if (r == 0)
        r = bs_meta_put(t, bs, "hwm", hwm + n);
    if (r == 0)
        r = bs_zeroed_add(t, bs, hwm, n);
    if ((r = bs_finish(bs, t, r, NULL)) < 0) {
        if (now == hwm)
            unwrite(bs, hwm, n);
        return r;
    }
    return (int)n;
}
