/* GET /v2/images: query parsing, filters with Glance's visibility rules,
 * sorting and paging with a marker. */
#include "core/images/images.h"
#include "core/images/image_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const sort_keys[] = {
    "name",       "status",     "container_format", "disk_format", "size",     "virtual_size", "id",
    "created_at", "updated_at", "visibility",       "owner",       "min_disk", "min_ram",      NULL,
};

int image_bool_text(const char *s)
{
    /* Glance reads booleans as oslo's strutils does. */
    static const char *const yes[] = { "true", "1", "yes", "on", "y", "t" };
    static const char *const no[] = { "false", "0", "no", "off", "n", "f" };
    for (size_t i = 0; s && i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcasecmp(s, yes[i]))
            return 1;
        if (!strcasecmp(s, no[i]))
            return 0;
    }
    return -1;
}

static bool valid_sort_key(const char *k)
{
    for (size_t i = 0; sort_keys[i]; i++)
        if (strcmp(k, sort_keys[i]) == 0)
            return true;
    return false;
}

static int parse_dir(const char *s, bool *desc, struct image_err *err)
{
    if (strcmp(s, "asc") == 0)
        *desc = false;
    else if (strcmp(s, "desc") == 0)
        *desc = true;
    else
        return image_fail(err, -EINVAL, "Invalid sort direction: %s", s);
    return 0;
}

/* sort=name:asc,created_at:desc. Pieces are copied into q's buffer. */
static int parse_sort(struct image_query *q, const char *spec, char *buf, size_t buflen,
                      struct image_err *err)
{
    if (strlen(spec) >= buflen)
        return image_fail(err, -EINVAL, "Sort specification too long.");
    strcpy(buf, spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (q->nsort == IMAGE_MAX_SORT_KEYS)
            return image_fail(err, -EINVAL, "Too many sort keys.");
        char *colon = strchr(tok, ':');
        bool desc = true;
        if (colon) {
            *colon = '\0';
            if (parse_dir(colon + 1, &desc, err) < 0)
                return -1;
        }
        if (!valid_sort_key(tok))
            return image_fail(
                err, -EINVAL,
                "Invalid sort key: %s. It must be one of the following: name, status, "
                "container_format, disk_format, size, id, created_at, updated_at.",
                tok);
        q->sort_keys[q->nsort] = tok;
        q->sort_desc[q->nsort++] = desc;
    }
    return 0;
}

/* created_at/updated_at: "OP:TIME" (OP gt, gte, lt, lte, eq or neq; TIME
 * ISO 8601, UTC, as Glance stores it: 2016-01-02T03:04:05Z, the Z
 * optional), kept as the stored text form to compare with. */
static int parse_time(const char *v, const char *name, struct image_time_filter *out,
                      struct image_err *err)
{
    static const char *const ops[] = { "gt", "gte", "lt", "lte", "eq", "neq" };
    memset(out, 0, sizeof *out);
    if (!v)
        return 0;
    const char *colon = strchr(v, ':');
    size_t oplen = colon ? (size_t)(colon - v) : 0;
    for (size_t i = 0; colon && i < sizeof ops / sizeof ops[0]; i++)
        if (strlen(ops[i]) == oplen && !strncmp(v, ops[i], oplen))
            out->op = (int)i + 1;
    struct tm tm = { 0 };
    const char *rest = out->op ? strptime(colon + 1, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest && *rest == 'Z')
        rest++;
    if (!rest || *rest)
        return image_fail(err, -EINVAL,
                          "Invalid value for %s: %s (OP:YYYY-MM-DDThh:mm:ssZ, OP one of "
                          "gt, gte, lt, lte, eq, neq)",
                          name, v);
    strftime(out->at, sizeof out->at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

static bool time_ok(const struct image_time_filter *f, const json_t *img, const char *key)
{
    if (!f->op)
        return true;
    const char *v = json_string_value(json_object_get(img, key));
    if (!v)
        return false;
    int c = strcmp(v, f->at);
    switch (f->op) {
    case 1: return c > 0;
    case 2: return c >= 0;
    case 3: return c < 0;
    case 4: return c <= 0;
    case 5: return c == 0;
    default: return c != 0;
    }
}

int image_query_parse(struct image_query *q, const char *(*get)(void *ctx, const char *name),
                      void *ctx, struct image_err *err)
{
    static __thread char sortbuf[256];
    memset(q, 0, sizeof *q);
    q->name = get(ctx, "name");
    q->status = get(ctx, "status");
    q->visibility = get(ctx, "visibility");
    q->owner = get(ctx, "owner");
    q->member_status = get(ctx, "member_status");
    q->os_hidden = get(ctx, "os_hidden");
    q->marker = get(ctx, "marker");
    const char *tag = get(ctx, "tag");
    if (tag)
        q->tags[q->ntags++] = tag;
    q->disk_format = get(ctx, "disk_format");
    q->container_format = get(ctx, "container_format");
    q->protected_ = get(ctx, "protected");
    if (q->protected_ && image_bool_text(q->protected_) < 0)
        return image_fail(err, -EINVAL, "Invalid value for protected: %s", q->protected_);
    static const char *const sizes[] = { "size", "size_min", "size_max" };
    long long *dst[] = { &q->size, &q->size_min, &q->size_max };
    for (int i = 0; i < 3; i++) {
        const char *v = get(ctx, sizes[i]);
        *dst[i] = -1;
        if (!v)
            continue;
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end || n < 0)
            return image_fail(err, -EINVAL, "Invalid value for %s: %s", sizes[i], v);
        *dst[i] = n;
    }

    if (q->visibility && strcmp(q->visibility, "all") != 0 &&
        strcmp(q->visibility, "public") != 0 && strcmp(q->visibility, "private") != 0 &&
        strcmp(q->visibility, "shared") != 0 && strcmp(q->visibility, "community") != 0)
        return image_fail(err, -EINVAL, "Invalid visibility value: %s", q->visibility);
    if (q->member_status && strcmp(q->member_status, "all") != 0 &&
        strcmp(q->member_status, "pending") != 0 && strcmp(q->member_status, "accepted") != 0 &&
        strcmp(q->member_status, "rejected") != 0)
        return image_fail(err, -EINVAL, "Invalid status value: %s", q->member_status);
    if (q->os_hidden && image_bool_text(q->os_hidden) < 0)
        return image_fail(err, -EINVAL, "Invalid value for os_hidden: %s", q->os_hidden);
    if (parse_time(get(ctx, "created_at"), "created_at", &q->created, err) < 0 ||
        parse_time(get(ctx, "updated_at"), "updated_at", &q->updated, err) < 0)
        return -1;

    q->limit = IMAGE_LIST_DEFAULT_LIMIT;
    const char *limit = get(ctx, "limit");
    if (limit) {
        char *end;
        errno = 0;
        long v = strtol(limit, &end, 10);
        if (errno || end == limit || *end || v < 0)
            return image_fail(err, -EINVAL, "limit param must be an integer");
        q->limit = v > IMAGE_LIST_MAX_LIMIT ? IMAGE_LIST_MAX_LIMIT : v;
    }

    const char *sort = get(ctx, "sort");
    const char *sort_key = get(ctx, "sort_key");
    const char *sort_dir = get(ctx, "sort_dir");
    if (sort && (sort_key || sort_dir))
        return image_fail(err, -EINVAL,
                          "The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.");
    if (sort)
        return parse_sort(q, sort, sortbuf, sizeof sortbuf, err);
    if (sort_key) {
        if (!valid_sort_key(sort_key))
            return image_fail(err, -EINVAL, "Invalid sort key: %s.", sort_key);
        q->sort_keys[0] = sort_key;
        q->nsort = 1;
    }
    bool desc = true;
    if (sort_dir && parse_dir(sort_dir, &desc, err) < 0)
        return -1;
    if (q->nsort)
        q->sort_desc[0] = desc;
    else if (sort_dir) {
        q->sort_keys[0] = "created_at";
        q->sort_desc[0] = desc;
        q->nsort = 1;
    }
    return 0;
}

static bool str_eq(const json_t *img, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(img, key));
    return v && strcmp(v, want) == 0;
}

static bool member_ok(const struct image_query *q, const char *member_status)
{
    const char *want = q->member_status ? q->member_status : "accepted";
    if (!member_status)
        return false;
    return strcmp(want, "all") == 0 || strcmp(want, member_status) == 0;
}

/* Glance's listing rules: by default one's own images, public ones and
 * shared ones one has accepted; community images only when asked for. */
static bool visible_in_list(const struct image_query *q, const json_t *img,
                            const struct image_caller *who, const char *member_status)
{
    const char *vis = json_string_value(json_object_get(img, "visibility"));
    const char *owner = json_string_value(json_object_get(img, "owner"));
    bool mine = owner && who->project_id && strcmp(owner, who->project_id) == 0;
    const char *want = q->visibility;

    if (want && strcmp(want, "all") != 0 && strcmp(vis, want) != 0)
        return false;
    if (who->is_admin)
        return true;
    if (mine || strcmp(vis, "public") == 0)
        return true;
    if (strcmp(vis, "community") == 0)
        return want != NULL; /* visibility=community or all */
    if (strcmp(vis, "shared") == 0)
        return member_ok(q, member_status);
    return false;
}

bool image_query_match(const struct image_query *q, const json_t *img,
                       const struct image_caller *who, const char *member_status)
{
    if (!visible_in_list(q, img, who, member_status))
        return false;
    if (q->name && !str_eq(img, "name", q->name))
        return false;
    if (q->status && !str_eq(img, "status", q->status))
        return false;
    if (q->owner && !str_eq(img, "owner", q->owner))
        return false;
    if (q->disk_format && !str_eq(img, "disk_format", q->disk_format))
        return false;
    if (q->container_format && !str_eq(img, "container_format", q->container_format))
        return false;
    if (q->protected_ &&
        json_is_true(json_object_get(img, "protected")) != (image_bool_text(q->protected_) == 1))
        return false;
    json_t *size = json_object_get(img, "size");
    long long have = json_is_integer(size) ? (long long)json_integer_value(size) : -1;
    if ((q->size >= 0 && have != q->size) || (q->size_min >= 0 && have < q->size_min) ||
        (q->size_max >= 0 && (have < 0 || have > q->size_max)))
        return false;
    if (!time_ok(&q->created, img, "created_at") || !time_ok(&q->updated, img, "updated_at"))
        return false;
    bool hidden = json_is_true(json_object_get(img, "os_hidden"));
    bool want_hidden = q->os_hidden && image_bool_text(q->os_hidden) == 1;
    if (hidden != want_hidden)
        return false;
    for (size_t i = 0; i < q->ntags; i++)
        if (!image_tags_has(json_object_get(img, "tags"), q->tags[i]))
            return false;
    return true;
}

/* Compare one field: null sorts before anything, numbers by value,
 * strings by bytes. */
static int cmp_field(const json_t *a, const json_t *b)
{
    bool an = !a || json_is_null(a), bn = !b || json_is_null(b);
    if (an || bn)
        return an == bn ? 0 : an ? -1 : 1;
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (!x || !y)
        return 0;
    return strcmp(x, y);
}

static __thread const struct image_query *sort_query;

static int cmp_images(const void *pa, const void *pb)
{
    const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
    const struct image_query *q = sort_query;
    for (size_t i = 0; i < q->nsort; i++) {
        int c = cmp_field(json_object_get(a, q->sort_keys[i]), json_object_get(b, q->sort_keys[i]));
        if (c)
            return q->sort_desc[i] ? -c : c;
    }
    /* Glance's tie-breakers: created_at then id, descending. */
    int c = cmp_field(json_object_get(a, "created_at"), json_object_get(b, "created_at"));
    if (!c)
        c = cmp_field(json_object_get(a, "id"), json_object_get(b, "id"));
    return -c;
}

json_t *image_query_page(const struct image_query *q, json_t *matching, bool *more,
                         struct image_err *err)
{
    size_t n = json_array_size(matching);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        image_fail(err, -ENOMEM, "Out of memory.");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(matching, i);
    sort_query = q;
    qsort(v, n, sizeof *v, cmp_images);

    size_t start = 0;
    if (q->marker) {
        size_t i;
        for (i = 0; i < n; i++)
            if (str_eq(v[i], "id", q->marker))
                break;
        if (i == n) {
            free(v);
            image_fail(err, -EINVAL, "Invalid marker. Image %s could not be found.", q->marker);
            return NULL;
        }
        start = i + 1;
    }
    json_t *page = json_array();
    size_t end = start + (size_t)q->limit;
    if (end > n)
        end = n;
    for (size_t i = start; i < end; i++)
        json_array_append(page, v[i]);
    *more = end < n;
    free(v);
    return page;
}
