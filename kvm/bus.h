/* The VMM's one bus: port I/O and MMIO ranges mapped to device callbacks.
 *
 * Two address spaces (BUS_PIO for KVM_EXIT_IO, BUS_MMIO for KVM_EXIT_MMIO)
 * share one lock and one set of rules: 64-bit addresses, accesses of 1 to 8
 * bytes passed little-endian as KVM's run area holds them, ranges kept
 * sorted by base so a lookup is a binary search (O(log n)), overlapping
 * ranges refused. An address nobody registered is harmless: reads return all
 * ones, writes are dropped, and both are counted (per space, plus the first
 * BUS_TRACKED distinct addresses). Port 0x80 (POST codes, I/O delay) is
 * counted apart.
 *
 * Locking: bus_read()/bus_write() hold the bus lock around the lookup and
 * the device callback, so callbacks of all devices are serialised with each
 * other; code outside a vCPU (event-loop callbacks: serial input, keyboard
 * injection, timers, queue notifications) takes bus_lock() around its calls
 * into a device model. Device models therefore need no locks of their own.
 * The lock is recursive: a callback may call bus_register()/
 * bus_unregister() (a PCI BAR being moved) or take bus_lock() again. */
#ifndef PICOSTACK_KVM_BUS_H
#define PICOSTACK_KVM_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum bus_space { BUS_PIO, BUS_MMIO, BUS_NSPACES };

struct bus_dev_ops {
    /* offset: address - range base; size: 1 to 8 bytes. NULL read: reads
	 * see all ones; NULL write: writes are ignored. */
    uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
    void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_range {
    uint64_t base, len;
    const char *name;
    const struct bus_dev_ops *ops;
    void *dev;
};

#define BUS_TRACKED   16
#define BUS_PORT_POST 0x80

struct bus_unknown {
    uint64_t addr;
    uint32_t reads, writes;
};

struct bus_map {
    struct bus_range *ranges; /* sorted by base, never overlapping */
    size_t n, cap;
    _Atomic uint64_t unknown_reads, unknown_writes, last_unknown;
    struct bus_unknown unknown[BUS_TRACKED]; /* under the lock */
    int nunknown;
};

struct bus {
    struct bus_map map[BUS_NSPACES];
    pthread_mutex_t lock; /* recursive */
    _Atomic uint64_t post_writes;
};

int bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);

/* -EINVAL for an empty or wrapping range (or a port range past 0xffff),
 * -EEXIST if it overlaps a registered one, -ENOMEM. Safe from callbacks. */
int bus_register(struct bus *bus, enum bus_space sp, uint64_t base, uint64_t len, const char *name,
                 const struct bus_dev_ops *ops, void *dev);
/* Removes the range that starts at base; -ENOENT if there is none. */
int bus_unregister(struct bus *bus, enum bus_space sp, uint64_t base);
/* The range holding addr, copied to *out; -ENOENT if none. */
int bus_find(struct bus *bus, enum bus_space sp, uint64_t addr, struct bus_range *out);

/* data holds size (1..8) bytes, little-endian. Another size is an unknown
 * access (reads see all ones). */
void bus_read(struct bus *bus, enum bus_space sp, uint64_t addr, unsigned size, void *data);
void bus_write(struct bus *bus, enum bus_space sp, uint64_t addr, unsigned size, const void *data);

void bus_lock(struct bus *bus);
void bus_unlock(struct bus *bus);

#endif
