/* blockstore: export to a sparse raw file or a qcow2 v3 file. Only clusters
 * that hold nonzero data are written; everything else stays a hole
 * (raw) or unallocated (qcow2). With extended L2 entries (qcow2 incompatible
 * feature bit 4: 128-bit L2 entries, 32 sub-clusters of 2 KiB per cluster)
 * a cluster's entry also says which sub-clusters hold data: the others are
 * left unallocated (they read as zeros, there being no backing file), so a
 * cluster the disk wrote 4 KiB of exports as 4 KiB of allocated data. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 32
#define CS    EXTMAP_CLUSTER_SIZE

struct vlist {
    uint64_t *v;
    size_t n, cap;
};

static int collect(void *ctx, uint64_t vcl, enum extmap_kind kind, uint64_t p, int owned)
{
    (void)p;
    (void)owned;
    struct vlist *l = ctx;
    if (kind != EXTMAP_DATA)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        uint64_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = vcl;
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int nonzero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (x)
            return 1;
    }
    return 0;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    bs_be64(p, v);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

struct exporter {
    struct extmap *m;
    uint64_t size;
    int fd, qcow2;
    uint64_t next_host;    /* qcow2: next free host cluster */
    const struct vlist *l; /* the data clusters, in order */
    uint64_t *host;        /* qcow2: host cluster of l->v[i], 0: all zeros */
    uint32_t *alloc;       /* extended L2: allocated 2 KiB sub-clusters of l->v[i] */
    int extl2;             /* 1: 128-bit L2 entries */
};

#define QSUB    32 /* qcow2 sub-clusters per cluster (extended L2) */
#define QSUB_SZ (CS / QSUB)

/* Extended L2: bit i set when qcow2 sub-cluster i of cluster c holds data. */
static uint32_t data_bits(const char *c)
{
    uint32_t bits = 0;
    for (unsigned i = 0; i < QSUB; i++)
        if (nonzero(c + (size_t)i * QSUB_SZ, QSUB_SZ))
            bits |= 1u << i;
    return bits;
}

/* Reads the data clusters in batches and writes each nonzero one. */
static int copy_data(struct exporter *e, const struct vlist *l)
{
    char *buf;
    if (posix_memalign((void **)&buf, EXTMAP_BLOCK, (size_t)BATCH * CS))
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; i < l->n && r == 0; i += BATCH) {
        struct extmap_req q[BATCH];
        int n = 0;
        for (size_t j = i; j < l->n && n < BATCH; j++, n++) {
            uint64_t off = l->v[j] * CS;
            uint64_t len = e->size - off < CS ? e->size - off : CS;
            q[n] = (struct extmap_req){
                .op = EXTMAP_READ, .offset = off, .len = len, .buf = buf + (size_t)n * CS
            };
            if (len < CS)
                memset(buf + (size_t)n * CS + len, 0, CS - len);
        }
        if ((r = extmap_submit(e->m, q, n)) < 0)
            break;
        for (int k = 0; k < n && r == 0; k++) {
            char *c = buf + (size_t)k * CS;
            if (!nonzero(c, CS))
                continue;
            if (e->qcow2) {
                if (e->extl2)
                    e->alloc[i + (size_t)k] = data_bits(c);
                e->host[i + (size_t)k] = e->next_host++;
                r = pwrite_all(e->fd, c, CS, e->host[i + (size_t)k] * CS);
            } else {
                r = pwrite_all(e->fd, c, (size_t)q[k].len, q[k].offset);
            }
        }
    }
    free(buf);
    return r;
}

/* L2 entries per L2 table: 8 bytes each, 16 with extended L2. */
static uint64_t l2_entries(int extl2)
{
    return CS / (extl2 ? 16 : 8);
}

static int write_qcow2_tables(struct exporter *e)
{
    const uint64_t l2e = l2_entries(e->extl2);
    const unsigned esz = e->extl2 ? 16 : 8;
    uint64_t nv = (e->size + CS - 1) / CS;
    uint64_t l1_size = (nv + l2e - 1) / l2e;
    uint64_t l1_clusters = (l1_size * 8 + CS - 1) / CS;
    uint64_t *l1 = calloc(l1_clusters * CS / 8, 8);
    unsigned char *l2 = malloc(CS);
    if (!l1 || !l2) {
        free(l1);
        free(l2);
        return -ENOMEM;
    }
    int r = 0;
    for (size_t i = 0; i < e->l->n && r == 0;) {
        uint64_t t = e->l->v[i] / l2e;
        int any = 0;
        memset(l2, 0, CS);
        for (; i < e->l->n && e->l->v[i] / l2e == t; i++)
            if (e->host[i]) {
                unsigned char *ent = l2 + (e->l->v[i] % l2e) * esz;
                put_be64(ent, (e->host[i] * CS) | (1ull << 63));
                if (e->extl2) /* bits 0..31: allocated; 32..63 (reads zeros): none */
                    put_be64(ent + 8, e->alloc[i]);
                any = 1;
            }
        if (!any)
            continue;
        uint64_t host = e->next_host++;
        put_be64((unsigned char *)&l1[t], (host * CS) | (1ull << 63));
        r = pwrite_all(e->fd, l2, CS, host * CS);
    }
    if (r == 0)
        r = pwrite_all(e->fd, l1, l1_clusters * CS, CS);
    free(l2);
    /* refcounts (16-bit): every cluster used so far, plus the refcount
     * structures themselves, has refcount 1 */
    uint64_t t0 = e->next_host, rb = 0, rt = 0;
    for (int it = 0; it < 16; it++) {
        uint64_t total = t0 + rb + rt;
        uint64_t nrb = (total + CS / 2 - 1) / (CS / 2);
        uint64_t nrt = (nrb + CS / 8 - 1) / (CS / 8);
        if (nrb == rb && nrt == rt)
            break;
        rb = nrb;
        rt = nrt;
    }
    uint64_t total = t0 + rb + rt;
    uint64_t rt_off = t0, rb_off = t0 + rt;
    unsigned char *tab = calloc(rt, CS);
    unsigned char *blk = malloc(CS);
    if (!tab || !blk)
        r = r ? r : -ENOMEM;
    for (uint64_t b = 0; r == 0 && b < rb; b++) {
        memset(blk, 0, CS);
        for (uint64_t k = 0; k < CS / 2 && b * (CS / 2) + k < total; k++)
            blk[k * 2 + 1] = 1;
        put_be64(tab + b * 8, (rb_off + b) * CS);
        r = pwrite_all(e->fd, blk, CS, (rb_off + b) * CS);
    }
    if (r == 0)
        r = pwrite_all(e->fd, tab, rt * CS, rt_off * CS);
    free(tab);
    free(blk);
    unsigned char h[112] = { 0 };
    put_be32(h, 0x514649fb);
    put_be32(h + 4, 3);
    put_be32(h + 20, EXTMAP_CLUSTER_SHIFT);
    put_be64(h + 24, e->size);
    put_be32(h + 36, (uint32_t)l1_size);
    put_be64(h + 40, CS);
    put_be64(h + 48, rt_off * CS);
    put_be32(h + 56, (uint32_t)rt);
    if (e->extl2)
        put_be64(h + 72, 1ull << 4); /* incompatible feature: extended L2 entries */
    put_be32(h + 96, 4);
    put_be32(h + 100, 104);
    if (r == 0)
        r = pwrite_all(e->fd, h, sizeof(h), 0); /* bytes 104..111: end of extensions */
    if (r == 0 && ftruncate(e->fd, (off_t)(total * CS)) < 0)
        r = -errno;
    free(l1);
    return r;
}

int blockstore_export(struct blockstore *bs, const char *name, const char *path,
                      enum blockstore_format fmt)
{
    struct blockstore_disk *d;
    int r = blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d);
    if (r < 0)
        return r;
    struct vlist l = { 0 };
    struct exporter e = { .m = blockstore_disk_map(d),
                          .qcow2 = fmt == BLOCKSTORE_FMT_QCOW2 || fmt == BLOCKSTORE_FMT_QCOW2_EXTL2,
                          .extl2 = fmt == BLOCKSTORE_FMT_QCOW2_EXTL2,
                          .l = &l };
    e.size = extmap_size(e.m);
    r = extmap_foreach(e.m, collect, &l);
    e.fd = r == 0 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (r == 0 && e.fd < 0)
        r = bs_fail(-errno, "cannot create %s: %s", path, strerror(errno));
    if (r == 0 && e.qcow2) {
        uint64_t nv = (e.size + CS - 1) / CS;
        uint64_t l2e = l2_entries(e.extl2);
        uint64_t l1_size = (nv + l2e - 1) / l2e;
        e.next_host = 1 + (l1_size * 8 + CS - 1) / CS;
        e.host = calloc(l.n ? l.n : 1, sizeof(uint64_t));
        e.alloc = calloc(l.n ? l.n : 1, sizeof(uint32_t));
        if (!e.host || !e.alloc)
            r = -ENOMEM;
    } else if (r == 0 && ftruncate(e.fd, (off_t)e.size) < 0) {
        r = bs_fail(-errno, "cannot size %s: %s", path, strerror(errno));
    }
    if (r == 0)
        r = copy_data(&e, &l);
    if (r == 0 && e.qcow2)
        r = write_qcow2_tables(&e);
    if (r == 0 && fsync(e.fd) < 0)
        r = -errno;
    if (e.fd >= 0 && close(e.fd) < 0 && r == 0)
        r = -errno;
    if (r < 0 && e.fd >= 0)
        unlink(path);
    if (r < 0 && !strstr(blockstore_error(), path))
        bs_fail(r, "export of '%s' to %s: %s", name, path, strerror(-r));
    free(l.v);
    free(e.host);
    free(e.alloc);
    blockstore_disk_close(d);
    return r;
}
