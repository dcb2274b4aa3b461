/* The flash window of a UEFI boot (layout.h X86_FLASH_BASE/SIZE): what is
 * not the firmware image there reads as erased flash (all ones), and every
 * write to the window (the image's read-only memory slot turns a write
 * into an exit that lands here too) is dropped and counted.
 *
 * There is no CFI flash behind it on purpose: OVMF probes the start of its
 * variable store by writing there, sees neither RAM nor a flash chip
 * answer, says "QEMU flash was not detected" and keeps its UEFI variables
 * in RAM (lost at power-off, which a cloud guest does not miss: its boot
 * entry is found again on the disk's ESP at every boot). The probe is the
 * only write OVMF makes; others are counted in status ("writes") and, with
 * --verbose, the first one is reported on stderr with its address. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "kvm/devices/device.h"
#include "kvm/kvm.h"
#include "kvm/x86/layout.h"

struct flash {
    bool verbose;
    uint64_t writes, reads;
};

static uint64_t flash_read(void *dev, uint64_t off, unsigned size)
{
    struct flash *f = dev;
    (void)off, (void)size;
    f->reads++;
    return ~0ull; /* erased */
}

static void flash_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    struct flash *f = dev;
    if (f->writes++ == 0 && f->verbose)
        fprintf(stderr,
                "picostack-vmm: flash: the guest wrote 0x%" PRIx64 " (%u bytes) at 0x%" PRIx64
                ": dropped (read-only firmware, variables in RAM)\n",
                v, size, (uint64_t)(X86_FLASH_BASE + off));
}

static const struct bus_dev_ops flash_ops = { .read = flash_read, .write = flash_write };

static int flash_init(struct vmdev_ctx *ctx, void **state)
{
    struct flash *f = calloc(1, sizeof(*f));
    if (!f)
        return verr_set(ctx->err, ENOMEM, "out of memory");
    f->verbose = ctx->cfg->verbose;
    int r = vmdev_add_range(ctx, BUS_MMIO, X86_FLASH_BASE, X86_FLASH_SIZE, &flash_ops, f);
    if (r) {
        free(f);
        return r;
    }
    *state = f;
    return 0;
}

static unsigned flash_instances(const struct vmm_config *cfg)
{
    return cfg->firmware && cfg->firmware_type == VMM_FIRMWARE_UEFI ? 1 : 0;
}

static void flash_status(void *state, struct json_t *out)
{
    const struct flash *f = state;
    json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "device", "flash", "reads",
                                         (json_int_t)f->reads, "writes", (json_int_t)f->writes));
}

static void flash_teardown(void *state)
{
    free(state);
}

static const struct vmdev_desc flash_device = {
    .name = "flash",
    .init = flash_init,
    .teardown = flash_teardown,
    .instances = flash_instances,
    .status = flash_status,
};
VMDEV_REGISTER(flash_device);
