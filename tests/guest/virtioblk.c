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
 * and powers off; with "stay" on its command line, it first prints the
 * CRC32 of the 64 KiB at 1 MiB as it finds them ("at 1M", what an earlier
 * boot's flushed pattern left there), and at the end keeps running,
 * printing "tick N" every 100 ms, instead of powering off. Every step prints a line the host test looks for. */
#include "vpci.h"

#define DEVICE_BLK  0x1042
#define QSIZE       8
#define IRQ_VECTOR  0x41
#define PATTERN_AT  (1u << 20)
#define CHUNK       (64u << 10)
#define FILL_AT     (2u << 20)
#define F_BLK_FLUSH (1u << 9)

static struct vpci_dev dev;
static struct vpci_queue q0;
static uint8_t data[CHUNK] __attribute__((aligned(4096)));
static uint8_t back[CHUNK] __attribute__((aligned(4096)));
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static volatile uint32_t irqs;

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

/* One request on queue 0: header, optional data, status; waits up to 5 s
 * for it. The status byte, or -2 on time-out. */
static int request(uint32_t type, uint64_t sector, void *buf, uint32_t len, bool dev_writes)
{
    hdr.type = type;
    hdr.sector = sector;
    status = 0xff;
    struct vpci_buf chain[3];
    unsigned n = 0;
    chain[n++] = (struct vpci_buf){ &hdr, sizeof hdr, false };
    if (len)
        chain[n++] = (struct vpci_buf){ buf, len, dev_writes };
    chain[n++] = (struct vpci_buf){ (void *)&status, 1, true };
    vpci_add_chain(&dev, &q0, 0, chain, n);
    uint64_t until = rdtsc() + 5000 * TSC_PER_MS;
    uint32_t id, used_len;
    while (!vpci_used(&q0, &id, &used_len)) {
        if (rdtsc() > until)
            return -2;
        cpu_relax();
    }
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

/* Whether the command line holds `word` as a whole word. */
static bool has_word(const struct boot_info *bi, const char *word)
{
    size_t n = strlen(word);
    for (const char *c = bi->cmdline; c && *c; c++)
        if ((c == bi->cmdline || c[-1] == ' ') && !memcmp(c, word, n) && (c[n] == ' ' || c[n] == 0))
            return true;
    return false;
}

static __attribute__((noreturn)) void tick_forever(void)
{
    for (uint64_t n = 1;; n++) {
        tsc_delay_ms(100);
        serial_puts("virtioblk: tick ");
        put_dec(n);
        serial_puts("\n");
    }
}

void guest_main(const struct boot_info *bi)
{
    idt_init();
    idt_set_handler(IRQ_VECTOR, on_irq);
    lapic_enable();
    sti();
    if (vpci_find(&dev, DEVICE_BLK) < 0)
        fail(bi, "no virtio-blk on bus 0");
    serial_puts("virtioblk: found at 00:");
    put_dec(dev.slot);
    serial_puts("\n");
    if (vpci_negotiate(&dev, F_BLK_FLUSH) < 0)
        fail(bi, "FEATURES_OK refused");
    /* MSI-X vector 0 -> this CPU, IRQ_VECTOR; queue 0 uses it */
    vpci_msix(&dev, 0, IRQ_VECTOR);
    if (vpci_queue(&dev, &q0, 0, QSIZE, 0) < 0)
        fail(bi, "queue vector refused");
    if (vpci_driver_ok(&dev) < 0)
        fail(bi, "DRIVER_OK");

    uint64_t sectors = 0;
    for (unsigned i = 0; i < 8; i++)
        sectors |= (uint64_t)vpci_cfg8(&dev, i) << (8 * i);
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

    bool stay = has_word(bi, "stay");
    if (stay) {
        if (request(0, PATTERN_AT / 512, back, CHUNK, true) != 0)
            fail(bi, "read at 1M");
        serial_puts("virtioblk: at 1M ");
        put_hex32(crc32_update(0, back, CHUNK));
        serial_puts("\n");
    }
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
    if (stay)
        tick_forever();
    acpi_poweroff(bi);
    fail(bi, "poweroff");
}
