/* SMBIOS structures (DMTF DSP0134, 3.0 with 2.8-sized structures), built in
 * a buffer: each is a formatted area of fixed length followed by its strings
 * (each NUL-terminated, numbered from 1) and one more NUL; a structure
 * without strings ends in two NULs. */
#include "kvm/x86/smbios.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kvm/x86/boot.h"
#include "kvm/x86/layout.h"

struct smb {
    struct x86_smbios *s;
    uint16_t handle;
    size_t start;     /* of the structure being built */
    uint8_t nstrings; /* in it so far */
    uint8_t scratch[64];
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v, p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v), put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v), put32(p + 4, v >> 32);
}

/* Room for n more bytes, or NULL (and overflow) when there is none. */
static uint8_t *room(struct smb *b, size_t n)
{
    struct x86_smbios *s = b->s;
    if (s->overflow || n > sizeof(s->tables) - s->len) {
        s->overflow = true;
        return NULL;
    }
    uint8_t *p = s->tables + s->len;
    s->len += n;
    return p;
}

/* A zeroed formatted area of len bytes (type, length and handle filled);
 * on overflow a scratch area, so callers fill it without checking. */
static uint8_t *begin(struct smb *b, uint8_t type, uint8_t len)
{
    b->start = b->s->len;
    b->nstrings = 0;
    uint8_t *p = room(b, len);
    if (!p)
        p = b->scratch;
    memset(p, 0, len);
    p[0] = type, p[1] = len;
    put16(p + 2, b->handle++);
    return p;
}

/* Adds a string to the structure being built; its number, 0 for none. */
static uint8_t str(struct smb *b, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (!n)
        return 0;
    uint8_t *p = room(b, n + 1);
    if (!p)
        return 0;
    memcpy(p, text, n + 1);
    return ++b->nstrings;
}

static void end(struct smb *b)
{
    uint8_t *p = room(b, b->nstrings ? 1 : 2);
    if (!p)
        return;
    p[0] = 0;
    if (!b->nstrings)
        p[1] = 0;
    size_t size = b->s->len - b->start;
    if (size > b->s->max_struct)
        b->s->max_struct = size;
    b->s->count++;
}

static void format_uuid(const uint8_t u[16], char out[37])
{
    static const int dash[16] = { [3] = 1, [5] = 1, [7] = 1, [9] = 1 };
    char *o = out;
    for (int i = 0; i < 16; i++)
        o += sprintf(o, "%02x%s", u[i], dash[i] ? "-" : "");
}

static void bios(struct smb *b)
{
    uint8_t *p = begin(b, 0, 0x18);
    p[4] = str(b, "picostack");
    p[5] = str(b, "picostack-vmm");
    put16(p + 6, 0xe800); /* starting segment: a 96 KiB "ROM" */
    p[8] = str(b, "01/01/2026");
    put64(p + 10, 1u << 3); /* characteristics not supported */
    p[19] = 1u << 4;        /* extension byte 2: a virtual machine */
    p[20] = 1, p[21] = 0;   /* BIOS release 1.0 */
    p[22] = p[23] = 0xff;   /* no embedded controller */
    end(b);
}

/* SMBIOS 2.6 and later store the first three UUID fields little-endian. */
static void system_info(struct smb *b, const uint8_t *uuid)
{
    char text[37] = "";
    uint8_t *p = begin(b, 1, 0x1b);
    if (uuid) {
        format_uuid(uuid, text);
        const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        for (int i = 0; i < 16; i++)
            p[8 + i] = uuid[order[i]];
    }
    p[4] = str(b, "OpenStack Foundation");
    p[5] = str(b, "OpenStack Nova");
    p[6] = str(b, "picostack");
    p[7] = str(b, text); /* serial: the server's id, as Nova's sysinfo can */
    p[24] = 6;           /* woken by the power switch */
    p[26] = str(b, "Virtual Machine");
    end(b);
}

static void chassis(struct smb *b)
{
    uint8_t *p = begin(b, 3, 0x15);
    p[4] = str(b, "picostack");
    p[5] = 1;                 /* type: other */
    p[9] = p[10] = p[11] = 3; /* boot-up, power supply, thermal: safe */
    p[12] = 2;                /* security: unknown */
    end(b);
}

static void processor(struct smb *b, unsigned i)
{
    char name[16];
    snprintf(name, sizeof(name), "CPU %u", i);
    uint8_t *p = begin(b, 4, 0x2a);
    p[4] = str(b, name);
    p[5] = 3; /* central processor */
    p[6] = 1; /* family: other */
    p[7] = str(b, "picostack");
    p[16] = str(b, "picostack vCPU");
    put16(p + 20, 2000), put16(p + 22, 2000);                            /* MHz: nominal */
    p[24] = 0x41;                                                        /* populated, enabled */
    p[25] = 1;                                                           /* upgrade: other */
    put16(p + 26, 0xffff), put16(p + 28, 0xffff), put16(p + 30, 0xffff); /* no caches */
    p[35] = p[36] = p[37] = 1; /* cores, enabled, threads */
    put16(p + 38, 1u << 2);    /* 64-bit capable */
    put16(p + 40, 1);          /* family 2: other */
    end(b);
}

/* One array holding one device with all of RAM; returns the array's handle. */
static void memory(struct smb *b, uint64_t bytes)
{
    uint16_t array = b->handle;
    uint64_t kib = bytes >> 10, mib = bytes >> 20;
    uint8_t *p = begin(b, 16, 0x17);
    p[4] = 1; /* location: other */
    p[5] = 3; /* system memory */
    p[6] = 3; /* no error correction */
    put32(p + 7, kib < 0x80000000u ? (uint32_t)kib : 0x80000000u);
    put16(p + 11, 0xfffe); /* no error information */
    put16(p + 13, 1);
    put64(p + 15, kib < 0x80000000u ? 0 : bytes);
    end(b);

    p = begin(b, 17, 0x28);
    put16(p + 4, array);
    put16(p + 6, 0xfffe);
    put16(p + 8, 64), put16(p + 10, 64);
    put16(p + 12, mib < 0x7fff ? (uint16_t)mib : 0x7fff);
    p[14] = 9; /* DIMM */
    p[16] = str(b, "DIMM 0");
    p[18] = 7;        /* RAM */
    put16(p + 19, 2); /* type detail: other */
    p[23] = str(b, "picostack");
    put32(p + 28, mib < 0x7fff ? 0 : (uint32_t)(mib < 0x7fffffff ? mib : 0x7fffffff));
    end(b);
}

static void entry_points(struct x86_smbios *s, uint64_t addr)
{
    uint8_t *e = s->ep3;
    memset(e, 0, sizeof(s->ep3));
    memcpy(e, "_SM3_", 5);
    e[6] = X86_SMBIOS_EP3_LEN;
    e[7] = 3, e[8] = 0; /* SMBIOS 3.0 */
    e[10] = 1;          /* entry point revision */
    put32(e + 12, (uint32_t)s->len);
    put64(e + 16, addr);
    e[5] = -x86_sum8(e, X86_SMBIOS_EP3_LEN);

    e = s->ep2;
    memset(e, 0, sizeof(s->ep2));
    memcpy(e, "_SM_", 4);
    e[5] = X86_SMBIOS_EP2_LEN;
    e[6] = 2, e[7] = 8; /* 2.8 */
    put16(e + 8, (uint16_t)s->max_struct);
    memcpy(e + 16, "_DMI_", 5);
    put16(e + 22, (uint16_t)s->len);
    put32(e + 24, (uint32_t)addr);
    put16(e + 28, (uint16_t)s->count);
    e[30] = 0x28;
    e[21] = -x86_sum8(e + 16, 15);
    e[4] = -x86_sum8(e, X86_SMBIOS_EP2_LEN);
}

int x86_build_smbios(struct x86_smbios *s, uint64_t table_addr, const struct x86_smbios_machine *m,
                     verr_t *err)
{
    if (m->ncpus < 1 || m->ncpus > X86_MAX_CPUS || m->mem_bytes < (1u << 20))
        return verr_set(err, EINVAL, "SMBIOS: %u vCPUs, %llu bytes of RAM", m->ncpus,
                        (unsigned long long)m->mem_bytes);
    if (table_addr >= 0x100000000ULL)
        return verr_set(err, EINVAL, "SMBIOS: the table must lie below 4 GiB");
    memset(s, 0, sizeof(*s));
    struct smb b = { .s = s };
    bios(&b);
    system_info(&b, m->uuid);
    chassis(&b);
    for (unsigned i = 0; i < m->ncpus; i++)
        processor(&b, i);
    memory(&b, m->mem_bytes);
    begin(&b, 32, 0x0b); /* boot status 0: no errors */
    end(&b);
    begin(&b, 127, 4);
    end(&b);
    if (s->overflow)
        return verr_set(err, E2BIG, "SMBIOS: the structures outgrew %d bytes", X86_SMBIOS_MAX);
    entry_points(s, table_addr);
    return 0;
}

int x86_write_smbios(const struct guest_mem *gm, const struct x86_smbios_machine *m, verr_t *err)
{
    static struct x86_smbios s;
    int r = x86_build_smbios(&s, X86_SMBIOS_TABLE, m, err);
    if (r)
        return r;
    if (X86_SMBIOS_TABLE + s.len > X86_HIMEM_START)
        return verr_set(err, E2BIG, "SMBIOS: %zu bytes do not fit below 1 MiB", s.len);
    if (gm_write(gm, X86_SMBIOS_ADDR, s.ep3, sizeof(s.ep3)) ||
        gm_write(gm, X86_SMBIOS_TABLE, s.tables, s.len))
        return verr_set(err, EFAULT, "no guest RAM for the SMBIOS tables");
    return 0;
}
