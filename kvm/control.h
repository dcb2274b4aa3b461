/* The control socket: one JSON object per line in, one JSON line out.
 *
 * control_handle_line() is the protocol (testable on its own); the event
 * loop owns the sockets and calls it per line. */
#ifndef PICOSTACK_KVM_CONTROL_H
#define PICOSTACK_KVM_CONTROL_H

#include <stddef.h>

#include "kvm/vm.h"

#define CONTROL_LINE_MAX 4096

/* Answers one request line (without its newline) into out, newline
 * included. Never fails: a bad request gets {"ok":false,"error":...}. */
void control_handle_line(struct vm *vm, const char *line, char *out, size_t outlen);

/* A listening unix socket at path (a stale socket file is replaced; any
 * other file there is an error). Returns the fd or -errno. */
int control_listen(const char *path, verr_t *err);

struct control_client {
    int fd;
    char buf[CONTROL_LINE_MAX];
    size_t len;
    int discarding; /* a line too long: dropping it up to its newline */
};

/* Reads what the client sent and answers every complete line. Returns 0 to
 * keep the client, -1 when it is gone (the caller closes fd). */
int control_client_readable(struct vm *vm, struct control_client *c);

#endif
