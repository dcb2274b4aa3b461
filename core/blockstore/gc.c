/* blockstore: layer garbage, exactly. An entry of layer L at virtual cluster
 * x is read by somebody iff reach(L, x):
 *     reach(L, x) = L has a holder, or some child C of L has no entry at x
 *                   and reach(C, x).
 * (a read of a holder's object falls through every layer without an entry
 * at x until one has it). Entries of a holder-less layer for which reach is
 * false are garbage and are dropped. Dropping one changes no other entry's
 * reach (the dropped entry was on no holder's path), so the order does not
 * matter. reach only ever goes down when a holder goes (delete), a child
 * goes (a layer freed) or a layer gains an entry (fold): the callers below
 * run at exactly those points, walking up from the layer that changed. */
#include "core/blockstore/bs_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

struct bs_node {
    uint64_t id, parent, holders;
    size_t first_child, next_sibling; /* indices into the tree, NONE at the end */
};

static int add_node(void *ctx, const MDB_val *k, const MDB_val *v)
{
    struct bs_tree *tree = ctx;
    if (k->mv_size != 8 || v->mv_size != sizeof(struct layer_rec))
        return 0; /* check reports it */
    if (tree->n == tree->cap) {
        size_t cap = tree->cap ? tree->cap * 2 : 32;
        struct bs_node *x = realloc(tree->v, cap * sizeof(*x));
        if (!x)
            return -ENOMEM;
        tree->v = x;
        tree->cap = cap;
    }
    struct layer_rec l;
    memcpy(&l, v->mv_data, sizeof(l));
    tree->v[tree->n++] = (struct bs_node){ .id = bs_get_be64(k->mv_data),
                                           .parent = l.parent,
                                           .holders = l.holders,
                                           .first_child = NONE,
                                           .next_sibling = NONE };
    return 0;
}

/* The whole layer tree (layers are few: one scan), sorted by id. */
int bs_tree_load(MDB_txn *t, struct blockstore *bs, struct bs_tree *tree)
{
    memset(tree, 0, sizeof(*tree));
    int r = bs_each(t, bs->layers, "layers", add_node, tree);
    if (r < 0) {
        bs_tree_free(tree);
        return r;
    }
    for (size_t i = 0; i < tree->n; i++) {
        struct bs_node *p = bs_tree_find(tree, tree->v[i].parent);
        if (p && p != &tree->v[i]) {
            tree->v[i].next_sibling = p->first_child;
            p->first_child = i;
        }
    }
    return 0;
}

void bs_tree_free(struct bs_tree *tree)
{
    free(tree->v);
    memset(tree, 0, sizeof(*tree));
}

struct bs_node *bs_tree_find(const struct bs_tree *tree, uint64_t id)
{
    size_t lo = 0, hi = tree->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tree->v[mid].id == id)
            return &tree->v[mid];
        if (tree->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* reach(node, vcl) above; depth is bounded by the number of layers (a loop
 * in parent links, which check reports, cannot make a child list cycle: each
 * node is in exactly one list). 1, 0 or a negative errno. */
static int reach(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree,
                 const struct bs_node *node, uint64_t vcl, size_t depth)
{
    if (node->holders)
        return 1;
    if (depth > tree->n)
        return bs_fail(-EUCLEAN, "layer %llu: the layer tree loops", (unsigned long long)node->id);
    for (size_t i = node->first_child; i != NONE; i = tree->v[i].next_sibling) {
        uint64_t y;
        int r = bs_extent_get(t, bs, tree->v[i].id, vcl, &y);
        if (r == 0)
            continue; /* this child hides it */
        if (r != -ENOENT)
            return r;
        if ((r = reach(t, bs, tree, &tree->v[i], vcl, depth + 1)) != 0)
            return r;
    }
    return 0;
}

/* Drops the entry at vcl of a holder-less layer (freeing its cluster). */
static int drop_entry(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct layer_rec *l,
                      uint64_t vcl, struct bs_freed *freed)
{
    uint64_t x;
    int r = bs_extent_get(t, bs, layer, vcl, &x);
    if (r == 0)
        r = bs_extent_del(t, bs, layer, vcl);
    if (r == 0 && x != ZERO_MARK) {
        l->owned--;
        r = bs_free(t, bs, x, 1, freed);
    }
    return r;
}

/* The virtual clusters of layer's entries that nobody reads, in *out. */
int bs_unread_entries(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree, uint64_t layer,
                      uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const struct bs_node *node = bs_tree_find(tree, layer);
    if (!node || node->holders)
        return 0;
    MDB_cursor *c;
    int r = mdb_cursor_open(t, bs->extents, &c);
    if (r)
        return bs_mdb(r, "mdb_cursor_open");
    unsigned char kb[16];
    bs_key16(kb, layer, 0);
    MDB_val k = { 16, kb }, v;
    size_t cap = 0;
    int g;
    r = 0;
    for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
         g == 0 && r == 0 && bs_get_be64(k.mv_data) == layer;
         g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t vcl = bs_get_be64((unsigned char *)k.mv_data + 8);
        int h = reach(t, bs, tree, node, vcl, 0);
        if (h < 0)
            r = h;
        if (h)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *x = realloc(*out, cap * sizeof(*x));
            if (!x) {
                r = -ENOMEM;
                break;
            }
            *out = x;
        }
        (*out)[(*n)++] = vcl;
    }
    mdb_cursor_close(c);
    if (r == 0 && g && g != MDB_NOTFOUND)
        r = bs_mdb(g, "extents");
    if (r < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return r;
}

/* Drops every entry of a holder-less layer that nobody reads (collected
 * first: no cursor survives the deletions). */
static int reclaim_layer(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree,
                         uint64_t layer, struct bs_freed *freed)
{
    uint64_t *drop;
    size_t nd;
    int r = bs_unread_entries(t, bs, tree, layer, &drop, &nd);
    if (r < 0 || nd == 0)
        return r;
    struct layer_rec l;
    r = bs_layer_get(t, bs, layer, &l);
    for (size_t i = 0; r == 0 && i < nd; i++)
        r = drop_entry(t, bs, layer, &l, drop[i], freed);
    if (r == 0)
        r = bs_layer_put(t, bs, layer, &l);
    free(drop);
    return r;
}

int bs_reclaim_up(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed)
{
    struct bs_tree tree;
    int r = bs_tree_load(t, bs, &tree);
    if (r < 0)
        return r;
    /* a layer with a holder reads all it has, so nothing above it changes */
    for (size_t steps = 0; r == 0 && layer && steps <= tree.n; steps++) {
        const struct bs_node *n = bs_tree_find(&tree, layer);
        if (!n || n->holders)
            break;
        r = reclaim_layer(t, bs, &tree, layer, freed);
        layer = n->parent;
    }
    bs_tree_free(&tree);
    return r;
}

int bs_hide_up(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree, uint64_t layer,
               uint64_t vcl, struct bs_freed *freed)
{
    for (size_t steps = 0; layer && steps <= tree->n; steps++) {
        const struct bs_node *n = bs_tree_find(tree, layer);
        if (!n || n->holders)
            return 0;
        uint64_t x;
        int r = bs_extent_get(t, bs, layer, vcl, &x);
        if (r == -ENOENT) { /* reads fall through: look further up */
            layer = n->parent;
            continue;
        }
        if (r < 0)
            return r;
        /* the first entry up the chain: the only one whose reach changed */
        if ((r = reach(t, bs, tree, n, vcl, 0)) != 0)
            return r < 0 ? r : 0;
        struct layer_rec l;
        if ((r = bs_layer_get(t, bs, layer, &l)) < 0 ||
            (r = drop_entry(t, bs, layer, &l, vcl, freed)) < 0)
            return r;
        return bs_layer_put(t, bs, layer, &l);
    }
    return 0;
}
