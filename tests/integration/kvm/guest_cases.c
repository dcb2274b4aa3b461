/* The cases that run our own test guests (tests/guest/) in picostack-vmm. */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_ARGS 24

/* Boots GUEST (name, form) with extra VMM arguments, waits for the exit.
 * Returns 0 when the VMM exited on its own in time (any code). */
static int run_guest(const struct options *o, struct vm *vm, const char *name, const char *form,
                     const char *const extra[])
{
    char kernel[4096];
    if (guest_path(o, name, form, kernel, sizeof(kernel)))
        return -1;
    const char *argv[MAX_ARGS] = { o->vmm, "--kernel", kernel, "--serial", "stdio" };
    int n = 5;
    for (int i = 0; extra && extra[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    if (vm_start(vm, (char *const *)argv))
        return -1;
    if (vm_wait_exit(vm, GUEST_TIMEOUT_S)) {
        vm_dump(vm, "the VMM did not exit");
        return -1;
    }
    fprintf(stderr, "test: %s (%s) ran %.2f s, first serial byte after %.3f s\n", name, form,
            now_s() - vm->started, vm->first_byte);
    return 0;
}

/* Passes when the VMM exited with 0 and printed every needle. */
static int expect_exit0(struct vm *vm, const char *const needles[])
{
    if (vm_exit_code(vm) != 0) {
        vm_dump(vm, "expected exit status 0");
        return 1;
    }
    for (int i = 0; needles[i]; i++)
        if (!strstr(vm->out.data, needles[i])) {
            char why[512];
            snprintf(why, sizeof(why), "the guest's serial output lacks \"%s\"", needles[i]);
            vm_dump(vm, why);
            return 1;
        }
    return 0;
}

static const char *form_arg(int argc, char **argv)
{
    if (argc != 1 || (strcmp(argv[0], "pvh") && strcmp(argv[0], "bzimage"))) {
        fprintf(stderr, "test: expected one argument, pvh or bzimage\n");
        return NULL;
    }
    return argv[0];
}

int case_hello(const struct options *o, int argc, char **argv)
{
    const char *form = form_arg(argc, argv);
    struct vm vm;
    char line[128];
    if (!form)
        return 1;
    snprintf(line, sizeof(line), "picostack-guest: hello from %s\n", form);
    const char *needles[] = { line, NULL };
    int rc = run_guest(o, &vm, "hello", form, NULL) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

int case_poweroff(const struct options *o, int argc, char **argv)
{
    const char *form = form_arg(argc, argv);
    struct vm vm;
    char line[128];
    if (!form)
        return 1;
    snprintf(line, sizeof(line), "picostack-guest: powering off (%s)\n", form);
    const char *needles[] = { line, "guest: poweroff, SLP_TYP ", NULL };
    int rc = run_guest(o, &vm, "poweroff", form, NULL) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

int case_echo(const struct options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char kernel[4096], payload[301], expect[512];
    if (guest_path(o, "echo", "pvh", kernel, sizeof(kernel)))
        return 1;
    random_bytes(payload, sizeof(payload) - 1);
    for (size_t i = 0; i < sizeof(payload) - 1;
         i++) /* '0'..'z': printable, never the '#' terminator */
        payload[i] = (char)('0' + (uint8_t)payload[i] % 75);
    payload[sizeof(payload) - 1] = 0;
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)payload, (uInt)strlen(payload));
    snprintf(expect, sizeof(expect),
             "picostack-guest: echo ready\n%s\npicostack-guest: echo done count=%zu crc32=%08x\n",
             payload, strlen(payload), crc);

    const char *vargv[] = { o->vmm, "--kernel", kernel, "--serial", "stdio", NULL };
    struct vm vm;
    int rc = 1;
    if (vm_start(&vm, (char *const *)vargv))
        return 1;
    if (vm_wait_output(&vm, "picostack-guest: echo ready\n", 0, GUEST_TIMEOUT_S) < 0) {
        vm_dump(&vm, "the guest never said \"echo ready\"");
        goto out;
    }
    if (vm_write(&vm, payload, strlen(payload)) || vm_write(&vm, "#", 1))
        goto out;
    if (vm_wait_exit(&vm, GUEST_TIMEOUT_S)) {
        vm_dump(&vm, "the VMM did not exit after the echo");
        goto out;
    }
    if (vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "expected exit status 0");
        goto out;
    }
    if (!strstr(vm.out.data, expect)) {
        fprintf(stderr, "test: expected this on the serial port:\n%s\n", expect);
        vm_dump(&vm, "the echo differs from what was sent");
        goto out;
    }
    rc = 0;
out:
    vm_destroy(&vm);
    return rc;
}

int case_cmdline(const struct options *o, int argc, char **argv)
{
    const char *form = form_arg(argc, argv);
    char dir[4096], initrd[4200], cmdline[256], expect[512];
    uint8_t rnd[8];
    struct vm vm = { 0 };
    int rc = 1;
    if (!form || t_mkdtemp(dir, sizeof(dir), "picostack-kvm-test") < 0)
        return 1;
    random_bytes(rnd, sizeof(rnd));
    snprintf(cmdline, sizeof(cmdline),
             "console=ttyS0 picostack.token=%02x%02x%02x%02x%02x%02x%02x%02x quote=\"a b\" "
             "path=/x/y,z end",
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    size_t size = 4096 + (size_t)(rnd[0] | rnd[1] << 8) % 60000; /* odd sizes too */
    uint8_t *data = malloc(size);
    if (!data)
        goto out;
    random_bytes(data, size);
    uint32_t crc = (uint32_t)crc32(0, data, (uInt)size);
    snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
    if (t_write_file(initrd, data, size, 0600))
        goto out;
    const char *extra[] = { "--cmdline", cmdline, "--initrd", initrd, NULL };
    if (run_guest(o, &vm, "cmdline", form, extra))
        goto out;
    char line1[300];
    snprintf(line1, sizeof(line1), "picostack-guest: cmdline=[%s]\n", cmdline);
    snprintf(expect, sizeof(expect), "picostack-guest: initrd size=%zu crc32=%08x ", size, crc);
    const char *needles[] = { line1, expect, NULL };
    rc = expect_exit0(&vm, needles);
out:
    free(data);
    vm_destroy(&vm);
    t_rm_rf(dir);
    return rc;
}

int case_triple(const struct options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct vm vm;
    int rc = 1;
    if (run_guest(o, &vm, "triple", "pvh", NULL))
        goto out;
    if (!vm.exited || !WIFEXITED(vm.status)) {
        vm_dump(&vm, "the VMM must exit (not die of a signal) on a triple fault");
        goto out;
    }
    if (vm_exit_code(&vm) == 0) {
        vm_dump(&vm, "a triple fault must end the VMM with a non-zero status");
        goto out;
    }
    if (!strstr(vm.out.data, "picostack-guest: about to triple-fault\n")) {
        vm_dump(&vm, "the guest did not get as far as its triple fault");
        goto out;
    }
    if (!strcasestr(vm.err.data, "rip") || !strcasestr(vm.err.data, "rsp") ||
        !strcasestr(vm.err.data, "cr0")) {
        vm_dump(&vm, "no register dump (RIP, RSP, CR0) on stderr");
        goto out;
    }
    rc = 0;
out:
    vm_destroy(&vm);
    return rc;
}

int case_smp(const struct options *o, int argc, char **argv)
{
    int n = argc == 1 ? atoi(argv[0]) : 0;
    if (n < 1 || n > 16) {
        fprintf(stderr, "test: smp takes a CPU count, 1..16\n");
        return 1;
    }
    char cpus[16], madt[64], up[64], lines[15][64];
    const char *needles[20];
    int k = 0;
    snprintf(cpus, sizeof(cpus), "%d", n);
    snprintf(madt, sizeof(madt), "picostack-guest: madt cpus=%d ", n);
    snprintf(up, sizeof(up), "picostack-guest: cpus up=%d\n", n);
    needles[k++] = madt;
    needles[k++] = up;
    for (int i = 1; i < n; i++) {
        snprintf(lines[i - 1], sizeof(lines[0]), "picostack-guest: cpu %d up, apic id ", i);
        needles[k++] = lines[i - 1];
    }
    needles[k] = NULL;
    const char *extra[] = { "--cpus", cpus, NULL };
    struct vm vm;
    int rc = run_guest(o, &vm, "smp", "pvh", extra) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

int case_timer(const struct options *o, int argc, char **argv)
{
    const char *needle = NULL;
    if (argc == 1 && !strcmp(argv[0], "lapic"))
        needle = "picostack-guest: lapic timer ok (ticks=";
    else if (argc == 1 && !strcmp(argv[0], "pit"))
        needle = "picostack-guest: pit ok (ticks=";
    if (!needle) {
        fprintf(stderr, "test: timer takes lapic or pit\n");
        return 1;
    }
    const char *needles[] = { needle, NULL };
    struct vm vm;
    int rc = run_guest(o, &vm, "timer", "pvh", NULL) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

int case_uartirq(const struct options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *needles[] = { "picostack-guest: uart thre irq ok, iir 0x2\n", NULL };
    struct vm vm;
    int rc = run_guest(o, &vm, "uartirq", "pvh", NULL) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

int case_hostile(const struct options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    /* Ports nobody decodes read as all ones, as on a PC (Linux's ISA probes
     * rely on it); the rest only has to leave the VMM alive. */
    const char *needles[] = {
        "picostack-guest: hostile unknown in8=0xff in16=0xffff in32=0xffffffff insb=all-ones ",
        "picostack-guest: hostile still alive\n", NULL
    };
    struct vm vm;
    int rc = run_guest(o, &vm, "hostile", "pvh", NULL) ? 1 : expect_exit0(&vm, needles);
    vm_destroy(&vm);
    return rc;
}

/* rtc time: the RTC tells the host's time; rtc irq: its periodic
 * interrupt arrives on IRQ 8 through the I/O APIC. */
int case_rtc(const struct options *o, int argc, char **argv)
{
    bool irq = argc == 1 && !strcmp(argv[0], "irq");
    if (!irq && !(argc == 1 && !strcmp(argv[0], "time"))) {
        fprintf(stderr, "test: rtc takes time or irq\n");
        return 1;
    }
    struct vm vm;
    int rc = 1;
    time_t before = time(NULL);
    if (run_guest(o, &vm, "rtc", "pvh", NULL))
        goto out;
    if (irq) {
        const char *needles[] = { ": periodic ok (ticks=", NULL };
        rc = expect_exit0(&vm, needles);
        goto out;
    }
    time_t after = time(NULL);
    const char *line = strstr(vm.out.data, "picostack-guest: rtc ");
    struct tm tm = { 0 };
    if (vm_exit_code(&vm) != 0 || !line ||
        sscanf(line, "picostack-guest: rtc %d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        vm_dump(&vm, "expected exit 0 and an \"rtc YYYY-MM-DD HH:MM:SS\" line");
        goto out;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t guest = timegm(&tm);
    /* The RTC counts whole seconds: allow a little either side. */
    if (guest < before - 2 || guest > after + 2) {
        fprintf(stderr, "test: host time %lld..%lld, guest RTC %lld (off by %lld s)\n",
                (long long)before, (long long)after, (long long)guest, (long long)(guest - before));
        vm_dump(&vm, "the guest's RTC does not tell the host's time (UTC)");
        goto out;
    }
    rc = 0;
out:
    vm_destroy(&vm);
    return rc;
}

/* memmap FORM MIB: the guest sees MIB MiB of RAM (less the legacy hole
 * below 1 MiB), none over the holes, all of it backed. */
int case_memmap(const struct options *o, int argc, char **argv)
{
    const char *form = argc == 2 ? argv[0] : NULL;
    long mib = argc == 2 ? atol(argv[1]) : 0;
    if (!form || mib < 16) {
        fprintf(stderr, "test: memmap takes pvh|bzimage and a size in MiB\n");
        return 1;
    }
    const char *extra[] = { "--mem", argv[1], NULL };
    struct vm vm;
    int rc = 1;
    if (run_guest(o, &vm, "memmap", form, extra))
        goto out;
    const char *line = strstr(vm.out.data, "picostack-guest: memmap ram=");
    long kib = -1;
    char verdict[8] = "";
    if (vm_exit_code(&vm) != 0 || !line ||
        sscanf(line, "picostack-guest: memmap ram=%ld KiB %7s", &kib, verdict) != 2) {
        vm_dump(&vm, "expected exit 0 and a \"memmap ram=N KiB ok\" line");
        goto out;
    }
    if (strcmp(verdict, "ok")) {
        vm_dump(&vm, "the memory map is not true (see the guest's lines above)");
        goto out;
    }
    if (kib > mib * 1024 || kib < mib * 1024 - 1024) {
        fprintf(stderr, "test: --mem %ld gave %ld KiB of RAM in the memory map\n", mib, kib);
        vm_dump(&vm, "the memory map's RAM total is not what --mem asked for");
        goto out;
    }
    rc = 0;
out:
    vm_destroy(&vm);
    return rc;
}
