/* One dnsmasq per network with DHCP, run in the network's DHCP namespace,
 * daemonised (it outlives picostackd, as guests' leases must) and found
 * again through its pid file: RUN/dhcp-<N>.{conf,hosts,pid,leases}. Host
 * changes are a rewritten hosts file and SIGHUP; a changed configuration is
 * a restart. */
#include "core/networks/dp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void dp_dnsmasq_path(const struct net_dp *dp, long idx, const char *what, char *out, size_t len)
{
    snprintf(out, len, "%s/dhcp-%ld.%s", dp->run_dir, idx, what);
}

/* The file's content (malloc'd, NUL-terminated) or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (m)
        fclose(m);
    return buf;
}

/* Atomic replace (write + rename), world-readable: dnsmasq rereads the
 * hosts file after dropping its privileges. */
static int write_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

pid_t dp_dnsmasq_running(const struct net_dp *dp, long idx)
{
    char path[512], conf[512], proc[64];
    dp_dnsmasq_path(dp, idx, "pid", path, sizeof path);
    dp_dnsmasq_path(dp, idx, "conf", conf, sizeof conf);
    char *text = slurp(path);
    pid_t pid = text ? (pid_t)atol(text) : 0;
    free(text);
    if (pid <= 0)
        return 0;
    /* Ours: its command line names our configuration file. */
    snprintf(proc, sizeof proc, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(proc, "re");
    if (!f)
        return 0;
    char cmd[1024];
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!cmd[i])
            cmd[i] = ' ';
    cmd[n] = 0;
    return strstr(cmd, conf) ? pid : 0;
}

static int start(struct net_dp *dp, long idx, const char *ns)
{
    char conf[512], arg[600], pidpath[512];
    dp_dnsmasq_path(dp, idx, "conf", conf, sizeof conf);
    dp_dnsmasq_path(dp, idx, "pid", pidpath, sizeof pidpath);
    unlink(pidpath);
    snprintf(arg, sizeof arg, "--conf-file=%s", conf);
    int nsfd = dp_ns_fd(ns);
    if (nsfd < 0)
        return nsfd;
    pid_t child = fork();
    if (child < 0) {
        close(nsfd);
        return -errno;
    }
    if (child == 0) {
        /* picostackd blocks SIGTERM and SIGINT in every thread (it takes
         * them with sigwait) and a mask outlives exec: dnsmasq would never
         * see the SIGTERM that stops it, and outlive its network. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (setns(nsfd, CLONE_NEWNET))
            _exit(126);
        char *const argv[] = { dp->dnsmasq, arg, NULL };
        execv(dp->dnsmasq, argv);
        _exit(127);
    }
    close(nsfd);
    /* dnsmasq forks into the background; the first process exits once the
     * daemon is set up (sockets bound, pid file written). */
    int status = 0;
    if (waitpid(child, &status, 0) < 0)
        return -errno;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "picostack: dnsmasq for network %ld exited with status %d\n", idx,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return -EIO;
    }
    for (int i = 0; i < 100; i++) {
        if (dp_dnsmasq_running(dp, idx))
            return 0;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return -ETIMEDOUT;
}

/* SIGTERM, a second for dnsmasq to go, then SIGKILL. */
static void stop_pid(pid_t pid)
{
    int sig = SIGTERM;
    for (int tries = 0; tries < 2; tries++, sig = SIGKILL) {
        kill(pid, sig);
        for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        if (kill(pid, 0) != 0)
            return;
    }
    fprintf(stderr, "picostack: dnsmasq %d did not stop\n", (int)pid);
}

static struct dp_dnsmasq *entry(struct net_dp *dp, long idx, bool make)
{
    for (unsigned i = 0; i < dp->n_dns; i++)
        if (dp->dns[i].net_index == idx)
            return &dp->dns[i];
    if (!make || dp->n_dns == DP_MAX_DNSMASQ)
        return NULL;
    dp->dns[dp->n_dns] = (struct dp_dnsmasq){ .net_index = idx };
    return &dp->dns[dp->n_dns++];
}

int dp_dnsmasq_ensure(struct net_dp *dp, long idx, const char *ns, const char *conf,
                      const char *hosts)
{
    char cpath[512], hpath[512];
    dp_dnsmasq_path(dp, idx, "conf", cpath, sizeof cpath);
    dp_dnsmasq_path(dp, idx, "hosts", hpath, sizeof hpath);
    char *old_conf = slurp(cpath), *old_hosts = slurp(hpath);
    bool conf_same = old_conf && strcmp(old_conf, conf) == 0;
    bool hosts_same = old_hosts && strcmp(old_hosts, hosts) == 0;
    free(old_conf);
    free(old_hosts);
    int rc = 0;
    if (!hosts_same)
        rc = write_file(hpath, hosts);
    pid_t pid = dp_dnsmasq_running(dp, idx);
    if (!rc && pid && !conf_same) {
        stop_pid(pid);
        pid = 0;
    }
    if (!rc && !conf_same)
        rc = write_file(cpath, conf);
    if (!rc && !pid)
        rc = start(dp, idx, ns);
    else if (!rc && !hosts_same && kill(pid, SIGHUP))
        rc = -errno;
    struct dp_dnsmasq *e = entry(dp, idx, true);
    if (e) {
        e->wanted = true;
        e->pid = dp_dnsmasq_running(dp, idx);
    }
    return rc;
}

int dp_dnsmasq_stop(struct net_dp *dp, long idx)
{
    pid_t pid = dp_dnsmasq_running(dp, idx);
    if (pid)
        stop_pid(pid);
    static const char *const what[] = { "conf", "hosts", "pid", "leases", NULL };
    for (size_t i = 0; what[i]; i++) {
        char path[512];
        dp_dnsmasq_path(dp, idx, what[i], path, sizeof path);
        unlink(path);
    }
    struct dp_dnsmasq *e = entry(dp, idx, false);
    if (e)
        e->wanted = false;
    return 0;
}

int net_dp_supervise(struct net_dp *dp)
{
    int restarted = 0;
    pthread_mutex_lock(&dp->lock);
    for (unsigned i = 0; i < dp->n_dns; i++) {
        struct dp_dnsmasq *e = &dp->dns[i];
        if (!e->wanted || dp_dnsmasq_running(dp, e->net_index))
            continue;
        char ns[64];
        snprintf(ns, sizeof ns, "%s-dhcp-%ld", dp->prefix, e->net_index);
        if (start(dp, e->net_index, ns) == 0)
            restarted++;
        e->pid = dp_dnsmasq_running(dp, e->net_index);
    }
    pthread_mutex_unlock(&dp->lock);
    return restarted;
}
