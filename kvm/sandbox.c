#include "kvm/sandbox.h"

#include <errno.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

bool vmm_sandbox_available(void)
{
#ifdef SANITIZED
    return false;
#else
    return true;
#endif
}

#ifndef SANITIZED
/* SIGSYS: say which call was refused, then die. Only async-signal-safe
 * calls here. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    char msg[96] = "\r\npicostack-vmm: sandbox: forbidden system call ";
    size_t n = strlen(msg);
    int nr = si->si_syscall;
    char digits[12];
    int d = 0;
    do
        digits[d++] = '0' + nr % 10;
    while ((nr /= 10) && d < 11);
    while (d && n < sizeof(msg) - 2)
        msg[n++] = digits[--d];
    msg[n++] = '\n';
    if (write(STDERR_FILENO, msg, n) < 0) {
        /* nothing left to try */
    }
    _exit(1);
}

/* Calls allowed with any arguments. */
static const int plain[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close), SCMP_SYS(futex), SCMP_SYS(io_uring_enter),
    SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), /* the control socket: grant's data-file descriptors */
    SCMP_SYS(sendto), SCMP_SYS(accept4), SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(munmap),
    SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(unlink), SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield),
    SCMP_SYS(restart_syscall), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(getrandom),
    SCMP_SYS(sched_getaffinity), SCMP_SYS(timerfd_settime),
    SCMP_SYS(eventfd2), /* irq sinks and devices binding irqfds/ioeventfds at run time */
    /* a block-store disk's journal (extmap_flush: append, then make it
     * durable; data goes through io_uring) and the rest of a short write;
     * a raw disk grown by disk-resize */
    SCMP_SYS(pwrite64), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
    SCMP_SYS(pread64), /* --console-log: the ring file's turn-over copies PATH to PATH.1 */
    SCMP_SYS(writev),  /* virtio-net: a guest frame to its tap, header and buffers in place */
};

/* ioctls: the vCPU loop, interrupt lines, MSIs and their routes, irqfds
 * and ioeventfds (bound when the guest programs a device), crash dumps, the
 * terminal. */
static const unsigned long ioctls[] = {
    KVM_RUN,       KVM_IRQ_LINE,  KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING,
    KVM_IRQFD,     KVM_IOEVENTFD, KVM_GET_REGS,   KVM_GET_SREGS,
    TCGETS,        TCSETS,        TCSETSW,        TCSETSF,
    TUNSETOFFLOAD, /* virtio-net: the offloads the guest accepted, at DRIVER_OK */
    TUNSETQUEUE,   /* virtio-net MQ: tap queues of the pairs the guest uses */
};

#endif

/* What the C library and jansson would otherwise open on first use, done
 * now: time zone data (gmtime_r/timegm in the RTC) and the hash seed
 * (/dev/urandom). */
static void preload(void)
{
    tzset();
    json_object_seed(0);
}

int vmm_sandbox_enter(verr_t *err)
{
    preload();
#ifdef SANITIZED
    (void)err;
    return 0;
#else
    struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return verr_set(err, errno, "sigaction(SIGSYS): %s", strerror(errno));
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return verr_set(err, ENOMEM, "seccomp_init failed");
    int r = 0;
    for (size_t i = 0; !r && i < sizeof(plain) / sizeof(plain[0]); i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
    for (size_t i = 0; !r && i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_EQ, ioctls[i]));
    /* Memory for threads and the allocator, never executable. */
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* Threads only (glibc falls back to clone if clone3 is refused). */
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                             SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
    /* every thread, also those started before (a disk's I/O thread) */
    if (!r)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (!r)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r)
        return verr_set(err, -r, "installing the seccomp filter: %s", strerror(-r));
    return 0;
#endif
}
