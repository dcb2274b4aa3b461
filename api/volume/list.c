/* Listing as Cinder does it: filters (name, status, metadata and a few
 * per collection), sort (sort=key:dir,... or sort_key/sort_dir; default
 * created_at desc, then id), marker and limit, and a `next` link when
 * more follow. */
#include "api/volume/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 4

struct sort {
    const char *key[MAX_KEYS];
    bool desc[MAX_KEYS];
    int n;
    char buf[512];
};

static int parse_sort(struct api_req *r, struct sort *s)
{
    const char *sort = api_req_query(r, "sort"), *key = api_req_query(r, "sort_key"),
               *dir = api_req_query(r, "sort_dir");
    s->n = 0;
    if (sort && *sort) {
        snprintf(s->buf, sizeof s->buf, "%s", sort);
        char *save = NULL;
        for (char *tok = strtok_r(s->buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (s->n == MAX_KEYS)
                return -1;
            char *colon = strchr(tok, ':');
            s->desc[s->n] = true;
            if (colon) {
                *colon = '\0';
                if (!strcmp(colon + 1, "asc"))
                    s->desc[s->n] = false;
                else if (strcmp(colon + 1, "desc"))
                    return -1;
            }
            s->key[s->n++] = tok;
        }
    } else if (key && *key) {
        s->key[0] = key;
        s->desc[0] = !dir || strcmp(dir, "asc");
        if (dir && strcmp(dir, "asc") && strcmp(dir, "desc"))
            return -1;
        s->n = 1;
    }
    static const char *const ok[] = { "id",           "name",       "status",
                                      "size",         "created_at", "updated_at",
                                      "volume_id",    "bootable",   "availability_zone",
                                      "display_name", NULL };
    for (int i = 0; i < s->n; i++) {
        bool good = false;
        for (int k = 0; ok[k]; k++)
            good |= !strcmp(s->key[i], ok[k]);
        if (!good)
            return -1;
        if (!strcmp(s->key[i], "display_name"))
            s->key[i] = "name";
    }
    if (s->n < MAX_KEYS) {
        s->key[s->n] = "created_at";
        s->desc[s->n++] = true;
    }
    return 0;
}

static int cmp_field(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (!x || !y)
        return !x - !y;
    return strcmp(x, y);
}

static int cmp_views(const void *pa, const void *pb, void *ctx)
{
    const struct sort *s = ctx;
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    for (int i = 0; i < s->n; i++) {
        int c = cmp_field(json_object_get(a, s->key[i]), json_object_get(b, s->key[i]));
        if (c)
            return s->desc[i] ? -c : c;
    }
    return -cmp_field(json_object_get(a, "id"), json_object_get(b, "id"));
}

/* metadata={'k': 'v'} as the CLI sends it (a Python dict) or JSON. */
static json_t *parse_meta(const char *q)
{
    char *s = strdup(q);
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *m = json_loads(s, 0, NULL);
    free(s);
    if (m && !json_is_object(m)) {
        json_decref(m);
        m = NULL;
    }
    return m;
}

static bool matches(struct api_req *r, const json_t *view, const json_t *meta,
                    const char *const *extra)
{
    static const char *const base[] = { "name", "status", NULL };
    const char *const *lists[2] = { base, extra };
    for (int l = 0; l < 2; l++)
        for (const char *const *f = lists[l]; f && *f; f++) {
            const char *want = api_req_query(r, *f);
            /* admins name a project as project_id (Cinder's all_tenants
             * listing); the view shows it as the tenant attribute */
            if (!want && !strcmp(*f, "os-vol-tenant-attr:tenant_id"))
                want = api_req_query(r, "project_id");
            if (!want)
                continue;
            const json_t *have = json_object_get(view, *f);
            char num[32];
            const char *h = json_string_value(have);
            if (json_is_integer(have)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(have));
                h = num;
            } else if (json_is_boolean(have)) {
                h = json_is_true(have) ? "true" : "false";
            }
            if (!h || strcmp(h, want))
                return false;
        }
    const char *k;
    json_t *x;
    json_object_foreach ((json_t *)meta, k, x) {
        const char *h = json_string_value(json_object_get(json_object_get(view, "metadata"), k));
        if (!h || !json_is_string(x) || strcmp(h, json_string_value(x)))
            return false;
    }
    return true;
}

void vol_reply_list(struct api_req *r, const char *coll, json_t *views, bool summary,
                    const char *const *extra_filters)
{
    struct sort s;
    if (parse_sort(r, &s) < 0) {
        json_decref(views);
        return api_reply_error(r, 400, "Invalid input received: bad sort key or direction.");
    }
    long limit = -1, offset = 0;
    const char *lq = api_req_query(r, "limit"), *marker = api_req_query(r, "marker"),
               *oq = api_req_query(r, "offset");
    char *end;
    if (lq && (limit = strtol(lq, &end, 10), !*lq || *end || limit < 0)) {
        json_decref(views);
        return api_reply_error(r, 400,
                               "Invalid input received: limit must be a non-negative integer.");
    }
    if (oq && (offset = strtol(oq, &end, 10), !*oq || *end || offset < 0)) {
        json_decref(views);
        return api_reply_error(r, 400,
                               "Invalid input received: offset must be a non-negative integer.");
    }
    json_t *meta = NULL;
    const char *mq = api_req_query(r, "metadata");
    if (mq && *mq && !(meta = parse_meta(mq))) {
        json_decref(views);
        return api_reply_error(r, 400, "Invalid input received: bad metadata filter.");
    }
    size_t n = json_array_size(views), m = 0;
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; items && i < n; i++) {
        json_t *v = json_array_get(views, i);
        if (matches(r, v, meta, extra_filters))
            items[m++] = v;
    }
    json_decref(meta);
    if (!items) {
        json_decref(views);
        return api_reply_error(r, 500, "Out of memory.");
    }
    qsort_r(items, m, sizeof *items, cmp_views, &s);
    size_t start = 0;
    if (marker) {
        for (start = 0;
             start < m && strcmp(json_string_value(json_object_get(items[start], "id")), marker);
             start++)
            ;
        if (start == m) {
            free(items);
            json_decref(views);
            return api_reply_error(r, 404, "Marker %s could not be found.", marker);
        }
        start++;
    }
    start = start + (size_t)offset < m ? start + (size_t)offset : m;
    size_t stop = limit >= 0 && start + (size_t)limit < m ? start + (size_t)limit : m;
    json_t *out = json_array();
    for (size_t i = start; i < stop; i++) {
        json_t *v = items[i];
        if (summary)
            json_array_append_new(out, json_pack("{s:O, s:O, s:O}", "id", json_object_get(v, "id"),
                                                 "name", json_object_get(v, "name"), "links",
                                                 json_object_get(v, "links")));
        else
            json_array_append(out, v);
    }
    json_t *body = json_pack("{s:o}", coll, out);
    /* A full page gets a next link, as Cinder's (even when it was the last:
     * the next page is then empty). */
    if (limit > 0 && stop - start == (size_t)limit) {
        char href[1200], key[64];
        snprintf(href, sizeof href, "%s/volume%s?limit=%ld&marker=%s", api_req_base_url(r),
                 api_req_path(r), limit, json_string_value(json_object_get(items[stop - 1], "id")));
        snprintf(key, sizeof key, "%s_links", coll);
        json_object_set_new(body, key, json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
    }
    free(items);
    json_decref(views);
    api_reply_json(r, 200, body);
}
