/* core/store: picostackd's control-plane state, one LMDB environment in
 * DATA/state/.
 *
 * Every API mutation is one short write transaction (store_begin(.., true),
 * puts/dels, store_commit): LMDB commits are atomic and durable (we keep its
 * default fsync on commit), so a kill -9 at any instant leaves either the
 * old or the new state, never a mix.  Readers never block writers.
 *
 * Records are JSON objects (jansson) stored under string keys in named
 * tables.  Indexes (e.g. "project name within a domain" -> id) are plain
 * tables of raw keys -> raw values kept in the same transaction as the
 * record they point at; store_index_key() builds their composite keys.
 *
 * Tables must be opened with store_table() before the daemon serves (LMDB
 * table handles are shared by every later transaction).
 * All functions return 0 or a negative errno; -ENOENT means "no such key".
 */
#ifndef PICOSTACK_STORE_H
#define PICOSTACK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define STORE_ID_LEN  36  /* a UUID in its 8-4-4-4-12 text form */
#define STORE_MAX_KEY 480 /* LMDB's default key limit is 511 */

struct store;
struct store_txn;

/* Opens (creating it and the directory if needed) the environment in dir. */
int store_open(const char *dir, struct store **out);
void store_close(struct store *s);

/* Opens or creates the named table; *table is its handle from now on. */
int store_table(struct store *s, const char *name, unsigned *table);

int store_begin(struct store *s, bool write, struct store_txn **out);
int store_commit(struct store_txn *t); /* frees t, also on failure */
void store_abort(struct store_txn *t); /* frees t; NULL is fine */

/* JSON records under NUL-terminated keys. *out is a new reference. */
int store_get(struct store_txn *t, unsigned table, const char *key, json_t **out);
int store_put(struct store_txn *t, unsigned table, const char *key, const json_t *rec);
int store_del(struct store_txn *t, unsigned table, const char *key);

/* Raw bytes (indexes, metadata).  *val points into the map: valid until the
 * transaction ends, read-only. */
int store_get_raw(struct store_txn *t, unsigned table, const void *key, size_t klen,
                  const void **val, size_t *vlen);
int store_put_raw(struct store_txn *t, unsigned table, const void *key, size_t klen,
                  const void *val, size_t vlen);
int store_del_raw(struct store_txn *t, unsigned table, const void *key, size_t klen);

/* Calls fn for every key that starts with prefix (klen bytes; 0 = all), in
 * key order.  fn returns 0 to go on, > 0 to stop (returned), < 0 error. */
typedef int (*store_scan_fn)(const void *key, size_t klen, const void *val, size_t vlen, void *ctx);
int store_scan(struct store_txn *t, unsigned table, const void *prefix, size_t plen,
               store_scan_fn fn, void *ctx);

/* Parses a raw value as a JSON record (new reference or NULL). */
json_t *store_decode(const void *val, size_t vlen);

/* Composite index key "a\0b\0c": up to 3 parts (NULL ends early). Returns its
 * length, or -ENAMETOOLONG. */
int store_index_key(char out[STORE_MAX_KEY], const char *a, const char *b, const char *c);

/* UUIDs, as every record id (store_id.c). A fresh random (version 4) one
 * from libsodium's CSPRNG; is s one in lower-case 8-4-4-4-12 text form; the
 * text form of 16 bytes; and back (-EINVAL for anything but a UUID). */
void store_new_id(char out[STORE_ID_LEN + 1]);
bool store_is_id(const char *s);
void store_id_from_bin(const unsigned char b[16], char out[STORE_ID_LEN + 1]);
int store_id_to_bin(const char *id, unsigned char out[16]);

#endif
