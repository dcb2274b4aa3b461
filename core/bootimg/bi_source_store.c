/* bootimg: a block-store object as the source (read-only handle). */
#include "core/blockstore/blockstore.h"
#include "core/bootimg/bi_internal.h"

#include <string.h>

static int disk_read(void *ctx, void *buf, uint64_t off, uint64_t len)
{
    return extmap_read(blockstore_disk_map(ctx), buf, off, len);
}

int bootimg_source_blockstore(struct bootimg_source *s, struct blockstore *bs, const char *name,
                              struct bootimg_err *e)
{
    memset(s, 0, sizeof *s);
    struct blockstore_disk *d;
    int rc = blockstore_disk_open(bs, name, BLOCKSTORE_RDONLY, &d);
    if (rc)
        return bi_fail(e, rc, "opening %s: %s", name, blockstore_error());
    s->bs_ = bs;
    s->disk_ = d;
    s->size = extmap_size(blockstore_disk_map(d));
    s->read = disk_read;
    s->ctx = d;
    return 0;
}

void bootimg_source_close(struct bootimg_source *s)
{
    if (s->disk_)
        blockstore_disk_close(s->disk_);
    s->disk_ = NULL;
}
