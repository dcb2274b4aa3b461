/* bootimg: the newest kernel, its initrd and root= of a disk image, and
 * copying them out. */
#include "core/bootimg/bi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CANDIDATES 64

struct fs_note {
    unsigned part;
    char uuid[37];
    uint64_t bytes;
    bool has_etc;
};

struct kernels {
    char names[MAX_CANDIDATES][128];
    unsigned n;
};

static int cmp_newest(const void *a, const void *b)
{
    return strverscmp((const char *)b, (const char *)a);
}

static int note_kernel(void *ctx, const char *name)
{
    struct kernels *k = ctx;
    if (strncmp(name, "vmlinuz-", 8) || !name[8] || k->n >= MAX_CANDIDATES ||
        strlen(name) >= sizeof k->names[0])
        return 0; /* not a kernel, or a name no distribution uses */
    snprintf(k->names[k->n++], sizeof k->names[0], "%s", name);
    return 0;
}

/* The initrd of version v in dir, when there is one (a hostile one fails). */
static int find_initrd(struct bi_fs *f, const char *dir, const char *v, struct bootimg_boot *b,
                       struct bootimg_err *e)
{
    static const char *const forms[] = { "initrd.img-%s", "initramfs-%s.img", "initrd-%s.img",
                                         "initrd-%s" };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char name[200], path[sizeof b->initrd];
        snprintf(name, sizeof name, forms[i], v);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        ext2_ino_t ino;
        struct bootimg_err why;
        int rc = bi_fs_file(f, path, BOOTIMG_MAX_FILE, &ino, &b->initrd_size, &why);
        if (rc == -ENOENT)
            continue;
        if (rc)
            return bi_fail(e, rc, "initrd %s", why.msg);
        snprintf(b->initrd, sizeof b->initrd, "%s", path);
        return 0;
    }
    b->initrd[0] = 0;
    b->initrd_size = 0;
    return 0;
}

/* The newest usable kernel of this filesystem: 1 found, 0 none (e says
 * why the last candidate was refused, rc < 0). */
static int find_kernel(struct bi_fs *f, unsigned part, struct bootimg_boot *b,
                       struct bootimg_err *e)
{
    const char *dir = bi_fs_is_dir(f, "/boot") ? "/boot" : "";
    struct kernels *k = calloc(1, sizeof *k);
    if (!k)
        return bi_fail(e, -ENOMEM, "out of memory");
    int rc = bi_fs_list(f, *dir ? dir : "/", note_kernel, k, e);
    if (!rc && !k->n && *dir) { /* a /boot partition's own root holds them */
        dir = "";
        rc = bi_fs_list(f, "/", note_kernel, k, e);
    }
    qsort(k->names, k->n, sizeof k->names[0], cmp_newest);
    int found = 0;
    for (unsigned i = 0; !rc && !found && i < k->n; i++) {
        char path[512];
        ext2_ino_t ino;
        snprintf(path, sizeof path, "%s/%s", dir, k->names[i]); /* < 140 bytes */
        int r = bi_fs_file(f, path, BOOTIMG_MAX_FILE, &ino, &b->kernel_size, e);
        if (!r)
            r = find_initrd(f, dir, k->names[i] + 8, b, e);
        if (r) {
            rc = i + 1 < k->n ? 0 : r; /* try the next older one */
            continue;
        }
        b->part = part;
        memcpy(b->kernel, path, strlen(path) + 1);
        snprintf(b->version, sizeof b->version, "%s", k->names[i] + 8);
        b->root[0] = b->args[0] = b->root_from[0] = 0;
        bi_conf_find(f, k->names[i], b);
        found = 1;
    }
    free(k);
    return rc ? rc : found;
}

static void pick_root(const struct fs_note *n, unsigned count, struct bootimg_boot *b)
{
    const struct fs_note *best = NULL;
    for (unsigned i = 0; i < count; i++)
        if (n[i].has_etc) {
            best = &n[i];
            break;
        }
    const char *from = "etc";
    for (unsigned i = 0; !best && i < count; i++)
        if (!best || n[i].bytes > best->bytes)
            best = &n[i], from = "largest";
    for (unsigned i = 0; from[0] == 'l' && i < count; i++)
        if (n[i].bytes > best->bytes)
            best = &n[i];
    if (best) {
        snprintf(b->root, sizeof b->root, "UUID=%s", best->uuid);
        snprintf(b->root_from, sizeof b->root_from, "%s", from);
    }
}

int bootimg_find(const struct bootimg_source *s, struct bootimg_boot *b, struct bootimg_err *e)
{
    memset(b, 0, sizeof *b);
    struct bootimg_table *t = malloc(sizeof *t);
    if (!t)
        return bi_fail(e, -ENOMEM, "out of memory");
    int rc = bootimg_read_table(s, t, e);
    struct fs_note notes[BI_MAX_FS];
    unsigned nfs = 0, tried = 0;
    int found = 0, last = -ENOENT;
    struct bootimg_err why = { "no ext2/3/4 filesystem on the disk" };
    for (unsigned i = 0; !rc && i < t->nparts && tried < BI_MAX_FS; i++) {
        if (!bi_is_ext(s, &t->parts[i]))
            continue;
        tried++;
        struct bi_fs f;
        int r = bi_fs_open(s, &t->parts[i], &f, &why);
        if (r) {
            last = r;
            continue;
        }
        struct fs_note *n = &notes[nfs++];
        n->part = i;
        bi_fs_uuid(&f, n->uuid);
        n->bytes = bi_fs_bytes(&f);
        n->has_etc = bi_fs_is_dir(&f, "/etc");
        if (!found) {
            struct bootimg_err kwhy;
            r = find_kernel(&f, i, b, &kwhy);
            if (r > 0)
                found = 1;
            else if (r < 0)
                last = r, why = kwhy;
            else if (last == -ENOENT)
                snprintf(why.msg, sizeof why.msg,
                         "no vmlinuz-* in /boot or at the root of %u "
                         "ext filesystem(s)",
                         nfs);
        }
        bi_fs_close(&f);
    }
    free(t);
    if (rc)
        return rc;
    if (!found)
        return bi_fail(e, last, "no usable kernel (vmlinuz-* in /boot): %s", why.msg);
    if (!b->root[0])
        pick_root(notes, nfs, b);
    return 0;
}

/* Copies path of f out to a new file out (via out.tmp). */
static int copy_out(struct bi_fs *f, const char *path, const char *out, char *tmp, size_t tlen,
                    struct bootimg_err *e)
{
    ext2_ino_t ino;
    uint64_t size;
    int rc = bi_fs_file(f, path, BOOTIMG_MAX_FILE, &ino, &size, e);
    if (rc)
        return rc;
    if ((size_t)snprintf(tmp, tlen, "%s.tmp", out) >= tlen)
        return bi_fail(e, -ENAMETOOLONG, "%s: path too long", out);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return bi_fail(e, -errno, "%s: %s", tmp, strerror(errno));
    rc = bi_fs_copy(f, ino, size, fd, e);
    if (!rc && fsync(fd) < 0)
        rc = bi_fail(e, -errno, "%s: %s", tmp, strerror(errno));
    if (close(fd) < 0 && !rc)
        rc = bi_fail(e, -errno, "%s: %s", tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

int bootimg_extract(const struct bootimg_source *s, const struct bootimg_boot *b,
                    const char *kernel_out, const char *initrd_out, struct bootimg_err *e)
{
    if (b->initrd[0] && !initrd_out)
        return bi_fail(e, -EINVAL, "the image has an initrd: where to?");
    struct bootimg_table *t = malloc(sizeof *t);
    if (!t)
        return bi_fail(e, -ENOMEM, "out of memory");
    int rc = bootimg_read_table(s, t, e);
    if (!rc && b->part >= t->nparts)
        rc = bi_fail(e, -EINVAL, "partition index %u out of the table", b->part);
    struct bi_fs f = { 0 };
    if (!rc)
        rc = bi_fs_open(s, &t->parts[b->part], &f, e);
    free(t);
    if (rc)
        return rc;
    char ktmp[4200], itmp[4200];
    rc = copy_out(&f, b->kernel, kernel_out, ktmp, sizeof ktmp, e);
    if (!rc && b->initrd[0] && (rc = copy_out(&f, b->initrd, initrd_out, itmp, sizeof itmp, e)))
        unlink(ktmp);
    bi_fs_close(&f);
    if (rc)
        return rc;
    if (rename(ktmp, kernel_out) < 0 || (b->initrd[0] && rename(itmp, initrd_out) < 0)) {
        rc = bi_fail(e, -errno, "renaming into place: %s", strerror(errno));
        unlink(ktmp);
        unlink(itmp);
        unlink(kernel_out);
    }
    return rc;
}
