/* One I/O thread per map (see extmap.h, "one I/O thread per disk"): the
 * thread runs queued requests as io_uring batches, copy-on-write included,
 * so whoever queues them never waits for a disk. */
#include "core/blockstore/extmap_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define GROUP_MAX 256

struct vec {
    struct extmap_req **v;
    size_t n, cap;
};

struct extmap_worker {
    struct extmap *m;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, idle;
    struct vec pending, done;
    size_t in_flight; /* queued, not yet reaped into done */
    bool stop;
    int efd;
    int (*call_fn)(struct extmap *m, void *ctx);
    void *call_ctx;
    int call_result;
    bool call_done;
};

static int vec_reserve(struct vec *v, size_t want)
{
    if (want <= v->cap)
        return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < want)
        cap *= 2;
    struct extmap_req **nv = realloc(v->v, cap * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    v->v = nv;
    v->cap = cap;
    return 0;
}

static bool writes(const struct extmap_req *q)
{
    return q->op != EXTMAP_READ;
}

static bool clash(const struct extmap_req *a, const struct extmap_req *b)
{
    if (!writes(a) && !writes(b))
        return false;
    return a->offset < b->offset + b->len && b->offset < a->offset + a->len;
}

/* Runs one group: reads of whole blocks go straight to the ring on the
 * planned read path (a partly written cluster of a clone in a few linked
 * reads, extmap_read.c), the rest through the batch path meanwhile; then
 * waits for the reads. */
static void run_group(struct extmap *m, struct extmap_req **reqs, size_t n)
{
    struct extmap_req *rest[GROUP_MAX];
    size_t nrest = 0, started = 0;
    for (size_t i = 0; i < n; i++) {
        int k = extmap_start_read(m, reqs[i]);
        if (k < 0)
            reqs[i]->result = k;
        else if (k == 1)
            started++;
        else
            rest[nrest++] = reqs[i];
    }
    int r = nrest ? extmap_submit_ptrs(m, rest, (int)nrest) : 0;
    if (r < 0) /* the ring failed: nothing in the group can be trusted */
        for (size_t k = 0; k < nrest; k++)
            if (rest[k]->result == 0)
                rest[k]->result = r;
    r = started ? extmap_wait_reads(m) : 0;
    if (r < 0)
        for (size_t k = 0; k < n; k++)
            if (reqs[k]->result == 0)
                reqs[k]->result = r;
}

/* Runs reqs in order: flushes alone, the rest in groups with no write
 * overlapping another request of its group. */
static void run_all(struct extmap *m, struct extmap_req **reqs, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (reqs[i]->op == EXTMAP_FLUSH) {
            reqs[i]->result = extmap_flush(m);
            i++;
            continue;
        }
        size_t j = i + 1;
        for (; j < n && j - i < GROUP_MAX && reqs[j]->op != EXTMAP_FLUSH; j++) {
            bool ok = true;
            for (size_t k = i; k < j && ok; k++)
                ok = !clash(reqs[k], reqs[j]);
            if (!ok)
                break;
        }
        run_group(m, reqs + i, j - i);
        i = j;
    }
}

static void *worker_main(void *arg)
{
    struct extmap_worker *w = arg;
    struct vec batch = { 0 };
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->pending.n && !w->call_fn && !w->stop)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->call_fn) {
            w->call_result = w->call_fn(w->m, w->call_ctx);
            w->call_fn = NULL;
            w->call_done = true;
            pthread_cond_broadcast(&w->idle);
            continue;
        }
        if (!w->pending.n)
            break; /* stop, and nothing left */
        struct vec t = w->pending;
        w->pending = batch;
        batch = t;
        pthread_mutex_unlock(&w->lock);
        run_all(w->m, batch.v, batch.n);
        pthread_mutex_lock(&w->lock);
        /* extmap_worker_queue() reserved room in done for every request */
        for (size_t i = 0; i < batch.n; i++)
            w->done.v[w->done.n++] = batch.v[i];
        batch.n = 0;
        uint64_t one = 1;
        if (write(w->efd, &one, sizeof(one)) < 0) {
            /* the counter is saturated: already readable */
        }
        pthread_cond_broadcast(&w->idle);
    }
    pthread_mutex_unlock(&w->lock);
    free(batch.v);
    return NULL;
}

int extmap_worker_start(struct extmap *m, struct extmap_worker **out)
{
    struct extmap_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->m = m;
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->efd < 0) {
        int e = -errno;
        free(w);
        return e;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->idle, NULL);
    int r = pthread_create(&w->thread, NULL, worker_main, w);
    if (r) {
        close(w->efd);
        free(w);
        return -r;
    }
    *out = w;
    return 0;
}

int extmap_worker_queue(struct extmap_worker *w, struct extmap_req **reqs, int n)
{
    pthread_mutex_lock(&w->lock);
    /* room for all of them in both lists first, so nothing is half queued */
    int r = vec_reserve(&w->pending, w->pending.n + (size_t)n);
    if (r == 0)
        r = vec_reserve(&w->done, w->in_flight + (size_t)n);
    for (int i = 0; r == 0 && i < n; i++) {
        reqs[i]->result = 0;
        w->pending.v[w->pending.n++] = reqs[i];
    }
    if (r == 0) {
        w->in_flight += (size_t)n;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    return r;
}

int extmap_worker_reap(struct extmap_worker *w, struct extmap_req **done, int max)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->done.n < (size_t)max ? w->done.n : (size_t)max;
    memcpy(done, w->done.v, n * sizeof(*done));
    memmove(w->done.v, w->done.v + n, (w->done.n - n) * sizeof(*done));
    w->done.n -= n;
    w->in_flight -= n;
    pthread_mutex_unlock(&w->lock);
    return (int)n;
}

int extmap_worker_fd(const struct extmap_worker *w)
{
    return w->efd;
}

void extmap_worker_drain(struct extmap_worker *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->in_flight > w->done.n)
        pthread_cond_wait(&w->idle, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

int extmap_worker_call(struct extmap_worker *w, int (*fn)(struct extmap *m, void *ctx), void *ctx)
{
    pthread_mutex_lock(&w->lock);
    while (w->call_fn || w->call_done) /* one call at a time */
        pthread_cond_wait(&w->idle, &w->lock);
    w->call_fn = fn;
    w->call_ctx = ctx;
    w->call_done = false;
    pthread_cond_signal(&w->wake);
    while (!w->call_done)
        pthread_cond_wait(&w->idle, &w->lock);
    int r = w->call_result;
    w->call_done = false;
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->lock);
    return r;
}

void extmap_worker_stop(struct extmap_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->idle);
    close(w->efd);
    free(w->pending.v);
    free(w->done.v);
    free(w);
}
