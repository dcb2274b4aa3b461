/* A small WebSocket client for the C tests (RFC 6455 framing done by hand,
 * so that tests can also send what a correct client never would: unmasked
 * frames, reserved opcodes, oversized lengths). Plain TCP to 127.0.0.1. */
#ifndef PICOSTACK_TEST_WSCLIENT_H
#define PICOSTACK_TEST_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sends "GET path" with the WebSocket handshake (key: the RFC's sample
 * nonce unless extra has one; extra: more header lines, each ending in
 * \r\n, or NULL for "Sec-WebSocket-Version: 13") and reads
 * the response head into head (NUL-terminated). Returns the connected fd
 * with *status set (101 on success; the fd is then the WebSocket), or -1. */
int ws_open(unsigned port, const char *path, const char *extra, int *status, char *head,
            size_t head_len);
/* The value of header name in a response head ("" when absent; copied). */
void ws_head_value(const char *head, const char *name, char *out, size_t len);
/* One frame: fin, opcode, masked (with a fixed non-zero key) or not. */
int ws_send_frame(int fd, bool fin, unsigned op, bool masked, const void *data, size_t len);
/* A frame header claiming len bytes, and nothing after it. */
int ws_send_header(int fd, bool fin, unsigned op, uint64_t len);
/* Reads one frame within timeout_s: 0 with *op, *fin and the payload in a
 * malloc'd *data (*len bytes), -1 on timeout, end of stream or error. */
int ws_read_frame(int fd, unsigned *op, bool *fin, uint8_t **data, size_t *len, double timeout_s);
/* Reads frames until a close frame: its code (1005 when it had none), or
 * -1. Pongs and data frames on the way are skipped. */
int ws_read_close(int fd, double timeout_s);
/* Whether the server closed the stream (EOF) within timeout_s. */
bool ws_eof(int fd, double timeout_s);

#endif
