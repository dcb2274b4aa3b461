#include "kvm/devices/rtc.h"

#include <string.h>

static int64_t host_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static time_t now_s(const struct rtc *r)
{
	return r->now() / 1000000000;
}

void rtc_init(struct rtc *r, rtc_clock_fn now)
{
	memset(r, 0, sizeof(*r));
	r->now = now ? now : host_now;
	r->ram[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	r->ram[RTC_REG_B] = RTC_B_24H;
	r->ram[RTC_REG_D] = RTC_D_VRT;
}

static bool is_time_reg(uint8_t i)
{
	return i == RTC_SECONDS || i == RTC_MINUTES || i == RTC_HOURS || i == RTC_WEEKDAY ||
	       i == RTC_DAY || i == RTC_MONTH || i == RTC_YEAR || i == RTC_CENTURY;
}

static uint8_t to_reg(const struct rtc *r, unsigned v)
{
	if (r->ram[RTC_REG_B] & RTC_B_DM_BINARY)
		return v;
	return ((v / 10) << 4) | (v % 10);
}

static unsigned from_reg(const struct rtc *r, uint8_t v)
{
	if (r->ram[RTC_REG_B] & RTC_B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	time_t t = now_s(r) + r->offset;
	gmtime_r(&t, tm);
}

static uint8_t read_hours(const struct rtc *r, int hour)
{
	if (r->ram[RTC_REG_B] & RTC_B_24H)
		return to_reg(r, hour);
	int h12 = hour % 12 == 0 ? 12 : hour % 12;
	return to_reg(r, h12) | (hour >= 12 ? 0x80 : 0);
}

static uint8_t read_time(const struct rtc *r, uint8_t index)
{
	struct tm tm;
	guest_tm(r, &tm);
	switch (index) {
	case RTC_SECONDS: return to_reg(r, tm.tm_sec);
	case RTC_MINUTES: return to_reg(r, tm.tm_min);
	case RTC_HOURS: return read_hours(r, tm.tm_hour);
	case RTC_WEEKDAY: return to_reg(r, tm.tm_wday + 1);
	case RTC_DAY: return to_reg(r, tm.tm_mday);
	case RTC_MONTH: return to_reg(r, tm.tm_mon + 1);
	case RTC_YEAR: return to_reg(r, tm.tm_year % 100);
	default: return to_reg(r, (tm.tm_year + 1900) / 100); /* century */
	}
}

/* The guest sets one field: the others keep their current value and the
 * offset to host time absorbs the change. */
static void write_time(struct rtc *r, uint8_t index, uint8_t v)
{
	struct tm tm;
	guest_tm(r, &tm);
	switch (index) {
	case RTC_SECONDS: tm.tm_sec = from_reg(r, v); break;
	case RTC_MINUTES: tm.tm_min = from_reg(r, v); break;
	case RTC_HOURS:
		if (r->ram[RTC_REG_B] & RTC_B_24H) {
			tm.tm_hour = from_reg(r, v);
		} else {
			int h = from_reg(r, v & 0x7f) % 12;
			tm.tm_hour = h + ((v & 0x80) ? 12 : 0);
		}
		break;
	case RTC_WEEKDAY: return; /* derived from the date */
	case RTC_DAY: tm.tm_mday = from_reg(r, v); break;
	case RTC_MONTH: tm.tm_mon = from_reg(r, v) - 1; break;
	case RTC_YEAR: tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + from_reg(r, v) - 1900; break;
	default: tm.tm_year = from_reg(r, v) * 100 + tm.tm_year % 100; break;
	}
	time_t t = timegm(&tm);
	if (t != (time_t)-1)
		r->offset = (int64_t)t - (int64_t)now_s(r);
}

uint8_t rtc_read(struct rtc *r, uint16_t port)
{
	if (port == RTC_PORT)
		return 0xff; /* the index port is write-only */
	uint8_t i = r->index;
	if (is_time_reg(i))
		return read_time(r, i);
	uint8_t v = r->ram[i];
	if (i == RTC_REG_A && r->now() % 1000000000 >= 1000000000 - RTC_UIP_NS)
		v |= RTC_A_UIP;
	if (i == RTC_REG_C)
		r->ram[RTC_REG_C] = 0; /* reading C acknowledges its flags */
	return v;
}

void rtc_write(struct rtc *r, uint16_t port, uint8_t v)
{
	if (port == RTC_PORT) {
		r->index = v & 0x7f;
		r->nmi_masked = v & 0x80;
		return;
	}
	uint8_t i = r->index;
	if (is_time_reg(i))
		write_time(r, i, v);
	else if (i == RTC_REG_A)
		r->ram[i] = v & 0x7f; /* UIP is read-only */
	else if (i == RTC_REG_C || i == RTC_REG_D)
		; /* read-only */
	else
		r->ram[i] = v;
}

static uint32_t io_read(void *dev, uint16_t offset, unsigned size)
{
	(void)size;
	return rtc_read(dev, RTC_PORT + offset);
}

static void io_write(void *dev, uint16_t offset, unsigned size, uint32_t v)
{
	(void)size;
	rtc_write(dev, RTC_PORT + offset, v & 0xff);
}

const struct io_dev_ops rtc_io_ops = { io_read, io_write };
