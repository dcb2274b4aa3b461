/* vCPU threads: KVM_RUN, exit handling, kicks, pause. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/vm.h"
#include "kvm/x86/cpu.h"

#define KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
    (void)sig; /* only there to make KVM_RUN return EINTR */
}

/* Makes the vCPU leave KVM_RUN soon: immediate_exit covers the window
 * before it enters, the signal the time inside. */
static void kick(struct vcpu *c)
{
    if (!c->thread_started)
        return;
    __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(c->thread, KICK_SIGNAL);
}

void vm_kick_all(struct vm *vm)
{
    if (!vm->vcpus)
        return;
    for (unsigned i = 0; i < vm->ncpus; i++)
        kick(&vm->vcpus[i]);
}

static void fatal(struct vcpu *c, const char *what)
{
    char dump[2048];
    x86_dump_vcpu(c->fd, dump, sizeof(dump));
    vm_request_stop(c->vm, VMM_EXIT_ERROR, "vCPU %u: %s\n%s", c->index, what, dump);
}

static void handle_io(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    c->vm->exits_io++;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        if (run->io.direction == KVM_EXIT_IO_OUT)
            bus_write(&c->vm->bus, BUS_PIO, run->io.port, run->io.size, data);
        else
            bus_read(&c->vm->bus, BUS_PIO, run->io.port, run->io.size, data);
    }
}

/* MMIO goes over the same bus; nobody there: reads see all ones, writes
 * vanish, both counted. */
static void handle_mmio(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    c->vm->exits_mmio++;
    if (run->mmio.is_write)
        bus_write(&c->vm->bus, BUS_MMIO, run->mmio.phys_addr, run->mmio.len, run->mmio.data);
    else
        bus_read(&c->vm->bus, BUS_MMIO, run->mmio.phys_addr, run->mmio.len, run->mmio.data);
}

/* Returns false when the vCPU should stop. */
static bool handle_exit(struct vcpu *c)
{
    struct kvm_run *run = c->run;
    char what[160];
    switch (run->exit_reason) {
    case KVM_EXIT_IO: handle_io(c); return true;
    case KVM_EXIT_MMIO: handle_mmio(c); return true;
    case KVM_EXIT_INTR: return true;
    case KVM_EXIT_SHUTDOWN:
        fatal(c, "triple fault (KVM_EXIT_SHUTDOWN): the guest crashed");
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_RESET ||
            run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
            bool reset = run->system_event.type == KVM_SYSTEM_EVENT_RESET;
            vm_request_end(c->vm, reset ? "reset" : "poweroff",
                           reset ? "guest reset" : "guest shut down");
            return false;
        }
        snprintf(what, sizeof(what), "system event %u", run->system_event.type);
        fatal(c, what);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof(what), "VM entry failed (hardware reason %#llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        fatal(c, what);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof(what), "KVM internal error, suberror %u", run->internal.suberror);
        fatal(c, what);
        return false;
    case KVM_EXIT_HLT:
        fatal(c, "the guest halted with interrupts off and the in-kernel irqchip let it exit");
        return false;
    default:
        snprintf(what, sizeof(what), "unhandled KVM exit reason %u", run->exit_reason);
        fatal(c, what);
        return false;
    }
}

/* Parks the thread while the VM is paused. */
static void wait_while_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->paused && !vm->stopping) {
        vm->paused_vcpus++;
        pthread_cond_broadcast(&vm->cond);
        while (vm->paused && !vm->stopping)
            pthread_cond_wait(&vm->cond, &vm->lock);
        vm->paused_vcpus--;
    }
    pthread_mutex_unlock(&vm->lock);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *c = arg;
    struct vm *vm = c->vm;
    char name[16];
    snprintf(name, sizeof(name), "vcpu%u", c->index);
    pthread_setname_np(pthread_self(), name);
    sigset_t kick_set;
    sigemptyset(&kick_set);
    sigaddset(&kick_set, KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &kick_set, NULL);

    for (;;) {
        wait_while_paused(vm);
        if (vm_stopping(vm))
            break;
        int r = ioctl(c->fd, KVM_RUN, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                continue;
            }
            char what[128];
            snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
            fatal(c, what);
            break;
        }
        vm->exits++;
        if (!handle_exit(c))
            break;
    }
    return NULL;
}

int vm_start_vcpus(struct vm *vm, verr_t *err)
{
    struct sigaction sa = { .sa_handler = kick_handler }; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
        return verr_set(err, errno, "sigaction: %s", strerror(errno));
    for (unsigned i = 0; i < vm->ncpus; i++) {
        struct vcpu *c = &vm->vcpus[i];
        int r = pthread_create(&c->thread, NULL, vcpu_thread, c);
        if (r) {
            vm_request_stop(vm, VMM_EXIT_ERROR, "cannot start vCPU thread: %s", strerror(r));
            return verr_set(err, r, "pthread_create: %s", strerror(r));
        }
        c->thread_started = true;
    }
    return 0;
}

void vm_join_vcpus(struct vm *vm)
{
    vm_kick_all(vm);
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
}

int vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->paused = true;
    pthread_mutex_unlock(&vm->lock);
    vm_kick_all(vm);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 1;
    int r = 0;
    pthread_mutex_lock(&vm->lock);
    while (vm->paused_vcpus < vm->ncpus && !vm->stopping && r == 0)
        r = pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline);
    bool all = vm->paused_vcpus == vm->ncpus;
    pthread_mutex_unlock(&vm->lock);
    return all ? 0 : -ETIMEDOUT;
}

void vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->paused = false;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

bool vm_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool p = vm->paused;
    pthread_mutex_unlock(&vm->lock);
    return p;
}
