/* fork + exec of a VMM (or its jailer) that outlives picostackd.
 *
 * The child gets exactly the descriptors it is handed (their numbers kept,
 * close-on-exec cleared) plus /dev/null on stdin and its log on stdout and
 * stderr; everything else the daemon has open is closed by the exec. It
 * starts a session of its own (setsid: no signal meant for the daemon's
 * group reaches it), with no blocked or ignored signals. Between fork and
 * exec only async-signal-safe calls run (picostackd has threads). A failed
 * exec is reported back through a close-on-exec pipe, so the caller knows
 * that the process runs when this returns. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/vmmctl/vmc_spawn.h"

extern char **environ;

static __attribute__((noreturn)) void child(char *const argv[], const int *keep, int nkeep,
                                            int null_fd, int log_fd, int err_fd)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL); /* fails harmlessly for SIGKILL/SIGSTOP */
    int e = 0;
    if (setsid() < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
        syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
        e = errno;
    for (int i = 0; !e && i < nkeep; i++)
        if (fcntl(keep[i], F_SETFD, 0) < 0)
            e = errno;
    if (!e) {
        execve(argv[0], argv, environ);
        e = errno;
    }
    ssize_t w = write(err_fd, &e, sizeof(e));
    (void)w;
    _exit(127);
}

int vmc_spawn(char *const argv[], const int *keep, int nkeep, const char *log_path, pid_t *pid,
              int *pidfd, char *why, size_t whylen)
{
    for (int i = 0; i < nkeep; i++)
        if (keep[i] < 3) /* would be replaced by stdin/stdout/stderr */
            return snprintf(why, whylen, "descriptor %d cannot be handed on", keep[i]), -EBADF;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int p[2] = { -1, -1 };
    int rc = 0;
    if (null_fd < 0 || log_fd < 0 || pipe2(p, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(why, whylen, "%s: %s", log_fd < 0 && null_fd >= 0 ? log_path : "/dev/null or pipe",
                 strerror(errno));
        goto out;
    }
    pid_t c = fork();
    if (c < 0) {
        rc = -errno;
        snprintf(why, whylen, "fork: %s", strerror(errno));
        goto out;
    }
    if (c == 0)
        child(argv, keep, nkeep, null_fd, log_fd, p[1]);
    close(p[1]);
    p[1] = -1;
    int e = 0;
    ssize_t n;
    do
        n = read(p[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n == sizeof(e)) { /* exec failed: reap the child, say why */
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
            ;
        rc = -e;
        snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(e));
        goto out;
    }
    int fd = (int)syscall(SYS_pidfd_open, c, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, whylen, "pidfd_open: %s", strerror(errno));
        kill(c, SIGKILL);
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
            ;
        goto out;
    }
    *pid = c;
    *pidfd = fd;
out:
    if (null_fd >= 0)
        close(null_fd);
    if (log_fd >= 0)
        close(log_fd);
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return rc;
}
