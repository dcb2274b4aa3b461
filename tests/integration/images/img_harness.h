/* Integration tests of the image service: a real picostackd on 127.0.0.1
 * (a free port, a temporary data dir) and a real libcurl client. */
#ifndef PICOSTACK_TEST_IMAGES_HARNESS_H
#define PICOSTACK_TEST_IMAGES_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

extern int t_failures;
#define CHECK(cond, ...) do { if (!(cond)) { t_failures++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, " " __VA_ARGS__); fputc('\n', stderr); } } while (0)

struct pd {
    char bin_dir[512];       /* build/bin */
    char dir[300];           /* data dir */
    unsigned port;
    pid_t pid;
    char base[64];           /* http://127.0.0.1:PORT */
    char password[512];      /* admin's, from admin-openrc */
};

/* Start picostackd on a new temporary data dir (under $PICOSTACK_TEST_DIR
 * or /var/tmp: the 1 GiB test needs room). */
int pd_start(struct pd *d, const char *bin_dir);
/* Start again on the same dir and port. */
int pd_restart(struct pd *d);
/* Send sig and wait; returns the exit status (or 128+signal). */
int pd_stop(struct pd *d, int sig);
/* Stop (if running) and remove the data dir. */
void pd_cleanup(struct pd *d);

struct resp {
    long status;
    char *body;
    size_t len;
    json_t *json;
    char content_md5[64];
    char content_range[96];
    char location[512];
};
void resp_free(struct resp *r);

/* One request; body and ctype may be NULL (ctype defaults to JSON). */
int req(struct pd *d, const char *method, const char *path, const char *token,
        const char *ctype, const char *body, struct resp *out);
/* Same, with extra header lines (NULL-terminated). */
int req_h(struct pd *d, const char *method, const char *path, const char *token,
          const char *ctype, const char *body, const char *const *headers, struct resp *out);

/* Tokens. */
char *login(struct pd *d, const char *user, const char *pw, const char *project);
char *admin_token(struct pd *d);
/* A project with a user holding role on it; returns the user's token. */
char *project_user(struct pd *d, const char *admin_tok, const char *project,
                   const char *user, const char *role, char project_id_out[64]);

/* A deterministic byte stream (xorshift) of the given seed, for big
 * uploads that are compared byte for byte without being kept. */
struct gen { uint64_t s; uint64_t pos; };
void gen_init(struct gen *g, uint64_t seed);
void gen_fill(struct gen *g, void *buf, size_t len);   /* len % 8 == 0 */

/* Upload: n bytes from g via libcurl (Content-Length unless chunked). */
int upload_gen(struct pd *d, const char *token, const char *id, uint64_t seed,
               uint64_t n, bool chunked, struct resp *out, double *secs);
/* Upload a buffer. */
int upload_buf(struct pd *d, const char *token, const char *id, const void *buf,
               size_t n, struct resp *out);
/* Download, comparing with g(seed) on the fly; returns bytes that matched
 * in *ok_bytes, and the MD5/SHA-512 computed client-side. */
int download_check(struct pd *d, const char *token, const char *id, uint64_t seed,
                   uint64_t *got, bool *same, char md5[33], char sha512[129],
                   struct resp *out, double *secs);
/* MD5 and SHA-512 of the first n bytes of g(seed). */
void gen_digests(uint64_t seed, uint64_t n, char md5[33], char sha512[129]);

/* Creates an image (JSON body); returns its id (malloc'd) or NULL. */
char *create_image(struct pd *d, const char *token, const char *body);
/* GET the image; new reference or NULL. */
json_t *get_image(struct pd *d, const char *token, const char *id);
const char *jstr(json_t *o, const char *key);

/* Bytes the block store's data files take on disk (st_blocks * 512). */
uint64_t blocks_used(struct pd *d);

struct subtest { const char *name; void (*fn)(struct pd *d); };
/* argv[1] = build/bin, argv[2] = subtest name. Starts a daemon per test. */
int run_subtest(int argc, char **argv, const struct subtest *t, size_t n);

#endif
