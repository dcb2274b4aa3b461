/* Interrupts ready for MSI, on a real /dev/kvm (through with-kvm): GSI
 * routes appended after the PC's and updated, irq sinks of both kinds
 * (a line through KVM_IRQ_LINE, an MSI through KVM_SIGNAL_MSI and through a
 * route + irqfd), KVM_IOEVENTFD on ports and MMIO, and all of it again
 * inside the seccomp sandbox the VMM runs in (in a child, with a VM of its
 * own). The one vCPU is never run: it gives the MSIs a LAPIC to reach. */
#include "tests/support/check.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "kvm/sandbox.h"
#include "kvm/vm.h"

static struct vm vm;
static const struct vmm_config cfg = { .cpus = 1, .serial = VMM_SERIAL_NONE };

static void make_vm(void)
{
    memset(&vm, 0, sizeof(vm));
    vm.cfg = &cfg;
    vm.ncpus = 1; /* never run; an MSI needs a LAPIC to go to */
    pthread_mutex_init(&vm.lock, NULL);
    pthread_mutex_init(&vm.routes_lock, NULL);
    pthread_cond_init(&vm.cond, NULL);
    vm.stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK_EQ(gm_init(&vm.mem, 16 << 20), 0);
    verr_t err = { "" };
    int r = vm_create_kvm(&vm, &err);
    CHECK(r == 0, "vm_create_kvm: %s", err.msg);
}

static void check_routes(void)
{
    unsigned base = vm.nroutes, g1 = 0, g2 = 0;
    CHECK_EQ(vm_add_msi_route(&vm, 0xfee00000, 0x4041, &g1), 0);
    CHECK_EQ(vm_add_msi_route(&vm, 0xfee01000, 0x4042, &g2), 0);
    CHECK(g1 >= VM_FIRST_MSI_GSI);
    CHECK_EQ(g2, g1 + 1);
    CHECK_EQ(vm.nroutes, base + 2);
    /* The PC routes are still there, first. */
    CHECK_EQ(vm.routes[0].type, KVM_IRQ_ROUTING_IRQCHIP);
    CHECK_EQ(vm_set_msi_route(&vm, g1, 0xfee00000, 0x4051), 0);
    CHECK_EQ(vm.routes[base].u.msi.data, 0x4051);
    CHECK_EQ(vm_set_msi_route(&vm, 5, 0xfee00000, 0x4051), -ENOENT); /* not an MSI route */
    CHECK_EQ(vm_set_msi_route(&vm, 4000, 0xfee00000, 0x4051), -ENOENT);
}

static void check_sinks(void)
{
    /* A line: KVM_IRQ_LINE on GSI 5, up and down, without a stop. */
    struct irq_sink line = irq_sink_line(irq_line_make(vm_set_irq, &vm, 5));
    irq_sink_set(&line, 1);
    irq_sink_set(&line, 0);
    irq_sink_pulse(&line);
    CHECK(!vm_stopping(&vm));
    /* An MSI sent with KVM_SIGNAL_MSI, once per rising edge. */
    struct irq_sink msi = irq_sink_msi(&vm, 0xfee00000, 0x4061);
    irq_sink_set(&msi, 1);
    irq_sink_set(&msi, 1);
    CHECK_EQ(msi.sent, 1);
    irq_sink_pulse(&msi);
    CHECK_EQ(msi.sent, 1); /* still high: no edge */
    irq_sink_set(&msi, 0);
    irq_sink_pulse(&msi);
    CHECK_EQ(msi.sent, 2);
    CHECK(!vm_stopping(&vm));
    /* The same through a route and an irqfd. */
    CHECK_EQ(irq_sink_msi_irqfd(&msi), 0);
    CHECK(msi.irqfd >= 0);
    CHECK(msi.gsi >= VM_FIRST_MSI_GSI);
    CHECK_EQ(irq_sink_msi_irqfd(&msi), -EINVAL); /* once */
    irq_sink_pulse(&msi);
    CHECK_EQ(msi.sent, 3);
    CHECK_EQ(irq_sink_msi_update(&msi, 0xfee00000, 0x4062), 0);
    irq_sink_pulse(&msi);
    CHECK_EQ(msi.sent, 4);
    CHECK(!vm_stopping(&vm));
    /* An irqfd on the same GSI twice is refused by KVM. */
    int fd = eventfd(0, EFD_CLOEXEC);
    CHECK_EQ(vm_irqfd(&vm, fd, msi.gsi, true), 0);
    CHECK_EQ(vm_irqfd(&vm, fd, msi.gsi, true), -EBUSY);
    CHECK_EQ(vm_irqfd(&vm, fd, msi.gsi, false), 0);
    close(fd);
    irq_sink_release(&msi);
    CHECK_EQ(msi.irqfd, -1);
}

static void check_ioeventfds(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    uint64_t match = 3;
    CHECK_EQ(vm_ioeventfd(&vm, BUS_MMIO, 0xd0000000, 4, NULL, fd, true), 0);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_MMIO, 0xd0000000, 4, NULL, fd, true), -EEXIST);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_PIO, 0x510, 2, &match, fd, true), 0);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_PIO, 0x510, 2, &match, fd, false), 0);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_MMIO, 0xd0000000, 4, NULL, fd, false), 0);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_MMIO, 0xd0000000, 4, NULL, fd, false), -ENOENT);
    CHECK_EQ(vm_ioeventfd(&vm, BUS_MMIO, 0xd0000000, 3, NULL, fd, true), -EINVAL);
    close(fd);
}

/* The same calls once the sandbox is on: its allow-list must have them. */
static void check_sandboxed(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        make_vm(); /* KVM answers only the process that made the VM */
        verr_t err = { "" };
        if (vmm_sandbox_enter(&err) < 0)
            _exit(3);
        check_routes();
        check_sinks();
        check_ioeventfds();
        _exit(t_failures ? 1 : 0);
    }
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sandboxed child: status %#x", st);
}

int main(void)
{
    make_vm();
    check_routes();
    check_sinks();
    check_ioeventfds();
    check_sandboxed();
    vm_destroy(&vm);
    gm_free(&vm.mem);
    close(vm.stop_efd);
    return t_done("kvm.irq");
}
