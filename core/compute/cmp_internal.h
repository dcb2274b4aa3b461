/* core/compute's private parts. */
#ifndef PICOSTACK_CMP_INTERNAL_H
#define PICOSTACK_CMP_INTERNAL_H

#include "core/compute/compute.h"

struct compute {
    struct store *store;
    unsigned flavors;  /* id -> flavor */
    unsigned keypairs; /* "user\0name" -> keypair */
    unsigned quotas;   /* project -> quota */
    unsigned meta;     /* "seeded" */
};

int cmp_fail(struct compute_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
