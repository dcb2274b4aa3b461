/* Private to api/image/: the Glance v2 image service.  The domain (records,
 * status machine, access, listing) is core/images; this folder maps HTTP
 * and JSON to it and builds Glance's links (view.c). */
#ifndef PICOSTACK_API_IMAGE_INTERNAL_H
#define PICOSTACK_API_IMAGE_INTERNAL_H

#include <pthread.h>

#include "api/http/http.h"
#include "core/images/images.h"

struct blockstore;

extern const struct api_service api_image_service;

/* The service's state lives from init to fini; one image service per
 * process (its list cache and upload bookkeeping are the process's).
 * img_srv(): the server it was registered on, whose shared handles it
 * uses: the store, the block store and its lock (API_BS), the data dir
 * (the qcow2 conversion's scratch file).  Without a block store, uploads
 * and downloads answer 503. */
struct api_server *img_srv(void);
struct image_db *img_db(void);
struct blockstore *img_bs(void);
const char *img_data_dir(void);
struct image_caller img_caller(struct api_req *r);
/* Opens a transaction; replies 500 and returns NULL on failure. */
struct store_txn *img_txn(struct api_req *r, bool write);
/* The image {} of the path if the caller may see it: replies 404 (and
 * returns NULL) otherwise. A new reference. */
json_t *img_load_visible(struct api_req *r, struct store_txn *t, const char *id,
                         const struct image_caller *who);
/* Replies with an image_err through the common errno map (-ENODATA, "no
 * data", as an empty 204). */
void img_reply_err(struct api_req *r, const struct image_err *err);

/* view.c: the API view of a stored record (private fields stripped; self,
 * file and schema links added), and a new member record's view. */
json_t *img_view(const json_t *img);
json_t *img_member_view(const json_t *member);

/* schemas.c: GET /v2/schemas/{name}. */
void img_schema(struct api_req *r);

/* members.c: the members API. */
void img_list_members(struct api_req *r);
void img_add_member(struct api_req *r);
void img_show_member(struct api_req *r);
void img_update_member(struct api_req *r);
void img_delete_member(struct api_req *r);

/* The block-store name of the disk converted from a qcow2 upload. */
void img_disk_name(char out[64], const char *id);

/* pipe.c: the upload pipeline. img_pipe_write() (the request
 * thread) computes MD5 and queues the bytes; a writer thread computes
 * SHA-512 and appends them to w. An append error comes back from a later
 * img_pipe_write() or from img_pipe_finish(), which waits for the writer
 * (cancel: drop what is queued), copies the error text to why and frees
 * the pipe. The writer w itself stays the caller's. */
struct img_pipe;
struct blockstore_writer;
int img_pipe_start(struct blockstore_writer *w, struct image_hasher *h, struct img_pipe **out);
int img_pipe_write(struct img_pipe *p, const void *data, size_t len);
int img_pipe_finish(struct img_pipe *p, bool cancel, char *why, size_t whylen);

/* space.c: the reserve, the size cap and the storage quota (see there).
 * A claim lives from an upload's start to its end; img_claim() is asked
 * before `need` bytes in all are written (`written` of them already are):
 * 0, -EFBIG (over the cap), -EDQUOT (over the quota) or -ENOSPC (into the
 * reserve), with the reason in why. */
#define IMG_STORED "stored" /* private: bytes the image stores (data + disk) */
struct img_claim {
    struct img_claim *next;
    char project[64];
    uint64_t project_stored; /* the project's other images, at the start */
    uint64_t granted, written;
    bool active;
};
uint64_t img_space_left(void); /* free bytes above the reserve */
void img_claim_start(struct img_claim *c, const char *project, uint64_t project_stored);
int img_claim(struct img_claim *c, uint64_t written, uint64_t need, char *why, size_t whylen);
void img_claim_end(struct img_claim *c);
/* Bytes the project's images store, but image except's. */
uint64_t img_project_stored(const char *project, const char *except);

/* upload.c: PUT /v2/images/{id}/file. */
void img_upload(struct api_req *r);
/* data.c: GET /v2/images/{id}/file. */
void img_download(struct api_req *r);
/* Deletes an image's data objects from the block store (no error if none). */
void img_delete_data(const char *id);
/* At start: uploads that were in flight go back to queued, block-store
 * objects no active image owns are freed. */
int img_recover(void);

/* metadefs.c: Glance metadata definitions (/v2/metadefs/...) and their
 * schemas; img_metadefs_init opens their table (before serving). */
int img_metadefs_init(struct store *s);
void img_metadef_schema(struct api_req *r);
void img_metadef_rtypes(struct api_req *r);
void img_metadef_ns_list(struct api_req *r);
void img_metadef_ns_create(struct api_req *r);
void img_metadef_ns_show(struct api_req *r);
void img_metadef_ns_update(struct api_req *r);
void img_metadef_ns_delete(struct api_req *r);
void img_metadef_child_list(struct api_req *r);
void img_metadef_child_create(struct api_req *r);
void img_metadef_child_show(struct api_req *r);
void img_metadef_child_update(struct api_req *r);
void img_metadef_child_delete(struct api_req *r);
void img_metadef_child_delete_all(struct api_req *r);
void img_metadef_tag_create(struct api_req *r);
void img_metadef_rtype_create(struct api_req *r);

#endif
