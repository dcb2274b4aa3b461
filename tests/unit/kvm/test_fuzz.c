/* Hostile kernels: thousands of randomly damaged headers (seeded, so a
 * failure repeats) go through both loaders. Each must either load or be
 * refused with a message; under ASan any read or write outside the file
 * or guest memory fails the test. */
#include "tests/support/check.h"
#include "tiny_kernel.h"

#include <errno.h>
#include <stdlib.h>

#include "kvm/guest_mem.h"
#include "kvm/x86/boot.h"

#define ROUNDS 3000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Changes 1-4 bytes in the first `span` bytes; sometimes sets a 32-bit
 * field to an extreme value, sometimes cuts the file short. */
static size_t damage(uint8_t *f, size_t size, size_t span)
{
    int n = 1 + next() % 4;
    for (int i = 0; i < n; i++) {
        size_t at = next() % span;
        if (next() % 3 == 0 && at + 4 <= size) {
            static const uint32_t extremes[] = { 0,          1,          0x7fffffff,
                                                 0x80000000, 0xffffffff, 0xfffffff0 };
            uint32_t v = extremes[next() % 6];
            memcpy(f + at, &v, 4);
        } else {
            f[at] = next();
        }
    }
    if (next() % 8 == 0)
        size = next() % size;
    return size;
}

int main(void)
{
    struct guest_mem gm;
    CHECK_EQ(gm_init(&gm, 8 << 20), 0);
    size_t bz_size, pvh_size;
    uint8_t *bz = tiny_bzimage(TINY_RESET, &bz_size);
    uint8_t *pvh = tiny_pvh(TINY_RESET, &pvh_size);
    uint8_t *f = malloc(bz_size > pvh_size ? bz_size : pvh_size);
    int loaded = 0, refused = 0, silent = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct x86_boot_info info;
        verr_t err = { "" };
        int r;
        if (round % 2) {
            memcpy(f, bz, bz_size);
            size_t n = damage(f, bz_size, 0x300);
            r = x86_load_bzimage(&gm, f, n, "console=ttyS0", &info, &err);
            if (r == 0)
                CHECK(info.kernel_end <= gm.low_size && info.entry == info.kernel_start + 0x200);
        } else {
            memcpy(f, pvh, pvh_size);
            size_t n = damage(f, pvh_size, 0x120);
            if (n < 64)
                continue; /* x86_load() checks the magic first; below an ELF header it never gets here */
            r = x86_load_pvh(&gm, f, n, &info, &err);
            if (r == 0)
                CHECK(gm_ptr(&gm, info.entry, 1) != NULL && info.entry >= info.kernel_start &&
                      info.entry < info.kernel_end);
        }
        if (r == 0) {
            loaded++;
        } else {
            refused++;
            if (!err.msg[0] || (r != -ENOEXEC && r != -E2BIG && r != -EFAULT)) {
                silent++;
                fprintf(stderr, "round %d: %d without a clear message: '%s'\n", round, r, err.msg);
            }
        }
    }
    CHECK_EQ(silent, 0);
    CHECK(loaded > 0 && refused > 0);
    printf("fuzz: %d loaded, %d refused\n", loaded, refused);
    free(f);
    free(bz);
    free(pvh);
    gm_free(&gm);
    return t_done("kvm.fuzz_loaders");
}
