#include "kvm/devices/rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kvm/devices/device.h"
#include "kvm/loop.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

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

void rtc_init(struct rtc *r, rtc_clock_fn now, struct irq_line irq, rtc_timer_fn timer,
              void *opaque)
{
    memset(r, 0, sizeof(*r));
    r->now = now ? now : host_now;
    r->irq = irq;
    r->timer = timer;
    r->timer_opaque = opaque;
    r->ram[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
    r->ram[RTC_REG_B] = RTC_B_24H;
    r->ram[RTC_REG_D] = RTC_D_VRT;
    r->last_ns = r->now();
}

void rtc_set_memory(struct rtc *r, uint64_t low, uint64_t high, unsigned ncpus)
{
    uint64_t ext = low > (1u << 20) ? (low - (1u << 20)) >> 10 : 0;
    uint64_t over16 = low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0;
    uint64_t over4g = high >> 16;
    if (ext > 0xffff)
        ext = 0xffff;
    if (over16 > 0xffff)
        over16 = 0xffff;
    if (over4g > 0xffffff)
        over4g = 0xffffff;
    r->ram[0x15] = 640 & 0xff;
    r->ram[0x16] = 640 >> 8;
    r->ram[0x17] = r->ram[0x30] = ext & 0xff;
    r->ram[0x18] = r->ram[0x31] = ext >> 8;
    r->ram[0x34] = over16 & 0xff;
    r->ram[0x35] = over16 >> 8;
    r->ram[0x5b] = over4g & 0xff;
    r->ram[0x5c] = (over4g >> 8) & 0xff;
    r->ram[0x5d] = over4g >> 16;
    r->ram[0x5f] = ncpus ? (uint8_t)(ncpus - 1) : 0;
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

/* ---- interrupts ---- */

#define NS 1000000000LL

/* Periodic interrupt period from register A's rate select, or 0 for none:
 * rates 1 and 2 run as 8 and 9 (on a 32.768 kHz base), rate n as
 * 32768 >> (n - 1) Hz. */
static int64_t period_ns(const struct rtc *r)
{
    unsigned rate = r->ram[RTC_REG_A] & 0x0f;
    if (rate == 0)
        return 0;
    if (rate < 3)
        rate += 7;
    return (NS << (rate - 1)) / 32768;
}

/* Does the alarm match the guest's current time? 0xC0-0xFF = any. */
static bool alarm_matches(const struct rtc *r)
{
    static const uint8_t pairs[][2] = { { 1, RTC_SECONDS }, { 3, RTC_MINUTES }, { 5, RTC_HOURS } };
    for (int i = 0; i < 3; i++) {
        uint8_t want = r->ram[pairs[i][0]];
        if ((want & 0xc0) == 0xc0)
            continue;
        if (want != read_time(r, pairs[i][1]))
            return false;
    }
    return true;
}

int64_t rtc_next_event(const struct rtc *r)
{
    uint8_t en = r->ram[RTC_REG_B] & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE);
    int64_t now = r->now(), next = -1;
    if (en & (RTC_B_AIE | RTC_B_UIE))
        next = (now / NS + 1) * NS;
    int64_t p = period_ns(r);
    if ((en & RTC_B_PIE) && p) {
        int64_t n = (now / p + 1) * p;
        if (next < 0 || n < next)
            next = n;
    }
    return next;
}

void rtc_update(struct rtc *r)
{
    int64_t now = r->now(), last = r->last_ns;
    uint8_t flags = r->ram[RTC_REG_C];
    if (now / NS > last / NS && !(r->ram[RTC_REG_B] & RTC_B_SET)) {
        flags |= RTC_C_UF;
        if (alarm_matches(r))
            flags |= RTC_C_AF;
    }
    int64_t p = period_ns(r);
    if (p && now / p > last / p)
        flags |= RTC_C_PF;
    r->last_ns = now;
    if (flags & r->ram[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
        flags |= RTC_C_IRQF;
    r->ram[RTC_REG_C] = flags;
    irq_line_set(&r->irq, flags & RTC_C_IRQF);
    if (r->timer)
        r->timer(r->timer_opaque, rtc_next_event(r));
}

uint8_t rtc_read(struct rtc *r, uint16_t port)
{
    if (port == RTC_PORT)
        return 0xff; /* the index port is write-only */
    uint8_t i = r->index;
    if (is_time_reg(i))
        return read_time(r, i);
    if (i == RTC_REG_C)
        rtc_update(r);
    uint8_t v = r->ram[i];
    if (i == RTC_REG_A && r->now() % NS >= NS - RTC_UIP_NS)
        v |= RTC_A_UIP;
    if (i == RTC_REG_C) {
        r->ram[RTC_REG_C] = 0; /* reading C acknowledges its flags */
        irq_line_set(&r->irq, 0);
    }
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
    else if (i == RTC_REG_A || i == RTC_REG_B) {
        rtc_update(r);                               /* flags so far under the old settings */
        r->ram[i] = i == RTC_REG_A ? (v & 0x7f) : v; /* UIP is read-only */
        rtc_update(r);                               /* new enables: IRQ and timer follow */
    } else if (i == RTC_REG_C || i == RTC_REG_D)
        ; /* read-only */
    else
        r->ram[i] = v;
}

static uint64_t io_read(void *dev, uint64_t offset, unsigned size)
{
    (void)size;
    return rtc_read(dev, RTC_PORT + offset);
}

static void io_write(void *dev, uint64_t offset, unsigned size, uint64_t v)
{
    (void)size;
    rtc_write(dev, RTC_PORT + offset, v & 0xff);
}

const struct bus_dev_ops rtc_io_ops = { io_read, io_write };

/* ---- as a VM device: ports 0x70-0x71, IRQ 8, PNP0B00, a timerfd ---- */

struct rtc_dev {
    struct rtc rtc;
    struct vm *vm;
    struct bus *bus;
    int timerfd; /* CLOCK_REALTIME, absolute: the next interrupt */
};

/* The model's timer callback, with the bus lock held. */
static void arm_timer(void *opaque, int64_t deadline_ns)
{
    struct rtc_dev *d = opaque;
    struct itimerspec its = { 0 }; /* all zero: disarmed */
    if (deadline_ns >= 0) {
        its.it_value.tv_sec = deadline_ns / 1000000000;
        its.it_value.tv_nsec = deadline_ns % 1000000000;
        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
            its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 && d->vm)
        vm_request_stop(d->vm, VMM_EXIT_ERROR, "RTC timer: %s", strerror(errno));
}

/* The timer fired: bring the interrupt flags up to date (which re-arms it). */
static int on_timer(void *opaque, int res)
{
    struct rtc_dev *d = opaque;
    uint64_t expirations;
    if (res >= 0 && read(d->timerfd, &expirations, sizeof(expirations)) == sizeof(expirations)) {
        bus_lock(d->bus);
        rtc_update(&d->rtc);
        bus_unlock(d->bus);
    }
    return LOOP_KEEP;
}

static void rtc_teardown(void *state)
{
    struct rtc_dev *d = state;
    close(d->timerfd);
    free(d);
}

static int rtc_dev_init(struct vmdev_ctx *ctx, void **state)
{
    struct rtc_dev *d = calloc(1, sizeof(*d));
    if (!d)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    d->vm = ctx->vm;
    d->bus = ctx->bus;
    d->timerfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (d->timerfd < 0) {
        int e = errno;
        free(d);
        return verr_set(ctx->err, e, "timerfd_create: %s", strerror(e));
    }
    rtc_init(&d->rtc, NULL, vmdev_irq_line(ctx, X86_RTC_IRQ), arm_timer, d);
    uint64_t ram = ctx->cfg->mem_mib << 20, low = ram < GM_LOW_LIMIT ? ram : GM_LOW_LIMIT;
    rtc_set_memory(&d->rtc, low, ram - low, ctx->cfg->cpus);
    int r = vmdev_add_range(ctx, BUS_PIO, RTC_PORT, 2, &rtc_io_ops, &d->rtc);
    if (!r && ctx->loop && !loop_add_fd(ctx->loop, d->timerfd, on_timer, d))
        r = verr_set(ctx->err, errno, "RTC timer: %s", strerror(errno));
    if (r) {
        rtc_teardown(d);
        return r;
    }
    *state = d;
    return 0;
}

static const struct vmdev_desc rtc_device = {
    .name = "rtc",
    .init = rtc_dev_init,
    .teardown = rtc_teardown,
    .acpi_hid = "PNP0B00",
    .acpi_name = "RTC_",
};
VMDEV_REGISTER(rtc_device);
