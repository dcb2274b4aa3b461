/* The admin's credentials, as the OpenStack clients read them: an openrc
 * to source, and a clouds.yaml (cloud "picostack") for `openstack
 * --os-cloud picostack`, openstacksdk, Ansible and Terraform. */
#include "api/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* dir/name, 0600, through a synced temporary file. */
static int write_private(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? -errno : -EIO;
            close(fd);
            unlink(tmp);
            return e;
        }
        done += (size_t)n;
    }
    int rc = fsync(fd) < 0 ? -errno : 0;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

static int write_openrc(const struct daemon_creds *c)
{
    char *text = NULL;
    char cacert[PATH_MAX + 32] = "";
    if (c->ca_file)
        snprintf(cacert, sizeof(cacert), "export OS_CACERT=%s\n", c->ca_file);
    if (asprintf(&text,
                 "# picostack admin credentials (source this file)\n"
                 "export OS_AUTH_URL=%s\n"
                 "export OS_IDENTITY_API_VERSION=3\n"
                 "export OS_USERNAME=admin\n"
                 "export OS_PASSWORD=%s\n"
                 "export OS_PROJECT_NAME=admin\n"
                 "export OS_USER_DOMAIN_ID=default\n"
                 "export OS_USER_DOMAIN_NAME=Default\n"
                 "export OS_PROJECT_DOMAIN_ID=default\n"
                 "export OS_PROJECT_DOMAIN_NAME=Default\n"
                 "export OS_REGION_NAME=RegionOne\n"
                 "%s",
                 c->auth_url, c->password, cacert) < 0)
        return -ENOMEM;
    int rc = write_private(c->data_dir, "admin-openrc", text);
    free(text);
    return rc;
}

/* The password is URL-safe base64 (identity_new_password): nothing in it
 * needs escaping inside YAML's double quotes; neither do our paths. */
static int write_clouds_yaml(const struct daemon_creds *c)
{
    char *text = NULL;
    char cacert[PATH_MAX + 32] = "";
    if (c->ca_file)
        snprintf(cacert, sizeof(cacert), "    cacert: \"%s\"\n", c->ca_file);
    if (asprintf(&text,
                 "# written by picostack (picostackd's first start; the admin's credentials)\n"
                 "# openstack --os-cloud picostack ...\n"
                 "clouds:\n"
                 "  picostack:\n"
                 "    auth:\n"
                 "      auth_url: \"%s\"\n"
                 "      username: admin\n"
                 "      password: \"%s\"\n"
                 "      project_name: admin\n"
                 "      user_domain_name: Default\n"
                 "      project_domain_name: Default\n"
                 "    identity_api_version: 3\n"
                 "    region_name: RegionOne\n"
                 "    interface: public\n"
                 "%s",
                 c->auth_url, c->password, cacert) < 0)
        return -ENOMEM;
    int rc = write_private(c->data_dir, "clouds.yaml", text);
    free(text);
    return rc;
}

int daemon_write_credentials(const struct daemon_creds *c)
{
    int rc = write_openrc(c);
    const char *what = "admin-openrc";
    if (!rc) {
        rc = write_clouds_yaml(c);
        what = "clouds.yaml";
    }
    if (rc < 0)
        fprintf(stderr, "picostackd: cannot write %s/%s: %s\n", c->data_dir, what, strerror(-rc));
    return rc;
}
