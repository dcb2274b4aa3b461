/* See test_util.h. */
#include "tests/support/test_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int t_failures;

void t_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int t_mkdtemp(char *out, size_t outlen, const char *prefix)
{
    const char *root = getenv("PICOSTACK_TEST_DIR");
    int n = snprintf(out, outlen, "%s/%s-XXXXXX", root && *root ? root : "/var/tmp", prefix);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    return mkdtemp(out) ? 0 : -errno;
}

int t_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    int rc = 0;
    DIR *dir = opendir(path);
    if (!dir)
        return -errno;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        int r = t_rm_rf(sub);
        if (r < 0 && rc == 0)
            rc = r;
    }
    closedir(dir);
    if (rmdir(path) < 0 && rc == 0)
        rc = -errno;
    return rc;
}
