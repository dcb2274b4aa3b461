/* Serial output and input, printing, reset, CRC32, the few libc functions
 * the compiler may call, and the C side of the entry (rt_start). */
#include "rt.h"

#define COM1           0x3f8
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & LSR_THR_EMPTY))
        cpu_relax();
    outb(COM1, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

bool serial_has_input(void)
{
    return inb(COM1 + 5) & LSR_DATA_READY;
}

char serial_getc(void)
{
    while (!serial_has_input())
        cpu_relax();
    return (char)inb(COM1);
}

static void put_hex_digits(uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        serial_putc(hex[(v >> (4 * i)) & 0xf]);
}

void put_hex(uint64_t v)
{
    int digits = 1;
    while (digits < 16 && (v >> (4 * digits)))
        digits++;
    serial_puts("0x");
    put_hex_digits(v, digits);
}

void put_hex32(uint32_t v)
{
    put_hex_digits(v, 8);
}

void put_dec(uint64_t v)
{
    char buf[21];
    int i = sizeof(buf);
    buf[--i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    serial_puts(&buf[i]);
}

void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
        while (l->locked)
            cpu_relax();
}

void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

void triple_fault(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty = { 0, 0 };
    __asm__ volatile("lidt %0; int3" : : "m"(empty));
    halt_forever();
}

void guest_reset(void)
{
    outb(0x64, 0xfe);
    /* Give the VMM a moment to act on it. */
    for (int i = 0; i < 1000; i++)
        cpu_relax();
    serial_puts("guest: reset through port 0x64 did not end the VM\n");
    triple_fault();
}

uint32_t crc32_update(uint32_t crc, const void *buf, size_t len)
{
    static uint32_t table[256];
    static bool have_table;
    if (!have_table) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        have_table = true;
    }
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void tsc_delay_ms(uint64_t ms)
{
    uint64_t end = rdtsc() + ms * TSC_PER_MS;
    while (rdtsc() < end)
        cpu_relax();
}

__attribute__((weak)) void ap_main(uint32_t index)
{
    (void)index;
    halt_forever();
}

void boot_info_parse(enum boot_form form, uint64_t info, struct boot_info *bi);

void rt_start(uint32_t form, uint64_t info);
void rt_start(uint32_t form, uint64_t info)
{
    static struct boot_info bi;
    boot_info_parse((enum boot_form)form, info, &bi);
    guest_main(&bi);
    serial_puts("guest: guest_main returned\n");
    triple_fault();
}
