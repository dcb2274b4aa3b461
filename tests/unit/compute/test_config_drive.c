/* The config drive (compute_config_drive_write) judged by real peers:
 *   test_config_drive isoinfo   isoinfo -d/-R -l/-R -x and blkid -p: the
 *                               label config-2, type iso9660, every file
 *                               of Nova's layout with the bytes the
 *                               metadata service answers for it;
 *   test_config_drive mount     the Linux kernel: mount -o loop,ro, every
 *                               file compared, names lowercase and long
 *                               (run through the with-kvm harness where
 *                               this kernel has no isofs).
 * Both: a write into a missing directory fails cleanly, nothing left. */
#include "core/compute/compute.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    char *text = NULL;
    size_t len = 0, n;
    char buf[4096];
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        text = realloc(text, len + n + 1);
        REQUIRE(text != NULL);
        memcpy(text + len, buf, n);
        len += n;
    }
    CHECK(pclose(p) == 0, "%s", cmd);
    if (!text)
        return calloc(1, 1);
    text[len] = '\0';
    return text;
}

static struct compute_metadata *make_docs(void)
{
    const char *script = "#cloud-config\nruncmd:\n - echo from-the-config-drive\n";
    char b64[256];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)script, strlen(script),
                      sodium_base64_VARIANT_ORIGINAL);
    json_t *server = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:{s:s}, s:[{s:s, s:s, s:s, "
        "s:[{s:s, s:s}]}]}",
        "id", "0b0e2a86-5f7d-4bd5-9a55-1d4f6f0c3a11", "name", "drive-vm", "project_id", "p1",
        "key_name", "k", "public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrive k@h",
        "user_data", b64, "metadata", "a", "b", "availability_zone", "nova", "flavor", "name",
        "tiny", "ports", "port_id", "p", "network_id", "n", "mac_address", "fa:16:3e:12:34:56",
        "fixed_ips", "ip_address", "10.0.0.9", "subnet_id", "s");
    /* The ports' facts as compute_metadata_ports gives them. */
    json_t *facts =
        json_pack("[{s:{s:s, s:s, s:[{s:s, s:s}]}, s:{s:s, s:i}, s:[{s:s, s:s, s:b}]}]", "port",
                  "id", "8e3c1d2a-0000-4000-8000-00000000000a", "mac_address", "fa:16:3e:12:34:56",
                  "fixed_ips", "ip_address", "10.0.0.9", "subnet_id", "s", "network", "id", "n",
                  "mtu", 1500, "subnets", "id", "s", "cidr", "10.0.0.0/24", "enable_dhcp", 1);
    REQUIRE(server && facts);
    struct compute_metadata *md;
    struct compute_err err = { 0 };
    REQUIRE_OK(compute_metadata_build(server, facts, 1700000000, &md, &err));
    json_decref(server);
    json_decref(facts);
    return md;
}

/* The drive's files and the service paths that answer the same bytes. */
static const char *const files[][2] = {
    { "openstack/latest/meta_data.json", "openstack/latest/meta_data.json" },
    { "openstack/latest/user_data", "openstack/latest/user_data" },
    { "openstack/latest/network_data.json", "openstack/latest/network_data.json" },
    { "openstack/latest/vendor_data.json", "openstack/latest/vendor_data.json" },
    { "openstack/latest/vendor_data2.json", "openstack/latest/vendor_data2.json" },
    { "openstack/2012-08-10/meta_data.json", "openstack/2012-08-10/meta_data.json" },
    { "openstack/2018-08-27/network_data.json", "openstack/2018-08-27/network_data.json" },
    { "openstack/2020-10-14/user_data", "openstack/latest/user_data" },
    { "ec2/latest/user-data", "latest/user-data" },
    { "ec2/2009-04-04/user-data", "latest/user-data" },
};

/* Compares the file at root/f with what the service answers. */
static void compare(const struct compute_metadata *md, const char *root)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096], *got = NULL, *want = NULL;
        size_t gl = 0, wl = 0;
        const char *type;
        snprintf(path, sizeof path, "%s/%s", root, files[i][0]);
        CHECK(t_read_file(path, &got, &gl) == 0, "%s", path);
        REQUIRE_OK(compute_metadata_lookup(md, files[i][1], &want, &wl, &type));
        CHECK(got && gl == wl && memcmp(got, want, gl) == 0, "%s", files[i][0]);
        free(got);
        free(want);
    }
    /* The EC2 document on the drive is JSON with the same facts. */
    char path[4096], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/ec2/latest/meta-data.json", root);
    REQUIRE(t_read_file(path, &text, &len) == 0);
    json_t *j = json_loads(text, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "local-ipv4")), "10.0.0.9");
    CHECK_STR(json_string_value(json_object_get(j, "instance-id")), "i-0b0e2a86");
    json_decref(j);
    free(text);
}

static void refusals(const struct compute_metadata *md, const char *dir)
{
    char path[4096];
    struct compute_err err = { 0 };
    snprintf(path, sizeof path, "%s/missing/disk.config", dir);
    CHECK(compute_config_drive_write(md, path, &err) == -ENOENT);
    CHECK_CONTAINS(err.msg, "missing");
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(access(path, F_OK) != 0);
}

static char *write_drive(const struct compute_metadata *md, const char *dir)
{
    static char path[4096];
    struct compute_err err = { 0 };
    snprintf(path, sizeof path, "%s/disk.config", dir);
    CHECK(compute_config_drive_write(md, path, &err) == 0, "%s", err.msg);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(st.st_size % 2048 == 0 && st.st_size > 0);
    return path;
}

static void with_isoinfo(const struct compute_metadata *md, const char *dir)
{
    const char *img = write_drive(md, dir);
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "blkid -p -o export '%s'", img);
    char *b = run(cmd);
    CHECK_CONTAINS(b, "LABEL=config-2\n");
    CHECK_CONTAINS(b, "TYPE=iso9660\n");
    free(b);
    snprintf(cmd, sizeof cmd, "isoinfo -d -i '%s'", img);
    char *d = run(cmd);
    CHECK_CONTAINS(d, "Volume id: config-2\n");
    CHECK_CONTAINS(d, "Rock Ridge signatures version 1 found");
    free(d);
    snprintf(cmd, sizeof cmd, "isoinfo -R -l -i '%s'", img);
    char *l = run(cmd);
    CHECK_CONTAINS(l, "Directory listing of /openstack/2016-06-30/");
    CHECK_CONTAINS(l, "Directory listing of /ec2/2009-04-04/");
    CHECK_CONTAINS(l, " network_data.json");
    free(l);
    /* Extract the tree the way a reader sees it, then compare. */
    char root[4096];
    snprintf(root, sizeof root, "%s/x", dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(cmd, sizeof cmd,
                 "mkdir -p \"$(dirname '%s/%s')\" && isoinfo -R -i '%s' -x '/%s' > '%s/%s'", root,
                 files[i][0], img, files[i][0], root, files[i][0]);
        CHECK(system(cmd) == 0, "%s", cmd);
    }
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/ec2/latest' && isoinfo -R -i '%s' -x "
             "/ec2/latest/meta-data.json > '%s/ec2/latest/meta-data.json'",
             root, img, root);
    CHECK(system(cmd) == 0);
    compare(md, root);
}

static void with_mount(const struct compute_metadata *md, const char *dir)
{
    const char *img = write_drive(md, dir);
    char mnt[4096], cmd[8192];
    snprintf(mnt, sizeof mnt, "%s/mnt", dir);
    REQUIRE(mkdir(mnt, 0755) == 0);
    snprintf(cmd, sizeof cmd, "mount -t iso9660 -o loop,ro '%s' '%s'", img, mnt);
    REQUIRE(system(cmd) == 0);
    compare(md, mnt);
    snprintf(cmd, sizeof cmd, "ls '%s/openstack/latest'", mnt);
    char *ls = run(cmd);
    CHECK_STR(ls, "meta_data.json\nnetwork_data.json\nuser_data\nvendor_data.json\n"
                  "vendor_data2.json\n");
    free(ls);
    snprintf(cmd, sizeof cmd, "touch '%s/openstack/x' 2>/dev/null", mnt);
    CHECK(system(cmd) != 0); /* read-only */
    snprintf(cmd, sizeof cmd, "umount '%s'", mnt);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2 && sodium_init() >= 0);
    const char *dir = t_tmpdir("picostack-config-drive");
    struct compute_metadata *md = make_docs();
    refusals(md, dir);
    if (strcmp(argv[1], "isoinfo") == 0)
        with_isoinfo(md, dir);
    else if (strcmp(argv[1], "mount") == 0)
        with_mount(md, dir);
    else
        REQUIRE(!"mode: isoinfo or mount");
    compute_metadata_free(md);
    return t_done("compute.config_drive");
}
