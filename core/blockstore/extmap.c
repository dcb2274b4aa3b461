/* extmap: the in-memory map, the grant and the journal writer (see extmap.h).
 * The data path (segmenting requests, io_uring batches) is in extmap_io.c. */
#include "core/blockstore/extmap_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

struct xent *extmap_xent(const struct extmap *m, uint64_t vcl, int create)
{
    uint64_t i = vcl >> L2_BITS;
    if (i >= m->l1_len)
        return NULL;
    if (!m->l1[i]) {
        if (!create)
            return NULL;
        m->l1[i] = calloc(L2_SIZE, sizeof(struct xent));
        if (!m->l1[i])
            return NULL;
    }
    return &m->l1[i][vcl & (L2_SIZE - 1)];
}

static uint64_t *slot(const struct extmap *m, uint64_t vcl, int create)
{
    struct xent *x = extmap_xent(m, vcl, create);
    return x ? &x->e : NULL;
}

uint64_t extmap_entry(const struct extmap *m, uint64_t vcl)
{
    uint64_t *s = slot(m, vcl, 0);
    return s ? *s : 0;
}

uint64_t *extmap_slot(struct extmap *m, uint64_t vcl)
{
    return slot(m, vcl, 1);
}

uint64_t extmap_resolve(const struct extmap *m, uint64_t vcl, unsigned sub)
{
    const struct xent *x = extmap_xent(m, vcl, 0);
    if (!x)
        return 0;
    if (!(x->holes & (1u << sub)))
        return x->e & VAL_MASK;
    for (uint32_t u = x->under; u; u = m->under[u].next)
        if (!(m->under[u].holes & (1u << sub)))
            return m->under[u].val;
    return 0;
}

uint32_t extmap_under_push(struct extmap *m, uint64_t val, uint16_t holes, uint32_t next)
{
    uint32_t u = m->under_free;
    if (u) {
        m->under_free = m->under[u].next;
    } else {
        if (m->nunder == m->under_cap) {
            uint32_t cap = m->under_cap ? m->under_cap * 2 : 256;
            struct xunder *n = realloc(m->under, cap * sizeof(*n));
            if (!n)
                return 0;
            m->under = n;
            m->under_cap = cap;
            if (m->nunder == 0)
                m->nunder = 1; /* index 0 means none */
        }
        u = m->nunder++;
    }
    m->under[u] = (struct xunder){ .val = val, .next = next, .holes = holes };
    return u;
}

void extmap_under_drop(struct extmap *m, struct xent *x)
{
    uint32_t u = x->under;
    while (u) {
        uint32_t next = m->under[u].next;
        m->under[u].next = m->under_free;
        m->under_free = u;
        u = next;
    }
    x->under = 0;
}

static int grow_l1(struct extmap *m, uint64_t size)
{
    uint64_t clusters = (size + EXTMAP_CLUSTER_SIZE - 1) >> EXTMAP_CLUSTER_SHIFT;
    uint64_t len = (clusters + L2_SIZE - 1) >> L2_BITS;
    if (len <= m->l1_len)
        return 0;
    struct xent **n = realloc(m->l1, len * sizeof(*n));
    if (!n)
        return -ENOMEM;
    memset(n + m->l1_len, 0, (len - m->l1_len) * sizeof(*n));
    m->l1 = n;
    m->l1_len = len;
    return 0;
}

/* The ring may only read, write and sync (and take an eventfd): whatever a
 * hostile guest makes the VMM's disk thread do, it cannot reach other
 * io_uring operations (seccomp does not see them). */
static int restrict_ring(struct extmap *m)
{
    struct io_uring_restriction res[5];
    memset(res, 0, sizeof(res));
    static const uint8_t ops[] = { IORING_OP_READ, IORING_OP_WRITE, IORING_OP_FSYNC };
    for (int i = 0; i < 3; i++) {
        res[i].opcode = IORING_RESTRICTION_SQE_OP;
        res[i].sqe_op = ops[i];
    }
    res[3].opcode = IORING_RESTRICTION_REGISTER_OP;
    res[3].register_op = IORING_REGISTER_EVENTFD;
    /* the only SQE flag used: reads of partly written clusters link their
     * overlays behind the base read (extmap_read.c) */
    res[4].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    res[4].sqe_flags = IOSQE_IO_LINK;
    /* raw io_uring_register(2): Debian's liburing 2.3 lacks the wrappers */
    if (syscall(__NR_io_uring_register, m->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res, 5) <
            0 ||
        syscall(__NR_io_uring_register, m->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    return 0;
}

int extmap_create(const struct extmap_config *cfg, struct extmap **out)
{
    if (cfg->size > EXTMAP_MAX_SIZE)
        return -EFBIG;
    struct extmap *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->cfg = *cfg;
    m->size = cfg->size;
    m->epoch = 1;
    m->journal_off =
        cfg->journal_offset < EXTMAP_JOURNAL_HEADER ? EXTMAP_JOURNAL_HEADER : cfg->journal_offset;
    int r = grow_l1(m, cfg->size);
    if (r == 0) {
        unsigned f = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED;
        int q = io_uring_queue_init(EXTMAP_RING_ENTRIES, &m->ring, f);
        if (q == -EINVAL) /* an older kernel */
            q = io_uring_queue_init(EXTMAP_RING_ENTRIES, &m->ring, f &= ~IORING_SETUP_COOP_TASKRUN);
        if (q < 0)
            r = q;
        else
            m->ring_ok = 1;
        if (r == 0)
            r = restrict_ring(m);
    }
    if (r == 0) {
        m->pool = NULL;
        if (posix_memalign((void **)&m->pool, EXTMAP_BLOCK,
                           (size_t)EXTMAP_QUEUE_DEPTH * EXTMAP_CLUSTER_SIZE))
            r = -ENOMEM;
    }
    if (r < 0) {
        extmap_destroy(m);
        return r;
    }
    *out = m;
    return 0;
}

void extmap_destroy(struct extmap *m)
{
    if (!m)
        return;
    for (uint64_t i = 0; i < m->l1_len; i++)
        free(m->l1[i]);
    free(m->l1);
    free(m->grant);
    free(m->dirty);
    free(m->under);
    free(m->pool);
    if (m->ring_ok)
        io_uring_queue_exit(&m->ring);
    free(m);
}

static int check_set(const struct extmap *m, uint64_t vcl, enum extmap_kind kind, uint64_t pcl)
{
    if (vcl >= ((m->size + EXTMAP_CLUSTER_SIZE - 1) >> EXTMAP_CLUSTER_SHIFT))
        return -ERANGE;
    if (kind == EXTMAP_DATA && pcl >= ((uint64_t)EXTMAP_MAX_FILES << EXTMAP_FILE_SHIFT))
        return -ERANGE;
    return 0;
}

int extmap_set(struct extmap *m, uint64_t vcl, enum extmap_kind kind, uint64_t pcl, int owned)
{
    int r = check_set(m, vcl, kind, pcl);
    if (r < 0)
        return r;
    struct xent *x = extmap_xent(m, vcl, kind != EXTMAP_UNMAPPED);
    if (!x)
        return kind == EXTMAP_UNMAPPED ? 0 : -ENOMEM;
    uint64_t val = kind == EXTMAP_UNMAPPED ? 0 : kind == EXTMAP_ZERO ? VAL_ZERO : pcl + 2;
    x->e = val ? (val | ((uint64_t)(owned ? m->epoch : 0) << EPOCH_SHIFT)) : 0;
    x->holes = 0;
    extmap_under_drop(m, x);
    return 0;
}

int extmap_set_sub(struct extmap *m, uint64_t vcl, enum extmap_kind kind, uint64_t pcl,
                   uint32_t holes, int owned)
{
    int r = check_set(m, vcl, kind, pcl);
    if (r < 0)
        return r;
    if (kind == EXTMAP_UNMAPPED)
        return 0;
    if (holes >= SUB_FULL || (kind == EXTMAP_ZERO && holes))
        return -EINVAL;
    struct xent *x = extmap_xent(m, vcl, 1);
    if (!x)
        return -ENOMEM;
    uint64_t val = kind == EXTMAP_ZERO ? VAL_ZERO : pcl + 2;
    if (!(x->e & VAL_MASK)) {
        x->e = val | ((uint64_t)(owned ? m->epoch : 0) << EPOCH_SHIFT);
        x->holes = (uint16_t)holes;
        x->under = 0;
        return 0;
    }
    /* the sub-clusters that still fall through everything above */
    uint32_t open = x->holes, *link = &x->under;
    while (*link) {
        open &= m->under[*link].holes;
        link = &m->under[*link].next;
    }
    if (!(open & ~holes & SUB_FULL))
        return 0; /* it would serve nothing */
    uint32_t u = extmap_under_push(m, val, (uint16_t)holes, 0);
    if (!u)
        return -ENOMEM;
    /* the pool may have moved: walk again to the tail */
    link = &x->under;
    while (*link)
        link = &m->under[*link].next;
    *link = u;
    return 0;
}

uint32_t extmap_holes(const struct extmap *m, uint64_t vcl)
{
    const struct xent *x = extmap_xent(m, vcl, 0);
    return x ? x->holes : 0;
}

int extmap_get(const struct extmap *m, uint64_t vcl, uint64_t *pcl, int *owned)
{
    uint64_t e = extmap_entry(m, vcl);
    uint64_t v = e & VAL_MASK;
    if (owned)
        *owned = v && (e >> EPOCH_SHIFT) == m->epoch;
    if (!v)
        return EXTMAP_UNMAPPED;
    if (v == VAL_ZERO)
        return EXTMAP_ZERO;
    if (pcl)
        *pcl = v - 2;
    return EXTMAP_DATA;
}

int extmap_add_grant(struct extmap *m, uint64_t start, uint64_t count)
{
    if (!count)
        return 0;
    if (m->ngrant == m->grant_cap) {
        size_t cap = m->grant_cap ? m->grant_cap * 2 : 16;
        struct extmap_range *g = realloc(m->grant, cap * sizeof(*g));
        if (!g)
            return -ENOMEM;
        m->grant = g;
        m->grant_cap = cap;
    }
    m->grant[m->ngrant++] = (struct extmap_range){ start, count };
    m->grant_left += count;
    return 0;
}

int extmap_set_data_fd(struct extmap *m, int file, int fd)
{
    if (file < 0 || file >= EXTMAP_MAX_FILES)
        return -EINVAL;
    m->cfg.data_fds[file] = fd;
    return 0;
}

uint64_t extmap_grant_left(const struct extmap *m)
{
    return m->grant_left;
}

/* Takes one cluster from the grant, refilling it when empty. */
int extmap_alloc(struct extmap *m, uint64_t *pcl)
{
    if (m->grant_left == 0) {
        if (!m->cfg.refill)
            return -ENOSPC;
        struct extmap_range r[16];
        int n = m->cfg.refill(m->cfg.refill_ctx, r, 16);
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++) {
            int e = extmap_add_grant(m, r[i].start, r[i].count);
            if (e < 0)
                return e;
        }
        if (m->grant_left == 0)
            return -ENOSPC;
    }
    while (m->grant[m->grant_head].count == 0)
        m->grant_head++;
    struct extmap_range *g = &m->grant[m->grant_head];
    *pcl = g->start++;
    g->count--;
    m->grant_left--;
    if (m->grant_left == 0) {
        m->ngrant = 0;
        m->grant_head = 0;
    }
    return 0;
}

int extmap_set_size(struct extmap *m, uint64_t size)
{
    if (size < m->size)
        return -EINVAL;
    if (size > EXTMAP_MAX_SIZE)
        return -EFBIG;
    int r = grow_l1(m, size);
    if (r == 0)
        m->size = size;
    return r;
}

uint64_t extmap_size(const struct extmap *m)
{
    return m->size;
}

int extmap_new_epoch(struct extmap *m)
{
    if (m->ndirty)
        return -EBUSY;
    if (++m->epoch == 0) { /* wrapped: make every entry shared, once per 65535 */
        for (uint64_t i = 0; i < m->l1_len; i++)
            for (uint64_t j = 0; m->l1[i] && j < L2_SIZE; j++)
                m->l1[i][j].e &= VAL_MASK;
        m->epoch = 1;
    }
    return 0;
}

int extmap_mark_dirty(struct extmap *m, uint64_t vcl)
{
    uint64_t *s = slot(m, vcl, 1);
    if (!s)
        return -ENOMEM;
    if (*s & DIRTY_BIT)
        return 0;
    if (m->ndirty == m->dirty_cap) {
        size_t cap = m->dirty_cap ? m->dirty_cap * 2 : 256;
        uint64_t *d = realloc(m->dirty, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        m->dirty = d;
        m->dirty_cap = cap;
    }
    m->dirty[m->ndirty++] = vcl;
    *s |= DIRTY_BIT;
    return 0;
}

int extmap_foreach(const struct extmap *m, extmap_each_fn fn, void *ctx)
{
    for (uint64_t i = 0; i < m->l1_len; i++) {
        if (!m->l1[i])
            continue;
        for (uint64_t j = 0; j < L2_SIZE; j++) {
            uint64_t e = m->l1[i][j].e;
            uint64_t v = e & VAL_MASK;
            if (!v)
                continue;
            int owned = (e >> EPOCH_SHIFT) == m->epoch;
            int r = fn(ctx, (i << L2_BITS) | j, v == VAL_ZERO ? EXTMAP_ZERO : EXTMAP_DATA,
                       v == VAL_ZERO ? 0 : v - 2, owned);
            if (r)
                return r;
        }
    }
    return 0;
}

int extmap_foreach_sub(const struct extmap *m, extmap_sub_fn fn, void *ctx)
{
    for (uint64_t i = 0; i < m->l1_len; i++) {
        if (!m->l1[i])
            continue;
        for (uint64_t j = 0; j < L2_SIZE; j++) {
            const struct xent *x = &m->l1[i][j];
            uint64_t v = x->e & VAL_MASK, vcl = (i << L2_BITS) | j;
            if (!v)
                continue;
            int owned = (x->e >> EPOCH_SHIFT) == m->epoch;
            int r = fn(ctx, vcl, 0, v == VAL_ZERO ? EXTMAP_ZERO : EXTMAP_DATA,
                       v == VAL_ZERO ? 0 : v - 2, x->holes, owned);
            unsigned depth = 1;
            for (uint32_t u = x->under; u && !r; u = m->under[u].next, depth++) {
                uint64_t w = m->under[u].val;
                r = fn(ctx, vcl, depth, w == VAL_ZERO ? EXTMAP_ZERO : EXTMAP_DATA,
                       w == VAL_ZERO ? 0 : w - 2, m->under[u].holes, 0);
            }
            if (r)
                return r;
        }
    }
    return 0;
}

/* ---- journal ---- */

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

int extmap_journal_init(int fd, uint64_t disk_id, uint64_t generation)
{
    unsigned char h[EXTMAP_JOURNAL_HEADER] = { 0 };
    memcpy(h, "PSJRNL2\n", 8);
    put64(h + 8, disk_id);
    put64(h + 16, generation);
    put32(h + 24, EXTMAP_CLUSTER_SIZE);
    put32(h + 60, (uint32_t)crc32(0, h, 60));
    if (ftruncate(fd, 0) < 0)
        return -errno;
    int r = write_all(fd, h, sizeof(h), 0);
    if (r == 0 && fdatasync(fd) < 0)
        r = -errno;
    return r;
}

void extmap_journal_encode(unsigned char *rec, uint64_t gen, uint64_t vcl, uint64_t value,
                           uint32_t holes)
{
    memset(rec, 0, EXTMAP_JOURNAL_RECORD);
    put64(rec, gen);
    put64(rec + 8, vcl);
    put64(rec + 16, value);
    put32(rec + 24, holes);
    put32(rec + 28, (uint32_t)crc32(0, rec, 28));
}

int64_t extmap_journal_scan(int fd, uint64_t disk_id, uint64_t generation, uint64_t from,
                            uint64_t *end, extmap_journal_fn fn, void *ctx)
{
    unsigned char h[EXTMAP_JOURNAL_HEADER];
    ssize_t n = pread(fd, h, sizeof(h), 0);
    if (n != (ssize_t)sizeof(h) || (memcmp(h, "PSJRNL1\n", 8) && memcmp(h, "PSJRNL2\n", 8)) ||
        get32(h + 60) != (uint32_t)crc32(0, h, 60) || get64(h + 8) != disk_id ||
        get32(h + 24) != EXTMAP_CLUSTER_SIZE)
        return -EINVAL;
    uint64_t hgen = get64(h + 16);
    if (from < EXTMAP_JOURNAL_HEADER)
        from = EXTMAP_JOURNAL_HEADER;
    *end = from;
    if (hgen != generation)
        return (int64_t)(hgen & INT64_MAX);
    unsigned char buf[EXTMAP_JOURNAL_RECORD * 256];
    for (;;) {
        n = pread(fd, buf, sizeof(buf), (off_t)*end);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        size_t k = (size_t)n / EXTMAP_JOURNAL_RECORD;
        for (size_t i = 0; i < k; i++) {
            unsigned char *r = buf + i * EXTMAP_JOURNAL_RECORD;
            if (get32(r + 28) != (uint32_t)crc32(0, r, 28) || get64(r) != generation)
                return (int64_t)(hgen & INT64_MAX);
            struct extmap_journal_rec rec = { get64(r + 8), get64(r + 16), get32(r + 24) };
            if (rec.holes >= SUB_FULL || (rec.value == EXTMAP_JOURNAL_ZERO && rec.holes))
                return -EUCLEAN; /* a valid record this format never writes */
            int e = fn ? fn(ctx, &rec) : 0;
            if (e)
                return e < 0 ? e : -EIO;
            *end += EXTMAP_JOURNAL_RECORD;
        }
        if (k < 256)
            return (int64_t)(hgen & INT64_MAX);
    }
}

uint64_t extmap_journal_offset(const struct extmap *m)
{
    return m->journal_off;
}

/* Flush step 2+3: one record per dirty cluster, then fdatasync the journal. */
int extmap_journal_commit(struct extmap *m)
{
    if (!m->ndirty)
        return 0;
    if (m->cfg.journal_fd < 0)
        return -EROFS;
    size_t len = m->ndirty * EXTMAP_JOURNAL_RECORD;
    unsigned char *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < m->ndirty; i++) {
        const struct xent *x = extmap_xent(m, m->dirty[i], 0);
        uint64_t e = x ? x->e & VAL_MASK : VAL_ZERO;
        uint64_t value = e == VAL_ZERO ? EXTMAP_JOURNAL_ZERO : e - 2;
        extmap_journal_encode(buf + i * EXTMAP_JOURNAL_RECORD, m->cfg.journal_generation,
                              m->dirty[i], value, x && e != VAL_ZERO ? x->holes : 0);
    }
    int r = write_all(m->cfg.journal_fd, buf, len, m->journal_off);
    free(buf);
    if (r == 0 && fdatasync(m->cfg.journal_fd) < 0)
        r = -errno;
    if (r < 0)
        return r; /* dirty set kept: the next flush rewrites the same offset */
    m->journal_off += len;
    for (size_t i = 0; i < m->ndirty; i++) {
        uint64_t *s = slot(m, m->dirty[i], 0);
        if (s)
            *s &= ~DIRTY_BIT;
    }
    m->ndirty = 0;
    return 0;
}

/* ---- map snapshots (hand-over) ---- */

struct save_ctx {
    unsigned char *buf;
    size_t n, cap;
};

static int save_one(void *vctx, uint64_t vcl, unsigned depth, enum extmap_kind kind, uint64_t p,
                    uint32_t holes, int owned)
{
    (void)depth;
    struct save_ctx *c = vctx;
    if (c->n + 24 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 24 * 4096;
        unsigned char *b = realloc(c->buf, cap);
        if (!b)
            return -ENOMEM;
        c->buf = b;
        c->cap = cap;
    }
    unsigned char *r = c->buf + c->n;
    put64(r, vcl);
    put64(r + 8, kind == EXTMAP_ZERO ? EXTMAP_JOURNAL_ZERO : p);
    put32(r + 16, (owned ? 1u : 0u) | holes << 16);
    put32(r + 20, (uint32_t)crc32(0, r, 20));
    c->n += 24;
    return 0;
}

int extmap_save(const struct extmap *m, int fd)
{
    struct save_ctx c = { 0 };
    int r = extmap_foreach_sub(m, save_one, &c);
    unsigned char h[64] = { 0 };
    memcpy(h, "PSXMAP2\n", 8);
    put64(h + 8, m->cfg.disk_id);
    put64(h + 16, m->size);
    put64(h + 24, c.n / 24);
    put32(h + 32, EXTMAP_CLUSTER_SIZE);
    put32(h + 60, (uint32_t)crc32(0, h, 60));
    if (r == 0)
        r = write_all(fd, h, sizeof(h), 0);
    if (r == 0 && c.n)
        r = write_all(fd, c.buf, c.n, sizeof(h));
    free(c.buf);
    return r;
}

int extmap_load(struct extmap *m, int fd)
{
    unsigned char h[64], r[24 * 256];
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        (memcmp(h, "PSXMAP1\n", 8) && memcmp(h, "PSXMAP2\n", 8)) ||
        get32(h + 60) != (uint32_t)crc32(0, h, 60) || get32(h + 32) != EXTMAP_CLUSTER_SIZE ||
        get64(h + 8) != m->cfg.disk_id || get64(h + 16) != m->size)
        return -EINVAL;
    uint64_t count = get64(h + 24), done = 0;
    while (done < count) {
        size_t want = (size_t)((count - done) < 256 ? (count - done) : 256);
        ssize_t n = pread(fd, r, want * 24, (off_t)(64 + done * 24));
        if (n != (ssize_t)(want * 24))
            return n < 0 ? -errno : -EINVAL;
        for (size_t i = 0; i < want; i++) {
            unsigned char *p = r + i * 24;
            if (get32(p + 20) != (uint32_t)crc32(0, p, 20))
                return -EINVAL;
            uint64_t v = get64(p + 8);
            uint32_t f = get32(p + 16); /* bit 0 owned, bits 16..31 holes */
            int e =
                extmap_set_sub(m, get64(p), v == EXTMAP_JOURNAL_ZERO ? EXTMAP_ZERO : EXTMAP_DATA, v,
                               f >> 16, f & 1);
            if (e < 0)
                return e;
        }
        done += want;
    }
    return 0;
}

int extmap_open_handover(const struct extmap_handover *h, extmap_refill_fn refill, void *refill_ctx,
                         struct extmap **out)
{
    struct extmap_config cfg = { .disk_id = h->disk_id,
                                 .size = h->size,
                                 .journal_fd = h->journal_fd,
                                 .journal_generation = h->journal_generation,
                                 .journal_offset = h->journal_offset,
                                 .refill = refill,
                                 .refill_ctx = refill_ctx };
    memcpy(cfg.data_fds, h->data_fds, sizeof(cfg.data_fds));
    struct extmap *m;
    int r = extmap_create(&cfg, &m);
    if (r < 0)
        return r;
    r = extmap_load(m, h->map_fd);
    for (int i = 0; r == 0 && i < h->ngrant && i < EXTMAP_HANDOVER_GRANTS; i++)
        r = extmap_add_grant(m, h->grant[i].start, h->grant[i].count);
    if (r < 0) {
        extmap_destroy(m);
        return r;
    }
    *out = m;
    return 0;
}
