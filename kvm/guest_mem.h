/* Guest RAM and the only way to touch it.
 *
 * Guest RAM is one anonymous host mapping. On x86 it is seen by the guest as
 * up to two regions: [0, low_size) below the 32-bit hole, and the rest from
 * 4 GiB up. Every access goes through gm_ptr()/gm_read()/gm_write(), which
 * check that the whole range [gpa, gpa+len) lies inside one RAM region,
 * without integer overflow, so a hostile guest address or length can never
 * reach host memory outside the mapping. */
#ifndef PICOSTACK_KVM_GUEST_MEM_H
#define PICOSTACK_KVM_GUEST_MEM_H

#include <stdint.h>

/* RAM above this guest-physical address moves to GM_HIGH_BASE: the hole
 * between keeps room for the TSS/identity-map pages, LAPIC, IOAPIC and MMIO. */
#define GM_LOW_LIMIT 0xC0000000ULL
#define GM_HIGH_BASE 0x100000000ULL

struct guest_mem {
    uint8_t *host;     /* the mapping, size bytes */
    uint64_t size;     /* total RAM in bytes */
    uint64_t low_size; /* RAM at [0, low_size) */
                       /* high RAM: [GM_HIGH_BASE, GM_HIGH_BASE + size - low_size) */
};

/* Maps size bytes of zeroed guest RAM (size: multiple of 4 KiB, > 1 MiB). */
int gm_init(struct guest_mem *gm, uint64_t size);
void gm_free(struct guest_mem *gm);

static inline uint64_t gm_high_size(const struct guest_mem *gm)
{
    return gm->size - gm->low_size;
}

/* Host pointer to [gpa, gpa+len), or NULL if any byte of it is not RAM or
 * the range straddles two regions. len 0 is refused. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies; return 0 or -EFAULT when the range is not all RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
int gm_zero(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
