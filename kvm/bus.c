/* The bus (bus.h): one sorted array of ranges per address space. */
#include "kvm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_init(struct bus *bus)
{
    memset(bus, 0, sizeof(*bus));
    pthread_mutexattr_t a;
    int r = pthread_mutexattr_init(&a);
    if (!r)
        r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    if (!r)
        r = pthread_mutex_init(&bus->lock, &a);
    pthread_mutexattr_destroy(&a);
    return -r;
}

void bus_destroy(struct bus *bus)
{
    for (int i = 0; i < BUS_NSPACES; i++)
        free(bus->map[i].ranges);
    pthread_mutex_destroy(&bus->lock);
    memset(bus->map, 0, sizeof(bus->map));
}

void bus_lock(struct bus *bus)
{
    pthread_mutex_lock(&bus->lock);
}

void bus_unlock(struct bus *bus)
{
    pthread_mutex_unlock(&bus->lock);
}

/* Index of the first range whose base is above addr. */
static size_t upper_bound(const struct bus_map *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ranges[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The range holding addr, or NULL. Under the lock. */
static const struct bus_range *lookup(const struct bus_map *m, uint64_t addr)
{
    size_t i = upper_bound(m, addr);
    if (i == 0)
        return NULL;
    const struct bus_range *r = &m->ranges[i - 1];
    return addr - r->base < r->len ? r : NULL;
}

static int insert(struct bus_map *m, const struct bus_range *nr)
{
    size_t i = upper_bound(m, nr->base);
    if (i > 0 && nr->base - m->ranges[i - 1].base < m->ranges[i - 1].len)
        return -EEXIST; /* the one below reaches into us */
    if (i < m->n && m->ranges[i].base - nr->base < nr->len)
        return -EEXIST; /* we reach into the one above */
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct bus_range *p = realloc(m->ranges, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->ranges = p;
        m->cap = cap;
    }
    memmove(&m->ranges[i + 1], &m->ranges[i], (m->n - i) * sizeof(*nr));
    m->ranges[i] = *nr;
    m->n++;
    return 0;
}

int bus_register(struct bus *bus, enum bus_space sp, uint64_t base, uint64_t len, const char *name,
                 const struct bus_dev_ops *ops, void *dev)
{
    if ((unsigned)sp >= BUS_NSPACES || len == 0 || base + len - 1 < base || !ops)
        return -EINVAL;
    if (sp == BUS_PIO && base + len > 0x10000)
        return -EINVAL;
    struct bus_range nr = { base, len, name, ops, dev };
    bus_lock(bus);
    int r = insert(&bus->map[sp], &nr);
    bus_unlock(bus);
    return r;
}

int bus_unregister(struct bus *bus, enum bus_space sp, uint64_t base)
{
    if ((unsigned)sp >= BUS_NSPACES)
        return -EINVAL;
    struct bus_map *m = &bus->map[sp];
    bus_lock(bus);
    int r = -ENOENT;
    size_t i = upper_bound(m, base);
    if (i > 0 && m->ranges[i - 1].base == base) {
        memmove(&m->ranges[i - 1], &m->ranges[i], (m->n - i) * sizeof(m->ranges[0]));
        m->n--;
        r = 0;
    }
    bus_unlock(bus);
    return r;
}

int bus_find(struct bus *bus, enum bus_space sp, uint64_t addr, struct bus_range *out)
{
    if ((unsigned)sp >= BUS_NSPACES)
        return -EINVAL;
    bus_lock(bus);
    const struct bus_range *r = lookup(&bus->map[sp], addr);
    if (r)
        *out = *r;
    bus_unlock(bus);
    return r ? 0 : -ENOENT;
}

/* Counts an access nobody answers. Under the lock. */
static void count_unknown(struct bus_map *m, uint64_t addr, int write)
{
    if (write)
        m->unknown_writes++;
    else
        m->unknown_reads++;
    m->last_unknown = addr;
    int i;
    for (i = 0; i < m->nunknown && m->unknown[i].addr != addr; i++)
        ;
    if (i == m->nunknown && i < BUS_TRACKED)
        m->unknown[m->nunknown++] = (struct bus_unknown){ .addr = addr };
    if (i < m->nunknown) {
        if (write)
            m->unknown[i].writes++;
        else
            m->unknown[i].reads++;
    }
}

void bus_read(struct bus *bus, enum bus_space sp, uint64_t addr, unsigned size, void *data)
{
    uint64_t v = UINT64_MAX;
    if ((unsigned)sp >= BUS_NSPACES)
        return;
    if (size > 8)
        size = 8;
    bus_lock(bus);
    const struct bus_range *r = size ? lookup(&bus->map[sp], addr) : NULL;
    if (r && r->ops->read) {
        struct bus_range c = *r; /* the callback may move ranges */
        v = c.ops->read(c.dev, addr - c.base, size);
    } else if (!r) {
        count_unknown(&bus->map[sp], addr, 0);
    }
    bus_unlock(bus);
    memcpy(data, &v, size); /* x86 is little-endian */
}

void bus_write(struct bus *bus, enum bus_space sp, uint64_t addr, unsigned size, const void *data)
{
    uint64_t v = 0;
    if ((unsigned)sp >= BUS_NSPACES)
        return;
    if (size > 8)
        size = 8;
    memcpy(&v, data, size);
    bus_lock(bus);
    const struct bus_range *r = size ? lookup(&bus->map[sp], addr) : NULL;
    if (r && r->ops->write) {
        struct bus_range c = *r;
        c.ops->write(c.dev, addr - c.base, size, v);
    } else if (!r && sp == BUS_PIO && addr == BUS_PORT_POST) {
        bus->post_writes++;
    } else if (!r) {
        count_unknown(&bus->map[sp], addr, 1);
    }
    bus_unlock(bus);
}
