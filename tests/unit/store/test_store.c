/* core/store against a real LMDB in a temporary directory. */
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

static int count(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)k;
    (void)kl;
    (void)v;
    (void)vl;
    ++*(int *)ctx;
    return 0;
}

static int stop_at_two(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    return count(k, kl, v, vl, ctx), *(int *)ctx == 2 ? 7 : 0;
}

int main(void)
{
    char dir[256];
    if (t_mkdtemp(dir, sizeof dir, "picostack-store") < 0)
        return 1;
    char state[300];
    snprintf(state, sizeof(state), "%s/state", dir);
    struct store *s;
    CHECK(store_open(state, &s) == 0);
    unsigned recs, idx;
    CHECK(store_table(s, "recs", &recs) == 0);
    CHECK(store_table(s, "idx", &idx) == 0);

    struct store_txn *t;
    CHECK(store_begin(s, true, &t) == 0);
    json_t *rec = json_pack("{s:s, s:i}", "name", "a", "n", 1);
    CHECK(store_put(t, recs, "k1", rec) == 0);
    CHECK(store_put(t, recs, "k2", rec) == 0);
    CHECK(store_put(t, recs, "x1", rec) == 0);
    char key[STORE_MAX_KEY];
    int kl = store_index_key(key, "project", "default", "demo");
    CHECK(kl == (int)strlen("project") + 1 + (int)strlen("default") + 1 + 4);
    CHECK(store_put_raw(t, idx, key, kl, "id1", 3) == 0);
    CHECK(store_commit(t) == 0);

    /* an aborted write leaves nothing */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(store_put(t, recs, "ghost", rec) == 0);
    store_abort(t);

    CHECK(store_begin(s, false, &t) == 0);
    json_t *got;
    CHECK(store_get(t, recs, "k1", &got) == 0 && json_equal(got, rec));
    json_decref(got);
    CHECK(store_get(t, recs, "ghost", &got) == -ENOENT);
    CHECK(store_get(t, recs, "", &got) == -ENOENT);
    CHECK(store_get(t, 99, "k1", &got) == -EBADF);
    const void *v;
    size_t vl;
    CHECK(store_get_raw(t, idx, key, kl, &v, &vl) == 0 && vl == 3 && !memcmp(v, "id1", 3));
    int n = 0;
    CHECK(store_scan(t, recs, "k", 1, count, &n) == 0 && n == 2);
    n = 0;
    CHECK(store_scan(t, recs, NULL, 0, count, &n) == 0 && n == 3);
    n = 0;
    CHECK(store_scan(t, recs, NULL, 0, stop_at_two, &n) == 7 && n == 2);
    n = 0;
    CHECK(store_scan(t, recs, "zz", 2, count, &n) == 0 && n == 0);
    store_abort(t);

    /* a write needs a write txn */
    CHECK(store_begin(s, false, &t) == 0);
    CHECK(store_put(t, recs, "k3", rec) < 0);
    store_abort(t);

    /* too long keys are refused, not truncated */
    char longname[600];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(store_index_key(key, "a", longname, NULL) == -ENAMETOOLONG);
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(store_put(t, recs, longname, rec) == -ENAMETOOLONG);
    CHECK(store_del(t, recs, "k2") == 0);
    CHECK(store_del(t, recs, "k2") == -ENOENT);
    CHECK(store_commit(t) == 0);
    store_close(s);

    /* reopen: committed data persists */
    CHECK(store_open(state, &s) == 0);
    CHECK(store_table(s, "recs", &recs) == 0);
    CHECK(store_begin(s, false, &t) == 0);
    CHECK(store_get(t, recs, "k1", &got) == 0);
    json_decref(got);
    CHECK(store_get(t, recs, "k2", &got) == -ENOENT);
    store_abort(t);
    store_close(s);

    /* ids */
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    store_new_id(a);
    store_new_id(b);
    CHECK(strcmp(a, b) != 0 && store_is_id(a) && a[14] == '4');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK(!store_is_id("default") && !store_is_id(""));
    CHECK(!store_is_id("0123456789abcdef0123456789abcdef0123"));
    CHECK(!store_is_id("g1234567-1234-4234-8234-123456789012"));
    CHECK(!store_is_id("A1234567-1234-4234-8234-123456789012"));
    CHECK(store_is_id("a1234567-1234-4234-8234-123456789012"));

    json_decref(rec);
    if (t_rm_rf(dir) < 0)
        return 1;
    fprintf(stderr, "store: %s\n", t_failures ? "FAILED" : "ok");
    return t_failures ? 1 : 0;
}
