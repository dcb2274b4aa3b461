/* Block-store disks of a VM: hand-over at launch (the text line in a memfd,
 * the descriptors inherited), release when the VMM is gone, reattach after
 * a daemon restart, and grants while it runs. Every store call is made
 * under the daemon's block-store lock (the store is single-threaded). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/blockstore/blockstore.h"
#include "core/vmmctl/vmc_internal.h"

void vmc_bs_lock(struct vmmctl *v)
{
    if (v->cfg.bs_lock.lock)
        v->cfg.bs_lock.lock(v->cfg.bs_lock.ctx);
}

void vmc_bs_unlock(struct vmmctl *v)
{
    if (v->cfg.bs_lock.unlock)
        v->cfg.bs_lock.unlock(v->cfg.bs_lock.ctx);
}

int vmc_disk_handover(struct vmmctl *v, const char *object, struct blockstore_disk **out,
                      struct extmap_handover *h, int *line_fd, struct vmmctl_err *err)
{
    *out = NULL;
    *line_fd = -1;
    if (!v->cfg.bs)
        return vmc_fail(err, -EINVAL, "disk %s: no block store configured", object);
    vmc_bs_lock(v);
    struct blockstore_disk *d = NULL;
    int rc = blockstore_disk_open(v->cfg.bs, object, 0, &d);
    if (rc < 0) {
        vmc_fail(err, rc, "disk %s: %s", object, blockstore_error());
    } else if ((rc = blockstore_disk_handover(d, h)) < 0) {
        vmc_fail(err, rc, "disk %s: hand-over: %s", object, blockstore_error());
        blockstore_disk_close(d);
        d = NULL;
    }
    vmc_bs_unlock(v);
    if (rc < 0)
        return rc;
    char line[EXTMAP_HANDOVER_LINE_MAX];
    int len = extmap_handover_format(h, line, sizeof(line));
    int fd = len < 0 ? -1 : memfd_create("picostack-handover", MFD_CLOEXEC);
    if (len < 0)
        rc = vmc_fail(err, len, "disk %s: hand-over line: %s", object, strerror(-len));
    else if (fd < 0)
        rc = vmc_fail(err, -errno, "memfd_create: %s", strerror(errno));
    else if (write(fd, line, (size_t)len) != len || lseek(fd, 0, SEEK_SET) < 0)
        rc = vmc_fail(err, -EIO, "disk %s: writing the hand-over line", object);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        blockstore_handover_close(h);
        vmc_bs_lock(v);
        blockstore_disk_close(d);
        vmc_bs_unlock(v);
        return rc;
    }
    *out = d;
    *line_fd = fd;
    return 0;
}

int vmc_disks_set_writer(struct vmmctl *v, struct blockstore_disk *const *disks, unsigned n,
                         pid_t pid, struct vmmctl_err *err)
{
    int rc = 0;
    vmc_bs_lock(v);
    for (unsigned i = 0; rc == 0 && i < n; i++)
        if (disks[i] && (rc = blockstore_disk_set_writer(disks[i], pid)) < 0)
            vmc_fail(err, rc, "recording the VMM as writer: %s", blockstore_error());
    vmc_bs_unlock(v);
    return rc;
}

void vmc_disks_close(struct vmmctl *v, struct blockstore_disk **disks, unsigned n)
{
    vmc_bs_lock(v);
    for (unsigned i = 0; i < n; i++)
        if (disks[i]) {
            /* the writer is gone: fold what it journaled, free the rest */
            if (blockstore_disk_close(disks[i]) < 0)
                fprintf(stderr, "vmmctl: releasing a disk: %s\n", blockstore_error());
            disks[i] = NULL;
        }
    vmc_bs_unlock(v);
}

void vmc_disks_release(struct vmmctl *v, struct vmc_vm *vm)
{
    vmc_disks_close(v, vm->disks, VMMCTL_MAX_DISKS);
}

int vmc_disks_reattach(struct vmmctl *v, struct vmc_vm *vm, struct vmmctl_err *err)
{
    int rc = 0;
    vmc_bs_lock(v);
    for (unsigned i = 0; rc == 0 && i < vm->spec.ndisks; i++) {
        const char *o = vm->spec.disks[i].object;
        if (!o[0])
            continue;
        pid_t writer = 0;
        if (!v->cfg.bs)
            rc = vmc_fail(err, -EINVAL, "disk %s: no block store configured", o);
        else if ((rc = blockstore_disk_writer(v->cfg.bs, o, &writer)) < 0)
            vmc_fail(err, rc, "disk %s: %s", o, blockstore_error());
        else if (writer != vm->pid)
            rc = vmc_fail(err, -EBUSY, "disk %s: written by pid %d, not by this VM's VMM (%d)", o,
                          (int)writer, (int)vm->pid);
        else if ((rc = blockstore_disk_reattach(v->cfg.bs, o, &vm->disks[i])) < 0)
            vmc_fail(err, rc, "disk %s: reattach: %s", o, blockstore_error());
    }
    vmc_bs_unlock(v);
    return rc;
}

/* One {"op":"grant"} for disk i: what the store lends, plus descriptors of
 * data files the VMM was not handed (made since). */
static void grant_one(struct vmmctl *v, struct vmc_vm *vm, unsigned i)
{
    struct extmap_range r[8];
    vmc_bs_lock(v);
    int n = blockstore_disk_grant(vm->disks[i], 256, r, 8);
    if (n < 0)
        fprintf(stderr, "vmmctl: %s: grant for disk %u: %s\n", vm->spec.id, i, blockstore_error());
    int files[8], fds[8], nf = 0;
    for (int k = 0; k < n; k++) {
        int f = (int)(r[k].start >> EXTMAP_FILE_SHIFT);
        bool seen = false;
        for (int j = 0; j < nf; j++)
            seen |= files[j] == f;
        if (!seen && f >= 0 && f < EXTMAP_MAX_FILES && !(vm->files_sent[i] & (1ull << f))) {
            int fd = blockstore_data_file_fd(v->cfg.bs, f);
            if (fd >= 0)
                files[nf] = f, fds[nf++] = fd;
        }
    }
    vmc_bs_unlock(v);
    if (n <= 0)
        return;
    json_t *ranges = json_array(), *fl = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(ranges,
                              json_pack("[I, I]", (json_int_t)r[k].start, (json_int_t)r[k].count));
    for (int k = 0; k < nf; k++)
        json_array_append_new(fl, json_integer(files[k]));
    json_t *req = json_pack("{s:s, s:i, s:o}", "op", "grant", "disk", (int)i, "ranges", ranges);
    if (nf)
        json_object_set_new(req, "files", fl);
    else
        json_decref(fl);
    char *line = json_dumps(req, JSON_COMPACT), *reply = NULL;
    json_decref(req);
    char full[8192];
    snprintf(full, sizeof(full), "%s\n", line ? line : "");
    int rc = line ? vmc_control_call(vm->status_fd, full, fds, nf, 2000, &reply) : -ENOMEM;
    if (rc == 0 && reply && strstr(reply, "\"ok\":true"))
        for (int k = 0; k < nf; k++)
            vm->files_sent[i] |= 1ull << files[k];
    else
        fprintf(stderr, "vmmctl: %s: grant for disk %u not taken: %s\n", vm->spec.id, i,
                rc ? strerror(-rc) : reply);
    for (int k = 0; k < nf; k++)
        close(fds[k]);
    free(line);
    free(reply);
}

void vmc_grants_feed(struct vmmctl *v, struct vmc_vm *vm, const char *status_line)
{
    if (!strstr(status_line, "\"grant_wanted\":true"))
        return; /* the common case, without parsing */
    json_t *st = json_loads(status_line, 0, NULL);
    json_t *devs = json_object_get(st, "devices"), *d;
    size_t k;
    json_array_foreach (devs, k, d) {
        const char *name = json_string_value(json_object_get(d, "device"));
        unsigned i;
        if (name && sscanf(name, "virtio-blk%u", &i) == 1 && i < VMMCTL_MAX_DISKS && vm->disks[i] &&
            json_is_true(json_object_get(d, "grant_wanted")))
            grant_one(v, vm, i);
    }
    json_decref(st);
}
