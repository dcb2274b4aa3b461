/* Model test: thousands of random operations (write, discard, write-zeroes,
 * snapshot, clone, image upload, delete, extend, flush, reopen) run on the
 * block store and on a plain in-memory model side by side. Every read must
 * agree, `check` must be clean after each batch, and the space in use must be
 * exactly the clusters some object reads (deletion frees all garbage, at
 * every depth of the layer tree).
 * usage: test_model [OPS [SEED]] */
#include "tests/unit/blockstore/bs_test.h"

#include "core/blockstore/blockstore.h"

#include <time.h>

#define MAX_OBJ 14
#define CS      EXTMAP_CLUSTER_SIZE

struct obj {
    int live;
    char name[32];
    enum blockstore_kind kind;
    uint64_t size;
    unsigned char *data;       /* the model */
    struct blockstore_disk *d; /* open read-write handle (disks) */
};

static struct obj objs[MAX_OBJ];
static struct blockstore *bs;
static const char *dir;
static int counter;
static unsigned char *iobuf, *rdbuf;

static void open_store(void)
{
    int r = blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs);
    if (r < 0)
        fprintf(stderr, "open: %s\n", blockstore_error());
    REQUIRE_OK(r);
}

static struct obj *pick(int want_kind) /* 0: any */
{
    int idx[MAX_OBJ], n = 0;
    for (int i = 0; i < MAX_OBJ; i++)
        if (objs[i].live && (!want_kind || objs[i].kind == (enum blockstore_kind)want_kind))
            idx[n++] = i;
    return n ? &objs[idx[rnd_below((uint64_t)n)]] : NULL;
}

static struct obj *slot(void)
{
    for (int i = 0; i < MAX_OBJ; i++)
        if (!objs[i].live)
            return &objs[i];
    return NULL;
}

static struct extmap *map_of(struct obj *o)
{
    if (!o->d)
        REQUIRE_OK(blockstore_disk_open(bs, o->name, 0, &o->d));
    return blockstore_disk_map(o->d);
}

static int dump_one(void *ctx, uint64_t vcl, unsigned depth, enum extmap_kind kind, uint64_t p,
                    uint32_t holes, int owned)
{
    if (vcl == *(uint64_t *)ctx)
        fprintf(stderr, "  vcl %llu depth %u kind %d p %llu holes %#x owned %d\n",
                (unsigned long long)vcl, depth, kind, (unsigned long long)p, holes, owned);
    return 0;
}

static void verify(struct obj *o, uint64_t off, uint64_t len)
{
    struct blockstore_disk *d;
    struct extmap *m;
    if (o->d) {
        m = blockstore_disk_map(o->d);
        d = NULL;
    } else {
        REQUIRE_OK(blockstore_disk_open(bs, o->name, BLOCKSTORE_RDONLY, &d));
        m = blockstore_disk_map(d);
    }
    REQUIRE_OK(extmap_read(m, rdbuf, off, len));
    if (memcmp(rdbuf, o->data + off, len)) {
        for (uint64_t i = 0; i < len; i++)
            if (rdbuf[i] != o->data[off + i]) {
                fprintf(stderr, "%s: byte %llu is %02x, model says %02x\n", o->name,
                        (unsigned long long)(off + i), rdbuf[i], o->data[off + i]);
                uint64_t vcl = (off + i) / CS;
                extmap_foreach_sub(m, dump_one, &vcl);
                break;
            }
        exit(1);
    }
    if (d)
        blockstore_disk_close(d);
}

static void range(struct obj *o, uint64_t *off, uint64_t *len)
{
    uint64_t max = rnd_below(4) == 0 ? 4 * CS : 20000;
    *len = 1 + rnd_below(max);
    if (rnd_below(3) == 0) { /* aligned, often whole clusters */
        *len = (rnd_below(4) + 1) * (rnd_below(2) ? CS : 4096);
    }
    if (*len > o->size)
        *len = o->size;
    *off = rnd_below(o->size - *len + 1);
    if (rnd_below(3) == 0)
        *off &= ~(uint64_t)4095;
}

static void new_obj(struct obj *s, const char *from, enum blockstore_kind kind, uint64_t size,
                    const unsigned char *data)
{
    s->live = 1;
    s->kind = kind;
    s->size = size;
    s->d = NULL;
    s->data = malloc(size);
    REQUIRE(s->data);
    if (data)
        memcpy(s->data, data, size);
    else
        memset(s->data, 0, size);
    (void)from;
}

static void drop(struct obj *o)
{
    if (o->d)
        REQUIRE_OK(blockstore_disk_close(o->d));
    o->d = NULL;
    REQUIRE_OK(blockstore_delete(bs, o->name));
    free(o->data);
    o->live = 0;
}

/* Up to 40 non-overlapping reads, writes and discards queued together (the
 * VMM's way), then reaped; each read must see the model. */
static void async_batch(struct obj *o)
{
    struct extmap_req q[40], *done[40];
    static unsigned char bufs[40][2 * CS] __attribute__((aligned(4096)));
    int n = 0;
    for (int tries = 0; tries < 80 && n < 40; tries++) {
        uint64_t off, len;
        range(o, &off, &len);
        if (len > 2 * CS)
            len = 2 * CS;
        int clash = 0;
        for (int i = 0; i < n; i++)
            clash |= off < q[i].offset + q[i].len && q[i].offset < off + len;
        if (clash)
            continue;
        int kind = (int)rnd_below(10);
        q[n] = (struct extmap_req){ .op = kind < 4   ? EXTMAP_READ
                                          : kind < 9 ? EXTMAP_WRITE
                                                     : EXTMAP_DISCARD,
                                    .offset = off,
                                    .len = len,
                                    .buf = bufs[n] };
        if (q[n].op == EXTMAP_WRITE)
            for (uint64_t i = 0; i < len; i++)
                bufs[n][i] = (unsigned char)rnd();
        n++;
    }
    struct extmap *m = map_of(o);
    for (int i = 0; i < n; i++)
        REQUIRE_OK(extmap_queue(m, &q[i]));
    int got = 0;
    while (got < n) {
        int k = extmap_reap(m, done, 40, 1);
        REQUIRE(k > 0);
        for (int i = 0; i < k; i++)
            REQUIRE_OK(done[i]->result);
        got += k;
    }
    REQUIRE(extmap_reap(m, done, 40, 0) == 0);
    for (int i = 0; i < n; i++) {
        if (q[i].op == EXTMAP_READ)
            REQUIRE(!memcmp(bufs[i], o->data + q[i].offset, q[i].len));
        else if (q[i].op == EXTMAP_WRITE)
            memcpy(o->data + q[i].offset, bufs[i], q[i].len);
        else
            memset(o->data + q[i].offset, 0, q[i].len);
    }
}

#define TRACE(...)                        \
    do {                                  \
        if (getenv("MODEL_TRACE"))        \
            fprintf(stderr, __VA_ARGS__); \
    } while (0)

static void one_op(void)
{
    struct obj *o, *s;
    uint64_t off, len;
    int op = (int)rnd_below(100);
    if (op < 40 && (o = pick(BLOCKSTORE_DISK))) { /* write */
        range(o, &off, &len);
        for (uint64_t i = 0; i < len; i++)
            iobuf[i] = (unsigned char)rnd();
        TRACE("write %s %llu+%llu\n", o->name, (unsigned long long)off, (unsigned long long)len);
        REQUIRE_OK(extmap_write(map_of(o), iobuf, off, len));
        memcpy(o->data + off, iobuf, len);
    } else if (op < 48 && (o = pick(BLOCKSTORE_DISK))) { /* discard / zeroes */
        range(o, &off, &len);
        TRACE("zero %s %llu+%llu\n", o->name, (unsigned long long)off, (unsigned long long)len);
        if (op < 44)
            REQUIRE_OK(extmap_discard(map_of(o), off, len));
        else
            REQUIRE_OK(extmap_write_zeroes(map_of(o), off, len));
        memset(o->data + off, 0, len);
    } else if (op < 70 && (o = pick(0))) { /* read */
        range(o, &off, &len);
        verify(o, off, len);
    } else if (op < 75 && (o = pick(BLOCKSTORE_DISK)) && (s = slot())) { /* snapshot */
        snprintf(s->name, sizeof(s->name), "s%d", ++counter);
        TRACE("snapshot %s %s\n", o->name, s->name);
        REQUIRE_OK(blockstore_snapshot(bs, o->name, s->name));
        new_obj(s, o->name, BLOCKSTORE_SNAPSHOT, o->size, o->data);
    } else if (op < 81 && (s = slot())) { /* clone */
        o = pick(rnd_below(2) ? BLOCKSTORE_SNAPSHOT : BLOCKSTORE_IMAGE);
        snprintf(s->name, sizeof(s->name), "c%d", ++counter);
        if (o) {
            TRACE("clone %s %s\n", o->name, s->name);
            REQUIRE_OK(blockstore_clone(bs, o->name, s->name));
            new_obj(s, o->name, BLOCKSTORE_DISK, o->size, o->data);
        } else {
            uint64_t size = (1 + rnd_below(24)) * 65536 + 512 * rnd_below(3);
            TRACE("create %s %llu\n", s->name, (unsigned long long)size);
            REQUIRE_OK(blockstore_create(bs, s->name, size));
            new_obj(s, NULL, BLOCKSTORE_DISK, size, NULL);
        }
    } else if (op < 84 && (s = slot())) { /* image upload */
        uint64_t size = (1 + rnd_below(12)) * 50000;
        snprintf(s->name, sizeof(s->name), "i%d", ++counter);
        new_obj(s, NULL, BLOCKSTORE_IMAGE, size, NULL);
        for (uint64_t i = 0; i < size; i++)
            s->data[i] = rnd_below(3) ? 0 : (unsigned char)rnd();
        struct blockstore_writer *w;
        TRACE("image %s %llu\n", s->name, (unsigned long long)size);
        REQUIRE_OK(blockstore_image_begin(bs, s->name, 0, &w));
        for (uint64_t p = 0; p < size;) {
            uint64_t n = 1 + rnd_below(70000);
            if (n > size - p)
                n = size - p;
            REQUIRE_OK(blockstore_image_append(w, s->data + p, n));
            p += n;
        }
        if (rnd_below(6) == 0) {
            blockstore_image_abort(w);
            free(s->data);
            s->live = 0;
        } else {
            REQUIRE_OK(blockstore_image_commit(w));
        }
    } else if (op < 91 && (o = pick(0))) { /* delete */
        TRACE("delete %s\n", o->name);
        drop(o);
    } else if (op < 94 && (o = pick(BLOCKSTORE_DISK))) { /* extend */
        uint64_t size = (o->size + 512 * rnd_below(300) + 511) / 512 * 512;
        REQUIRE_OK(blockstore_extend(bs, o->name, size));
        o->data = realloc(o->data, size);
        memset(o->data + o->size, 0, size - o->size);
        o->size = size;
    } else if (op < 96 && (o = pick(BLOCKSTORE_DISK))) { /* async batch */
        async_batch(o);
    } else if (op < 98 && (o = pick(BLOCKSTORE_DISK)) && o->d) { /* flush */
        TRACE("sync %s\n", o->name);
        REQUIRE_OK(blockstore_disk_sync(o->d));
    } else if (op < 99 && rnd_below(2)) { /* zero ahead: grants then take those first */
        uint64_t reserve = 1 + rnd_below(64), batch = 1 + rnd_below(16);
        TRACE("zero ahead %llu by %llu\n", (unsigned long long)reserve, (unsigned long long)batch);
        int r;
        while ((r = blockstore_zero_ahead(bs, reserve, batch)) > 0)
            ;
        REQUIRE_OK(r);
    } else if (op < 99) { /* reopen the store */
        TRACE("reopen\n");
        blockstore_close(bs); /* closes (and syncs) every handle */
        for (int i = 0; i < MAX_OBJ; i++)
            objs[i].d = NULL;
        open_store();
    }
}

/* The physical clusters some object reads, collected over every live
 * object's whole map (read-only handles see what LMDB holds). */
struct readable {
    uint64_t *p;
    size_t n, cap;
};

static int collect(void *ctx, uint64_t vcluster, unsigned depth, enum extmap_kind kind,
                   uint64_t pcluster, uint32_t holes, int owned)
{
    struct readable *rd = ctx;
    (void)vcluster;
    (void)depth;
    (void)holes;
    (void)owned;
    if (kind != EXTMAP_DATA)
        return 0;
    if (rd->n == rd->cap) {
        rd->cap = rd->cap ? rd->cap * 2 : 1024;
        rd->p = realloc(rd->p, rd->cap * sizeof(*rd->p));
        REQUIRE(rd->p);
    }
    rd->p[rd->n++] = pcluster;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Deletion frees exactly what nothing reads: after a sync of every writer,
 * the space the store counts as used is the set of clusters some live
 * object can read, no more (garbage kept) and no less (shared counted once). */
static void check_space_exact(void)
{
    struct readable rd = { 0 };
    for (int i = 0; i < MAX_OBJ; i++) {
        if (!objs[i].live)
            continue;
        if (objs[i].d)
            REQUIRE_OK(blockstore_disk_sync(objs[i].d));
        struct blockstore_disk *d;
        REQUIRE_OK(blockstore_disk_open(bs, objs[i].name, BLOCKSTORE_RDONLY, &d));
        REQUIRE_OK(extmap_foreach_sub(blockstore_disk_map(d), collect, &rd));
        blockstore_disk_close(d);
    }
    qsort(rd.p, rd.n, sizeof(*rd.p), cmp_u64);
    uint64_t distinct = 0;
    for (size_t i = 0; i < rd.n; i++)
        distinct += i == 0 || rd.p[i] != rd.p[i - 1];
    free(rd.p);
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    if (st.used != distinct * CS) {
        fprintf(stderr, "store uses %llu clusters, objects read %llu\n",
                (unsigned long long)(st.used / CS), (unsigned long long)distinct);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int ops = argc > 1 ? atoi(argv[1]) : 3000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    bs_rng ^= seed * 0x9e3779b97f4a7c15ull;
    printf("model: %d operations, seed %llu\n", ops, (unsigned long long)seed);
    char base[4200];
    snprintf(base, sizeof(base), "%s/data", bs_test_tmpdir());
    dir = base;
    iobuf = malloc(8 * CS);
    rdbuf = malloc(8 * CS);
    open_store();
    int paranoid = getenv("MODEL_PARANOID") != NULL; /* debugging: verify all after each op */
    for (int i = 0; i < ops; i++) {
        one_op();
        if (paranoid && getenv("MODEL_SPACE")) {
            REQUIRE(blockstore_check(bs, 0, stderr) == 0);
            check_space_exact();
        }
        for (int j = 0; paranoid && j < MAX_OBJ; j++) {
            if (getenv("MODEL_TRACE") && j == 0)
                fprintf(stderr, "after op %d\n", i);
            for (uint64_t off = 0; objs[j].live && off < objs[j].size; off += 8 * CS)
                verify(&objs[j], off, objs[j].size - off < 8 * CS ? objs[j].size - off : 8 * CS);
        }
        if (i % 50 == 49) {
            int r = blockstore_check(bs, 0, stderr);
            if (r != 0) {
                fprintf(stderr, "check after op %d: %d problems\n", i, r);
                exit(1);
            }
            check_space_exact();
        }
    }
    for (int i = 0; i < MAX_OBJ; i++) /* everything, whole */
        for (uint64_t off = 0; objs[i].live && off < objs[i].size; off += 8 * CS)
            verify(&objs[i], off, objs[i].size - off < 8 * CS ? objs[i].size - off : 8 * CS);
    for (int i = 0; i < MAX_OBJ; i++)
        if (objs[i].live)
            drop(&objs[i]);
    struct blockstore_stat st;
    REQUIRE_OK(blockstore_stat(bs, &st));
    REQUIRE(st.used == 0 && st.objects == 0 && st.layers == 0);
    REQUIRE(blockstore_check(bs, 0, stderr) == 0);
    blockstore_close(bs);
    free(iobuf);
    free(rdbuf);
    printf("model: ok\n");
    return 0;
}
