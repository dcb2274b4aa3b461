/* The hand-over line: struct extmap_handover as text, for a writer that
 * inherits the descriptors across exec (see extmap.h). */
#include "core/blockstore/extmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "PSHANDOVER1"

static int add(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, *at < len ? len - *at : 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *at)
        return -ENOSPC;
    *at += (size_t)n;
    return 0;
}

int extmap_handover_format(const struct extmap_handover *h, char *buf, size_t len)
{
    size_t at = 0;
    int r = add(buf, len, &at,
                MAGIC " disk=%" PRIu64 " size=%" PRIu64 " gen=%" PRIu64 " off=%" PRIu64
                      " journal=%d map=%d data=",
                h->disk_id, h->size, h->journal_generation, h->journal_offset, h->journal_fd,
                h->map_fd);
    const char *sep = "";
    for (int i = 0; r == 0 && i < EXTMAP_MAX_FILES; i++)
        if (h->data_fds[i] >= 0) {
            r = add(buf, len, &at, "%s%d:%d", sep, i, h->data_fds[i]);
            sep = ",";
        }
    if (r == 0)
        r = add(buf, len, &at, " grant=");
    sep = "";
    for (int i = 0; r == 0 && i < h->ngrant && i < EXTMAP_HANDOVER_GRANTS; i++) {
        r = add(buf, len, &at, "%s%" PRIu64 "+%" PRIu64, sep, h->grant[i].start, h->grant[i].count);
        sep = ",";
    }
    if (r == 0)
        r = add(buf, len, &at, "\n");
    return r < 0 ? r : (int)at;
}

/* A decimal number that ends at one of the stop characters. */
static int number(const char **p, const char *stops, uint64_t *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !strchr(stops, *end))
        return -EINVAL;
    *out = v;
    *p = end;
    return 0;
}

static int fd_number(const char **p, const char *stops, int *fd)
{
    uint64_t v;
    int r = number(p, stops, &v);
    if (r < 0 || v > 1048576)
        return -EINVAL;
    *fd = (int)v;
    return 0;
}

static int expect(const char **p, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*p, word, n))
        return -EINVAL;
    *p += n;
    return 0;
}

static int parse_lists(const char **p, struct extmap_handover *h)
{
    int r = expect(p, " data=");
    while (r == 0 && **p != ' ') {
        uint64_t file;
        int fd;
        if ((r = number(p, ":", &file)) < 0 || file >= EXTMAP_MAX_FILES || h->data_fds[file] >= 0)
            return -EINVAL;
        (*p)++;
        if ((r = fd_number(p, ", ", &fd)) < 0)
            return r;
        h->data_fds[file] = fd;
        if (**p == ',')
            (*p)++;
    }
    if (r == 0)
        r = expect(p, " grant=");
    while (r == 0 && **p != '\n' && **p) {
        if (h->ngrant == EXTMAP_HANDOVER_GRANTS)
            return -EINVAL;
        struct extmap_range *g = &h->grant[h->ngrant];
        if ((r = number(p, "+", &g->start)) < 0)
            return r;
        (*p)++;
        if ((r = number(p, ",\n", &g->count)) < 0)
            return r;
        h->ngrant++;
        if (**p == ',')
            (*p)++;
    }
    return r;
}

static int is_open(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

int extmap_handover_parse(const char *line, struct extmap_handover *h)
{
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        h->data_fds[i] = -1;
    h->journal_fd = h->map_fd = -1;
    const char *p = line;
    int r = expect(&p, MAGIC " disk=");
    if (r == 0)
        r = number(&p, " ", &h->disk_id);
    if (r == 0)
        r = expect(&p, " size=");
    if (r == 0)
        r = number(&p, " ", &h->size);
    if (r == 0)
        r = expect(&p, " gen=");
    if (r == 0)
        r = number(&p, " ", &h->journal_generation);
    if (r == 0)
        r = expect(&p, " off=");
    if (r == 0)
        r = number(&p, " ", &h->journal_offset);
    if (r == 0)
        r = expect(&p, " journal=");
    if (r == 0)
        r = fd_number(&p, " ", &h->journal_fd);
    if (r == 0)
        r = expect(&p, " map=");
    if (r == 0)
        r = fd_number(&p, " ", &h->map_fd);
    if (r == 0)
        r = parse_lists(&p, h);
    if (r == 0 && !(*p == '\n' && p[1] == 0) && *p != 0)
        r = -EINVAL;
    if (r == 0 && (h->size > EXTMAP_MAX_SIZE || h->journal_offset < EXTMAP_JOURNAL_HEADER))
        r = -EINVAL;
    if (r < 0) {
        h->journal_fd = h->map_fd = -1;
        for (int i = 0; i < EXTMAP_MAX_FILES; i++)
            h->data_fds[i] = -1;
        return r;
    }
    if (!is_open(h->journal_fd) || !is_open(h->map_fd))
        return -EBADF;
    for (int i = 0; i < EXTMAP_MAX_FILES; i++)
        if (h->data_fds[i] >= 0 && !is_open(h->data_fds[i]))
            return -EBADF;
    return 0;
}
