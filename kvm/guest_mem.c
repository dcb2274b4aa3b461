#include "kvm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int gm_init(struct guest_mem *gm, uint64_t size)
{
    memset(gm, 0, sizeof(*gm));
    if (size < (2ULL << 20) || (size & 0xfff))
        return -EINVAL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    gm->host = p;
    gm->size = size;
    gm->low_size = size < GM_LOW_LIMIT ? size : GM_LOW_LIMIT;
    return 0;
}

void gm_free(struct guest_mem *gm)
{
    if (gm->host)
        munmap(gm->host, gm->size);
    memset(gm, 0, sizeof(*gm));
}

/* Is [gpa, gpa+len) inside [base, base+region)? Written so nothing overflows. */
static int in_region(uint64_t gpa, uint64_t len, uint64_t base, uint64_t region)
{
    return gpa >= base && len <= region && gpa - base <= region - len;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    if (!gm->host || len == 0)
        return NULL;
    if (in_region(gpa, len, 0, gm->low_size))
        return gm->host + gpa;
    if (in_region(gpa, len, GM_HIGH_BASE, gm_high_size(gm)))
        return gm->host + gm->low_size + (gpa - GM_HIGH_BASE);
    return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
    if (len == 0)
        return 0;
    const void *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
    if (len == 0)
        return 0;
    void *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

int gm_zero(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return 0;
    void *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memset(p, 0, len);
    return 0;
}
