/* core/iso9660 judged by a real peer, genisoimage's isoinfo: the volume
 * descriptor (-d), the Rock Ridge listing (-R -l) and every file's bytes
 * extracted back (-R -x); names that collide in ISO 9660 form, a directory
 * that spans several sectors, files of 0, 1 and many sectors; and the
 * inputs it refuses. */
#include "core/iso9660/iso9660.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole stdout of a shell command (malloc'd). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    char *text = NULL;
    size_t cap = 0, len = 0, n;
    char buf[4096];
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        text = realloc(text, cap = len + n + 1);
        REQUIRE(text != NULL);
        memcpy(text + len, buf, n);
        len += n;
    }
    CHECK(pclose(p) == 0, "%s", cmd);
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    (void)cap;
    return text;
}

struct file {
    char path[160];
    unsigned char *data;
    size_t len;
};

static void test_refusals(void)
{
    struct iso9660 *iso;
    CHECK(iso9660_new("", 0, &iso) == -EINVAL);
    CHECK(iso9660_new("123456789012345678901234567890123", 0, &iso) == -EINVAL);
    REQUIRE_OK(iso9660_new("config-2", 0, &iso));
    CHECK(iso9660_add_file(iso, "", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "a//b", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "a/../b", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "./b", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "a/", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "a\nb", "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "1/2/3/4/5/6/7/8", "x", 1) == -EINVAL);
    char longname[128];
    memset(longname, 'n', 101);
    longname[101] = '\0';
    CHECK(iso9660_add_file(iso, longname, "x", 1) == -EINVAL);
    CHECK(iso9660_add_file(iso, "a/b", NULL, 1) == -EINVAL);
    REQUIRE_OK(iso9660_add_file(iso, "a/b", "x", 1));
    CHECK(iso9660_add_file(iso, "a/b", "y", 1) == -EEXIST);
    CHECK(iso9660_add_file(iso, "a", "y", 1) == -EEXIST);
    CHECK(iso9660_add_file(iso, "a/b/c", "y", 1) == -EEXIST);
    void *big = calloc(1, ISO9660_MAX_BYTES);
    REQUIRE(big != NULL);
    CHECK(iso9660_add_file(iso, "big", big, ISO9660_MAX_BYTES) == -EFBIG);
    free(big);
    int n = 0;
    char p[32];
    for (;;) {
        snprintf(p, sizeof p, "many/f%d", n);
        int rc = iso9660_add_file(iso, p, "", 0);
        if (rc) {
            CHECK(rc == -EINVAL);
            break;
        }
        n++;
    }
    CHECK(n == ISO9660_MAX_NODES - 3, "%d", n); /* root, a, a/b, many */
    int fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        CHECK(iso9660_write(iso, fd) == -ENOSPC);
        close(fd);
    }
    iso9660_free(iso);
}

static void test_peer(const char *dir)
{
    static struct file files[40];
    size_t nf = 0;
    const char *names[] = { "openstack/latest/meta_data.json",
                            "openstack/latest/vendor_data.json",
                            "openstack/latest/vendor_data2.json",
                            "openstack/2012-08-10/user_data",
                            "ec2/latest/meta-data.json",
                            "ec2/latest/user-data",
                            "empty",
                            "UPPER.Case.TXT",
                            "a name with spaces.txt",
                            "big/two-and-a-bit-sectors.bin" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++, nf++) {
        snprintf(files[nf].path, sizeof files[nf].path, "%s", names[i]);
        files[nf].len = strcmp(names[i], "empty") == 0 ? 0 : strstr(names[i], "big/") ? 4200 : 37;
    }
    /* One directory with long names enough to pass a sector of records. */
    for (int i = 0; i < 20; i++, nf++) {
        snprintf(files[nf].path, sizeof files[nf].path,
                 "long/a-rather-long-file-name-for-rock-ridge-number-%02d.json", i);
        files[nf].len = 100 + (size_t)i;
    }
    struct iso9660 *iso;
    REQUIRE_OK(iso9660_new("config-2", 1700000000, &iso));
    for (size_t i = 0; i < nf; i++) {
        files[i].data = malloc(files[i].len + 1);
        for (size_t b = 0; b < files[i].len; b++)
            files[i].data[b] = (unsigned char)(b * 7 + i);
        REQUIRE_OK(iso9660_add_file(iso, files[i].path, files[i].data, files[i].len));
    }
    char img[4096];
    snprintf(img, sizeof img, "%s/t.iso", dir);
    int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    size_t size = iso9660_size(iso);
    REQUIRE_OK(iso9660_write(iso, fd));
    CHECK_EQ((size_t)lseek(fd, 0, SEEK_END), size);
    close(fd);
    iso9660_free(iso);

    char cmd[20000];
    snprintf(cmd, sizeof cmd, "isoinfo -d -i '%s'", img);
    char *d = run(cmd);
    CHECK_CONTAINS(d, "Volume id: config-2\n");
    CHECK_CONTAINS(d, "Logical block size is: 2048");
    CHECK_CONTAINS(d, "Rock Ridge signatures version 1 found");
    char vs[64];
    snprintf(vs, sizeof vs, "Volume size is: %zu\n", size / 2048);
    CHECK_CONTAINS(d, vs);
    free(d);
    snprintf(cmd, sizeof cmd, "isoinfo -R -l -i '%s'", img);
    char *l = run(cmd);
    CHECK_CONTAINS(l, "Directory listing of /openstack/latest/");
    CHECK_CONTAINS(l, "Directory listing of /openstack/2012-08-10/");
    CHECK_CONTAINS(l, " vendor_data2.json");
    CHECK_CONTAINS(l, "-r--r--r--");
    CHECK_CONTAINS(l, "dr-xr-xr-x");
    free(l);
    /* The plain ISO names: both vendor files, distinct. */
    snprintf(cmd, sizeof cmd, "isoinfo -l -i '%s'", img);
    l = run(cmd);
    CHECK_CONTAINS(l, "VENDOR_DATA.JSON;1");
    CHECK_CONTAINS(l, "VENDOR_DATA2.JSON;1");
    free(l);
    for (size_t i = 0; i < nf; i++) {
        snprintf(cmd, sizeof cmd, "isoinfo -R -i '%s' -x '/%s' > '%s/out'", img, files[i].path,
                 dir);
        CHECK(system(cmd) == 0, "%s", cmd);
        snprintf(cmd, sizeof cmd, "%s/out", dir);
        char *got = NULL;
        size_t gl = 0;
        REQUIRE(t_read_file(cmd, &got, &gl) == 0);
        CHECK(gl == files[i].len && memcmp(got, files[i].data, gl) == 0, "%s: %zu bytes",
              files[i].path, gl);
        free(got);
        free(files[i].data);
    }
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-iso9660");
    test_refusals();
    test_peer(dir);
    return t_done("iso9660.unit");
}
