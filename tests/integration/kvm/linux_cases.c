/* Debian's own kernel in picostack-vmm, with a busybox initramfs built here
 * from busybox-static. Its /init mounts proc and sysfs, prints the marker
 * the test put on the command line and the CPU count, then does
 * `poweroff -f` or `reboot -f`, as the command line says.
 *
 * Four boots serve the ten cases, each its own ctest test. Every boot has
 * --uuid LINUX_UUID and /init reports the kernel's "DMI:" line and the
 * SMBIOS System UUID (dmi, dmi_pvh):
 *   boot "poweroff": --cpus 2, picostack.action=poweroff  -> marker, poweroff, cpus, rtc,
 *                                                            dmi
 *   boot "reboot":   --cpus 1, reboot=k, picostack.action=reboot; /init
 *                    first reads a line the test types on the serial
 *                    console (stdin) and says it         -> reboot, input
 *   boot "cad":      --cpus 1, --control: /init waits for Ctrl-Alt-Del (the
 *                    kernel's i8042 + atkbd drivers, kernel.ctrl-alt-del=0 so
 *                    that init gets SIGINT), the test sends {"op":"shutdown"},
 *                    init says so and powers off            -> shutdown
 *   boot "pvh":      the same kernel as an ELF vmlinux, entered through its
 *                    PVH note, --cpus 1, poweroff             -> pvh, dmi_pvh
 * The first case to need a boot runs it and keeps its record in --cache DIR
 * (under a lock, so parallel cases wait for it rather than boot twice); the
 * others read that record. A ctest fixture empties DIR before each run, so a
 * record never outlives its run (inside the with-kvm TCG guest DIR starts
 * empty anyway). */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINUX_TIMEOUT_S 180.0 /* PICOSTACK_LINUX_TIMEOUT (seconds) overrides */
#define LINUX_MEM_MIB   "256"
#define LINUX_UUID      "5f2c1a3e-8b4d-4e6f-9a0b-1c2d3e4f5a6b"

/* ---- one boot, recorded ---- */
struct boot {
    const char *name; /* "poweroff" or "reboot" */
    const char *cpus;
    const char *action;
    const char *extra_cmdline;
    bool control; /* send {"op":"shutdown"} once /init waits for it */
    bool pvh;     /* boot the ELF vmlinux through its PVH note */
};

static const struct boot boots[] = {
    { "poweroff", "2", "poweroff", "", false, false },
    { "reboot", "1", "reboot", " reboot=k picostack.input=1", false, false },
    { "cad", "1", "cad", "", true, false },
    { "pvh", "1", "poweroff", "", false, true },
};

/* Waits for /init to ask for input, then types "in-MARKER" and Enter on
 * the serial console. Failures show in the record (no "input=in-..."). */
static void type_line(struct vm *vm, const char *marker, double timeout_s)
{
    char line[64];
    if (vm_wait_output(vm, "waiting for input", 0, timeout_s) < 0) {
        fprintf(stderr, "test: /init never asked for input\n");
        return;
    }
    int n = snprintf(line, sizeof(line), "in-%s\n", marker);
    vm_write(vm, line, (size_t)n);
}

/* Waits for /init to say it waits for Ctrl-Alt-Del, then asks the VMM for a
 * graceful shutdown. Failures show in the record (no "got ctrl-alt-del"). */
static void send_shutdown(struct vm *vm, const char *sock, double timeout_s)
{
    if (vm_wait_output(vm, "waiting for ctrl-alt-del", 0, timeout_s) < 0) {
        fprintf(stderr, "test: /init never said it waits for ctrl-alt-del\n");
        return;
    }
    int fd = control_connect(sock, 10);
    if (fd < 0)
        return;
    control_op(fd, "shutdown", NULL);
    close(fd);
}

/* Boots and writes the record: "exit=N seconds=S first_byte=S marker=M\n",
 * then the serial output, then "\n--- stderr ---\n" and the VMM's stderr. */
static int run_boot(const struct options *o, const struct boot *b, const char *record)
{
    char dir[4096], initrd[4200], cmdline[512], marker[17];
    uint8_t rnd[8];
    struct vm vm = { 0 };
    int rc = -1;
    if (t_mkdtemp(dir, sizeof(dir), "picostack-kvm-test") < 0)
        return -1;
    snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", dir);
    if (linux_initramfs_build(o->busybox, initrd))
        goto out;
    random_bytes(rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(marker + 2 * i, 3, "%02x", rnd[i]);
    /* PICOSTACK_LINUX_VERBOSE=1: the kernel's whole log, for debugging. */
    const char *verbose = getenv("PICOSTACK_LINUX_VERBOSE");
    snprintf(cmdline, sizeof(cmdline), "console=ttyS0%s picostack.marker=%s picostack.action=%s%s",
             verbose && *verbose == '1' ? "" : " quiet", marker, b->action, b->extra_cmdline);
    char sock[4200];
    snprintf(sock, sizeof(sock), "%s/control.sock", dir);
    const char *argv[] = { o->vmm,
                           "--kernel",
                           b->pvh ? o->vmlinux : o->kernel,
                           "--initrd",
                           initrd,
                           "--cmdline",
                           cmdline,
                           "--mem",
                           LINUX_MEM_MIB,
                           "--cpus",
                           b->cpus,
                           "--uuid",
                           LINUX_UUID,
                           "--serial",
                           "stdio",
                           "--verbose",
                           b->control ? "--control" : NULL,
                           sock,
                           NULL };
    if (vm_start(&vm, (char *const *)argv))
        goto out;
    const char *limit_env = getenv("PICOSTACK_LINUX_TIMEOUT");
    double limit = limit_env && atof(limit_env) > 0 ? atof(limit_env) : LINUX_TIMEOUT_S;
    if (b->control)
        send_shutdown(&vm, sock, limit);
    if (strstr(b->extra_cmdline, "picostack.input=1"))
        type_line(&vm, marker, limit);
    vm_close_stdin(&vm);
    double left = vm.started + limit - now_s();
    if (vm_wait_exit(&vm, left > 1 ? left : 1))
        fprintf(stderr, "test: Linux did not end the VM within %.0f s\n", limit);
    double secs = now_s() - vm.started;
    fprintf(stderr, "test: Linux boot \"%s\" took %.1f s (first serial byte after %.1f s)\n",
            b->name, secs, vm.first_byte);
    size_t cap = vm.out.len + vm.err.len + 256;
    char *text = malloc(cap);
    if (!text)
        goto out;
    int n = snprintf(
        text, cap,
        "exit=%d seconds=%.1f first_byte=%.1f marker=%s host_end=%lld\n%s\n--- stderr ---\n%s",
        vm_exit_code(&vm), secs, vm.first_byte, marker, (long long)time(NULL), vm.out.data,
        vm.err.data);
    /* The kernel's tty writes "\r\n"; the checks look for "\n". */
    size_t w = 0;
    for (int i = 0; i < n; i++)
        if (text[i] != '\r')
            text[w++] = text[i];
    n = (int)w;
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", record);
    rc = t_write_file(tmp, text, (size_t)n, 0644) || rename(tmp, record) ? -1 : 0;
    free(text);
out:
    vm_destroy(&vm);
    t_rm_rf(dir);
    return rc;
}

/* The record of boot b: read from the cache, or made now. */
static char *boot_record(const struct options *o, const struct boot *b)
{
    char lock[4200], record[4200];
    char *data = NULL;
    size_t len;
    if (mkdir(o->cache, 0755) && errno != EEXIST) {
        fprintf(stderr, "test: mkdir %s: %s\n", o->cache, strerror(errno));
        return NULL;
    }
    snprintf(lock, sizeof(lock), "%s/%s.lock", o->cache, b->name);
    snprintf(record, sizeof(record), "%s/%s.record", o->cache, b->name);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX)) {
        fprintf(stderr, "test: lock %s: %s\n", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (access(record, R_OK) == 0)
        fprintf(stderr,
                "test: using the record of Linux boot \"%s\" made earlier in this run (%s)\n",
                b->name, record);
    else if (run_boot(o, b, record))
        fprintf(stderr, "test: Linux boot \"%s\" could not be run\n", b->name);
    if (access(record, R_OK) == 0)
        t_read_file(record, &data, &len);
    close(fd);
    return data;
}

/* The record without the kernel's own lines ("[    1.234567] ...\n"): the
 * 8250 driver sends /init's tty output in chunks between which printk may
 * write whole lines, so a tty line can be split by a printk line. */
static char *without_printk_lines(const char *rec)
{
    char *out = malloc(strlen(rec) + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *p = rec; *p;) {
        if (*p == '[') {
            const char *q = p + 1;
            while (*q == ' ' || *q == '.' || (*q >= '0' && *q <= '9'))
                q++;
            const char *nl = strchr(q, '\n');
            if (*q == ']' && q > p + 1 && nl) {
                p = nl + 1;
                continue;
            }
        }
        *w++ = *p++;
    }
    *w = 0;
    return out;
}

/* Did /init report TEXT, on its console or through /dev/kmsg? */
static bool said(const char *rec, const char *text)
{
    char a[256], b[256];
    snprintf(a, sizeof(a), "picostack-init: %s", text);
    snprintf(b, sizeof(b), "picostack-kmsg: %s", text);
    char *tty = without_printk_lines(rec);
    bool found = (tty && strstr(tty, a)) || strstr(rec, b);
    free(tty);
    return found;
}

static int fail(const char *record, const char *why)
{
    fprintf(stderr, "test: FAILED: %s\n---- record of the boot ----\n%s\n----\n", why, record);
    return 1;
}

/* One boot's record, parsed: what the checks below look at. */
struct result {
    const char *rec; /* the whole record */
    char *tty;       /* the record without printk lines */
    int exit_code;
    double secs;
    long long host_end; /* host time when the boot ended */
    char marker[17];
    const char *action; /* what the boot's /init was told to do */
};

static bool marker_on_tty(const struct result *r)
{
    char want[128];
    snprintf(want, sizeof(want), "picostack-init: marker=%s\n", r->marker);
    return r->marker[0] && r->tty && strstr(r->tty, want);
}

static bool init_ran(const struct result *r)
{
    char want[128];
    snprintf(want, sizeof(want), "marker=%s\n", r->marker);
    return r->marker[0] && said(r->rec, want);
}

static int check_marker(const struct result *r)
{
    if (marker_on_tty(r))
        return 0;
    return fail(r->rec,
                init_ran(r)
                    ? "/init ran (its /dev/kmsg copy is there) but its console output was lost"
                    : "/init did not print the marker from the command line");
}

static int check_cpus(const struct result *r)
{
    return said(r->rec, "nproc=2 online=0-1\n")
               ? 0
               : fail(r->rec, "the guest does not see 2 CPUs (nproc=2 online=0-1)");
}

/* Linux's rtc_cmos driver reads the VMM's RTC: the host's time, give or take. */
static int check_rtc(const struct result *r)
{
    const char *at = r->tty ? strstr(r->tty, "picostack-init: rtc_epoch=") : NULL;
    const char *kat = strstr(r->rec, "picostack-kmsg: rtc_epoch=");
    long long rtc = -1;
    if (!(at && sscanf(at, "picostack-init: rtc_epoch=%lld", &rtc) == 1) &&
        !(kat && sscanf(kat, "picostack-kmsg: rtc_epoch=%lld", &rtc) == 1))
        return fail(r->rec,
                    "no /sys/class/rtc/rtc0 in the guest (Linux's rtc_cmos did not take the RTC)");
    if (rtc < r->host_end - (long long)r->secs - 5 || rtc > r->host_end + 5)
        return fail(r->rec, "the guest's RTC is not the host's time");
    return 0;
}

static int check_input(const struct result *r)
{
    char want[128];
    snprintf(want, sizeof(want), "input=in-%s\n", r->marker);
    return said(r->rec, want)
               ? 0
               : fail(r->rec, "the line typed on the serial console (stdin) did not reach /init");
}

/* poweroff, reboot, pvh: /init asked for it, the kernel did it, the VMM
 * exited 0. */
static int check_ended(const struct result *r)
{
    char want[64];
    snprintf(want, sizeof(want), "action=%s\n", r->action);
    if (!init_ran(r) || !said(r->rec, want))
        return fail(r->rec, "/init did not get as far as its poweroff/reboot");
    if (said(r->rec, "-f returned"))
        return fail(r->rec, "the kernel returned from poweroff/reboot");
    if (!strstr(r->rec, !strcmp(r->action, "reboot") ? "reboot: Restarting system\n"
                                                     : "reboot: Power down\n"))
        return fail(r->rec, "the kernel did not say it was powering down / restarting");
    return r->exit_code == 0 ? 0 : fail(r->rec, "the VMM did not exit with 0");
}

static int check_pvh(const struct result *r)
{
    return marker_on_tty(r) ? check_ended(r)
                            : fail(r->rec, "/init did not print the marker on its console");
}

/* SMBIOS: the kernel's "DMI:" line names an OpenStack Nova machine, and
 * the System UUID reads back as the --uuid given (bzImage and PVH boots). */
static int check_dmi(const struct result *r)
{
    if (!said(r->rec, "dmi=OpenStack Foundation OpenStack Nova"))
        return fail(r->rec, "the kernel's DMI: line does not say OpenStack Foundation "
                            "OpenStack Nova (no SMBIOS tables found?)");
    if (!said(r->rec, "dmi_uuid=" LINUX_UUID "\n"))
        return fail(r->rec, "/sys/class/dmi/id/product_uuid is not the --uuid given");
    const char *line = strstr(r->rec, "picostack-init: dmi=");
    fprintf(stderr, "test: %.*s\n", line ? (int)strcspn(line, "\r\n") : 0, line ? line : "");
    return 0;
}

static int check_shutdown(const struct result *r)
{
    if (!said(r->rec, "waiting for ctrl-alt-del\n"))
        return fail(r->rec, "/init did not get as far as waiting for Ctrl-Alt-Del");
    if (!said(r->rec, "got ctrl-alt-del\n"))
        return fail(r->rec,
                    "{\"op\":\"shutdown\"} did not reach /init as Ctrl-Alt-Del (i8042, atkbd)");
    return r->exit_code == 0 ? 0 : fail(r->rec, "the VMM did not exit with 0");
}

static const struct {
    const char *name;
    int boot; /* index in boots[] */
    int (*check)(const struct result *);
} checks[] = {
    { "marker", 0, check_marker },     { "poweroff", 0, check_ended }, { "cpus", 0, check_cpus },
    { "rtc", 0, check_rtc },           { "reboot", 1, check_ended },   { "input", 1, check_input },
    { "shutdown", 2, check_shutdown }, { "pvh", 3, check_pvh },        { "dmi", 0, check_dmi },
    { "dmi_pvh", 3, check_dmi },
};

int case_linux(const struct options *o, int argc, char **argv)
{
    size_t i = 0, n = sizeof(checks) / sizeof(checks[0]);
    while (argc == 1 && i < n && strcmp(argv[0], checks[i].name))
        i++;
    if (i == n) {
        fprintf(stderr,
                "test: linux takes marker, poweroff, cpus, rtc, reboot, input, shutdown, pvh, dmi "
                "or dmi_pvh\n");
        return 1;
    }
    const struct boot *b = &boots[checks[i].boot];
    if (!o->kernel || !o->busybox || !o->cache || (b->pvh && !o->vmlinux)) {
        fprintf(stderr, "test: linux needs --kernel (--vmlinux for pvh), --busybox and --cache\n");
        return 1;
    }
    char *rec = boot_record(o, b);
    if (!rec)
        return 1;
    struct result r = {
        .rec = rec, .tty = without_printk_lines(rec), .exit_code = -2, .action = b->action
    };
    sscanf(rec, "exit=%d seconds=%lf first_byte=%*f marker=%16s host_end=%lld", &r.exit_code,
           &r.secs, r.marker, &r.host_end);
    fprintf(stderr, "test: boot \"%s\": exit %d after %.1f s\n", b->name, r.exit_code, r.secs);
    int rc = checks[i].check(&r);
    free(r.tty);
    free(rec);
    return rc;
}
