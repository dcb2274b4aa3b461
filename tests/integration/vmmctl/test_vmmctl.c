/* core/vmmctl with real parts: picostack-vmm on this machine's /dev/kvm
 * running the freestanding test guests (tests/guest/), a real block store,
 * real taps in a namespace of the test's own. One sub-test per ctest test:
 *   test_vmmctl BINDIR GUESTDIR NAME */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/blockstore/blockstore.h"
#include "core/vmmctl/vmmctl.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/subtest.h"
#include "tests/support/tmpdir.h"

static const char *bindir, *guestdir;
static char dir[150], run[160];
static struct blockstore *bs;
static pthread_mutex_t bs_mutex = PTHREAD_MUTEX_INITIALIZER;

/* ---- events, as the callback sees them ---- */
struct seen {
    char id[40];
    enum vmmctl_event ev;
    char detail[512];
    double at;
};
static struct seen events[64];
static int nevents;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *ev_name(enum vmmctl_event e)
{
    static const char *const n[] = { "RUNNING", "POWEROFF", "RESET", "KILLED", "ERROR" };
    return (unsigned)e < 5 ? n[e] : "?";
}

static void on_event(void *ctx, const char *id, enum vmmctl_event ev, const char *detail)
{
    (void)ctx;
    pthread_mutex_lock(&ev_lock);
    fprintf(stderr, "event: %s %s (%s)\n", id, ev_name(ev), detail);
    if (nevents < 64) {
        struct seen *s = &events[nevents++];
        snprintf(s->id, sizeof(s->id), "%s", id);
        s->ev = ev;
        snprintf(s->detail, sizeof(s->detail), "%s", detail);
        s->at = now_s();
    }
    pthread_cond_broadcast(&ev_cond);
    pthread_mutex_unlock(&ev_lock);
}

/* Waits for the next event of id from index *from on; it must be `want`.
 * Returns its record (or NULL on timeout or another event). */
static const struct seen *wait_event(const char *id, int *from, enum vmmctl_event want,
                                     double timeout_s)
{
    double end = now_s() + timeout_s;
    const struct seen *got = NULL;
    pthread_mutex_lock(&ev_lock);
    for (;;) {
        for (; *from < nevents && !got; (*from)++)
            if (!strcmp(events[*from].id, id))
                got = &events[*from];
        if (got || now_s() >= end)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        if (ts.tv_nsec >= 1000000000)
            ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&ev_cond, &ev_lock, &ts);
    }
    pthread_mutex_unlock(&ev_lock);
    if (!got)
        fprintf(stderr, "no %s event for %s within %.1f s\n", ev_name(want), id, timeout_s);
    else if (got->ev != want)
        fprintf(stderr, "expected %s for %s, got %s (%s)\n", ev_name(want), id, ev_name(got->ev),
                got->detail);
    return got && got->ev == want ? got : NULL;
}

/* ---- set-up ---- */
static void lock_bs(void *ctx)
{
    pthread_mutex_lock(ctx);
}
static void unlock_bs(void *ctx)
{
    pthread_mutex_unlock(ctx);
}

static bool use_jailer; /* open_vmmctl() launches through picostack-jailer */

static struct vmmctl *open_vmmctl(void)
{
    char vmm[4200], jailer[4200];
    snprintf(vmm, sizeof(vmm), "%s/picostack-vmm", bindir);
    snprintf(jailer, sizeof(jailer), "%s/picostack-jailer", bindir);
    struct vmmctl_config cfg = {
        .run_dir = run,
        .vmm_path = vmm,
        .jailer_path = use_jailer ? jailer : NULL,
        .jail_uid_base = 991000,
        .console_cap = 64 << 10,
        .bs = bs,
        .bs_lock = { lock_bs, unlock_bs, &bs_mutex },
        .on_event = on_event,
    };
    struct vmmctl *v = NULL;
    struct vmmctl_err err = { "" };
    int rc = vmmctl_open(&cfg, &v, &err);
    if (rc < 0)
        fprintf(stderr, "vmmctl_open: %s\n", err.msg);
    REQUIRE(rc == 0);
    return v;
}

static void open_store(void)
{
    if (blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs) < 0)
        fprintf(stderr, "blockstore_open: %s\n", blockstore_error());
    REQUIRE(bs != NULL);
}

static void spec_for(struct vmm_spec *s, const char *id, const char *guest)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->kernel, sizeof(s->kernel), "%s/%s.elf", guestdir, guest);
    snprintf(s->cmdline, sizeof(s->cmdline), "console=ttyS0");
    s->cpus = 1;
    s->mem_mib = 32;
}

static void add_object_disk(struct vmm_spec *s, const char *object, const char *serial)
{
    struct vmm_spec_disk *d = &s->disks[s->ndisks++];
    snprintf(d->object, sizeof(d->object), "%s", object);
    snprintf(d->serial, sizeof(d->serial), "%s", serial);
}

static pid_t pid_of(const char *id)
{
    char path[4400], *text = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s/vmm.pid", run, id);
    if (t_read_file(path, &text, &len))
        return -1;
    pid_t p = (pid_t)atoi(text);
    free(text);
    return p;
}

static bool run_file_exists(const char *id, const char *name)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s%s%s", run, id, name ? "/" : "", name ? name : "");
    return access(path, F_OK) == 0;
}

/* The store can open the disk for writing: nobody holds it. */
static bool disk_free(const char *object)
{
    struct blockstore_disk *d = NULL;
    pthread_mutex_lock(&bs_mutex);
    int rc = blockstore_disk_open(bs, object, 0, &d);
    if (rc == 0)
        blockstore_disk_close(d);
    else
        fprintf(stderr, "disk %s: %s\n", object, blockstore_error());
    pthread_mutex_unlock(&bs_mutex);
    return rc == 0;
}

static void make_disk(const char *name, uint64_t size)
{
    pthread_mutex_lock(&bs_mutex);
    int rc = blockstore_create(bs, name, size);
    if (rc < 0)
        fprintf(stderr, "create %s: %s\n", name, blockstore_error());
    pthread_mutex_unlock(&bs_mutex);
    REQUIRE(rc == 0);
}

/* Waits until the console holds needle (the VMM writes it as it goes). */
static bool console_has(struct vmmctl *v, const char *id, const char *needle, double timeout_s)
{
    double end = now_s() + timeout_s;
    do {
        char *text = NULL;
        if (vmmctl_console_tail(v, id, 0, &text) == 0 && strstr(text, needle)) {
            free(text);
            return true;
        }
        free(text);
        usleep(20000);
    } while (now_s() < end);
    fprintf(stderr, "console of %s lacks \"%s\"\n", id, needle);
    return false;
}

static void start_ok(struct vmmctl *v, const struct vmm_spec *s)
{
    struct vmmctl_err err = { "" };
    int rc = vmmctl_start(v, s, &err);
    if (rc < 0)
        fprintf(stderr, "vmmctl_start %s: %s (%s)\n", s->id, strerror(-rc), err.msg);
    REQUIRE(rc == 0);
}

/* ---- the sub-tests ---- */

/* start -> RUNNING; console; kill -9 -> ERROR within 1 s; start again ->
 * vmmctl_kill -> KILLED with the disk released; a poweroff guest ->
 * POWEROFF. */
static void t_lifecycle(void)
{
    struct vmmctl *v = open_vmmctl();
    make_disk("vol-a", 8 << 20);
    struct vmm_spec s;
    spec_for(&s, "vm-a", "control");
    add_object_disk(&s, "vol-a", "vol-a-serial");
    int at = 0;
    start_ok(v, &s);
    CHECK(vmmctl_running(v, "vm-a"));
    CHECK(wait_event("vm-a", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(console_has(v, "vm-a", "picostack-guest: ready", 10));
    char *st = NULL;
    struct vmmctl_err err = { "" };
    CHECK(vmmctl_status(v, "vm-a", &st, &err) == 0 && st && strstr(st, "virtio-blk0"), "%s",
          err.msg);
    free(st);
    CHECK(!disk_free("vol-a")); /* the VMM holds it */
    struct vmm_spec dup = s;
    CHECK_EQ(vmmctl_start(v, &dup, &err), -EEXIST);

    /* kill -9 from outside: ERROR within a second, the disk back */
    pid_t pid = pid_of("vm-a");
    REQUIRE(pid > 0);
    double t0 = now_s();
    kill(pid, SIGKILL);
    const struct seen *e = wait_event("vm-a", &at, VMMCTL_ERROR, 5);
    CHECK(e && e->at - t0 < 1.0, "ERROR after %.3f s", e ? e->at - t0 : -1);
    CHECK(e && strstr(e->detail, "signal 9"), "%s", e ? e->detail : "");
    CHECK(!vmmctl_running(v, "vm-a"));
    CHECK(disk_free("vol-a"));
    CHECK(!run_file_exists("vm-a", "vmm.pid"));
    CHECK(run_file_exists("vm-a", "console.log")); /* kept for console log show */

    /* again, then vmmctl_kill: KILLED, gone when it returns */
    start_ok(v, &s);
    CHECK(wait_event("vm-a", &at, VMMCTL_RUNNING, 10) != NULL);
    pid = pid_of("vm-a");
    CHECK_EQ(vmmctl_kill(v, "vm-a", &err), 0);
    CHECK(kill(pid, 0) < 0 && errno == ESRCH, "the VMM is still there");
    CHECK(!vmmctl_running(v, "vm-a"));
    CHECK(disk_free("vol-a"));
    CHECK(wait_event("vm-a", &at, VMMCTL_KILLED, 5) != NULL);
    CHECK_EQ(vmmctl_kill(v, "vm-a", &err), -ENOENT);

    /* a guest that powers off by itself */
    spec_for(&s, "vm-off", "poweroff");
    int at2 = 0;
    start_ok(v, &s);
    const struct seen *first = wait_event("vm-off", &at2, VMMCTL_RUNNING, 10);
    /* it may end before it answered a status: RUNNING is then skipped */
    if (!first)
        at2 = 0;
    CHECK(wait_event("vm-off", &at2, VMMCTL_POWEROFF, 10) != NULL);
    CHECK(console_has(v, "vm-off", "powering off", 1));
    CHECK_EQ(vmmctl_forget(v, "vm-off"), 0);
    CHECK(!run_file_exists("vm-off", NULL));
    CHECK_EQ(vmmctl_forget(v, "vm-a"), 0);
    vmmctl_close(v);
}

/* A VM must have been started by this vmmctl to be reaped here; children
 * left are a bug (a failed start must leave no process). */
static bool no_children(void)
{
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p > 0)
        fprintf(stderr, "a child %d was left (and is now reaped)\n", (int)p);
    return p < 0 && errno == ECHILD;
}

/* Bad input: nothing left behind (no process, no RUN/<id>, disks free). */
static void t_bad(void)
{
    struct vmmctl *v = open_vmmctl();
    make_disk("vol-b", 8 << 20);
    struct vmm_spec s;
    struct vmmctl_err err = { "" };

    spec_for(&s, "vm-b", "control");
    snprintf(s.kernel, sizeof(s.kernel), "%s/no-such-kernel", dir);
    add_object_disk(&s, "vol-b", "b");
    CHECK_EQ(vmmctl_start(v, &s, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "no-such-kernel");
    CHECK(!run_file_exists("vm-b", NULL));
    CHECK(disk_free("vol-b"));

    spec_for(&s, "vm-b", "control");
    add_object_disk(&s, "no-such-object", "b");
    CHECK_EQ(vmmctl_start(v, &s, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "no-such-object");
    CHECK(!run_file_exists("vm-b", NULL));

    /* the first disk handed over, the second missing: the first is back */
    spec_for(&s, "vm-b", "control");
    add_object_disk(&s, "vol-b", "b");
    add_object_disk(&s, "no-such-object", "c");
    CHECK_EQ(vmmctl_start(v, &s, &err), -ENOENT);
    CHECK(disk_free("vol-b"));
    CHECK(!run_file_exists("vm-b", NULL));

    /* a tap that does not exist (in our namespace, then in a missing one) */
    spec_for(&s, "vm-b", "control");
    add_object_disk(&s, "vol-b", "b");
    snprintf(s.nets[0].tap, sizeof(s.nets[0].tap), "pstnotap%d", (int)getpid() % 10000);
    s.nnets = 1;
    CHECK_EQ(vmmctl_start(v, &s, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "pstnotap");
    snprintf(s.nets[0].netns, sizeof(s.nets[0].netns), "pst-no-such-ns-%d", (int)getpid());
    CHECK(vmmctl_start(v, &s, &err) < 0);
    CHECK_CONTAINS(err.msg, "pst-no-such-ns");
    CHECK(disk_free("vol-b"));
    CHECK(!run_file_exists("vm-b", NULL));

    /* malformed specs */
    spec_for(&s, "../etc", "control");
    CHECK_EQ(vmmctl_start(v, &s, &err), -EINVAL);
    spec_for(&s, "vm-b", "control");
    s.cpus = 0;
    CHECK_EQ(vmmctl_start(v, &s, &err), -EINVAL);
    spec_for(&s, "vm-b", "control");
    s.ndisks = 1; /* neither an object nor a path */
    CHECK_EQ(vmmctl_start(v, &s, &err), -EINVAL);
    spec_for(&s, "vm-b", "control");
    snprintf(s.disks[0].path, sizeof(s.disks[0].path), "%s/missing.img", dir);
    s.ndisks = 1;
    CHECK_EQ(vmmctl_start(v, &s, &err), -ENOENT);
    CHECK(no_children());
    CHECK(!run_file_exists("vm-b", NULL));

    /* a kernel the VMM refuses: the start returns, ERROR follows with the
     * VMM's own reason, and the disk is released */
    char junk[200];
    snprintf(junk, sizeof(junk), "%s/junk-kernel", dir);
    REQUIRE(t_write_file(junk, "this is not a kernel\n", 21, 0644) == 0);
    spec_for(&s, "vm-b", "control");
    snprintf(s.kernel, sizeof(s.kernel), "%s", junk);
    add_object_disk(&s, "vol-b", "b");
    int at = 0;
    start_ok(v, &s);
    const struct seen *e = wait_event("vm-b", &at, VMMCTL_ERROR, 10);
    CHECK(e && strstr(e->detail, "kernel"), "%s", e ? e->detail : "");
    CHECK(disk_free("vol-b"));
    CHECK(!vmmctl_running(v, "vm-b"));
    CHECK(no_children());
    CHECK(!run_file_exists("vm-b", "vmm.pid"));

    /* a host without /dev/kvm (a mount namespace with an empty /dev): a
     * plain -ENODEV before anything is made */
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/dev", "tmpfs", 0, NULL) < 0)
            _exit(3);
        struct vmmctl *nokvm = open_vmmctl();
        spec_for(&s, "vm-nokvm", "control");
        int rc = vmmctl_start(nokvm, &s, &err);
        fprintf(stderr, "without /dev/kvm: %d (%s)\n", rc, err.msg);
        _exit(rc == -ENODEV && strstr(err.msg, "/dev/kvm") && !run_file_exists("vm-nokvm", NULL)
                  ? 0
                  : 1);
    }
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

    /* unknown ids */
    CHECK_EQ(vmmctl_stop(v, "nope", 100, &err), -ENOENT);
    CHECK_EQ(vmmctl_pause(v, "nope", true, &err), -ENOENT);
    char *text = NULL;
    CHECK_EQ(vmmctl_console_tail(v, "nope", 10, &text), -ENOENT);
    CHECK_EQ(vmmctl_adopt(v, "nope", &err), 0);
    vmmctl_close(v);
}

/* vmmctl_stop: a guest that hears the power button powers off; one that
 * does not is killed at the deadline. */
static void t_stop(void)
{
    struct vmmctl *v = open_vmmctl();
    struct vmm_spec s;
    struct vmmctl_err err = { "" };
    int at = 0;
    spec_for(&s, "vm-btn", "pwrbtn");
    start_ok(v, &s);
    CHECK(wait_event("vm-btn", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(console_has(v, "vm-btn", "pwrbtn ready", 10));
    CHECK_EQ(vmmctl_stop(v, "vm-btn", 10000, &err), 0);
    CHECK(wait_event("vm-btn", &at, VMMCTL_POWEROFF, 10) != NULL);
    CHECK(console_has(v, "vm-btn", "power button (interrupts 1)", 1));

    spec_for(&s, "vm-deaf", "control"); /* knows no ACPI button */
    at = 0;
    start_ok(v, &s);
    CHECK(wait_event("vm-deaf", &at, VMMCTL_RUNNING, 10) != NULL);
    double t0 = now_s();
    CHECK_EQ(vmmctl_stop(v, "vm-deaf", 300, &err), 0);
    const struct seen *e = wait_event("vm-deaf", &at, VMMCTL_KILLED, 10);
    CHECK(e && e->at - t0 >= 0.3, "killed after %.3f s", e ? e->at - t0 : -1);
    CHECK(!vmmctl_running(v, "vm-deaf"));
    vmmctl_close(v);
}

/* Reboot soft (Ctrl-Alt-Del): the guest resets, vmmctl starts it again
 * (RESET, then RUNNING); pause and resume. */
static void t_reset(void)
{
    struct vmmctl *v = open_vmmctl();
    make_disk("vol-r", 8 << 20);
    struct vmm_spec s;
    struct vmmctl_err err = { "" };
    int at = 0;
    spec_for(&s, "vm-r", "control");
    add_object_disk(&s, "vol-r", "r");
    start_ok(v, &s);
    CHECK(wait_event("vm-r", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(console_has(v, "vm-r", "picostack-guest: count 1", 10));
    pid_t first = pid_of("vm-r");
    CHECK_EQ(vmmctl_reboot_soft(v, "vm-r", &err), 0);
    CHECK(wait_event("vm-r", &at, VMMCTL_RESET, 10) != NULL);
    CHECK(wait_event("vm-r", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(console_has(v, "vm-r", "ctrl-alt-del, resetting", 1));
    pid_t second = pid_of("vm-r");
    CHECK(second > 0 && second != first, "pid %d then %d", (int)first, (int)second);
    CHECK(!disk_free("vol-r")); /* handed over to the new VMM */

    char *st = NULL;
    CHECK_EQ(vmmctl_pause(v, "vm-r", true, &err), 0);
    CHECK(vmmctl_status(v, "vm-r", &st, &err) == 0 && st && strstr(st, "\"paused\""));
    free(st);
    CHECK_EQ(vmmctl_pause(v, "vm-r", false, &err), 0);
    CHECK(vmmctl_status(v, "vm-r", &st, &err) == 0 && st && strstr(st, "\"running\""));
    free(st);
    char *tail = NULL;
    CHECK_EQ(vmmctl_console_tail(v, "vm-r", 2, &tail), 0);
    int lines = 0;
    for (const char *p = tail; p && *p; p++)
        lines += *p == '\n';
    CHECK(lines == 2 && strstr(tail, "picostack-guest: "), "[%s]", tail ? tail : "");
    free(tail);
    /* volume extend while attached: the store's size, then the guest's */
    CHECK_EQ(vmmctl_disk_resize(v, "vm-r", 0, 16 << 20, &err), 0);
    CHECK(vmmctl_status(v, "vm-r", &st, &err) == 0 && st && strstr(st, "\"capacity\":16777216"),
          "%s", st ? st : err.msg);
    free(st);
    CHECK_EQ(vmmctl_disk_resize(v, "vm-r", 1, 16 << 20, &err), -EINVAL);
    CHECK_EQ(vmmctl_disk_resize(v, "vm-r", 0, 8 << 20, &err), -EINVAL); /* no shrinking */
    CHECK_EQ(vmmctl_kill(v, "vm-r", &err), 0);
    CHECK(disk_free("vol-r"));
    struct blockstore_info info;
    pthread_mutex_lock(&bs_mutex);
    CHECK(blockstore_info(bs, "vol-r", &info) == 0 && info.size == 16 << 20);
    pthread_mutex_unlock(&bs_mutex);
    vmmctl_close(v);
}

/* A daemon restart: vmmctl and the store closed and opened again. A VMM
 * that still runs is adopted (events, console, disk continue); one that
 * died meanwhile is cleaned up. */
static void t_adopt(void)
{
    struct vmmctl *v = open_vmmctl();
    make_disk("vol-live", 8 << 20);
    make_disk("vol-dead", 8 << 20);
    struct vmm_spec s;
    struct vmmctl_err err = { "" };
    int at = 0, at2 = 0;
    spec_for(&s, "vm-live", "control");
    add_object_disk(&s, "vol-live", "live");
    start_ok(v, &s);
    spec_for(&s, "vm-dead", "control");
    add_object_disk(&s, "vol-dead", "dead");
    start_ok(v, &s);
    CHECK(wait_event("vm-live", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(wait_event("vm-dead", &at2, VMMCTL_RUNNING, 10) != NULL);
    pid_t live = pid_of("vm-live"), dead = pid_of("vm-dead");

    vmmctl_close(v); /* the daemon goes ... */
    blockstore_close(bs);
    kill(dead, SIGKILL); /* ... one VMM dies meanwhile (init reaps it) */
    CHECK_EQ(waitpid(dead, NULL, 0), dead);
    open_store();
    v = open_vmmctl(); /* ... and comes back */

    CHECK_EQ(vmmctl_adopt(v, "vm-live", &err), 1);
    CHECK(vmmctl_running(v, "vm-live"));
    CHECK_EQ(vmmctl_adopt(v, "vm-live", &err), -EEXIST);
    CHECK(!disk_free("vol-live"));
    char *st = NULL;
    CHECK(vmmctl_status(v, "vm-live", &st, &err) == 0 && st);
    free(st);
    char *before = NULL;
    REQUIRE(vmmctl_console_tail(v, "vm-live", 0, &before) == 0);
    char *again = NULL;
    double end = now_s() + 5;
    size_t was = strlen(before);
    do {
        free(again);
        usleep(50000);
        REQUIRE(vmmctl_console_tail(v, "vm-live", 0, &again) == 0);
    } while (strlen(again) <= was && now_s() < end);
    CHECK(strlen(again) > was, "the console did not go on");
    free(before);
    free(again);

    CHECK_EQ(vmmctl_adopt(v, "vm-dead", &err), 0);
    CHECK(!vmmctl_running(v, "vm-dead"));
    CHECK(!run_file_exists("vm-dead", "vmm.pid"));
    CHECK(disk_free("vol-dead"));

    /* events go on for the adopted one: kill -9 -> ERROR within a second */
    at = 0;
    pthread_mutex_lock(&ev_lock);
    at = nevents;
    pthread_mutex_unlock(&ev_lock);
    double t0 = now_s();
    kill(live, SIGKILL);
    const struct seen *e = wait_event("vm-live", &at, VMMCTL_ERROR, 5);
    CHECK(e && e->at - t0 < 1.0, "ERROR after %.3f s", e ? e->at - t0 : -1);
    CHECK(disk_free("vol-live"));
    waitpid(live, NULL, 0); /* ours, from before the "restart" */
    vmmctl_close(v);
}

/* A block-store disk written past its first grant: vmmctl answers the
 * VMM's grant_wanted with more clusters, the guest's writes all land. */
static void t_grants(void)
{
    struct vmmctl *v = open_vmmctl();
    enum { FILL = 1100, FILL_AT = 2 << 20, CLUSTER = 64 << 10 };
    make_disk("vol-g", FILL_AT + (uint64_t)FILL * CLUSTER + (4 << 20));
    struct vmm_spec s;
    int at = 0;
    spec_for(&s, "vm-g", "virtioblk");
    snprintf(s.cmdline, sizeof(s.cmdline), "fill=%d", FILL);
    add_object_disk(&s, "vol-g", "grant-disk");
    start_ok(v, &s);
    const struct seen *e = NULL;
    for (int i = 0; i < 3 && !(e && e->ev == VMMCTL_POWEROFF); i++) {
        e = wait_event("vm-g", &at, i == 0 ? VMMCTL_RUNNING : VMMCTL_POWEROFF, 60);
        if (!e)
            break;
    }
    CHECK(e && e->ev == VMMCTL_POWEROFF);
    char want[64];
    snprintf(want, sizeof(want), "virtioblk: filled %d clusters", FILL);
    CHECK(console_has(v, "vm-g", want, 1));
    CHECK(console_has(v, "vm-g", "virtioblk: serial grant-disk", 1));
    struct blockstore_info info;
    pthread_mutex_lock(&bs_mutex);
    CHECK(blockstore_info(bs, "vol-g", &info) == 0 && info.allocated >= (FILL + 1ull) * CLUSTER,
          "allocated %llu", (unsigned long long)info.allocated);
    struct blockstore_disk *d = NULL;
    static uint8_t buf[CLUSTER];
    int bad = 0;
    REQUIRE(blockstore_disk_open(bs, "vol-g", BLOCKSTORE_RDONLY, &d) == 0);
    for (uint32_t k = 0; k < FILL; k += 97) {
        uint32_t got = ~0u;
        if (extmap_read(blockstore_disk_map(d), buf, FILL_AT + (uint64_t)k * CLUSTER, CLUSTER) < 0)
            bad++;
        memcpy(&got, buf, 4);
        bad += got != k || buf[4] != (uint8_t)(4 * 13 + 1);
    }
    blockstore_disk_close(d);
    pthread_mutex_unlock(&bs_mutex);
    CHECK_EQ(bad, 0);
    CHECK(disk_free("vol-g"));
    vmmctl_close(v);
}

/* A flushed write survives the VMM's kill: the `virtioblk` guest ("stay")
 * writes its pattern at 1 MiB of a clone, flushes, ticks; vmmctl_kill; the
 * store then holds the pattern (the journal folded at release), and the
 * guest's second run reads it back through a new VMM. */
static void t_persist(void)
{
    struct vmmctl *v = open_vmmctl();
    enum { AT = 1 << 20, CHUNK = 64 << 10 };
    /* a clone, as a server's boot volume is */
    make_disk("vol-pp", 8 << 20);
    pthread_mutex_lock(&bs_mutex);
    REQUIRE(blockstore_snapshot(bs, "vol-pp", "vol-ps") == 0);
    REQUIRE(blockstore_clone(bs, "vol-ps", "vol-p") == 0);
    pthread_mutex_unlock(&bs_mutex);
    struct vmm_spec s;
    struct vmmctl_err err = { "" };
    int at = 0;
    spec_for(&s, "vm-p", "virtioblk");
    snprintf(s.cmdline, sizeof(s.cmdline), "stay");
    add_object_disk(&s, "vol-p", "persist-disk");
    start_ok(v, &s);
    CHECK(wait_event("vm-p", &at, VMMCTL_RUNNING, 60));
    CHECK(console_has(v, "vm-p", "virtioblk: tick", 30));
    CHECK_EQ(vmmctl_kill(v, "vm-p", &err), 0);
    static uint8_t buf[CHUNK];
    uint8_t want[CHUNK];
    for (uint32_t i = 0; i < CHUNK; i++) /* the guest's pattern (virtioblk.c) */
        want[i] = (uint8_t)(i * 7 + i / 4096);
    struct blockstore_disk *d = NULL;
    pthread_mutex_lock(&bs_mutex);
    REQUIRE(blockstore_disk_open(bs, "vol-p", BLOCKSTORE_RDONLY, &d) == 0);
    CHECK(extmap_read(blockstore_disk_map(d), buf, AT, CHUNK) >= 0);
    blockstore_disk_close(d);
    pthread_mutex_unlock(&bs_mutex);
    CHECK(memcmp(buf, want, CHUNK) == 0, "the flushed pattern is not on disk after the kill");
    /* and a second run of the guest reads it back through its VMM */
    at = 0;
    start_ok(v, &s);
    char line[64];
    snprintf(line, sizeof(line), "virtioblk: at 1M %08lx", crc32(0, want, CHUNK));
    CHECK(console_has(v, "vm-p", line, 30), "second run: no '%s'", line);
    CHECK_EQ(vmmctl_kill(v, "vm-p", &err), 0);
    CHECK(disk_free("vol-p"));
    vmmctl_close(v);
}

static void t_persist_jail(void)
{
    use_jailer = true;
    t_persist();
}

/* A tap in a namespace of the test's own, handed over as --net fd=N. */
static void t_tap(void)
{
    char ns[32], cmd[320];
    snprintf(ns, sizeof(ns), "pst-vmmctl-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd),
             "ip netns add %s && ip -n %s tuntap add dev pstap0 mode tap vnet_hdr && "
             "ip -n %s link set pstap0 up",
             ns, ns, ns);
    REQUIRE(system(cmd) == 0);
    struct vmmctl *v = open_vmmctl();
    struct vmm_spec s;
    struct vmmctl_err err = { "" };
    int at = 0;
    spec_for(&s, "vm-net", "control");
    snprintf(s.nets[0].tap, sizeof(s.nets[0].tap), "pstap0");
    snprintf(s.nets[0].netns, sizeof(s.nets[0].netns), "%s", ns);
    memcpy(s.nets[0].mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
    s.nnets = 1;
    int rc = vmmctl_start(v, &s, &err);
    CHECK(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(wait_event("vm-net", &at, VMMCTL_RUNNING, 10) != NULL);
        char *st = NULL;
        CHECK(vmmctl_status(v, "vm-net", &st, &err) == 0 && st && strstr(st, "virtio-net"), "%s",
              st ? st : err.msg);
        free(st);
        /* the VMM holds the tap: it is attached (carrier up) */
        snprintf(cmd, sizeof(cmd), "ip -n %s link show pstap0 | grep -q LOWER_UP", ns);
        CHECK(system(cmd) == 0, "the tap has no carrier");
        CHECK_EQ(vmmctl_kill(v, "vm-net", &err), 0);
    }
    vmmctl_close(v);
    snprintf(cmd, sizeof(cmd), "ip netns del %s", ns);
    CHECK(system(cmd) == 0);
}

/* The VMM's process (the jailer's reaper's child, pid 1 of its namespace).
 * (/proc files have no size: read with stdio.) */
static pid_t jailed_vmm(pid_t reaper)
{
    char path[64];
    int p = -1;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)reaper, (int)reaper);
    FILE *f = fopen(path, "re");
    if (f && fscanf(f, "%d", &p) != 1)
        p = -1;
    if (f)
        fclose(f);
    return p;
}

/* Running (not gone, not a zombie waiting for init to reap it). */
static bool alive(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    bool r = false;
    if (f && fgets(line, sizeof(line), f)) {
        const char *p = strrchr(line, ')');
        r = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    }
    if (f)
        fclose(f);
    return r;
}

static unsigned uid_of(pid_t pid)
{
    char path[64], line[256];
    unsigned uid = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "Uid:", 4))
            uid = (unsigned)strtoul(line + 4, NULL, 10);
    if (f)
        fclose(f);
    return uid;
}

/* Through picostack-jailer (kvm/jail/): its own uid, in the chroot RUN/<id>
 * (its files seen as "/..."), kernel and raw disk as descriptors, a
 * block-store disk handed over; killed, kill -9'd and powered off. */
static void t_jail(void)
{
    char vmm[4200], jailer[4200], raw[200];
    snprintf(vmm, sizeof(vmm), "%s/picostack-vmm", bindir);
    snprintf(jailer, sizeof(jailer), "%s/picostack-jailer", bindir);
    snprintf(raw, sizeof(raw), "%s/raw.img", dir);
    static char zeros[1 << 20];
    REQUIRE(t_write_file(raw, zeros, sizeof(zeros), 0600) == 0);
    struct vmmctl_config cfg = {
        .run_dir = run,
        .vmm_path = vmm,
        .jailer_path = jailer,
        .jail_uid_base = 990000,
        .bs = bs,
        .bs_lock = { lock_bs, unlock_bs, &bs_mutex },
        .on_event = on_event,
    };
    struct vmmctl *v = NULL;
    struct vmmctl_err err = { "" };
    REQUIRE(vmmctl_open(&cfg, &v, &err) == 0);
    make_disk("vol-j", 8 << 20);
    struct vmm_spec s;
    int at = 0;
    spec_for(&s, "vm-j", "control");
    add_object_disk(&s, "vol-j", "j");
    snprintf(s.disks[1].path, sizeof(s.disks[1].path), "%s", raw);
    s.disks[1].read_only = true;
    s.ndisks = 2;
    start_ok(v, &s);
    CHECK(wait_event("vm-j", &at, VMMCTL_RUNNING, 10) != NULL);
    CHECK(console_has(v, "vm-j", "picostack-guest: ready", 10));
    pid_t inner = jailed_vmm(pid_of("vm-j"));
    CHECK(inner > 0 && uid_of(inner) == 990000, "the VMM %d runs as uid %u", (int)inner,
          inner > 0 ? uid_of(inner) : 0);
    char *st = NULL;
    CHECK(vmmctl_status(v, "vm-j", &st, &err) == 0 && st && strstr(st, "virtio-blk1"), "%s",
          st ? st : err.msg);
    free(st);
    CHECK_EQ(vmmctl_kill(v, "vm-j", &err), 0);
    CHECK(wait_event("vm-j", &at, VMMCTL_KILLED, 5) != NULL);
    CHECK(disk_free("vol-j"));
    CHECK(inner <= 0 || !alive(inner), "the jailed VMM outlived it");

    /* a second VM takes the first free uid, so vm-j started again gets the
     * next one: its console ring, still the old uid's, is handed to it (a
     * HARD reboot under Tempest failed "--console-log /console.log:
     * Permission denied"); kill -9 of the VMM -> ERROR */
    struct vmm_spec s2;
    int at2 = 0;
    spec_for(&s2, "vm-j2", "control");
    start_ok(v, &s2);
    start_ok(v, &s);
    CHECK(wait_event("vm-j2", &at2, VMMCTL_RUNNING, 10) != NULL);
    const struct seen *up = wait_event("vm-j", &at, VMMCTL_RUNNING, 10);
    CHECK(up != NULL, "vm-j did not run again");
    inner = jailed_vmm(pid_of("vm-j2"));
    CHECK(inner > 0 && uid_of(inner) == 990000, "uid %u", inner > 0 ? uid_of(inner) : 0);
    inner = jailed_vmm(pid_of("vm-j"));
    REQUIRE(inner > 0);
    CHECK(uid_of(inner) == 990001, "uid %u", uid_of(inner));
    kill(inner, SIGKILL);
    const struct seen *e = wait_event("vm-j", &at, VMMCTL_ERROR, 5);
    CHECK(e && strstr(e->detail, "signal 9"), "%s", e ? e->detail : "");
    CHECK(disk_free("vol-j"));
    CHECK_EQ(vmmctl_kill(v, "vm-j2", &err), 0);

    /* its exit file, written inside the chroot, says poweroff */
    spec_for(&s, "vm-j3", "poweroff");
    at = 0;
    start_ok(v, &s);
    e = wait_event("vm-j3", &at, VMMCTL_RUNNING, 10);
    if (!e)
        at = 0;
    CHECK(wait_event("vm-j3", &at, VMMCTL_POWEROFF, 10) != NULL);

    /* a daemon restart: the jailed VM is adopted, its VMM found again */
    spec_for(&s, "vm-j4", "control");
    add_object_disk(&s, "vol-j", "j");
    at = 0;
    start_ok(v, &s);
    CHECK(wait_event("vm-j4", &at, VMMCTL_RUNNING, 10) != NULL);
    pid_t reaper = pid_of("vm-j4");
    inner = jailed_vmm(reaper);
    vmmctl_close(v);
    blockstore_close(bs);
    open_store();
    cfg.bs = bs;
    REQUIRE(vmmctl_open(&cfg, &v, &err) == 0);
    CHECK_EQ(vmmctl_adopt(v, "vm-j4", &err), 1);
    CHECK(!disk_free("vol-j"));
    CHECK_EQ(vmmctl_kill(v, "vm-j4", &err), 0);
    CHECK(inner > 0 && !alive(inner), "the jailed VMM outlived it");
    CHECK(disk_free("vol-j"));
    waitpid(reaper, NULL, 0); /* ours, from before the "restart" */
    vmmctl_close(v);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "lifecycle", t_lifecycle },
    { "bad", t_bad },
    { "stop", t_stop },
    { "reset", t_reset },
    { "adopt", t_adopt },
    { "grants", t_grants },
    { "persist", t_persist },
    { "persist_jail", t_persist_jail },
    { "tap", t_tap },
    { "jail", t_jail },
};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_vmmctl BINDIR GUESTDIR NAME\n");
        return 2;
    }
    bindir = argv[1];
    guestdir = argv[2];
    int i = subtest_find(argv[3], tests, sizeof(tests) / sizeof(tests[0]), sizeof(tests[0]));
    if (i < 0)
        return 2;
    const char *tmp = t_tmpdir("picostack-vmmctl");
    if (strlen(tmp) >= sizeof(dir)) {
        fprintf(stderr, "%s: too long a path for the test's specs\n", tmp);
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s", tmp);
    snprintf(run, sizeof(run), "%s/vmm", dir);
    open_store();
    struct subtest_run r;
    subtest_begin(&r, argv[3]);
    tests[i].fn();
    blockstore_close(bs);
    return subtest_end(&r);
}
