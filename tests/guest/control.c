/* control: the guest that the --control tests drive. Prints "ready", then a
 * counter line every COUNT_MS; between lines it polls the i8042 (port 0x64
 * status, port 0x60 data) and resets when it sees Ctrl+Alt+Del, as Linux
 * does for the VMM's graceful shutdown. Scancode set 1 (translated, what
 * Linux sees through the i8042) and set 2 are both understood. */
#include "rt/rt.h"

#define COUNT_MS     100
#define I8042_DATA   0x60
#define I8042_STATUS 0x64
#define STATUS_OBF   0x01
#define STATUS_AUX   0x20

enum { KEY_CTRL = 1, KEY_ALT = 2, KEY_DEL = 4 };

static int key_of(uint8_t code)
{
    switch (code) {
    case 0x1d:
    case 0x14: return KEY_CTRL; /* set 1, set 2 */
    case 0x38:
    case 0x11: return KEY_ALT;
    case 0x53:
    case 0x71: return KEY_DEL;
    default: return 0;
    }
}

/* Feeds one byte from the keyboard; returns true once Ctrl+Alt+Del are
 * all held. */
static bool keyboard_byte(uint8_t b)
{
    static int held;
    static bool set2_break;
    serial_puts("picostack-guest: scancode ");
    put_hex(b);
    serial_puts("\n");
    if (b == 0xe0)
        return false;
    if (b == 0xf0) {
        set2_break = true;
        return false;
    }
    bool release = set2_break || (b & 0x80);
    int key = key_of(set2_break ? b : (uint8_t)(b & 0x7f));
    set2_break = false;
    if (release)
        held &= ~key;
    else
        held |= key;
    return held == (KEY_CTRL | KEY_ALT | KEY_DEL);
}

static void poll_keyboard(void)
{
    uint8_t st;
    while ((st = inb(I8042_STATUS)) & STATUS_OBF) {
        uint8_t b = inb(I8042_DATA);
        if (st & STATUS_AUX)
            continue;
        if (keyboard_byte(b)) {
            serial_puts("picostack-guest: ctrl-alt-del, resetting\n");
            guest_reset();
        }
    }
}

void guest_main(const struct boot_info *bi)
{
    (void)bi;
    outb(I8042_STATUS, 0xae); /* enable the keyboard interface */
    serial_puts("picostack-guest: ready\n");
    for (uint64_t n = 0;; n++) {
        serial_puts("picostack-guest: count ");
        put_dec(n);
        serial_puts("\n");
        uint64_t end = rdtsc() + COUNT_MS * TSC_PER_MS;
        while (rdtsc() < end) {
            poll_keyboard();
            tsc_delay_ms(5);
        }
    }
}
