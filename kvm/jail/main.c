/* picostack-jailer: main(). The manual is kvm/jail/jail.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/jail/jail.h"

#define PROG "picostack-jailer"

extern char **environ;

static void say(const char *what, const verr_t *err)
{
    fprintf(stderr, PROG ": %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
}

/* The signals the reaper forwards; SIGCHLD tells it the VMM ended. */
static void reaper_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

static int drop_privileges(const struct jail_opts *o, verr_t *err)
{
    if (setgroups(0, NULL) < 0)
        return verr_set(err, errno, "setgroups: %s", strerror(errno));
    if (setresgid(o->gid, o->gid, o->gid) < 0)
        return verr_set(err, errno, "setresgid %u: %s", (unsigned)o->gid, strerror(errno));
    if (setresuid(o->uid, o->uid, o->uid) < 0)
        return verr_set(err, errno, "setresuid %u: %s", (unsigned)o->uid, strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return verr_set(err, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    return 0;
}

/* The child: joins the cgroup, enters the namespaces, builds its root,
 * drops privileges and becomes the VMM. Never returns. */
static void become_vmm(const struct jail_opts *o, const char *leaf, int exec_fd, int alive,
                       const sigset_t *vmm_mask)
{
    verr_t err = { "" };
    int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (o->netns ? CLONE_NEWNET : 0);
    if (leaf[0] && jail_cgroup_join(leaf, &err))
        goto fail;
    if (unshare(flags) < 0) {
        verr_set(&err, errno, "unshare (mount, IPC, UTS%s namespaces): %s",
                 o->netns ? ", network" : "", strerror(errno));
        goto fail;
    }
    if (jail_make_root(o, &err) || drop_privileges(o, &err))
        goto fail;
    /* after the credentials changed (which clears it); then make sure the
     * reaper did not die before it was set */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        verr_set(&err, errno, "PR_SET_PDEATHSIG: %s", strerror(errno));
        goto fail;
    }
    struct pollfd p = { .fd = alive, .events = POLLIN };
    if (poll(&p, 1, 0) != 0)
        _exit(JAIL_EXIT_SETUP);
    sigprocmask(SIG_SETMASK, vmm_mask, NULL);
    fexecve(exec_fd, o->vmm_argv, environ);
    verr_set(&err, errno, "exec %s: %s", o->exec, strerror(errno));
fail:
    say("setting up the jail", &err);
    _exit(JAIL_EXIT_SETUP);
}

/* Closes every descriptor from 3 up but keep (the reaper holds none of
 * the VMM's). */
static void close_all_but(int keep)
{
    if (keep > 3)
        close_range(3, keep - 1, 0);
    close_range(keep < 3 ? 3 : keep + 1, ~0U, 0);
}

/* Waits for the VMM, forwarding signals to it: its exit status, or 128 +
 * the signal that ended it. */
static int reap(pid_t pid)
{
    sigset_t set;
    reaper_signals(&set);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue; /* EINTR */
        if (sig != SIGCHLD) {
            kill(pid, sig);
            continue;
        }
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == pid)
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
}

/* fork(), the child alone in a new PID namespace when pidns (the reaper
 * stays out of it: once its pid 1 is gone a namespace takes no new
 * processes, and a sanitizer runtime's exit checks fork). */
static pid_t fork_vmm(bool pidns)
{
    if (!pidns)
        return fork();
    return (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
}

static int cleanup(const struct jail_opts *o)
{
    char leaf[PATH_MAX];
    verr_t err = { "" };
    if (snprintf(leaf, sizeof(leaf), "%s/%s", o->cgroup_parent, o->id) >= (int)sizeof(leaf)) {
        say("--cgroup: path too long", NULL);
        return JAIL_EXIT_SETUP;
    }
    if (jail_cgroup_remove(leaf, &err)) {
        say("--cleanup", &err);
        return JAIL_EXIT_SETUP;
    }
    return 0;
}

static int run(const struct jail_opts *o)
{
    verr_t err = { "" };
    sigset_t set, old;
    reaper_signals(&set);
    sigprocmask(SIG_BLOCK, &set, &old); /* from now on they wait for reap() */
    int exec_fd = open(o->exec, O_RDONLY | O_CLOEXEC);
    if (exec_fd < 0) {
        verr_set(&err, errno, "--exec %s: %s", o->exec, strerror(errno));
        say("cannot start the VMM", &err);
        return JAIL_EXIT_SETUP;
    }
    char leaf[PATH_MAX] = "";
    if (o->cgroup_parent && jail_cgroup_create(o, leaf, sizeof(leaf), &err)) {
        say("cgroup", &err);
        return JAIL_EXIT_SETUP;
    }
    int alive[2] = { -1, -1 };
    pid_t pid = -1;
    if (pipe2(alive, O_CLOEXEC) < 0)
        verr_set(&err, errno, "pipe: %s", strerror(errno));
    else if ((pid = fork_vmm(o->pidns)) < 0)
        verr_set(&err, errno, "fork%s: %s", o->pidns ? " (new PID namespace)" : "",
                 strerror(errno));
    if (pid == 0) {
        /* the VMM keeps SIGTERM, SIGINT and SIGHUP blocked (jail.h) */
        sigset_t vmm_mask = old;
        sigaddset(&vmm_mask, SIGTERM);
        sigaddset(&vmm_mask, SIGINT);
        sigaddset(&vmm_mask, SIGHUP);
        close(alive[1]);
        become_vmm(o, leaf, exec_fd, alive[0], &vmm_mask);
    }
    int status = JAIL_EXIT_SETUP;
    if (pid < 0) {
        say("cannot start the VMM", &err);
    } else {
        close_all_but(alive[1]);
        status = reap(pid);
    }
    if (leaf[0] && jail_cgroup_remove(leaf, &err))
        say("removing the VM's cgroup", &err);
    return status;
}

int main(int argc, char **argv)
{
    struct jail_opts o;
    verr_t err;
    int r = jail_parse_args(argc, argv, &o, &err);
    if (r == 1) {
        jail_usage(stdout, PROG);
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        jail_usage(stderr, PROG);
        return JAIL_EXIT_USAGE;
    }
    if (geteuid() != 0) {
        say("must run as root (it sets up namespaces, cgroups and device nodes)", NULL);
        return JAIL_EXIT_SETUP;
    }
    return o.cleanup ? cleanup(&o) : run(&o);
}
