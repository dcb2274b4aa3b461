/* Open-addressing hash map for the revocation lists (internal.h). */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int idmap_init(struct idmap *m)
{
    m->cap = 64;
    m->n = 0;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots)
        return -ENOMEM;
    return -pthread_rwlock_init(&m->lock, NULL);
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    pthread_rwlock_destroy(&m->lock);
}

/* Keys are random or UUIDs: their first bytes hash well enough. */
static size_t slot_of(const struct idmap *m, const unsigned char key[16])
{
    uint64_t h;
    memcpy(&h, key, 8);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (h ^ (h >> 32)) & (m->cap - 1);
}

static struct idmap_slot *find(const struct idmap *m, const unsigned char key[16])
{
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        struct idmap_slot *s = &m->slots[i];
        if (!s->used || memcmp(s->key, key, 16) == 0)
            return s;
    }
}

static int grow(struct idmap *m)
{
    struct idmap old = *m;
    m->cap *= 2;
    m->n = 0;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        *m = old;
        return -ENOMEM;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].used) {
            *find(m, old.slots[i].key) = old.slots[i];
            m->n++;
        }
    }
    free(old.slots);
    return 0;
}

int idmap_set(struct idmap *m, const unsigned char key[16], int64_t val)
{
    int rc = 0;
    pthread_rwlock_wrlock(&m->lock);
    if ((m->n + 1) * 2 > m->cap)
        rc = grow(m);
    if (!rc) {
        struct idmap_slot *s = find(m, key);
        if (!s->used) {
            s->used = true;
            memcpy(s->key, key, 16);
            s->val = val;
            m->n++;
        } else if (val > s->val) {
            s->val = val;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

bool idmap_get(struct idmap *m, const unsigned char key[16], int64_t *val)
{
    pthread_rwlock_rdlock(&m->lock);
    struct idmap_slot *s = find(m, key);
    bool found = s->used;
    if (found)
        *val = s->val;
    pthread_rwlock_unlock(&m->lock);
    return found;
}
