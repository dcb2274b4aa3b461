/* core/images: list query parsing, Glance's visibility rules in lists,
 * sorting, markers and limits. */
#include "core/images/images.h"
#include "tests/support/check.h"

#include <stdlib.h>
#include <errno.h>
#include <string.h>

static const char *qs_get(void *ctx, const char *name)
{
    /* ctx: "k=v&k=v" already split into a NULL-terminated array of pairs */
    const char **kv = ctx;
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], name) == 0)
            return kv[i + 1];
    return NULL;
}

static struct image_caller p1 = { .project_id = "p1", .can_write = true };
static struct image_caller p2 = { .project_id = "p2", .can_write = true };
static struct image_caller adm = { .project_id = "padm", .is_admin = true, .can_write = true };

/* Five images with names n0..n4, created a second apart. */
static json_t *fixture(void)
{
    static const char *vis[] = { "private", "public", "shared", "community", "private" };
    static const char *own[] = { "p1", "p1", "p1", "p1", "p2" };
    json_t *all = json_array();
    for (int i = 0; i < 5; i++) {
        char id[37], name[8], ts[32];
        snprintf(id, sizeof id, "00000000-0000-0000-0000-00000000000%d", i);
        snprintf(name, sizeof name, "n%d", i);
        snprintf(ts, sizeof ts, "2026-11-24T23:00:0%dZ", i);
        json_t *body = json_pack("{s:s, s:s}", "name", name, "visibility", vis[i]);
        struct image_caller c = { .project_id = own[i], .is_admin = true, .can_write = true };
        json_t *img = image_new(body, id, &c, ts, NULL);
        json_object_set_new(img, "size", json_integer(100 - i));
        json_array_append_new(all, img);
        json_decref(body);
    }
    return all;
}

/* Run a query for who; returns the names on the page, space separated. */
static char *names(json_t *all, const char **params, const struct image_caller *who,
                   const char *member_status_for_p2, bool *more, int *status)
{
    static char out[256];
    struct image_query q;
    struct image_err err = { 0 };
    *status = 0;
    out[0] = '\0';
    if (image_query_parse(&q, qs_get, (void *)params, &err) < 0) {
        *status = err.err;
        return out;
    }
    json_t *match = json_array();
    size_t i;
    json_t *img;
    json_array_foreach (all, i, img) {
        const char *ms = strcmp(who->project_id, "p2") == 0 ? member_status_for_p2 : NULL;
        if (image_query_match(&q, img, who, ms))
            json_array_append(match, img);
    }
    json_t *page = image_query_page(&q, match, more, &err);
    json_decref(match);
    if (!page) {
        *status = err.err;
        return out;
    }
    json_array_foreach (page, i, img) {
        if (i)
            strcat(out, " ");
        strcat(out, json_string_value(json_object_get(img, "name")));
    }
    json_decref(page);
    return out;
}

int main(void)
{
    json_t *all = fixture();
    bool more;
    int st;
    const char *none[] = { NULL };

    /* Default order: newest first. Owner p1 sees its own (community
     * included, as its owner), not p2's private. */
    CHECK_STR(names(all, none, &p1, NULL, &more, &st), "n3 n2 n1 n0");
    CHECK(!more);
    /* p2: its own and the public one; shared only once accepted. */
    CHECK_STR(names(all, none, &p2, NULL, &more, &st), "n4 n1");
    CHECK_STR(names(all, none, &p2, "pending", &more, &st), "n4 n1");
    CHECK_STR(names(all, none, &p2, "accepted", &more, &st), "n4 n2 n1");
    const char *pending[] = { "member_status", "pending", NULL };
    CHECK_STR(names(all, pending, &p2, "pending", &more, &st), "n4 n2 n1");
    const char *community[] = { "visibility", "community", NULL };
    CHECK_STR(names(all, community, &p2, NULL, &more, &st), "n3");
    CHECK_STR(names(all, none, &adm, NULL, &more, &st), "n4 n3 n2 n1 n0");

    const char *byname[] = { "name", "n1", NULL };
    CHECK_STR(names(all, byname, &p2, NULL, &more, &st), "n1");
    const char *private[] = { "visibility", "private", NULL };
    CHECK_STR(names(all, private, &p1, NULL, &more, &st), "n0");
    const char *byowner[] = { "owner", "p2", NULL };
    CHECK_STR(names(all, byowner, &adm, NULL, &more, &st), "n4");
    const char *bystatus[] = { "status", "active", NULL };
    CHECK_STR(names(all, bystatus, &adm, NULL, &more, &st), "");

    /* Sorting and paging. */
    const char *asc[] = { "sort_key", "name", "sort_dir", "asc", "limit", "2", NULL };
    CHECK_STR(names(all, asc, &adm, NULL, &more, &st), "n0 n1");
    CHECK(more);
    const char *asc2[] = { "sort_key", "name", "sort_dir", "asc",
                           "limit",    "2",    "marker",   "00000000-0000-0000-0000-000000000001",
                           NULL };
    CHECK_STR(names(all, asc2, &adm, NULL, &more, &st), "n2 n3");
    CHECK(more);
    const char *asc3[] = { "sort_key", "name", "sort_dir", "asc",
                           "limit",    "2",    "marker",   "00000000-0000-0000-0000-000000000003",
                           NULL };
    CHECK_STR(names(all, asc3, &adm, NULL, &more, &st), "n4");
    CHECK(!more);
    const char *bysize[] = { "sort", "size:asc", NULL };
    CHECK_STR(names(all, bysize, &adm, NULL, &more, &st), "n4 n3 n2 n1 n0");
    const char *zero[] = { "limit", "0", NULL };
    CHECK_STR(names(all, zero, &adm, NULL, &more, &st), "");
    CHECK(more);

    /* Errors: 400 each. */
    const char *badlimit[] = { "limit", "x", NULL };
    names(all, badlimit, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *neglimit[] = { "limit", "-1", NULL };
    names(all, neglimit, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *badkey[] = { "sort_key", "password", NULL };
    names(all, badkey, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *baddir[] = { "sort_dir", "up", NULL };
    names(all, baddir, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *badsort[] = { "sort", "name:sideways", NULL };
    names(all, badsort, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *both[] = { "sort", "name", "sort_key", "id", NULL };
    names(all, both, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *badvis[] = { "visibility", "secret", NULL };
    names(all, badvis, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    const char *badmarker[] = { "marker", "00000000-0000-0000-0000-00000000000f", NULL };
    names(all, badmarker, &adm, NULL, &more, &st);
    CHECK(st == -EINVAL);
    /* A marker p2 cannot see is as unknown as one that does not exist. */
    const char *hidmarker[] = { "marker", "00000000-0000-0000-0000-000000000000", NULL };
    names(all, hidmarker, &p2, NULL, &more, &st);
    CHECK(st == -EINVAL);

    json_decref(all);
    return t_done("images.unit.image_list");
}
