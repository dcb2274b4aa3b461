/* Image data: PUT /v2/images/{id}/file streams the body straight into a
 * block-store image writer while MD5 and SHA-512 are computed on the same
 * chunks (never the whole image in memory); GET .../file streams it back,
 * with Content-MD5 and single byte ranges.
 *
 * Order of durable steps for an upload (DESIGN.md, "Storage"):
 *   1. one transaction: queued -> saving, with a fresh upload nonce;
 *   2. the data goes to a block-store writer, outside any transaction;
 *   3. the writer commits (the data is durable);
 *   4. one transaction: saving -> active with size and checksums, only if
 *      the record is still this upload's (same nonce, still saving).
 * A failure or a cut-off client aborts the writer (freeing everything) and
 * puts the record back to queued; a crash anywhere is repaired at the next
 * start by img_recover(): saving -> queued, and any block-store image that
 * no active record owns is deleted. */
#include "api/image_internal.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The block store is not thread-safe and the server runs requests on
 * several threads: every call into it (but reads through an open
 * read-only handle, which has its own ring and descriptors) holds bs_lock.
 * Hashing runs outside it, so concurrent uploads hash in parallel. */
static pthread_mutex_t bs_lock = PTHREAD_MUTEX_INITIALIZER;
#define BS(call) ({ pthread_mutex_lock(&bs_lock); __auto_type _r = (call); \
                    pthread_mutex_unlock(&bs_lock); _r; })

/* The data objects of image ID in the block store: the uploaded bytes as
 * they came ("ID"), and for qcow2 the converted disk ("ID.disk"). */
static void disk_name(char out[64], const char *id)
{
    snprintf(out, 64, "%s.disk", id);
}

/* Images being read: the block store lets an object be deleted under a
 * read-only handle (its clusters would be freed and reused while a
 * download still reads them), so deletion waits for the last reader.
 * Under bs_lock. */
struct reader {
    struct reader *next;
    char id[STORE_ID_LEN + 1];
    int count;
    bool doomed;          /* deleted meanwhile: the last reader frees it */
};
static struct reader *readers;

static struct reader *reader_find(const char *id)
{
    for (struct reader *rd = readers; rd; rd = rd->next)
        if (strcmp(rd->id, id) == 0)
            return rd;
    return NULL;
}

static void reader_drop(struct reader *rd)
{
    struct reader **p = &readers;
    while (*p != rd)
        p = &(*p)->next;
    *p = rd->next;
    free(rd);
}

static void delete_objects(struct blockstore *bs, const char *id);

void img_delete_data(const char *id)
{
    struct blockstore *bs = img_bs();
    if (!bs)
        return;
    pthread_mutex_lock(&bs_lock);
    struct reader *rd = reader_find(id);
    if (rd)
        rd->doomed = true;
    pthread_mutex_unlock(&bs_lock);
    if (!rd)
        delete_objects(bs, id);
}

static void delete_objects(struct blockstore *bs, const char *id)
{
    char disk[64];
    disk_name(disk, id);
    int rc = BS(blockstore_delete(bs, id));
    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "picostackd: image %s: cannot free its data: %s\n", id, blockstore_error());
    rc = BS(blockstore_delete(bs, disk));
    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "picostackd: image %s: cannot free its disk: %s\n", disk, blockstore_error());
}

/* ---- upload ---- */

/* Uploads stop short of filling the filesystem: a reserve stays free so
 * that the block store and the control-plane store can still commit (an
 * abort frees clusters in an LMDB transaction, which needs pages). The
 * reserve is 1% of the filesystem, at least 16 MiB, at most 1 GiB. */
#define RESERVE_MIN (16ull << 20)
#define RESERVE_MAX (1ull << 30)
#define SPACE_CHECK_EVERY (16ull << 20)

/* Bytes an upload may still write (free space above the reserve), or
 * UINT64_MAX if the filesystem cannot be asked. */
static uint64_t space_left(void)
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

struct upload {
    char id[STORE_ID_LEN + 1];
    char nonce[STORE_ID_LEN + 1];
    bool qcow2;
    struct blockstore_writer *w;
    struct image_hasher *h;
    uint64_t size;
    uint64_t checked_at;      /* size at the last free-space check */
    unsigned char head[64];   /* the first bytes: the qcow2 header */
    size_t headlen;
};

/* Frees u (aborting its writer, if any). */
static void upload_free(struct upload *u)
{
    if (u->w) {
        pthread_mutex_lock(&bs_lock);
        blockstore_image_abort(u->w);
        pthread_mutex_unlock(&bs_lock);
    }
    image_hasher_free(u->h);
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
    if (image_db_get(t, img_db(), u->id, &img) == 0 &&
        (nonce = image_private_get(img, "upload")) && strcmp(nonce, u->nonce) == 0 &&
        strcmp(image_status(img), "saving") == 0) {
        char now[32];
        image_timestamp(now);
        image_upload_abort(img, now);
        image_private_set(img, "upload", NULL);
        if (image_db_put(t, img_db(), img) == 0) {
            json_decref(img);
            if (store_commit(t) < 0)
                fprintf(stderr, "picostackd: image %s: cannot put it back to queued\n", u->id);
            img_changed();
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
        return true;    /* cannot tell: the final step checks again */
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
    if (u->size + len - u->checked_at >= SPACE_CHECK_EVERY) {
        if (space_left() < len + SPACE_CHECK_EVERY)
            return -ENOSPC;
        if (!still_ours(u))
            return -ECANCELED;    /* deleted meanwhile: stop storing it */
        u->checked_at = u->size;
    }
    image_hasher_update(u->h, data, len);
    int rc = BS(blockstore_image_append(u->w, data, len));
    if (rc < 0)
        return rc;
    u->size += len;
    return 0;
}

/* qcow2: convert the stored bytes into a disk volumes clone ("ID.disk")
 * with the block store's qcow2 reader (the same checks as an import). */
static int convert_qcow2(struct upload *u, char *why, size_t whylen)
{
    char disk[64];
    disk_name(disk, u->id);
    pthread_mutex_lock(&bs_lock);
    int rc = blockstore_convert_qcow2(img_bs(), u->id, disk, NULL, NULL);
    if (rc < 0)
        snprintf(why, whylen, "%s", blockstore_error());
    pthread_mutex_unlock(&bs_lock);
    return rc;
}

/* Step 4: saving -> active, if the record is still ours. */
static int finish(struct api_req *r, struct upload *u, int64_t vsize)
{
    char md5[33], sha[129], now[32];
    image_hasher_final(u->h, md5, sha);
    image_timestamp(now);
    struct store_txn *t = img_txn(r, true);
    if (!t)
        return -1;
    json_t *img = NULL;
    const char *nonce;
    if (image_db_get(t, img_db(), u->id, &img) < 0 ||
        !(nonce = image_private_get(img, "upload")) || strcmp(nonce, u->nonce) != 0) {
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
    int rc = image_db_put(t, img_db(), img);
    json_decref(img);
    if (rc < 0) {
        store_abort(t);
        api_reply_error(r, 500, "Cannot store image %s: %s", u->id, strerror(-rc));
        return -1;
    }
    return img_commit(r, t) ? 0 : -1;
}

/* Frees the writer's data (if any), puts the record back to queued, and
 * frees u. */
static void fail_upload(struct upload *u)
{
    if (u->w) {
        pthread_mutex_lock(&bs_lock);
        blockstore_image_abort(u->w);
        pthread_mutex_unlock(&bs_lock);
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
        /* The commit (fdatasync) and a qcow2 conversion take a while: on
         * the worker pool, so this request thread serves others. */
        api_req_defer(r, complete_upload, u);
        return;
    }
    const char *why = err == -ECONNRESET || err == -ECANCELED ? NULL
                    : err == -ENOSPC ? "no space left" : blockstore_error();
    char msg[256], u_id[STORE_ID_LEN + 1];
    snprintf(msg, sizeof msg, "%s", why ? why : "");
    snprintf(u_id, sizeof u_id, "%s", u->id);
    fail_upload(u);
    if (err == -ENOSPC || err == -EFBIG)
        api_reply_error(r, 413, "Image storage media is full: %s", msg);
    else if (err == -ECANCELED)
        api_reply_error(r, 409, "Image %s was deleted during the upload.", u_id);
    else if (err != -ECONNRESET)
        api_reply_error(r, 500, "Error storing the image data: %s (%s)", strerror(-err), msg);
}

/* The body is all in: commit the data, convert a qcow2, flip to active. */
static void complete_upload(struct api_req *r, void *ctx)
{
    struct upload *u = ctx;
    int rc = 0;
    if (u->size == 0 && !u->qcow2) {
        /* An empty image (Glance allows them): no block-store object. */
        pthread_mutex_lock(&bs_lock);
        blockstore_image_abort(u->w);
        pthread_mutex_unlock(&bs_lock);
    } else {
        rc = BS(blockstore_image_commit(u->w));
    }
    u->w = NULL;           /* gone after commit or abort, failed or not */
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", blockstore_error());
        fail_upload(u);
        return api_reply_error(r, rc == -ENOSPC ? 413 : 500, "Cannot store the image data: %s", msg);
    }
    int64_t vsize = (int64_t)u->size;
    if (u->qcow2) {
        vsize = image_qcow2_virtual_size(u->head, u->headlen);
        char why[256] = "";
        if (vsize < 0 || convert_qcow2(u, why, sizeof why) < 0) {
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
    struct store_txn *t = img_txn(r, true);
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
        err = (struct image_err){ 403, "You are not permitted to upload data for this image." };
        goto refuse;
    }
    const char *cl = api_req_header(r, "Content-Length");
    uint64_t left = space_left();
    if (cl && strtoull(cl, NULL, 10) > left) {
        err.status = 413;
        snprintf(err.msg, sizeof err.msg, "Image storage media is full: %s bytes do not fit "
                 "(%llu bytes free above the reserve).", cl, (unsigned long long)left);
        goto refuse;
    }
    if (image_upload_begin(img, now, &err) < 0)
        goto refuse;
    struct upload *u = calloc(1, sizeof *u);
    if (!u || !(u->h = image_hasher_new())) {
        free(u);
        err = (struct image_err){ 500, "Out of memory." };
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
    if (!img_commit(r, t)) {
        upload_free(u);
        return;
    }
    /* A leftover object of an earlier failed attempt is freed first. */
    img_delete_data(id);
    rc = BS(blockstore_image_begin(img_bs(), id, 0, &u->w));
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", blockstore_error());
        u->w = NULL;
        fail_upload(u);
        return api_reply_error(r, rc == -ENOSPC ? 413 : 500, "Cannot start the upload: %s", msg);
    }
    api_req_stream_body(r, on_chunk, on_end, u);
    return;
refuse:
    store_abort(t);
    json_decref(img);
    img_reply_err(r, &err);
}

/* ---- download ---- */

struct download {
    char id[STORE_ID_LEN + 1];
    struct blockstore_disk *disk;
    struct extmap *map;
    uint64_t start;     /* first byte of the range */
    uint64_t len;       /* bytes to send */
};

static long read_range(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct download *d = ctx;
    if (pos >= d->len)
        return 0;
    uint64_t n = d->len - pos;
    if (n > max)
        n = max;
    int rc = extmap_read(d->map, buf, d->start + pos, n);
    return rc < 0 ? rc : (long)n;
}

static void download_done(void *ctx)
{
    struct download *d = ctx;
    bool free_data = false;
    pthread_mutex_lock(&bs_lock);
    blockstore_disk_close(d->disk);
    struct reader *rd = reader_find(d->id);
    if (rd && --rd->count == 0) {
        /* The last reader: a delete made meanwhile frees the data now. */
        free_data = rd->doomed;
        reader_drop(rd);
    }
    pthread_mutex_unlock(&bs_lock);
    if (free_data)
        delete_objects(img_bs(), d->id);
    free(d);
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" within size: 1 ok, 0 none, -1 bad. */
static int parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (!h)
        return 0;
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return -1;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {
        uint64_t n = strtoull(p + 1, &end, 10);
        if (end == p + 1 || *end || n == 0 || size == 0)
            return -1;
        if (n > size)
            n = size;
        *start = size - n;
        *len = n;
        return 1;
    }
    uint64_t a = strtoull(p, &end, 10), b;
    if (end == p || *end != '-' || a >= size)
        return -1;
    p = end + 1;
    if (*p == '\0') {
        b = size - 1;
    } else {
        b = strtoull(p, &end, 10);
        if (end == p || *end || b < a)
            return -1;
        if (b >= size)
            b = size - 1;
    }
    *start = a;
    *len = b - a + 1;
    return 1;
}

/* GET /v2/images/{id}/file */
void img_download(struct api_req *r)
{
    if (!img_bs())
        return api_reply_error(r, 503, "No block store: image data cannot be read.");
    struct image_caller who = img_caller(r);
    const char *id = api_req_param(r, 0);
    struct store_txn *t = img_txn(r, false);
    if (!t)
        return;
    json_t *img = img_load_visible(r, t, id, &who);
    store_abort(t);
    if (!img)
        return;
    struct image_err err;
    if (image_check_download(img, &who, &err) < 0) {
        json_decref(img);
        return img_reply_err(r, &err);
    }
    uint64_t size = (uint64_t)json_integer_value(json_object_get(img, "size"));
    char md5[40];
    snprintf(md5, sizeof md5, "%s", json_string_value(json_object_get(img, "checksum")) ?: "");
    json_decref(img);

    uint64_t start = 0, len = size;
    int ranged = parse_range(api_req_header(r, "Range"), size, &start, &len);
    if (ranged < 0) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
        api_reply_header(r, "Content-Range", cr);
        return api_reply_error(r, 416, "Requested range not satisfiable (image size %" PRIu64 ").", size);
    }
    if (size == 0) {
        api_reply_header(r, "Content-MD5", md5);
        return api_reply_text(r, 200, "application/octet-stream", "");
    }
    struct download *d = calloc(1, sizeof *d);
    if (!d)
        return api_reply_error(r, 500, "Out of memory.");
    pthread_mutex_lock(&bs_lock);
    struct reader *rd = reader_find(id);
    if (!rd && (rd = calloc(1, sizeof *rd))) {
        snprintf(rd->id, sizeof rd->id, "%s", id);
        rd->next = readers;
        readers = rd;
    }
    int rc = rd ? blockstore_disk_open(img_bs(), id, BLOCKSTORE_RDONLY, &d->disk) : -ENOMEM;
    if (rc == 0)
        rd->count++;
    else if (rd && rd->count == 0)
        reader_drop(rd);
    char why[256];
    snprintf(why, sizeof why, "%s", rc < 0 ? blockstore_error() : "");
    pthread_mutex_unlock(&bs_lock);
    if (rc < 0) {
        free(d);
        if (rc == -ENOENT)     /* deleted since we read its record */
            return api_reply_error(r, 404, "No image found with ID %s", id);
        return api_reply_error(r, 500, "Cannot read the data of image %s: %s", id, why);
    }
    snprintf(d->id, sizeof d->id, "%s", id);
    d->map = blockstore_disk_map(d->disk);
    d->start = start;
    d->len = len;
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1, size);
        api_reply_header(r, "Content-Range", cr);
    } else if (md5[0]) {
        api_reply_header(r, "Content-MD5", md5);
    }
    api_reply_stream(r, ranged ? 206 : 200, "application/octet-stream", len, read_range,
                     download_done, d);
}

/* ---- recovery at start ---- */

struct orphans {
    char (*names)[BLOCKSTORE_NAME_MAX + 1];
    size_t n, cap;
};

static int note_object(void *ctx, const struct blockstore_info *i)
{
    struct orphans *o = ctx;
    char id[STORE_ID_LEN + 1];
    size_t n = strlen(i->name);
    if (n < STORE_ID_LEN)
        return 0;
    memcpy(id, i->name, STORE_ID_LEN);
    id[STORE_ID_LEN] = '\0';
    if (!image_is_uuid(id) || (n != STORE_ID_LEN && strcmp(i->name + STORE_ID_LEN, ".disk") != 0))
        return 0;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        void *p = realloc(o->names, cap * sizeof *o->names);
        if (!p)
            return -ENOMEM;
        o->names = p;
        o->cap = cap;
    }
    snprintf(o->names[o->n++], BLOCKSTORE_NAME_MAX + 1, "%s", i->name);
    return 0;
}

static int requeue(json_t *img, void *ctx)
{
    json_t *list = ctx;
    if (strcmp(image_status(img), "saving") == 0)
        json_array_append(list, img);
    return 0;
}

int img_recover(void)
{
    struct store_txn *t;
    int rc = store_begin(image_db_store(img_db()), true, &t);
    if (rc < 0)
        return rc;
    json_t *saving = json_array();
    rc = image_db_scan(t, img_db(), requeue, saving);
    size_t i; json_t *img;
    char now[32];
    image_timestamp(now);
    json_array_foreach(saving, i, img) {
        if (rc < 0)
            break;
        image_upload_abort(img, now);
        image_private_set(img, "upload", NULL);
        rc = image_db_put(t, img_db(), img);
    }
    json_decref(saving);
    if (rc < 0) {
        store_abort(t);
        return rc;
    }
    rc = store_commit(t);
    img_changed();
    if (rc < 0 || !img_bs())
        return rc;

    /* Block-store images without an active record: a crash between the
     * writer's commit and the record's flip, or during a delete. */
    struct orphans o = {0};
    rc = BS(blockstore_list(img_bs(), note_object, &o));
    if (rc >= 0 && (rc = store_begin(image_db_store(img_db()), false, &t)) == 0) {
        for (size_t k = 0; k < o.n; k++) {
            char id[STORE_ID_LEN + 1];
            snprintf(id, sizeof id, "%.*s", STORE_ID_LEN, o.names[k]);
            json_t *rec = NULL;
            bool keep = image_db_get(t, img_db(), id, &rec) == 0 &&
                        (strcmp(image_status(rec), "active") == 0 ||
                         strcmp(image_status(rec), "deactivated") == 0);
            json_decref(rec);
            if (!keep && BS(blockstore_delete(img_bs(), o.names[k])) == 0)
                fprintf(stderr, "picostackd: freed the data of unfinished image %s\n", o.names[k]);
        }
        store_abort(t);
    }
    free(o.names);
    return rc < 0 ? rc : 0;
}
