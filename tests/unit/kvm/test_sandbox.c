/* The seccomp sandbox: what the running VMM needs still works, anything else
 * ends the process with a message naming the call. Each case runs in a
 * child process, since a filter cannot be removed. */
#include "tests/support/check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "kvm/devices/rtc.h"
#include "kvm/sandbox.h"

enum { ALLOWED, OPEN, EXEC_MAPPING, SOCKET, EXECVE };

static void child(int what)
{
    verr_t err;
    if (vmm_sandbox_enter(&err)) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        _exit(3);
    }
    switch (what) {
    case ALLOWED: {
        /* The running VMM's calls: memory, threads' futexes, I/O on fds. */
        void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            _exit(4);
        memset(p, 1, 1 << 20);
        munmap(p, 1 << 20);
        char *q = malloc(100000);
        free(q);
        if (write(STDOUT_FILENO, "", 0) < 0)
            _exit(5);
        /* What the devices and the control socket use at run time: the
		 * RTC's time conversions, jansson. */
        struct rtc rtc;
        rtc_init(&rtc, NULL, irq_line_make(NULL, NULL, 8), NULL, NULL);
        rtc_write(&rtc, RTC_PORT, RTC_YEAR);
        rtc_write(&rtc, RTC_PORT + 1, 0x30);
        if (rtc_read(&rtc, RTC_PORT + 1) != 0x30)
            _exit(6);
        json_t *j = json_pack("{s:i}", "n", 1);
        char *s = json_dumps(j, 0);
        json_t *back = json_loads(s, 0, NULL);
        free(s);
        json_decref(j);
        json_decref(back);
        _exit(0);
    }
    case OPEN: {
        /* refused with EACCES, not fatal (glibc's allocator may try) */
        int fd = open("/dev/null", O_RDONLY);
        _exit(fd < 0 && errno == EACCES ? 3 : 0);
    }
    case EXEC_MAPPING:
        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        break;
    case SOCKET: socket(AF_INET, SOCK_STREAM, 0); break;
    case EXECVE: {
        char *argv[] = { "/bin/true", NULL };
        execv("/bin/true", argv);
        break;
    }
    }
    _exit(0); /* the forbidden call came back: the sandbox failed */
}

/* Runs a case; returns its exit status and what it wrote to stderr. */
static int run(int what, char *err, size_t len)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        child(what);
    }
    close(p[1]);
    ssize_t n = read(p[0], err, len - 1);
    err[n > 0 ? n : 0] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    if (!vmm_sandbox_available()) {
        /* Sanitizer builds: the filter is deliberately absent (see sandbox.h). */
        verr_t err;
        CHECK_EQ(vmm_sandbox_enter(&err), 0);
        return t_done("kvm.sandbox (sanitizer build: no filter)");
    }
    char err[512];
    CHECK_EQ(run(ALLOWED, err, sizeof(err)), 0);
    CHECK_EQ(run(OPEN, err, sizeof(err)), 3);
    int forbidden[] = { EXEC_MAPPING, SOCKET, EXECVE };
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        CHECK_EQ(run(forbidden[i], err, sizeof(err)), 1);
        CHECK_CONTAINS(err, "sandbox: forbidden system call");
    }
    return t_done("kvm.sandbox");
}
