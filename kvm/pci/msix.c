/* MSI-X table, PBA and masking (see msix.h). */
#include "kvm/pci/msix.h"

#include <errno.h>
#include <string.h>

int msix_init(struct msix *x, struct pci_func *f, unsigned nvec, int bar, uint32_t table_off,
              uint32_t pba_off)
{
    if (nvec == 0 || nvec > MSIX_MAX_VECTORS || (table_off & 7) || (pba_off & 7))
        return -EINVAL;
    memset(x->v, 0, sizeof(x->v));
    x->f = f;
    x->n = nvec;
    x->sent = x->pended = 0;
    for (unsigned i = 0; i < nvec; i++)
        x->v[i].ctrl = MSIX_VEC_MASKED;
    uint8_t cap[12] = { PCI_CAP_MSIX, 0 };
    uint16_t ctrl = (uint16_t)(nvec - 1);
    uint32_t t = table_off | (uint32_t)bar, p = pba_off | (uint32_t)bar;
    memcpy(cap + 2, &ctrl, 2);
    memcpy(cap + 4, &t, 4);
    memcpy(cap + 8, &p, 4);
    int at = pci_func_add_cap(f, cap, sizeof(cap));
    if (at < 0)
        return at;
    x->cap = at;
    f->wmask[at + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8; /* the rest is read-only */
    int r = pthread_mutex_init(&x->lock, NULL);
    return r ? -r : 0;
}

void msix_destroy(struct msix *x)
{
    pthread_mutex_destroy(&x->lock);
}

static uint16_t ctrl(const struct msix *x)
{
    return (uint16_t)pci_get(x->f, (uint32_t)x->cap + 2, 2);
}

static bool can_send(const struct msix *x, unsigned vec)
{
    uint16_t c = ctrl(x);
    return (c & MSIX_CTRL_ENABLE) && !(c & MSIX_CTRL_MASKALL) &&
           !(x->v[vec].ctrl & MSIX_VEC_MASKED);
}

static void send(struct msix *x, unsigned vec)
{
    struct msix_vec *v = &x->v[vec];
    v->pending = false;
    x->sent++;
    if (x->deliver)
        x->deliver(x->ctx, vec, ((uint64_t)v->addr_hi << 32) | v->addr_lo, v->data);
}

/* Sends what became deliverable (after an unmask or an enable). */
static void flush_pending(struct msix *x)
{
    for (unsigned i = 0; i < x->n; i++)
        if (x->v[i].pending && can_send(x, i))
            send(x, i);
}

bool msix_enabled(struct msix *x)
{
    pthread_mutex_lock(&x->lock);
    bool on = ctrl(x) & MSIX_CTRL_ENABLE;
    pthread_mutex_unlock(&x->lock);
    return on;
}

uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= (uint64_t)x->n * MSIX_ENTRY_SIZE)
        return 0;
    pthread_mutex_lock(&x->lock);
    const struct msix_vec *v = &x->v[off / MSIX_ENTRY_SIZE];
    uint32_t w[4] = { v->addr_lo, v->addr_hi, v->data, v->ctrl };
    unsigned i = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;
    uint64_t r = w[i];
    if (size == 8)
        r |= (uint64_t)w[i + 1] << 32;
    pthread_mutex_unlock(&x->lock);
    return r;
}

static void write_word(struct msix *x, unsigned vec, unsigned word, uint32_t val)
{
    struct msix_vec *v = &x->v[vec];
    switch (word) {
    case 0: v->addr_lo = val & ~3u; break;
    case 1: v->addr_hi = val; break;
    case 2: v->data = val; break;
    default:
        v->ctrl = val & MSIX_VEC_MASKED;
        if (v->pending && can_send(x, vec))
            send(x, vec);
        return;
    }
    if (x->route)
        x->route(x->ctx, vec, ((uint64_t)v->addr_hi << 32) | v->addr_lo, v->data);
}

void msix_table_write(struct msix *x, uint64_t off, unsigned size, uint64_t value)
{
    if ((size != 4 && size != 8) || (off & (size - 1)) || off >= (uint64_t)x->n * MSIX_ENTRY_SIZE)
        return;
    pthread_mutex_lock(&x->lock);
    unsigned vec = (unsigned)(off / MSIX_ENTRY_SIZE), word = (unsigned)(off % MSIX_ENTRY_SIZE) / 4;
    write_word(x, vec, word, (uint32_t)value);
    if (size == 8)
        write_word(x, vec, word + 1, (uint32_t)(value >> 32));
    pthread_mutex_unlock(&x->lock);
}

uint64_t msix_pba_read(struct msix *x, uint64_t off, unsigned size)
{
    if ((size != 4 && size != 8) || (off & (size - 1)))
        return 0;
    uint64_t r = 0;
    pthread_mutex_lock(&x->lock);
    for (unsigned b = 0; b < 8 * size; b++) {
        uint64_t vec = off * 8 + b;
        if (vec < x->n && x->v[vec].pending)
            r |= 1ull << b;
    }
    pthread_mutex_unlock(&x->lock);
    return r;
}

void msix_cfg_written(struct msix *x)
{
    pthread_mutex_lock(&x->lock);
    flush_pending(x);
    pthread_mutex_unlock(&x->lock);
}

void msix_fire(struct msix *x, unsigned vec)
{
    if (vec >= x->n)
        return;
    pthread_mutex_lock(&x->lock);
    if (can_send(x, vec)) {
        send(x, vec);
    } else {
        x->v[vec].pending = true;
        x->pended++;
    }
    pthread_mutex_unlock(&x->lock);
}
