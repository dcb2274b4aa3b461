/* bootimg: where the bytes come from: a buffer, a file (bi_source_store.c:
 * a block-store object). */
#include "core/bootimg/bi_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int bi_read(const struct bootimg_source *s, void *buf, uint64_t off, uint64_t len)
{
    if (off > s->size || len > s->size - off)
        return -EIO; /* past the end: a truncated image */
    return len ? s->read(s->ctx, buf, off, len) : 0;
}

struct mem_src {
    const void *buf;
};

static int mem_read(void *ctx, void *buf, uint64_t off, uint64_t len)
{
    memcpy(buf, (const char *)ctx + off, len);
    return 0;
}

void bootimg_source_mem(struct bootimg_source *s, const void *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->size = len;
    s->read = mem_read;
    s->ctx = (void *)buf;
}

static int fd_read(void *ctx, void *buf, uint64_t off, uint64_t len)
{
    int fd = (int)(intptr_t)ctx;
    while (len) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the file shrank */
        buf = (char *)buf + n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

int bootimg_source_fd(struct bootimg_source *s, int fd, struct bootimg_err *e)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    if (fstat(fd, &st) < 0)
        return bi_fail(e, -errno, "stat: %s", strerror(errno));
    if (S_ISBLK(st.st_mode) || !S_ISREG(st.st_mode))
        return bi_fail(e, -EINVAL, "not a regular file");
    s->size = (uint64_t)st.st_size;
    s->read = fd_read;
    s->ctx = (void *)(intptr_t)fd;
    return 0;
}
