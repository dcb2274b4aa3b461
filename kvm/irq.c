/* Interrupt sinks (irq.h). */
#include "kvm/irq.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/vm.h"

int irq_sink_msi_irqfd(struct irq_sink *s)
{
    if (s->kind != IRQ_SINK_MSI || s->irqfd >= 0)
        return -EINVAL;
    unsigned gsi;
    int r = vm_add_msi_route(s->vm, s->msi_addr, s->msi_data, &gsi);
    if (r)
        return r;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    if ((r = vm_irqfd(s->vm, fd, gsi, true))) {
        close(fd);
        return r;
    }
    s->gsi = gsi;
    s->irqfd = fd;
    return 0;
}

int irq_sink_msi_update(struct irq_sink *s, uint64_t addr, uint32_t data)
{
    if (s->kind != IRQ_SINK_MSI)
        return -EINVAL;
    s->msi_addr = addr;
    s->msi_data = data;
    return s->gsi >= 0 ? vm_set_msi_route(s->vm, s->gsi, addr, data) : 0;
}

static void send_msi(struct irq_sink *s)
{
    int r;
    if (s->irqfd >= 0) {
        uint64_t one = 1;
        r = write(s->irqfd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
    } else {
        r = vm_signal_msi(s->vm, s->msi_addr, s->msi_data);
    }
    if (r < 0)
        vm_request_stop(s->vm, VMM_EXIT_ERROR, "MSI %#llx/%#x: %s", (unsigned long long)s->msi_addr,
                        s->msi_data, strerror(-r));
    else
        s->sent++;
}

void irq_sink_set(struct irq_sink *s, int level)
{
    level = !!level;
    if (s->kind == IRQ_SINK_LINE) {
        irq_line_set(&s->line, level);
    } else if (level != s->level && level) {
        send_msi(s);
    }
    s->level = level;
}

void irq_sink_pulse(struct irq_sink *s)
{
    irq_sink_set(s, 1);
    irq_sink_set(s, 0);
}

void irq_sink_release(struct irq_sink *s)
{
    if (s->kind == IRQ_SINK_MSI && s->irqfd >= 0) {
        vm_irqfd(s->vm, s->irqfd, s->gsi, false);
        close(s->irqfd);
        s->irqfd = -1;
    }
}
