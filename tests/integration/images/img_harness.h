/* Integration tests of the image service: what they need beyond the
 * shared picostackd harness (tests/support/picostackd_harness.h). */
#ifndef PICOSTACK_TEST_IMAGES_HARNESS_H
#define PICOSTACK_TEST_IMAGES_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tests/support/picostackd_harness.h"

/* The arguments every picostackd of these tests gets (start and restart). */
#define IMG_DAEMON_ARGS ((const char *const[]){ "--log-level", "error", NULL })

/* A project with a user holding role on it; returns the user's token. */
char *project_user(struct picostackd *d, const char *admin_tok, const char *project,
                   const char *user, const char *role, char project_id_out[64]);

/* A deterministic byte stream (xorshift) of the given seed, for big
 * uploads that are compared byte for byte without being kept. */
struct gen {
    uint64_t s;
    uint64_t pos;
};
void gen_init(struct gen *g, uint64_t seed);
void gen_fill(struct gen *g, void *buf, size_t len); /* len % 8 == 0 */

/* Upload: n bytes from g via libcurl (Content-Length unless chunked). */
int upload_gen(struct picostackd *d, const char *token, const char *id, uint64_t seed, uint64_t n,
               bool chunked, struct resp *out, double *secs);
/* Upload a buffer. */
int upload_buf(struct picostackd *d, const char *token, const char *id, const void *buf, size_t n,
               struct resp *out);
/* Download, comparing with g(seed) on the fly; returns bytes that matched
 * in *ok_bytes, and the MD5/SHA-512 computed client-side. */
int download_check(struct picostackd *d, const char *token, const char *id, uint64_t seed,
                   uint64_t *got, bool *same, char md5[33], char sha512[129], struct resp *out,
                   double *secs);
/* MD5 and SHA-512 of the first n bytes of g(seed). */
void gen_digests(uint64_t seed, uint64_t n, char md5[33], char sha512[129]);

/* Creates an image (JSON body); returns its id (malloc'd) or NULL. */
char *create_image(struct picostackd *d, const char *token, const char *body);
/* GET the image; new reference or NULL. */
json_t *get_image(struct picostackd *d, const char *token, const char *id);

/* Bytes the block store's data files take on disk (st_blocks * 512). */
uint64_t blocks_used(struct picostackd *d);

struct subtest {
    const char *name;
    void (*fn)(struct picostackd *d);
};
/* argv[1] = build/bin, argv[2] = subtest name. Starts a daemon per test. */
int run_subtest(int argc, char **argv, const struct subtest *t, size_t n);

#endif
