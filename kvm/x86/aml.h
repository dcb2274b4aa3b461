/* A small AML (ACPI Machine Language) writer for the DSDT: what devices
 * need to describe themselves (device.h's .aml hook) and what x86/acpi.c
 * builds from the registry. Writes past the buffer are not made but
 * counted: aml_overflowed() tells, and the DSDT is refused. */
#ifndef PICOSTACK_KVM_X86_AML_H
#define PICOSTACK_KVM_X86_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192

struct aml {
    uint8_t b[AML_MAX];
    size_t len;
};

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t v);
int aml_overflowed(const struct aml *a);
/* opcode(s), PkgLength, body: DeviceOp, ScopeOp, PackageOp, BufferOp. */
void aml_package_op(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body);
/* Name (NAME, value) with a DWordPrefix / BytePrefix constant. name is a
 * NameString: 4 chars, or with a root prefix ("\\_S5_"). */
void aml_name_dword(struct aml *a, const char *name, uint32_t v);
/* Name (NAME, Package () { BytePrefix v, ... }). */
void aml_name_byte_package(struct aml *a, const char *name, const uint8_t *v, unsigned n);
/* EisaId ("PNPxxxx") as AML encodes it; 0 for a malformed id. */
uint32_t aml_eisa_id(const char *hid);

/* Resource template items for a _CRS buffer. */
void aml_res_io(struct aml *r, uint16_t port, uint8_t len);
void aml_res_irq(struct aml *r, unsigned irq);     /* IRQNoFlags, ISA 0-15 */
void aml_res_ext_irq(struct aml *r, unsigned gsi); /* Interrupt(), level, low */
void aml_res_mem32(struct aml *r, uint32_t base, uint32_t len);

/* Device (NAME) { _HID EisaId(hid), _UID uid, _CRS (res + end tag) }. */
void aml_device(struct aml *a, const char *name, const char *hid, unsigned uid,
                const struct aml *res);

#endif
