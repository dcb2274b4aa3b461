/* vmm_run(): builds the VM from a config, wires the devices to KVM, runs
 * the event loop (loop.c) on the main thread while the vCPU threads run the
 * guest, and returns the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kvm/loop.h"
#include "kvm/sandbox.h"
#include "kvm/terminal.h"
#include "kvm/vm.h"
#include "kvm/x86/layout.h"

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

/* The RTC's next interrupt: the loop polls the timerfd and calls
 * rtc_update() when it fires. Called with the bus lock held. */
static void rtc_timer(void *opaque, int64_t deadline_ns)
{
    struct vm *vm = opaque;
    struct itimerspec its = { 0 }; /* all zero: disarmed */
    if (deadline_ns >= 0) {
        its.it_value.tv_sec = deadline_ns / 1000000000;
        its.it_value.tv_nsec = deadline_ns % 1000000000;
        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
            its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(vm->rtc_timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        vm_request_stop(vm, VMM_EXIT_ERROR, "RTC timer: %s", strerror(errno));
}

static int setup_devices(struct vm *vm, verr_t *err)
{
    int r = io_bus_init(&vm->bus);
    if (r)
        return verr_set(err, -r, "io bus: %s", strerror(-r));
    vm->rtc_timerfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (vm->rtc_timerfd < 0)
        return verr_set(err, errno, "timerfd_create: %s", strerror(errno));
    serial_init(&vm->serial, irq_line_make(vm_set_irq, vm, X86_COM1_IRQ), serial_out, vm);
    i8042_init(&vm->i8042, irq_line_make(vm_set_irq, vm, X86_I8042_IRQ), guest_reset, vm);
    rtc_init(&vm->rtc, NULL, irq_line_make(vm_set_irq, vm, X86_RTC_IRQ), rtc_timer, vm);
    acpi_pm_init(&vm->pm, guest_poweroff, vm);
    if ((r = io_bus_register(&vm->bus, X86_COM1_PORT, 8, "com1", &serial_io_ops, &vm->serial)) ||
        (r = io_bus_register(&vm->bus, I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops,
                             &vm->i8042)) ||
        (r = io_bus_register(&vm->bus, I8042_CMD_PORT, 1, "i8042-cmd", &i8042_cmd_ops,
                             &vm->i8042)) ||
        (r = io_bus_register(&vm->bus, RTC_PORT, 2, "rtc", &rtc_io_ops, &vm->rtc)) ||
        (r = io_bus_register(&vm->bus, X86_ACPI_SLEEP_PORT, 2, "acpi-sleep", &acpi_pm_io_ops,
                             &vm->pm)))
        return verr_set(err, -r, "registering devices: %s", strerror(-r));
    return 0;
}

static int open_serial_output(struct vm *vm, verr_t *err)
{
    vm->serial_out_fd = -1;
    if (vm->cfg->serial == VMM_SERIAL_STDIO) {
        vm->serial_out_fd = STDOUT_FILENO;
    } else if (vm->cfg->serial == VMM_SERIAL_FILE) {
        vm->serial_out_fd =
            open(vm->cfg->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (vm->serial_out_fd < 0)
            return verr_set(err, errno, "--serial file:%s: %s", vm->cfg->serial_path,
                            strerror(errno));
    }
    return 0;
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
    vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->serial_out_fd = vm->rtc_timerfd = -1;
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
    if (vm->rtc_timerfd >= 0)
        close(vm->rtc_timerfd);
    gm_free(&vm->mem);
    return status;
}
