/* picostack-kvm-test [--vmm PATH] [--guests DIR] [--kernel PATH] [--vmlinux PATH]
 *                    [--busybox PATH] [--cache DIR] CASE ARGS...
 * CASE: hello pvh|bzimage, poweroff pvh|bzimage, echo, cmdline pvh|bzimage,
 * triple, smp N, timer lapic|pit, uartirq, hostile, rtc time|irq, memmap FORM MIB, control shutdown|kill,
 * linux marker|poweroff|cpus|rtc|reboot|input|shutdown|pvh, virtionet [pvh|bzimage], linux-net,
 * console ring|socket|full, firmware mbr|nonboot|grub (--bios PATH; grub: --kernel --busybox --mkfs
 * --grub-mkimage --grub-dir). Exit 0: the test passed. */
#include "tests/integration/kvm/kvmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            perror("getrandom");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}

int guest_path(const struct options *o, const char *name, const char *form, char *out, size_t len)
{
    const char *ext = !strcmp(form, "pvh") ? "elf" : !strcmp(form, "bzimage") ? "bzImage" : NULL;
    if (!ext) {
        fprintf(stderr, "test: form must be pvh or bzimage, not '%s'\n", form);
        return -1;
    }
    snprintf(out, len, "%s/%s.%s", o->guests, name, ext);
    if (access(out, R_OK)) {
        fprintf(stderr, "test: guest image %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    int (*run)(const struct options *, int, char **);
} cases[] = {
    { "hello", case_hello },         { "poweroff", case_poweroff },
    { "echo", case_echo },           { "cmdline", case_cmdline },
    { "triple", case_triple },       { "smp", case_smp },
    { "timer", case_timer },         { "uartirq", case_uartirq },
    { "hostile", case_hostile },     { "rtc", case_rtc },
    { "memmap", case_memmap },       { "control", case_control },
    { "linux", case_linux },         { "virtio", case_virtio },
    { "memory", case_memory },       { "linux-virtio", case_linux_virtio },
    { "virtionet", case_virtionet }, { "console", case_console },
    { "linux-net", case_linux_net }, { "firmware", case_firmware },
};

int main(int argc, char **argv)
{
    struct options o = { 0 };
    int i = 1;
    for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
        const char *k = argv[i] + 2, *v = argv[i + 1];
        if (!strcmp(k, "vmm"))
            o.vmm = v;
        else if (!strcmp(k, "guests"))
            o.guests = v;
        else if (!strcmp(k, "kernel"))
            o.kernel = v;
        else if (!strcmp(k, "vmlinux"))
            o.vmlinux = v;
        else if (!strcmp(k, "busybox"))
            o.busybox = v;
        else if (!strcmp(k, "cache"))
            o.cache = v;
        else if (!strcmp(k, "modules"))
            o.modules = v;
        else if (!strcmp(k, "mkfs"))
            o.mkfs = v;
        else if (!strcmp(k, "e2fsck"))
            o.e2fsck = v;
        else if (!strcmp(k, "debugfs"))
            o.debugfs = v;
        else if (!strcmp(k, "bios"))
            o.bios = v;
        else if (!strcmp(k, "grub-mkimage"))
            o.grub_mkimage = v;
        else if (!strcmp(k, "grub-dir"))
            o.grub_dir = v;
        else {
            fprintf(stderr, "picostack-kvm-test: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc || !o.vmm) {
        fprintf(
            stderr,
            "usage: picostack-kvm-test --vmm PATH [--guests DIR] [--kernel PATH] [--vmlinux PATH] "
            "[--busybox PATH] [--cache DIR] CASE ARGS...\n");
        return 2;
    }
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        if (!strcmp(argv[i], cases[c].name)) {
            int rc = cases[c].run(&o, argc - i - 1, argv + i + 1);
            fprintf(stderr, "test: %s %s\n", argv[i], rc ? "FAILED" : "passed");
            return rc ? 1 : 0;
        }
    fprintf(stderr, "picostack-kvm-test: unknown case %s\n", argv[i]);
    return 2;
}
