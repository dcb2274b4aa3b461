/* bootimg: MBR and GPT partition tables, every field checked (UEFI 2.10
 * section 5.3 for GPT). */
#include "core/bootimg/bi_internal.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SECTOR             512u
#define GPT_MAX_ENTRIES    1024u
#define GPT_MAX_ENTRY_SIZE 4096u

static uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

/* GUIDs are stored mixed-endian: the first three fields little-endian. */
static void guid_str(const uint8_t *g, char out[37])
{
    snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", le32(g),
             (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10], g[11],
             g[12], g[13], g[14], g[15]);
}

static bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Sorted by start, no two may overlap. */
static int cmp_offset(const void *a, const void *b)
{
    const struct bootimg_part *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_overlaps(const struct bootimg_table *t, struct bootimg_err *e)
{
    struct bootimg_part *s = malloc(sizeof *s * (t->nparts ? t->nparts : 1));
    if (!s)
        return bi_fail(e, -ENOMEM, "out of memory");
    memcpy(s, t->parts, sizeof *s * t->nparts);
    qsort(s, t->nparts, sizeof *s, cmp_offset);
    int rc = 0;
    for (unsigned i = 1; i < t->nparts && !rc; i++)
        if (s[i - 1].offset + s[i - 1].size > s[i].offset)
            rc = bi_fail(e, -EINVAL, "partitions %u and %u overlap", s[i - 1].number, s[i].number);
    free(s);
    return rc;
}

/* One GPT header at lba and its entry array; 0 when sound. */
static int read_gpt(const struct bootimg_source *s, uint64_t lba, struct bootimg_table *t,
                    struct bootimg_err *e)
{
    uint8_t h[SECTOR];
    uint64_t sectors = s->size / SECTOR;
    int rc = bi_read(s, h, lba * SECTOR, SECTOR);
    if (rc)
        return bi_fail(e, rc, "GPT header at LBA %llu: unreadable", (unsigned long long)lba);
    if (memcmp(h, "EFI PART", 8))
        return bi_fail(e, -EINVAL, "GPT header at LBA %llu: no signature", (unsigned long long)lba);
    uint32_t hsize = le32(h + 12);
    if (le32(h + 8) != 0x00010000u)
        return bi_fail(e, -EINVAL, "GPT header: revision %#x unknown", le32(h + 8));
    if (hsize < 92 || hsize > SECTOR)
        return bi_fail(e, -EINVAL, "GPT header: size %u out of 92..512", hsize);
    uint32_t want = le32(h + 16);
    memset(h + 16, 0, 4);
    if ((uint32_t)crc32(0, h, hsize) != want)
        return bi_fail(e, -EINVAL, "GPT header at LBA %llu: bad CRC", (unsigned long long)lba);
    uint64_t my = le64(h + 24), first = le64(h + 40), last = le64(h + 48), array = le64(h + 72);
    uint32_t n = le32(h + 80), esize = le32(h + 84), ecrc = le32(h + 88);
    if (my != lba)
        return bi_fail(e, -EINVAL, "GPT header: says it is at LBA %llu, read at %llu",
                       (unsigned long long)my, (unsigned long long)lba);
    if (n > GPT_MAX_ENTRIES || esize < 128 || esize > GPT_MAX_ENTRY_SIZE || esize % 8)
        return bi_fail(e, -EINVAL, "GPT: %u entries of %u bytes (at most %u of 128..%u)", n, esize,
                       GPT_MAX_ENTRIES, GPT_MAX_ENTRY_SIZE);
    uint64_t abytes = (uint64_t)n * esize, asectors = (abytes + SECTOR - 1) / SECTOR;
    if (first > last || last >= sectors || first < 2)
        return bi_fail(e, -EINVAL, "GPT: usable LBAs %llu..%llu outside the disk's %llu",
                       (unsigned long long)first, (unsigned long long)last,
                       (unsigned long long)sectors);
    if (array < 2 || array >= sectors || asectors > sectors - array ||
        (array < first ? array + asectors > first : array <= last))
        return bi_fail(e, -EINVAL, "GPT: entry array at LBA %llu out of place",
                       (unsigned long long)array);
    uint8_t *a = malloc(abytes ? abytes : 1);
    if (!a)
        return bi_fail(e, -ENOMEM, "out of memory");
    if ((rc = bi_read(s, a, array * SECTOR, abytes))) {
        free(a);
        return bi_fail(e, rc, "GPT entry array: unreadable");
    }
    if ((uint32_t)crc32(0, a, (uInt)abytes) != ecrc) {
        free(a);
        return bi_fail(e, -EINVAL, "GPT entry array (header at LBA %llu): bad CRC",
                       (unsigned long long)lba);
    }
    t->kind = BOOTIMG_TABLE_GPT;
    t->nparts = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *p = a + (size_t)i * esize;
        if (zero(p, 16))
            continue; /* unused entry */
        uint64_t s0 = le64(p + 32), s1 = le64(p + 40);
        if (s0 > s1 || s0 < first || s1 > last)
            rc = bi_fail(e, -EINVAL, "GPT partition %u: LBAs %llu..%llu outside %llu..%llu", i + 1,
                         (unsigned long long)s0, (unsigned long long)s1, (unsigned long long)first,
                         (unsigned long long)last);
        else if (t->nparts >= BOOTIMG_MAX_PARTS)
            rc = bi_fail(e, -EINVAL, "GPT: more than %d partitions", BOOTIMG_MAX_PARTS);
        else {
            struct bootimg_part *q = &t->parts[t->nparts++];
            memset(q, 0, sizeof *q);
            q->number = i + 1;
            q->offset = s0 * SECTOR;
            q->size = (s1 - s0 + 1) * SECTOR;
            memcpy(q->type_guid, p, 16);
            guid_str(p + 16, q->part_uuid);
        }
    }
    free(a);
    return rc ? rc : check_overlaps(t, e);
}

static int read_gpt_either(const struct bootimg_source *s, struct bootimg_table *t,
                           struct bootimg_err *e)
{
    struct bootimg_err first;
    int rc = read_gpt(s, 1, t, &first);
    if (!rc)
        return 0;
    /* The backup header sits at the disk's last LBA (and says so). */
    uint64_t last = s->size / SECTOR - 1;
    struct bootimg_err second;
    if (last > 1 && !read_gpt(s, last, t, &second)) {
        t->used_backup = true;
        return 0;
    }
    return bi_fail(e, rc, "%s (and no sound backup header)", first.msg);
}

static int read_mbr(const uint8_t *m, uint64_t size, struct bootimg_table *t, struct bootimg_err *e)
{
    uint32_t sig = le32(m + 440);
    t->kind = BOOTIMG_TABLE_MBR;
    t->nparts = 0;
    for (unsigned i = 0; i < 4; i++) {
        const uint8_t *p = m + 446 + 16 * i;
        uint8_t type = p[4];
        uint64_t start = le32(p + 8), count = le32(p + 12);
        if (!type || !count)
            continue;
        if (p[0] != 0 && p[0] != 0x80)
            return bi_fail(e, -EINVAL, "MBR partition %u: boot flag %#x", i + 1, p[0]);
        if (!start || (start + count) * SECTOR > size)
            return bi_fail(e, -EINVAL, "MBR partition %u: sectors %llu+%llu outside the disk",
                           i + 1, (unsigned long long)start, (unsigned long long)count);
        struct bootimg_part *q = &t->parts[t->nparts++];
        memset(q, 0, sizeof *q);
        q->number = i + 1;
        q->offset = start * SECTOR;
        q->size = count * SECTOR;
        q->mbr_type = type;
        snprintf(q->part_uuid, sizeof q->part_uuid, "%08x-%02x", sig, i + 1);
    }
    return check_overlaps(t, e);
}

int bootimg_read_table(const struct bootimg_source *s, struct bootimg_table *t,
                       struct bootimg_err *e)
{
    uint8_t m[SECTOR];
    memset(t, 0, sizeof *t);
    if (s->size < 4 * SECTOR)
        return bi_fail(e, -EINVAL, "disk of %llu bytes: too small", (unsigned long long)s->size);
    int rc = bi_read(s, m, 0, SECTOR);
    if (rc)
        return bi_fail(e, rc, "sector 0: unreadable");
    if (m[510] != 0x55 || m[511] != 0xaa) { /* no table: one filesystem */
        t->kind = BOOTIMG_TABLE_NONE;
        t->nparts = 1;
        t->parts[0].number = 0;
        t->parts[0].size = s->size;
        return 0;
    }
    for (unsigned i = 0; i < 4; i++)
        if (m[446 + 16 * i + 4] == 0xee)
            return read_gpt_either(s, t, e);
    return read_mbr(m, s->size, t, e);
}
