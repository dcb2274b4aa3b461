/* Image data in the block store: GET /v2/images/{id}/file streams it
 * back (Content-MD5, single byte ranges), deletions wait for the last
 * reader, and at start the leftovers of a crash are put right. Uploads are
 * in image_upload.c. */
#include "api/image/internal.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The data objects of image ID in the block store: the uploaded bytes as
 * they came ("ID"), and for qcow2 the converted disk ("ID.disk"). */
void img_disk_name(char out[64], const char *id)
{
    snprintf(out, 64, "%s.disk", id);
}

/* Images being read: the block store lets an object be deleted under a
 * read-only handle (its clusters would be freed and reused while a
 * download still reads them), so deletion waits for the last reader.
 * Under the block-store lock. */
struct reader {
    struct reader *next;
    char id[STORE_ID_LEN + 1];
    int count;
    bool doomed; /* deleted meanwhile: the last reader frees it */
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
    api_blockstore_lock(img_srv());
    struct reader *rd = reader_find(id);
    if (rd)
        rd->doomed = true;
    api_blockstore_unlock(img_srv());
    if (!rd)
        delete_objects(bs, id);
}

static void delete_objects(struct blockstore *bs, const char *id)
{
    char disk[64];
    img_disk_name(disk, id);
    int rc = API_BS(img_srv(), blockstore_delete(bs, id));
    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "picostackd: image %s: cannot free its data: %s\n", id, blockstore_error());
    rc = API_BS(img_srv(), blockstore_delete(bs, disk));
    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "picostackd: image %s: cannot free its disk: %s\n", disk,
                blockstore_error());
}

/* ---- download ---- */

struct download {
    char id[STORE_ID_LEN + 1];
    struct blockstore_disk *disk;
    struct extmap *map;
    uint64_t start; /* first byte of the range */
    uint64_t len;   /* bytes to send */
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
    api_blockstore_lock(img_srv());
    blockstore_disk_close(d->disk);
    struct reader *rd = reader_find(d->id);
    if (rd && --rd->count == 0) {
        /* The last reader: a delete made meanwhile frees the data now. */
        free_data = rd->doomed;
        reader_drop(rd);
    }
    api_blockstore_unlock(img_srv());
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
    struct store_txn *t = api_txn_begin(r, false);
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
        return api_reply_error(r, 416, "Requested range not satisfiable (image size %" PRIu64 ").",
                               size);
    }
    if (size == 0) {
        api_reply_header(r, "Content-MD5", md5);
        return api_reply_text(r, 200, "application/octet-stream", "");
    }
    struct download *d = calloc(1, sizeof *d);
    if (!d)
        return api_reply_error(r, 500, "Out of memory.");
    api_blockstore_lock(img_srv());
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
    api_blockstore_unlock(img_srv());
    if (rc < 0) {
        free(d);
        if (rc == -ENOENT) /* deleted since we read its record */
            return api_reply_error(r, 404, "No image found with ID %s", id);
        return api_reply_error(r, 500, "Cannot read the data of image %s: %s", id, why);
    }
    snprintf(d->id, sizeof d->id, "%s", id);
    d->map = blockstore_disk_map(d->disk);
    d->start = start;
    d->len = len;
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, start + len - 1,
                 size);
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
    size_t i;
    json_t *img;
    char now[32];
    image_timestamp(now);
    json_array_foreach (saving, i, img) {
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
    if (rc < 0 || !img_bs())
        return rc;

    /* Block-store images without an active record: a crash between the
     * writer's commit and the record's flip, or during a delete. */
    struct orphans o = { 0 };
    rc = API_BS(img_srv(), blockstore_list(img_bs(), note_object, &o));
    if (rc >= 0 && (rc = store_begin(image_db_store(img_db()), false, &t)) == 0) {
        for (size_t k = 0; k < o.n; k++) {
            char id[STORE_ID_LEN + 1];
            snprintf(id, sizeof id, "%.*s", STORE_ID_LEN, o.names[k]);
            json_t *rec = NULL;
            bool keep = image_db_get(t, img_db(), id, &rec) == 0 &&
                        (strcmp(image_status(rec), "active") == 0 ||
                         strcmp(image_status(rec), "deactivated") == 0);
            json_decref(rec);
            if (!keep && API_BS(img_srv(), blockstore_delete(img_bs(), o.names[k])) == 0)
                fprintf(stderr, "picostackd: freed the data of unfinished image %s\n", o.names[k]);
        }
        store_abort(t);
    }
    free(o.names);
    return rc < 0 ? rc : 0;
}
