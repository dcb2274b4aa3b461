/* fw_cfg (fw_cfg.h): the item store, the port interface and the DMA
 * interface, plus its registration for a VM that boots firmware. */
#include "kvm/devices/fw_cfg.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/devices/device.h"

static uint32_t be32(uint32_t v)
{
    return __builtin_bswap32(v);
}

static int set_item(struct fw_cfg_item *it, const void *data, size_t len)
{
    if (len > FW_CFG_MAX_ITEM)
        return -EINVAL;
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return -ENOMEM;
    if (len)
        memcpy(p, data, len);
    free(it->data);
    it->data = p;
    it->size = (uint32_t)len;
    return 0;
}

/* The directory: be32 count, then 64 bytes per file. */
static int write_dir(struct fw_cfg *c)
{
    size_t len = 4 + 64 * (size_t)c->nfiles;
    uint8_t buf[4 + 64 * FW_CFG_MAX_FILES];
    memset(buf, 0, len);
    uint32_t n = be32(c->nfiles);
    memcpy(buf, &n, 4);
    for (unsigned i = 0; i < c->nfiles; i++) {
        uint8_t *e = buf + 4 + 64 * i;
        uint32_t size = be32(c->files[i].size);
        uint16_t key = __builtin_bswap16((uint16_t)(FW_CFG_FILE_FIRST + i));
        memcpy(e, &size, 4);
        memcpy(e + 4, &key, 2);
        memcpy(e + 8, c->files[i].name, FW_CFG_NAME_MAX);
    }
    return set_item(&c->fixed[FW_CFG_FILE_DIR], buf, len);
}

int fw_cfg_init(struct fw_cfg *c, const struct guest_mem *gm)
{
    memset(c, 0, sizeof(*c));
    c->gm = gm;
    uint32_t id = FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA; /* little-endian */
    int r = set_item(&c->fixed[FW_CFG_SIGNATURE], "QEMU", 4);
    if (!r)
        r = set_item(&c->fixed[FW_CFG_ID], &id, 4);
    if (!r)
        r = write_dir(c);
    if (r)
        fw_cfg_free(c);
    return r;
}

void fw_cfg_free(struct fw_cfg *c)
{
    for (unsigned i = 0; i < FW_CFG_FILE_FIRST; i++)
        free(c->fixed[i].data);
    for (unsigned i = 0; i < c->nfiles; i++)
        free(c->files[i].data);
    memset(c, 0, sizeof(*c));
}

int fw_cfg_add_fixed(struct fw_cfg *c, uint16_t key, const void *data, size_t len)
{
    if (key >= FW_CFG_FILE_FIRST || key == FW_CFG_SIGNATURE || key == FW_CFG_ID ||
        key == FW_CFG_FILE_DIR)
        return -EINVAL;
    return set_item(&c->fixed[key], data, len);
}

int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n >= FW_CFG_NAME_MAX || len > FW_CFG_MAX_ITEM)
        return -EINVAL;
    for (unsigned i = 0; i < c->nfiles; i++)
        if (!strcmp(c->files[i].name, name))
            return -EEXIST;
    if (c->nfiles == FW_CFG_MAX_FILES)
        return -ENOSPC;
    struct fw_cfg_item *it = &c->files[c->nfiles];
    int r = set_item(it, data, len);
    if (r)
        return r;
    memset(it->name, 0, sizeof(it->name));
    memcpy(it->name, name, n);
    c->nfiles++;
    if ((r = write_dir(c))) {
        c->nfiles--;
        free(it->data);
        memset(it, 0, sizeof(*it));
        return r;
    }
    return FW_CFG_FILE_FIRST + (int)c->nfiles - 1;
}

/* The selected item, or NULL for a key nobody added. */
static const struct fw_cfg_item *selected(const struct fw_cfg *c)
{
    const struct fw_cfg_item *it = NULL;
    if (c->key < FW_CFG_FILE_FIRST)
        it = &c->fixed[c->key];
    else if ((unsigned)(c->key - FW_CFG_FILE_FIRST) < c->nfiles)
        it = &c->files[c->key - FW_CFG_FILE_FIRST];
    return it && it->data ? it : NULL;
}

static void select_key(struct fw_cfg *c, uint16_t key)
{
    c->key = key;
    c->offset = 0;
    if (!selected(c))
        c->unknown_keys++;
}

/* ---- the port interface ---- */

uint64_t fw_cfg_io_read(struct fw_cfg *c, uint64_t off, unsigned size)
{
    if (off != 1 || size != 1)
        return 0; /* the selector is write-only; the data port is 8-bit on x86 */
    const struct fw_cfg_item *it = selected(c);
    if (!it || c->offset >= it->size)
        return 0;
    return it->data[c->offset++];
}

void fw_cfg_io_write(struct fw_cfg *c, uint64_t off, unsigned size, uint64_t value)
{
    if (off == 0 && size == 2)
        select_key(c, (uint16_t)value);
    /* data writes: every item is read-only */
}

/* ---- the DMA interface ---- */

struct dma_access {
    uint32_t control, length; /* big-endian */
    uint64_t address;
} __attribute__((packed));

/* Copies (READ) or skips len bytes of the selected item; false when the
 * destination is not guest RAM. Past the item's end the guest reads 0. */
static bool dma_transfer(struct fw_cfg *c, bool read, uint64_t addr, uint32_t len)
{
    const struct fw_cfg_item *it = selected(c);
    uint32_t avail = it && c->offset < it->size ? it->size - c->offset : 0;
    uint32_t n = len < avail ? len : avail;
    bool ok = true;
    if (read) {
        ok = (n == 0 || gm_write(c->gm, addr, it->data + c->offset, n) == 0) &&
             gm_zero(c->gm, addr + n, len - n) == 0;
    }
    if (ok)
        c->offset += n;
    return ok;
}

static void dma_run(struct fw_cfg *c, uint64_t desc)
{
    struct dma_access a;
    c->dma_ops++;
    if (gm_read(c->gm, desc, &a, sizeof(a))) {
        c->dma_errors++; /* nowhere to report it */
        return;
    }
    uint32_t control = be32(a.control), len = be32(a.length);
    uint64_t addr = __builtin_bswap64(a.address);
    bool ok = true;
    if (control & FW_CFG_DMA_SELECT)
        select_key(c, (uint16_t)(control >> 16));
    if (control & FW_CFG_DMA_WRITE)
        ok = false; /* read-only items */
    else if (control & (FW_CFG_DMA_READ | FW_CFG_DMA_SKIP))
        ok = dma_transfer(c, control & FW_CFG_DMA_READ, addr, len);
    if (!ok)
        c->dma_errors++;
    uint32_t done = be32(ok ? 0 : FW_CFG_DMA_ERROR);
    if (gm_write(c->gm, desc, &done, sizeof(done)))
        c->dma_errors++;
}

uint64_t fw_cfg_dma_read(struct fw_cfg *c, uint64_t off, unsigned size)
{
    (void)c;
    static const char sig[8] = "QEMU CFG";
    uint64_t v = 0;
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= (uint64_t)(uint8_t)sig[off + i] << (8 * i);
    return v;
}

/* The address is big-endian: 0x514 holds bits 63-32, 0x518 bits 31-0. */
void fw_cfg_dma_write(struct fw_cfg *c, uint64_t off, unsigned size, uint64_t value)
{
    if (off == 0 && size == 8) {
        dma_run(c, __builtin_bswap64(value));
    } else if (off == 0 && size == 4) {
        c->dma_addr = (uint64_t)be32((uint32_t)value) << 32;
    } else if (off == 4 && size == 4) {
        uint64_t desc = c->dma_addr | be32((uint32_t)value);
        c->dma_addr = 0;
        dma_run(c, desc);
    }
}

/* ---- as a VM device: present when the VM boots firmware ---- */

static uint64_t io_read(void *dev, uint64_t off, unsigned size)
{
    return fw_cfg_io_read(dev, off, size);
}
static void io_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    fw_cfg_io_write(dev, off, size, v);
}
static uint64_t dma_read(void *dev, uint64_t off, unsigned size)
{
    return fw_cfg_dma_read(dev, off, size);
}
static void dma_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
    fw_cfg_dma_write(dev, off, size, v);
}
static const struct bus_dev_ops fw_cfg_io_ops = { io_read, io_write };
static const struct bus_dev_ops fw_cfg_dma_ops = { dma_read, dma_write };

static void fw_cfg_teardown(void *state)
{
    fw_cfg_free(state);
    free(state);
}

static int fw_cfg_dev_init(struct vmdev_ctx *ctx, void **state)
{
    struct fw_cfg *c = malloc(sizeof(*c));
    if (!c || fw_cfg_init(c, ctx->gm)) {
        free(c);
        return verr_set(ctx->err, ENOMEM, "out of memory");
    }
    int r = vmdev_add_range(ctx, BUS_PIO, FW_CFG_PORT_SEL, 2, &fw_cfg_io_ops, c);
    if (!r)
        r = vmdev_add_range(ctx, BUS_PIO, FW_CFG_PORT_DMA, 8, &fw_cfg_dma_ops, c);
    if (r) {
        fw_cfg_teardown(c);
        return r;
    }
    *state = c;
    return 0;
}

static unsigned fw_cfg_instances(const struct vmm_config *cfg)
{
    return cfg->firmware ? 1 : 0;
}

static void fw_cfg_status(void *state, struct json_t *out)
{
    const struct fw_cfg *c = state;
    json_array_append_new(out,
                          json_pack("{s:s, s:I, s:I, s:I}", "device", "fw-cfg", "unknown_keys",
                                    (json_int_t)c->unknown_keys, "dma_ops", (json_int_t)c->dma_ops,
                                    "dma_errors", (json_int_t)c->dma_errors));
}

static const struct vmdev_desc fw_cfg_device = {
    .name = "fw-cfg",
    .init = fw_cfg_dev_init,
    .teardown = fw_cfg_teardown,
    .instances = fw_cfg_instances,
    .status = fw_cfg_status,
};
VMDEV_REGISTER(fw_cfg_device);

struct fw_cfg *fw_cfg_find(const struct vmdevs *devs)
{
    return vmdevs_find(devs, "fw-cfg", 0);
}
