/* The ISO 9660 + Rock Ridge writer (iso9660.h): a tree of nodes, laid out
 * in two passes (sizes, then sectors), written from one buffer. */
#include "core/iso9660/iso9660.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAME  100
#define MAX_DEPTH 7
#define SEC       ISO9660_SECTOR

struct node {
    char name[MAX_NAME + 1]; /* the Rock Ridge name */
    char iso[48];            /* the ISO 9660 identifier (files end ";1") */
    bool dir;
    int parent; /* index; the root (0) is its own parent */
    unsigned char *data;
    size_t len;
    uint32_t lba, sectors;
    unsigned dirno; /* the path table's number (directories) */
};

struct iso9660 {
    char volume_id[33];
    time_t when;
    struct node nodes[ISO9660_MAX_NODES + 1];
    int n;
    int order[ISO9660_MAX_NODES + 1]; /* directories first (BFS), then files */
    int n_dirs;
    uint32_t pt_size, pt_sectors, ce_lba, total;
    size_t data_bytes;
};

/* ---- the Rock Ridge "ER" entry's texts (RRIP 1.10's own words) ---- */
static const char er_id[] = "RRIP_1991A";
static const char er_des[] =
    "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
static const char er_src[] = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE "
                             "PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT "
                             "INFORMATION.";

int iso9660_new(const char *volume_id, time_t when, struct iso9660 **out)
{
    size_t vl = volume_id ? strlen(volume_id) : 0;
    if (vl < 1 || vl > 32)
        return -EINVAL;
    struct iso9660 *iso = calloc(1, sizeof *iso);
    if (!iso)
        return -ENOMEM;
    memcpy(iso->volume_id, volume_id, vl);
    iso->when = when;
    iso->nodes[0].dir = true;
    iso->n = 1;
    *out = iso;
    return 0;
}

void iso9660_free(struct iso9660 *iso)
{
    if (!iso)
        return;
    for (int i = 0; i < iso->n; i++)
        free(iso->nodes[i].data);
    free(iso);
}

static int child(const struct iso9660 *iso, int parent, const char *name, size_t len)
{
    for (int i = 1; i < iso->n; i++)
        if (iso->nodes[i].parent == parent && strlen(iso->nodes[i].name) == len &&
            memcmp(iso->nodes[i].name, name, len) == 0)
            return i;
    return -1;
}

static bool name_ok(const char *s, size_t len)
{
    if (len < 1 || len > MAX_NAME || (len == 1 && s[0] == '.') ||
        (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* Checks every component of path and finds how much of it exists: *at
 * the deepest existing directory, *rest what follows it, *missing how many
 * nodes are to be made. Nothing changes, so a refused path leaves no
 * directory behind. */
static int walk(const struct iso9660 *iso, const char *path, int *at, const char **rest,
                int *missing)
{
    int depth = 0, node = 0;
    bool exists = true;
    *missing = 0;
    for (const char *p = path;;) {
        size_t n = strcspn(p, "/");
        bool last = p[n] == '\0';
        if (!name_ok(p, n) || ++depth > MAX_DEPTH)
            return -EINVAL;
        int c = exists ? child(iso, node, p, n) : -1;
        if (c >= 0 && (last || !iso->nodes[c].dir))
            return -EEXIST;
        if (c >= 0) {
            node = c;
        } else {
            if (exists) {
                *at = node;
                *rest = p;
            }
            exists = false;
            ++*missing;
        }
        if (last)
            return 0;
        p += n + 1;
    }
}

int iso9660_add_file(struct iso9660 *iso, const char *path, const void *data, size_t len)
{
    if (!path || (len && !data))
        return -EINVAL;
    int at = 0, missing = 0;
    const char *p = NULL;
    int rc = walk(iso, path, &at, &p, &missing);
    if (rc)
        return rc;
    if (iso->n + missing > ISO9660_MAX_NODES + 1)
        return -EINVAL;
    if (iso->data_bytes + len + (size_t)(iso->n + missing + 32) * SEC > ISO9660_MAX_BYTES)
        return -EFBIG;
    unsigned char *copy = len ? malloc(len) : NULL;
    if (len && !copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    for (;;) {
        size_t n = strcspn(p, "/");
        struct node *nd = &iso->nodes[iso->n];
        memset(nd, 0, sizeof *nd);
        memcpy(nd->name, p, n);
        nd->parent = at;
        nd->dir = p[n] != '\0';
        at = iso->n++;
        if (!nd->dir) {
            nd->data = copy;
            nd->len = len;
            iso->data_bytes += len;
            return 0;
        }
        p += n + 1;
    }
}

/* ---- layout ---- */

/* The ISO identifier of node i: upper-case d-characters, a file's as
 * NAME.EXT;1 (30 characters at most before ";1"), unique among its
 * siblings (a number replaces the end of the name when two collide). */
static void iso_name(struct iso9660 *iso, int i)
{
    struct node *nd = &iso->nodes[i];
    const char *dot = nd->dir ? NULL : strrchr(nd->name, '.');
    size_t blen = dot ? (size_t)(dot - nd->name) : strlen(nd->name);
    char base[32] = "", ext[9] = "";
    size_t bmax = nd->dir ? 31 : 21, k;
    for (k = 0; k < blen && k < bmax; k++)
        base[k] = nd->name[k];
    for (k = 0; dot && dot[1 + k] && k < 8; k++)
        ext[k] = dot[1 + k];
    for (char *c = base; *c; c++)
        *c = (*c >= 'a' && *c <= 'z')                                 ? (char)(*c - 32)
             : ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) ? *c
                                                                      : '_';
    for (char *c = ext; *c; c++)
        *c = (*c >= 'a' && *c <= 'z')                                 ? (char)(*c - 32)
             : ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) ? *c
                                                                      : '_';
    if (!*base && !*ext)
        base[0] = '_';
    for (unsigned u = 0;; u++) {
        char b[32];
        if (u) { /* "NAME_3": the suffix replaces the end */
            char suf[12];
            int sl = snprintf(suf, sizeof suf, "_%u", u);
            size_t keep = strlen(base) + (size_t)sl > bmax ? bmax - (size_t)sl : strlen(base);
            snprintf(b, sizeof b, "%.*s%s", (int)keep, base, suf);
        } else {
            snprintf(b, sizeof b, "%s", base);
        }
        if (nd->dir)
            snprintf(nd->iso, sizeof nd->iso, "%s", b);
        else
            snprintf(nd->iso, sizeof nd->iso, "%s.%s;1", b, ext);
        bool taken = false;
        for (int j = 1; j < i; j++)
            if (iso->nodes[j].parent == nd->parent && strcmp(iso->nodes[j].iso, nd->iso) == 0)
                taken = true;
        if (!taken)
            return;
    }
}

static int by_iso_name(const void *a, const void *b, void *ctx)
{
    const struct iso9660 *iso = ctx;
    return strcmp(iso->nodes[*(const int *)a].iso, iso->nodes[*(const int *)b].iso);
}

/* The children of directory d, sorted by ISO identifier (as ECMA-119
 * orders directory records and the path table). */
static int children(struct iso9660 *iso, int d, int out[])
{
    int n = 0;
    for (int i = 1; i < iso->n; i++)
        if (iso->nodes[i].parent == d)
            out[n++] = i;
    qsort_r(out, (size_t)n, sizeof out[0], by_iso_name, iso);
    return n;
}

/* System use bytes of a record: PX + TF (+ NM), root "." also SP + CE;
 * padded to even. */
static size_t su_len(const struct node *nd, int kind /* 0 named, 1 ".", 2 ".." */, bool root)
{
    size_t n = 36 + 12;
    if (kind == 0)
        n += 5 + strlen(nd->name);
    if (kind == 1 && root)
        n += 7 + 28;
    return (n + 1) & ~(size_t)1;
}

static size_t rec_len(size_t id_len, size_t su)
{
    return 33 + id_len + (id_len % 2 == 0 ? 1 : 0) + su;
}

/* Bytes of directory d's extent with the sector rule (a record never
 * crosses a sector boundary), rounded up to sectors. */
static uint32_t dir_sectors(struct iso9660 *iso, int d)
{
    int kids[ISO9660_MAX_NODES];
    int n = children(iso, d, kids);
    size_t pos = rec_len(1, su_len(&iso->nodes[d], 1, d == 0)) +
                 rec_len(1, su_len(&iso->nodes[d], 2, false));
    for (int k = 0; k < n; k++) {
        const struct node *c = &iso->nodes[kids[k]];
        size_t r = rec_len(strlen(c->iso), su_len(c, 0, false));
        if (pos / SEC != (pos + r - 1) / SEC)
            pos = (pos / SEC + 1) * SEC;
        pos += r;
    }
    return (uint32_t)((pos + SEC - 1) / SEC);
}

static void layout(struct iso9660 *iso)
{
    for (int i = 1; i < iso->n; i++)
        iso->nodes[i].iso[0] = '\0';
    for (int i = 1; i < iso->n; i++)
        iso_name(iso, i);
    /* Directories breadth first: the path table's order. */
    int q = 0;
    iso->n_dirs = 0;
    iso->order[iso->n_dirs++] = 0;
    iso->pt_size = 0;
    while (q < iso->n_dirs) {
        int d = iso->order[q++];
        iso->nodes[d].dirno = (unsigned)q;
        size_t il = d ? strlen(iso->nodes[d].iso) : 1;
        iso->pt_size += (uint32_t)(8 + il + (il & 1));
        int kids[ISO9660_MAX_NODES];
        int n = children(iso, d, kids);
        for (int k = 0; k < n; k++)
            if (iso->nodes[kids[k]].dir)
                iso->order[iso->n_dirs++] = kids[k];
    }
    int nf = iso->n_dirs;
    for (int d = 0; d < iso->n_dirs; d++) {
        int kids[ISO9660_MAX_NODES];
        int n = children(iso, iso->order[d], kids);
        for (int k = 0; k < n; k++)
            if (!iso->nodes[kids[k]].dir)
                iso->order[nf++] = kids[k];
    }
    iso->pt_sectors = (iso->pt_size + SEC - 1) / SEC;
    iso->ce_lba = 18 + 2 * iso->pt_sectors;
    uint32_t lba = iso->ce_lba + 1;
    for (int k = 0; k < iso->n; k++) {
        struct node *nd = &iso->nodes[iso->order[k]];
        nd->sectors =
            nd->dir ? dir_sectors(iso, iso->order[k]) : (uint32_t)((nd->len + SEC - 1) / SEC);
        nd->lba = lba;
        lba += nd->sectors;
    }
    iso->total = lba;
}

size_t iso9660_size(struct iso9660 *iso)
{
    layout(iso);
    return (size_t)iso->total * SEC;
}

/* ---- writing ---- */

static void le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}
static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * (3 - i)));
}
static void both16(unsigned char *p, uint16_t v)
{
    le16(p, v);
    be16(p + 2, v);
}
static void both32(unsigned char *p, uint32_t v)
{
    le32(p, v);
    be32(p + 4, v);
}

static void rec_time(unsigned char *p, time_t when)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    p[0] = (unsigned char)tm.tm_year;
    p[1] = (unsigned char)(tm.tm_mon + 1);
    p[2] = (unsigned char)tm.tm_mday;
    p[3] = (unsigned char)tm.tm_hour;
    p[4] = (unsigned char)tm.tm_min;
    p[5] = (unsigned char)tm.tm_sec;
    p[6] = 0; /* GMT */
}

/* The Rock Ridge entries of a record at p; returns the bytes written. */
static size_t write_su(struct iso9660 *iso, unsigned char *p, const struct node *nd, int kind,
                       bool root)
{
    size_t o = 0;
    if (kind == 1 && root) { /* SP: SUSP is in use, no bytes skipped */
        memcpy(p, "SP\x07\x01\xbe\xef\x00", 7);
        o = 7;
    }
    unsigned nsub = 0;
    for (int i = 1; i < iso->n; i++)
        if (iso->nodes[i].dir && nd->dir && &iso->nodes[iso->nodes[i].parent] == nd)
            nsub++;
    memcpy(p + o, "PX\x24\x01", 4);
    both32(p + o + 4, nd->dir ? 040555 : 0100444);
    both32(p + o + 12, nd->dir ? 2 + nsub : 1);
    both32(p + o + 20, 0);
    both32(p + o + 28, 0);
    o += 36;
    memcpy(p + o, "TF\x0c\x01\x02", 5); /* modify time, 7-byte form */
    rec_time(p + o + 5, iso->when);
    o += 12;
    if (kind == 0) {
        size_t nl = strlen(nd->name);
        p[o] = 'N';
        p[o + 1] = 'M';
        p[o + 2] = (unsigned char)(5 + nl);
        p[o + 3] = 1;
        p[o + 4] = 0;
        memcpy(p + o + 5, nd->name, nl);
        o += 5 + nl;
    }
    if (kind == 1 && root) { /* CE: the ER entry, in its own sector */
        memcpy(p + o, "CE\x1c\x01", 4);
        both32(p + o + 4, iso->ce_lba);
        both32(p + o + 12, 0);
        both32(p + o + 20, 8 + sizeof er_id - 1 + sizeof er_des - 1 + sizeof er_src - 1);
        o += 28;
    }
    return o;
}

/* One directory record for target (its extent), named id (id_len bytes),
 * at p; returns its length. */
static size_t write_rec(struct iso9660 *iso, unsigned char *p, const struct node *target,
                        const char *id, size_t id_len, size_t su, int kind, bool root)
{
    size_t len = rec_len(id_len, su);
    p[0] = (unsigned char)len;
    both32(p + 2, target->lba);
    both32(p + 10, target->dir ? target->sectors * SEC : (uint32_t)target->len);
    rec_time(p + 18, iso->when);
    p[25] = target->dir ? 2 : 0;
    both16(p + 28, 1);
    p[32] = (unsigned char)id_len;
    memcpy(p + 33, id, id_len);
    if (su)
        write_su(iso, p + 33 + id_len + (id_len % 2 == 0 ? 1 : 0), target, kind, root);
    return len;
}

static void write_dir(struct iso9660 *iso, unsigned char *img, int d)
{
    struct node *nd = &iso->nodes[d];
    struct node *up = &iso->nodes[nd->parent];
    unsigned char *p = img + (size_t)nd->lba * SEC;
    size_t pos = write_rec(iso, p, nd, "\0", 1, su_len(nd, 1, d == 0), 1, d == 0);
    pos += write_rec(iso, p + pos, up, "\1", 1, su_len(up, 2, false), 2, false);
    int kids[ISO9660_MAX_NODES];
    int n = children(iso, d, kids);
    for (int k = 0; k < n; k++) {
        struct node *c = &iso->nodes[kids[k]];
        size_t il = strlen(c->iso), r = rec_len(il, su_len(c, 0, false));
        if (pos / SEC != (pos + r - 1) / SEC)
            pos = (pos / SEC + 1) * SEC;
        pos += write_rec(iso, p + pos, c, c->iso, il, su_len(c, 0, false), 0, false);
    }
}

static void write_path_tables(struct iso9660 *iso, unsigned char *img)
{
    unsigned char *l = img + 18 * SEC, *m = img + (18 + iso->pt_sectors) * (size_t)SEC;
    size_t o = 0;
    for (int k = 0; k < iso->n_dirs; k++) {
        const struct node *nd = &iso->nodes[iso->order[k]];
        const char *id = iso->order[k] ? nd->iso : "\0";
        size_t il = iso->order[k] ? strlen(id) : 1;
        uint16_t parent = (uint16_t)iso->nodes[nd->parent].dirno;
        l[o] = m[o] = (unsigned char)il;
        le32(l + o + 2, nd->lba);
        be32(m + o + 2, nd->lba);
        le16(l + o + 6, parent);
        be16(m + o + 6, parent);
        memcpy(l + o + 8, id, il);
        memcpy(m + o + 8, id, il);
        o += 8 + il + (il & 1);
    }
}

static void pad_copy(unsigned char *p, const char *s, size_t n)
{
    memset(p, ' ', n);
    memcpy(p, s, strlen(s) < n ? strlen(s) : n);
}

static void pvd_time(unsigned char *p, time_t when)
{
    struct tm tm;
    char buf[72];
    gmtime_r(&when, &tm);
    snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(p, buf, 16);
    p[16] = 0;
}

static void write_pvd(struct iso9660 *iso, unsigned char *img)
{
    unsigned char *p = img + 16 * SEC;
    p[0] = 1;
    memcpy(p + 1, "CD001", 5);
    p[6] = 1;
    pad_copy(p + 8, "LINUX", 32);
    pad_copy(p + 40, iso->volume_id, 32);
    both32(p + 80, iso->total);
    both16(p + 120, 1);
    both16(p + 124, 1);
    both16(p + 128, SEC);
    both32(p + 132, iso->pt_size);
    le32(p + 140, 18);
    be32(p + 148, 18 + iso->pt_sectors);
    write_rec(iso, p + 156, &iso->nodes[0], "\0", 1, 0, 1, false);
    pad_copy(p + 190, "", 128);
    pad_copy(p + 318, "PICOSTACK", 128);
    pad_copy(p + 446, "PICOSTACK", 128);
    pad_copy(p + 574, "PICOSTACK CONFIG DRIVE", 128);
    pad_copy(p + 702, "", 37 * 3);
    pvd_time(p + 813, iso->when);
    pvd_time(p + 830, iso->when);
    memcpy(p + 847, "0000000000000000", 16);
    memcpy(p + 864, "0000000000000000", 16);
    p[881] = 1;
    unsigned char *t = img + 17 * SEC; /* the set terminator */
    t[0] = 255;
    memcpy(t + 1, "CD001", 5);
    t[6] = 1;
}

static void write_er(struct iso9660 *iso, unsigned char *img)
{
    unsigned char *p = img + (size_t)iso->ce_lba * SEC;
    size_t li = sizeof er_id - 1, ld = sizeof er_des - 1, ls = sizeof er_src - 1;
    p[0] = 'E';
    p[1] = 'R';
    p[2] = (unsigned char)(8 + li + ld + ls);
    p[3] = 1;
    p[4] = (unsigned char)li;
    p[5] = (unsigned char)ld;
    p[6] = (unsigned char)ls;
    p[7] = 1;
    memcpy(p + 8, er_id, li);
    memcpy(p + 8 + li, er_des, ld);
    memcpy(p + 8 + li + ld, er_src, ls);
}

int iso9660_write(struct iso9660 *iso, int fd)
{
    layout(iso);
    size_t size = (size_t)iso->total * SEC;
    if (size > ISO9660_MAX_BYTES)
        return -EFBIG;
    unsigned char *img = calloc(1, size);
    if (!img)
        return -ENOMEM;
    write_pvd(iso, img);
    write_path_tables(iso, img);
    write_er(iso, img);
    for (int k = 0; k < iso->n; k++) {
        struct node *nd = &iso->nodes[iso->order[k]];
        if (nd->dir)
            write_dir(iso, img, iso->order[k]);
        else if (nd->len)
            memcpy(img + (size_t)nd->lba * SEC, nd->data, nd->len);
    }
    int rc = 0;
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, img + off, size - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)w;
    }
    free(img);
    return rc;
}
