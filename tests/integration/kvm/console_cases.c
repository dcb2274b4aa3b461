/* console ring|socket|full: picostack-vmm's --console-log, --console-cap
 * and --console-socket with our own guests (kvm/console.h).
 *   ring    flood prints 16 KiB through a 4 KiB ring: PATH.1 holds exactly
 *           2 KiB, PATH.1 then PATH is a run of consecutive lines ending in
 *           "flood done", nothing on stdout (--serial defaults to none)
 *   socket  echo through the socket: a second client is closed at once,
 *           what the first sends comes back, and the log has it all
 *   full    flood onto an 8 KiB tmpfs: the VM still ends normally (exit 0)
 *           and the VMM reports the bytes it dropped */
#include "tests/integration/kvm/kvmtest.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

static int run_to_end(struct vm *vm, char *const argv[])
{
    if (vm_start(vm, argv))
        return -1;
    if (vm_wait_exit(vm, GUEST_TIMEOUT_S) || vm_exit_code(vm) != 0) {
        vm_dump(vm, "the VMM did not end with status 0");
        return -1;
    }
    return 0;
}

/* PATH.1 + PATH: consecutive "flood NNNNNNNN.\n" lines (the first may be
 * cut), then "flood done lines=1024\n". */
static int check_flood_ring(const char *log, size_t cap)
{
    char old[4200];
    snprintf(old, sizeof(old), "%s.1", log);
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    if (t_read_file(old, &a, &alen) || t_read_file(log, &b, &blen))
        return -1;
    int rc = -1;
    char *all = malloc(alen + blen + 1);
    memcpy(all, a, alen);
    memcpy(all + alen, b, blen);
    all[alen + blen] = 0;
    if (alen != cap / 2 || blen > cap / 2) {
        fprintf(stderr, "test: %s.1 has %zu bytes, %s %zu (cap %zu)\n", log, alen, log, blen, cap);
        goto out;
    }
    const char *done = "flood done lines=1024\n";
    size_t dlen = strlen(done);
    if (alen + blen < dlen || strcmp(all + alen + blen - dlen, done)) {
        fprintf(stderr, "test: the ring does not end with \"%s\"\n", done);
        goto out;
    }
    char *p = strchr(all, '\n') + 1; /* the first line may be cut */
    long prev = -1;
    unsigned lines = 0;
    for (; strncmp(p, "flood done", 10); p += 16, lines++) {
        unsigned n;
        if (sscanf(p, "flood %8u.\n", &n) != 1 || p[15] != '\n' ||
            (prev >= 0 && n != (unsigned long)prev + 1)) {
            fprintf(stderr, "test: line %u of the ring is wrong: %.16s\n", lines, p);
            goto out;
        }
        prev = n;
    }
    if (prev != 1023 || lines < cap / 2 / 16 - 1) {
        fprintf(stderr, "test: the ring ends at line %ld after %u lines\n", prev, lines);
        goto out;
    }
    rc = 0;
out:
    free(a);
    free(b);
    free(all);
    return rc;
}

static int console_ring(const struct options *o, const char *dir)
{
    char kernel[4096], log[4096];
    if (guest_path(o, "flood", "pvh", kernel, sizeof(kernel)))
        return 1;
    snprintf(log, sizeof(log), "%s/console.log", dir);
    const char *argv[] = { o->vmm,          "--kernel", kernel,          "--mem", "16",
                           "--console-log", log,        "--console-cap", "4096",  NULL };
    struct vm vm;
    int rc = 1;
    if (run_to_end(&vm, (char *const *)argv) == 0 && check_flood_ring(log, 4096) == 0) {
        if (vm.out.len)
            vm_dump(&vm, "serial output reached stdout (--serial should default to none)");
        else
            rc = 0;
    }
    vm_destroy(&vm);
    return rc;
}

/* What fd sends until needle appears (or timeout) into buf. */
static int wait_for(int fd, const char *needle, char *buf, size_t cap, double timeout_s)
{
    size_t len = 0;
    double end = now_s() + timeout_s;
    buf[0] = 0;
    while (now_s() < end && !strstr(buf, needle)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = 0;
    }
    if (strstr(buf, needle))
        return 0;
    fprintf(stderr, "test: the console socket never said \"%s\"; it said:\n%s\n", needle, buf);
    return -1;
}

static int console_socket(const struct options *o, const char *dir)
{
    char kernel[4096], log[4096], sock[4096], got[8192], expect[256];
    if (guest_path(o, "echo", "pvh", kernel, sizeof(kernel)))
        return 1;
    snprintf(log, sizeof(log), "%s/console.log", dir);
    snprintf(sock, sizeof(sock), "%s/console.sock", dir);
    const char *argv[] = { o->vmm, "--kernel",         kernel, "--mem", "16", "--console-log",
                           log,    "--console-socket", sock,   NULL };
    const char *payload = "console socket payload 0123456789";
    snprintf(expect, sizeof(expect), "%s\npicostack-guest: echo done count=%zu crc32=%08x\n",
             payload, strlen(payload),
             (unsigned)crc32(0, (const Bytef *)payload, (uInt)strlen(payload)));
    struct vm vm;
    int rc = 1, a = -1, b = -1;
    if (vm_start(&vm, (char *const *)argv))
        return 1;
    a = control_connect(sock, GUEST_TIMEOUT_S);
    if (a < 0)
        goto out;
    b = control_connect(sock, 10);
    if (b < 0)
        goto out;
    char c;
    struct pollfd p = { .fd = b, .events = POLLIN };
    if (poll(&p, 1, 10000) != 1 || read(b, &c, 1) != 0) {
        fprintf(stderr, "test: a second console client was not closed\n");
        goto out;
    }
    if (write(a, payload, strlen(payload)) != (ssize_t)strlen(payload) || write(a, "#", 1) != 1) {
        perror("write to the console socket");
        goto out;
    }
    if (wait_for(a, expect, got, sizeof(got), GUEST_TIMEOUT_S))
        goto out;
    if (vm_wait_exit(&vm, GUEST_TIMEOUT_S) || vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "the VMM did not end with status 0");
        goto out;
    }
    if (!strstr(vm.err.data, "1 refused")) {
        vm_dump(&vm, "the VMM did not report the refused client");
        goto out;
    }
    char *text = NULL;
    size_t len;
    if (t_read_file(log, &text, &len) == 0 && strstr(text, "picostack-guest: echo ready\n") &&
        strstr(text, expect))
        rc = 0;
    else
        fprintf(stderr, "test: the console log lacks the echo:\n%s\n", text ? text : "");
    free(text);
out:
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    vm_destroy(&vm);
    return rc;
}

static int console_full(const struct options *o, const char *dir)
{
    char kernel[4096], mnt[4096], log[4200];
    if (guest_path(o, "flood", "pvh", kernel, sizeof(kernel)))
        return 1;
    snprintf(mnt, sizeof(mnt), "%s/small", dir);
    snprintf(log, sizeof(log), "%s/console.log", mnt);
    if (mkdir(mnt, 0700) ||
        mount("picostack-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=8k") < 0) {
        fprintf(stderr, "test: cannot mount an 8 KiB tmpfs: %s\n", strerror(errno));
        return 1;
    }
    const char *argv[] = { o->vmm, "--kernel", kernel, "--mem", "16", "--console-log", log, NULL };
    struct vm vm;
    int rc = 1;
    if (run_to_end(&vm, (char *const *)argv) == 0) {
        unsigned long long logged, dropped;
        const char *line = strstr(vm.err.data, "console: ");
        if (line &&
            sscanf(line, "console: %llu bytes logged, %llu dropped", &logged, &dropped) == 2 &&
            dropped > 0 && logged <= 8192 && logged + dropped >= 16 * 1024)
            rc = 0;
        else
            vm_dump(&vm, "the VMM did not report the output a full disk dropped");
    }
    vm_destroy(&vm);
    if (umount2(mnt, MNT_DETACH) < 0) {
        perror("umount");
        rc = 1;
    }
    return rc;
}

int case_console(const struct options *o, int argc, char **argv)
{
    const char *dir = t_tmpdir("kvm-console");
    if (argc < 1) {
        fprintf(stderr, "test: console ring|socket|full\n");
        return 1;
    }
    if (!strcmp(argv[0], "ring"))
        return console_ring(o, dir);
    if (!strcmp(argv[0], "socket"))
        return console_socket(o, dir);
    if (!strcmp(argv[0], "full"))
        return console_full(o, dir);
    fprintf(stderr, "test: console ring|socket|full, not '%s'\n", argv[0]);
    return 1;
}
