#include "tests/integration/kvm/vmrun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int buf_append(struct outbuf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int vm_start(struct vm *vm, char *const argv[])
{
    int in[2], out[2], err[2];
    memset(vm, 0, sizeof(*vm));
    vm->in_fd = vm->out_fd = vm->err_fd = -1;
    vm->first_byte = -1;
    if (buf_append(&vm->out, "", 0) || buf_append(&vm->err, "", 0))
        return -ENOMEM;
    signal(SIGPIPE, SIG_IGN);
    int fds[6] = { -1, -1, -1, -1, -1, -1 };
    if (pipe2(fds, O_CLOEXEC) || pipe2(fds + 2, O_CLOEXEC) || pipe2(fds + 4, O_CLOEXEC)) {
        int e = errno;
        fprintf(stderr, "pipe: %s\n", strerror(e));
        for (int i = 0; i < 6; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return -e;
    }
    memcpy(in, fds, sizeof(in));
    memcpy(out, fds + 2, sizeof(out));
    memcpy(err, fds + 4, sizeof(err));
    vm->started = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        fprintf(stderr, "fork: %s\n", strerror(e));
        for (int i = 0; i < 6; i++)
            close(fds[i]);
        return -e;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    vm->pid = pid;
    vm->in_fd = in[1];
    vm->out_fd = out[0];
    vm->err_fd = err[0];
    fprintf(stderr, "test: started");
    for (int i = 0; argv[i]; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    return 0;
}

static void reap(struct vm *vm, bool block)
{
    if (vm->exited || vm->pid <= 0)
        return;
    int st;
    pid_t r = waitpid(vm->pid, &st, block ? 0 : WNOHANG);
    if (r == vm->pid) {
        vm->exited = true;
        vm->status = st;
    }
}

static void read_into(struct vm *vm, int *fd, struct outbuf *b)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n > 0) {
        if (b == &vm->out && vm->first_byte < 0)
            vm->first_byte = now_s() - vm->started;
        if (buf_append(b, chunk, (size_t)n))
            fprintf(stderr, "test: out of memory for the VMM's output\n");
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

void vm_pump(struct vm *vm, double timeout_s)
{
    struct pollfd p[2] = { { vm->out_fd, POLLIN, 0 }, { vm->err_fd, POLLIN, 0 } };
    int ms = timeout_s > 0 ? (int)(timeout_s * 1000) : 0;
    if (vm->out_fd < 0 && vm->err_fd < 0) {
        /* Both streams are closed: only the exit is left to wait for. */
        if (ms)
            usleep((useconds_t)(ms < 50 ? ms : 50) * 1000);
        reap(vm, false);
        return;
    }
    if (poll(p, 2, ms) > 0) {
        if (p[0].revents)
            read_into(vm, &vm->out_fd, &vm->out);
        if (p[1].revents)
            read_into(vm, &vm->err_fd, &vm->err);
    }
    reap(vm, false);
}

long vm_wait_output(struct vm *vm, const char *needle, size_t from, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        if (from <= vm->out.len) {
            const char *hit = strstr(vm->out.data + from, needle);
            if (hit)
                return hit - vm->out.data;
        }
        double left = end - now_s();
        if (left <= 0 || (vm->exited && vm->out_fd < 0))
            return -1;
        vm_pump(vm, left < 0.2 ? left : 0.2);
    }
}

int vm_wait_exit(struct vm *vm, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (!(vm->exited && vm->out_fd < 0 && vm->err_fd < 0)) {
        double left = end - now_s();
        if (left <= 0) {
            if (!vm->exited) {
                /* SIGTERM first: the VMM ends the VM and says what it can. */
                fprintf(stderr, "test: the VMM did not exit within %.0f s; stopping it\n",
                        timeout_s);
                kill(vm->pid, SIGTERM);
                for (double stop = now_s() + 3; now_s() < stop && !vm->exited;)
                    vm_pump(vm, 0.1);
                if (!vm->exited) {
                    kill(vm->pid, SIGKILL);
                    reap(vm, true);
                }
                while (vm->out_fd >= 0 || vm->err_fd >= 0)
                    vm_pump(vm, 0.1);
            }
            return -1;
        }
        vm_pump(vm, left < 0.2 ? left : 0.2);
    }
    return 0;
}

int vm_write(struct vm *vm, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(vm->in_fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            fprintf(stderr, "test: writing to the VMM's stdin: %s\n", strerror(e));
            return -e;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void vm_close_stdin(struct vm *vm)
{
    if (vm->in_fd >= 0)
        close(vm->in_fd);
    vm->in_fd = -1;
}

int vm_exit_code(const struct vm *vm)
{
    if (!vm->exited || !WIFEXITED(vm->status))
        return -1;
    return WEXITSTATUS(vm->status);
}

void vm_destroy(struct vm *vm)
{
    if (vm->pid > 0 && !vm->exited) {
        kill(vm->pid, SIGKILL);
        reap(vm, true);
    }
    vm_close_stdin(vm);
    if (vm->out_fd >= 0)
        close(vm->out_fd);
    if (vm->err_fd >= 0)
        close(vm->err_fd);
    free(vm->out.data);
    free(vm->err.data);
    memset(vm, 0, sizeof(*vm));
}

void vm_dump(const struct vm *vm, const char *why)
{
    fprintf(stderr, "test: FAILED: %s\n", why);
    if (vm->exited) {
        if (WIFEXITED(vm->status))
            fprintf(stderr, "test: the VMM exited with %d\n", WEXITSTATUS(vm->status));
        else if (WIFSIGNALED(vm->status))
            fprintf(stderr, "test: the VMM died of signal %d\n", WTERMSIG(vm->status));
    } else {
        fprintf(stderr, "test: the VMM is still running\n");
    }
    fprintf(stderr, "---- VMM stdout (guest serial), %zu bytes ----\n%s\n", vm->out.len,
            vm->out.data ? vm->out.data : "");
    fprintf(stderr, "---- VMM stderr, %zu bytes ----\n%s\n----\n", vm->err.len,
            vm->err.data ? vm->err.data : "");
}
