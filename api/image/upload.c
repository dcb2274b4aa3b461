/* Image uploads: PUT /v2/images/{id}/file streams the body straight into
 * a block-store image writer while MD5 and SHA-512 are computed on the
 * same chunks (never the whole image in memory): MD5 on the request
 * thread, SHA-512 and the appends on the upload's writer thread
 * (image_pipe.c), so hashing and disk writes overlap.
 *
 * Order of durable steps for an upload (docs/ARCHITECTURE.md, "Storage contract"):
 *   1. one transaction: queued -> saving, with a fresh upload nonce;
 *   2. the data goes to a block-store writer, outside any transaction;
 *   3. the writer commits (the data is durable);
 *   4. one transaction: saving -> active with size and checksums, only if
 *      the record is still this upload's (same nonce, still saving).
 * A failure or a cut-off client aborts the writer (freeing everything) and
 * puts the record back to queued; a crash anywhere is repaired at the next
 * start by img_recover(): saving -> queued, and any block-store image that
 * no active record owns is deleted. */
#include "api/image/internal.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* How often an upload checks that its record is still its own. */
#define OWNER_CHECK_EVERY (16ull << 20)

struct upload {
    char id[STORE_ID_LEN + 1];
    char nonce[STORE_ID_LEN + 1];
    bool qcow2;
    struct blockstore_writer *w;
    struct img_pipe *pipe; /* hashing and appending, on two threads */
    struct image_hasher *h;
    uint64_t size;
    uint64_t checked_at;    /* size at the last ownership check */
    unsigned char head[64]; /* the first bytes: the qcow2 header */
    size_t headlen;
    struct img_claim claim; /* space, size cap and quota (space.c) */
    uint64_t stored;        /* bytes stored: the data, plus a qcow2's disk */
    uint64_t conv_done;     /* conversion: the end of its last write */
    uint64_t conv_stored;   /* conversion: bytes it has stored (estimate) */
    uint64_t conv_unit;     /* conversion: most one write of it may store */
    char why[200];          /* why a claim was refused */
};

/* Frees u (stopping its pipe and aborting its writer, if any). */
static void upload_free(struct upload *u)
{
    if (u->pipe)
        img_pipe_finish(u->pipe, true, NULL, 0);
    if (u->w) {
        api_blockstore_lock(img_srv());
        blockstore_image_abort(u->w);
        api_blockstore_unlock(img_srv());
    }
    image_hasher_free(u->h);
    img_claim_end(&u->claim);
    free(u);
}

/* Puts the record back to queued if it is still this upload's. */
static void revert_to_queued(struct upload *u)
{
    struct store_txn *t;
    if (store_begin(image_db_store(img_db()), true, &t) < 0)
        return;
    json_t *img = NULL;
    const char *nonce;
    if (image_db_get(t, img_db(), u->id, &img) == 0 && (nonce = image_private_get(img, "upload")) &&
        strcmp(nonce, u->nonce) == 0 && strcmp(image_status(img), "saving") == 0) {
        char now[32];
        image_timestamp(now);
        image_upload_abort(img, now);
        image_private_set(img, "upload", NULL);
        if (image_db_put(t, img_db(), img) == 0) {
            json_decref(img);
            if (store_commit(t) < 0)
                fprintf(stderr, "picostackd: image %s: cannot put it back to queued\n", u->id);
            return;
        }
    }
    json_decref(img);
    store_abort(t);
}

/* Is the record still this upload's (not deleted, not changed)? */
static bool still_ours(struct upload *u)
{
    struct store_txn *t;
    if (store_begin(image_db_store(img_db()), false, &t) < 0)
        return true; /* cannot tell: the final step checks again */
    json_t *img = NULL;
    const char *nonce;
    bool ours = image_db_get(t, img_db(), u->id, &img) == 0 &&
                (nonce = image_private_get(img, "upload")) && strcmp(nonce, u->nonce) == 0;
    json_decref(img);
    store_abort(t);
    return ours;
}

static int on_chunk(struct api_req *r, void *ctx, const void *data, size_t len)
{
    (void)r;
    struct upload *u = ctx;
    if (u->headlen < sizeof u->head) {
        size_t n = sizeof u->head - u->headlen;
        if (n > len)
            n = len;
        memcpy(u->head + u->headlen, data, n);
        u->headlen += n;
    }
    int rc = img_claim(&u->claim, u->size, u->size + len, u->why, sizeof u->why);
    if (rc < 0)
        return rc;
    if (u->size + len - u->checked_at >= OWNER_CHECK_EVERY) {
        if (!still_ours(u))
            return -ECANCELED; /* deleted meanwhile: stop storing it */
        u->checked_at = u->size;
    }
    rc = img_pipe_write(u->pipe, data, len);
    if (rc < 0)
        return rc;
    u->size += len;
    return 0;
}

/* The conversion's progress, after each of its writes (one qcow2 cluster,
 * in increasing order; done is where it ended): the output claims what it
 * stores (the cap, the quota and the reserve apply to it), and the block
 * store's lock is let go for a moment so that other tenants' uploads and
 * deletes are not held up for the whole conversion.  A write stores at most
 * the larger of a qcow2 cluster and a block-store cluster, and no more than
 * the distance from the previous write's end. */
static int convert_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    struct upload *u = ctx;
    uint64_t step = done > u->conv_done ? done - u->conv_done : 0;
    u->conv_stored += step < u->conv_unit ? step : u->conv_unit;
    u->conv_done = done;
    uint64_t need = u->size + u->conv_stored;
    int rc = img_claim(&u->claim, need, need, u->why, sizeof u->why);
    if (rc < 0)
        return 1; /* stop: blockstore answers -ECANCELED, u->why says why */
    api_blockstore_unlock(img_srv());
    api_blockstore_lock(img_srv());
    return 0;
}

/* qcow2: convert the stored bytes into a disk volumes clone ("ID.disk")
 * with the block store's qcow2 reader (the same checks as an import). */
static int convert_qcow2(struct upload *u, char *why, size_t whylen)
{
    char disk[64];
    img_disk_name(disk, u->id);
    unsigned bits = (unsigned)u->head[20] << 24 | (unsigned)u->head[21] << 16 |
                    (unsigned)u->head[22] << 8 | u->head[23]; /* qcow2 cluster_bits */
    u->conv_unit = bits >= 9 && bits <= 21 ? 1ull << bits : 2ull << 20;
    if (u->conv_unit < EXTMAP_CLUSTER_SIZE)
        u->conv_unit = EXTMAP_CLUSTER_SIZE;
    api_blockstore_lock(img_srv());
    u->why[0] = '\0';
    int rc = blockstore_convert_qcow2(img_bs(), u->id, disk, convert_progress, u);
    if (rc < 0)
        snprintf(why, whylen, "%s", u->why[0] ? u->why : blockstore_error());
    struct blockstore_info info;
    if (rc == 0 && blockstore_info(img_bs(), disk, &info) == 0)
        u->stored += info.allocated;
    api_blockstore_unlock(img_srv());
    if (rc < 0 && u->why[0]) /* refused by a limit, not malformed */
        return -EFBIG;
    return rc;
}

/* Step 4: saving -> active, if the record is still ours. */
static int finish(struct api_req *r, struct upload *u, int64_t vsize)
{
    char md5[33], sha[129], now[32];
    image_hasher_final(u->h, md5, sha);
    image_timestamp(now);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return -1;
    json_t *img = NULL;
    const char *nonce;
    if (image_db_get(t, img_db(), u->id, &img) < 0 || !(nonce = image_private_get(img, "upload")) ||
        strcmp(nonce, u->nonce) != 0) {
        store_abort(t);
        json_decref(img);
        api_reply_error(r, 409, "Image %s was deleted or changed during the upload.", u->id);
        return -1;
    }
    struct image_err err;
    if (image_upload_finish(img, (int64_t)u->size, vsize, md5, sha, now, &err) < 0) {
        store_abort(t);
        json_decref(img);
        img_reply_err(r, &err);
        return -1;
    }
    image_private_set(img, "upload", NULL);
    /* Where volumes find the disk to clone (IMAGE_DISK): the converted
     * disk of a qcow2, the bytes themselves otherwise; none if empty. */
    char disk[64];
    img_disk_name(disk, u->id);
    image_private_set(img, IMAGE_DISK, u->qcow2 ? disk : u->size ? u->id : NULL);
    image_private_set_int(img, IMG_STORED, (int64_t)(u->stored + u->size));
    int rc = image_db_put(t, img_db(), img);
    json_decref(img);
    if (rc < 0) {
        store_abort(t);
        api_reply_error(r, 500, "Cannot store image %s: %s", u->id, strerror(-rc));
        return -1;
    }
    return api_txn_commit(r, t) ? 0 : -1;
}

/* Frees the writer's data (if any), puts the record back to queued, and
 * frees u. */
static void fail_upload(struct upload *u)
{
    if (u->pipe) {
        img_pipe_finish(u->pipe, true, NULL, 0);
        u->pipe = NULL;
    }
    if (u->w) {
        api_blockstore_lock(img_srv());
        blockstore_image_abort(u->w);
        api_blockstore_unlock(img_srv());
        u->w = NULL;
    }
    revert_to_queued(u);
    upload_free(u);
}

static void complete_upload(struct api_req *r, void *ctx);

static void on_end(struct api_req *r, void *ctx, int err)
{
    struct upload *u = ctx;
    if (err == 0) {
        /* The commit (fdatasync) takes a while: on the worker pool, so
         * this request thread serves others.  A qcow2 conversion takes
         * longer: on the slow lane, so logins' workers stay free; when its
         * queue is full the upload is refused (503, replied). */
        if (!u->qcow2)
            api_req_defer(r, complete_upload, u);
        else if (!api_req_defer_slow(r, complete_upload, u))
            fail_upload(u);
        return;
    }
    /* An append error's text was taken on the writer thread. */
    char msg[256] = "", u_id[STORE_ID_LEN + 1];
    img_pipe_finish(u->pipe, true, msg, sizeof msg);
    u->pipe = NULL;
    if (!msg[0] && u->why[0])
        snprintf(msg, sizeof msg, "%s", u->why);
    if (!msg[0] && err == -ENOSPC)
        snprintf(msg, sizeof msg, "no space left");
    snprintf(u_id, sizeof u_id, "%s", u->id);
    fail_upload(u);
    if (err == -ENOSPC)
        api_reply_error(r, 413, "Image storage media is full: %s", msg);
    else if (err == -EFBIG || err == -EDQUOT)
        api_reply_error(r, 413, "The image is too big: %s", msg);
    else if (err == -ECANCELED)
        api_reply_error(r, 409, "Image %s was deleted during the upload.", u_id);
    else if (err != -ECONNRESET)
        api_reply_error(r, 500, "Error storing the image data: %s (%s)", strerror(-err), msg);
}

/* The body is all in: commit the data, convert a qcow2, flip to active. */
static void complete_upload(struct api_req *r, void *ctx)
{
    struct upload *u = ctx;
    char why[256] = "";
    int rc = img_pipe_finish(u->pipe, false, why, sizeof why);
    u->pipe = NULL;
    if (rc < 0) {
        fail_upload(u);
        return api_reply_error(r, rc == -ENOSPC ? 413 : 500, "Cannot store the image data: %s",
                               why);
    }
    if (u->size == 0 && !u->qcow2) {
        /* An empty image (Glance allows them): no block-store object. */
        api_blockstore_lock(img_srv());
        blockstore_image_abort(u->w);
        api_blockstore_unlock(img_srv());
    } else {
        rc = API_BS(img_srv(), blockstore_image_commit(u->w));
    }
    u->w = NULL; /* gone after commit or abort, failed or not */
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", blockstore_error());
        fail_upload(u);
        return api_reply_error(r, rc == -ENOSPC ? 413 : 500, "Cannot store the image data: %s",
                               msg);
    }
    int64_t vsize = (int64_t)u->size;
    if (u->qcow2) {
        vsize = image_qcow2_virtual_size(u->head, u->headlen);
        char why[256] = "";
        if (vsize >= 0 && (rc = convert_qcow2(u, why, sizeof why)) == -EFBIG) {
            img_delete_data(u->id);
            fail_upload(u);
            return api_reply_error(r, 413, "The image is too big: %s", why);
        }
        if (vsize < 0 || rc < 0) {
            img_delete_data(u->id);
            fail_upload(u);
            return api_reply_error(r, 400, "The data is not a usable qcow2 image%s%s",
                                   why[0] ? ": " : ".", why);
        }
    }
    if (finish(r, u, vsize) < 0) {
        /* Replied already. The record is not ours (deleted, changed) or the
         * commit failed: the data must not outlive it. */
        img_delete_data(u->id);
        revert_to_queued(u);
        upload_free(u);
        return;
    }
    upload_free(u);
    api_reply_empty(r, 204);
}

/* PUT /v2/images/{id}/file */
void img_upload(struct api_req *r)
{
    if (!img_bs())
        return api_reply_error(r, 503, "No block store: image data cannot be stored.");
    struct image_caller who = img_caller(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *img = img_load_visible(r, t, id, &who);
    if (!img) {
        store_abort(t);
        return;
    }
    struct image_err err;
    char now[32];
    image_timestamp(now);
    if (!image_can_modify(img, &who)) {
        err = (struct image_err){ -EPERM, "You are not permitted to upload data for this image." };
        goto refuse;
    }
    struct upload *u = calloc(1, sizeof *u);
    if (!u || !(u->h = image_hasher_new())) {
        free(u);
        err = (struct image_err){ 500, "Out of memory." };
        goto refuse;
    }
    /* The space, the cap and the quota, for the whole body at once when its
     * length is known (refused before any data), else as it comes. */
    const char *owner = json_string_value(json_object_get(img, "owner"));
    img_claim_start(&u->claim, owner, img_project_stored(owner, id));
    const char *cl = api_req_header(r, "Content-Length");
    int crc = cl ? img_claim(&u->claim, 0, strtoull(cl, NULL, 10), u->why, sizeof u->why) : 0;
    if (crc < 0) {
        err.err = crc;
        snprintf(err.msg, sizeof err.msg, "%s: %s bytes do not fit: %s.",
                 crc == -ENOSPC ? "Image storage media is full" : "The image is too big", cl,
                 u->why);
        upload_free(u);
        goto refuse;
    }
    if (image_upload_begin(img, now, &err) < 0) {
        upload_free(u);
        goto refuse;
    }
    snprintf(u->id, sizeof u->id, "%s", id);
    store_new_id(u->nonce);
    const char *fmt = json_string_value(json_object_get(img, "disk_format"));
    u->qcow2 = fmt && strcmp(fmt, "qcow2") == 0;
    image_private_set(img, "upload", u->nonce);
    int rc = image_db_put(t, img_db(), img);
    json_decref(img);
    if (rc < 0) {
        store_abort(t);
        upload_free(u);
        return api_reply_error(r, 500, "Cannot store image %s: %s", id, strerror(-rc));
    }
    if (!api_txn_commit(r, t)) {
        upload_free(u);
        return;
    }
    /* A leftover object of an earlier failed attempt is freed first. */
    img_delete_data(id);
    rc = API_BS(img_srv(), blockstore_image_begin(img_bs(), id, 0, &u->w));
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", blockstore_error());
        u->w = NULL;
        fail_upload(u);
        return api_reply_error(r, rc == -ENOSPC ? 413 : 500, "Cannot start the upload: %s", msg);
    }
    if (img_pipe_start(u->w, u->h, &u->pipe) < 0) {
        u->pipe = NULL;
        fail_upload(u); /* aborts the writer */
        return api_reply_error(r, 500, "Out of memory for the upload.");
    }
    api_req_stream_body(r, on_chunk, on_end, u);
    return;
refuse:
    store_abort(t);
    json_decref(img);
    img_reply_err(r, &err);
}
