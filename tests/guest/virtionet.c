/* virtionet: answers ARP and ping on the first virtio-net NIC.
 * Finds it on bus 0 (vpci.h), negotiates VERSION_1 + MAC + STATUS, sets up
 * the receive queue (MSI-X vector 0 -> this CPU) and the transmit queue,
 * prints "virtionet: ready" with the MAC and link state from the device's
 * configuration, then answers ARP requests for 10.77.0.2 and ICMP echo
 * requests to it until it has answered PINGS of them (or a minute passed),
 * prints what it did and powers off. */
#include "rt/rt.h"
#include "vpci.h"

#define DEVICE_NET 0x1041
#define QSIZE      16
#define BUF        2048
#define HDR        12
#define PINGS      3
#define IRQ_VECTOR 0x41

static const uint8_t my_ip[4] = { 10, 77, 0, 2 };
static uint8_t mac[6];
static struct vpci_dev dev;
static struct vpci_queue rxq, txq;
static uint8_t rxbuf[QSIZE][BUF] __attribute__((aligned(4096)));
static uint8_t txbuf[BUF] __attribute__((aligned(4096)));
static volatile uint32_t irqs;

static void on_irq(void)
{
    irqs++;
    lapic_eoi();
}

static __attribute__((noreturn)) void fail(const struct boot_info *bi, const char *why)
{
    serial_puts("virtionet: FAIL ");
    serial_puts(why);
    serial_puts("\n");
    acpi_poweroff(bi);
    triple_fault();
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += be16(p + i);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Sends txbuf[HDR .. HDR+len) and waits for the device to take it. */
static void send(uint32_t len)
{
    memset(txbuf, 0, HDR);
    vpci_add(&dev, &txq, 0, txbuf, HDR + len, false);
    uint32_t id, l;
    uint64_t until = rdtsc() + 2000 * TSC_PER_MS;
    while (!vpci_used(&txq, &id, &l) && rdtsc() < until)
        cpu_relax();
}

static int answer_arp(const uint8_t *f, uint32_t len)
{
    if (len < 42 || be16(f + 20) != 1 || memcmp(f + 38, my_ip, 4))
        return 0;
    uint8_t *o = txbuf + HDR;
    memcpy(o, f + 6, 6);
    memcpy(o + 6, mac, 6);
    memcpy(o + 12, f + 12, 8); /* ethertype, htype, ptype, sizes */
    o[20] = 0, o[21] = 2;      /* reply */
    memcpy(o + 22, mac, 6);
    memcpy(o + 28, my_ip, 4);
    memcpy(o + 32, f + 22, 10); /* the asker's MAC and IP */
    send(42);
    return 1;
}

static int answer_ping(const uint8_t *f, uint32_t len)
{
    if (len < 42 || (f[14] >> 4) != 4 || f[23] != 1 || memcmp(f + 30, my_ip, 4))
        return 0;
    unsigned ihl = (f[14] & 15u) * 4, tot = be16(f + 16);
    if (tot > len - 14 || tot < ihl + 8 || f[14 + ihl] != 8)
        return 0;
    uint8_t *o = txbuf + HDR;
    memcpy(o, f + 6, 6);
    memcpy(o + 6, mac, 6);
    memcpy(o + 12, f + 12, 2 + tot);
    memcpy(o + 26, f + 30, 4); /* swap the addresses */
    memcpy(o + 30, f + 26, 4);
    o[22] = 64;
    o[24] = o[25] = 0;
    uint16_t c = csum(o + 14, ihl);
    o[24] = (uint8_t)(c >> 8), o[25] = (uint8_t)c;
    uint8_t *icmp = o + 14 + ihl;
    icmp[0] = 0; /* echo reply */
    icmp[2] = icmp[3] = 0;
    c = csum(icmp, tot - ihl);
    icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
    send(14 + tot);
    return 1;
}

void guest_main(const struct boot_info *bi)
{
    idt_init();
    idt_set_handler(IRQ_VECTOR, on_irq);
    lapic_enable();
    sti();
    if (vpci_find(&dev, DEVICE_NET) < 0)
        fail(bi, "no virtio-net on bus 0");
    if (vpci_negotiate(&dev, (1u << 5) | (1u << 16)) < 0) /* MAC, STATUS */
        fail(bi, "FEATURES_OK refused");
    vpci_msix(&dev, 0, IRQ_VECTOR);
    if (vpci_queue(&dev, &rxq, 0, QSIZE, 0) < 0 || vpci_queue(&dev, &txq, 1, QSIZE, 0xffff) < 0)
        fail(bi, "queues");
    if (vpci_driver_ok(&dev) < 0)
        fail(bi, "DRIVER_OK");
    for (int i = 0; i < 6; i++)
        mac[i] = vpci_cfg8(&dev, (unsigned)i);
    for (uint16_t i = 0; i < QSIZE; i++)
        vpci_add(&dev, &rxq, i, rxbuf[i], BUF, true);
    serial_puts("virtionet: ready mac");
    for (int i = 0; i < 6; i++) {
        static const char hex[] = "0123456789abcdef";
        serial_putc(i ? ':' : ' ');
        serial_putc(hex[mac[i] >> 4]);
        serial_putc(hex[mac[i] & 15]);
    }
    serial_puts(vpci_cfg8(&dev, 6) & 1 ? " link up\n" : " link down\n");

    unsigned arps = 0, pings = 0, frames = 0;
    uint64_t until = rdtsc() + 60000 * TSC_PER_MS;
    while (pings < PINGS && rdtsc() < until) {
        uint32_t id, len;
        if (!vpci_used(&rxq, &id, &len)) {
            cpu_relax();
            continue;
        }
        if (id >= QSIZE || len < HDR + 14 || len > BUF)
            fail(bi, "a bad used element");
        const uint8_t *f = rxbuf[id] + HDR;
        frames++;
        if (be16(f + 12) == 0x0806)
            arps += (unsigned)answer_arp(f, len - HDR);
        else if (be16(f + 12) == 0x0800)
            pings += (unsigned)answer_ping(f, len - HDR);
        vpci_add(&dev, &rxq, (uint16_t)id, rxbuf[id], BUF, true);
    }
    tsc_delay_ms(200); /* the host reads the last reply */
    serial_puts("virtionet: answered ");
    put_dec(pings);
    serial_puts(" pings, ");
    put_dec(arps);
    serial_puts(" arps, ");
    put_dec(frames);
    serial_puts(" frames, interrupts ");
    put_dec(irqs ? 1 : 0);
    serial_puts("\n");
    acpi_poweroff(bi);
    fail(bi, "poweroff");
}
