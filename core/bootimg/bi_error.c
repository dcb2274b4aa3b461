/* bootimg: errors in words. */
#include "core/bootimg/bi_internal.h"

#include <errno.h>
#include <et/com_err.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bi_fail(struct bootimg_err *e, int rc, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int bi_errno(errcode_t code)
{
    if (code > 0 && code < 4096)
        return -(int)code; /* libext2fs passes errnos through */
    switch (code) {
    case EXT2_ET_SHORT_READ: return -EIO;
    case EXT2_ET_SYMLINK_LOOP: return -ELOOP;
    case EXT2_ET_FILE_NOT_FOUND: return -ENOENT;
    case EXT2_ET_NO_MEMORY: return -ENOMEM;
    default: return -EINVAL; /* a malformed filesystem */
    }
}

static void init_table(void)
{
    initialize_ext2_error_table();
}

const char *bi_strerror(errcode_t code)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (code > 0 && code < 4096)
        return strerror((int)code);
    pthread_once(&once, init_table);
    return error_message(code);
}
