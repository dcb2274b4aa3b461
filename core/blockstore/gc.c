/* blockstore: layer garbage, exactly. An entry of layer L at virtual cluster
 * x serving sub-clusters S (all of them but its holes) is read by somebody
 * iff reach(L, x, S):
 *     reach(L, x, S) = S is not empty and (L has a holder, or some child C
 *                      of L has reach(C, x, S minus what C's entry at x
 *                      serves))
 * (a read of a holder's object falls through, sub-cluster by sub-cluster,
 * every layer whose entry at x does not serve it until one does). A
 * cluster is freed only when none of its sub-clusters is read by anyone. Entries of a holder-less layer for which reach is
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
                 const struct bs_node *node, uint64_t vcl, uint32_t subs, size_t depth)
{
    if (!subs)
        return 0;
    if (node->holders)
        return 1;
    if (depth > tree->n)
        return bs_fail(-EUCLEAN, "layer %llu: the layer tree loops", (unsigned long long)node->id);
    for (size_t i = node->first_child; i != NONE; i = tree->v[i].next_sibling) {
        struct bs_ext y;
        uint32_t left = subs;
        int r = bs_extent_get(t, bs, tree->v[i].id, vcl, &y);
        if (r == 0)
            left &= ~bs_own(&y); /* what this child serves itself */
        else if (r != -ENOENT)
            return r;
        if ((r = reach(t, bs, tree, &tree->v[i], vcl, left, depth + 1)) != 0)
            return r;
    }
    return 0;
}

/* Is layer's entry at vcl (e) read by anybody? 1, 0 or a negative errno. */
static int entry_read(MDB_txn *t, struct blockstore *bs, const struct bs_tree *tree,
                      const struct bs_node *node, uint64_t vcl, const struct bs_ext *e)
{
    return reach(t, bs, tree, node, vcl, bs_own(e), 0);
}

/* Drops the entry at vcl of a holder-less layer (freeing its cluster). */
static int drop_entry(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct layer_rec *l,
                      uint64_t vcl, struct bs_freed *freed)
{
    struct bs_ext x;
    int r = bs_extent_get(t, bs, layer, vcl, &x);
    if (r == 0)
        r = bs_extent_del(t, bs, layer, vcl);
    if (r == 0 && x.val != ZERO_MARK) {
        l->owned--;
        r = bs_free(t, bs, x.val, 1, freed);
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
        struct bs_ext e;
        int h = bs_extent_decode(&v, &e);
        if (h == 0)
            h = entry_read(t, bs, tree, node, vcl, &e);
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
    int r = bs_reclaim_chain(t, bs, layer, freed);
    /* entries dropped may unblock the merge of a layer up the chain */
    return r < 0 ? r : bs_merge_up(t, bs, layer, freed);
}

int bs_reclaim_chain(MDB_txn *t, struct blockstore *bs, uint64_t layer, struct bs_freed *freed)
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
    /* every entry up the chain that the new one may hide, up to a layer with
     * a holder: with sub-clusters more than the first can lose its readers */
    uint32_t open = EXTMAP_HOLES_FULL; /* sub-clusters still falling through */
    for (size_t steps = 0; layer && open && steps <= tree->n; steps++) {
        const struct bs_node *n = bs_tree_find(tree, layer);
        if (!n || n->holders)
            return 0;
        struct bs_ext x;
        int r = bs_extent_get(t, bs, layer, vcl, &x);
        if (r == -ENOENT) { /* reads fall through: look further up */
            layer = n->parent;
            continue;
        }
        if (r < 0)
            return r;
        open &= x.holes;
        if ((r = entry_read(t, bs, tree, n, vcl, &x)) < 0)
            return r;
        if (r == 0) {
            struct layer_rec l;
            if ((r = bs_layer_get(t, bs, layer, &l)) < 0 ||
                (r = drop_entry(t, bs, layer, &l, vcl, freed)) < 0 ||
                (r = bs_layer_put(t, bs, layer, &l)) < 0)
                return r;
        }
        layer = n->parent;
    }
    return 0;
}
