/* Flavor commands (Nova's /flavors): list, show, create, delete. Tables
 * as the openstack CLI prints them. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A flavor as `openstack flavor show` prints it: properties (extra specs)
 * under "properties", the extension fields under their short names. */
static json_t *flavor_view(json_t *f)
{
    json_t *v = json_deep_copy(f);
    json_object_del(v, "links");
    json_t *e = json_object_get(v, "OS-FLV-EXT-DATA:ephemeral");
    if (e)
        json_object_set(v, "ephemeral", e);
    json_t *p = json_object_get(v, "os-flavor-access:is_public");
    if (p)
        json_object_set(v, "is_public", p);
    json_object_del(v, "OS-FLV-EXT-DATA:ephemeral");
    json_object_del(v, "os-flavor-access:is_public");
    json_t *specs = json_object_get(v, "extra_specs");
    json_object_set_new(v, "properties", specs ? json_incref(specs) : json_object());
    json_object_del(v, "extra_specs");
    return v;
}

static int flavor_list(struct cli *c, int argc, char **argv)
{
    bool all = take_flag(&argc, argv, "--all"), priv = take_flag(&argc, argv, "--private");
    bool is_long = take_flag(&argc, argv, "--long");
    take_flag(&argc, argv, "--public");
    if (argc != 0)
        return usage_error("usage: flavor list [--all|--public|--private] [--long]");
    const char *path = all    ? "/flavors/detail?is_public=None"
                       : priv ? "/flavors/detail?is_public=false"
                              : "/flavors/detail";
    json_t *j = compute_call(c, "GET", path, NULL, "flavor list", false, NULL);
    if (!j)
        return 1;
    json_t *rows = json_array(), *f;
    size_t i;
    json_array_foreach (json_object_get(j, "flavors"), i, f)
        json_array_append_new(rows, flavor_view(f));
    static const char *const h[] = { "ID",    "Name",      "RAM",  "Disk",       "Ephemeral",
                                     "VCPUs", "Is Public", "Swap", "RXTX Factor" };
    static const char *const k[] = { "id",    "name",      "ram",  "disk",       "ephemeral",
                                     "vcpus", "is_public", "swap", "rxtx_factor" };
    out_list(c, rows, h, k, is_long ? 9 : 7);
    json_decref(rows);
    json_decref(j);
    return 0;
}

static int flavor_show(struct cli *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("usage: flavor show FLAVOR");
    json_t *f = find_flavor(c, argv[0]);
    if (!f)
        return 1;
    json_t *v = flavor_view(f);
    out_show(c, v);
    json_decref(v);
    json_decref(f);
    return 0;
}

/* A whole number option (>= min), or -1 (printed). */
static long long number(const char *opt, const char *v, long long min)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < min) {
        usage_error("%s wants a whole number >= %lld, not '%s'", opt, min, v);
        return -1;
    }
    return n;
}

/* Adds --name N to body as an integer; false on a bad value. */
static bool int_opt(int *argc, char **argv, const char *opt, const char *key, long long dflt,
                    long long min, json_t *body)
{
    const char *v = take_opt(argc, argv, opt);
    long long n = v ? number(opt, v, min) : dflt;
    if (n < 0)
        return false;
    json_object_set_new(body, key, json_integer(n));
    return true;
}

static int flavor_create(struct cli *c, int argc, char **argv)
{
    const char *id = take_opt(&argc, argv, "--id"), *desc = take_opt(&argc, argv, "--description");
    bool priv = take_flag(&argc, argv, "--private");
    take_flag(&argc, argv, "--public");
    json_t *body = json_object(), *specs = json_object();
    bool ok = int_opt(&argc, argv, "--ram", "ram", 256, 1, body) &&
              int_opt(&argc, argv, "--disk", "disk", 0, 0, body) &&
              int_opt(&argc, argv, "--vcpus", "vcpus", 1, 1, body) &&
              int_opt(&argc, argv, "--ephemeral", "OS-FLV-EXT-DATA:ephemeral", 0, 0, body) &&
              int_opt(&argc, argv, "--swap", "swap", 0, 0, body) &&
              take_properties(&argc, argv, specs) == 0;
    if (!ok || argc != 1) {
        json_decref(body);
        json_decref(specs);
        return ok ? usage_error("usage: flavor create NAME [--ram MiB] [--disk GiB] [--vcpus N] "
                                "[--ephemeral GiB] [--swap MiB] [--id ID] [--private] "
                                "[--property k=v]...")
                  : 2;
    }
    json_object_set_new(body, "name", json_string(argv[0]));
    json_object_set_new(body, "os-flavor-access:is_public", json_boolean(!priv));
    if (id)
        json_object_set_new(body, "id", json_string(id));
    if (desc)
        json_object_set_new(body, "description", json_string(desc));
    json_t *j = compute_call(c, "POST", "/flavors", json_pack("{s:o}", "flavor", body),
                             "flavor create", false, NULL);
    json_t *f = json_incref(json_object_get(j, "flavor"));
    json_decref(j);
    int rc = f ? 0 : 1;
    if (f && json_object_size(specs)) {
        char path[512];
        snprintf(path, sizeof path, "/flavors/%s/os-extra_specs",
                 json_string_value(json_object_get(f, "id")));
        json_t *s = compute_call(c, "POST", path, json_pack("{s:O}", "extra_specs", specs),
                                 "flavor create: properties", false, NULL);
        rc = s ? 0 : 1;
        if (s)
            json_object_set(f, "extra_specs", json_object_get(s, "extra_specs"));
        json_decref(s);
    }
    json_decref(specs);
    if (f) {
        json_t *v = flavor_view(f);
        out_show(c, v);
        json_decref(v);
    }
    json_decref(f);
    return rc;
}

static int flavor_delete(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("usage: flavor delete FLAVOR...");
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        json_t *f = find_flavor(c, argv[i]);
        if (!f) {
            rc = 1;
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/flavors/%s", json_string_value(json_object_get(f, "id")));
        json_t *j = compute_call(c, "DELETE", path, NULL, "flavor delete", false, NULL);
        rc |= !j;
        json_decref(j);
        json_decref(f);
    }
    return rc;
}

int cmd_flavor(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "list") == 0)
        return flavor_list(c, argc, argv);
    if (strcmp(sub, "show") == 0)
        return flavor_show(c, argc, argv);
    if (strcmp(sub, "create") == 0)
        return flavor_create(c, argc, argv);
    if (strcmp(sub, "delete") == 0)
        return flavor_delete(c, argc, argv);
    return usage_error("unknown flavor command '%s'", sub);
}
