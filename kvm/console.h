/* The serial console's sinks for a VMM run by picostackd: a capped ring
 * file (--console-log PATH --console-cap BYTES) and a unix socket for one
 * interactive client (--console-socket PATH). The serial device (COM1)
 * hands every byte the guest transmits to console_put() and feeds what the
 * client writes into its receive FIFO through the two callbacks below.
 *
 * The ring file (the contract with core/vmmctl, SERVERS.md "Console ring
 * format"): output is appended to PATH; when PATH would pass BYTES/2, its
 * content becomes PATH.1 (replacing the old one) and PATH starts empty, so
 * at most BYTES are kept and the kept output is PATH.1 followed by PATH.
 * The sandboxed VMM can neither open nor rename files, so both files are
 * opened at start and the turn-over is a copy of PATH into PATH.1 and a
 * truncation of PATH (at most BYTES/2 copied per BYTES/2 written). A PATH
 * left by an earlier run is continued.
 *
 * Never blocking the guest: console_put() (on a vCPU thread, under the bus
 * lock) only copies the byte into an in-memory buffer; a writer thread
 * sends it to the socket client without waiting and appends it to the
 * file. What does not fit (a full buffer, a client that does not read, a
 * full disk) is dropped and counted (console_stats), never an error.
 *
 * The socket: one client at a time gets the output as raw bytes from the
 * moment it connects, and what it writes is the guest's serial input; a
 * second client is closed at once (counted as refused). */
#ifndef PICOSTACK_KVM_CONSOLE_H
#define PICOSTACK_KVM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "kvm/kvm.h"
#include "kvm/loop.h"
#include "kvm/verr.h"

/* How the console reaches the guest's receive FIFO (called on the loop's
 * thread): how many bytes it takes now, and take them. */
struct console_input {
    unsigned (*space)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, unsigned len);
    void *opaque;
};

struct console_stats {
    uint64_t log_bytes;      /* written to the ring file */
    uint64_t log_dropped;    /* lost to a full disk or a full buffer */
    uint64_t rotations;      /* PATH -> PATH.1 turn-overs */
    uint64_t client_bytes;   /* sent to socket clients */
    uint64_t client_dropped; /* not sent: a client that did not keep up */
    uint64_t clients;        /* clients served */
    uint64_t refused;        /* second clients closed at once */
};

struct console;

/* log_path and/or socket_path (either may be NULL); cap 0 means
 * VMM_DEFAULT_CONSOLE_CAP. Opens PATH and PATH.1, listens on socket_path (a
 * stale socket file is replaced) and starts the writer thread. loop may be
 * NULL (no socket then). Returns 0 or a negative errno with err set. */
int console_open(struct console **out, const char *log_path, uint64_t cap, const char *socket_path,
                 struct loop *loop, struct console_input in, verr_t *err);
/* One byte of guest output. Never blocks on I/O. */
void console_put(struct console *c, uint8_t byte);
void console_get_stats(struct console *c, struct console_stats *st);
/* Returns once what was put so far has been written (or dropped). */
void console_flush(struct console *c);
/* Writes out what is buffered, stops the writer, closes everything and
 * removes the socket file. Call once the loop no longer runs. */
void console_close(struct console *c);

#endif
