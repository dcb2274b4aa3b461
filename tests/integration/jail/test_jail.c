/* picostack-jailer against the real picostack-vmm, our own guests and this
 * machine's /dev/kvm, cgroup v2 and namespaces (root).
 *
 *   test-jail --jailer PATH --vmm PATH --guests DIR --preload SO
 *
 * A jailed VMM boots and its serial output arrives; while it runs its
 * cgroup leaf holds it with the limits asked for (where the cgroup v2
 * hierarchy offers cpu, memory and io; elsewhere asking for them is a clear
 * error), it runs as its uid, as pid 1 of namespaces not ours, under its
 * seccomp filter; after, the leaf is gone. Its uid cannot open another
 * server's 0600 disk file. A VMM that makes a forbidden call (SO, preloaded,
 * makes one right after the VMM's own filter is installed) dies alone with
 * its message while another keeps running. kill -9 of the jailer ends its
 * VMM (and --cleanup removes the leaf); kill -9 of the VMM ends the jailer
 * with 137; SIGTERM is forwarded. Bad options exit 2 with a message. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/sandbox.h"
#include "tests/integration/kvm/vmrun.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

static const char *jailer, *vmm, *guests, *preload, *probe;
static char tmp[256];
static char cg_root[512];    /* a cgroup2 mount */
static char cg_parent[1024]; /* PARENT for this run */
static bool cg_mounted;      /* by us (no cgroup2 mount was there) */
static bool full_cgroup;     /* cpu, memory and io offered */
static uid_t uid_base;
static bool io_weight = true; /* the kernel offers io.weight (iocost) */
static pid_t live[8];         /* jailers running, killed by teardown() if a check ends the test */

/* ---- small helpers ---- */

static void read_small(const char *path, char *buf, size_t len)
{
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void leaf_of(const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", cg_parent, id);
}

/* The VMM's pid: the one process in its leaf. */
static pid_t vmm_pid(const char *id)
{
    char path[PATH_MAX], procs[128];
    leaf_of(id, path, sizeof(path));
    strcat(path, "/cgroup.procs");
    read_small(path, procs, sizeof(procs));
    return (pid_t)atol(procs);
}

/* "picostack-jailer ARGS..." run to its end: exit code, stderr in err. */
static int run_jailer(char *const args[], char *err, size_t len)
{
    char *argv[40] = { (char *)jailer };
    size_t n = 1;
    for (; args[n - 1] && n < 39; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    struct vm p;
    if (vm_start(&p, argv))
        return -1;
    int r = vm_wait_exit(&p, 30) ? -1 : vm_exit_code(&p);
    snprintf(err, len, "%s", p.err.data);
    vm_destroy(&p);
    return r;
}

/* One request line on the VMM's control socket; the reply line. */
static int control(const char *sock, const char *line, char *reply, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "test: connect %s: %s\n", sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t got = 0;
    if (send(fd, line, strlen(line), MSG_NOSIGNAL) == (ssize_t)strlen(line)) {
        struct pollfd p = { fd, POLLIN, 0 };
        while (got + 1 < len && poll(&p, 1, 10000) > 0 && recv(fd, reply + got, 1, 0) == 1)
            if (reply[got++] == '\n')
                break;
    }
    reply[got] = 0;
    close(fd);
    return got && reply[got - 1] == '\n' ? 0 : -1;
}

/* ---- a jailed VM ---- */

struct jvm {
    struct vm p; /* the jailer */
    char id[64];
    char dir[1024]; /* its --chroot DIR */
    int kernel_fd;
};

/* Starts the jailer for guest NAME.elf as uid_base + k; extra: more
 * jailer options; vmm_extra: more VMM options (both NULL-terminated). */
static int jvm_start(struct jvm *j, unsigned k, const char *guest, const char *const *extra,
                     const char *const *vmm_extra)
{
    char kernel[PATH_MAX], kfd[32], uid[16];
    snprintf(j->id, sizeof(j->id), "jt-%d-%u", (int)getpid(), k);
    snprintf(j->dir, sizeof(j->dir), "%s/%s", tmp, j->id);
    snprintf(kernel, sizeof(kernel), "%s/%s.elf", guests, guest);
    snprintf(uid, sizeof(uid), "%u", (unsigned)(uid_base + k));
    if (mkdir(j->dir, 0755) < 0 && errno != EEXIST)
        return -1;
    /* the kernel travels as an inherited descriptor (not close-on-exec) */
    j->kernel_fd = open(kernel, O_RDONLY);
    if (j->kernel_fd < 0) {
        fprintf(stderr, "test: %s: %s\n", kernel, strerror(errno));
        return -1;
    }
    snprintf(kfd, sizeof(kfd), "fd:%d", j->kernel_fd);
    const char *argv[48] = { jailer,  "--id", j->id,      "--uid",  uid,
                             "--gid", uid,    "--cgroup", cg_parent };
    size_t n = 9;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    const char *tail[] = {
        "--exec", vmm, "--", "--kernel", kfd, "--mem", "32", "--serial", "stdio"
    };
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
        argv[n++] = tail[i];
    for (; vmm_extra && *vmm_extra; vmm_extra++)
        argv[n++] = *vmm_extra;
    argv[n] = NULL;
    int r = vm_start(&j->p, (char *const *)argv);
    close(j->kernel_fd);
    if (!r)
        live[k] = j->p.pid;
    return r;
}

static void jvm_end(struct jvm *j)
{
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (live[i] == j->p.pid)
            live[i] = 0;
    vm_destroy(&j->p);
}

/* ---- the cases ---- */

static void bad_options(void)
{
    static const struct {
        const char *args[12];
        const char *says;
    } cases[] = {
        { { NULL }, "--id ID is required" },
        { { "--id", "a/b", "--uid", "5", "--gid", "5", "--exec", "/bin/true" }, "--id 'a/b'" },
        { { "--id", "x", "--uid", "0", "--gid", "5", "--exec", "/bin/true" }, "--uid '0'" },
        { { "--id", "x", "--uid", "5", "--exec", "/bin/true" }, "--gid G are required" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--cpu-weight", "100", "--exec", "/bin/true" },
          "needs --cgroup" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--cgroup", "/c", "--cpu-weight", "0" },
          "--cpu-weight '0'" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--cgroup", "/c", "--cpu-max", "10" },
          "--cpu-max '10'" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--cgroup", "/c", "--memory-max", "1k" },
          "--memory-max '1k'" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--cgroup", "rel", "--exec", "/bin/true" },
          "--cgroup 'rel': an absolute path" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--bogus" }, "unknown option --bogus" },
        { { "--id", "x", "--uid", "5", "--gid", "5" }, "--exec VMM is required" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--exec", "/bin/true", "--kernel" },
          "unknown option --kernel" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--exec", "/bin/true", "stray" },
          "VMM arguments go after --" },
        { { "--cleanup", "--id", "x" }, "--cleanup needs --cgroup" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--proc", "--no-pidns", "--exec", "/x" },
          "--proc needs the new PID namespace" },
        { { "--id", "x", "--uid", "5", "--gid", "5", "--uid" }, "--uid needs a value" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[4096];
        CHECK_EQ(run_jailer((char *const *)cases[i].args, err, sizeof(err)), 2);
        CHECK_CONTAINS(err, cases[i].says);
        CHECK_CONTAINS(err, "usage: picostack-jailer");
    }
}

static void check_identity(pid_t pid, uid_t uid)
{
    char path[64], status[4096], want[128];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    read_small(path, status, sizeof(status));
    snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n", uid, uid, uid, uid);
    CHECK_CONTAINS(status, want);
    snprintf(want, sizeof(want), "\nGid:\t%u\t%u\t%u\t%u\n", uid, uid, uid, uid);
    CHECK_CONTAINS(status, want);
    CHECK_CONTAINS(status, "\nGroups:\t \n"); /* none (the kernel ends the list with a space) */
    CHECK_CONTAINS(status, "\nNoNewPrivs:\t1\n");
    CHECK_CONTAINS(status, "\nCapEff:\t0000000000000000\n");
    snprintf(want, sizeof(want), "\nNSpid:\t%d\t1\n", (int)pid); /* pid 1 inside */
    CHECK_CONTAINS(status, want);
    if (vmm_sandbox_available())
        CHECK_CONTAINS(status, "\nSeccomp:\t2\n");
    static const char *const ns[] = { "mnt", "pid", "net", "ipc", "uts" };
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        char theirs[PATH_MAX], ours[PATH_MAX], a[64], b[64];
        snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, ns[i]);
        snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns[i]);
        ssize_t x = readlink(theirs, a, sizeof(a) - 1), y = readlink(ours, b, sizeof(b) - 1);
        CHECK(x > 0 && y > 0, "%s", ns[i]);
        a[x > 0 ? x : 0] = b[y > 0 ? y : 0] = 0;
        CHECK(strcmp(a, b) != 0, "the VMM shares our %s namespace (%s)", ns[i], a);
    }
}

/* What the VMM sees of the files: its run directory as the root, a /dev
 * of six nodes (kvm its own), the host's /usr, no /etc, no /proc unless
 * asked for. */
static void check_root(pid_t pid, uid_t uid, const struct stat *host_kvm)
{
    char path[128], names[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/root/dev", (int)pid);
    DIR *d = opendir(path);
    REQUIRE(d != NULL);
    const char *want[] = { "kvm", "net", "null", "random", "urandom", "zero" };
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        strncat(names, e->d_name, sizeof(names) - strlen(names) - 2);
        strcat(names, " ");
        bool known = false;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
            known = known || !strcmp(e->d_name, want[i]);
        CHECK(known, "/dev/%s in the jail", e->d_name);
    }
    closedir(d);
    CHECK_EQ(n, 6);
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d/root/dev/kvm", (int)pid);
    CHECK(stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == host_kvm->st_rdev &&
              st.st_uid == uid && (st.st_mode & 0777) == 0600,
          "the jail's /dev/kvm is the VMM's own");
    CHECK(stat("/dev/kvm", &st) == 0 && st.st_uid == host_kvm->st_uid &&
              st.st_mode == host_kvm->st_mode,
          "the host's /dev/kvm is untouched");
    snprintf(path, sizeof(path), "/proc/%d/root/control.sock", (int)pid);
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "its root is its run directory");
    snprintf(path, sizeof(path), "/proc/%d/root/usr/lib", (int)pid);
    CHECK(exists(path));
    snprintf(path, sizeof(path), "/proc/%d/root/etc", (int)pid);
    CHECK(!exists(path), "no /etc in the jail");
    snprintf(path, sizeof(path), "/proc/%d/root/proc/self", (int)pid);
    /* sanitizer builds (no filter either, sandbox.h) mount one for their
     * runtime (jail.h) */
    CHECK(exists(path) == !vmm_sandbox_available(), "/proc only for sanitizer builds");
}

static void check_limits(const char *leaf)
{
    char path[PATH_MAX + 32], v[128];
    static const struct {
        const char *file, *want;
    } limits[] = {
        { "cpu.weight", "50\n" },
        { "cpu.max", "50000 100000\n" },
        { "memory.max", "268435456\n" },
        { "io.weight", "default 50\n" },
    };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]) - !io_weight; i++) {
        snprintf(path, sizeof(path), "%s/%s", leaf, limits[i].file);
        read_small(path, v, sizeof(v));
        CHECK_STR(v, limits[i].want);
    }
    snprintf(path, sizeof(path), "%s/memory.swap.max", leaf);
    if (exists(path)) {
        read_small(path, v, sizeof(v));
        CHECK_STR(v, "0\n");
    }
}

/* A jailed VMM that calls what its filter forbids dies alone. */
static void forbidden_call(struct jvm *running)
{
    if (!vmm_sandbox_available()) {
        fprintf(stderr, "test: sanitizer build: the VMM has no seccomp filter "
                        "(kvm/sandbox.h); the forbidden-call case is not run\n");
        return;
    }
    struct jvm j;
    char so[PATH_MAX];
    snprintf(so, sizeof(so), "%s/jt-%d-1", tmp, (int)getpid());
    mkdir(so, 0755);
    strcat(so, "/violate.so");
    char *data;
    size_t len;
    REQUIRE(t_read_file(preload, &data, &len) == 0);
    REQUIRE(t_write_file(so, data, len, 0644) == 0);
    free(data);
    const char *extra[] = { "--chroot", NULL, NULL };
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/jt-%d-1", tmp, (int)getpid());
    extra[1] = dir;
    setenv("LD_PRELOAD", "/violate.so", 1); /* as seen inside its root */
    REQUIRE(jvm_start(&j, 1, "hello", extra, NULL) == 0);
    unsetenv("LD_PRELOAD");
    CHECK(vm_wait_exit(&j.p, 30) == 0);
    CHECK_EQ(vm_exit_code(&j.p), 1);
    CHECK_CONTAINS(j.p.err.data, "sandbox: forbidden system call");
    char leaf[PATH_MAX];
    leaf_of(j.id, leaf, sizeof(leaf));
    CHECK(!exists(leaf), "%s left behind", leaf);
    jvm_end(&j);
    /* the other one runs on */
    char sock[PATH_MAX + 16], reply[4096];
    snprintf(sock, sizeof(sock), "%s/control.sock", running->dir);
    REQUIRE(control(sock, "{\"op\":\"status\"}\n", reply, sizeof(reply)) == 0);
    CHECK_CONTAINS(reply, "\"running\"");
    size_t seen = running->p.out.len;
    CHECK(vm_wait_output(&running->p, "count", seen, 10) >= 0, "its guest goes on counting");
}

/* Boots, checks the jail while it runs, then shuts it down. */
static void jailed_boot(void)
{
    struct jvm j;
    const char *with_limits[] = { "--cpu-weight", "50",        "--cpu-max",   "50000",
                                  "--memory-max", "268435456", "--io-weight", "50",
                                  "--chroot",     NULL,        NULL };
    const char *plain[] = { "--chroot", NULL, NULL };
    const char *const *extra = full_cgroup ? with_limits : plain;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/jt-%d-0", tmp, (int)getpid());
    with_limits[9] = plain[1] = dir;
    const char *vmm_extra[] = { "--control", "/control.sock", NULL };
    struct stat host_kvm;
    REQUIRE(stat("/dev/kvm", &host_kvm) == 0);
    REQUIRE(jvm_start(&j, 0, "control", extra, vmm_extra) == 0);
    if (full_cgroup && vm_wait_output(&j.p, "picostack-guest: ready", 0, 30) < 0 &&
        strstr(j.p.err.data, "io.weight is not offered")) {
        /* a kernel without the io cost model: the refusal is the answer */
        fprintf(stderr, "test: no io.weight here; again without --io-weight\n");
        jvm_end(&j);
        io_weight = false;
        with_limits[6] = "--chroot", with_limits[7] = dir, with_limits[8] = NULL;
        REQUIRE(jvm_start(&j, 0, "control", extra, vmm_extra) == 0);
    }
    if (vm_wait_output(&j.p, "picostack-guest: ready", 0, 30) < 0) {
        vm_dump(&j.p, "the jailed guest did not start");
        REQUIRE(0);
    }
    char leaf[PATH_MAX];
    leaf_of(j.id, leaf, sizeof(leaf));
    REQUIRE(exists(leaf));
    pid_t pid = vmm_pid(j.id);
    REQUIRE(pid > 0);
    CHECK(pid != j.p.pid, "the jailer (reaper) stays out of the leaf");
    check_identity(pid, uid_base);
    check_root(pid, uid_base, &host_kvm);
    if (full_cgroup)
        check_limits(leaf);
    char sock[PATH_MAX + 16], reply[4096];
    snprintf(sock, sizeof(sock), "%s/control.sock", j.dir); /* made inside as /control.sock */
    REQUIRE(control(sock, "{\"op\":\"status\"}\n", reply, sizeof(reply)) == 0);
    CHECK_CONTAINS(reply, "\"running\"");
    struct stat st;
    CHECK(stat(j.dir, &st) == 0 && st.st_uid == 0 && st.st_gid == uid_base &&
          (st.st_mode & 07777) == 01770);

    /* a second VMM with the same id is refused, the first left alone */
    char err[4096], uid[16];
    snprintf(uid, sizeof(uid), "%u", (unsigned)uid_base);
    char *again[] = { "--id",     j.id,      "--uid",  uid,         "--gid", uid,
                      "--cgroup", cg_parent, "--exec", (char *)vmm, NULL };
    CHECK_EQ(run_jailer(again, err, sizeof(err)), 1);
    CHECK_CONTAINS(err, "is in use: a VMM with this id runs");
    CHECK(exists(leaf) && vmm_pid(j.id) == pid);

    forbidden_call(&j);

    REQUIRE(control(sock, "{\"op\":\"shutdown\"}\n", reply, sizeof(reply)) == 0);
    CHECK(vm_wait_exit(&j.p, 30) == 0);
    CHECK_EQ(vm_exit_code(&j.p), 0);
    CHECK(!exists(leaf), "%s left behind", leaf);
    jvm_end(&j);
}

/* What a process in the jail can and cannot do, seen from inside:
 * jail-probe in place of the VMM, in a run directory holding a record of
 * the caller's (root's, 0600). */
static void inside_view(void)
{
    char dir[PATH_MAX], spec[PATH_MAX + 16], id[64], uid[16], want[64];
    snprintf(id, sizeof(id), "jt-%d-7", (int)getpid());
    snprintf(dir, sizeof(dir), "%s/%s", tmp, id);
    snprintf(spec, sizeof(spec), "%s/spec.json", dir);
    snprintf(uid, sizeof(uid), "%u", (unsigned)(uid_base + 7));
    REQUIRE(mkdir(dir, 0755) == 0);
    REQUIRE(t_write_file(spec, "{}", 2, 0600) == 0);
    char *argv[] = { (char *)jailer, "--id", id,       "--uid",       uid,  "--gid", uid,
                     "--chroot",     dir,    "--exec", (char *)probe, "--", tmp,     NULL };
    struct vm p;
    REQUIRE(vm_start(&p, argv) == 0);
    CHECK(vm_wait_exit(&p, 30) == 0);
    CHECK_EQ(vm_exit_code(&p), 0);
    const char *out = p.out.data;
    snprintf(want, sizeof(want), "uid=%s gid=%s\n", uid, uid);
    CHECK_CONTAINS(out, want);
    static const char *const lines[] = {
        "create_mine=ok\n",     /* its run directory takes its files */
        "read_spec=EACCES\n",   /* not the caller's */
        "unlink_spec=EPERM\n",  /* nor removes them (sticky) */
        "replace_spec=EPERM\n", /* nor replaces them */
        "replace_dev=EPERM\n",  /* nor the jail's mount points */
        "mknod=EPERM\n",        "mount=EPERM\n",     "setuid0=EPERM\n",
        "chroot=EPERM\n",       "etc=ENOENT\n", /* the host's files are out of sight */
        "host_path=ENOENT\n",   "usr_write=EROFS\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        CHECK_CONTAINS(out, lines[i]);
    CHECK_CONTAINS(out, access("/dev/kvm", F_OK) == 0 ? "kvm=ok\n" : "kvm=ENOENT\n");
    struct stat st;
    CHECK(stat(spec, &st) == 0 && st.st_uid == 0 && st.st_size == 2, "the record is intact");
    CHECK(stat(dir, &st) == 0 && st.st_uid == 0 && st.st_gid == uid_base + 7 &&
              (st.st_mode & 07777) == 01770,
          "the run directory is root:G 01770");
    vm_destroy(&p);
}

/* Limits whose controllers this hierarchy lacks are a clear error. */
static void missing_controller(void)
{
    if (full_cgroup)
        return;
    char err[4096];
    char *args[] = { "--id",    "jt-x",         "--uid",    "7",      "--gid",     "7", "--cgroup",
                     cg_parent, "--memory-max", "67108864", "--exec", (char *)vmm, NULL };
    CHECK_EQ(run_jailer(args, err, sizeof(err)), 1);
    CHECK_CONTAINS(err, "the cgroup v2 controller 'memory' is not available");
}

/* Its uid opens its own 0600 disk, not another server's. */
static void disk_access(void)
{
    char own[PATH_MAX], other[PATH_MAX], spec[PATH_MAX + 16];
    snprintf(own, sizeof(own), "%s/own.raw", tmp);
    snprintf(other, sizeof(other), "%s/other.raw", tmp);
    static char zero[1 << 16];
    REQUIRE(t_write_file(own, zero, sizeof(zero), 0600) == 0);
    REQUIRE(t_write_file(other, zero, sizeof(zero), 0600) == 0);
    REQUIRE(chown(own, uid_base + 2, uid_base + 2) == 0);
    REQUIRE(chown(other, uid_base + 3, uid_base + 3) == 0); /* another server's */
    const char *files[] = { own, other };
    for (int i = 0; i < 2; i++) {
        struct jvm j;
        snprintf(spec, sizeof(spec), "path=%s", files[i]);
        const char *vmm_extra[] = { "--disk", spec, NULL };
        REQUIRE(jvm_start(&j, 2, "hello", NULL, vmm_extra) == 0);
        CHECK(vm_wait_exit(&j.p, 30) == 0);
        if (i == 0) {
            CHECK_EQ(vm_exit_code(&j.p), 0);
            CHECK_CONTAINS(j.p.out.data, "picostack-guest: hello from");
        } else {
            CHECK_EQ(vm_exit_code(&j.p), 2);
            CHECK_CONTAINS(j.p.err.data, "Permission denied");
        }
        jvm_end(&j);
    }
    /* in its chroot it sees neither file; a disk it is given comes as an
     * inherited descriptor */
    struct jvm j;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/jt-%d-2", tmp, (int)getpid());
    const char *extra[] = { "--chroot", dir, NULL };
    snprintf(spec, sizeof(spec), "path=%s", own);
    const char *by_path[] = { "--disk", spec, NULL };
    REQUIRE(jvm_start(&j, 2, "hello", extra, by_path) == 0);
    CHECK(vm_wait_exit(&j.p, 30) == 0);
    CHECK_EQ(vm_exit_code(&j.p), 2);
    CHECK_CONTAINS(j.p.err.data, "No such file or directory");
    jvm_end(&j);
    int fd = open(other, O_RDWR); /* not close-on-exec: handed over */
    REQUIRE(fd >= 0);
    snprintf(spec, sizeof(spec), "path=fd:%d", fd);
    const char *by_fd[] = { "--disk", spec, NULL };
    REQUIRE(jvm_start(&j, 2, "hello", extra, by_fd) == 0);
    close(fd);
    CHECK(vm_wait_exit(&j.p, 30) == 0);
    CHECK_EQ(vm_exit_code(&j.p), 0);
    CHECK_CONTAINS(j.p.out.data, "picostack-guest: hello from");
    jvm_end(&j);
}

/* kill -9 of the jailer ends the VMM; --cleanup removes the leaf. */
static void kill_jailer(void)
{
    struct jvm j;
    REQUIRE(jvm_start(&j, 4, "control", NULL, NULL) == 0);
    REQUIRE(vm_wait_output(&j.p, "picostack-guest: ready", 0, 30) >= 0);
    pid_t pid = vmm_pid(j.id);
    REQUIRE(pid > 0);
    kill(j.p.pid, SIGKILL);
    CHECK(vm_wait_exit(&j.p, 10) == 0);
    /* we are the subreaper: the orphaned VMM comes to us */
    int st = 0;
    pid_t w = -1;
    for (int i = 0; i < 500 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++)
        usleep(10000);
    CHECK(w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the VMM died with its jailer");
    char leaf[PATH_MAX], err[4096];
    leaf_of(j.id, leaf, sizeof(leaf));
    CHECK(exists(leaf), "no reaper was left to remove it");
    char *args[] = { "--cleanup", "--id", j.id, "--cgroup", cg_parent, NULL };
    CHECK_EQ(run_jailer(args, err, sizeof(err)), 0);
    CHECK(!exists(leaf));
    CHECK_EQ(run_jailer(args, err, sizeof(err)), 0); /* again: nothing to do */
    jvm_end(&j);
}

/* kill -9 of the VMM ends the jailer with 137; SIGTERM to the jailer
 * reaches the VMM (which ends with 128 + 15); --cleanup of a running VM
 * kills it and returns once it is gone (vmmctl's hard kill). */
static void signals(void)
{
    for (int sig = 0; sig < 3; sig++) {
        struct jvm j;
        REQUIRE(jvm_start(&j, 5, "control", NULL, NULL) == 0);
        REQUIRE(vm_wait_output(&j.p, "picostack-guest: ready", 0, 30) >= 0);
        pid_t pid = vmm_pid(j.id);
        REQUIRE(pid > 0);
        if (sig == 0) {
            kill(pid, SIGKILL);
        } else if (sig == 1) {
            kill(j.p.pid, SIGTERM);
        } else {
            char err[4096];
            char *args[] = { "--cleanup", "--id", j.id, "--cgroup", cg_parent, NULL };
            CHECK_EQ(run_jailer(args, err, sizeof(err)), 0);
            char proc[64];
            snprintf(proc, sizeof(proc), "/proc/%d/status", (int)pid);
            /* gone, or at most a zombie its reaper has yet to collect */
            char st[4096];
            read_small(proc, st, sizeof(st));
            CHECK(!st[0] || strstr(st, "State:\tZ"), "the VMM still runs after --cleanup");
        }
        CHECK(vm_wait_exit(&j.p, 10) == 0);
        CHECK_EQ(vm_exit_code(&j.p), sig == 1 ? 143 : 137);
        char leaf[PATH_MAX];
        leaf_of(j.id, leaf, sizeof(leaf));
        CHECK(!exists(leaf), "%s left behind", leaf);
        jvm_end(&j);
    }
}

/* --no-pidns --no-netns: the caller's namespaces; still its uid. */
static void shared_namespaces(void)
{
    struct jvm j;
    const char *extra[] = { "--no-pidns", "--no-netns", NULL };
    REQUIRE(jvm_start(&j, 6, "hello", extra, NULL) == 0);
    CHECK(vm_wait_exit(&j.p, 30) == 0);
    CHECK_EQ(vm_exit_code(&j.p), 0);
    CHECK_CONTAINS(j.p.out.data, "picostack-guest: hello from");
    jvm_end(&j);
}

/* ---- set-up ---- */

/* Runs a case and says how long it took (a slow TCG guest's log). */
#define RUN_CASE(fn)                                                    \
    do {                                                                \
        double t0_ = now_s();                                           \
        fn();                                                           \
        fprintf(stderr, "test: case %s: %.1f s\n", #fn, now_s() - t0_); \
    } while (0)

static void find_cgroup2(void)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char dev[256], dir[256], type[64];
    while (f && fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3)
        if (!strcmp(type, "cgroup2") && !cg_root[0])
            snprintf(cg_root, sizeof(cg_root), "%s", dir);
    if (f)
        fclose(f);
    if (!cg_root[0]) { /* the with-kvm guest mounts none */
        snprintf(cg_root, sizeof(cg_root), "%s/cgroup2", tmp);
        REQUIRE(mkdir(cg_root, 0755) == 0);
        REQUIRE(mount("cgroup2", cg_root, "cgroup2", 0, NULL) == 0);
        cg_mounted = true;
    }
    char ctl[PATH_MAX + 32], have[512];
    snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", cg_root);
    read_small(ctl, have, sizeof(have));
    full_cgroup = strstr(have, "cpu") && strstr(have, "memory") && strstr(have, "io");
    /* PARENT made by the jailer, below the root (which may hold processes) */
    snprintf(cg_parent, sizeof(cg_parent), "%s/picostack-jailtest-%d", cg_root, (int)getpid());
    fprintf(stderr, "test: cgroup2 at %s offers '%.*s': %s\n", cg_root, (int)strcspn(have, "\n"),
            have, full_cgroup ? "limits checked" : "limits must be refused");
}

static void teardown(void)
{
    char err[4096];
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (live[i] > 0 && kill(live[i], SIGKILL) == 0)
            waitpid(live[i], NULL, 0); /* its VMM dies with it (PDEATHSIG) */
    for (int k = 0; k < 8; k++) {
        char id[64];
        snprintf(id, sizeof(id), "jt-%d-%d", (int)getpid(), k);
        char *args[] = { "--cleanup", "--id", id, "--cgroup", cg_parent, NULL };
        if (run_jailer(args, err, sizeof(err)) != 0)
            fprintf(stderr, "test: cleanup %s: %s", id, err);
    }
    if (rmdir(cg_parent) < 0 && errno != ENOENT)
        fprintf(stderr, "test: rmdir %s: %s\n", cg_parent, strerror(errno));
    if (cg_mounted && umount(cg_root) < 0)
        fprintf(stderr, "test: umount %s: %s\n", cg_root, strerror(errno));
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--jailer"))
            jailer = argv[i + 1];
        else if (!strcmp(argv[i], "--vmm"))
            vmm = argv[i + 1];
        else if (!strcmp(argv[i], "--guests"))
            guests = argv[i + 1];
        else if (!strcmp(argv[i], "--preload"))
            preload = argv[i + 1];
        else if (!strcmp(argv[i], "--probe"))
            probe = argv[i + 1];
    }
    if (!jailer || !vmm || !guests || !preload || !probe) {
        fprintf(stderr, "usage: test-jail --jailer PATH --vmm PATH --guests DIR --preload SO "
                        "--probe PATH\n");
        return 2;
    }
    bad_options();
    REQUIRE(geteuid() == 0); /* the rest makes namespaces, cgroups and nodes */
    snprintf(tmp, sizeof(tmp), "%s", t_tmpdir("jail"));
    REQUIRE(chmod(tmp, 0711) == 0); /* the jailed uids pass through it */
    uid_base = 3900000 + (getpid() % 10000) * 8;
    REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    find_cgroup2();
    atexit(teardown);
    RUN_CASE(missing_controller);
    RUN_CASE(inside_view);
    if (access("/dev/kvm", R_OK | W_OK) < 0) {
        /* jail.kvm runs all of it where with-kvm finds or makes a KVM */
        fprintf(stderr, "test: no usable /dev/kvm (%s): the VM cases are jail.kvm's\n",
                strerror(errno));
        return t_done("jail (no /dev/kvm: options and cgroup refusals only)");
    }
    RUN_CASE(jailed_boot);
    RUN_CASE(disk_access);
    RUN_CASE(kill_jailer);
    RUN_CASE(signals);
    RUN_CASE(shared_namespaces);
    return t_done(full_cgroup ? "jail (with cgroup limits)" : "jail (cgroup without controllers)");
}
