/*
 * kvm-calibrate: how fast does /dev/kvm run guest kernel-mode code here?
 *
 * The with-kvm harness (docs/ARCHITECTURE.md, "How tests reach KVM on any machine") runs KVM tests
 * directly only where /dev/kvm runs guest code at hardware speed. On some of
 * this project's machines /dev/kvm is a nested kind (PVM) that emulates guest
 * CPL0 code at about a million instructions per second; on others it is
 * missing. This program tells them apart: it runs a real-mode
 * `dec ecx; jnz` loop in a one-vCPU guest for a short, timer-bounded window
 * and prints the rate.
 *
 *   kvm-calibrate [--class] [--window-ms MS] [--device PATH]
 *       prints "kvm-calibrate: CLASS: ..." (or only CLASS with --class), where
 *       CLASS is fast, slow or absent; exits 0 once it has classified.
 *       (--device names another KVM device than /dev/kvm, for tests.)
 *   kvm-calibrate --run ITERATIONS [--timeout S] [--device PATH]
 *       runs the loop to its end and checks that the guest executed all
 *       ITERATIONS, wrote 0x5a to port 0xe9 and halted; exits 0 only then.
 *       (The harness's own smoke test inside the TCG guest.)
 *
 * Exit codes: 0 classified / run checked, 1 run check failed or KVM error
 * in --run mode, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* At or above this many guest instructions per second, /dev/kvm is taken to
 * run at hardware speed. Hardware runs this loop at several billion (one
 * iteration per cycle); the KVM inside the with-kvm TCG guest at about 400
 * million (QEMU translates the real-mode loop); PVM's emulated CPL0 at one
 * or two million. */
#define FAST_INSTR_PER_S 1000e6

#define GUEST_MEM_SIZE 0x10000
#define CODE_ADDR      0x1000
#define DONE_PORT      0xe9
#define DONE_VALUE     0x5a

struct guest {
    int kvm_fd, vm_fd, vcpu_fd;
    uint8_t *mem;
    struct kvm_run *run;
    size_t run_size;
};

/* Set from the SIGALRM handler: makes a KVM_RUN that has not entered the
 * guest yet return at once, so a timer firing between two KVM_RUN calls is
 * never lost. */
static const char *kvm_device = "/dev/kvm";
static struct kvm_run *volatile alarm_run;
static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_fired = 1;
    if (alarm_run)
        alarm_run->immediate_exit = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The guest, 16-bit real mode at CODE_ADDR:
 *   mov ecx, ITER ; l: dec ecx ; jnz l ; mov al, 0x5a ; out 0xe9, al ; hlt */
static void write_code(uint8_t *mem, uint32_t iterations)
{
    const uint8_t code[] = {
        0x66, 0xb9,       0, 0, 0, 0, /* mov ecx, imm32           */
        0x66, 0x49,                   /* l: dec ecx               */
        0x75, 0xfc,                   /* jnz l                    */
        0xb0, DONE_VALUE,             /* mov al, DONE_VALUE       */
        0xe6, DONE_PORT,              /* out DONE_PORT, al        */
        0xf4,                         /* hlt                      */
    };
    memcpy(mem + CODE_ADDR, code, sizeof(code));
    memcpy(mem + CODE_ADDR + 2, &iterations, sizeof(iterations));
}

static void guest_close(struct guest *g)
{
    if (g->run)
        munmap(g->run, g->run_size);
    if (g->mem)
        munmap(g->mem, GUEST_MEM_SIZE);
    if (g->vcpu_fd >= 0)
        close(g->vcpu_fd);
    if (g->vm_fd >= 0)
        close(g->vm_fd);
    if (g->kvm_fd >= 0)
        close(g->kvm_fd);
}

/* Sets up a VM with one vCPU at CODE_ADDR in real mode. On failure returns
 * -errno and names the failing step in *what. */
static int guest_open(struct guest *g, uint32_t iterations, const char **what)
{
    struct kvm_userspace_memory_region region;
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int ret, size;

    *g = (struct guest){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
#define STEP(name, expr)   \
    do {                   \
        *what = (name);    \
        if ((expr) < 0)    \
            return -errno; \
    } while (0)
    STEP("open", g->kvm_fd = open(kvm_device, O_RDWR | O_CLOEXEC));
    STEP("KVM_GET_API_VERSION", ret = ioctl(g->kvm_fd, KVM_GET_API_VERSION, 0));
    if (ret != KVM_API_VERSION)
        return -EPROTO;
    STEP("KVM_CREATE_VM", g->vm_fd = ioctl(g->kvm_fd, KVM_CREATE_VM, 0));
    /* Intel without unrestricted guest needs a TSS for real mode. */
    STEP("KVM_SET_TSS_ADDR", ioctl(g->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL));
    *what = "mmap guest memory";
    g->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (g->mem == MAP_FAILED) {
        g->mem = NULL;
        return -errno;
    }
    write_code(g->mem, iterations);
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = GUEST_MEM_SIZE,
        .userspace_addr = (uintptr_t)g->mem,
    };
    STEP("KVM_SET_USER_MEMORY_REGION", ioctl(g->vm_fd, KVM_SET_USER_MEMORY_REGION, &region));
    STEP("KVM_CREATE_VCPU", g->vcpu_fd = ioctl(g->vm_fd, KVM_CREATE_VCPU, 0));
    STEP("KVM_GET_VCPU_MMAP_SIZE", size = ioctl(g->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
    *what = "mmap kvm_run";
    g->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu_fd, 0);
    if (g->run == MAP_FAILED) {
        g->run = NULL;
        return -errno;
    }
    g->run_size = size;
    STEP("KVM_GET_SREGS", ioctl(g->vcpu_fd, KVM_GET_SREGS, &sregs));
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    STEP("KVM_SET_SREGS", ioctl(g->vcpu_fd, KVM_SET_SREGS, &sregs));
    regs = (struct kvm_regs){ .rip = CODE_ADDR, .rflags = 0x2 };
    STEP("KVM_SET_REGS", ioctl(g->vcpu_fd, KVM_SET_REGS, &regs));
#undef STEP
    return 0;
}

struct outcome {
    bool halted;         /* reached the final hlt */
    bool port_written;   /* wrote DONE_VALUE to DONE_PORT */
    bool interrupted;    /* the timer cut the run short */
    uint64_t iterations; /* loop iterations executed */
    double seconds;      /* wall time spent in KVM_RUN */
};

/* Runs the vCPU until hlt or until the interval timer fires. */
static int guest_run(struct guest *g, uint32_t iterations, double limit_s, struct outcome *out,
                     const char **what)
{
    struct itimerval timer = { 0 };
    struct sigaction sa = { .sa_handler = on_alarm };
    struct kvm_regs regs;
    double start;
    int ret = 0;

    *out = (struct outcome){ 0 };
    alarm_fired = 0;
    g->run->immediate_exit = 0;
    sigemptyset(&sa.sa_mask);
    *what = "sigaction";
    if (sigaction(SIGALRM, &sa, NULL) < 0) /* no SA_RESTART: KVM_RUN gets EINTR */
        return -errno;
    alarm_run = g->run;
    timer.it_value.tv_sec = (time_t)limit_s;
    timer.it_value.tv_usec = (suseconds_t)((limit_s - (time_t)limit_s) * 1e6);
    timer.it_interval.tv_usec = 10000; /* keeps firing until disarmed */
    *what = "setitimer";
    if (setitimer(ITIMER_REAL, &timer, NULL) < 0)
        return -errno;

    start = now_s();
    while (!out->halted) {
        *what = "KVM_RUN";
        if (ioctl(g->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR && alarm_fired) {
                out->interrupted = true;
                break;
            }
            if (errno == EINTR || errno == EAGAIN)
                continue;
            ret = -errno;
            break;
        }
        switch (g->run->exit_reason) {
        case KVM_EXIT_HLT: out->halted = true; break;
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)g->run + g->run->io.data_offset;
            if (g->run->io.direction == KVM_EXIT_IO_OUT && g->run->io.port == DONE_PORT &&
                g->run->io.size == 1 && *data == DONE_VALUE)
                out->port_written = true;
            break;
        }
        default:
            fprintf(stderr, "kvm-calibrate: unexpected exit reason %u\n", g->run->exit_reason);
            *what = "guest exit";
            ret = -EIO;
            break;
        }
        if (ret < 0)
            break;
    }
    out->seconds = now_s() - start;
    timer = (struct itimerval){ 0 };
    setitimer(ITIMER_REAL, &timer, NULL);
    alarm_run = NULL;
    if (ret < 0)
        return ret;

    *what = "KVM_GET_REGS";
    if (ioctl(g->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return -errno;
    /* ecx counts down from `iterations` (and is 0 once the loop ended). */
    out->iterations = iterations - (uint32_t)regs.rcx;
    return 0;
}

/* Points the vCPU at the start of the loop again. */
static int guest_restart(struct guest *g, const char **what)
{
    struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 0x2 };

    *what = "KVM_SET_REGS";
    return ioctl(g->vcpu_fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

/* The best of WINDOWS short runs counts, so that a host that deschedules
 * us for part of the time (a loaded CI machine) is not taken for slow. A
 * rate below a hundredth of "fast" is emulation, not scheduling: no need to
 * look again (on PVM, where each window also takes longest). */
#define WINDOWS      4
#define CLEARLY_SLOW (FAST_INSTR_PER_S / 100)

static int classify(double window_s, bool class_only)
{
    const uint32_t iterations = 0xffffffffu; /* more than any window allows */
    struct outcome out, best = { 0 };
    struct guest g;
    const char *what = "";
    const char *class;
    double rate = 0;
    int ret, i;

    ret = guest_open(&g, iterations, &what);
    for (i = 0; ret == 0 && i < WINDOWS; i++) {
        ret = guest_restart(&g, &what);
        if (ret == 0)
            ret = guest_run(&g, iterations, window_s / WINDOWS, &out, &what);
        if (ret == 0 && out.seconds > 0 && 2.0 * out.iterations / out.seconds > rate) {
            rate = 2.0 * out.iterations / out.seconds;
            best = out;
        }
        if (ret == 0 && rate < CLEARLY_SLOW) {
            i++;
            break;
        }
    }
    guest_close(&g);
    if (ret < 0) {
        if (class_only)
            printf("absent\n");
        else
            printf("kvm-calibrate: absent: %s %s: %s\n", kvm_device, what, strerror(-ret));
        return 0;
    }
    /* rate: dec + jnz per iteration */
    class = rate >= FAST_INSTR_PER_S ? "fast" : "slow";
    if (class_only)
        printf("%s\n", class);
    else
        printf("kvm-calibrate: %s: %.1f M instructions/s (best of %d window(s): %" PRIu64
               " instructions in %.3f s; fast means >= %.0f M/s)\n",
               class, rate / 1e6, i, 2 * best.iterations, best.seconds, FAST_INSTR_PER_S / 1e6);
    return 0;
}

static int run_checked(uint32_t iterations, double timeout_s)
{
    struct outcome out;
    struct guest g;
    const char *what = "";
    int ret;

    ret = guest_open(&g, iterations, &what);
    if (ret == 0)
        ret = guest_run(&g, iterations, timeout_s, &out, &what);
    guest_close(&g);
    if (ret < 0) {
        fprintf(stderr, "kvm-calibrate: %s %s: %s\n", kvm_device, what, strerror(-ret));
        return 1;
    }
    printf("kvm-calibrate: guest ran %" PRIu64 " of %" PRIu32
           " iterations in %.3f s (%.1f M instructions/s), port 0x%x %s, %s\n",
           out.iterations, iterations, out.seconds,
           out.seconds > 0 ? 2.0 * out.iterations / out.seconds / 1e6 : 0.0, DONE_PORT,
           out.port_written ? "written" : "NOT written",
           out.halted        ? "halted"
           : out.interrupted ? "TIMED OUT"
                             : "did not halt");
    if (!out.halted || !out.port_written || out.iterations != iterations) {
        fprintf(stderr, "kvm-calibrate: FAIL: the guest did not run the loop to its end\n");
        return 1;
    }
    printf("kvm-calibrate: OK\n");
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kvm-calibrate [--class] [--window-ms MS] [--device PATH]\n"
                    "       kvm-calibrate --run ITERATIONS [--timeout SECONDS] [--device PATH]\n");
    return 2;
}

static bool parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && *out > 0 && *out <= max;
}

int main(int argc, char **argv)
{
    unsigned long long window_ms = 200, timeout_s = 60, iterations = 0;
    bool class_only = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(arg, "--class") == 0) {
            class_only = true;
        } else if (strcmp(arg, "--window-ms") == 0 && val) {
            if (!parse_num(val, 10000, &window_ms))
                return usage();
            i++;
        } else if (strcmp(arg, "--run") == 0 && val) {
            if (!parse_num(val, 0xffffffffu, &iterations))
                return usage();
            i++;
        } else if (strcmp(arg, "--device") == 0 && val) {
            kvm_device = val;
            i++;
        } else if (strcmp(arg, "--timeout") == 0 && val) {
            if (!parse_num(val, 3600, &timeout_s))
                return usage();
            i++;
        } else {
            return usage();
        }
    }
    if (iterations)
        return run_checked((uint32_t)iterations, (double)timeout_s);
    return classify(window_ms / 1000.0, class_only);
}
