/* Intel MultiProcessor Specification 1.4 tables, for guests booted with
 * acpi=off (Linux otherwise reads the MADT). The floating pointer and the
 * configuration table sit at X86_MPTABLE_ADDR, inside the BIOS area Linux
 * scans (0xF0000-0xFFFFF). ISA IRQs 0-15 are listed as on any PC (the GSI
 * routing in vm.c is the PC's too); an interrupt line above them appears
 * when a registered device records it (device.h). */
#include "kvm/x86/boot.h"

#include <errno.h>
#include <string.h>

#include "kvm/devices/device.h"
#include "kvm/x86/layout.h"

struct mpf_intel {     /* floating pointer, 16 bytes */
    char signature[4]; /* "_MP_" */
    uint32_t physptr;
    uint8_t length;        /* in 16-byte units: 1 */
    uint8_t specification; /* 4: version 1.4 */
    uint8_t checksum;
    uint8_t feature1; /* 0: a configuration table follows */
    uint8_t feature2, feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {     /* configuration table header */
    char signature[4]; /* "PCMP" */
    uint16_t length;
    uint8_t spec;
    uint8_t checksum;
    char oem[8];
    char productid[12];
    uint32_t oemptr;
    uint16_t oemsize;
    uint16_t oemcount; /* entries */
    uint32_t lapic;
    uint16_t reserved_ext_len;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
    uint8_t type; /* 0 */
    uint8_t apicid, apicver, cpuflag;
    uint32_t cpufeature, featureflag;
    uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
    uint8_t type; /* 1 */
    uint8_t busid;
    char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
    uint8_t type; /* 2 */
    uint8_t apicid, apicver, flags;
    uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc { /* type 3: I/O interrupt, type 4: local interrupt */
    uint8_t type, irqtype;
    uint16_t irqflag;
    uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

#define CPU_ENABLED       1
#define CPU_BOOTPROCESSOR 2
#define MP_IRQ_INT        0
#define MP_IRQ_NMI        1
#define MP_IRQ_EXTINT     3
#define APIC_VERSION      0x14
#define IOAPIC_VERSION    0x11

/* The IOAPIC pins above the ISA range that registered devices use. */
static uint32_t device_pins(const struct vmdevs *devs)
{
    uint32_t pins = 0;
    for (unsigned i = 0; devs && i < devs->n; i++)
        for (unsigned k = 0; k < devs->devs[i].nres; k++) {
            const struct vmdev_res *r = &devs->devs[i].res[k];
            if (r->kind == VMDEV_RES_IRQ && r->irq >= 16 && r->irq < 24)
                pins |= 1u << r->irq;
        }
    return pins;
}

int x86_write_mptable(const struct guest_mem *gm, unsigned ncpus, const struct vmdevs *devs,
                      verr_t *err)
{
    uint8_t buf[4096];
    memset(buf, 0, sizeof(buf));
    struct mpf_intel *mpf = (void *)buf;
    struct mpc_table *mpc = (void *)(buf + sizeof(*mpf));
    uint8_t *p = (uint8_t *)(mpc + 1);
    uint16_t count = 0;
    uint8_t ioapic_id = ncpus; /* right after the CPUs' APIC ids */

    for (unsigned i = 0; i < ncpus; i++) {
        struct mpc_cpu c = {
            0,     i,     APIC_VERSION, CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
            0x600, 0x201, { 0, 0 }
        }; /* family 6; FPU + APIC */
        memcpy(p, &c, sizeof(c)), p += sizeof(c), count++;
    }
    struct mpc_bus bus = { 1, 0, { 'I', 'S', 'A', ' ', ' ', ' ' } };
    memcpy(p, &bus, sizeof(bus)), p += sizeof(bus), count++;
    struct mpc_ioapic io = { 2, ioapic_id, IOAPIC_VERSION, 1, (uint32_t)X86_IOAPIC_ADDR };
    memcpy(p, &io, sizeof(io)), p += sizeof(io), count++;
    /* ISA IRQs: the PIC's ExtINT on pin 0, IRQ0 (PIT) on pin 2, IRQ n on pin n. */
    for (unsigned irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue;
        struct mpc_intsrc s = { 3, MP_IRQ_INT, 0, 0, irq, ioapic_id, irq == 0 ? 2 : irq };
        memcpy(p, &s, sizeof(s)), p += sizeof(s), count++;
    }
    /* Pins 16-23 only for the devices that use them (level, active low,
	 * as PCI INTx lines are), walked from the registry. */
    uint32_t pins = device_pins(devs);
    for (unsigned pin = 16; pin < 24; pin++) {
        if (!(pins & (1u << pin)))
            continue;
        struct mpc_intsrc s = { 3, MP_IRQ_INT, 0x0f, 0, pin, ioapic_id, pin };
        memcpy(p, &s, sizeof(s)), p += sizeof(s), count++;
    }
    struct mpc_intsrc ext = { 3, MP_IRQ_EXTINT, 0, 0, 0, ioapic_id, 0 };
    memcpy(p, &ext, sizeof(ext)), p += sizeof(ext), count++;
    struct mpc_intsrc lint0 = { 4, MP_IRQ_EXTINT, 0, 0, 0, 0xff, 0 };
    memcpy(p, &lint0, sizeof(lint0)), p += sizeof(lint0), count++;
    struct mpc_intsrc lint1 = { 4, MP_IRQ_NMI, 0, 0, 0, 0xff, 1 };
    memcpy(p, &lint1, sizeof(lint1)), p += sizeof(lint1), count++;

    memcpy(mpc->signature, "PCMP", 4);
    mpc->length = p - (uint8_t *)mpc;
    mpc->spec = 4;
    memcpy(mpc->oem, "PICOSTCK", 8);
    memcpy(mpc->productid, "picostack-vm", 12);
    mpc->oemcount = count;
    mpc->lapic = X86_LAPIC_ADDR;
    mpc->checksum = -x86_sum8(mpc, mpc->length);

    memcpy(mpf->signature, "_MP_", 4);
    mpf->physptr = X86_MPTABLE_ADDR + sizeof(*mpf);
    mpf->length = 1;
    mpf->specification = 4;
    mpf->checksum = -x86_sum8(mpf, sizeof(*mpf));

    size_t total = p - buf;
    if (X86_MPTABLE_ADDR + total > X86_SMBIOS_ADDR || gm_write(gm, X86_MPTABLE_ADDR, buf, total))
        return verr_set(err, EFAULT, "no guest RAM for the MP table");
    return 0;
}
