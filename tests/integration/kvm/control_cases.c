/* --control: status, pause (the guest's counter stops), resume (it goes
 * on), shutdown (Ctrl-Alt-Del through the i8042: the guest resets, the VMM
 * exits 0) and kill, against tests/guest/control.c. */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT_LINE "picostack-guest: count "

int control_connect(const char *path, double timeout_s)
{
    double end = now_s() + timeout_s;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "test: control socket path too long: %s\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            perror("socket");
            return -1;
        }
        if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
            return fd;
        int e = errno;
        close(fd);
        if (now_s() > end) {
            fprintf(stderr, "test: connect %s: %s\n", path, strerror(e));
            return -1;
        }
        usleep(20000);
    }
}

/* Sends LINE (one request), reads one reply line into reply (NUL-terminated).
 * Returns 0 when a line came back within the timeout. */
int control_send(int fd, const char *line, char *reply, size_t len, double timeout_s)
{
    size_t n = strlen(line);
    if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n) {
        fprintf(stderr, "test: sending %s: %s\n", line, strerror(errno));
        return -1;
    }
    size_t got = 0;
    double end = now_s() + timeout_s;
    while (got + 1 < len) {
        struct pollfd p = { fd, POLLIN, 0 };
        int ms = (int)((end - now_s()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            break;
        ssize_t r = recv(fd, reply + got, 1, 0);
        if (r <= 0)
            break;
        if (reply[got] == '\n') {
            reply[got] = 0;
            fprintf(stderr, "test: control %.*s -> %s\n", (int)(n - 1), line, reply);
            return 0;
        }
        got++;
    }
    reply[got] = 0;
    fprintf(stderr, "test: no reply line to %s (got \"%s\")\n", line, reply);
    return -1;
}

/* Sends {"op":OP}; passes when the reply is {"ok":true, ...} and, when
 * want_state is given, its "state" is that. */
int control_op(int fd, const char *op, const char *want_state)
{
    char req[64], reply[2048];
    snprintf(req, sizeof(req), "{\"op\":\"%s\"}\n", op);
    if (control_send(fd, req, reply, sizeof(reply), 10))
        return -1;
    json_error_t jerr;
    json_t *j = json_loads(reply, 0, &jerr);
    json_t *state = json_object_get(j, "state");
    int ok =
        json_is_object(j) && json_is_true(json_object_get(j, "ok")) &&
        (!want_state || (json_is_string(state) && !strcmp(json_string_value(state), want_state)));
    if (!ok)
        fprintf(stderr, "test: reply to %s is not {\"ok\":true%s%s%s}: %s\n", op,
                want_state ? ", \"state\":\"" : "", want_state ? want_state : "",
                want_state ? "\"" : "", reply);
    json_decref(j);
    return ok ? 0 : -1;
}

/* A bad request gets {"ok":false,"error":"..."} and changes nothing. */
static int control_bad(int fd, const char *line)
{
    char reply[2048];
    if (control_send(fd, line, reply, sizeof(reply), 10))
        return -1;
    json_error_t jerr;
    json_t *j = json_loads(reply, 0, &jerr);
    int ok = json_is_object(j) && json_is_false(json_object_get(j, "ok")) &&
             json_is_string(json_object_get(j, "error"));
    if (!ok)
        fprintf(stderr, "test: a bad request (%s) did not get {\"ok\":false,\"error\":...}: %s\n",
                line, reply);
    json_decref(j);
    return ok ? 0 : -1;
}

static long last_count(const struct vm *vm)
{
    long n = -1;
    for (const char *p = vm->out.data; (p = strstr(p, COUNT_LINE)); p += strlen(COUNT_LINE)) {
        const char *q = p + strlen(COUNT_LINE);
        char *e;
        long v = strtol(q, &e, 10);
        if (e != q && *e == '\n')
            n = v;
    }
    return n;
}

/* Pumps output until the guest prints a counter line beyond `after`. */
static bool wait_count_beyond(struct vm *vm, long after, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end && !vm->exited) {
        if (last_count(vm) > after)
            return true;
        vm_pump(vm, 0.1);
    }
    return last_count(vm) > after;
}

static int pause_resume_shutdown(struct vm *vm, int fd)
{
    if (control_op(fd, "status", "running") || control_bad(fd, "{\"op\":\"explode\"}\n") ||
        control_bad(fd, "this is not json\n") || control_bad(fd, "{\"op\":42}\n"))
        return -1;
    if (!wait_count_beyond(vm, 1, 60)) {
        vm_dump(vm, "the guest's counter does not advance");
        return -1;
    }
    if (control_op(fd, "pause", "paused"))
        return -1;
    vm_pump(vm, 0.5); /* what was in flight */
    long paused_at = last_count(vm);
    size_t len = vm->out.len;
    for (double end = now_s() + 2.0; now_s() < end;)
        vm_pump(vm, 0.1);
    if (vm->out.len != len) {
        vm_dump(vm, "the guest kept printing while paused");
        return -1;
    }
    if (control_op(fd, "status", "paused") || control_op(fd, "resume", "running"))
        return -1;
    if (!wait_count_beyond(vm, paused_at, 30)) {
        vm_dump(vm, "the guest's counter did not advance after resume");
        return -1;
    }
    if (control_op(fd, "shutdown", NULL))
        return -1;
    if (vm_wait_exit(vm, GUEST_TIMEOUT_S)) {
        vm_dump(vm, "the VMM did not exit after a graceful shutdown");
        return -1;
    }
    if (vm_exit_code(vm) != 0 ||
        !strstr(vm->out.data, "picostack-guest: ctrl-alt-del, resetting\n")) {
        vm_dump(vm, "expected the guest to see Ctrl-Alt-Del and the VMM to exit 0");
        return -1;
    }
    return 0;
}

static int kill_vm(struct vm *vm, int fd)
{
    char reply[1024];
    if (!wait_count_beyond(vm, 0, 60)) {
        vm_dump(vm, "the guest's counter does not advance");
        return -1;
    }
    /* The VMM may end before or after it answers; both are fine. */
    control_send(fd, "{\"op\":\"kill\"}\n", reply, sizeof(reply), 10);
    if (vm_wait_exit(vm, 30)) {
        vm_dump(vm, "the VMM did not exit after kill");
        return -1;
    }
    if (vm_exit_code(vm) != 0) {
        vm_dump(vm, "kill over the control socket should end the VMM with 0 (kvm/kvm.h)");
        return -1;
    }
    if (strstr(vm->out.data, "ctrl-alt-del")) {
        vm_dump(vm, "kill must not go through the guest");
        return -1;
    }
    return 0;
}

int case_control(const struct options *o, int argc, char **argv)
{
    bool shutdown = argc == 1 && !strcmp(argv[0], "shutdown");
    if (!shutdown && !(argc == 1 && !strcmp(argv[0], "kill"))) {
        fprintf(stderr, "test: control takes shutdown or kill\n");
        return 1;
    }
    char kernel[4096], dir[4096], sock[4200];
    if (guest_path(o, "control", "pvh", kernel, sizeof(kernel)) ||
        t_mkdtemp(dir, sizeof(dir), "picostack-kvm-test") < 0)
        return 1;
    snprintf(sock, sizeof(sock), "%s/control.sock", dir);
    const char *vargv[] = {
        o->vmm, "--kernel", kernel, "--serial", "stdio", "--control", sock, NULL
    };
    struct vm vm;
    int fd = -1, rc = 1;
    if (vm_start(&vm, (char *const *)vargv))
        goto out;
    if (vm_wait_output(&vm, "picostack-guest: ready\n", 0, GUEST_TIMEOUT_S) < 0) {
        vm_dump(&vm, "the guest never said ready");
        goto out;
    }
    fd = control_connect(sock, 10);
    if (fd < 0)
        goto out;
    rc = (shutdown ? pause_resume_shutdown(&vm, fd) : kill_vm(&vm, fd)) ? 1 : 0;
out:
    if (fd >= 0)
        close(fd);
    vm_destroy(&vm);
    t_rm_rf(dir);
    return rc;
}
