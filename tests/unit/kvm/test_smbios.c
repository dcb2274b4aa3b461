/* SMBIOS tables (kvm.smbios): built, then parsed back the way Linux's
 * dmi_scan reads them: the entry points found by scanning 0xF0000-0xFFFFF
 * in 16-byte steps, their checksums, every structure's length and strings,
 * the System UUID in SMBIOS byte order, one Processor per vCPU and the RAM
 * size; then bad machines and sizes that need the extended fields. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kvm/x86/boot.h"
#include "kvm/x86/layout.h"
#include "kvm/x86/smbios.h"
#include "tests/support/check.h"

static const uint8_t uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

static uint32_t get32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* String number n of the structure at s (formatted length s[1]), or NULL;
 * *end gets the offset after the structure. */
static const char *string_of(const uint8_t *s, const uint8_t *limit, unsigned n, size_t *end)
{
    const char *found = NULL;
    const uint8_t *p = s + s[1];
    unsigned i = 1;
    if (p < limit && !*p)
        p++; /* no strings: the two NULs */
    while (p < limit && *p) {
        size_t len = strnlen((const char *)p, limit - p);
        if (i++ == n)
            found = (const char *)p;
        p += len + 1;
    }
    REQUIRE(p < limit); /* the final NUL is inside the table */
    *end = (size_t)(p + 1 - s);
    return found;
}

struct walk {
    unsigned count, cpus, types[128];
    uint64_t mem_mib;
    const uint8_t *system;
    size_t system_len;
};

/* Walks the table structure by structure, to the End-of-Table. */
static void walk(const uint8_t *t, size_t len, struct walk *w)
{
    memset(w, 0, sizeof(*w));
    size_t off = 0;
    unsigned handle = 0;
    while (off + 4 <= len) {
        const uint8_t *s = t + off;
        REQUIRE(s[1] >= 4 && off + s[1] <= len);
        CHECK_EQ(s[2] | s[3] << 8, handle); /* handles 0, 1, 2, ... */
        handle++;
        size_t size;
        string_of(s, t + len, 0, &size);
        w->count++;
        w->types[s[0] & 127]++;
        if (s[0] == 1)
            w->system = s, w->system_len = size;
        if (s[0] == 4) {
            CHECK_EQ(s[1], 0x2a);
            w->cpus++;
        }
        if (s[0] == 17) {
            uint32_t size16 = (uint32_t)(s[12] | s[13] << 8);
            w->mem_mib = size16 == 0x7fff ? get32(s + 28) : size16;
        }
        off += size;
        if (s[0] == 127)
            break;
    }
    CHECK_EQ(off, len); /* End-of-Table ends it */
}

static void test_tables(void)
{
    static struct x86_smbios s;
    struct x86_smbios_machine m = { uuid, 3, 512ULL << 20 };
    verr_t err = { "" };
    REQUIRE_OK(x86_build_smbios(&s, 0x12340, &m, &err));
    /* the 3.0 entry point */
    CHECK(!memcmp(s.ep3, "_SM3_", 5));
    CHECK_EQ(s.ep3[6], 24);
    CHECK_EQ(s.ep3[7], 3);
    CHECK_EQ(x86_sum8(s.ep3, 24), 0);
    CHECK_EQ(get32(s.ep3 + 12), s.len);
    CHECK_EQ(get64(s.ep3 + 16), 0x12340);
    /* the 2.1 one */
    CHECK(!memcmp(s.ep2, "_SM_", 4) && !memcmp(s.ep2 + 16, "_DMI_", 5));
    CHECK_EQ(x86_sum8(s.ep2, 31), 0);
    CHECK_EQ(x86_sum8(s.ep2 + 16, 15), 0);
    CHECK_EQ(s.ep2[22] | s.ep2[23] << 8, s.len);
    CHECK_EQ(get32(s.ep2 + 24), 0x12340);
    CHECK_EQ(s.ep2[28] | s.ep2[29] << 8, s.count);

    struct walk w;
    walk(s.tables, s.len, &w);
    CHECK_EQ(w.count, s.count);
    CHECK_EQ(w.count, 10u); /* 0, 1, 3, 3 x 4, 16, 17, 32, 127 */
    CHECK_EQ(w.cpus, 3u);
    CHECK_EQ(w.types[0] + w.types[1] + w.types[3] + w.types[16] + w.types[17], 5u);
    CHECK_EQ(w.types[32] + w.types[127], 2u);
    CHECK_EQ(w.mem_mib, 512u);
    CHECK(s.tables[0] == 0 && s.tables[s.len - 6] == 127);

    /* System: the strings, and the UUID's first three fields little-endian */
    const uint8_t *sys = w.system;
    REQUIRE(sys && sys[1] == 0x1b);
    size_t end;
    const uint8_t *lim = s.tables + s.len;
    CHECK_STR(string_of(sys, lim, sys[4], &end), "OpenStack Foundation");
    CHECK_STR(string_of(sys, lim, sys[5], &end), "OpenStack Nova");
    CHECK_STR(string_of(sys, lim, sys[7], &end), "12345678-9abc-def0-0123-456789abcdef");
    static const uint8_t want[16] = { 0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
                                      0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
    CHECK(!memcmp(sys + 8, want, 16));
}

static void test_no_uuid(void)
{
    static struct x86_smbios s;
    struct x86_smbios_machine m = { NULL, 1, 64ULL << 20 };
    verr_t err = { "" };
    REQUIRE_OK(x86_build_smbios(&s, 0, &m, &err));
    struct walk w;
    walk(s.tables, s.len, &w);
    static const uint8_t zero[16];
    REQUIRE(w.system);
    CHECK(!memcmp(w.system + 8, zero, 16)); /* "not present" */
    CHECK_EQ(w.system[7], 0);               /* no serial */
}

/* 64 vCPUs and 1 TiB: the structures still fit, sizes go to the extended
 * fields. */
static void test_big(void)
{
    static struct x86_smbios s;
    struct x86_smbios_machine m = { uuid, X86_MAX_CPUS, 1ULL << 40 };
    verr_t err = { "" };
    REQUIRE_OK(x86_build_smbios(&s, 0, &m, &err));
    struct walk w;
    walk(s.tables, s.len, &w);
    CHECK_EQ(w.cpus, (unsigned)X86_MAX_CPUS);
    CHECK_EQ(w.mem_mib, 1u << 20);
    CHECK(X86_SMBIOS_TABLE + s.len <= X86_HIMEM_START);
}

static void test_bad(void)
{
    static struct x86_smbios s;
    verr_t err = { "" };
    struct x86_smbios_machine none = { NULL, 0, 64ULL << 20 };
    CHECK_EQ(x86_build_smbios(&s, 0, &none, &err), -EINVAL);
    struct x86_smbios_machine many = { NULL, X86_MAX_CPUS + 1, 64ULL << 20 };
    CHECK_EQ(x86_build_smbios(&s, 0, &many, &err), -EINVAL);
    struct x86_smbios_machine tiny = { NULL, 1, 4096 };
    CHECK_EQ(x86_build_smbios(&s, 0, &tiny, &err), -EINVAL);
    struct x86_smbios_machine ok = { NULL, 1, 64ULL << 20 };
    CHECK_EQ(x86_build_smbios(&s, 0x100000000ULL, &ok, &err), -EINVAL);
    CHECK(err.msg[0]);
}

/* In guest RAM: found where Linux looks, pointing at whole tables. */
static void test_in_guest(void)
{
    struct guest_mem gm;
    REQUIRE_OK(gm_init(&gm, 64 << 20));
    struct x86_smbios_machine m = { uuid, 2, gm.size };
    verr_t err = { "" };
    REQUIRE_OK(x86_write_smbios(&gm, &m, &err));
    uint64_t found = 0;
    for (uint64_t a = 0xf0000; a < 0x100000 && !found; a += 16) {
        const uint8_t *p = gm_ptr(&gm, a, 24);
        if (p && !memcmp(p, "_SM3_", 5) && x86_sum8(p, p[6]) == 0)
            found = a;
    }
    REQUIRE(found == X86_SMBIOS_ADDR);
    const uint8_t *ep = gm_ptr(&gm, found, 24);
    uint32_t len = get32(ep + 12);
    const uint8_t *t = gm_ptr(&gm, get64(ep + 16), len);
    REQUIRE(t);
    struct walk w;
    walk(t, len, &w);
    CHECK_EQ(w.cpus, 2u);
    CHECK_EQ(w.mem_mib, 64u);
    gm_free(&gm);
}

int main(void)
{
    test_tables();
    test_no_uuid();
    test_big();
    test_bad();
    test_in_guest();
    return t_done("kvm.smbios");
}
