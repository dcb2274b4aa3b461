/* hostile: a guest that does what a careless or hostile kernel might, none
 * of which may hurt the VMM: I/O to ports nobody decodes (8, 16 and 32 bits,
 * and rep ins/outs string I/O), port 0x80, MMIO reads and writes in the
 * 32-bit hole and above its RAM, an i8042 command it does not know, UART
 * registers written with junk. Then it prints what the unknown reads gave
 * and resets: the VMM must still be alive and exit 0. */
#include "rt/rt.h"

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint8_t scratch[64];

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    serial_puts("picostack-guest: hostile start\n");
    for (int i = 0; i < 8; i++)
        outb(0x80, (uint8_t)i); /* POST codes */
    outb(0x1234, 0xaa);
    outw(0x1234, 0xaaaa);
    outl(0x1234, 0xaaaaaaaa);
    uint8_t b = inb(0x1234);
    uint16_t w = inw(0xdead);
    uint32_t l = inl(0xbeec);
    /* String I/O: the VMM sees one exit with a count. */
    memset(scratch, 0x5a, sizeof(scratch));
    const void *src = scratch;
    void *dst = scratch;
    size_t n = sizeof(scratch);
    __asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(0x2345) : "memory");
    n = sizeof(scratch);
    __asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(0x2345) : "memory");
    bool ins_all_ones = true;
    for (size_t i = 0; i < sizeof(scratch); i++)
        ins_all_ones &= scratch[i] == 0xff;
    /* MMIO nobody decodes: in the 32-bit hole, and above RAM. */
    volatile uint32_t *hole = (volatile uint32_t *)0xd0000000ull;
    volatile uint32_t *beyond = (volatile uint32_t *)0xc0000000ull;
    hole[0] = 0x12345678;
    uint32_t hole_v = hole[1];
    beyond[0] = 0x87654321;
    uint32_t beyond_v = beyond[3];
    /* Devices fed junk. */
    outb(0x64, 0x99);      /* no such i8042 command */
    outb(0x3f8 + 3, 0x80); /* UART DLAB on, odd divisor, off */
    outb(0x3f8 + 0, 0x00);
    outb(0x3f8 + 1, 0xff);
    outb(0x3f8 + 3, 0x03);
    outb(0x3f8 + 2, 0xff); /* FCR: all bits */
    outb(0x3f8 + 7, 0x42); /* scratch */
    outb(0x70, 0xff);      /* CMOS index past the end */
    (void)inb(0x71);
    serial_puts("picostack-guest: hostile unknown in8=");
    put_hex(b);
    serial_puts(" in16=");
    put_hex(w);
    serial_puts(" in32=");
    put_hex(l);
    serial_puts(" insb=");
    if (ins_all_ones) {
        serial_puts("all-ones");
    } else {
        for (size_t i = 0; i < 8; i++) {
            put_hex(scratch[i]);
            serial_puts(i < 7 ? "," : "...");
        }
    }
    serial_puts(" mmio-hole=");
    put_hex(hole_v);
    serial_puts(" mmio-beyond=");
    put_hex(beyond_v);
    serial_puts("\npicostack-guest: hostile still alive\n");
    guest_reset();
}
