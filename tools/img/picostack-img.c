/* picostack-img: the block store by hand (core/blockstore/blockstore.h).
 * picostack-img [--store DIR] COMMAND ...; exit 0 ok, 1 failed, 2 bad usage. */
#include "core/blockstore/blockstore.h"
#include "core/volumes/volumes.h"
#include "tools/common/progress.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: picostack-img [--store DIR] COMMAND [ARGS]\n"
    "  init                                  create the store in DIR/blocks\n"
    "  import FILE NAME [--format raw|qcow2] import an image (format detected by default)\n"
    "  create NAME SIZE                      a new thin disk\n"
    "  snapshot DISK NAME                    snapshot a disk\n"
    "  clone SNAPSHOT|IMAGE NAME             a new disk from a snapshot or an image\n"
    "  extend DISK SIZE                      grow a disk\n"
    "  delete NAME                           delete a disk, snapshot or image\n"
    "  list                                  name, kind, virtual size, allocated, parent\n"
    "  info NAME [--json]                    details of one object\n"
    "  read NAME OFFSET LEN                  bytes to stdout\n"
    "  write NAME OFFSET < data              stdin to the disk, flushed\n"
    "  export NAME FILE [--format raw|qcow2|qcow2-extl2]\n"
    "                                        a sparse copy (raw by default; qcow2-extl2:\n"
    "                                        extended L2 entries, data per 2 KiB sub-cluster)\n"
    "  check [--repair]                      verify the whole store (exit 0: clean)\n"
    "  upgrade                               bring an older store to the current format\n"
    "                                        (in place, safe to kill and rerun)\n"
    "  stat                                  space used, shared, free\n"
    "  backup-check BACKUPS ID               verify a volume backup's chain (no store needed)\n"
    "  backup-restore BACKUPS ID DISK        write a backup's chain into DISK (made if absent)\n"
    "SIZE, OFFSET, LEN: bytes, or with a K, M, G or T suffix (powers of 1024).\n"
    "DIR: a data dir (default: picostackd's, /var/lib/picostack as root,\n"
    "     else ~/.local/share/picostack).\n";

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "picostack-img: %s\n", why);
    fputs(usage_text, stderr);
    return 2;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    default: break;
    }
    if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b'))
        end += 2;
    else if (shift && (*end == 'B' || *end == 'b'))
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static void human(uint64_t v, char *buf, size_t len)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    double d = (double)v;
    int i = 0;
    while (d >= 1024 && i < 5) {
        d /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%" PRIu64 " B", v);
    else
        snprintf(buf, len, "%.1f %s", d, u[i]);
}

static int fail(int r, const char *what)
{
    fprintf(stderr, "picostack-img: %s: %s\n", what, blockstore_error());
    (void)r;
    return 1;
}

static int parse_format(const char *s, enum blockstore_format *f)
{
    if (!strcmp(s, "raw"))
        *f = BLOCKSTORE_FMT_RAW;
    else if (!strcmp(s, "qcow2"))
        *f = BLOCKSTORE_FMT_QCOW2;
    else if (!strcmp(s, "qcow2-extl2"))
        *f = BLOCKSTORE_FMT_QCOW2_EXTL2;
    else
        return -1;
    return 0;
}

/* The open already upgraded what it could; this finishes and checks it. */
static int cmd_upgrade(struct blockstore *bs)
{
    struct blockstore_upgrade u;
    int r = blockstore_upgrade(bs, &u, stdout);
    if (r < 0)
        return fail(r, "upgrade");
    if (u.from == u.to)
        printf("store format %" PRIu64 ": already current, check clean\n", u.to);
    else
        printf("store format %" PRIu64 " -> %" PRIu64 ", check clean\n", u.from, u.to);
    return 0;
}

/* blockstore_import's progress callback: ctx is a struct progress. */
static int progress_bar(void *ctx, uint64_t done, uint64_t total)
{
    if (done == total)
        progress_done(ctx, (double)done);
    else
        progress_update(ctx, (double)done, (double)total);
    return 0;
}

static int list_row(void *ctx, const struct blockstore_info *i)
{
    (void)ctx;
    char size[32], alloc[32];
    human(i->size, size, sizeof(size));
    human(i->allocated, alloc, sizeof(alloc));
    printf("%-32s %-8s %12s %12s %s\n", i->name, blockstore_kind_name(i->kind), size, alloc,
           i->parent[0] ? i->parent : "-");
    return 0;
}

static int cmd_info(struct blockstore *bs, const char *name, int json)
{
    struct blockstore_info i;
    int r = blockstore_info(bs, name, &i);
    if (r < 0)
        return fail(r, "info");
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", i.name, "kind",
                              blockstore_kind_name(i.kind), "id", (json_int_t)i.id, "virtual_size",
                              (json_int_t)i.size, "allocated", (json_int_t)i.allocated,
                              "cluster_size", (json_int_t)EXTMAP_CLUSTER_SIZE, "layer_depth",
                              (json_int_t)i.layer_depth, "created", (json_int_t)i.created);
        if (!o)
            return 1;
        json_object_set_new(o, "parent", i.parent[0] ? json_string(i.parent) : json_null());
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!s)
            return 1;
        puts(s);
        free(s);
        return 0;
    }
    char size[32], alloc[32], when[64];
    human(i.size, size, sizeof(size));
    human(i.allocated, alloc, sizeof(alloc));
    time_t c = (time_t)i.created;
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&c));
    printf("name:         %s\nkind:         %s\nvirtual size: %s (%" PRIu64 " bytes)\n"
           "allocated:    %s (%" PRIu64 " bytes)\nparent:       %s\nlayer depth:  %" PRIu64
           "\ncreated:      %s\n",
           i.name, blockstore_kind_name(i.kind), size, i.size, alloc, i.allocated,
           i.parent[0] ? i.parent : "-", i.layer_depth, when);
    return 0;
}

#define IO_BUF_SIZE (4u << 20)

/* read/write: the disk and an IO_BUF_SIZE buffer; 0, or the exit status
 * (printed). */
static int open_with_buffer(struct blockstore *bs, const char *name, int flags, const char *what,
                            struct blockstore_disk **d, char **buf)
{
    int r = blockstore_disk_open(bs, name, flags, d);
    if (r < 0)
        return fail(r, what);
    *buf = malloc(IO_BUF_SIZE);
    if (!*buf) {
        blockstore_disk_close(*d);
        fprintf(stderr, "picostack-img: %s: out of memory\n", what);
        return 1;
    }
    return 0;
}

static int cmd_read(struct blockstore *bs, const char *name, uint64_t off, uint64_t len)
{
    struct blockstore_disk *d;
    char *buf;
    int r = open_with_buffer(bs, name, BLOCKSTORE_RDONLY, "read", &d, &buf);
    if (r)
        return r;
    while (len && r == 0) {
        size_t n = len < IO_BUF_SIZE ? (size_t)len : IO_BUF_SIZE;
        r = extmap_read(blockstore_disk_map(d), buf, off, n);
        if (r < 0) {
            fprintf(stderr, "picostack-img: read: %s\n",
                    r == -EINVAL ? "range past the end of the disk" : strerror(-r));
            break;
        }
        if (fwrite(buf, 1, n, stdout) != n) {
            r = -EIO;
            fprintf(stderr, "picostack-img: read: writing stdout failed\n");
        }
        off += n;
        len -= n;
    }
    free(buf);
    blockstore_disk_close(d);
    return r < 0 ? 1 : 0;
}

static int cmd_write(struct blockstore *bs, const char *name, uint64_t off)
{
    struct blockstore_disk *d;
    char *buf;
    int r = open_with_buffer(bs, name, 0, "write", &d, &buf);
    if (r)
        return r;
    for (;;) {
        size_t n = fread(buf, 1, IO_BUF_SIZE, stdin);
        if (n == 0)
            break;
        r = extmap_write(blockstore_disk_map(d), buf, off, n);
        if (r < 0) {
            fprintf(stderr, "picostack-img: write: %s\n",
                    r == -EINVAL ? "range past the end of the disk" : strerror(-r));
            break;
        }
        off += n;
    }
    free(buf);
    int c = blockstore_disk_close(d);
    if (r == 0 && c < 0)
        return fail(c, "write (flush)");
    return r < 0 ? 1 : 0;
}

/* Volume backups (core/volumes' format): a chain checked, or restored into
 * a disk of this store, from the backup directory alone. */
static int cmd_backup_check(const char *backups, const char *id)
{
    int r = volumes_backup_check(backups, id, stdout);
    if (r < 0) {
        fprintf(stderr, "picostack-img: backup-check: %s\n", volumes_error());
        return 1;
    }
    printf("backup-check: %s\n", r ? "problems found" : "clean");
    return r ? 1 : 0;
}

static int cmd_backup_restore(struct blockstore *bs, const char *backups, const char *id,
                              const char *disk)
{
    json_t *m;
    int r = volumes_backup_manifest(backups, id, &m);
    if (r < 0) {
        fprintf(stderr, "picostack-img: backup-restore: %s\n", volumes_error());
        return 1;
    }
    uint64_t size = (uint64_t)json_integer_value(json_object_get(m, "size"));
    json_decref(m);
    struct blockstore_info info;
    if (blockstore_info(bs, disk, &info) == -ENOENT &&
        (r = blockstore_create(bs, disk, (size + 511) / 512 * 512)) < 0)
        return fail(r, "backup-restore");
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    struct volumes_bs_lock lk = volumes_mutex_lock(&mutex);
    r = volumes_backup_restore_into(bs, &lk, backups, id, disk);
    if (r < 0) {
        fprintf(stderr, "picostack-img: backup-restore: %s\n", volumes_error());
        return 1;
    }
    printf("restored backup %s into %s\n", id, disk);
    return 0;
}

static int cmd_stat(struct blockstore *bs)
{
    struct blockstore_stat s;
    int r = blockstore_stat(bs, &s);
    if (r < 0)
        return fail(r, "stat");
    char a[32], b[32], c[32], d[32], e[32], z[32];
    human(s.used, a, sizeof(a));
    human(s.shared, b, sizeof(b));
    human(s.free, c, sizeof(c));
    human(s.file_bytes, d, sizeof(d));
    human(s.fs_free, e, sizeof(e));
    human(s.zeroed, z, sizeof(z));
    printf("used:          %s (%" PRIu64 " bytes)\nshared:        %s (%" PRIu64 " bytes)\n"
           "free:          %s (%" PRIu64 " bytes, reusable inside the image files)\n"
           "zeroed ahead:  %s (%" PRIu64 " bytes, handed out first)\n"
           "image files:   %s\nfilesystem free: %s\ncluster size:  %" PRIu64 " bytes\n"
           "objects:       %" PRIu64 "\nlayers:        %" PRIu64 "\n",
           a, s.used, b, s.shared, c, s.free, z, s.zeroed, d, e, s.cluster_size, s.objects,
           s.layers);
    return 0;
}

/* Splits argv into positional arguments and the known flags. */
struct args {
    const char *pos[4];
    int npos;
    const char *format;
    int json, repair;
};

static int split(int argc, char **argv, struct args *a, int allow_format, int allow_json,
                 int allow_repair)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        if (allow_format && !strcmp(argv[i], "--format") && i + 1 < argc)
            a->format = argv[++i];
        else if (allow_format && !strncmp(argv[i], "--format=", 9))
            a->format = argv[i] + 9;
        else if (allow_json && !strcmp(argv[i], "--json"))
            a->json = 1;
        else if (allow_repair && !strcmp(argv[i], "--repair"))
            a->repair = 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            return -1;
        else if (a->npos < 4)
            a->pos[a->npos++] = argv[i];
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char dir[4096];
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "--store")) {
        if (i + 1 >= argc)
            return usage("--store needs a directory");
        snprintf(dir, sizeof(dir), "%s", argv[i + 1]);
        i += 2;
    } else if (i < argc && !strncmp(argv[i], "--store=", 8)) {
        snprintf(dir, sizeof(dir), "%s", argv[i] + 8);
        i++;
    } else if (blockstore_default_dir(dir, sizeof(dir)) < 0) {
        return usage("no default data dir; give --store DIR");
    }
    if (i >= argc)
        return usage("no command");
    const char *cmd = argv[i++];
    struct args a;
    int fmt_ok = !strcmp(cmd, "import") || !strcmp(cmd, "export");
    if (split(argc - i, argv + i, &a, fmt_ok, !strcmp(cmd, "info"), !strcmp(cmd, "check")) < 0)
        return usage("unknown option or too many arguments");
    static const struct {
        const char *name;
        int npos;
    } cmds[] = {
        { "init", 0 },    { "import", 2 }, { "create", 2 },       { "snapshot", 2 },
        { "clone", 2 },   { "extend", 2 }, { "delete", 1 },       { "list", 0 },
        { "info", 1 },    { "read", 3 },   { "write", 2 },        { "export", 2 },
        { "check", 0 },   { "stat", 0 },   { "backup-check", 2 }, { "backup-restore", 3 },
        { "upgrade", 0 },
    };
    int known = -1;
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (!strcmp(cmd, cmds[k].name))
            known = (int)k;
    if (known < 0)
        return usage("unknown command");
    if (a.npos != cmds[known].npos)
        return usage("wrong number of arguments");
    enum blockstore_format fmt = !strcmp(cmd, "export") ? BLOCKSTORE_FMT_RAW : BLOCKSTORE_FMT_AUTO;
    if (a.format && parse_format(a.format, &fmt) < 0)
        return usage("--format is raw, qcow2 or qcow2-extl2");
    uint64_t n1 = 0, n2 = 0;
    if ((!strcmp(cmd, "create") || !strcmp(cmd, "extend")) && parse_size(a.pos[1], &n1) < 0)
        return usage("bad SIZE");
    if (!strcmp(cmd, "read") && (parse_size(a.pos[1], &n1) < 0 || parse_size(a.pos[2], &n2) < 0))
        return usage("bad OFFSET or LEN");
    if (!strcmp(cmd, "write") && parse_size(a.pos[1], &n1) < 0)
        return usage("bad OFFSET");

    if (!strcmp(cmd, "backup-check")) /* a backup directory alone */
        return cmd_backup_check(a.pos[0], a.pos[1]);

    struct blockstore *bs;
    int r = blockstore_open(dir, !strcmp(cmd, "init") ? BLOCKSTORE_CREATE : 0, NULL, &bs);
    if (r < 0) {
        fprintf(stderr, "picostack-img: %s\n", blockstore_error());
        return 1;
    }
    int rc = 0;
    if (!strcmp(cmd, "init")) {
        printf("block store ready in %s/blocks\n", dir);
    } else if (!strcmp(cmd, "import")) {
        struct progress prog;
        progress_init(&prog, "import");
        r = blockstore_import(bs, a.pos[0], a.pos[1], fmt, prog.enabled ? progress_bar : NULL,
                              &prog);
        rc = r < 0 ? fail(r, "import") : 0;
    } else if (!strcmp(cmd, "create")) {
        rc = (r = blockstore_create(bs, a.pos[0], n1)) < 0 ? fail(r, "create") : 0;
    } else if (!strcmp(cmd, "snapshot")) {
        rc = (r = blockstore_snapshot(bs, a.pos[0], a.pos[1])) < 0 ? fail(r, "snapshot") : 0;
    } else if (!strcmp(cmd, "clone")) {
        rc = (r = blockstore_clone(bs, a.pos[0], a.pos[1])) < 0 ? fail(r, "clone") : 0;
    } else if (!strcmp(cmd, "extend")) {
        rc = (r = blockstore_extend(bs, a.pos[0], n1)) < 0 ? fail(r, "extend") : 0;
    } else if (!strcmp(cmd, "delete")) {
        rc = (r = blockstore_delete(bs, a.pos[0])) < 0 ? fail(r, "delete") : 0;
    } else if (!strcmp(cmd, "list")) {
        printf("%-32s %-8s %12s %12s %s\n", "NAME", "KIND", "SIZE", "ALLOCATED", "PARENT");
        rc = (r = blockstore_list(bs, list_row, NULL)) < 0 ? fail(r, "list") : 0;
    } else if (!strcmp(cmd, "info")) {
        rc = cmd_info(bs, a.pos[0], a.json);
    } else if (!strcmp(cmd, "read")) {
        rc = cmd_read(bs, a.pos[0], n1, n2);
    } else if (!strcmp(cmd, "write")) {
        rc = cmd_write(bs, a.pos[0], n1);
    } else if (!strcmp(cmd, "export")) {
        rc = (r = blockstore_export(bs, a.pos[0], a.pos[1], fmt)) < 0 ? fail(r, "export") : 0;
    } else if (!strcmp(cmd, "check")) {
        r = blockstore_check(bs, a.repair, stdout);
        if (r < 0)
            rc = fail(r, "check");
        else if (r > 0) {
            printf("check: %d problem%s\n", r, r == 1 ? "" : "s");
            rc = 1;
        } else {
            printf("check: clean\n");
        }
    } else if (!strcmp(cmd, "stat")) {
        rc = cmd_stat(bs);
    } else if (!strcmp(cmd, "upgrade")) {
        rc = cmd_upgrade(bs);
    } else if (!strcmp(cmd, "backup-restore")) {
        rc = cmd_backup_restore(bs, a.pos[0], a.pos[1], a.pos[2]);
    }
    blockstore_close(bs);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
