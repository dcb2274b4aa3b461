/* bootimg's private parts: errors, the libext2fs binding (bi_ext4.c). */
#ifndef PICOSTACK_BI_INTERNAL_H
#define PICOSTACK_BI_INTERNAL_H

#include "core/bootimg/bootimg.h"

#include <ext2fs/ext2fs.h>

#define BI_MAX_FS          16
#define BI_MAX_DIR_BYTES   (16u << 20)
#define BI_MAX_DIR_ENTRIES 65536
#define BI_MAX_CONF_BYTES  (4u << 20)
#define BI_MAX_BLS         256

/* Sets e->msg (when e) and returns rc (a negative errno). */
int bi_fail(struct bootimg_err *e, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A negative errno for a libext2fs error code, and its words. */
int bi_errno(errcode_t code);
const char *bi_strerror(errcode_t code);

/* Checked read of the source (inside its size). */
int bi_read(const struct bootimg_source *s, void *buf, uint64_t off, uint64_t len);

/* An ext filesystem of one partition, opened read-only. */
struct bi_fs {
    ext2_filsys fs;
    struct bi_io *io;
};
/* Whether the partition starts like an ext2/3/4 filesystem (magic). */
bool bi_is_ext(const struct bootimg_source *s, const struct bootimg_part *p);
int bi_fs_open(const struct bootimg_source *s, const struct bootimg_part *p, struct bi_fs *f,
               struct bootimg_err *e);
void bi_fs_close(struct bi_fs *f);

/* Resolves path (following up to 8 symlinks) to a regular file; its size
 * must be 1..max. */
int bi_fs_file(struct bi_fs *f, const char *path, uint64_t max, ext2_ino_t *ino, uint64_t *size,
               struct bootimg_err *e);
/* Whether path is a directory. */
bool bi_fs_is_dir(struct bi_fs *f, const char *path);
/* Reads a whole regular file of at most max bytes into a malloc'd buffer
 * (NUL-terminated); -ENOENT when missing. */
int bi_fs_slurp(struct bi_fs *f, const char *path, uint64_t max, char **out, size_t *len,
                struct bootimg_err *e);
/* Calls fn(ctx, name) for each entry of directory path (bounded). */
int bi_fs_list(struct bi_fs *f, const char *path, int (*fn)(void *ctx, const char *name), void *ctx,
               struct bootimg_err *e);
/* Copies file ino (size bytes) to fd. */
int bi_fs_copy(struct bi_fs *f, ext2_ino_t ino, uint64_t size, int fd, struct bootimg_err *e);
void bi_fs_uuid(struct bi_fs *f, char out[37]);
uint64_t bi_fs_bytes(struct bi_fs *f);

/* The root= and arguments from grub.cfg or BLS for kernel basename `kbase`
 * (bi_conf.c): 1 found (b->args, maybe b->root), 0 none. */
int bi_conf_find(struct bi_fs *f, const char *kbase, struct bootimg_boot *b);

#endif
