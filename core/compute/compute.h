/* core/compute: the Nova model that exists so far: flavors (with extra
 * specs and, for private flavors, the projects that may use them),
 * keypairs (per user; generated RSA or an imported OpenSSH public key, with
 * Nova's MD5 fingerprint) and the compute quotas (instances, cores, ram,
 * key_pairs) of each project, all records in core/store (LMDB).
 *
 * No HTTP here: functions take an open store transaction (the caller
 * commits), return 0 or a negative errno (-ENOENT not found, -EEXIST name
 * or id taken, -EINVAL bad input, -EDQUOT over quota) and, for bad input, a
 * message in *err.  Records are jansson objects (new references):
 *
 *   flavor  {"id","name","ram","vcpus","disk","swap","ephemeral",
 *            "rxtx_factor","is_public","description","extra_specs":{},
 *            "access":[project ids]}
 *   keypair {"name","user_id","project_id","type","public_key",
 *            "fingerprint","created_at"} (+ "private_key" once, when made)
 *   quota   {"instances","cores","ram","key_pairs"}
 */
#ifndef PICOSTACK_COMPUTE_H
#define PICOSTACK_COMPUTE_H

#include <stdbool.h>
#include <jansson.h>

struct store;
struct store_txn;
struct compute;

struct compute_err {
    char msg[256];
};

/* Opens the tables; on the first start seeds DevStack's default flavors
 * (m1.tiny, m1.small, m1.medium, and `tiny` for the test guests) in one
 * transaction, once (a marker record remembers it, so deleted defaults
 * stay deleted). */
int compute_open(struct store *s, struct compute **out);
void compute_close(struct compute *c);

/* ---- flavors ---- */
/* in: Nova's "flavor" body: name, ram, vcpus, disk required; id (up to 36
 * of [A-Za-z0-9._-], or null: a UUID is made), swap, OS-FLV-EXT-DATA:ephemeral, rxtx_factor,
 * os-flavor-access:is_public, description optional. Names and ids unique. */
int compute_flavor_create(struct compute *c, struct store_txn *t, json_t *in, json_t **out,
                          struct compute_err *err);
int compute_flavor_get(struct compute *c, struct store_txn *t, const char *id, json_t **out);
/* Every flavor, ordered by id. */
int compute_flavor_list(struct compute *c, struct store_txn *t, json_t **out);
int compute_flavor_delete(struct compute *c, struct store_txn *t, const char *id);
/* Whether project may use (see) the flavor: public, or in its access list. */
bool compute_flavor_visible(const json_t *flavor, const char *project_id);
/* Extra specs: keys and values are strings of 1..255 bytes. specs is an
 * object merged into the flavor's; *out the whole set afterwards. */
int compute_flavor_set_specs(struct compute *c, struct store_txn *t, const char *id, json_t *specs,
                             json_t **out, struct compute_err *err);
int compute_flavor_del_spec(struct compute *c, struct store_txn *t, const char *id,
                            const char *key);
/* Access of private flavors: -EINVAL for a public flavor, -EEXIST when
 * already there, -ENOENT when removing a project that is not there. */
int compute_flavor_access(struct compute *c, struct store_txn *t, const char *id,
                          const char *project_id, bool add, struct compute_err *err);

/* ---- keypairs (per user) ---- */
/* public_key NULL: an RSA 2048 key is made with libcrypto; the record then
 * holds "private_key" (PEM), which is never stored.  type "ssh" (default
 * when NULL) only.  Counts the user's keypairs against the project's
 * key_pairs quota in this transaction: -EDQUOT over it. */
int compute_keypair_create(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *project_id, const char *name, const char *type,
                           const char *public_key, json_t **out, struct compute_err *err);
int compute_keypair_get(struct compute *c, struct store_txn *t, const char *user_id,
                        const char *name, json_t **out);
int compute_keypair_list(struct compute *c, struct store_txn *t, const char *user_id, json_t **out);
int compute_keypair_delete(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *name);
/* Nova's fingerprint of an OpenSSH public key line "TYPE BASE64 [comment]":
 * MD5 of the decoded blob as colon-separated hex. -EINVAL if malformed. */
int compute_ssh_fingerprint(const char *public_key, char out[48]);

/* ---- quotas ---- */
/* The project's limits (defaults where unset: 10 instances, 20 cores,
 * 51200 MiB ram, 100 key_pairs). */
int compute_quota_get(struct compute *c, struct store_txn *t, const char *project_id, json_t **out);
/* Sets some of them (integers >= -1, -1 = unlimited); *out the whole set. */
int compute_quota_set(struct compute *c, struct store_txn *t, const char *project_id, json_t *in,
                      json_t **out, struct compute_err *err);

#endif
