/* The libFuzzer target of core/bootimg: any bytes as a disk; the partition
 * table, the ext4 filesystem and the boot configuration are read, and a
 * kernel found is copied out. bootimg_target_run() is shared with the seed
 * regression (seed_driver.c, gcc, default suite). */
#include "core/bootimg/bootimg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *scratch(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/bootimg-fuzz-XXXXXX", "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

/* 0: a kernel was found and copied out; else the negative errno. */
int bootimg_target_run(const uint8_t *data, size_t size)
{
    struct bootimg_source s;
    struct bootimg_err e = { "" };
    struct bootimg_boot b;
    bootimg_source_mem(&s, data, size);
    int rc = bootimg_find(&s, &b, &e);
    if (rc == 0) {
        char k[128], i[128];
        snprintf(k, sizeof k, "%s/kernel", scratch());
        snprintf(i, sizeof i, "%s/initrd", scratch());
        rc = bootimg_extract(&s, &b, k, i, &e);
        unlink(k);
        unlink(i);
    }
    if (rc && !e.msg[0])
        abort(); /* an error always says why */
    return rc;
}

#ifdef PICOSTACK_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bootimg_target_run(data, size);
    return 0;
}
#endif
