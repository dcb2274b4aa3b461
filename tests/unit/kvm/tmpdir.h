/* A scratch directory for a test, removed with everything in it at exit
 * (tests/support/tmpdir.h). */
#ifndef PICOSTACK_TESTS_TMPDIR_H
#define PICOSTACK_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/tmpdir.h"

static const char *tmpdir_path;

static inline const char *tmpdir_make(void)
{
    tmpdir_path = t_tmpdir("picostack-kvm-test");
    return tmpdir_path;
}

/* A path inside the directory (up to 64 of them). */
static inline const char *tmpdir_file(const char *name)
{
    static char files[64][320];
    static int nfiles;
    if (nfiles == 64)
        abort();
    char *p = files[nfiles++];
    snprintf(p, sizeof files[0], "%s/%s", tmpdir_path, name);
    return p;
}

/* Creates an empty regular file. */
static inline int tiny_touch(const char *path)
{
    FILE *f = fopen(path, "w");
    return f && fclose(f) == 0 ? 0 : -1;
}

#endif
