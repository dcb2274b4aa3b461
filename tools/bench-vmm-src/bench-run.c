/* bench-run: runs one VMM once and times it, for tools/bench-vmm.
 *
 *   bench-run [--mark STR] [--mark2 STR] [--ram-mib N] [--kill-after-mark]
 *             [--timeout S] [--output FILE] [--sample-at-mark2] -- COMMAND...
 *
 * Starts COMMAND with its stdout on a pipe and prints one line:
 *   first_byte_ms=F mark_ms=M mark2_ms=M2 exit_ms=E status=S
 *   private_dirty_kb=P guest_ram_dirty_kb=G
 * F: exec to the first byte of serial output; M, M2: to the first
 * occurrence of each marker (-1 if never seen); E: to the process's end;
 * S: its exit status (128+N for signal N; -1 when it outlived SIGKILL
 * at --timeout by 10 s: then it is left behind); first_hex: its first output bytes. When --mark is seen, the VMM's
 * memory is sampled from /proc/PID/smaps: P is its Private_Dirty in all,
 * G the Private_Dirty of the anonymous mapping that is its guest RAM (the
 * largest one of at least --ram-mib MiB). --kill-after-mark: SIGKILL the
 * VMM 100 ms after the marker (for guests that never exit).
 * --output FILE: a copy of everything COMMAND wrote (the guest's serial
 * output, for tools/bench-virtio-blk and tools/bench-net).
 * --sample-at-mark2: take the memory sample at --mark2 instead (after the
 * guest's devices have done their work). With --mark2 the line also has
 *   host_cpu_ms=C guest_cpu_ms=G
 * the VMM's CPU time between the two markers, from /proc/PID/stat: G is the
 * time its vCPUs ran guest code, C the rest (utime + stime less G: exits,
 * device emulation, I/O threads), or -1 when a marker was not seen. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Sums Private_Dirty over all mappings and finds the guest RAM mapping. */
static void sample_memory(pid_t pid, long ram_kb, long *total, long *guest)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "r");
    *total = *guest = -1;
    if (!f)
        return;
    *total = 0;
    long size = 0, best = -1;
    int anon = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8];
        unsigned long long off;
        char dev[16];
        unsigned long inode;
        int name_at = 0;
        if (sscanf(line, "%lx-%lx %7s %llx %15s %lu %n", &lo, &hi, perms, &off, dev, &inode,
                   &name_at) >= 6 &&
            strchr(line, '-') < strchr(line, ' ')) {
            const char *name = line + name_at;
            anon = inode == 0 && (*name == '\n' || *name == 0);
            size = (hi - lo) / 1024;
            continue;
        }
        long kb;
        if (sscanf(line, "Private_Dirty: %ld kB", &kb) == 1) {
            *total += kb;
            if (anon && size >= ram_kb && size > best) {
                best = size;
                *guest = kb;
            }
        }
    }
    fclose(f);
}

/* The process's user+system and guest CPU time in ms (/proc/PID/stat
 * fields 14, 15 and 43), or -1. */
static void sample_cpu(pid_t pid, double *total_ms, double *guest_ms)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    *total_ms = *guest_ms = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return;
    unsigned long long v[44] = { 0 };
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok && field < 43; tok = strtok(NULL, " "))
        v[++field] = strtoull(tok, NULL, 10);
    if (field < 43)
        return;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *total_ms = (double)(v[14] + v[15]) * 1e3 / hz;
    *guest_ms = (double)v[43] * 1e3 / hz;
}

int main(int argc, char **argv)
{
    const char *mark = NULL, *mark2 = NULL;
    long ram_mib = 0;
    const char *output = NULL;
    int kill_after = 0, timeout_s = 600, at_mark2 = 0, i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--") && i + 1 < argc) {
            i++;
            break;
        } else if (!strcmp(argv[i], "--mark") && i + 1 < argc) {
            mark = argv[++i];
        } else if (!strcmp(argv[i], "--mark2") && i + 1 < argc) {
            mark2 = argv[++i];
        } else if (!strcmp(argv[i], "--ram-mib") && i + 1 < argc) {
            ram_mib = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_s = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--output") && i + 1 < argc) {
            output = argv[++i];
        } else if (!strcmp(argv[i], "--sample-at-mark2")) {
            at_mark2 = 1;
        } else if (!strcmp(argv[i], "--kill-after-mark")) {
            kill_after = 1;
        } else {
            fprintf(stderr, "usage: bench-run [--mark S] [--mark2 S] [--ram-mib N] "
                            "[--kill-after-mark] [--timeout S] [--output FILE] "
                            "[--sample-at-mark2] -- COMMAND...\n");
            return 2;
        }
    }
    if (i >= argc)
        return fprintf(stderr, "bench-run: no command\n"), 2;
    FILE *out = NULL;
    if (output && !(out = fopen(output, "we")))
        return fprintf(stderr, "bench-run: %s: %s\n", output, strerror(errno)), 1;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return perror("pipe"), 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    double t0 = now_ms();
    int r = posix_spawnp(&pid, argv[i], &fa, NULL, argv + i, environ);
    posix_spawn_file_actions_destroy(&fa); /* (LeakSanitizer's exit skips stdio's flush) */
    if (r)
        return fprintf(stderr, "bench-run: %s: %s\n", argv[i], strerror(r)), 1;
    close(p[1]);
    double first = -1, t_mark = -1, t_mark2 = -1, kill_at = -1, timed_out = -1;
    int gave_up = 0;
    long total = -1, guest = -1;
    double cpu0 = -1, guest0 = -1, cpu1 = -1, guest1 = -1;
    char window[4096], first_hex[32] = "-";
    size_t wlen = 0;
    for (;;) {
        struct pollfd pfd = { p[0], POLLIN, 0 };
        int pr = poll(&pfd, 1, 10);
        double t = now_ms();
        if (kill_at > 0 && t >= kill_at) {
            kill(pid, SIGKILL);
            kill_at = -1;
        }
        if (timed_out < 0 && t - t0 > timeout_s * 1e3) {
            kill(pid, SIGKILL);
            fprintf(stderr, "bench-run: timed out after %d s\n", timeout_s);
            timed_out = t;
        }
        /* A process stuck in the kernel survives SIGKILL (or a child of it
         * holds the pipe): give up on it rather than hang its caller. */
        if (timed_out >= 0 && t - timed_out > 10e3) {
            fprintf(stderr, "bench-run: still running 10 s after SIGKILL; leaving it\n");
            gave_up = 1;
            break;
        }
        if (pr <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof(buf));
        if (n <= 0)
            break;
        if (out && fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            fprintf(stderr, "bench-run: writing %s: %s\n", output, strerror(errno));
            fclose(out);
            out = NULL;
        }
        if (first < 0) {
            first = t - t0;
            for (ssize_t k = 0; k < n && k < 12; k++)
                snprintf(first_hex + 2 * k, 3, "%02x", (unsigned char)buf[k]);
        }
        /* Keep the tail of the output to find markers split across reads. */
        if (wlen + n > sizeof(window) - 1) {
            size_t keep = 256 < wlen ? 256 : wlen;
            memmove(window, window + wlen - keep, keep);
            wlen = keep;
        }
        size_t take = (size_t)n < sizeof(window) - 1 - wlen ? (size_t)n : sizeof(window) - 1 - wlen;
        memcpy(window + wlen, buf, take);
        wlen += take;
        window[wlen] = 0;
        if (mark && t_mark < 0 && memmem(window, wlen, mark, strlen(mark))) {
            t_mark = t - t0;
            sample_cpu(pid, &cpu0, &guest0);
            if (!at_mark2)
                sample_memory(pid, ram_mib * 1024, &total, &guest);
            if (kill_after)
                kill_at = now_ms() + 100;
        }
        if (mark2 && t_mark2 < 0 && memmem(window, wlen, mark2, strlen(mark2))) {
            t_mark2 = t - t0;
            sample_cpu(pid, &cpu1, &guest1);
            if (at_mark2)
                sample_memory(pid, ram_mib * 1024, &total, &guest);
        }
    }
    int st = 0;
    pid_t w;
    while ((w = waitpid(pid, &st, gave_up ? WNOHANG : 0)) < 0 && errno == EINTR)
        ;
    double t_exit = now_ms() - t0;
    int failed = out && fclose(out) != 0;
    int status = w != pid ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    int cpu_ok = cpu0 >= 0 && cpu1 >= 0;
    printf("first_byte_ms=%.2f mark_ms=%.2f mark2_ms=%.2f exit_ms=%.2f status=%d "
           "private_dirty_kb=%ld guest_ram_dirty_kb=%ld first_hex=%s host_cpu_ms=%.0f "
           "guest_cpu_ms=%.0f\n",
           first, t_mark, t_mark2, t_exit, status, total, guest, first_hex,
           cpu_ok ? (cpu1 - guest1) - (cpu0 - guest0) : -1.0, cpu_ok ? guest1 - guest0 : -1.0);
    fflush(stdout);
    if (failed)
        fprintf(stderr, "bench-run: %s: %s\n", output, strerror(errno));
    return failed;
}
