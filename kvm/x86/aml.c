/* The AML writer (aml.h). */
#include "kvm/x86/aml.h"

#include <ctype.h>
#include <string.h>

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->len + n <= sizeof(a->b))
        memcpy(a->b + a->len, p, n);
    a->len += n; /* an overflow shows as len > sizeof(b) */
}

void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

int aml_overflowed(const struct aml *a)
{
    return a->len > sizeof(a->b);
}

/* PkgLength counts its own bytes and what follows: 1 byte up to 63, 2 bytes
 * (low nibble in the lead byte, bits 6-7 = 1 follow-on byte) up to 4095, 3
 * bytes up to 1 MiB. */
static void pkglength(struct aml *a, size_t body)
{
    if (body + 1 <= 63) {
        aml_byte(a, body + 1);
    } else if (body + 2 <= 0xfff) {
        size_t n = body + 2;
        aml_byte(a, 0x40 | (n & 0x0f));
        aml_byte(a, n >> 4);
    } else {
        size_t n = body + 3;
        aml_byte(a, 0x80 | (n & 0x0f));
        aml_byte(a, (n >> 4) & 0xff);
        aml_byte(a, n >> 12);
    }
}

void aml_package_op(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
    aml_bytes(a, op, oplen);
    pkglength(a, body->len);
    if (aml_overflowed(body))
        a->len += body->len; /* keep the overflow visible */
    else
        aml_bytes(a, body->b, body->len);
}

static void name_op(struct aml *a, const char *name)
{
    aml_byte(a, 0x08); /* NameOp */
    aml_bytes(a, name, strlen(name));
}

void aml_name_dword(struct aml *a, const char *name, uint32_t v)
{
    name_op(a, name);
    aml_byte(a, 0x0c); /* DWordPrefix */
    aml_bytes(a, &v, 4);
}

void aml_name_byte_package(struct aml *a, const char *name, const uint8_t *v, unsigned n)
{
    struct aml pkg = { .len = 0 };
    name_op(a, name);
    aml_byte(&pkg, n); /* NumElements */
    for (unsigned i = 0; i < n; i++) {
        aml_byte(&pkg, 0x0a); /* BytePrefix */
        aml_byte(&pkg, v[i]);
    }
    static const uint8_t package_op = 0x12;
    aml_package_op(a, &package_op, 1, &pkg);
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : toupper((unsigned char)c) - 'A' + 10;
}

/* Three letters in 5 bits each (big-endian), then four hex digits. */
uint32_t aml_eisa_id(const char *hid)
{
    if (!hid || strlen(hid) != 7)
        return 0;
    for (int i = 0; i < 3; i++)
        if (hid[i] < 'A' || hid[i] > 'Z')
            return 0;
    for (int i = 3; i < 7; i++)
        if (!isxdigit((unsigned char)hid[i]))
            return 0;
    uint16_t vendor = ((hid[0] - '@') << 10) | ((hid[1] - '@') << 5) | (hid[2] - '@');
    uint16_t product =
        (hexval(hid[3]) << 12) | (hexval(hid[4]) << 8) | (hexval(hid[5]) << 4) | hexval(hid[6]);
    return (vendor >> 8) | ((uint32_t)(vendor & 0xff) << 8) | ((uint32_t)(product >> 8) << 16) |
           ((uint32_t)(product & 0xff) << 24);
}

void aml_res_io(struct aml *r, uint16_t port, uint8_t len)
{
    uint8_t d[] = { 0x47, 0x01, port & 0xff, port >> 8, port & 0xff, port >> 8, 0x00, len };
    aml_bytes(r, d, sizeof(d));
}

void aml_res_irq(struct aml *r, unsigned irq)
{
    uint8_t d[] = { 0x22, (1u << irq) & 0xff, (1u << irq) >> 8 };
    aml_bytes(r, d, sizeof(d));
}

void aml_res_ext_irq(struct aml *r, unsigned gsi)
{
    /* Large item 0x89, length 6: consumer, level, active low, exclusive, one. */
    uint8_t d[] = { 0x89, 6, 0, 0x01 | 0x02 | 0x04, 1, 0, 0, 0, 0 };
    memcpy(d + 5, &gsi, 4);
    aml_bytes(r, d, sizeof(d));
}

void aml_res_mem32(struct aml *r, uint32_t base, uint32_t len)
{
    /* Memory32Fixed, read-write: large item 0x86, length 9. */
    uint8_t d[12] = { 0x86, 9, 0, 0x01 };
    memcpy(d + 4, &base, 4);
    memcpy(d + 8, &len, 4);
    aml_bytes(r, d, sizeof(d));
}

void aml_device(struct aml *a, const char *name, const char *hid, unsigned uid,
                const struct aml *res)
{
    static struct aml body, buf, crs; /* large; the DSDT is built on one thread */
    body.len = buf.len = 0;
    crs = *res;
    static const uint8_t end_tag[] = { 0x79, 0x00 }; /* checksum 0: not checked */
    aml_bytes(&crs, end_tag, sizeof(end_tag));
    aml_bytes(&body, name, 4);
    aml_name_dword(&body, "_HID", aml_eisa_id(hid));
    if (uid == 0) {
        aml_byte(&body, 0x08); /* Name (_UID, Zero) */
        aml_bytes(&body, "_UID", 4);
        aml_byte(&body, 0x00);
    } else {
        aml_name_dword(&body, "_UID", uid);
    }
    aml_byte(&body, 0x08); /* Name (_CRS, Buffer (n) { ... }) */
    aml_bytes(&body, "_CRS", 4);
    if (crs.len < 256) {
        aml_byte(&buf, 0x0a); /* BufferSize: BytePrefix n */
        aml_byte(&buf, crs.len);
    } else {
        aml_byte(&buf, 0x0b); /* WordPrefix n */
        aml_byte(&buf, crs.len & 0xff);
        aml_byte(&buf, crs.len >> 8);
    }
    aml_bytes(&buf, crs.b, crs.len);
    static const uint8_t buffer_op = 0x11;
    aml_package_op(&body, &buffer_op, 1, &buf);
    static const uint8_t device_op[] = { 0x5b, 0x82 };
    aml_package_op(a, device_op, sizeof(device_op), &body);
}
