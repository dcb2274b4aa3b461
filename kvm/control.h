/* The control socket: one JSON object per line in, one JSON line out.
 *
 * control_handle_line() is the protocol (testable on its own);
 * control_start() puts the listening socket and its clients on the event
 * loop, which calls it per line. */
#ifndef PICOSTACK_KVM_CONTROL_H
#define PICOSTACK_KVM_CONTROL_H

#include <stddef.h>

#include "kvm/loop.h"
#include "kvm/vm.h"

#define CONTROL_LINE_MAX 4096

/* Answers one request line (without its newline) into out, newline
 * included. Never fails: a bad request gets {"ok":false,"error":...}. */
void control_handle_line(struct vm *vm, const char *line, char *out, size_t outlen);
/* The same with the descriptors the client passed (SCM_RIGHTS) so far:
 * an op that takes some ("grant" with "files") removes them from fds[]
 * and owns them from then on. */
void control_handle_line_fds(struct vm *vm, const char *line, int *fds, int *nfds, char *out,
                             size_t outlen);

/* A listening unix socket at path (a stale socket file is replaced; any
 * other file there is an error). Returns the fd or -errno. */
int control_listen(const char *path, verr_t *err);

#define CONTROL_MAX_FDS 8

struct control_client {
    int fd;
    char buf[CONTROL_LINE_MAX];
    size_t len;
    int discarding;           /* a line too long: dropping it up to its newline */
    int fds[CONTROL_MAX_FDS]; /* passed with SCM_RIGHTS, not yet taken by an op */
    int nfds;
};

/* Reads what the client sent and answers every complete line. Returns 0 to
 * keep the client, -1 when it is gone (the caller closes fd). */
int control_client_readable(struct vm *vm, struct control_client *c);
/* Closes the client and the descriptors it passed that no op took. */
void control_client_close(struct control_client *c);

#define CONTROL_MAX_CLIENTS 8

struct control_server;

struct control_slot {
    struct control_server *srv;
    struct control_client client;
    struct loop_src *src;
    bool in_use;
};

struct control_server {
    struct vm *vm;
    struct loop *loop;
    const char *path;
    int listen_fd; /* -1 once stopped */
    struct control_slot slots[CONTROL_MAX_CLIENTS];
};

/* Listens at path and serves clients from the loop (up to
 * CONTROL_MAX_CLIENTS; one more is told so and closed). */
int control_start(struct control_server *srv, struct vm *vm, struct loop *l, const char *path,
                  verr_t *err);
/* Closes the clients and the socket, and removes the socket file. Call
 * after loop_fini() or while the loop no longer runs. */
void control_stop(struct control_server *srv);

#endif
