/* vmm_run(): builds the VM from a config (the registered devices, the
 * kernel and the tables that describe them, KVM), runs the event loop
 * (loop.c) on the main thread while the vCPU threads run the guest, and
 * returns the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kvm/control.h"
#include "kvm/console.h"
#include "kvm/devices/fw_cfg.h"
#include "kvm/devices/serial.h"
#include "kvm/loop.h"
#include "kvm/sandbox.h"
#include "kvm/terminal.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

/* ---- vmm_run ---- */

static void report(struct vm *vm)
{
    const struct bus_map *pio = &vm->bus.map[BUS_PIO], *mmio = &vm->bus.map[BUS_MMIO];
    if (vm->exit_code == VMM_EXIT_OK)
        fprintf(stderr, "\r\npicostack-vmm: %s\n", vm->stop_msg);
    else
        fprintf(stderr, "\r\npicostack-vmm: error: %s\n", vm->stop_msg);
    const struct serial *com1 = vmdevs_find(&vm->devs, "serial", 0);
    if (vm->cfg->verbose || vm->exit_code == VMM_EXIT_ERROR)
        fprintf(stderr,
                "picostack-vmm: exits %llu (io %llu, mmio %llu); unknown ports: %llu reads, "
                "%llu writes (last %#llx); unknown mmio: %llu reads, %llu writes (last %#llx); "
                "port 0x80 writes %llu; serial tx %llu rx %llu bytes\n",
                (unsigned long long)vm->exits, (unsigned long long)vm->exits_io,
                (unsigned long long)vm->exits_mmio, (unsigned long long)pio->unknown_reads,
                (unsigned long long)pio->unknown_writes, (unsigned long long)pio->last_unknown,
                (unsigned long long)mmio->unknown_reads, (unsigned long long)mmio->unknown_writes,
                (unsigned long long)mmio->last_unknown, (unsigned long long)vm->bus.post_writes,
                (unsigned long long)(com1 ? com1->tx_bytes : 0),
                (unsigned long long)(com1 ? com1->rx_bytes : 0));
    struct console_stats cs;
    if (serial_dev_console_stats((void *)com1, &cs) &&
        (vm->cfg->verbose || cs.log_dropped || cs.client_dropped || cs.refused))
        fprintf(stderr,
                "picostack-vmm: console: %llu bytes logged, %llu dropped, %llu rotations; "
                "socket: %llu clients, %llu refused, %llu bytes sent, %llu dropped\n",
                (unsigned long long)cs.log_bytes, (unsigned long long)cs.log_dropped,
                (unsigned long long)cs.rotations, (unsigned long long)cs.clients,
                (unsigned long long)cs.refused, (unsigned long long)cs.client_bytes,
                (unsigned long long)cs.client_dropped);
    if (vm->cfg->verbose && pio->nunknown) {
        fprintf(stderr, "picostack-vmm: unknown ports (reads/writes):");
        for (int i = 0; i < pio->nunknown; i++)
            fprintf(stderr, " %#llx %u/%u", (unsigned long long)pio->unknown[i].addr,
                    pio->unknown[i].reads, pio->unknown[i].writes);
        fprintf(stderr, "\n");
    }
}

/* Why the VM ended, for --exit-file: the last failure or stop message. */
static char end_msg[512];

static int fail(int status, const verr_t *err)
{
    snprintf(end_msg, sizeof(end_msg), "%.*s", (int)sizeof(end_msg) - 1, err->msg);
    restore_terminal();
    fprintf(stderr, "picostack-vmm: %s\n", err->msg);
    return status;
}

/* What the main thread polls besides the devices' own sources. */
struct runner {
    struct vm *vm;
    struct loop loop;
    int sig_fd;
    struct control_server control;
    bool control_started;
};

static int on_stop(void *opaque, int res)
{
    (void)res;
    loop_stop(opaque);
    return LOOP_DROP;
}

static int on_signal(void *opaque, int res)
{
    struct runner *rn = opaque;
    struct signalfd_siginfo si;
    if (res >= 0 && read(rn->sig_fd, &si, sizeof(si)) == sizeof(si))
        vm_request_stop(rn->vm, 128 + si.ssi_signo, "stopped by signal %s",
                        strsignal(si.ssi_signo));
    return LOOP_KEEP;
}

/* The stop eventfd, signals (SIGINT/SIGTERM/SIGHUP) and the control socket. */
static int add_sources(struct runner *rn, sigset_t *sigs, verr_t *err)
{
    struct vm *vm = rn->vm;
    if (!loop_add_fd(&rn->loop, vm->stop_efd, on_stop, &rn->loop))
        return verr_set(err, errno, "event loop: %s", strerror(errno));
    rn->sig_fd = signalfd(-1, sigs, SFD_CLOEXEC);
    if (rn->sig_fd < 0)
        return verr_set(err, errno, "signalfd: %s", strerror(errno));
    if (!loop_add_fd(&rn->loop, rn->sig_fd, on_signal, rn))
        return verr_set(err, errno, "event loop: %s", strerror(errno));
    if (vm->cfg->control_path) {
        int r = control_start(&rn->control, vm, &rn->loop, vm->cfg->control_path, err);
        if (r)
            return r;
        rn->control_started = true;
    }
    return 0;
}

/* Instantiates the registered devices, then loads the kernel and writes the
 * tables that describe them. Errors here are bad arguments (status 2). */
static int build_machine(struct vm *vm, struct loop *loop, verr_t *err)
{
    const struct vmm_config *cfg = vm->cfg;
    if (cfg->firmware && cfg->firmware_type == VMM_FIRMWARE_AUTO) {
        /* the devices depend on the kind of firmware: settle it first */
        static struct vmm_config resolved;
        bool uefi;
        int r = x86_firmware_is_uefi(cfg->firmware, &uefi, err);
        if (r)
            return r;
        resolved = *cfg;
        resolved.firmware_type = uefi ? VMM_FIRMWARE_UEFI : VMM_FIRMWARE_BIOS;
        vm->cfg = cfg = &resolved;
    }
    struct vmdev_ctx ctx = { .cfg = cfg,
                             .bus = &vm->bus,
                             .loop = loop,
                             .vm = vm,
                             .gm = &vm->mem,
                             .irq_set = vm_set_irq,
                             .irq_opaque = vm,
                             .err = err };
    int r = vmdevs_create(&vm->devs, &ctx);
    if (r)
        return r;
    const uint8_t *uuid = cfg->uuid_set ? cfg->uuid : NULL;
    if (cfg->firmware) {
        struct x86_firmware_request fw = { cfg->firmware, cfg->cpus,
                                           &vm->devs,     fw_cfg_find(&vm->devs),
                                           uuid,          cfg->firmware_type == VMM_FIRMWARE_UEFI };
        return x86_load_firmware(&vm->mem, &fw, &vm->boot, err);
    }
    struct x86_boot_request req = { cfg->kernel, cfg->initrd, cfg->cmdline,
                                    cfg->cpus,   &vm->devs,   uuid };
    return x86_load(&vm->mem, &req, &vm->boot, err);
}

static int run_vm(const struct vmm_config *cfg, const char **end)
{
    static struct vm vm_storage; /* one VM per process */
    static struct runner rn;
    struct vm *vm = &vm_storage;
    verr_t err = { "" };
    memset(vm, 0, sizeof(*vm));
    memset(&rn, 0, sizeof(rn));
    rn.vm = vm;
    rn.sig_fd = -1;
    vm->cfg = cfg;
    vm->ncpus = cfg->cpus;
    vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
    vm->loop = &rn.loop;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->routes_lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    int status = VMM_EXIT_ERROR, r;
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, &old); /* signals become loop events */

    r = gm_init(&vm->mem, cfg->mem_mib << 20);
    if (r) {
        snprintf(err.msg, sizeof(err.msg), "cannot map %llu MiB of guest RAM: %s",
                 (unsigned long long)cfg->mem_mib, strerror(-r));
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_mask;
    }
    if ((r = bus_init(&vm->bus))) {
        snprintf(err.msg, sizeof(err.msg), "bus: %s", strerror(-r));
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_mem;
    }
    vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->stop_efd < 0) {
        snprintf(err.msg, sizeof(err.msg), "eventfd: %s", strerror(errno));
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_bus;
    }
    if (loop_init(&rn.loop, &err)) {
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_loop;
    }
    /* An unusable kernel, initrd or serial file is a bad argument: status 2,
	 * with the usage, like the parser's errors. */
    if (build_machine(vm, &rn.loop, &err)) {
        status = fail(VMM_EXIT_USAGE, &err);
        vmm_usage(stderr, "picostack-vmm");
        goto out_devs;
    }
    if (vm_create_kvm(vm, &err) || add_sources(&rn, &sigs, &err)) {
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_vm;
    }
    /* A reader of the console that goes away costs console output, not the
	 * VM (the serial device ignores EPIPE). */
    signal(SIGPIPE, SIG_IGN);
    if (cfg->serial == VMM_SERIAL_STDIO)
        raw_terminal();
    if (!cfg->no_sandbox && vmm_sandbox_enter(&err)) {
        status = fail(VMM_EXIT_ERROR, &err);
        goto out_vm;
    }
    clock_gettime(CLOCK_MONOTONIC, &vm->started);
    if (vm_start_vcpus(vm, &err) == 0 && loop_run(&rn.loop, &err) < 0)
        vm_request_stop(vm, VMM_EXIT_ERROR, "%s", err.msg);
    if (!vm_stopping(vm))
        vm_request_stop(vm, VMM_EXIT_ERROR, "%s", err.msg);
    vm_join_vcpus(vm);
    restore_terminal();
    report(vm);
    status = vm->exit_code;
    snprintf(end_msg, sizeof(end_msg), "%.*s", (int)sizeof(end_msg) - 1, vm->stop_msg);
    *end = vm->end;
out_vm:
    vm_destroy(vm);
out_devs:
    loop_fini(&rn.loop); /* before the devices: no callback can run now */
    if (rn.control_started)
        control_stop(&rn.control);
    if (rn.sig_fd >= 0)
        close(rn.sig_fd);
    vmdevs_destroy(&vm->devs);
    x86_release_boot(&vm->boot);
out_loop:
    loop_fini(&rn.loop);
    close(vm->stop_efd);
out_bus:
    bus_destroy(&vm->bus);
out_mem:
    gm_free(&vm->mem);
out_mask:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return status;
}

/* One line: "poweroff", "reset", "error: MESSAGE"; nothing when killed. */
static void write_exit_file(int fd, int status, const char *end)
{
    char line[600];
    int n = 0;
    if (status != VMM_EXIT_OK) /* the first line only (a register dump follows) */
        n = snprintf(line, sizeof(line), "error: %.*s\n", (int)strcspn(end_msg, "\r\n"), end_msg);
    else if (end)
        n = snprintf(line, sizeof(line), "%s\n", end);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (n > 0 && write(fd, line, (size_t)n) != n)
        fprintf(stderr, "picostack-vmm: --exit-file: %s\n", strerror(errno));
}

int vmm_run(const struct vmm_config *cfg)
{
    int fd = -1;
    if (cfg->exit_file) {
        /* opened now: the sandbox allows no open() later */
        fd = open(cfg->exit_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "picostack-vmm: --exit-file %s: %s\n", cfg->exit_file, strerror(errno));
            return VMM_EXIT_USAGE;
        }
    }
    const char *end = NULL;
    end_msg[0] = 0;
    int status = run_vm(cfg, &end);
    if (fd >= 0) {
        write_exit_file(fd, status, end);
        close(fd);
    }
    return status;
}
