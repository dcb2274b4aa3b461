/* qcow2 reader for import: v2 and v3, zlib-compressed clusters, zero and
 * unallocated clusters. Every size and offset is checked against the file
 * size and fixed limits before use, so a hostile image gets an error and
 * never a crash or a large allocation (tests/unit/blockstore/fuzz/). */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define QCOW2_MAGIC          0x514649fbu
#define MAX_L1_BYTES         (32u << 20)
#define INCOMPAT_DIRTY       1ull
#define INCOMPAT_CORRUPT     2ull
#define INCOMPAT_DATA_FILE   4ull
#define INCOMPAT_COMPRESSION 8ull
#define INCOMPAT_EXTL2       16ull
#define L1_OFF_MASK          0x00fffffffffffe00ull
#define L2_COPIED            (1ull << 63)
#define L2_COMPRESSED        (1ull << 62)

struct qcow2 {
    qcow2_pread_fn rd;
    void *ctx;
    uint64_t file_size, size;
    uint32_t version, cluster_bits, cluster_size, l2_entries;
    int extl2; /* extended L2 entries: 16 bytes, a 32-sub-cluster bitmap each */
    uint64_t *l1;
    uint32_t l1_size;
    uint64_t l1_offset;
    uint64_t *l2;        /* one table */
    char *data, *comp;   /* one cluster, and compressed input */
    unsigned char *used; /* host clusters of L2 tables and data seen */
    uint64_t inflated;   /* bytes inflated from compressed clusters */
};

#define MAX_USED_BITMAP   (64u << 20)
#define DEFLATE_MAX_RATIO 1032 /* deflate never expands input more than this */

/* Every L2 table and uncompressed data cluster is used once: an image
 * that points twice at the same host cluster would have us write (and
 * allocate) far more than the file holds. */
static int claim(struct qcow2 *q, uint64_t host)
{
    uint64_t c = host >> q->cluster_bits;
    if (q->used[c >> 3] & (1u << (c & 7)))
        return -1;
    q->used[c >> 3] |= (unsigned char)(1u << (c & 7));
    return 0;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int qcow2_probe(const void *head, size_t len)
{
    return len >= 4 && be32(head) == QCOW2_MAGIC;
}

uint64_t qcow2_virtual_size(const struct qcow2 *q)
{
    return q->size;
}

static int bad(const char *what)
{
    return bs_fail(-EINVAL, "malformed qcow2: %s", what);
}

/* A table or cluster at [off, off+len) must lie inside the file, clear of
 * the header cluster and (for anything but the L1 table) of the L1 table. */
static int range_ok(const struct qcow2 *q, uint64_t off, uint64_t len, int not_l1)
{
    if (off < q->cluster_size || off > q->file_size || len > q->file_size - off)
        return 0;
    if (not_l1 && off < q->l1_offset + (uint64_t)q->l1_size * 8 && q->l1_offset < off + len)
        return 0;
    return 1;
}

static int parse_header(struct qcow2 *q, const unsigned char *h)
{
    if (be32(h) != QCOW2_MAGIC)
        return bad("no qcow2 magic");
    q->version = be32(h + 4);
    if (q->version != 2 && q->version != 3)
        return bs_fail(-ENOTSUP, "qcow2 version %u is not supported (2 and 3 are)", q->version);
    if (be64(h + 8) || be32(h + 16))
        return bs_fail(-ENOTSUP, "qcow2 images with a backing file are refused");
    q->cluster_bits = be32(h + 20);
    if (q->cluster_bits < 9 || q->cluster_bits > 21)
        return bad("cluster_bits out of 9..21");
    q->cluster_size = 1u << q->cluster_bits;
    q->l2_entries = q->cluster_size / 8;
    q->size = be64(h + 24);
    if (q->size == 0 || q->size > EXTMAP_MAX_SIZE)
        return bs_fail(-EFBIG, "qcow2 virtual size %llu is 0 or above 64 TiB",
                       (unsigned long long)q->size);
    if (be32(h + 32))
        return bs_fail(-ENOTSUP, "encrypted qcow2 images are refused");
    q->l1_size = be32(h + 36);
    q->l1_offset = be64(h + 40);
    if (q->version == 3) {
        uint64_t incompat = be64(h + 72);
        uint32_t hlen = be32(h + 100);
        if (hlen < 104 || hlen > q->cluster_size)
            return bad("header_length");
        if (incompat & INCOMPAT_CORRUPT)
            return bs_fail(-EINVAL, "qcow2 image is marked corrupt");
        if (incompat & INCOMPAT_DATA_FILE)
            return bs_fail(-ENOTSUP, "qcow2 images with an external data file are refused");
        if (incompat & INCOMPAT_EXTL2) {
            if (q->cluster_bits < 14) /* sub-clusters of at least 512 bytes */
                return bad("extended L2 entries with clusters under 16 KiB");
            q->extl2 = 1;
            q->l2_entries = q->cluster_size / 16;
        }
        if (incompat & INCOMPAT_COMPRESSION) {
            if (hlen < 105 || h[104] != 0)
                return bs_fail(-ENOTSUP, "qcow2 compression type other than zlib");
        }
        if (incompat & ~(INCOMPAT_DIRTY | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2))
            return bs_fail(-ENOTSUP, "qcow2 has unknown incompatible features %#llx",
                           (unsigned long long)incompat);
    }
    uint64_t per_l1 = (uint64_t)q->l2_entries * q->cluster_size;
    uint64_t need = (q->size + per_l1 - 1) / per_l1;
    if (q->l1_size < need)
        return bad("L1 table too small for the virtual size");
    if ((uint64_t)q->l1_size * 8 > MAX_L1_BYTES)
        return bad("L1 table too large");
    if (q->l1_offset % q->cluster_size && q->l1_offset % 512)
        return bad("L1 table offset not aligned");
    if (!range_ok(q, q->l1_offset, (uint64_t)q->l1_size * 8, 0))
        return bad("L1 table outside the file");
    return 0;
}

int qcow2_open(qcow2_pread_fn rd, void *ctx, uint64_t file_size, struct qcow2 **out)
{
    unsigned char h[112] = { 0 };
    if (file_size < 72)
        return bad("file shorter than a header");
    int r = rd(ctx, h, file_size < sizeof(h) ? (size_t)file_size : sizeof(h), 0);
    if (r < 0)
        return bs_fail(r, "reading the qcow2 header: %s", strerror(-r));
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->rd = rd;
    q->ctx = ctx;
    q->file_size = file_size;
    if (be32(h + 4) == 3 && file_size < 104)
        r = bad("file shorter than a v3 header");
    if (r == 0)
        r = parse_header(q, h);
    if (r == 0) {
        q->l1 = malloc((size_t)q->l1_size * 8 + 8);
        q->l2 = malloc(q->cluster_size);
        q->data = malloc(q->cluster_size);
        q->comp = malloc(2 * (size_t)q->cluster_size + 1024);
        uint64_t bits = (file_size >> q->cluster_bits) + 1;
        if (bits / 8 + 1 > MAX_USED_BITMAP)
            r = bad("file too large for its cluster size");
        else
            q->used = calloc(bits / 8 + 1, 1);
        if (r == 0 && (!q->l1 || !q->l2 || !q->data || !q->comp || !q->used))
            r = -ENOMEM;
    }
    if (r == 0 && q->l1_size && (r = rd(ctx, q->l1, (size_t)q->l1_size * 8, q->l1_offset)) < 0)
        r = bs_fail(r, "reading the L1 table: %s", strerror(-r));
    for (uint32_t i = 0; r == 0 && i < q->l1_size; i++)
        q->l1[i] = be64((unsigned char *)&q->l1[i]);
    if (r < 0) {
        qcow2_close(q);
        return r;
    }
    *out = q;
    return 0;
}

void qcow2_close(struct qcow2 *q)
{
    if (!q)
        return;
    free(q->l1);
    free(q->l2);
    free(q->data);
    free(q->comp);
    free(q->used);
    free(q);
}

static int inflate_cluster(struct qcow2 *q, uint64_t entry)
{
    uint32_t x = 62 - (q->cluster_bits - 8);
    uint64_t off = entry & ((1ull << x) - 1);
    uint64_t sectors = ((entry & ~L2_COPIED & ~L2_COMPRESSED) >> x) + 1;
    uint64_t len = sectors * 512 - (off & 511);
    if (off < q->cluster_size || off >= q->file_size)
        return bad("compressed cluster outside the file");
    if (len > 2ull * q->cluster_size + 512)
        return bad("compressed cluster too large");
    if (len > q->file_size - off)
        len = q->file_size - off; /* the last one may run past EOF */
    int r = q->rd(q->ctx, q->comp, (size_t)len, off);
    if (r < 0)
        return bs_fail(r, "reading a compressed cluster: %s", strerror(-r));
    z_stream z = { 0 };
    if (inflateInit2(&z, -12) != Z_OK)
        return bs_fail(-ENOMEM, "zlib init failed");
    z.next_in = (unsigned char *)q->comp;
    z.avail_in = (uInt)len;
    z.next_out = (unsigned char *)q->data;
    z.avail_out = q->cluster_size;
    int zr = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if ((zr != Z_STREAM_END && zr != Z_BUF_ERROR && zr != Z_OK) || z.avail_out != 0)
        return bad("compressed cluster does not inflate to a whole cluster");
    return 0;
}

int qcow2_read_all(struct qcow2 *q, int (*fn)(void *ctx, uint64_t off, const void *buf, size_t len),
                   void *ctx)
{
    uint64_t per_l1 = (uint64_t)q->l2_entries * q->cluster_size;
    for (uint32_t i = 0; i < q->l1_size; i++) {
        uint64_t l2off = q->l1[i] & L1_OFF_MASK;
        if ((uint64_t)i * per_l1 >= q->size)
            break;
        if (q->l1[i] & ~(L1_OFF_MASK | L2_COPIED))
            return bad("reserved bits set in an L1 entry");
        if (!l2off)
            continue;
        if (l2off % q->cluster_size || !range_ok(q, l2off, q->cluster_size, 1))
            return bad("L2 table offset outside the file or unaligned");
        if (claim(q, l2off) < 0)
            return bad("an L2 table is used twice");
        int r = q->rd(q->ctx, q->l2, q->cluster_size, l2off);
        if (r < 0)
            return bs_fail(r, "reading an L2 table: %s", strerror(-r));
        for (uint32_t j = 0; j < q->l2_entries; j++) {
            uint64_t voff = (uint64_t)i * per_l1 + (uint64_t)j * q->cluster_size;
            if (voff >= q->size)
                break;
            uint64_t e = be64((unsigned char *)&q->l2[q->extl2 ? 2 * j : j]);
            /* extended: bit i allocated, bit 32 + i reads as zeros (no
             * backing file: an unallocated sub-cluster reads zeros too) */
            uint64_t sub = q->extl2 ? be64((unsigned char *)&q->l2[2 * j + 1]) : 0;
            if (q->extl2 && (e & L2_COMPRESSED) && sub)
                return bad("a sub-cluster bitmap on a compressed cluster");
            if (q->extl2 && !(e & L2_COMPRESSED) && (sub & (sub >> 32) & 0xffffffffu))
                return bad("a sub-cluster both allocated and zero");
            size_t len =
                q->size - voff < q->cluster_size ? (size_t)(q->size - voff) : q->cluster_size;
            if (e & L2_COMPRESSED) {
                q->inflated += q->cluster_size;
                if (q->inflated > DEFLATE_MAX_RATIO * q->file_size + q->cluster_size)
                    return bad("compressed clusters inflate to more than the file can hold");
                if ((r = inflate_cluster(q, e)) < 0)
                    return r;
            } else {
                uint64_t host = e & L1_OFF_MASK;
                if (e & 0x3f000000000001feull)
                    return bad("reserved bits set in an L2 entry");
                if (q->version == 3 && (e & 1))
                    continue; /* zero cluster: stays unallocated */
                if (!host)
                    continue; /* unallocated */
                size_t sc = q->cluster_size / 32, have = len;
                if (q->extl2) { /* the file may end after the last allocated one */
                    if (!(sub & 0xffffffffu))
                        continue; /* no sub-cluster allocated: all zeros */
                    size_t top = (size_t)(64 - __builtin_clzll(sub & 0xffffffffu)) * sc;
                    have = top < len ? top : len;
                }
                if (host % q->cluster_size || !range_ok(q, host, have, 1))
                    return bad("data cluster outside the file or unaligned");
                if (claim(q, host) < 0)
                    return bad("a host cluster is used twice (or is an L2 table)");
                if ((r = q->rd(q->ctx, q->data, have, host)) < 0)
                    return bs_fail(r, "reading a data cluster: %s", strerror(-r));
                for (unsigned b = 0; q->extl2 && b < 32 && (size_t)b * sc < len; b++)
                    if (!(sub & (1ull << b)))
                        memset(q->data + (size_t)b * sc, 0,
                               len - (size_t)b * sc < sc ? len - (size_t)b * sc : sc);
            }
            if ((r = fn(ctx, voff, q->data, len)) < 0)
                return r;
        }
    }
    return 0;
}
