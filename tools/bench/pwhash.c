/* bench-pwhash: Argon2id verifications per second at picostackd's
 * parameters, on N threads: the ceiling for password logins.
 *   bench-pwhash THREADS SECONDS */
#include "core/identity/identity.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char hash[crypto_pwhash_STRBYTES];
static atomic_long done;
static double stop_at;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    (void)arg;
    while (now() < stop_at) {
        if (crypto_pwhash_str_verify(hash, "secret", 6) != 0)
            abort();
        atomic_fetch_add(&done, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double secs = argc > 2 ? atof(argv[2]) : 3;
    if (sodium_init() < 0 || threads < 1 || threads > 64)
        return 2;
    if (crypto_pwhash_str_alg(hash, "secret", 6, IDENTITY_PWHASH_OPSLIMIT, IDENTITY_PWHASH_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return 1;
    pthread_t th[64];
    double start = now();
    stop_at = start + secs;
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("%.1f\n", atomic_load(&done) / (now() - start));
    return 0;
}
