/* Whole-file helpers for the C tests; each says what failed on stderr. */
#ifndef PICOSTACK_TEST_FILES_H
#define PICOSTACK_TEST_FILES_H

#include <stddef.h>

/* Creates (or truncates) path with mode and writes all of data; 0 or -1. */
int t_write_file(const char *path, const void *data, size_t len, int mode);
/* Reads a whole file into a malloc'd, NUL-terminated buffer; 0 or -1. */
int t_read_file(const char *path, char **data, size_t *len);

#endif
