/* virtioblk: a small virtio 1.x PCI driver for the first virtio-blk disk.
 * Finds it on bus 0 through configuration mechanism #1, walks its virtio
 * capabilities, negotiates VERSION_1 + FLUSH, sets up queue 0 with an MSI-X
 * vector aimed at this CPU, and then:
 *   prints the capacity and the serial (GET_ID);
 *   reads the first 64 KiB and prints their CRC32 ("before");
 *   writes a 64 KiB pattern at byte 1 MiB, flushes, reads it back and
 *     compares ("pattern ok");
 *   counts the MSI-X interrupts that arrived (one per request);
 *   with "fill=N" on its command line, writes N clusters more (fill());
 * and powers off. Every step prints a line the host test looks for. */
#include "rt/rt.h"

#define VENDOR_VIRTIO 0x1af4
#define DEVICE_BLK    0x1042
#define QSIZE         8
#define IRQ_VECTOR    0x41
#define PATTERN_AT    (1u << 20)
#define CHUNK         (64u << 10)
#define FILL_AT       (2u << 20)

static uint8_t desc_mem[16 * QSIZE] __attribute__((aligned(16)));
static uint8_t avail_mem[6 + 2 * QSIZE] __attribute__((aligned(2)));
static uint8_t used_mem[6 + 8 * QSIZE] __attribute__((aligned(4)));
static uint8_t data[CHUNK] __attribute__((aligned(4096)));
static uint8_t back[CHUNK] __attribute__((aligned(4096)));
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static volatile uint32_t irqs;

static uint64_t common, notify, isr, devcfg;
static uint32_t notify_mult;
static uint16_t notify_off;

static uint32_t cfg_read(unsigned slot, unsigned off)
{
    outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
    return v;
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
    outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
    outl(0xcfc, v);
}

static void w8(uint64_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static void w16(uint64_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}
static void w32(uint64_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}
static uint8_t r8(uint64_t a)
{
    return *(volatile uint8_t *)a;
}
static uint16_t r16(uint64_t a)
{
    return *(volatile uint16_t *)a;
}
static uint32_t r32(uint64_t a)
{
    return *(volatile uint32_t *)a;
}

static __attribute__((noreturn)) void fail(const struct boot_info *bi, const char *why)
{
    serial_puts("virtioblk: FAIL ");
    serial_puts(why);
    serial_puts("\n");
    acpi_poweroff(bi);
    triple_fault();
}

static void on_irq(void)
{
    irqs++;
    lapic_eoi();
}

/* Finds the disk; returns its slot or -1. */
static int find_disk(void)
{
    for (unsigned s = 0; s < 32; s++) {
        uint32_t id = cfg_read(s, 0);
        if ((id & 0xffff) == VENDOR_VIRTIO && (id >> 16) == DEVICE_BLK)
            return (int)s;
    }
    return -1;
}

/* Where BAR `bar` of the function is (32- or 64-bit memory BAR). */
static uint64_t bar_addr(unsigned slot, unsigned bar)
{
    if (bar > 5)
        return 0;
    uint32_t lo = cfg_read(slot, 0x10 + 4 * bar);
    if (lo & 1)
        return 0; /* I/O BAR */
    uint64_t a = lo & ~0xfull;
    if ((lo & 6) == 4 && bar < 5)
        a |= (uint64_t)cfg_read(slot, 0x14 + 4 * bar) << 32;
    return a;
}

/* Walks the capability list: the virtio structures and MSI-X. */
static int read_caps(unsigned slot, uint64_t *msix_table)
{
    unsigned p = cfg_read(slot, 0x34) & 0xff;
    *msix_table = 0;
    for (int guard = 0; p && guard < 48; guard++) {
        uint32_t h = cfg_read(slot, p);
        if ((h & 0xff) == 0x09) { /* vendor: virtio_pci_cap */
            uint8_t type = (uint8_t)(h >> 24);
            uint64_t at = bar_addr(slot, cfg_read(slot, p + 4) & 0xff) + cfg_read(slot, p + 8);
            if (type == 1)
                common = at;
            else if (type == 2) {
                notify = at;
                notify_mult = cfg_read(slot, p + 16);
            } else if (type == 3)
                isr = at;
            else if (type == 4)
                devcfg = at;
        } else if ((h & 0xff) == 0x11) { /* MSI-X: enable it */
            uint32_t t = cfg_read(slot, p + 4);
            *msix_table = bar_addr(slot, t & 7) + (t & ~7u);
            cfg_write(slot, p, h | (0x8000u << 16));
        }
        p = (h >> 8) & 0xff;
    }
    return common && notify && isr && devcfg && *msix_table ? 0 : -1;
}

/* One request on queue 0: header, optional data, status. */
static int request(uint32_t type, uint64_t sector, void *buf, uint32_t len, bool dev_writes)
{
    static uint16_t avail_idx, used_seen;
    struct d {
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
    } *d = (struct d *)desc_mem;
    hdr.type = type;
    hdr.sector = sector;
    status = 0xff;
    int n = 0;
    d[n++] = (struct d){ (uint64_t)(uintptr_t)&hdr, 16, 1, 1 };
    if (len)
        d[n++] =
            (struct d){ (uint64_t)(uintptr_t)buf, len, (uint16_t)(1 | (dev_writes ? 2 : 0)), 2 };
    d[n - 1].next = (uint16_t)n;
    d[n++] = (struct d){ (uint64_t)(uintptr_t)&status, 1, 2, 0 };
    uint16_t *ring = (uint16_t *)(avail_mem + 4);
    ring[avail_idx % QSIZE] = 0;
    __asm__ volatile("" ::: "memory");
    *(volatile uint16_t *)(avail_mem + 2) = ++avail_idx;
    __asm__ volatile("mfence" ::: "memory");
    w16(notify + (uint64_t)notify_off * notify_mult, 0);
    uint64_t until = rdtsc() + 5000 * TSC_PER_MS;
    while (*(volatile uint16_t *)(used_mem + 2) == used_seen) {
        if (rdtsc() > until)
            return -2;
        cpu_relax();
    }
    used_seen++;
    return status;
}

/* "fill=N" on the command line: N more clusters written from FILL_AT on,
 * each 64 KiB holding its number in its first 4 bytes, then a flush; more
 * than a block-store disk's first grant (kvm.h "grant"), so its owner must
 * feed the VMM grants while the guest writes. */
static void fill(const struct boot_info *bi)
{
    const char *c = bi->cmdline;
    uint32_t n = 0;
    for (; c && *c; c++)
        if (c[0] == 'f' && c[1] == 'i' && c[2] == 'l' && c[3] == 'l' && c[4] == '=') {
            for (c += 5; *c >= '0' && *c <= '9'; c++)
                n = n * 10 + (uint32_t)(*c - '0');
            break;
        }
    if (!n)
        return;
    for (uint32_t i = 0; i < CHUNK; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    for (uint32_t k = 0; k < n; k++) {
        *(uint32_t *)data = k;
        if (request(1, (FILL_AT + (uint64_t)k * CHUNK) / 512, data, CHUNK, false) != 0)
            fail(bi, "fill write");
    }
    if (request(4, 0, 0, 0, false) != 0)
        fail(bi, "fill flush");
    serial_puts("virtioblk: filled ");
    put_dec(n);
    serial_puts(" clusters\n");
}

void guest_main(const struct boot_info *bi)
{
    idt_init();
    idt_set_handler(IRQ_VECTOR, on_irq);
    lapic_enable();
    sti();
    int slot = find_disk();
    if (slot < 0)
        fail(bi, "no virtio-blk on bus 0");
    serial_puts("virtioblk: found at 00:");
    put_dec((uint64_t)slot);
    serial_puts("\n");
    cfg_write((unsigned)slot, 4, cfg_read((unsigned)slot, 4) | 0x6); /* memory + bus master */
    uint64_t msix;
    if (read_caps((unsigned)slot, &msix) < 0)
        fail(bi, "virtio capabilities");

    /* status handshake and features */
    w8(common + 0x14, 0);
    w8(common + 0x14, 1 | 2);
    w32(common + 0x00, 1);
    if (!(r32(common + 0x04) & 1)) /* VERSION_1 is bit 32 */
        fail(bi, "no VERSION_1");
    w32(common + 0x08, 0);
    w32(common + 0x0c, 1u << 9); /* FLUSH */
    w32(common + 0x08, 1);
    w32(common + 0x0c, 1); /* VERSION_1 */
    w8(common + 0x14, 1 | 2 | 8);
    if (!(r8(common + 0x14) & 8))
        fail(bi, "FEATURES_OK refused");

    /* MSI-X vector 0 -> this CPU, IRQ_VECTOR; queue 0 uses it */
    w32(msix + 0, 0xfee00000u | (lapic_id() << 12));
    w32(msix + 4, 0);
    w32(msix + 8, IRQ_VECTOR);
    w32(msix + 12, 0); /* unmasked */
    w16(common + 0x16, 0);
    w16(common + 0x18, QSIZE);
    w16(common + 0x1a, 0);
    if (r16(common + 0x1a) != 0)
        fail(bi, "queue vector refused");
    notify_off = r16(common + 0x1e);
    w32(common + 0x20, (uint32_t)(uintptr_t)desc_mem);
    w32(common + 0x24, 0);
    w32(common + 0x28, (uint32_t)(uintptr_t)avail_mem);
    w32(common + 0x2c, 0);
    w32(common + 0x30, (uint32_t)(uintptr_t)used_mem);
    w32(common + 0x34, 0);
    w16(common + 0x1c, 1);
    w8(common + 0x14, 1 | 2 | 8 | 4);
    if (r8(common + 0x14) != (1 | 2 | 8 | 4))
        fail(bi, "DRIVER_OK");

    uint64_t sectors = r32(devcfg) | ((uint64_t)r32(devcfg + 4) << 32);
    serial_puts("virtioblk: capacity ");
    put_dec(sectors);
    serial_puts(" sectors\n");
    static char serial[21];
    if (request(8, 0, serial, 20, true) != 0)
        fail(bi, "GET_ID");
    serial_puts("virtioblk: serial ");
    serial_puts(serial);
    serial_puts("\n");

    if (request(0, 0, data, CHUNK, true) != 0)
        fail(bi, "first read");
    serial_puts("virtioblk: before ");
    put_hex32(crc32_update(0, data, CHUNK));
    serial_puts("\n");

    for (uint32_t i = 0; i < CHUNK; i++)
        data[i] = (uint8_t)(i * 7 + i / 4096);
    if (request(1, PATTERN_AT / 512, data, CHUNK, false) != 0)
        fail(bi, "write");
    if (request(4, 0, 0, 0, false) != 0)
        fail(bi, "flush");
    if (request(0, PATTERN_AT / 512, back, CHUNK, true) != 0)
        fail(bi, "read back");
    if (memcmp(data, back, CHUNK) != 0)
        fail(bi, "pattern differs");
    serial_puts("virtioblk: pattern ok ");
    put_hex32(crc32_update(0, back, CHUNK));
    serial_puts("\n");
    tsc_delay_ms(10);
    serial_puts("virtioblk: interrupts ");
    put_dec(irqs);
    serial_puts("\n");
    fill(bi);
    acpi_poweroff(bi);
    fail(bi, "poweroff");
}
