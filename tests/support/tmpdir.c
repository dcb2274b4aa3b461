/* See tmpdir.h. */
#include "tests/support/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int t_mkdtemp(char *out, size_t outlen, const char *prefix)
{
    const char *root = getenv("PICOSTACK_TEST_DIR");
    if (!root || !*root)
        root = getenv("TMPDIR");
    int n = snprintf(out, outlen, "%s/%s-XXXXXX", root && *root ? root : "/var/tmp", prefix);
    if (n < 0 || (size_t)n >= outlen)
        return -ENAMETOOLONG;
    if (mkdtemp(out))
        return 0;
    int err = errno;
    fprintf(stderr, "mkdtemp %s: %s\n", out, strerror(err));
    return -err;
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

static char tmpdir_path[4096];
static pid_t tmpdir_owner;

static void tmpdir_remove(void)
{
    if (tmpdir_path[0] && getpid() == tmpdir_owner && t_rm_rf(tmpdir_path) < 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir_path);
}

const char *t_tmpdir(const char *prefix)
{
    int rc = t_mkdtemp(tmpdir_path, sizeof tmpdir_path, prefix);
    if (rc < 0) {
        fprintf(stderr, "cannot make a temporary directory: %s\n", strerror(-rc));
        exit(2);
    }
    tmpdir_owner = getpid();
    atexit(tmpdir_remove);
    return tmpdir_path;
}
