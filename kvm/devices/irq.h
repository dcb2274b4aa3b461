/* An interrupt line as a device model sees it: a callback taking a level.
 *
 * In the VMM the callback drives KVM_IRQ_LINE on the in-kernel irqchip; in
 * tests it records the levels. The line remembers its level and calls out
 * only on a change, so models may call irq_line_set() freely. */
#ifndef PICOSTACK_KVM_DEVICES_IRQ_H
#define PICOSTACK_KVM_DEVICES_IRQ_H

typedef void (*irq_set_fn)(void *opaque, unsigned irq, int level);

struct irq_line {
    irq_set_fn set;
    void *opaque;
    unsigned irq;
    int level;
};

static inline struct irq_line irq_line_make(irq_set_fn set, void *opaque, unsigned irq)
{
    return (struct irq_line){ set, opaque, irq, 0 };
}

static inline void irq_line_set(struct irq_line *l, int level)
{
    level = !!level;
    if (l->level == level)
        return;
    l->level = level;
    if (l->set)
        l->set(l->opaque, l->irq, level);
}

#endif
