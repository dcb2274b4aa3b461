/* Private to core/identity. */
#ifndef PICOSTACK_IDENTITY_INTERNAL_H
#define PICOSTACK_IDENTITY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include "core/identity/identity.h"

/* A map of 16-byte keys to int64 values (revoked audit ids -> expiry,
 * user/project ids -> not-before), read-mostly behind a rwlock. */
struct idmap {
    pthread_rwlock_t lock;
    struct idmap_slot {
        unsigned char key[16];
        int64_t val;
        bool used;
    } * slots;
    size_t cap, n;
};
int idmap_init(struct idmap *m);
void idmap_free(struct idmap *m);
int idmap_set(struct idmap *m, const unsigned char key[16], int64_t val); /* keeps the max */
bool idmap_get(struct idmap *m, const unsigned char key[16], int64_t *val);

struct identity {
    struct store *store;
    unsigned t_rec[IDENTITY_KINDS]; /* id -> record */
    unsigned t_names;               /* kind\0scope\0name -> id */
    unsigned t_assign;              /* target\0actor\0role -> "" (grants.c) */
    unsigned t_inherit;             /* the same, inherited grants */
    unsigned t_members;             /* group\0user -> "" */
    unsigned t_implied;             /* prior\0implied -> "" */
    unsigned t_meta;                /* token key, ... */
    unsigned t_revoke;              /* a<audit16> / u<id16> / p<id16> -> int64 */
    unsigned char key[crypto_generichash_KEYBYTES];
    int ttl_s;
    struct idmap revoked_audit, user_nbf, project_nbf;
    struct idmap pair_nbf; /* hash(user, scope) -> not-before (a grant removed) */
    _Atomic uint64_t generation;
};

int revocations_load(struct identity *idn);
/* The 16-byte key of a (user, scope id) pair in pair_nbf. */
void revoke_pair_key(const char *user, const char *scope, unsigned char out[16]);
const char *identity_kind_table(enum identity_kind k);
/* Drops the grants, memberships and implications naming a deleted record. */
int relations_forget(struct store_txn *t, struct identity *idn, enum identity_kind k,
                     const char *id);

#endif
