/* vmmctl_console_tail: the last lines of RUN/<id>/console.log.1 followed by
 * RUN/<id>/console.log (the VMM's capped ring, SERVERS.md). Works whether
 * the VM runs or not: the files stay until vmmctl_forget(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

#define TAIL_MAX (16u << 20) /* never more than this is read */

/* Appends the file's bytes (up to TAIL_MAX in all) to buf. */
static int append_file(const char *path, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (st.st_size > 0) {
        size_t want = (size_t)st.st_size;
        off_t from = 0;
        if (want > TAIL_MAX) { /* the end is what a tail shows */
            from = (off_t)(want - TAIL_MAX);
            want = TAIL_MAX;
        }
        char *nb = realloc(*buf, *len + want + 1);
        if (!nb) {
            rc = -ENOMEM;
        } else {
            *buf = nb;
            ssize_t n = pread(fd, nb + *len, want, from);
            if (n < 0)
                rc = -errno;
            else
                *len += (size_t)n;
            nb[*len] = 0;
        }
    }
    close(fd);
    return rc;
}

int vmmctl_console_tail(struct vmmctl *v, const char *id, unsigned lines, char **out)
{
    *out = NULL;
    if (!id || !vmc_valid_id(id))
        return -EINVAL;
    char dir[4200], p1[4300], p0[4300];
    int rc = vmc_path(v, id, NULL, dir, sizeof(dir));
    if (rc)
        return rc;
    if (access(dir, F_OK) < 0)
        return -ENOENT;
    snprintf(p1, sizeof(p1), "%s/console.log.1", dir);
    snprintf(p0, sizeof(p0), "%s/console.log", dir);
    char *buf = calloc(1, 1);
    size_t len = 0;
    if (!buf)
        return -ENOMEM;
    if ((rc = append_file(p1, &buf, &len)) < 0 || (rc = append_file(p0, &buf, &len)) < 0) {
        free(buf);
        return rc;
    }
    if (lines && len) {
        /* the start of the last `lines` lines (a final newline ends the last) */
        size_t at = len;
        unsigned seen = 0;
        if (buf[at - 1] == '\n')
            at--;
        while (at > 0) {
            if (buf[at - 1] == '\n' && ++seen == lines)
                break;
            at--;
        }
        memmove(buf, buf + at, len - at + 1);
    }
    *out = buf;
    return 0;
}
