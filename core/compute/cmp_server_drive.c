/* A server's config drive: the metadata documents (cmp_metadata.c) written
 * as an ISO 9660 image labelled config-2, made afresh at each start (so an
 * interface attached since is in its network_data.json) and attached as the
 * last disk, read-only. */
#include "core/compute/cmp_internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cmp_config_drive_path(const struct compute *c, const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s/compute/config-drives/%s.iso", c->data_dir, id);
}

static int make_dirs(const struct compute *c)
{
    char d[2100];
    snprintf(d, sizeof d, "%s/compute", c->data_dir);
    if (mkdir(d, 0700) && errno != EEXIST)
        return -errno;
    snprintf(d, sizeof d, "%s/compute/config-drives", c->data_dir);
    if (mkdir(d, 0700) && errno != EEXIST)
        return -errno;
    return 0;
}

int cmp_config_drive_make(struct compute *c, json_t *rec, char *why, size_t wlen)
{
    if (!json_is_true(json_object_get(rec, "config_drive")))
        return 0;
    const char *id = json_string_value(json_object_get(rec, "id"));
    char path[2200];
    cmp_config_drive_path(c, id, path, sizeof path);
    json_t *ports = NULL;
    struct store_txn *t;
    int rc = make_dirs(c);
    if (!rc && !(rc = store_begin(c->store, false, &t))) {
        rc = compute_metadata_ports(t, c->host.net, rec, &ports);
        store_abort(t);
    }
    struct compute_metadata *md = NULL;
    struct compute_err err = { "" };
    if (!rc)
        rc = compute_metadata_build(rec, ports, time(NULL), &md, &err);
    if (!rc)
        rc = compute_config_drive_write(md, path, &err);
    compute_metadata_free(md);
    json_decref(ports);
    if (rc) {
        snprintf(why, wlen, "config drive: %s", err.msg[0] ? err.msg : strerror(-rc));
        return rc;
    }
    return json_object_set_new(rec, "config_drive_path", json_string(path)) ? -ENOMEM : 0;
}

void cmp_config_drive_remove(const struct compute *c, const char *id)
{
    char path[2200];
    cmp_config_drive_path(c, id, path, sizeof path);
    if (unlink(path) && errno != ENOENT)
        fprintf(stderr, "picostackd: compute: removing %s: %s\n", path, strerror(errno));
}
