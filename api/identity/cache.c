/* A small per-thread cache of rendered identity JSON (token bodies, the
 * catalog), keyed by text and tagged with identity_generation(): any
 * committed identity change makes every entry stale.  Token validity
 * (MAC, expiry, revocation) is always checked before the cache is asked,
 * so a cached body is never served for a revoked token.  Per thread, so no
 * locks on the hot path. */
#include "api/identity/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 64

struct slot {
    char *key;
    char *text;
    size_t len;
    uint64_t gen;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct slot *slots = p;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(slots[i].key);
        free(slots[i].text);
    }
    free(slots);
}

static void cache_init(void)
{
    pthread_key_create(&cache_key, cache_free);
}

static struct slot *slot_for(const char *key)
{
    pthread_once(&cache_once, cache_init);
    struct slot *slots = pthread_getspecific(cache_key);
    if (!slots) {
        slots = calloc(CACHE_SLOTS, sizeof(*slots));
        if (!slots || pthread_setspecific(cache_key, slots) != 0) {
            free(slots);
            return NULL;
        }
    }
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return &slots[h % CACHE_SLOTS];
}

const char *idn_cache_get(const char *key, uint64_t gen, size_t *len)
{
    struct slot *s = slot_for(key);
    if (!s || !s->key || s->gen != gen || strcmp(s->key, key) != 0)
        return NULL;
    *len = s->len;
    return s->text;
}

void idn_cache_put(const char *key, uint64_t gen, const char *text, size_t len)
{
    struct slot *s = slot_for(key);
    if (!s)
        return;
    char *k = strdup(key), *t = malloc(len + 1);
    if (!k || !t) {
        free(k);
        free(t);
        return;
    }
    memcpy(t, text, len);
    t[len] = '\0';
    free(s->key);
    free(s->text);
    *s = (struct slot){ k, t, len, gen };
}

/* Drops this thread's cache (tests, shutdown of the main thread). */
void idn_cache_clear(void)
{
    pthread_once(&cache_once, cache_init);
    cache_free(pthread_getspecific(cache_key));
    pthread_setspecific(cache_key, NULL);
}
