/* bench-vblk-store: runs a VMM on a block-store disk, for
 * tools/bench-virtio-blk.
 *
 *   bench-vblk-store --store DIR --image FILE -- COMMAND...
 *
 * Makes a block store in DIR (which must not hold one), creates a disk of
 * FILE's size there and writes FILE's content into it (every cluster then
 * belongs to the disk: the "written disk" of tools/bench-blockstore, so
 * overwrites need no copy-on-write), hands the disk over as picostackd's
 * compute service does (blockstore_disk_handover(): a pipe holding the
 * hand-over line, its descriptors inherited), and runs COMMAND with each
 * argument "@DISK@" replaced by "handover=FD,serial=bench". When COMMAND
 * has ended it folds the disk's journal back (blockstore_disk_close()).
 * Exits with COMMAND's status (128+N for signal N), or 1 on a store error.
 * The disk has no top-up grants: a workload that overwrites written
 * clusters needs none. */
#include "core/blockstore/blockstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define DISK  "bench"

static int fail(const char *what, int r)
{
    fprintf(stderr, "bench-vblk-store: %s: %s (%s)\n", what, strerror(-r), blockstore_error());
    return 1;
}

/* Writes FILE into the new disk DISK (sizes: whole MiB). */
static int fill(struct blockstore *bs, const char *image)
{
    int fd = open(image, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return fail(image, -errno);
    if (st.st_size <= 0 || st.st_size % CHUNK) {
        fprintf(stderr, "bench-vblk-store: %s: size must be whole MiB\n", image);
        close(fd);
        return 1;
    }
    int r = blockstore_create(bs, DISK, (uint64_t)st.st_size);
    struct blockstore_disk *d = NULL;
    if (r < 0 || (r = blockstore_disk_open(bs, DISK, 0, &d)) < 0) {
        close(fd);
        return fail("create the disk", r);
    }
    void *buf = NULL;
    if ((r = -posix_memalign(&buf, 4096, CHUNK)) < 0) {
        close(fd);
        blockstore_disk_close(d);
        return fail("buffer", r);
    }
    for (uint64_t off = 0; r >= 0 && off < (uint64_t)st.st_size; off += CHUNK) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n != CHUNK)
            r = n < 0 ? -errno : -EIO;
        else
            r = extmap_write(blockstore_disk_map(d), buf, off, CHUNK);
    }
    free(buf);
    close(fd);
    int c = blockstore_disk_close(d); /* folds what was written */
    if (r < 0 || c < 0)
        return fail("write the disk", r < 0 ? r : c);
    return 0;
}

static int inherit(int fd)
{
    int f = fcntl(fd, F_GETFD);
    return f < 0 ? -1 : fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
}

/* The hand-over line on a pipe; every descriptor left open across exec. */
static int pass_on(struct extmap_handover *h, int *rfd)
{
    char line[EXTMAP_HANDOVER_LINE_MAX];
    int p[2], len = extmap_handover_format(h, line, sizeof(line));
    if (len <= 0 || pipe(p) < 0)
        return -1;
    bool ok = write(p[1], line, (size_t)len) == len && inherit(h->journal_fd) == 0 &&
              inherit(h->map_fd) == 0;
    for (int i = 0; ok && i < EXTMAP_MAX_FILES; i++)
        if (h->data_fds[i] >= 0)
            ok = inherit(h->data_fds[i]) == 0;
    close(p[1]);
    if (!ok) {
        close(p[0]);
        return -1;
    }
    *rfd = p[0];
    return 0;
}

static int run(char **argv, int disk_fd)
{
    char spec[64];
    snprintf(spec, sizeof(spec), "handover=%d,serial=bench", disk_fd);
    for (char **a = argv; *a; a++)
        if (!strcmp(*a, "@DISK@"))
            *a = spec;
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork", -errno);
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "bench-vblk-store: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return fail("waitpid", -errno);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *image = NULL;
    int i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image = argv[++i];
        else if (!strcmp(argv[i], "--"))
            break;
        else
            i = argc;
    }
    if (!dir || !image || i + 1 >= argc) {
        fprintf(stderr, "usage: bench-vblk-store --store DIR --image FILE -- COMMAND...\n");
        return 2;
    }
    struct blockstore *bs;
    int r = blockstore_open(dir, BLOCKSTORE_CREATE, NULL, &bs);
    if (r < 0)
        return fail(dir, r);
    struct blockstore_disk *d = NULL;
    struct extmap_handover h;
    int rc = fill(bs, image), fd = -1;
    if (!rc && (r = blockstore_disk_open(bs, DISK, 0, &d)) < 0)
        rc = fail("open the disk", r);
    if (!rc && (r = blockstore_disk_handover(d, &h)) < 0)
        rc = fail("hand-over", r);
    else if (!rc) {
        if (pass_on(&h, &fd) < 0)
            rc = fail("pass the hand-over on", -errno);
        else
            rc = run(argv + i + 1, fd);
        if (fd >= 0)
            close(fd);
        blockstore_handover_close(&h);
    }
    if (d && (r = blockstore_disk_close(d)) < 0 && !rc)
        rc = fail("fold the disk", r);
    blockstore_close(bs);
    return rc;
}
