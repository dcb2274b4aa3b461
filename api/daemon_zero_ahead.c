/* The block store's zeroing ahead (blockstore.h), driven by picostackd: a
 * thread that keeps zero_ahead_mib of clusters zeroed, 2 MiB per store
 * call under the store's one lock, paced so that it never holds the disk
 * for long, and only after the daemon has served for a while (short-lived
 * daemons, tests among them, never pay for it). */
#include "api/daemon.h"

#include "core/blockstore/blockstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define START_DELAY_S 10 /* after serving starts */
#define BATCH         32 /* clusters per store call: 2 MiB */
#define PAUSE_MS      10 /* between calls: at most about 200 MB/s */
#define IDLE_S        2  /* between looks when the reserve is full */
#define BACKOFF_S     60 /* after an error */

struct daemon_zeroer {
    struct api_server *srv;
    struct blockstore *bs;
    uint64_t reserve; /* clusters */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
};

/* Sleeps ms or until told to stop; true when told. */
static bool nap(struct daemon_zeroer *z, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&z->lock);
    while (!z->stop && pthread_cond_timedwait(&z->wake, &z->lock, &until) != ETIMEDOUT)
        ;
    bool stop = z->stop;
    pthread_mutex_unlock(&z->lock);
    return stop;
}

static void *zeroer_main(void *arg)
{
    struct daemon_zeroer *z = arg;
    bool said = false;
    if (nap(z, START_DELAY_S * 1000L))
        return NULL;
    for (;;) {
        api_blockstore_lock(z->srv);
        int r = blockstore_zero_ahead(z->bs, z->reserve, BATCH);
        if (r < 0 && !said)
            fprintf(stderr, "picostackd: zeroing ahead: %s (trying again every %d s)\n",
                    blockstore_error(), BACKOFF_S);
        api_blockstore_unlock(z->srv);
        said |= r < 0;
        if (nap(z, r > 0 ? PAUSE_MS : r == 0 ? IDLE_S * 1000L : BACKOFF_S * 1000L))
            return NULL;
    }
}

int daemon_zeroer_start(struct api_server *srv, struct blockstore *bs, unsigned mib,
                        struct daemon_zeroer **out)
{
    *out = NULL;
    if (!mib || !bs)
        return 0;
    struct daemon_zeroer *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->srv = srv;
    z->bs = bs;
    z->reserve = (uint64_t)mib << 20 >> 16; /* 64 KiB clusters */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&z->lock, NULL);
    pthread_cond_init(&z->wake, &ca);
    pthread_condattr_destroy(&ca);
    int r = pthread_create(&z->thread, NULL, zeroer_main, z);
    if (r) {
        pthread_cond_destroy(&z->wake);
        pthread_mutex_destroy(&z->lock);
        free(z);
        return -r;
    }
    *out = z;
    return 0;
}

void daemon_zeroer_stop(struct daemon_zeroer *z)
{
    if (!z)
        return;
    pthread_mutex_lock(&z->lock);
    z->stop = true;
    pthread_cond_signal(&z->wake);
    pthread_mutex_unlock(&z->lock);
    pthread_join(z->thread, NULL);
    pthread_cond_destroy(&z->wake);
    pthread_mutex_destroy(&z->lock);
    free(z);
}
