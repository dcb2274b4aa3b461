/* The qcow2 reader on an in-memory file: the libFuzzer entry point, and
 * qcow2_target_run() for the seed regression driver. Reads past the end of
 * the input fail like a short file would. fuzz_seed_target() serves the
 * shared seed driver (tests/support/fuzz_seeds.h). */
#include "tests/support/fuzz_seeds.h"
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct mem {
    const uint8_t *p;
    size_t n;
    uint64_t sum;
};

static int mem_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
    struct mem *m = ctx;
    if (off > m->n || len > m->n - off)
        return -ENODATA;
    memcpy(buf, m->p + off, len);
    return 0;
}

static int consume(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct mem *m = ctx;
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i += 512)
        m->sum += b[i] + off;
    return 0;
}

/* 0: the image read in full; negative: refused (with a message). */
int qcow2_target_run(const uint8_t *data, size_t size);
int qcow2_target_run(const uint8_t *data, size_t size)
{
    struct mem m = { data, size, 0 };
    struct qcow2 *q;
    int r = qcow2_open(mem_pread, &m, size, &q);
    if (r < 0)
        return r;
    r = qcow2_read_all(q, consume, &m);
    qcow2_close(q);
    return r;
}

int fuzz_seed_target(const uint8_t *data, size_t size, char *why, size_t wlen)
{
    int r = qcow2_target_run(data, size);
    if (r)
        snprintf(why, wlen, "%s", blockstore_error());
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qcow2_target_run(data, size);
    return 0;
}
