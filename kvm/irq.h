/* Interrupt sinks: where a device's interrupt goes, whatever it is.
 *
 * A sink is either a legacy line (an irq_line: KVM_IRQ_LINE on a GSI, a
 * level that follows the device's state) or an MSI message (address/data,
 * an edge). Device code calls irq_sink_set(s, level) the same way for both:
 * a line follows the level; an MSI fires on each rising edge (0 -> 1).
 * irq_sink_pulse() is one edge (virtio "used buffer" notifications).
 *
 * An MSI sink delivers with KVM_SIGNAL_MSI from the calling thread, until
 * irq_sink_msi_irqfd() gives it a GSI route and an irqfd: from then on a
 * write to s->irqfd raises it in the kernel (from an I/O thread, a vhost
 * worker, or irq_sink_set() itself). irq_sink_msi_update() follows a guest
 * rewriting its MSI-X table entry. */
#ifndef PICOSTACK_KVM_IRQ_H
#define PICOSTACK_KVM_IRQ_H

#include <stdint.h>

#include "kvm/devices/irq.h"

struct vm;

enum irq_sink_kind { IRQ_SINK_LINE, IRQ_SINK_MSI };

struct irq_sink {
    enum irq_sink_kind kind;
    struct irq_line line; /* LINE */
    struct vm *vm;        /* MSI */
    uint64_t msi_addr;
    uint32_t msi_data;
    int gsi;   /* MSI: its route, or -1 */
    int irqfd; /* MSI: eventfd bound to gsi, or -1 */
    int level;
    uint64_t sent; /* MSI messages sent */
};

static inline struct irq_sink irq_sink_line(struct irq_line line)
{
    return (struct irq_sink){ .kind = IRQ_SINK_LINE, .line = line, .gsi = -1, .irqfd = -1 };
}

static inline struct irq_sink irq_sink_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    return (struct irq_sink){
        .kind = IRQ_SINK_MSI, .vm = vm, .msi_addr = addr, .msi_data = data, .gsi = -1, .irqfd = -1
    };
}

/* Appends a GSI route for the message and binds a new eventfd to it. */
int irq_sink_msi_irqfd(struct irq_sink *s);
/* New address/data (the route follows if there is one). */
int irq_sink_msi_update(struct irq_sink *s, uint64_t addr, uint32_t data);
void irq_sink_set(struct irq_sink *s, int level);
void irq_sink_pulse(struct irq_sink *s);
/* Unbinds and closes the irqfd. */
void irq_sink_release(struct irq_sink *s);

#endif
