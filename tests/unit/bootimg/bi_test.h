/* Disk images for the bootimg tests, built with Debian's own tools
 * (mkfs.ext4 -d, sgdisk, sfdisk, debugfs), never by mounting. */
#ifndef PICOSTACK_BI_TEST_H
#define PICOSTACK_BI_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Runs a shell command; the test ends unless it succeeds. */
void bt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes a file of len pattern bytes (seeded) at root/rel, making parents. */
void bt_file(const char *root, const char *rel, size_t len, unsigned seed);
void bt_text(const char *root, const char *rel, const char *text);
/* An ext4 image file of mib MiB from the tree at root, with that uuid. */
void bt_mkfs(const char *img, const char *root, unsigned mib, const char *uuid);
/* Copies file src into dst at sector (512 bytes). */
void bt_place(const char *dst, const char *src, uint64_t sector);
/* Whether two files hold the same bytes. */
int bt_same(const char *a, const char *b);

#endif
