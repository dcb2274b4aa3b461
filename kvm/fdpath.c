#include "kvm/fdpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vmm_open_path(const char *path, int flags)
{
    if (strncmp(path, "fd:", 3))
        return open(path, flags | O_CLOEXEC);
    char *end;
    errno = 0;
    long n = strtol(path + 3, &end, 10);
    int mode = n >= 0 && n <= INT32_MAX && !errno && end != path + 3 && !*end
                   ? fcntl((int)n, F_GETFL)
                   : -1;
    if (mode < 0 || ((flags & O_ACCMODE) == O_RDWR && (mode & O_ACCMODE) != O_RDWR) ||
        ((flags & O_ACCMODE) == O_RDONLY && (mode & O_ACCMODE) == O_WRONLY)) {
        errno = EBADF;
        return -1;
    }
    return fcntl((int)n, F_DUPFD_CLOEXEC, 0);
}
