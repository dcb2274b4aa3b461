/* blockstore: bringing a store written by an older release to the current
 * format (picostack-img upgrade).
 *
 * blockstore_open() already does the part that must happen before anything
 * else touches the store: it raises meta "version" in one durable LMDB
 * transaction (format-1 records read as format-2 whole clusters, so nothing
 * else needs rewriting) and folds every journal whose writer is gone, each
 * fold one transaction that LMDB applies whole or not at all and that is
 * idempotent (LMDB remembers the journal offset folded). Killed at any
 * instant, the store is either still format 1 or format 2 with some
 * journals folded, and the next open carries on. What open cannot do is
 * fold a journal a live writer (a VMM of the older release) still appends
 * format-1 records to: blockstore_upgrade() finds those, says which, and
 * reports the store as not yet upgraded, then checks the whole store. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct held {
    struct blockstore *bs;
    FILE *report;
    unsigned count;
};

/* An object handed to a writer that still runs and whose journal still has
 * the format-1 header: it stays format 1 until that writer ends. */
static int find_held(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct held *h = ctx;
    struct obj_rec o;
    if (v->mv_size != sizeof(o))
        return 0;
    memcpy(&o, v->mv_data, sizeof(o));
    if (!bs_writer_alive(&o))
        return 0;
    char path[4096], magic[8] = { 0 };
    bs_journal_path(h->bs, o.id, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : bs_fail(-errno, "cannot open %s: %s", path, strerror(errno));
    ssize_t n = pread(fd, magic, sizeof(magic), 0);
    close(fd);
    if (n == (ssize_t)sizeof(magic) && !memcmp(magic, "PSJRNL1\n", 8)) {
        h->count++;
        if (h->report)
            fprintf(h->report, "'%.*s' is written by pid %llu with a format-1 journal\n",
                    (int)k->mv_size, (const char *)k->mv_data, (unsigned long long)o.writer_pid);
    }
    return 0;
}

int blockstore_upgrade(struct blockstore *bs, struct blockstore_upgrade *out, FILE *report)
{
    memset(out, 0, sizeof(*out));
    out->from = bs->found_format;
    out->to = BS_FORMAT;
    int r = blockstore_fold_all(bs); /* again: a writer may have ended since open */
    if (r < 0)
        return r;
    struct held h = { .bs = bs, .report = report };
    MDB_txn *t;
    if ((r = bs_begin(bs, 1, &t)) < 0)
        return r;
    r = bs_each(t, bs->objects, "objects", find_held, &h);
    mdb_txn_abort(t);
    if (r < 0)
        return r;
    out->held = h.count;
    int problems = blockstore_check(bs, 0, report);
    if (problems < 0)
        return problems;
    out->problems = (unsigned)problems;
    if (h.count)
        return bs_fail(-EBUSY,
                       "%u disk%s still written by a writer of the older format: stop %s "
                       "and run upgrade again",
                       h.count, h.count == 1 ? " is" : "s are", h.count == 1 ? "it" : "them");
    if (problems)
        return bs_fail(-EUCLEAN, "the store has %d problem%s (see check)", problems,
                       problems == 1 ? "" : "s");
    return 0;
}
