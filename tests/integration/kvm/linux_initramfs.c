/* The initramfs of the Linux tests: busybox-static and an /init script,
 * as a newc cpio archive written at test time (linux_cases.c says what the
 * boots do with it). */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each report goes out twice: on the console tty (stdout, through the
 * 8250 driver's interrupt-driven path: what the marker case checks) and
 * through /dev/kmsg (printk's polled console path), so that a record shows
 * whether /init ran even when its console output is lost. */
static const char init_script[] =
    "#!/bin/sh\n"
    "# picostack test init: report, then end the VM as the command line says.\n"
    "bb=/bin/busybox\n"
    "say() { echo \"picostack-init: $*\"; echo \"<2>picostack-kmsg: $*\" >/dev/kmsg; }\n"
    "$bb mount -t proc proc /proc\n"
    "$bb mount -t sysfs sysfs /sys\n"
    "marker=none action=poweroff input=0\n"
    "for a in $($bb cat /proc/cmdline); do\n"
    "  case \"$a\" in\n"
    "  picostack.marker=*) marker=${a#picostack.marker=} ;;\n"
    "  picostack.action=*) action=${a#picostack.action=} ;;\n"
    "  picostack.input=1) input=1 ;;\n"
    "  esac\n"
    "done\n"
    "say \"marker=$marker\"\n"
    "say \"nproc=$($bb nproc) online=$($bb cat /sys/devices/system/cpu/online)\"\n"
    "say \"dmi=$($bb dmesg | $bb sed -n 's/.*] DMI: //p' | $bb head -n 1)\"\n"
    "say \"dmi_uuid=$($bb cat /sys/class/dmi/id/product_uuid 2>/dev/null || echo none)\"\n"
    "say \"rtc_epoch=$($bb cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null || echo none)\"\n"
    "if [ \"$input\" = 1 ]; then\n"
    "  say \"waiting for input\"\n"
    "  read -t 60 line\n"
    "  say \"input=$line\"\n"
    "fi\n"
    "say \"action=$action\"\n"
    "if [ \"$action\" = cad ]; then\n"
    "  echo 0 >/proc/sys/kernel/ctrl-alt-del\n"
    "  trap 'say \"got ctrl-alt-del\"; $bb poweroff -f' INT\n"
    "  say \"waiting for ctrl-alt-del\"\n"
    "  while :; do $bb sleep 1; done\n"
    "fi\n"
    "if [ \"$action\" = reboot ]; then $bb reboot -f; else $bb poweroff -f; fi\n"
    "say \"$action -f returned\"\n"
    "$bb sleep 1000000\n";

/* ---- a newc cpio archive in memory ---- */
struct cpio {
    char *data;
    size_t len, cap;
    unsigned ino;
};

static int cpio_put(struct cpio *c, const void *p, size_t n)
{
    if (c->len + n + 4 > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 20;
        while (cap < c->len + n + 4)
            cap *= 2;
        char *d = realloc(c->data, cap);
        if (!d)
            return -1;
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, p, n);
    c->len += n;
    while (c->len % 4)
        c->data[c->len++] = 0;
    return 0;
}

static int cpio_entry(struct cpio *c, const char *name, unsigned mode, unsigned rmaj, unsigned rmin,
                      const void *data, size_t size)
{
    char hdr[111];
    snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             ++c->ino, mode, 0u, 0u, 1u, 0u, (unsigned)size, 0u, 0u, rmaj, rmin,
             (unsigned)strlen(name) + 1, 0u);
    /* header and name are padded together, then the data */
    size_t hn = 110 + strlen(name) + 1;
    char *buf = malloc(hn);
    if (!buf)
        return -1;
    memcpy(buf, hdr, 110);
    memcpy(buf + 110, name, strlen(name) + 1);
    int rc = cpio_put(c, buf, hn);
    free(buf);
    return rc || (size && cpio_put(c, data, size)) ? -1 : 0;
}

int linux_initramfs_build_with(const char *busybox, const char *init, const char *modules_dir,
                               const char *const modules[], const char *out)
{
    struct cpio c = { 0 };
    char *bb = NULL, *ko = NULL;
    size_t bb_len, ko_len;
    int rc = -1;
    if (t_read_file(busybox, &bb, &bb_len))
        return -1;
    if (cpio_entry(&c, "dev", 040755, 0, 0, NULL, 0) ||
        cpio_entry(&c, "dev/console", 020600, 5, 1, NULL, 0) ||
        cpio_entry(&c, "dev/kmsg", 020644, 1, 11, NULL, 0) ||
        cpio_entry(&c, "proc", 040755, 0, 0, NULL, 0) ||
        cpio_entry(&c, "sys", 040755, 0, 0, NULL, 0) ||
        cpio_entry(&c, "bin", 040755, 0, 0, NULL, 0) ||
        cpio_entry(&c, "bin/busybox", 0100755, 0, 0, bb, bb_len) ||
        cpio_entry(&c, "bin/sh", 0120777, 0, 0, "busybox", 7) ||
        cpio_entry(&c, "init", 0100755, 0, 0, init, strlen(init)) ||
        cpio_entry(&c, "lib", 040755, 0, 0, NULL, 0) ||
        cpio_entry(&c, "lib/modules", 040755, 0, 0, NULL, 0)) {
        fprintf(stderr, "test: out of memory building the initramfs\n");
        goto out;
    }
    for (int i = 0; modules && modules[i]; i++) {
        char path[4096], name[256];
        snprintf(path, sizeof(path), "%s/%s", modules_dir, modules[i]);
        const char *base = strrchr(modules[i], '/');
        snprintf(name, sizeof(name), "lib/modules/%s", base ? base + 1 : modules[i]);
        if (t_read_file(path, &ko, &ko_len)) {
            fprintf(stderr, "test: cannot read module %s\n", path);
            goto out;
        }
        if (cpio_entry(&c, name, 0100644, 0, 0, ko, ko_len)) {
            fprintf(stderr, "test: out of memory building the initramfs\n");
            goto out;
        }
        free(ko);
        ko = NULL;
    }
    if (cpio_entry(&c, "TRAILER!!!", 0, 0, 0, NULL, 0))
        goto out;
    rc = t_write_file(out, c.data, c.len, 0600);
out:
    free(bb);
    free(ko);
    free(c.data);
    return rc;
}

int linux_initramfs_build(const char *busybox, const char *out)
{
    return linux_initramfs_build_with(busybox, init_script, NULL, NULL, out);
}
