/* bootimg: the kernel arguments the image's bootloader would pass, from
 * grub.cfg or a Boot Loader Specification entry. */
#include "core/bootimg/bi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const grub_cfgs[] = { "/boot/grub/grub.cfg", "/grub/grub.cfg",
                                         "/boot/grub2/grub.cfg", "/grub2/grub.cfg" };

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void append(char *buf, size_t len, const char *tok, size_t n)
{
    size_t have = strlen(buf);
    if (have + (have ? 1 : 0) + n + 1 > len)
        return; /* drops what does not fit rather than cut an argument */
    snprintf(buf + have, len - have, "%s%.*s", have ? " " : "", (int)n, tok);
}

/* Splits the arguments: root= into b->root, the rest into b->args; grub
 * variables and BOOT_IMAGE= are dropped. */
static void take_args(const char *s, struct bootimg_boot *b)
{
    b->args[0] = 0;
    while (*s) {
        s += strspn(s, " \t");
        size_t n = strcspn(s, " \t");
        if (!n)
            break;
        if (memchr(s, '$', n) || memchr(s, '"', n) || memchr(s, '\'', n) ||
            !strncmp(s, "BOOT_IMAGE=", 11))
            ;
        else if (n > 5 && !strncmp(s, "root=", 5) && n - 5 < sizeof b->root)
            snprintf(b->root, sizeof b->root, "%.*s", (int)(n - 5), s + 5);
        else
            append(b->args, sizeof b->args, s, n);
        s += n;
    }
}

/* The first line "KEY path args" (KEY one of keys) whose path's basename
 * is kbase: its args. */
static const char *find_line(char *text, const char *const *keys, const char *kbase)
{
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        line += strspn(line, " \t");
        size_t k = strcspn(line, " \t");
        for (const char *const *key = keys; *key; key++) {
            if (k != strlen(*key) || strncmp(line, *key, k))
                continue;
            char *path = line + k + strspn(line + k, " \t");
            size_t pn = strcspn(path, " \t\r");
            char save = path[pn];
            path[pn] = 0;
            bool match = !strcmp(base(path), kbase);
            path[pn] = save;
            if (match)
                return path + pn;
        }
        line = next;
    }
    return NULL;
}

static int from_grub(struct bi_fs *f, const char *kbase, struct bootimg_boot *b)
{
    static const char *const keys[] = { "linux", "linuxefi", "linux16", NULL };
    for (size_t i = 0; i < sizeof grub_cfgs / sizeof *grub_cfgs; i++) {
        char *text;
        size_t len;
        if (bi_fs_slurp(f, grub_cfgs[i], BI_MAX_CONF_BYTES, &text, &len, NULL))
            continue;
        const char *args = find_line(text, keys, kbase);
        if (args) {
            char *cut = strndup(args, strcspn(args, "\r\n"));
            if (cut)
                take_args(cut, b);
            free(cut);
            snprintf(b->root_from, sizeof b->root_from, "grub");
        }
        free(text);
        if (args)
            return 1;
    }
    return 0;
}

/* The rest of the first line "KEY value" (cut at its end, in place). */
static char *key_value(char *text, const char *key)
{
    size_t k = strlen(key);
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        line += strspn(line, " \t");
        if (!strncmp(line, key, k) && (line[k] == ' ' || line[k] == '\t')) {
            line[strcspn(line, "\r\n")] = 0;
            return line + k;
        }
        line = next ? next + 1 : NULL;
    }
    return NULL;
}

struct bls {
    struct bi_fs *f;
    const char *dir, *kbase;
    struct bootimg_boot *b;
    unsigned seen;
    int found;
};

static int bls_entry(void *ctx, const char *name)
{
    struct bls *l = ctx;
    size_t n = strlen(name);
    if (n < 6 || strcmp(name + n - 5, ".conf"))
        return 0;
    if (++l->seen > BI_MAX_BLS)
        return 1;
    char path[512], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", l->dir, name);
    if (bi_fs_slurp(l->f, path, 65536, &text, &len, NULL))
        return 0;
    static const char *const lkeys[] = { "linux", NULL };
    char *copy = strdup(text);
    if (copy && find_line(copy, lkeys, l->kbase)) {
        l->found = 1;
        snprintf(l->b->root_from, sizeof l->b->root_from, "bls");
        char *opts = key_value(text, "options");
        if (opts)
            take_args(opts, l->b);
    }
    free(copy);
    free(text);
    return l->found;
}

static int from_bls(struct bi_fs *f, const char *kbase, struct bootimg_boot *b)
{
    static const char *const dirs[] = { "/boot/loader/entries", "/loader/entries" };
    for (size_t i = 0; i < 2; i++) {
        struct bls l = { f, dirs[i], kbase, b, 0, 0 };
        if (!bi_fs_is_dir(f, dirs[i]))
            continue;
        bi_fs_list(f, dirs[i], bls_entry, &l, NULL);
        if (l.found)
            return 1;
    }
    return 0;
}

int bi_conf_find(struct bi_fs *f, const char *kbase, struct bootimg_boot *b)
{
    return from_grub(f, kbase, b) || from_bls(f, kbase, b);
}
