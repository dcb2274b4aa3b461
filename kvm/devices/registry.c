/* The device registry and instance set (device.h). */
#include "kvm/devices/device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DESCS 64

static const struct vmdev_desc *registry[MAX_DESCS];
static unsigned nregistered;
static const char *overflowed; /* a descriptor that did not fit */

/* Runs from constructors, before main(): keeps the table sorted by name so
 * the DSDT does not depend on link order. */
void vmdev_register(const struct vmdev_desc *desc)
{
    if (nregistered == MAX_DESCS) {
        overflowed = desc->name; /* vmdevs_create() refuses to run */
        return;
    }
    unsigned i = nregistered;
    while (i > 0 && strcmp(registry[i - 1]->name, desc->name) > 0) {
        registry[i] = registry[i - 1];
        i--;
    }
    registry[i] = desc;
    nregistered++;
}

const struct vmdev_desc *vmdev_registered(unsigned i)
{
    return i < nregistered ? registry[i] : NULL;
}

static struct vmdev_res *new_res(struct vmdev_ctx *ctx)
{
    struct vmdev *d = ctx->self;
    if (!d || d->nres == VMDEV_MAX_RES)
        return NULL;
    return &d->res[d->nres++];
}

int vmdev_add_range(struct vmdev_ctx *ctx, enum bus_space sp, uint64_t base, uint64_t len,
                    const struct bus_dev_ops *ops, void *dev)
{
    if (ctx->self && ctx->self->nres == VMDEV_MAX_RES)
        return verr_set(ctx->err, ENOSPC, "%s: too many resources", ctx->self->desc->name);
    int r =
        bus_register(ctx->bus, sp, base, len, ctx->self ? ctx->self->desc->name : "?", ops, dev);
    if (r)
        return verr_set(ctx->err, -r, "%s: bus range %#llx+%llu: %s",
                        ctx->self ? ctx->self->desc->name : "?", (unsigned long long)base,
                        (unsigned long long)len, strerror(-r));
    struct vmdev_res *res = new_res(ctx);
    if (res)
        *res = (struct vmdev_res){ sp == BUS_PIO ? VMDEV_RES_PIO : VMDEV_RES_MMIO, base, len, 0 };
    return 0;
}

struct irq_line vmdev_irq_line(struct vmdev_ctx *ctx, unsigned irq)
{
    struct vmdev_res *res = new_res(ctx);
    if (res)
        *res = (struct vmdev_res){ .kind = VMDEV_RES_IRQ, .irq = irq };
    return irq_line_make(ctx->irq_set, ctx->irq_opaque, irq);
}

int vmdev_add_msi(struct vmdev_ctx *ctx)
{
    struct vmdev_res *res = new_res(ctx);
    if (!res)
        return verr_set(ctx->err, ENOSPC, "too many resources");
    *res = (struct vmdev_res){ .kind = VMDEV_RES_MSI };
    return 0;
}

static unsigned count_instances(const struct vmdev_desc *d, const struct vmm_config *cfg)
{
    return d->instances ? d->instances(cfg) : 1;
}

/* Takes a device's ranges off the bus, so nothing calls into freed state. */
static void unregister_ranges(struct bus *bus, const struct vmdev *d)
{
    for (unsigned i = 0; i < d->nres; i++)
        if (d->res[i].kind == VMDEV_RES_PIO || d->res[i].kind == VMDEV_RES_MMIO)
            bus_unregister(bus, d->res[i].kind == VMDEV_RES_PIO ? BUS_PIO : BUS_MMIO,
                           d->res[i].base);
}

int vmdevs_create(struct vmdevs *set, const struct vmdev_ctx *tmpl)
{
    if (overflowed)
        return verr_set(tmpl->err, ENOSPC, "device %s: more than %d devices registered (MAX_DESCS)",
                        overflowed, MAX_DESCS);
    unsigned total = 0;
    for (unsigned i = 0; i < nregistered; i++)
        total += count_instances(registry[i], tmpl->cfg);
    set->n = 0;
    set->bus = tmpl->bus;
    set->devs = calloc(total ? total : 1, sizeof(*set->devs));
    if (!set->devs)
        return verr_set(tmpl->err, ENOMEM, "out of memory");
    for (unsigned i = 0; i < nregistered; i++) {
        const struct vmdev_desc *desc = registry[i];
        unsigned n = count_instances(desc, tmpl->cfg);
        for (unsigned k = 0; k < n; k++) {
            struct vmdev *d = &set->devs[set->n];
            *d = (struct vmdev){ .desc = desc, .instance = k };
            struct vmdev_ctx ctx = *tmpl;
            ctx.instance = k;
            ctx.self = d;
            int r = desc->init(&ctx, &d->state);
            if (r) {
                unregister_ranges(set->bus, d);
                vmdevs_destroy(set);
                return r;
            }
            set->n++;
        }
    }
    return 0;
}

void vmdevs_destroy(struct vmdevs *set)
{
    for (unsigned i = set->n; i-- > 0;) {
        unregister_ranges(set->bus, &set->devs[i]);
        if (set->devs[i].desc->teardown)
            set->devs[i].desc->teardown(set->devs[i].state);
    }
    free(set->devs);
    set->devs = NULL;
    set->n = 0;
}

void *vmdevs_find(const struct vmdevs *set, const char *name, unsigned i)
{
    for (unsigned k = 0; k < set->n; k++)
        if (!strcmp(set->devs[k].desc->name, name) && set->devs[k].instance == i)
            return set->devs[k].state;
    return NULL;
}
