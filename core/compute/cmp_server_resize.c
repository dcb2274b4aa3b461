/* An in-use volume extend reaching a running server (core/volumes' resize
 * hook): the running VMM holds the disk, so vmmctl grows it in the store
 * and then tells the guest (virtio-blk's configuration-change interrupt).
 * A server that is not running, or runs without that volume (attached
 * since its start: no hot-plug), sees the new size at its next start. */
#include "core/compute/cmp_internal.h"
#include "core/vmmctl/vmmctl.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>

static int on_volume_resize(void *ctx, const char *volume_id, const char *server_id,
                            const char *object, uint64_t bytes, char why[256])
{
    (void)volume_id;
    struct compute *c = ctx;
    if (!c->vmm)
        return 0;
    int index = vmmctl_disk_index(c->vmm, server_id, object);
    if (index == -ENOENT)
        return 0;
    if (index < 0) {
        snprintf(why, 256, "server %.40s: %s", server_id,
                 index == -EBUSY ? "starting or stopping" : "unknown state");
        return index;
    }
    struct vmmctl_err e = { "" };
    int rc = vmmctl_disk_resize(c->vmm, server_id, (unsigned)index, bytes, &e);
    if (rc)
        snprintf(why, 256, "server %.40s: %.200s", server_id, e.msg);
    return rc;
}

void cmp_resize_hook_install(struct compute *c)
{
    volumes_set_resize_hook(NULL, on_volume_resize, c);
}

void cmp_resize_hook_remove(void)
{
    volumes_set_resize_hook(NULL, NULL, NULL);
}
