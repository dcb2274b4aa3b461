/* Temporary directories for the C tests. */
#ifndef PICOSTACK_TEST_TMPDIR_H
#define PICOSTACK_TEST_TMPDIR_H

#include <stddef.h>

/* Makes a new directory <root>/<prefix>-XXXXXX into out, root being
 * $PICOSTACK_TEST_DIR, else $TMPDIR, else /var/tmp (some tests need room);
 * 0 or -errno (printed). */
int t_mkdtemp(char *out, size_t outlen, const char *prefix);

/* rm -rf path (no error if it does not exist); 0 or -errno of the first
 * failure. */
int t_rm_rf(const char *path);

/* A new directory (as t_mkdtemp) removed with all it holds when the
 * process that made it exits (its forked children leave it alone); the
 * test exits with status 2 when it cannot be made. One per process. */
const char *t_tmpdir(const char *prefix);

#endif
