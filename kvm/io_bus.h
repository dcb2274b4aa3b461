/* Port-I/O dispatcher: ranges of ports mapped to device callbacks.
 *
 * vCPU threads call io_bus_in()/io_bus_out() on every port exit; the bus
 * lock serialises them with each other and with the event loop (serial
 * input, keyboard injection), so device models need no locks of their own.
 * A port nobody registered is harmless: reads return all ones, writes are
 * dropped, and both are counted. Port 0x80 (POST codes, I/O delay) is
 * counted apart. */
#ifndef PICOSTACK_KVM_IO_BUS_H
#define PICOSTACK_KVM_IO_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct io_dev_ops {
    /* offset: port - range base; size: 1, 2 or 4 bytes. */
    uint32_t (*read)(void *dev, uint16_t offset, unsigned size);
    void (*write)(void *dev, uint16_t offset, unsigned size, uint32_t value);
};

#define IO_BUS_MAX_RANGES 32
#define IO_PORT_POST      0x80

struct io_range {
    uint16_t base, len;
    const char *name;
    const struct io_dev_ops *ops;
    void *dev;
};

#define IO_BUS_TRACKED_PORTS 16

struct io_port_count {
    uint16_t port;
    uint32_t reads, writes;
};

struct io_bus {
    struct io_range ranges[IO_BUS_MAX_RANGES];
    int nranges;
    pthread_mutex_t lock;
    _Atomic uint64_t unknown_reads, unknown_writes, post_writes;
    _Atomic uint16_t last_unknown_port;
    /* The first IO_BUS_TRACKED_PORTS distinct unknown ports and their
	 * counts (under lock), for --verbose and the control status. */
    struct io_port_count unknown[IO_BUS_TRACKED_PORTS];
    int nunknown;
};

int io_bus_init(struct io_bus *bus);
void io_bus_destroy(struct io_bus *bus);
/* -EINVAL for an empty or wrapping range, -EEXIST if it overlaps one
 * registered before, -ENOSPC when the table is full. */
int io_bus_register(struct io_bus *bus, uint16_t base, uint16_t len, const char *name,
                    const struct io_dev_ops *ops, void *dev);

/* data holds size bytes, little-endian, as KVM's run area does. */
void io_bus_in(struct io_bus *bus, uint16_t port, unsigned size, void *data);
void io_bus_out(struct io_bus *bus, uint16_t port, unsigned size, const void *data);

void io_bus_lock(struct io_bus *bus);
void io_bus_unlock(struct io_bus *bus);

#endif
