/* Disk images for the bootimg tests (bi_test.h). */
#include "tests/unit/bootimg/bi_test.h"
#include "tests/support/check.h"
#include "tests/support/files.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bt_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    REQUIRE(rc == 0);
}

static void parents(const char *path)
{
    char d[1024];
    snprintf(d, sizeof d, "%s", path);
    char *s = strrchr(d, '/');
    if (s) {
        *s = 0;
        bt_sh("mkdir -p '%s'", d);
    }
}

void bt_file(const char *root, const char *rel, size_t len, unsigned seed)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    parents(p);
    unsigned char *b = malloc(len ? len : 1);
    REQUIRE(b != NULL);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    REQUIRE(t_write_file(p, b, len, 0644) == 0);
    free(b);
}

void bt_text(const char *root, const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    parents(p);
    REQUIRE(t_write_file(p, text, strlen(text), 0644) == 0);
}

void bt_mkfs(const char *img, const char *root, unsigned mib, const char *uuid)
{
    bt_sh("rm -f '%s' && truncate -s %uM '%s' && mkfs.ext4 -q -F -U %s -d '%s' '%s' >/dev/null",
          img, mib, img, uuid, root, img);
}

void bt_place(const char *dst, const char *src, uint64_t sector)
{
    bt_sh("dd if='%s' of='%s' bs=512 seek=%llu conv=notrunc,sparse status=none", src, dst,
          (unsigned long long)sector);
}

int bt_same(const char *a, const char *b)
{
    char *x, *y;
    size_t xl, yl;
    if (t_read_file(a, &x, &xl) || t_read_file(b, &y, &yl))
        return 0;
    int same = xl == yl && !memcmp(x, y, xl);
    free(x);
    free(y);
    return same;
}
