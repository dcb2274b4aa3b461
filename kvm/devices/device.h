/* The device registry: how a device plugs into the VMM.
 *
 * A device is one file (kvm/devices/NAME.c, kvm/virtio/NAME.c) with a
 * descriptor and one registration line:
 *
 *   static int my_init(struct vmdev_ctx *ctx, void **state);
 *   static void my_teardown(void *state);
 *   static const struct vmdev_desc my_device = {
 *       .name = "mydev", .init = my_init, .teardown = my_teardown,
 *       .acpi_hid = "PNP0501",            optional: a DSDT Device() with _CRS
 *       .instances = my_count,            optional: N instances from the config
 *   };
 *   VMDEV_REGISTER(my_device);
 *
 * vmdevs_create() walks the registry (sorted by name) and calls init once
 * per instance (instances(cfg), default 1) with a context that shows the
 * VMM configuration, the instance number, the bus, the event loop and the
 * VM. init allocates its state and declares what it uses through the
 * context: vmdev_add_range() registers a bus range and records it,
 * vmdev_irq_line() hands out an ISA/IOAPIC interrupt line and records it,
 * vmdev_add_msi() records an MSI it will send (irq.h). Those records are
 * what the DSDT (x86/acpi.c) and the MP table (x86/mptable.c) are built
 * from: no table names a device's port by hand. A device with its own AML
 * (a PCI host bridge, \_S5) sets .aml instead of (or beside) .acpi_hid.
 *
 * Teardown runs in reverse order. The registry is filled by constructors
 * before main(); the picostack_kvm library is linked as objects so that a
 * device file nothing calls still registers. */
#ifndef PICOSTACK_KVM_DEVICES_DEVICE_H
#define PICOSTACK_KVM_DEVICES_DEVICE_H

#include <stdint.h>

#include "kvm/bus.h"
#include "kvm/devices/irq.h"
#include "kvm/guest_mem.h"
#include "kvm/kvm.h"
#include "kvm/verr.h"

struct vm;
struct loop;
struct aml;
struct vmdev;
struct json_t;

enum vmdev_res_kind { VMDEV_RES_PIO, VMDEV_RES_MMIO, VMDEV_RES_IRQ, VMDEV_RES_MSI };

struct vmdev_res {
    enum vmdev_res_kind kind;
    uint64_t base, len; /* PIO, MMIO */
    unsigned irq;       /* IRQ: the GSI (ISA IRQ below 16, IOAPIC pin) */
};

#define VMDEV_MAX_RES 8

/* What init sees. bus and irq_set are always there; vm and loop are NULL
 * in unit tests that build devices without KVM or a loop. */
struct vmdev_ctx {
    const struct vmm_config *cfg;
    unsigned instance; /* 0 .. instances(cfg) - 1 */
    struct bus *bus;
    struct loop *loop;
    struct vm *vm;
    const struct guest_mem *gm; /* guest RAM (mapped before the guest runs) */
    irq_set_fn irq_set;         /* what an irq line calls: vm_set_irq in the VMM */
    void *irq_opaque;
    struct vmdev *self;
    verr_t *err; /* init fills it when it fails */
};

struct vmdev_desc {
    const char *name; /* also the registry's sort key */
    /* Returns 0 with *state set, or a negative errno with ctx->err set. */
    int (*init)(struct vmdev_ctx *ctx, void **state);
    void (*teardown)(void *state); /* NULL: nothing to free */
    /* How many instances this configuration wants (0: none); NULL: one. */
    unsigned (*instances)(const struct vmm_config *cfg);
    /* A DSDT Device() under \_SB with this _HID ("PNPxxxx" EISA id), _UID
	 * the instance number and a _CRS of the recorded resources. */
    const char *acpi_hid;
    const char *acpi_name; /* 4 chars; NULL: from the name */
    /* Appends this instance's counters (a JSON object) to out, a jansson
     * array: the control socket's status op. NULL: nothing to say. */
    void (*status)(void *state, struct json_t *out);
    /* Extra AML: root (the DSDT top level) and sb (inside \_SB). */
    void (*aml)(const struct vmdev *d, struct aml *root, struct aml *sb);
};

/* One instance, as vmdevs_create() made it. */
struct vmdev {
    const struct vmdev_desc *desc;
    unsigned instance;
    void *state;
    struct vmdev_res res[VMDEV_MAX_RES];
    unsigned nres;
};

struct vmdevs {
    struct bus *bus;
    struct vmdev *devs;
    unsigned n;
};

void vmdev_register(const struct vmdev_desc *desc);
#define VMDEV_REGISTER(desc)                                             \
    __attribute__((constructor)) static void vmdev_register_##desc(void) \
    {                                                                    \
        vmdev_register(&(desc));                                         \
    }

/* The registered descriptors, sorted by name (NULL past the end). */
const struct vmdev_desc *vmdev_registered(unsigned i);

/* For init: a bus range (recorded for the tables), an interrupt line on
 * GSI irq (recorded), an MSI (recorded; delivery is irq.h's). */
int vmdev_add_range(struct vmdev_ctx *ctx, enum bus_space sp, uint64_t base, uint64_t len,
                    const struct bus_dev_ops *ops, void *dev);
struct irq_line vmdev_irq_line(struct vmdev_ctx *ctx, unsigned irq);
int vmdev_add_msi(struct vmdev_ctx *ctx);

/* Instantiates every registered device; ctx is the template (instance,
 * self and the records are filled per instance). On failure the devices
 * made so far are torn down. */
int vmdevs_create(struct vmdevs *set, const struct vmdev_ctx *ctx);
void vmdevs_destroy(struct vmdevs *set);
/* The state of instance i of the device called name, or NULL. */
void *vmdevs_find(const struct vmdevs *set, const char *name, unsigned i);

#endif
