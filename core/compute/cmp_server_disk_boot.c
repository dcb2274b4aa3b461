/* Booting an image that carries its own kernel (no kernel_id; issue 14):
 * direct boot of the boot volume's newest kernel, initrd and root= (found
 * by core/bootimg, copied out at each start so a kernel upgraded inside
 * the guest boots next time), else firmware boot (SeaBIOS or OVMF). The
 * image properties os_boot=direct|firmware and hw_firmware_type=bios|uefi
 * steer the choice (compute.h, "Booting"). */
#include "core/bootimg/bootimg.h"
#include "core/compute/cmp_internal.h"
#include "core/vmmctl/vmmctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmp_boot_mode(const char *os_boot, enum cmp_boot_mode *out)
{
    if (!os_boot || !*os_boot)
        *out = CMP_BOOT_AUTO;
    else if (!strcmp(os_boot, "direct"))
        *out = CMP_BOOT_DIRECT;
    else if (!strcmp(os_boot, "firmware"))
        *out = CMP_BOOT_FIRMWARE;
    else
        return -EINVAL;
    return 0;
}

const char *cmp_firmware_path(const char *hw_firmware_type)
{
    if (!hw_firmware_type || !*hw_firmware_type || !strcmp(hw_firmware_type, "bios"))
        return CMP_FIRMWARE_BIOS;
    if (!strcmp(hw_firmware_type, "uefi"))
        return CMP_FIRMWARE_UEFI;
    return NULL;
}

int cmp_direct_cmdline(const struct bootimg_boot *b, const char *extra, char *out, size_t len)
{
    extra = extra ? extra : "";
    const char *args = b->args[0] ? b->args : "ro";
    /* console=ttyS0: our serial console, whatever the image's grub.cfg
     * says (often console=tty0); reboot=k: the VMM resets through the
     * i8042 (its FADT has no reset register). */
    int n =
        snprintf(out, len, "root=%s %s%s%s%s%s", b->root, args,
                 strstr(args, "console=ttyS0") || strstr(extra, "console=") ? "" : " console=ttyS0",
                 strstr(args, "reboot=") || strstr(extra, "reboot=") ? "" : " reboot=k",
                 *extra ? " " : "", extra);
    return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

void cmp_boot_files(const struct compute *c, const char *id, char *kernel, char *initrd, size_t len)
{
    snprintf(kernel, len, "%s/compute/boot/%s.kernel", c->data_dir, id);
    snprintf(initrd, len, "%s/compute/boot/%s.initrd", c->data_dir, id);
}

void cmp_boot_files_remove(const struct compute *c, const char *id)
{
    char k[2200], i[2200];
    cmp_boot_files(c, id, k, i, sizeof k);
    if (unlink(k) && errno != ENOENT)
        fprintf(stderr, "picostackd: compute: removing %s: %s\n", k, strerror(errno));
    if (unlink(i) && errno != ENOENT)
        fprintf(stderr, "picostackd: compute: removing %s: %s\n", i, strerror(errno));
}

/* Finds and copies out the boot volume's kernel; the store is locked only
 * around its own calls (reads go through the read-only handle). */
static int extract(struct compute *c, const char *id, const char *object, struct vmm_spec *s,
                   const char *extra, char *why, size_t wlen)
{
    char dir[2200];
    snprintf(dir, sizeof dir, "%s/compute", c->data_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/compute/boot", c->data_dir);
    if (mkdir(dir, 0700) && errno != EEXIST) {
        int rc = -errno;
        snprintf(why, wlen, "making DATA/compute/boot: %s", strerror(-rc));
        return rc;
    }
    if (!c->host.bs) {
        snprintf(why, wlen, "no block store");
        return -ENXIO;
    }
    struct bootimg_source src;
    struct bootimg_err e = { "" };
    struct bootimg_boot b;
    c->host.bs_lock(c->host.bs_ctx);
    int rc = bootimg_source_blockstore(&src, c->host.bs, object, &e);
    c->host.bs_unlock(c->host.bs_ctx);
    if (rc) {
        snprintf(why, wlen, "%s", e.msg);
        return rc;
    }
    char k[2200], i[2200];
    cmp_boot_files(c, id, k, i, sizeof k);
    cmp_boot_files_remove(c, id); /* a previous start's */
    rc = bootimg_find(&src, &b, &e);
    if (!rc)
        rc = bootimg_extract(&src, &b, k, i, &e);
    c->host.bs_lock(c->host.bs_ctx);
    bootimg_source_close(&src);
    c->host.bs_unlock(c->host.bs_ctx);
    if (rc) {
        snprintf(why, wlen, "%s", e.msg);
        return rc;
    }
    if (strlen(k) >= sizeof s->kernel || strlen(i) >= sizeof s->initrd) {
        snprintf(why, wlen, "data dir path too long");
        return -ENAMETOOLONG;
    }
    memcpy(s->kernel, k, strlen(k) + 1); /* lengths checked above */
    if (b.initrd[0])
        memcpy(s->initrd, i, strlen(i) + 1);
    if (cmp_direct_cmdline(&b, extra, s->cmdline, sizeof s->cmdline)) {
        snprintf(why, wlen, "kernel command line too long");
        return -E2BIG;
    }
    fprintf(stderr, "picostackd: server %s: direct boot of %s (root=%s from %s)\n", id, b.kernel,
            b.root, b.root_from);
    return 0;
}

int cmp_disk_boot(struct compute *c, const json_t *rec, const char *object, struct vmm_spec *s,
                  char *why, size_t wlen)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *fw = json_string_value(json_object_get(rec, "firmware_type"));
    const char *extra = json_string_value(json_object_get(rec, "cmdline"));
    enum cmp_boot_mode mode;
    if (cmp_boot_mode(json_string_value(json_object_get(rec, "os_boot")), &mode)) {
        snprintf(why, wlen, "os_boot: direct or firmware expected");
        return -EINVAL;
    }
    if (!object || !*object) {
        snprintf(why, wlen, "no boot volume");
        return -EINVAL;
    }
    if (mode != CMP_BOOT_FIRMWARE) {
        char direct_why[400] = "";
        int rc = extract(c, id, object, s, extra, direct_why, sizeof direct_why);
        if (!rc)
            return 0;
        s->kernel[0] = s->initrd[0] = s->cmdline[0] = 0;
        if (mode == CMP_BOOT_DIRECT) {
            snprintf(why, wlen, "direct boot (os_boot=direct): %s", direct_why);
            return rc;
        }
        fprintf(stderr, "picostackd: server %s: no direct boot (%s): firmware boot\n", id,
                direct_why);
    }
    const char *path = cmp_firmware_path(fw);
    if (!path) {
        snprintf(why, wlen, "hw_firmware_type %s: bios or uefi expected", fw);
        return -EINVAL;
    }
    snprintf(s->firmware, sizeof s->firmware, "%s", path);
    return 0;
}
