/* blockstore: the per-thread error message (no LMDB here: the qcow2 reader
 * and its fuzz harness use it alone). */
#include "core/blockstore/bs_priv.h"

#include <stdio.h>

static __thread char errbuf[512];

const char *blockstore_error(void)
{
    return errbuf[0] ? errbuf : "no details";
}

int bs_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
    va_end(ap);
    return err;
}
