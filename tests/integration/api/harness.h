/* Integration-test harness: a real picostackd on 127.0.0.1 (free port,
 * temporary data dir) and a libcurl client. */
#ifndef PICOSTACK_TEST_API_HARNESS_H
#define PICOSTACK_TEST_API_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

extern int t_failures;
void t_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            t_failures++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s ", __FILE__, __LINE__, #cond);                \
            t_note(" " __VA_ARGS__);                                                      \
        }                                                                                 \
    } while (0)

struct daemon {
    char dir[256];
    char bin[512];
    unsigned port;
    pid_t pid;
    char base[64];          /* http://127.0.0.1:PORT */
    char admin_password[64];
    char log[300];
};

/* Starts picostackd with a fresh temp dir; extra args (NULL-terminated). */
int daemon_start(struct daemon *d, const char *bin, const char *const *extra);
/* Restarts on the same dir and port. */
int daemon_restart(struct daemon *d, const char *const *extra);
int daemon_stop(struct daemon *d, int sig);  /* returns the exit status */
void daemon_cleanup(struct daemon *d);       /* stops, removes the dir */

struct resp {
    long status;
    char *body;
    size_t len;
    json_t *json;           /* parsed body or NULL */
    char subject_token[600];
    char request_id[64];
    char www_auth[200];
};
void resp_free(struct resp *r);

/* One request. body may be NULL. token: X-Auth-Token or NULL. */
int http(struct daemon *d, const char *method, const char *path, const char *token,
         const char *body, struct resp *out);
int http_hdr(struct daemon *d, const char *method, const char *path, const char *token,
             const char *subject, const char *body, struct resp *out);
/* extra: one more raw header line ("Host: x") or NULL. */
int http_ex(struct daemon *d, const char *method, const char *path, const char *token,
            const char *subject, const char *extra, const char *body, struct resp *out);

/* Password login: returns malloc'd token or NULL. project may be NULL. */
char *login(struct daemon *d, const char *user, const char *password, const char *project);
char *admin_login(struct daemon *d);

/* Creates an entity; returns its id (malloc'd) or NULL. */
char *create_project(struct daemon *d, const char *tok, const char *name);
char *create_user(struct daemon *d, const char *tok, const char *name, const char *pw);
char *find_role(struct daemon *d, const char *tok, const char *name);
int grant(struct daemon *d, const char *tok, const char *p, const char *u, const char *r);

/* Runs the named sub-test of argv[1] from a table. */
struct subtest { const char *name; void (*fn)(const char *bin); };
int run_subtests(int argc, char **argv, const struct subtest *tests, size_t n);

#endif
