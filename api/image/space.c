/* What uploads may write: the free-space reserve, the image size cap and
 * the per-project storage quota (Glance's image_size_cap and
 * user_storage_quota), enforced on bytes before they are written.
 *
 * Every upload in flight holds a claim: bytes it was granted and not yet
 * accounted for by the filesystem.  An upload asks for more in steps of
 * CLAIM_STEP before writing them; the grant is given under one lock only if
 * the free space above the reserve, less what the other claims may still
 * write, covers it.  So no mix of uploads (chunked or not, concurrent or
 * not) crosses the reserve.  A qcow2 conversion's output claims in the same
 * way, by what each of its writes may have stored (upload.c). */
#include "api/image/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* The reserve is 1% of the filesystem, at least 16 MiB, at most 1 GiB: the
 * block store and the control-plane store must still commit (an abort
 * frees clusters in an LMDB transaction, which needs pages). */
#define RESERVE_MIN (16ull << 20)
#define RESERVE_MAX (1ull << 30)
#define CLAIM_STEP  (4ull << 20)
/* Bytes an upload has handed over that may not be on disk yet (its pipe's
 * buffers and the block-store writer's stage). */
#define IN_TRANSIT  (2ull << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct img_claim *claims; /* every claim in flight */

uint64_t img_space_left(void)
{
    char path[4200];
    struct statvfs v;
    snprintf(path, sizeof path, "%s/blocks", img_data_dir());
    if (statvfs(path, &v) < 0)
        return UINT64_MAX;
    uint64_t size = (uint64_t)v.f_blocks * v.f_frsize;
    uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
    uint64_t reserve = size / 100;
    reserve = reserve < RESERVE_MIN ? RESERVE_MIN : reserve > RESERVE_MAX ? RESERVE_MAX : reserve;
    return avail > reserve ? avail - reserve : 0;
}

/* What a claim may still write that statvfs does not see yet. */
static uint64_t outstanding(const struct img_claim *c)
{
    uint64_t w = c->written > IN_TRANSIT ? c->written - IN_TRANSIT : 0;
    return c->granted > w ? c->granted - w : 0;
}

void img_claim_start(struct img_claim *c, const char *project, uint64_t project_stored)
{
    memset(c, 0, sizeof *c);
    snprintf(c->project, sizeof c->project, "%s", project ? project : "");
    c->project_stored = project_stored;
    pthread_mutex_lock(&lock);
    c->next = claims;
    claims = c;
    c->active = true;
    pthread_mutex_unlock(&lock);
}

int img_claim(struct img_claim *c, uint64_t written, uint64_t total, char *why, size_t whylen)
{
    c->written = written;
    if (total <= c->granted)
        return 0;
    const struct api_config *cfg = api_server_config(img_srv());
    if (total > cfg->image_size_cap) {
        snprintf(why, whylen, "the image would store more than the cap of %" PRIu64 " bytes",
                 cfg->image_size_cap);
        return -EFBIG;
    }
    uint64_t want = (total - c->granted + CLAIM_STEP - 1) / CLAIM_STEP * CLAIM_STEP;
    int rc = 0;
    pthread_mutex_lock(&lock);
    uint64_t others = 0, project = c->project_stored;
    for (struct img_claim *o = claims; o; o = o->next) {
        if (o != c)
            others += outstanding(o);
        if (!strcmp(o->project, c->project))
            project += o->granted;
    }
    uint64_t left = img_space_left();
    if (cfg->user_storage_quota && project + want > cfg->user_storage_quota &&
        project - c->granted + total > cfg->user_storage_quota) {
        snprintf(why, whylen, "the project's storage quota of %" PRIu64 " bytes is used up",
                 cfg->user_storage_quota);
        rc = -EDQUOT;
    } else if (left != UINT64_MAX && (left < others || left - others < want)) {
        snprintf(why, whylen, "no space left above the reserve");
        rc = -ENOSPC;
    } else {
        c->granted += want;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void img_claim_end(struct img_claim *c)
{
    pthread_mutex_lock(&lock);
    if (c->active) {
        struct img_claim **p = &claims;
        while (*p && *p != c)
            p = &(*p)->next;
        if (*p)
            *p = c->next;
        c->active = false;
    }
    pthread_mutex_unlock(&lock);
}

struct sum {
    const char *project;
    uint64_t bytes;
};

static int add_stored(json_t *img, void *ctx)
{
    struct sum *s = ctx;
    const char *owner = json_string_value(json_object_get(img, "owner"));
    if (owner && !strcmp(owner, s->project)) {
        int64_t stored = image_private_get_int(img, IMG_STORED);
        if (stored <= 0)
            stored = json_integer_value(json_object_get(img, "size"));
        s->bytes += stored > 0 ? (uint64_t)stored : 0;
    }
    return 0;
}

uint64_t img_project_stored(const char *project, const char *except)
{
    struct sum s = { project, 0 };
    struct store_txn *t;
    if (!project || !*project || store_begin(image_db_store(img_db()), false, &t) < 0)
        return 0;
    image_db_scan(t, img_db(), add_stored, &s);
    json_t *img = NULL;
    if (except && image_db_get(t, img_db(), except, &img) == 0) {
        struct sum one = { project, 0 };
        add_stored(img, &one);
        s.bytes -= one.bytes <= s.bytes ? one.bytes : s.bytes; /* replaced by the upload */
    }
    json_decref(img);
    store_abort(t);
    return s.bytes;
}
