/* vmm_run(): builds the VM from a config, runs the event loop on the main
 * thread while the vCPU threads run the guest, and returns the exit status.
 *
 * The event loop is io_uring: one-shot polls on the stop eventfd, a
 * signalfd (SIGINT/SIGTERM/SIGHUP), stdin (serial input) and the control
 * socket and its clients, each re-armed after it fires. Virtio queue
 * notifications (eventfds) will plug in the same way. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/sandbox.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

#define MAX_CLIENTS 8
#define CTRL_A 0x01

/* ---- the terminal: raw while the guest owns it, restored on every exit ---- */

static struct termios saved_termios;
static int termios_saved;

static void restore_terminal(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

/* A crash must not leave the user's terminal raw: restore, then die as
 * the signal says (the handler is reset by SA_RESETHAND). */
static void restore_terminal_and_die(int sig)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	raise(sig);
}

static void raw_terminal(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	termios_saved = 1;
	atexit(restore_terminal);
	struct sigaction sa = { .sa_handler = restore_terminal_and_die, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	struct termios raw = saved_termios;
	cfmakeraw(&raw);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

/* ---- device wiring ---- */

static void serial_out(void *opaque, uint8_t byte)
{
	struct vm *vm = opaque;
	if (vm->serial_out_fd < 0)
		return;
	for (;;) {
		ssize_t w = write(vm->serial_out_fd, &byte, 1);
		if (w == 1 || (w < 0 && errno != EINTR && errno != EAGAIN))
			return; /* a closed stdout loses console output, not the VM */
	}
}

static void guest_reset(void *opaque)
{
	vm_request_stop(opaque, VMM_EXIT_OK, "guest reset (i8042)");
}

static void guest_poweroff(void *opaque)
{
	vm_request_stop(opaque, VMM_EXIT_OK, "guest powered off (ACPI S5)");
}

static int setup_devices(struct vm *vm, verr_t *err)
{
	int r = io_bus_init(&vm->bus);
	if (r)
		return verr_set(err, -r, "io bus: %s", strerror(-r));
	serial_init(&vm->serial, irq_line_make(vm_set_irq, vm, X86_COM1_IRQ), serial_out, vm);
	i8042_init(&vm->i8042, irq_line_make(vm_set_irq, vm, X86_I8042_IRQ), guest_reset, vm);
	rtc_init(&vm->rtc, NULL);
	acpi_pm_init(&vm->pm, guest_poweroff, vm);
	if ((r = io_bus_register(&vm->bus, X86_COM1_PORT, 8, "com1", &serial_io_ops, &vm->serial)) ||
	    (r = io_bus_register(&vm->bus, I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops, &vm->i8042)) ||
	    (r = io_bus_register(&vm->bus, I8042_CMD_PORT, 1, "i8042-cmd", &i8042_cmd_ops, &vm->i8042)) ||
	    (r = io_bus_register(&vm->bus, RTC_PORT, 2, "rtc", &rtc_io_ops, &vm->rtc)) ||
	    (r = io_bus_register(&vm->bus, X86_ACPI_SLEEP_PORT, 2, "acpi-sleep", &acpi_pm_io_ops, &vm->pm)))
		return verr_set(err, -r, "registering devices: %s", strerror(-r));
	return 0;
}

static int open_serial_output(struct vm *vm, verr_t *err)
{
	vm->serial_out_fd = -1;
	if (vm->cfg->serial == VMM_SERIAL_STDIO) {
		vm->serial_out_fd = STDOUT_FILENO;
	} else if (vm->cfg->serial == VMM_SERIAL_FILE) {
		vm->serial_out_fd = open(vm->cfg->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm->serial_out_fd < 0)
			return verr_set(err, errno, "--serial file:%s: %s", vm->cfg->serial_path, strerror(errno));
	}
	return 0;
}

/* ---- the event loop ---- */

enum src_kind { SRC_STOP, SRC_SIGNAL, SRC_STDIN, SRC_STDIN_WAIT, SRC_LISTEN, SRC_CLIENT };

struct source {
	enum src_kind kind;
	int fd;
	struct control_client client; /* SRC_CLIENT */
	bool in_use;
};

struct loop {
	struct vm *vm;
	struct io_uring ring;
	struct source stop, sig, in, in_wait, listen, clients[MAX_CLIENTS];
	struct __kernel_timespec in_wait_ts;
	bool tty, escape;
	bool done;
};

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
		for (int i = 0; i < MAX_CLIENTS && !s; i++)
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

static void dispatch(struct loop *l, struct source *s, int res)
{
	switch (s->kind) {
	case SRC_STOP:
		l->done = true;
		break;
	case SRC_SIGNAL:
		on_signal(l);
		break;
	case SRC_STDIN:
		if (res >= 0 && (res & (POLLIN | POLLHUP)))
			on_stdin(l);
		break;
	case SRC_STDIN_WAIT:
		on_stdin(l);
		break;
	case SRC_LISTEN:
		on_listen(l);
		break;
	case SRC_CLIENT:
		on_client(l, s);
		break;
	}
}

static int loop_run(struct loop *l, verr_t *err)
{
	while (!l->done) {
		int r = io_uring_submit_and_wait(&l->ring, 1);
		if (r < 0 && r != -EINTR)
			return verr_set(err, -r, "io_uring: %s", strerror(-r));
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			struct source *s = io_uring_cqe_get_data(cqe);
			seen++;
			if (s)
				dispatch(l, s, cqe->res);
		}
		io_uring_cq_advance(&l->ring, seen);
	}
	return 0;
}

static int loop_init(struct loop *l, struct vm *vm, sigset_t *sigs, verr_t *err)
{
	memset(l, 0, sizeof(*l));
	l->vm = vm;
	/* The ring starts disabled so that its operations can be limited to
	 * the two the loop uses before it accepts any (seccomp cannot see
	 * what io_uring does on our behalf). */
	int r = io_uring_queue_init(64, &l->ring, IORING_SETUP_R_DISABLED);
	if (r < 0)
		return verr_set(err, -r, "io_uring_queue_init: %s", strerror(-r));
	struct io_uring_restriction res[2] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_POLL_ADD },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_TIMEOUT },
	};
	/* Raw io_uring_register(2): Debian's liburing 2.3 does not export its
	 * wrappers for these two. */
	if (syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res, 2) < 0 ||
	    syscall(__NR_io_uring_register, l->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return verr_set(err, errno, "io_uring restrictions: %s", strerror(errno));
	l->stop = (struct source){ .kind = SRC_STOP, .fd = vm->stop_efd };
	arm_poll(l, &l->stop);
	l->sig = (struct source){ .kind = SRC_SIGNAL, .fd = signalfd(-1, sigs, SFD_CLOEXEC) };
	if (l->sig.fd < 0)
		return verr_set(err, errno, "signalfd: %s", strerror(errno));
	arm_poll(l, &l->sig);
	l->in_wait = (struct source){ .kind = SRC_STDIN_WAIT, .fd = -1 };
	if (vm->cfg->serial == VMM_SERIAL_STDIO) {
		l->tty = isatty(STDIN_FILENO);
		l->in = (struct source){ .kind = SRC_STDIN, .fd = STDIN_FILENO };
		arm_poll(l, &l->in);
	}
	l->listen.fd = -1;
	if (vm->cfg->control_path) {
		int fd = control_listen(vm->cfg->control_path, err);
		if (fd < 0)
			return fd;
		l->listen = (struct source){ .kind = SRC_LISTEN, .fd = fd };
		arm_poll(l, &l->listen);
	}
	return 0;
}

static void loop_fini(struct loop *l)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (l->clients[i].in_use)
			close(l->clients[i].fd);
	if (l->listen.fd >= 0) {
		close(l->listen.fd);
		unlink(l->vm->cfg->control_path);
	}
	if (l->sig.fd > 0)
		close(l->sig.fd);
	if (l->ring.ring_fd > 0)
		io_uring_queue_exit(&l->ring);
}

/* ---- vmm_run ---- */

static void report(struct vm *vm)
{
	if (vm->exit_code == VMM_EXIT_OK)
		fprintf(stderr, "\r\npicostack-vmm: %s\n", vm->stop_msg);
	else
		fprintf(stderr, "\r\npicostack-vmm: error: %s\n", vm->stop_msg);
	if (vm->cfg->verbose || vm->exit_code == VMM_EXIT_ERROR)
		fprintf(stderr,
			"picostack-vmm: exits %llu (io %llu, mmio %llu); unknown ports: %llu reads, "
			"%llu writes (last %#x); port 0x80 writes %llu; serial tx %llu rx %llu bytes\n",
			(unsigned long long)vm->exits, (unsigned long long)vm->exits_io,
			(unsigned long long)vm->exits_mmio, (unsigned long long)vm->bus.unknown_reads,
			(unsigned long long)vm->bus.unknown_writes, (unsigned)vm->bus.last_unknown_port,
			(unsigned long long)vm->bus.post_writes, (unsigned long long)vm->serial.tx_bytes,
			(unsigned long long)vm->serial.rx_bytes);
	if (vm->cfg->verbose && vm->bus.nunknown) {
		fprintf(stderr, "picostack-vmm: unknown ports (reads/writes):");
		for (int i = 0; i < vm->bus.nunknown; i++)
			fprintf(stderr, " %#x %u/%u", vm->bus.unknown[i].port, vm->bus.unknown[i].reads,
				vm->bus.unknown[i].writes);
		fprintf(stderr, "\n");
	}
}

static int fail(struct vm *vm, int status, const verr_t *err)
{
	(void)vm;
	restore_terminal();
	fprintf(stderr, "picostack-vmm: %s\n", err->msg);
	return status;
}

int vmm_run(const struct vmm_config *cfg)
{
	static struct vm vm_storage; /* one VM per process */
	struct vm *vm = &vm_storage;
	verr_t err = { "" };
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->ncpus = cfg->cpus;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->serial_out_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	int status = VMM_EXIT_ERROR, r;

	r = gm_init(&vm->mem, cfg->mem_mib << 20);
	if (r) {
		snprintf(err.msg, sizeof(err.msg), "cannot map %llu MiB of guest RAM: %s",
			 (unsigned long long)cfg->mem_mib, strerror(-r));
		return fail(vm, VMM_EXIT_ERROR, &err);
	}
	struct x86_boot_request req = { cfg->kernel, cfg->initrd, cfg->cmdline, cfg->cpus };
	/* An unusable kernel, initrd or serial file is a bad argument: status 2,
	 * with the usage, like the parser's errors. */
	if ((r = x86_load(&vm->mem, &req, &vm->boot, &err)) || setup_devices(vm, &err) ||
	    open_serial_output(vm, &err)) {
		status = fail(vm, VMM_EXIT_USAGE, &err);
		vmm_usage(stderr, "picostack-vmm");
		goto out_mem;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		snprintf(err.msg, sizeof(err.msg), "eventfd: %s", strerror(errno));
		status = fail(vm, VMM_EXIT_ERROR, &err);
		goto out_mem;
	}
	if (vm_create_kvm(vm, &err)) {
		status = fail(vm, VMM_EXIT_ERROR, &err);
		goto out_vm;
	}
	/* A reader of the console that goes away costs console output, not the
	 * VM (serial_out() ignores EPIPE). */
	signal(SIGPIPE, SIG_IGN);
	/* Signals become events of the loop; the vCPU threads inherit the mask. */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	struct loop loop;
	if (loop_init(&loop, vm, &sigs, &err)) {
		status = fail(vm, VMM_EXIT_ERROR, &err);
		goto out_loop;
	}
	if (cfg->serial == VMM_SERIAL_STDIO)
		raw_terminal();
	if (!cfg->no_sandbox && vmm_sandbox_enter(&err)) {
		status = fail(vm, VMM_EXIT_ERROR, &err);
		goto out_loop;
	}
	clock_gettime(CLOCK_MONOTONIC, &vm->started);
	if (vm_start_vcpus(vm, &err) == 0 && loop_run(&loop, &err) < 0)
		vm_request_stop(vm, VMM_EXIT_ERROR, "%s", err.msg);
	if (!vm_stopping(vm))
		vm_request_stop(vm, VMM_EXIT_ERROR, "%s", err.msg);
	vm_join_vcpus(vm);
	restore_terminal();
	report(vm);
	status = vm->exit_code;
out_loop:
	loop_fini(&loop);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out_vm:
	vm_destroy(vm);
	close(vm->stop_efd);
out_mem:
	if (vm->serial_out_fd > STDERR_FILENO)
		close(vm->serial_out_fd);
	gm_free(&vm->mem);
	return status;
}
