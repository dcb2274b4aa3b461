#include "kvm/io_bus.h"

#include <errno.h>
#include <string.h>

void io_bus_lock(struct io_bus *bus);

int io_bus_init(struct io_bus *bus)
{
    memset(bus, 0, sizeof(*bus));
    return -pthread_mutex_init(&bus->lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
    pthread_mutex_destroy(&bus->lock);
}

int io_bus_register(struct io_bus *bus, uint16_t base, uint16_t len, const char *name,
                    const struct io_dev_ops *ops, void *dev)
{
    if (len == 0 || (uint32_t)base + len > 0x10000)
        return -EINVAL;
    for (int i = 0; i < bus->nranges; i++) {
        const struct io_range *r = &bus->ranges[i];
        if (base < r->base + r->len && r->base < base + len)
            return -EEXIST;
    }
    if (bus->nranges == IO_BUS_MAX_RANGES)
        return -ENOSPC;
    bus->ranges[bus->nranges++] = (struct io_range){ base, len, name, ops, dev };
    return 0;
}

static const struct io_range *find(const struct io_bus *bus, uint16_t port)
{
    for (int i = 0; i < bus->nranges; i++) {
        const struct io_range *r = &bus->ranges[i];
        if (port >= r->base && port - r->base < r->len)
            return r;
    }
    return NULL;
}

/* Counts an access to a port nobody registered. */
static void count_unknown(struct io_bus *bus, uint16_t port, int write)
{
    if (write)
        bus->unknown_writes++;
    else
        bus->unknown_reads++;
    bus->last_unknown_port = port;
    io_bus_lock(bus);
    int i;
    for (i = 0; i < bus->nunknown && bus->unknown[i].port != port; i++)
        ;
    if (i == bus->nunknown && i < IO_BUS_TRACKED_PORTS)
        bus->unknown[bus->nunknown++] = (struct io_port_count){ .port = port };
    if (i < bus->nunknown) {
        if (write)
            bus->unknown[i].writes++;
        else
            bus->unknown[i].reads++;
    }
    io_bus_unlock(bus);
}

void io_bus_lock(struct io_bus *bus)
{
    pthread_mutex_lock(&bus->lock);
}

void io_bus_unlock(struct io_bus *bus)
{
    pthread_mutex_unlock(&bus->lock);
}

void io_bus_in(struct io_bus *bus, uint16_t port, unsigned size, void *data)
{
    uint32_t v = 0xffffffff;
    const struct io_range *r = find(bus, port);
    if (r && r->ops->read) {
        io_bus_lock(bus);
        v = r->ops->read(r->dev, port - r->base, size);
        io_bus_unlock(bus);
    } else if (!r) {
        count_unknown(bus, port, 0);
    }
    if (size > 4)
        size = 4;
    memcpy(data, &v, size); /* x86 is little-endian */
}

void io_bus_out(struct io_bus *bus, uint16_t port, unsigned size, const void *data)
{
    uint32_t v = 0;
    if (size > 4)
        size = 4;
    memcpy(&v, data, size);
    const struct io_range *r = find(bus, port);
    if (r && r->ops->write) {
        io_bus_lock(bus);
        r->ops->write(r->dev, port - r->base, size, v);
        io_bus_unlock(bus);
    } else if (!r && port == IO_PORT_POST) {
        bus->post_writes++;
    } else if (!r) {
        count_unknown(bus, port, 1);
    }
}
