/* bootimg: ext2/3/4 through libext2fs, read through the source by an
 * io_manager of our own that stays inside one partition. */
#include "core/bootimg/bi_internal.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW (256u << 10) /* read-ahead: libext2fs reads block by block */

struct bi_io {
    const struct bootimg_source *src;
    uint64_t offset, size; /* the partition */
    uint8_t *cache;        /* WINDOW bytes at cache_off, when cache_len */
    uint64_t cache_off, cache_len;
};

/* ext2fs_open2() opens its channel by name: the partition to read is
 * handed over through this, set around the call. */
static __thread struct bi_io *opening;

static errcode_t io_open(const char *name, int flags, io_channel *out)
{
    (void)flags;
    if (!opening)
        return EXT2_ET_BAD_DEVICE_NAME;
    io_channel ch = calloc(1, sizeof *ch);
    if (!ch || !(ch->name = strdup(name))) {
        free(ch);
        return EXT2_ET_NO_MEMORY;
    }
    extern struct struct_io_manager bi_io_manager;
    ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
    ch->manager = &bi_io_manager;
    ch->block_size = 1024;
    ch->refcount = 1;
    ch->private_data = opening;
    *out = ch;
    return 0;
}

static errcode_t io_close(io_channel ch)
{
    if (--ch->refcount > 0)
        return 0;
    free(ch->name);
    free(ch);
    return 0;
}

static errcode_t io_set_blksize(io_channel ch, int blksize)
{
    if (blksize < 512 || blksize > 65536)
        return EXT2_ET_INVALID_ARGUMENT;
    ch->block_size = blksize;
    return 0;
}

/* Reads len bytes at off of the partition, through the read-ahead window. */
static errcode_t io_read_bytes(struct bi_io *io, void *buf, uint64_t off, uint64_t len)
{
    if (off > io->size || len > io->size - off)
        return EXT2_ET_SHORT_READ; /* past the partition: a truncated fs */
    while (len) {
        if (io->cache_len && off >= io->cache_off && off < io->cache_off + io->cache_len) {
            uint64_t n = io->cache_off + io->cache_len - off;
            n = n < len ? n : len;
            memcpy(buf, io->cache + (off - io->cache_off), n);
            buf = (char *)buf + n;
            off += n;
            len -= n;
            continue;
        }
        if (len >= WINDOW) { /* big reads go straight through */
            int rc = bi_read(io->src, buf, io->offset + off, len);
            return rc ? (errcode_t)-rc : 0;
        }
        uint64_t start = off - off % 4096, n = io->size - start;
        n = n < WINDOW ? n : WINDOW;
        io->cache_len = 0;
        int rc = bi_read(io->src, io->cache, io->offset + start, n);
        if (rc)
            return (errcode_t)-rc;
        io->cache_off = start;
        io->cache_len = n;
    }
    return 0;
}

static errcode_t io_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
    uint64_t len = count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count * ch->block_size;
    if (block > UINT64_MAX / (uint64_t)ch->block_size)
        return EXT2_ET_SHORT_READ;
    return io_read_bytes(ch->private_data, data, block * (uint64_t)ch->block_size, len);
}

static errcode_t io_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
    return io_read_blk64(ch, block, count, data);
}

static errcode_t io_write_blk64(io_channel ch, unsigned long long block, int count,
                                const void *data)
{
    (void)ch, (void)block, (void)count, (void)data;
    return EXT2_ET_RO_FILSYS;
}

static errcode_t io_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
    return io_write_blk64(ch, block, count, data);
}

static errcode_t io_flush(io_channel ch)
{
    (void)ch;
    return 0;
}

static errcode_t io_set_option(io_channel ch, const char *opt, const char *arg)
{
    (void)ch, (void)opt, (void)arg;
    return EXT2_ET_INVALID_ARGUMENT;
}

struct struct_io_manager bi_io_manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "picostack bootimg",
    .open = io_open,
    .close = io_close,
    .set_blksize = io_set_blksize,
    .read_blk = io_read_blk,
    .write_blk = io_write_blk,
    .flush = io_flush,
    .set_option = io_set_option,
    .read_blk64 = io_read_blk64,
    .write_blk64 = io_write_blk64,
};

bool bi_is_ext(const struct bootimg_source *s, const struct bootimg_part *p)
{
    uint8_t m[2];
    return p->size >= 2048 && !bi_read(s, m, p->offset + 1024 + 56, 2) && m[0] == 0x53 &&
           m[1] == 0xef;
}

/* A filesystem never extends past its partition: a superblock claiming
 * more is a lie (or a truncated image), refused before libext2fs sizes
 * its group tables from it. */
static int check_size(const struct bootimg_source *s, const struct bootimg_part *p,
                      struct bootimg_err *e)
{
    uint8_t sb[1024];
    int rc = bi_read(s, sb, p->offset + 1024, sizeof sb);
    if (rc)
        return bi_fail(e, rc, "partition %u: superblock unreadable", p->number);
    uint32_t lo, hi, log, incompat;
    memcpy(&lo, sb + 4, 4);
    memcpy(&log, sb + 24, 4);
    memcpy(&incompat, sb + 0x60, 4);
    memcpy(&hi, sb + 0x150, 4);
    lo = le32toh(lo), log = le32toh(log), incompat = le32toh(incompat), hi = le32toh(hi);
    if (log > 6)
        return bi_fail(e, -EINVAL, "partition %u: block size 2^%u KiB", p->number, log);
    uint64_t blocks = lo | (incompat & EXT4_FEATURE_INCOMPAT_64BIT ? (uint64_t)hi << 32 : 0);
    if (blocks > p->size >> (10 + log))
        return bi_fail(
            e, -EINVAL, "partition %u: a filesystem of %llu blocks of %u bytes in %llu bytes",
            p->number, (unsigned long long)blocks, 1024u << log, (unsigned long long)p->size);
    return 0;
}

int bi_fs_open(const struct bootimg_source *s, const struct bootimg_part *p, struct bi_fs *f,
               struct bootimg_err *e)
{
    memset(f, 0, sizeof *f);
    int rc = check_size(s, p, e);
    if (rc)
        return rc;
    struct bi_io *io = calloc(1, sizeof *io);
    if (!io || !(io->cache = malloc(WINDOW))) {
        free(io);
        return bi_fail(e, -ENOMEM, "out of memory");
    }
    io->src = s;
    io->offset = p->offset;
    io->size = p->size;
    opening = io;
    errcode_t err = ext2fs_open2("bootimg", NULL, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0,
                                 &bi_io_manager, &f->fs);
    opening = NULL;
    if (err) {
        free(io->cache);
        free(io);
        f->fs = NULL;
        return bi_fail(e, bi_errno(err), "partition %u: ext filesystem: %s", p->number,
                       bi_strerror(err));
    }
    f->io = io;
    return 0;
}

void bi_fs_close(struct bi_fs *f)
{
    if (f->fs)
        ext2fs_close_free(&f->fs);
    if (f->io)
        free(f->io->cache);
    free(f->io);
    f->io = NULL;
}

void bi_fs_uuid(struct bi_fs *f, char out[37])
{
    const uint8_t *u = f->fs->super->s_uuid;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

uint64_t bi_fs_bytes(struct bi_fs *f)
{
    return ext2fs_blocks_count(f->fs->super) * (uint64_t)f->fs->blocksize;
}

static int lookup(struct bi_fs *f, const char *path, ext2_ino_t *ino, struct ext2_inode *in,
                  struct bootimg_err *e)
{
    errcode_t err = ext2fs_namei_follow(f->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
    if (!err)
        err = ext2fs_read_inode(f->fs, *ino, in);
    if (err)
        return bi_fail(e, bi_errno(err), "%s: %s", path, bi_strerror(err));
    return 0;
}

bool bi_fs_is_dir(struct bi_fs *f, const char *path)
{
    ext2_ino_t ino;
    struct ext2_inode in;
    return !lookup(f, path, &ino, &in, NULL) && LINUX_S_ISDIR(in.i_mode);
}

int bi_fs_file(struct bi_fs *f, const char *path, uint64_t max, ext2_ino_t *ino, uint64_t *size,
               struct bootimg_err *e)
{
    struct ext2_inode in;
    int rc = lookup(f, path, ino, &in, e);
    if (rc)
        return rc;
    if (!LINUX_S_ISREG(in.i_mode))
        return bi_fail(e, -EINVAL, "%s: not a regular file", path);
    *size = EXT2_I_SIZE(&in);
    if (!*size)
        return bi_fail(e, -EINVAL, "%s: empty", path);
    if (*size > max)
        return bi_fail(e, -EFBIG, "%s: %llu bytes, more than %llu", path, (unsigned long long)*size,
                       (unsigned long long)max);
    return 0;
}

/* Reads size bytes of ino, chunk by chunk, into fn. */
static int read_file(struct bi_fs *f, ext2_ino_t ino, uint64_t size,
                     int (*fn)(void *ctx, const void *buf, size_t len), void *ctx,
                     struct bootimg_err *e)
{
    ext2_file_t file;
    errcode_t err = ext2fs_file_open(f->fs, ino, 0, &file);
    if (err)
        return bi_fail(e, bi_errno(err), "inode %u: %s", ino, bi_strerror(err));
    size_t cap = 1u << 20;
    char *buf = malloc(cap);
    int rc = buf ? 0 : bi_fail(e, -ENOMEM, "out of memory");
    while (!rc && size) {
        unsigned int want = (unsigned)(size < cap ? size : cap), got = 0;
        err = ext2fs_file_read(file, buf, want, &got);
        if (err)
            rc = bi_fail(e, bi_errno(err), "inode %u: %s", ino, bi_strerror(err));
        else if (!got)
            rc = bi_fail(e, -EIO, "inode %u: ends early", ino);
        else if ((rc = fn(ctx, buf, got)))
            bi_fail(e, rc, "writing: %s", strerror(-rc));
        else
            size -= got;
    }
    free(buf);
    ext2fs_file_close(file);
    return rc;
}

struct mem_sink {
    char *buf;
    size_t len;
};

static int to_mem(void *ctx, const void *buf, size_t len)
{
    struct mem_sink *m = ctx;
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    return 0;
}

int bi_fs_slurp(struct bi_fs *f, const char *path, uint64_t max, char **out, size_t *len,
                struct bootimg_err *e)
{
    ext2_ino_t ino;
    uint64_t size;
    int rc = bi_fs_file(f, path, max, &ino, &size, e);
    if (rc)
        return rc;
    struct mem_sink m = { malloc(size + 1), 0 };
    if (!m.buf)
        return bi_fail(e, -ENOMEM, "out of memory");
    if ((rc = read_file(f, ino, size, to_mem, &m, e))) {
        free(m.buf);
        return rc;
    }
    m.buf[m.len] = 0;
    *out = m.buf;
    *len = m.len;
    return 0;
}

static int to_fd(void *ctx, const void *buf, size_t len)
{
    int fd = *(int *)ctx;
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

int bi_fs_copy(struct bi_fs *f, ext2_ino_t ino, uint64_t size, int fd, struct bootimg_err *e)
{
    return read_file(f, ino, size, to_fd, &fd, e);
}

struct list_ctx {
    int (*fn)(void *ctx, const char *name);
    void *ctx;
    unsigned seen;
    int rc;
};

static int list_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize,
                    char *buf, void *priv)
{
    (void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
    struct list_ctx *l = priv;
    if (++l->seen > BI_MAX_DIR_ENTRIES) {
        l->rc = -E2BIG;
        return DIRENT_ABORT;
    }
    char name[256];
    unsigned n = ext2fs_dirent_name_len(d);
    memcpy(name, d->name, n);
    name[n] = 0;
    if (!d->inode || !n)
        return 0;
    return l->fn(l->ctx, name) ? DIRENT_ABORT : 0;
}

int bi_fs_list(struct bi_fs *f, const char *path, int (*fn)(void *ctx, const char *name), void *ctx,
               struct bootimg_err *e)
{
    ext2_ino_t ino;
    struct ext2_inode in;
    int rc = lookup(f, path, &ino, &in, e);
    if (rc)
        return rc;
    if (!LINUX_S_ISDIR(in.i_mode))
        return bi_fail(e, -ENOTDIR, "%s: not a directory", path);
    if (EXT2_I_SIZE(&in) > BI_MAX_DIR_BYTES)
        return bi_fail(e, -EFBIG, "%s: a directory of %llu bytes", path,
                       (unsigned long long)EXT2_I_SIZE(&in));
    struct list_ctx l = { fn, ctx, 0, 0 };
    errcode_t err = ext2fs_dir_iterate2(f->fs, ino, 0, NULL, list_one, &l);
    if (l.rc)
        return bi_fail(e, l.rc, "%s: more than %d entries", path, BI_MAX_DIR_ENTRIES);
    if (err)
        return bi_fail(e, bi_errno(err), "%s: %s", path, bi_strerror(err));
    return 0;
}
