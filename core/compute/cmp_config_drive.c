/* The config drive (compute_config_drive_write): the metadata documents
 * as files of an ISO 9660 image labelled "config-2", the layout Nova's
 * configdrive writes and cloud-init's ConfigDrive datasource reads. */
#include "core/compute/cmp_internal.h"
#include "core/compute/cmp_md_internal.h"
#include "core/iso9660/iso9660.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int add(struct iso9660 *iso, const char *dir, const char *name, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return iso9660_add_file(iso, path, data, len);
}

static int add_text(struct iso9660 *iso, const char *dir, const char *name, const char *text)
{
    return add(iso, dir, name, text, strlen(text));
}

static int fill(struct iso9660 *iso, const struct compute_metadata *md)
{
    int rc = 0;
    const char *const *v = cmp_md_openstack_versions;
    for (int i = 0; !rc; i++) {
        const char *ver = v[i] ? v[i] : "latest";
        char dir[48];
        snprintf(dir, sizeof dir, "openstack/%s", ver);
        rc = add_text(iso, dir, "meta_data.json", md->meta_data);
        if (!rc && md->user_data)
            rc = add(iso, dir, "user_data", md->user_data, md->user_data_len);
        if (!rc)
            rc = add_text(iso, dir, "vendor_data.json", md->vendor_data);
        if (!rc)
            rc = add_text(iso, dir, "network_data.json", md->network_data);
        if (!rc)
            rc = add_text(iso, dir, "vendor_data2.json", md->vendor_data2);
        if (!v[i])
            break;
    }
    static const char *const ec2_dirs[] = { "ec2/2009-04-04", "ec2/latest" };
    for (int i = 0; i < 2 && !rc; i++) {
        rc = add_text(iso, ec2_dirs[i], "meta-data.json", md->ec2_json);
        if (!rc && md->user_data)
            rc = add(iso, ec2_dirs[i], "user-data", md->user_data, md->user_data_len);
    }
    return rc;
}

int compute_config_drive_write(const struct compute_metadata *md, const char *path,
                               struct compute_err *err)
{
    char tmp[4096];
    if (!md || !path || snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return cmp_fail(err, -EINVAL, "Bad config drive path.");
    struct iso9660 *iso;
    int rc = iso9660_new("config-2", md->now, &iso);
    if (rc)
        return rc;
    rc = fill(iso, md);
    if (rc) {
        iso9660_free(iso);
        return cmp_fail(err, rc, "Cannot lay out the config drive: %s", strerror(-rc));
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        rc = -errno;
        iso9660_free(iso);
        return cmp_fail(err, rc, "Cannot create %s: %s", tmp, strerror(-rc));
    }
    rc = iso9660_write(iso, fd);
    iso9660_free(iso);
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return cmp_fail(err, rc, "Cannot write the config drive %s: %s", path, strerror(-rc));
    }
    return 0;
}
