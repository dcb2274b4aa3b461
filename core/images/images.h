/* core/images: the image model of picostack's Glance v2 subset.
 *
 * An image is a jansson object in Glance v2's own representation (id, name,
 * status, visibility, protected, os_hidden, tags, disk_format,
 * container_format, min_disk, min_ram, size, virtual_size, checksum,
 * os_hash_algo, os_hash_value, owner, created_at, updated_at) with the
 * custom properties (kernel_id, os_command_line, ...) flat beside them, as
 * Glance returns it. That same object is what the store keeps, so the
 * record and the API view cannot drift apart; fields the API must not show
 * live under the reserved key IMAGE_PRIVATE_KEY and are stripped by
 * image_view().
 *
 * This module is pure logic (no HTTP, no I/O) except image_db_* (LMDB
 * records) and the streaming hasher:
 *   - validation of create bodies and JSON patches;
 *   - the status machine queued -> saving -> active <-> deactivated, with
 *     a failed upload going back to queued;
 *   - who may see and change an image (owner, admin, members, visibility);
 *   - list filters, sort keys, markers and limits;
 *   - image members (shared images): add, accept/reject, remove;
 *   - MD5 + SHA-512 of the uploaded bytes while they stream (libcrypto).
 *
 * It knows no HTTP (core/README.md): every function that can refuse fills
 * a struct image_err (a domain error as a negative errno, and a message
 * meant for the client) and returns -1; 0 means done.  The errors:
 *   -EINVAL   bad input (a malformed field, patch, query, marker);
 *   -EPERM    forbidden (read-only attribute, not the owner, deactivated);
 *   -ENOENT   no such thing;
 *   -EBUSY    conflict: a status transition the machine refuses, a
 *             property a patch replaces but that does not exist;
 *   -ENODATA  no data to read (an image that is not active);
 *   -ENOMEM   out of memory.
 * api/image maps them to statuses (api_errno_status) and builds Glance's
 * links (/v2/images/ID, schemas) around the records.
 */
#ifndef PICOSTACK_CORE_IMAGES_H
#define PICOSTACK_CORE_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define IMAGE_PRIVATE_KEY        "_picostack" /* internal fields; never shown */
/* The private field naming the block-store object a volume made from an
 * active image clones (image_private_get(img, IMAGE_DISK)): "ID.disk" for
 * a qcow2 upload (converted), "ID" for the others (their bytes are the
 * disk), absent for an empty image. */
#define IMAGE_DISK               "disk"
#define IMAGE_ID_LEN             36 /* canonical UUID text */
#define IMAGE_LIST_DEFAULT_LIMIT 25
#define IMAGE_LIST_MAX_LIMIT     1000
#define IMAGE_MAX_PROPERTY_LEN   255 /* Glance's limit on property names and tags */

struct image_err {
    int err; /* a negative errno: -EINVAL, -EPERM, -ENOENT, -EBUSY, -ENODATA ... */
    char msg[256];
};

/* Who is asking. project_id may be NULL (an unscoped token). */
struct image_caller {
    const char *project_id;
    bool is_admin;  /* the admin role: sees and changes everything */
    bool can_write; /* member or admin: reader is false */
};

/* ---- records ---------------------------------------------------------- */

/* Build a new queued image from a POST /v2/images body. id: a fresh UUID
 * the caller made (used unless the body names a valid unused "id", which
 * the caller checks for clashes). The owner is who's project. now: an
 * ISO-8601 time stamp (image_timestamp). Returns a new reference, or NULL
 * with err filled (-EINVAL bad field, -EPERM read-only attribute). */
json_t *image_new(json_t *body, const char *id, const struct image_caller *who, const char *now,
                  struct image_err *err);

/* Current UTC time as Glance prints it: 2026-11-24T23:00:00Z. */
void image_timestamp(char out[32]);

/* True if s is a UUID in canonical 8-4-4-4-12 hex form. */
bool image_is_uuid(const char *s);

/* Private (internal) string field access: the block store name of the
 * data, the upload's nonce... */
const char *image_private_get(const json_t *img, const char *key);
int image_private_set(json_t *img, const char *key, const char *value);
int64_t image_private_get_int(const json_t *img, const char *key);
int image_private_set_int(json_t *img, const char *key, int64_t value);

/* ---- JSON patch (PATCH /v2/images/{id}) ------------------------------- */

/* Apply an application/openstack-images-v2.1-json-patch document (an
 * array of {op: add|replace|remove, path: "/field", value}) to img, all or
 * nothing: on error img is unchanged. now updates updated_at. */
int image_patch(json_t *img, const json_t *ops, const struct image_caller *who, const char *now,
                struct image_err *err);

/* ---- status machine --------------------------------------------------- */

/* queued -> saving, as an upload starts (-EBUSY unless queued). */
int image_upload_begin(json_t *img, const char *now, struct image_err *err);
/* saving -> queued: a failed or cut-off upload. Data fields are cleared. */
void image_upload_abort(json_t *img, const char *now);
/* saving -> active with the figures computed while streaming. */
int image_upload_finish(json_t *img, int64_t size, int64_t virtual_size, const char *md5_hex,
                        const char *sha512_hex, const char *now, struct image_err *err);
/* active -> deactivated (and deactivated -> deactivated, a no-op). */
int image_deactivate(json_t *img, const char *now, struct image_err *err);
/* deactivated -> active (and active -> active, a no-op). */
int image_reactivate(json_t *img, const char *now, struct image_err *err);

const char *image_status(const json_t *img);

/* ---- access ----------------------------------------------------------- */

/* member_status: the caller project's membership of a shared image
 * ("pending", "accepted", "rejected"), or NULL if it is no member. */
bool image_can_see(const json_t *img, const struct image_caller *who, const char *member_status);
/* Change, upload, delete: admin, or a writer of the owning project. */
bool image_can_modify(const json_t *img, const struct image_caller *who);
/* Refuses deletion of a protected image (-EPERM). */
int image_check_delete(const json_t *img, const struct image_caller *who, struct image_err *err);
/* Download: -EPERM for a deactivated image unless admin; -ENODATA if
 * not active. Returns 0 if the data may be read. */
int image_check_download(const json_t *img, const struct image_caller *who, struct image_err *err);

/* ---- listing (GET /v2/images) ----------------------------------------- */

#define IMAGE_MAX_SORT_KEYS 4

struct image_time_filter {
    int op;      /* 0 none; 1 gt, 2 gte, 3 lt, 4 lte, 5 eq, 6 neq */
    char at[32]; /* as stored: 2016-01-02T03:04:05Z */
};

struct image_query {
    const char *name, *status, *visibility, *owner, *member_status;
    const char *tags[8];
    size_t ntags;
    const char *os_hidden; /* a boolean text (image_bool_text) or NULL (= false) */
    const char *disk_format, *container_format, *protected_; /* exact (protected: boolean) */
    long long size, size_min, size_max;                      /* -1: no filter */
    struct image_time_filter created, updated;               /* created_at/updated_at=OP:TIME */
    const char *sort_keys[IMAGE_MAX_SORT_KEYS];
    bool sort_desc[IMAGE_MAX_SORT_KEYS];
    size_t nsort;
    const char *marker;
    long limit;
};

/* Parse the query string parameters: get(ctx, name) returns a parameter's
 * value or NULL. Strings point into what get returns (keep it alive).
 * -EINVAL for a bad limit, sort key or direction, a boolean other than
 * "true"/"false" (os_hidden, protected), a size_min/size_max that is not a
 * non-negative integer, a created_at/updated_at that is not OP:TIME. */
int image_query_parse(struct image_query *q, const char *(*get)(void *ctx, const char *name),
                      void *ctx, struct image_err *err);

/* Does img pass q's filters for who (visibility rules included)?
 * member_status as for image_can_see. */
bool image_query_match(const struct image_query *q, const json_t *img,
                       const struct image_caller *who, const char *member_status);

/* Sort an array of records by q's keys (then created_at, id descending as
 * Glance's tie-breakers), then cut it to the page after q->marker of at
 * most q->limit entries. *more is set if records follow the page.
 * -EINVAL if the marker is not in the array. Returns a new array. */
json_t *image_query_page(const struct image_query *q, json_t *matching, bool *more,
                         struct image_err *err);

/* ---- members (shared images) ------------------------------------------ */

/* A new member record {member_id, image_id, status: pending, created_at,
 * updated_at}. -EPERM unless img is shared and who may modify it. */
json_t *image_member_new(const json_t *img, const char *member_id, const struct image_caller *who,
                         const char *now, struct image_err *err);
/* Accept or reject: only the member project itself may (-EPERM); the
 * status must be pending, accepted or rejected (-EINVAL). */
int image_member_set_status(json_t *member, const char *status, const struct image_caller *who,
                            const char *now, struct image_err *err);

/* ---- records in LMDB (core/store) ------------------------------------- */

/* Tables "images.records" and "images.members" in the control-plane
 * store. Every call works inside the caller's transaction; all return 0
 * or a negative errno (-ENOENT: no such record). */
struct store;
struct store_txn;
struct image_db;

int image_db_open(struct store *s, struct image_db **out);
void image_db_close(struct image_db *db);
struct store *image_db_store(struct image_db *db);
int image_db_get(struct store_txn *t, struct image_db *db, const char *id, json_t **out);
int image_db_put(struct store_txn *t, struct image_db *db, const json_t *img);
/* Makes the queued img active over the block-store object `object` of
 * `bytes` (a snapshot the caller made: a volume's, shared in constant
 * time) and writes it in one transaction of its own.  Used by the volume
 * service's os-volume_upload_image and the compute service's createImage;
 * on failure the caller deletes the object. */
int image_db_put_active(struct image_db *db, json_t *img, const char *object, uint64_t bytes);
/* The change counter of the image records: image_db_put and image_db_del
 * bump it in the caller's transaction, whoever the caller is (the image
 * service, the volume service's upload to an image), so a cache of the
 * records built in a transaction that read generation G is current
 * exactly while G is still the generation. 0 before any write. */
int image_db_generation(struct store_txn *t, struct image_db *db, uint64_t *out);
/* Deletes the record and all its members. */
int image_db_del(struct store_txn *t, struct image_db *db, const char *id);
/* fn(img, ctx) for every record (id order); fn returns 0 to go on. */
int image_db_scan(struct store_txn *t, struct image_db *db, int (*fn)(json_t *img, void *ctx),
                  void *ctx);
int image_db_member_get(struct store_txn *t, struct image_db *db, const char *image_id,
                        const char *member_id, json_t **out);
int image_db_member_put(struct store_txn *t, struct image_db *db, const json_t *member);
int image_db_member_del(struct store_txn *t, struct image_db *db, const char *image_id,
                        const char *member_id);
/* *out: a new array of the image's member records. */
int image_db_members(struct store_txn *t, struct image_db *db, const char *image_id, json_t **out);

/* ---- streaming checksums ---------------------------------------------- */

struct image_hasher; /* MD5 + SHA-512 side by side */

struct image_hasher *image_hasher_new(void);
void image_hasher_update(struct image_hasher *h, const void *buf, size_t len);
/* The two digests separately, in order, each from one thread at a time
 * (an upload may run them on two threads: they share no state). */
void image_hasher_update_md5(struct image_hasher *h, const void *buf, size_t len);
void image_hasher_update_sha512(struct image_hasher *h, const void *buf, size_t len);
/* Writes the hex digests (33 and 129 bytes with the NUL). */
void image_hasher_final(struct image_hasher *h, char md5_hex[33], char sha512_hex[129]);
void image_hasher_free(struct image_hasher *h);

/* The qcow2 header's virtual size, if buf (the first bytes of an upload,
 * at least 32) starts with one; -1 otherwise. */
int64_t image_qcow2_virtual_size(const void *buf, size_t len);

/* A query boolean as Glance reads it: true/false, yes/no, on/off, 1/0,
 * y/n, t/f in any case: 1, 0, or -1 for anything else. */
int image_bool_text(const char *s);

#endif
