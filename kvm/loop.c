/* The VMM's event loop, on the main thread while vCPU threads run the
 * guest: io_uring one-shot polls on the stop eventfd, a signalfd
 * (SIGINT/SIGTERM/SIGHUP), stdin (serial input) and the control socket and
 * its clients, each re-armed after it fires. Virtio queue notifications
 * (eventfds) will plug in the same way. */
#include "kvm/loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/terminal.h"

#define CTRL_A 0x01

static void arm_poll(struct loop *l, struct source *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    io_uring_prep_poll_add(sqe, s->fd, POLLIN);
    io_uring_sqe_set_data(sqe, s);
}

/* Serial input is full: look again in 10 ms. */
static void arm_stdin_wait(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    l->in_wait_ts = (struct __kernel_timespec){ .tv_nsec = 10 * 1000 * 1000 };
    io_uring_prep_timeout(sqe, &l->in_wait_ts, 0, 0);
    io_uring_sqe_set_data(sqe, &l->in_wait);
}

/* Takes the escape sequence out of what the terminal typed: Ctrl-A x quits,
 * Ctrl-A Ctrl-A sends one Ctrl-A. Returns the bytes left for the guest. */
static size_t filter_escape(struct loop *l, uint8_t *buf, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (l->escape) {
            l->escape = false;
            if (buf[i] == 'x' || buf[i] == 'X') {
                vm_request_stop(l->vm, VMM_EXIT_OK, "quit from the console (Ctrl-A x)");
                return out;
            }
            if (buf[i] != CTRL_A)
                continue;
        } else if (buf[i] == CTRL_A) {
            l->escape = true;
            continue;
        }
        buf[out++] = buf[i];
    }
    return out;
}

static void on_stdin(struct loop *l)
{
    struct vm *vm = l->vm;
    io_bus_lock(&vm->bus);
    unsigned space = serial_rx_space(&vm->serial);
    io_bus_unlock(&vm->bus);
    if (space == 0) {
        arm_stdin_wait(l);
        return;
    }
    uint8_t buf[SERIAL_FIFO_SIZE];
    ssize_t n = read(STDIN_FILENO, buf, space < sizeof(buf) ? space : sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        arm_poll(l, &l->in);
        return;
    }
    if (n <= 0)
        return; /* end of input: the guest just gets no more */
    size_t keep = l->tty ? filter_escape(l, buf, n) : (size_t)n;
    io_bus_lock(&vm->bus);
    serial_receive(&vm->serial, buf, keep);
    io_bus_unlock(&vm->bus);
    arm_poll(l, &l->in);
}

static void on_listen(struct loop *l)
{
    int fd = accept4(l->listen.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
        struct source *s = NULL;
        for (int i = 0; i < LOOP_MAX_CLIENTS && !s; i++)
            if (!l->clients[i].in_use)
                s = &l->clients[i];
        if (!s) {
            const char *busy = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
            if (send(fd, busy, strlen(busy), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                /* it is being turned away anyway */
            }
            close(fd);
        } else {
            memset(s, 0, sizeof(*s));
            s->kind = SRC_CLIENT;
            s->fd = s->client.fd = fd;
            s->in_use = true;
            arm_poll(l, s);
        }
    }
    arm_poll(l, &l->listen);
}

static void on_client(struct loop *l, struct source *s)
{
    if (control_client_readable(l->vm, &s->client) < 0) {
        close(s->fd);
        s->in_use = false;
        return;
    }
    arm_poll(l, s);
}

static void on_signal(struct loop *l)
{
    struct signalfd_siginfo si;
    if (read(l->sig.fd, &si, sizeof(si)) == sizeof(si))
        vm_request_stop(l->vm, 128 + si.ssi_signo, "stopped by signal %s", strsignal(si.ssi_signo));
    arm_poll(l, &l->sig);
}

/* The RTC's timer: bring its interrupt flags up to date (which re-arms it). */
static void on_rtc(struct loop *l)
{
    uint64_t expirations;
    if (read(l->rtc.fd, &expirations, sizeof(expirations)) == sizeof(expirations)) {
        io_bus_lock(&l->vm->bus);
        rtc_update(&l->vm->rtc);
        io_bus_unlock(&l->vm->bus);
    }
    arm_poll(l, &l->rtc);
}

static void dispatch(struct loop *l, struct source *s, int res)
{
    switch (s->kind) {
    case SRC_STOP: l->done = true; break;
    case SRC_SIGNAL: on_signal(l); break;
    case SRC_STDIN:
        if (res >= 0 && (res & (POLLIN | POLLHUP)))
            on_stdin(l);
        break;
    case SRC_STDIN_WAIT: on_stdin(l); break;
    case SRC_LISTEN: on_listen(l); break;
    case SRC_CLIENT: on_client(l, s); break;
    case SRC_RTC: on_rtc(l); break;
    }
}

int loop_run(struct loop *l, verr_t *err)
{
    while (!l->done) {
        int r = io_uring_submit_and_wait(&l->ring, 1);
        if (r < 0 && r != -EINTR)
            return verr_set(err, -r, "io_uring: %s", strerror(-r));
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&l->ring, head, cqe)
        {
            struct source *s = io_uring_cqe_get_data(cqe);
            seen++;
            if (s)
                dispatch(l, s, cqe->res);
        }
        io_uring_cq_advance(&l->ring, seen);
    }
    return 0;
}

int loop_init(struct loop *l, struct vm *vm, sigset_t *sigs, verr_t *err)
{
    memset(l, 0, sizeof(*l));
    l->vm = vm;
    l->sig.fd = l->listen.fd = -1; /* loop_fini() after a partial init */
    /* The ring starts disabled so that its operations can be limited to
	 * the two the loop uses before it accepts any (seccomp cannot see
	 * what io_uring does on our behalf). */
    int r = io_uring_queue_init(64, &l->ring, IORING_SETUP_R_DISABLED);
    if (r < 0)
        return verr_set(err, -r, "io_uring_queue_init: %s", strerror(-r));
    l->ring_ready = true;
    struct io_uring_restriction res[2] = {
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_POLL_ADD },
        { .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_TIMEOUT },
    };
    /* Raw io_uring_register(2): Debian's liburing 2.3 does not export its
	 * wrappers for these two. */
    if (syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res, 2) <
            0 ||
        syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return verr_set(err, errno, "io_uring restrictions: %s", strerror(errno));
    l->stop = (struct source){ .kind = SRC_STOP, .fd = vm->stop_efd };
    arm_poll(l, &l->stop);
    l->sig = (struct source){ .kind = SRC_SIGNAL, .fd = signalfd(-1, sigs, SFD_CLOEXEC) };
    if (l->sig.fd < 0)
        return verr_set(err, errno, "signalfd: %s", strerror(errno));
    arm_poll(l, &l->sig);
    l->in_wait = (struct source){ .kind = SRC_STDIN_WAIT, .fd = -1 };
    l->rtc = (struct source){ .kind = SRC_RTC, .fd = vm->rtc_timerfd };
    arm_poll(l, &l->rtc);
    /* Serial input from stdin, unless stdin is a terminal we do not own
	 * (started in the background): reading it would stop the VMM. */
    if (vm->cfg->serial == VMM_SERIAL_STDIO && !terminal_in_background()) {
        l->tty = isatty(STDIN_FILENO);
        l->in = (struct source){ .kind = SRC_STDIN, .fd = STDIN_FILENO };
        arm_poll(l, &l->in);
    }
    if (vm->cfg->control_path) {
        int fd = control_listen(vm->cfg->control_path, err);
        if (fd < 0)
            return fd;
        l->listen = (struct source){ .kind = SRC_LISTEN, .fd = fd };
        arm_poll(l, &l->listen);
    }
    return 0;
}

void loop_fini(struct loop *l)
{
    for (int i = 0; i < LOOP_MAX_CLIENTS; i++)
        if (l->clients[i].in_use)
            close(l->clients[i].fd);
    if (l->listen.fd >= 0) {
        close(l->listen.fd);
        unlink(l->vm->cfg->control_path);
    }
    if (l->sig.fd >= 0)
        close(l->sig.fd);
    if (l->ring_ready)
        io_uring_queue_exit(&l->ring);
}
