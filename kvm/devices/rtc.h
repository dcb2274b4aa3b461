/* MC146818 CMOS real-time clock (index port 0x70, data port 0x71).
 *
 * The time registers show the host's UTC time plus an offset the guest sets
 * by writing them; BCD or binary and 12/24-hour follow register B as on the
 * chip. Register A shows "update in progress" during the last 244 us of each
 * second, as the chip does (hwclock waits for that edge), D always "RAM
 * valid". Interrupts (IRQ 8): update-ended once a second, alarm when the
 * alarm registers match (0xC0-0xFF = any), periodic at register A's rate;
 * register C reports and clears them. The flags are brought up to date on
 * every register access and by rtc_update(), which the VMM calls when the
 * deadline it was last given through the timer callback has passed. Bit 7 of the
 * index port is the NMI mask, kept but without effect. The other bytes are
 * plain CMOS RAM. */
#ifndef PICOSTACK_KVM_DEVICES_RTC_H
#define PICOSTACK_KVM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kvm/devices/irq.h"
#include "kvm/bus.h"

#define RTC_PORT 0x70 /* 2 ports */

enum {
    RTC_SECONDS = 0x00,
    RTC_MINUTES = 0x02,
    RTC_HOURS = 0x04,
    RTC_WEEKDAY = 0x06,
    RTC_DAY = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
    RTC_REG_A = 0x0a,
    RTC_REG_B = 0x0b,
    RTC_REG_C = 0x0c,
    RTC_REG_D = 0x0d,
    RTC_CENTURY = 0x32,
};

#define RTC_B_SET       0x80
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H       0x02
#define RTC_D_VRT       0x80

/* Host time source in nanoseconds since the epoch, replaceable in tests. */
typedef int64_t (*rtc_clock_fn)(void);

#define RTC_A_UIP  0x80
#define RTC_UIP_NS 244000
#define RTC_B_PIE  0x40
#define RTC_B_AIE  0x20
#define RTC_B_UIE  0x10
#define RTC_C_IRQF 0x80
#define RTC_C_PF   0x40
#define RTC_C_AF   0x20
#define RTC_C_UF   0x10

/* The VMM's timer: call rtc_update() at deadline_ns (CLOCK_REALTIME);
 * -1: no interrupt is enabled, no timer needed. */
typedef void (*rtc_timer_fn)(void *opaque, int64_t deadline_ns);

struct rtc {
    uint8_t index;
    bool nmi_masked;
    uint8_t ram[128];
    int64_t offset; /* guest time - host time, seconds */
    rtc_clock_fn now;
    int64_t last_ns; /* when the flags were last brought up to date */
    struct irq_line irq;
    rtc_timer_fn timer;
    void *timer_opaque;
};

/* now NULL: CLOCK_REALTIME; timer NULL: none (flags still follow time). */
void rtc_init(struct rtc *r, rtc_clock_fn now, struct irq_line irq, rtc_timer_fn timer,
              void *opaque);
/* Brings the interrupt flags and IRQ 8 up to date and re-arms the timer. */
void rtc_update(struct rtc *r);
/* The PC BIOS's bytes in CMOS memory that a legacy BIOS reads: base memory
 * (0x15-0x16, 640 KiB), extended memory (0x17-0x18 and 0x30-0x31, KiB above
 * 1 MiB, at most 0xffff), memory above 16 MiB (0x34-0x35, 64 KiB units),
 * above 4 GiB (0x5b-0x5d, 64 KiB units) and the vCPU count - 1 (0x5f).
 * low: RAM bytes below 4 GiB; high: above. */
void rtc_set_memory(struct rtc *r, uint64_t low, uint64_t high, unsigned ncpus);
/* The next time an enabled interrupt is due (ns), or -1. */
int64_t rtc_next_event(const struct rtc *r);
uint8_t rtc_read(struct rtc *r, uint16_t port);
void rtc_write(struct rtc *r, uint16_t port, uint8_t value);

extern const struct bus_dev_ops rtc_io_ops; /* dev: struct rtc *, 2 ports */

#endif
