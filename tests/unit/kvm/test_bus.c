/* The bus: a fake MMIO device and a fake port device, dispatch of every
 * access size, overlaps refused, unknown addresses counted, ranges kept
 * sorted under random insertion, callbacks that move ranges. */
#include "tests/support/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/bus.h"

/* A fake MMIO device: 4 KiB of registers that remember what was written. */
struct fake_mmio {
    uint8_t regs[4096];
    uint64_t last_offset;
    unsigned last_size, reads, writes;
};

static uint64_t mmio_read(void *dev, uint64_t offset, unsigned size)
{
    struct fake_mmio *m = dev;
    uint64_t v = 0;
    m->last_offset = offset;
    m->last_size = size;
    m->reads++;
    memcpy(&v, m->regs + offset, size);
    return v;
}

static void mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    struct fake_mmio *m = dev;
    m->last_offset = offset;
    m->last_size = size;
    m->writes++;
    memcpy(m->regs + offset, &v, size);
}

static const struct bus_dev_ops mmio_ops = { mmio_read, mmio_write };

/* A fake port device: answers its offset plus 0x40, records writes. */
struct fake_port {
    uint64_t last_offset, last_value;
    unsigned last_size;
};

static uint64_t port_read(void *dev, uint64_t offset, unsigned size)
{
    (void)dev, (void)size;
    return 0x40 + offset;
}

static void port_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    struct fake_port *p = dev;
    p->last_offset = offset;
    p->last_size = size;
    p->last_value = v;
}

static const struct bus_dev_ops port_ops = { port_read, port_write };

#define MMIO_BASE 0xd0000000ULL

static void test_dispatch(void)
{
    struct bus bus;
    static struct fake_mmio m;
    struct fake_port p = { 0 };
    CHECK_EQ(bus_init(&bus), 0);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, MMIO_BASE, 4096, "fake-mmio", &mmio_ops, &m), 0);
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0x510, 8, "fake-port", &port_ops, &p), 0);
    /* The same number in the other space is not the device. */
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0xd000, 0x100, "pio-d000", &port_ops, &p), 0);

    /* 8-byte MMIO write and read back, little-endian. */
    uint64_t v = 0x1122334455667788ULL, r = 0;
    bus_write(&bus, BUS_MMIO, MMIO_BASE + 0x100, 8, &v);
    CHECK_EQ(m.last_offset, 0x100);
    CHECK_EQ(m.last_size, 8);
    CHECK_EQ(m.regs[0x100], 0x88);
    CHECK_EQ(m.regs[0x107], 0x11);
    bus_read(&bus, BUS_MMIO, MMIO_BASE + 0x100, 8, &r);
    CHECK_EQ(r, v);
    /* Every size 1 to 8 (odd ones too) reaches the device with its size. */
    for (unsigned size = 1; size <= 8; size++) {
        uint8_t buf[8];
        memset(buf, 0xaa, sizeof(buf));
        bus_read(&bus, BUS_MMIO, MMIO_BASE + 0x101, size, buf);
        CHECK_EQ(m.last_size, size);
        CHECK_EQ(m.last_offset, 0x101);
        CHECK(!memcmp(buf, m.regs + 0x101, size));
        for (unsigned k = size; k < 8; k++)
            CHECK_EQ(buf[k], 0xaa); /* nothing written past size */
    }
    /* The last byte of the range is the device's, the next one is not. */
    uint8_t b = 0;
    unsigned reads = m.reads;
    bus_read(&bus, BUS_MMIO, MMIO_BASE + 4095, 1, &b);
    CHECK_EQ(m.reads, reads + 1);
    bus_read(&bus, BUS_MMIO, MMIO_BASE + 4096, 1, &b);
    CHECK_EQ(m.reads, reads + 1);
    CHECK_EQ(b, 0xff);

    /* Port device: offsets within its range, values of each size. */
    uint16_t w = 0;
    bus_read(&bus, BUS_PIO, 0x513, 2, &w);
    CHECK_EQ(w, 0x43);
    uint32_t d = 0xcafef00d;
    bus_write(&bus, BUS_PIO, 0x514, 4, &d);
    CHECK_EQ(p.last_offset, 4);
    CHECK_EQ(p.last_size, 4);
    CHECK_EQ(p.last_value, 0xcafef00d);
    /* A port number as an MMIO address reaches nothing. */
    uint64_t before = bus.map[BUS_MMIO].unknown_reads;
    bus_read(&bus, BUS_MMIO, 0x510, 1, &b);
    CHECK_EQ(bus.map[BUS_MMIO].unknown_reads, before + 1);
    struct bus_range found;
    CHECK_EQ(bus_find(&bus, BUS_MMIO, MMIO_BASE + 7, &found), 0);
    CHECK_STR(found.name, "fake-mmio");
    CHECK_EQ(bus_find(&bus, BUS_PIO, 0x518, &found), -ENOENT);
    bus_destroy(&bus);
}

static void test_overlaps(void)
{
    struct bus bus;
    struct fake_port p;
    CHECK_EQ(bus_init(&bus), 0);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x1000, 0x1000, "a", &port_ops, &p), 0);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x1fff, 1, "end", &port_ops, &p), -EEXIST);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x800, 0x801, "below", &port_ops, &p), -EEXIST);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x0, 0x10000, "around", &port_ops, &p), -EEXIST);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x1800, 0x10, "inside", &port_ops, &p), -EEXIST);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x800, 0x800, "touching below", &port_ops, &p), 0);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x2000, 0x800, "touching above", &port_ops, &p), 0);
    /* Bad ranges. */
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x9000, 0, "empty", &port_ops, &p), -EINVAL);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, UINT64_MAX - 8, 16, "wraps", &port_ops, &p), -EINVAL);
    CHECK_EQ(bus_register(&bus, BUS_PIO, 0xfff0, 0x20, "past 0xffff", &port_ops, &p), -EINVAL);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x9000, 1, "no ops", NULL, &p), -EINVAL);
    /* The top of the 64-bit space is usable. */
    CHECK_EQ(bus_register(&bus, BUS_MMIO, UINT64_MAX - 15, 16, "top", &port_ops, &p), 0);
    uint8_t b;
    bus_read(&bus, BUS_MMIO, UINT64_MAX, 1, &b);
    CHECK_EQ(b, 0x40 + 15);
    /* Unregistering frees the place. */
    CHECK_EQ(bus_unregister(&bus, BUS_MMIO, 0x1000), 0);
    CHECK_EQ(bus_unregister(&bus, BUS_MMIO, 0x1000), -ENOENT);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x1800, 0x10, "inside", &port_ops, &p), 0);
    bus_destroy(&bus);
}

static void test_unknown(void)
{
    struct bus bus;
    CHECK_EQ(bus_init(&bus), 0);
    uint64_t v = 0;
    bus_read(&bus, BUS_MMIO, 0xfe000000, 8, &v);
    CHECK_EQ(v, UINT64_MAX);
    uint32_t d = 0;
    bus_read(&bus, BUS_PIO, 0xcfc, 4, &d);
    CHECK_EQ(d, 0xffffffff);
    bus_write(&bus, BUS_MMIO, 0xfe000008, 4, &d);
    bus_write(&bus, BUS_MMIO, 0xfe000008, 4, &d);
    CHECK_EQ(bus.map[BUS_MMIO].unknown_reads, 1);
    CHECK_EQ(bus.map[BUS_MMIO].unknown_writes, 2);
    CHECK_EQ(bus.map[BUS_MMIO].last_unknown, 0xfe000008);
    CHECK_EQ(bus.map[BUS_PIO].unknown_reads, 1);
    CHECK_EQ(bus.map[BUS_PIO].unknown_writes, 0);
    CHECK_EQ(bus.map[BUS_MMIO].nunknown, 2);
    CHECK_EQ(bus.map[BUS_MMIO].unknown[1].addr, 0xfe000008);
    CHECK_EQ(bus.map[BUS_MMIO].unknown[1].writes, 2);
    /* Sizes the bus does not carry are unknown accesses. */
    bus_read(&bus, BUS_MMIO, 0x1000, 0, &v);
    CHECK_EQ(bus.map[BUS_MMIO].unknown_reads, 2);
    /* Port 0x80 writes are POST codes, counted apart. */
    uint8_t b = 1;
    bus_write(&bus, BUS_PIO, BUS_PORT_POST, 1, &b);
    CHECK_EQ(bus.post_writes, 1);
    CHECK_EQ(bus.map[BUS_PIO].unknown_writes, 0);
    bus_destroy(&bus);
}

/* Many ranges inserted in random order stay sorted and are all found. */
static void test_sorted(void)
{
    enum { N = 4096 };
    struct bus bus;
    struct fake_port p;
    static unsigned order[N];
    CHECK_EQ(bus_init(&bus), 0);
    for (unsigned i = 0; i < N; i++)
        order[i] = i;
    srand(42);
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (unsigned i = 0; i < N; i++)
        CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x100000000ULL + order[i] * 0x2000ULL, 0x1000, "r",
                              &port_ops, &p),
                 0);
    const struct bus_map *m = &bus.map[BUS_MMIO];
    CHECK_EQ(m->n, N);
    int sorted = 1;
    for (size_t i = 1; i < m->n; i++)
        sorted &= m->ranges[i - 1].base + m->ranges[i - 1].len <= m->ranges[i].base;
    CHECK(sorted);
    unsigned hits = 0, misses = 0;
    for (unsigned i = 0; i < N; i++) {
        struct bus_range r;
        hits += bus_find(&bus, BUS_MMIO, 0x100000000ULL + i * 0x2000ULL + 0xfff, &r) == 0;
        misses += bus_find(&bus, BUS_MMIO, 0x100000000ULL + i * 0x2000ULL + 0x1000, &r) == -ENOENT;
    }
    CHECK_EQ(hits, N);
    CHECK_EQ(misses, N);
    bus_destroy(&bus);
}

/* A callback that moves its own range (a BAR being reprogrammed). */
static struct bus *move_bus;
static void move_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)offset, (void)size;
    CHECK_EQ(bus_unregister(move_bus, BUS_MMIO, 0x4000), 0);
    for (int i = 0; i < 40; i++) /* grows the array: it is reallocated */
        CHECK_EQ(bus_register(move_bus, BUS_MMIO, 0x100000 + i * 16, 16, "x", &port_ops, dev), 0);
    CHECK_EQ(bus_register(move_bus, BUS_MMIO, v, 0x100, "moved", &mmio_ops, dev), 0);
}

static void test_callback_moves_range(void)
{
    static const struct bus_dev_ops ops = { NULL, move_write };
    static struct fake_mmio m;
    struct bus bus;
    move_bus = &bus;
    CHECK_EQ(bus_init(&bus), 0);
    CHECK_EQ(bus_register(&bus, BUS_MMIO, 0x4000, 0x100, "bar", &ops, &m), 0);
    uint64_t to = 0x8000;
    bus_write(&bus, BUS_MMIO, 0x4000, 8, &to);
    struct bus_range r;
    CHECK_EQ(bus_find(&bus, BUS_MMIO, 0x8010, &r), 0);
    CHECK_STR(r.name, "moved");
    CHECK_EQ(bus_find(&bus, BUS_MMIO, 0x4000, &r), -ENOENT);
    bus_destroy(&bus);
}

int main(void)
{
    test_dispatch();
    test_overlaps();
    test_unknown();
    test_sorted();
    test_callback_moves_range();
    return t_done("kvm.bus");
}
