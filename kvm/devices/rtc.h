/* MC146818 CMOS real-time clock (index port 0x70, data port 0x71).
 *
 * The time registers show the host's UTC time plus an offset the guest sets
 * by writing them; BCD or binary and 12/24-hour follow register B as on the
 * chip. Register A shows "update in progress" during the last 244 us of each
 * second, as the chip does (hwclock waits for that edge), D always "RAM
 * valid", C has no interrupt flags (no RTC interrupts are generated). Bit 7 of the
 * index port is the NMI mask, kept but without effect. The other bytes are
 * plain CMOS RAM. */
#ifndef PICOSTACK_KVM_DEVICES_RTC_H
#define PICOSTACK_KVM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kvm/io_bus.h"

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

#define RTC_B_SET 0x80
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_D_VRT 0x80

/* Host time source in nanoseconds since the epoch, replaceable in tests. */
typedef int64_t (*rtc_clock_fn)(void);

#define RTC_A_UIP 0x80
#define RTC_UIP_NS 244000

struct rtc {
	uint8_t index;
	bool nmi_masked;
	uint8_t ram[128];
	int64_t offset; /* guest time - host time, seconds */
	rtc_clock_fn now;
};

void rtc_init(struct rtc *r, rtc_clock_fn now); /* now NULL: CLOCK_REALTIME */
uint8_t rtc_read(struct rtc *r, uint16_t port);
void rtc_write(struct rtc *r, uint16_t port, uint8_t value);

extern const struct io_dev_ops rtc_io_ops; /* dev: struct rtc *, 2 ports */

#endif
