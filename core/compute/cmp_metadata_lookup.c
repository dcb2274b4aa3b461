/* Paths of the metadata service (compute_metadata_lookup): Nova's two
 * layouts and their directory listings (one entry a line, directories
 * with a trailing '/'), every dated version answering as "latest". */
#include "core/compute/cmp_internal.h"
#include "core/compute/cmp_md_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_json = "application/json", *const type_text = "text/plain";

static bool in(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return n == 6 && memcmp(s, "latest", 6) == 0;
}

static int give(const void *data, size_t len, const char *type, char **out, size_t *olen,
                const char **otype)
{
    char *b = malloc(len + 1);
    if (!b)
        return -ENOMEM;
    memcpy(b, data, len);
    b[len] = '\0';
    *out = b;
    *olen = len;
    *otype = type;
    return 0;
}

static int give_str(const char *s, const char *type, char **out, size_t *olen, const char **otype)
{
    return give(s, strlen(s), type, out, olen, otype);
}

/* "a\nb\n...\nlatest" */
static int versions(const char *const *list, char **out, size_t *olen, const char **otype)
{
    char buf[512] = "";
    for (; *list; list++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s\n", *list);
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "latest");
    return give_str(buf, type_text, out, olen, otype);
}

/* The files of an OpenStack version, as Nova lists them. */
static int openstack_listing(const struct compute_metadata *md, const char *v, size_t vl,
                             char **out, size_t *olen, const char **otype)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%.*s", (int)vl, v);
    bool latest = strcmp(ver, "latest") == 0;
    char buf[256] = "meta_data.json";
    if (md->user_data)
        strcat(buf, "\nuser_data");
    if (latest || strcmp(ver, "2013-04-04") >= 0)
        strcat(buf, "\npassword");
    if (latest || strcmp(ver, "2013-10-17") >= 0)
        strcat(buf, "\nvendor_data.json");
    if (latest || strcmp(ver, "2015-10-15") >= 0)
        strcat(buf, "\nnetwork_data.json");
    if (latest || strcmp(ver, "2016-10-06") >= 0)
        strcat(buf, "\nvendor_data2.json");
    return give_str(buf, type_text, out, olen, otype);
}

static int openstack_file(const struct compute_metadata *md, const char *name, char **out,
                          size_t *olen, const char **otype)
{
    if (!strcmp(name, "meta_data.json"))
        return give_str(md->meta_data, type_json, out, olen, otype);
    if (!strcmp(name, "network_data.json"))
        return give_str(md->network_data, type_json, out, olen, otype);
    if (!strcmp(name, "vendor_data.json"))
        return give_str(md->vendor_data, type_json, out, olen, otype);
    if (!strcmp(name, "vendor_data2.json"))
        return give_str(md->vendor_data2, type_json, out, olen, otype);
    if (!strcmp(name, "password")) /* no password was ever posted */
        return give_str("", type_text, out, olen, otype);
    if (!strcmp(name, "user_data") && md->user_data)
        return give(md->user_data, md->user_data_len, type_text, out, olen, otype);
    return -ENOENT;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A node of the EC2 tree: a file, or a listing of its keys (sorted;
 * public keys as "0=name", Nova's way). */
static int ec2_node(const json_t *node, char **out, size_t *olen, const char **otype)
{
    if (json_is_string(node))
        return give_str(json_string_value(node), type_text, out, olen, otype);
    if (!json_is_object(node))
        return -ENOENT;
    const char *keys[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)node, k, v)
        if (k[0] != '_' && n < 64)
            keys[n++] = k;
    qsort(keys, n, sizeof keys[0], by_key);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_object_get(node, keys[i]);
        const char *label = json_string_value(json_object_get(c, "_name"));
        fprintf(f, "%s%s%s", i ? "\n" : "", label ? label : keys[i],
                json_is_object(c) && !label ? "/" : "");
    }
    fclose(f);
    *out = text;
    *olen = len;
    *otype = type_text;
    return 0;
}

static int ec2(const struct compute_metadata *md, const char *rest, char **out, size_t *olen,
               const char **otype)
{
    if (!*rest)
        return give_str(md->user_data ? "meta-data/\nuser-data" : "meta-data/", type_text, out,
                        olen, otype);
    if (!strcmp(rest, "user-data"))
        return md->user_data ? give(md->user_data, md->user_data_len, type_text, out, olen, otype)
                             : -ENOENT;
    if (strncmp(rest, "meta-data", 9) != 0 || (rest[9] && rest[9] != '/'))
        return -ENOENT;
    const json_t *node = md->ec2;
    const char *p = rest[9] ? rest + 10 : rest + 9;
    while (*p) {
        size_t n = strcspn(p, "/");
        char key[128];
        if (n >= sizeof key || p[0] == '_')
            return -ENOENT;
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        node = json_object_get(node, key);
        if (!node)
            return -ENOENT;
        p += n + (p[n] == '/');
    }
    return ec2_node(node, out, olen, otype);
}

int compute_metadata_lookup(const struct compute_metadata *md, const char *path, char **out,
                            size_t *len, const char **type)
{
    char p[512];
    while (*path == '/')
        path++;
    size_t n = strlen(path);
    while (n && path[n - 1] == '/')
        n--;
    if (n >= sizeof p)
        return -ENOENT;
    memcpy(p, path, n);
    p[n] = '\0';
    if (!*p)
        return versions(cmp_md_ec2_versions, out, len, type);
    if (!strcmp(p, "openstack"))
        return versions(cmp_md_openstack_versions, out, len, type);
    if (!strncmp(p, "openstack/", 10)) {
        const char *v = p + 10, *slash = strchr(v, '/');
        size_t vl = slash ? (size_t)(slash - v) : strlen(v);
        if (!in(cmp_md_openstack_versions, v, vl))
            return -ENOENT;
        if (!slash)
            return openstack_listing(md, v, vl, out, len, type);
        return strchr(slash + 1, '/') ? -ENOENT : openstack_file(md, slash + 1, out, len, type);
    }
    const char *slash = strchr(p, '/');
    size_t vl = slash ? (size_t)(slash - p) : strlen(p);
    if (!in(cmp_md_ec2_versions, p, vl))
        return -ENOENT;
    return ec2(md, slash ? slash + 1 : "", out, len, type);
}
