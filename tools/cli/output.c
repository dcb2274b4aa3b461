/* Output: Field/Value and column tables as the openstack CLI prints them,
 * or -f json, or -f value; -c picks columns. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A cell's text: strings as is, null as "None", the rest as compact JSON. */
static char *cell(json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("None");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v))
        return strdup("True");
    if (json_is_false(v))
        return strdup("False");
    if (json_is_array(v)) {
        /* Lists of strings as "a, b" (tags). */
        size_t i;
        json_t *e;
        bool strings = true;
        json_array_foreach (v, i, e)
            strings = strings && json_is_string(e);
        if (strings) {
            size_t len = 1;
            json_array_foreach (v, i, e)
                len += json_string_length(e) + 2;
            char *s = calloc(1, len);
            json_array_foreach (v, i, e) {
                if (i)
                    strcat(s, ", ");
                strcat(s, json_string_value(e));
            }
            return s;
        }
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool wanted(struct cli *c, const char *heading, const char *key)
{
    if (!c->ncolumns)
        return true;
    for (size_t i = 0; i < c->ncolumns; i++)
        if (strcmp(c->columns[i], heading) == 0 || strcmp(c->columns[i], key) == 0)
            return true;
    return false;
}

static void rule(const size_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        putchar('+');
        for (size_t k = 0; k < w[i] + 2; k++)
            putchar('-');
    }
    puts("+");
}

static void row(char **cells, const size_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("| %-*s ", (int)w[i], cells[i]);
    puts("|");
}

/* Print a table of nrows x ncols cells (row 0 is the heading). */
static void table(char **cells, size_t nrows, size_t ncols)
{
    size_t w[32] = { 0 };
    for (size_t r = 0; r < nrows; r++)
        for (size_t k = 0; k < ncols; k++) {
            size_t l = strlen(cells[r * ncols + k]);
            if (l > w[k])
                w[k] = l;
        }
    rule(w, ncols);
    row(cells, w, ncols);
    rule(w, ncols);
    for (size_t r = 1; r < nrows; r++)
        row(cells + r * ncols, w, ncols);
    rule(w, ncols);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void out_show(struct cli *c, json_t *obj)
{
    size_t n = json_object_size(obj), m = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v)
        if (wanted(c, k, k))
            keys[m++] = k;
    qsort(keys, m, sizeof *keys, cmp_str);

    if (c->format == OUT_JSON) {
        json_t *o = json_object();
        for (size_t i = 0; i < m; i++)
            json_object_set(o, keys[i], json_object_get(obj, keys[i]));
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(s);
        free(s);
        json_decref(o);
    } else if (c->format == OUT_VALUE) {
        for (size_t i = 0; i < m; i++) {
            char *s = cell(json_object_get(obj, keys[i]));
            puts(s);
            free(s);
        }
    } else {
        char **cells = calloc(2 * (m + 1), sizeof *cells);
        cells[0] = strdup("Field");
        cells[1] = strdup("Value");
        for (size_t i = 0; i < m; i++) {
            cells[2 * (i + 1)] = strdup(keys[i]);
            cells[2 * (i + 1) + 1] = cell(json_object_get(obj, keys[i]));
        }
        table(cells, m + 1, 2);
        for (size_t i = 0; i < 2 * (m + 1); i++)
            free(cells[i]);
        free(cells);
    }
    free(keys);
}

void out_list(struct cli *c, json_t *rows, const char *const *headings, const char *const *keys,
              size_t ncols)
{
    size_t cols[32], m = 0;
    for (size_t k = 0; k < ncols && m < 32; k++)
        if (wanted(c, headings[k], keys[k]))
            cols[m++] = k;
    size_t nrows = json_array_size(rows);

    if (c->format == OUT_JSON) {
        json_t *out = json_array();
        size_t i;
        json_t *r;
        json_array_foreach (rows, i, r) {
            json_t *o = json_object();
            for (size_t k = 0; k < m; k++) {
                json_t *v = json_object_get(r, keys[cols[k]]);
                json_object_set(o, headings[cols[k]], v ? v : json_null());
            }
            json_array_append_new(out, o);
        }
        char *s = json_dumps(out, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(out);
        return;
    }
    char **cells = calloc((nrows + 1) * (m ? m : 1), sizeof *cells);
    for (size_t k = 0; k < m; k++)
        cells[k] = strdup(headings[cols[k]]);
    for (size_t r = 0; r < nrows; r++)
        for (size_t k = 0; k < m; k++)
            cells[(r + 1) * m + k] = cell(json_object_get(json_array_get(rows, r), keys[cols[k]]));
    if (c->format == OUT_VALUE) {
        for (size_t r = 1; r <= nrows; r++) {
            for (size_t k = 0; k < m; k++)
                printf("%s%s", k ? " " : "", cells[r * m + k]);
            putchar('\n');
        }
    } else if (m) {
        table(cells, nrows + 1, m);
    }
    for (size_t i = 0; i < (nrows + 1) * m; i++)
        free(cells[i]);
    free(cells);
}
