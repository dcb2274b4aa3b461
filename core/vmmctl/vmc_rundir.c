/* RUN/<id>/: the files that let a restarted daemon find its VMMs again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"

int vmc_fail(struct vmmctl_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Ids name folders: letters, digits, '-', '_' and '.', not "." or "..". */
bool vmc_valid_id(const char *id)
{
    size_t n = strnlen(id, 40);
    if (n == 0 || n >= 40 || !strcmp(id, ".") || !strcmp(id, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

int vmc_path(const struct vmmctl *v, const char *id, const char *name, char *buf, size_t len)
{
    int n = name ? snprintf(buf, len, "%s/%s/%s", v->run_dir, id, name)
                 : snprintf(buf, len, "%s/%s", v->run_dir, id);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Written to PATH.tmp, then renamed: a reader sees the old or the new. */
int vmc_write_file(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, data, len) != (ssize_t)len)
        rc = -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int vmc_read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return (int)n;
}

static json_t *spec_json(const struct vmm_spec *s)
{
    json_t *disks = json_array(), *nets = json_array();
    for (unsigned i = 0; i < s->ndisks; i++)
        json_array_append_new(disks,
                              json_pack("{s:s, s:s, s:b, s:s}", "object", s->disks[i].object,
                                        "path", s->disks[i].path, "read_only",
                                        s->disks[i].read_only, "serial", s->disks[i].serial));
    for (unsigned i = 0; i < s->nnets; i++) {
        char mac[18];
        const uint8_t *m = s->nets[i].mac;
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                 m[5]);
        json_array_append_new(nets, json_pack("{s:s, s:s, s:s}", "tap", s->nets[i].tap, "netns",
                                              s->nets[i].netns, "mac", mac));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:o, s:o, s:i, s:I, s:I}", "id", s->id,
                     "kernel", s->kernel, "initrd", s->initrd, "cmdline", s->cmdline, "firmware",
                     s->firmware, "cpus", (int)s->cpus, "mem_mib", (json_int_t)s->mem_mib, "disks",
                     disks, "nets", nets, "cpu_weight", (int)s->cpu_weight, "cpu_max_usec",
                     (json_int_t)s->cpu_max_usec, "io_weight", (json_int_t)s->io_weight);
}

int vmc_spec_save(const struct vmmctl *v, const struct vmm_spec *s)
{
    char path[4200];
    int rc = vmc_path(v, s->id, "spec.json", path, sizeof(path));
    json_t *j = rc ? NULL : spec_json(s);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (rc == 0 && !text)
        rc = -ENOMEM;
    if (rc == 0)
        rc = vmc_write_file(path, text, strlen(text));
    free(text);
    return rc;
}

static int copy_str(char *dst, size_t len, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strlen(s) >= len)
        return -EINVAL;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

static int spec_from_json(json_t *j, struct vmm_spec *s)
{
    memset(s, 0, sizeof(*s));
    json_t *disks = json_object_get(j, "disks"), *nets = json_object_get(j, "nets");
    int rc = copy_str(s->id, sizeof(s->id), j, "id") ||
             copy_str(s->kernel, sizeof(s->kernel), j, "kernel") ||
             copy_str(s->initrd, sizeof(s->initrd), j, "initrd") ||
             copy_str(s->cmdline, sizeof(s->cmdline), j, "cmdline");
    /* absent in the specs of VMMs started before firmware boot existed */
    if (!rc && json_object_get(j, "firmware"))
        rc = copy_str(s->firmware, sizeof(s->firmware), j, "firmware");
    if (rc || !json_is_array(disks) || !json_is_array(nets) ||
        json_array_size(disks) > VMMCTL_MAX_DISKS || json_array_size(nets) > VMMCTL_MAX_NETS)
        return -EINVAL;
    s->cpus = (unsigned)json_integer_value(json_object_get(j, "cpus"));
    s->mem_mib = (uint64_t)json_integer_value(json_object_get(j, "mem_mib"));
    s->cpu_weight = (unsigned)json_integer_value(json_object_get(j, "cpu_weight"));
    s->cpu_max_usec = (uint64_t)json_integer_value(json_object_get(j, "cpu_max_usec"));
    s->io_weight = (uint64_t)json_integer_value(json_object_get(j, "io_weight"));
    for (size_t i = 0; i < json_array_size(disks); i++) {
        json_t *d = json_array_get(disks, i);
        struct vmm_spec_disk *sd = &s->disks[i];
        if (copy_str(sd->object, sizeof(sd->object), d, "object") ||
            copy_str(sd->path, sizeof(sd->path), d, "path") ||
            copy_str(sd->serial, sizeof(sd->serial), d, "serial"))
            return -EINVAL;
        sd->read_only = json_is_true(json_object_get(d, "read_only"));
    }
    s->ndisks = (unsigned)json_array_size(disks);
    for (size_t i = 0; i < json_array_size(nets); i++) {
        json_t *n = json_array_get(nets, i);
        struct vmm_spec_net *sn = &s->nets[i];
        if (copy_str(sn->tap, sizeof(sn->tap), n, "tap") ||
            copy_str(sn->netns, sizeof(sn->netns), n, "netns") ||
            parse_mac(json_string_value(json_object_get(n, "mac")), sn->mac))
            return -EINVAL;
    }
    s->nnets = (unsigned)json_array_size(nets);
    return 0;
}

int vmc_spec_load(const struct vmmctl *v, const char *id, struct vmm_spec *s)
{
    char path[4200];
    int rc = vmc_path(v, id, "spec.json", path, sizeof(path));
    if (rc)
        return rc;
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return access(path, F_OK) < 0 ? -ENOENT : -EINVAL;
    rc = spec_from_json(j, s);
    json_decref(j);
    if (rc == 0 && strcmp(s->id, id))
        rc = -EINVAL;
    return rc;
}

int vmc_pid_save(const struct vmmctl *v, const char *id, pid_t pid, unsigned long long starttime)
{
    char path[4200], line[64];
    int rc = vmc_path(v, id, "vmm.pid", path, sizeof(path));
    int n = snprintf(line, sizeof(line), "%d %llu\n", (int)pid, starttime);
    return rc ? rc : vmc_write_file(path, line, (size_t)n);
}

int vmc_pid_load(const struct vmmctl *v, const char *id, pid_t *pid, unsigned long long *starttime)
{
    char path[4200], line[64];
    int rc = vmc_path(v, id, "vmm.pid", path, sizeof(path));
    if (rc || (rc = vmc_read_small(path, line, sizeof(line))) < 0)
        return rc;
    int p;
    if (sscanf(line, "%d %llu", &p, starttime) != 2 || p <= 1)
        return -EINVAL;
    *pid = p;
    return 0;
}

/* Field 22 of /proc/PID/stat (after the ")" that ends the command name). */
int vmc_proc_starttime(pid_t pid, unsigned long long *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int n = vmc_read_small(path, buf, sizeof(buf));
    if (n < 0)
        return n;
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    p++;
    for (int field = 3; field < 22; field++) { /* p is before field 3 now */
        p = strchr(p + 1, ' ');
        if (!p)
            return -EINVAL;
    }
    return sscanf(p, " %llu", out) == 1 ? 0 : -EINVAL;
}

void vmc_run_files_clear(const struct vmmctl *v, const char *id)
{
    static const char *const names[] = { "vmm.pid", "control.sock", "console.sock", "uid",
                                         "handover.tmp" };
    char path[4200];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (vmc_path(v, id, names[i], path, sizeof(path)) == 0)
            unlink(path);
}

int vmc_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name) < (int)sizeof(p))
            unlink(p); /* RUN/<id> holds files only */
    closedir(d);
    return rmdir(path) < 0 ? -errno : 0;
}

/* One scan-and-claim at a time (launches run outside vmmctl's lock). */
static pthread_mutex_t uid_lock = PTHREAD_MUTEX_INITIALIZER;

static int uid_take(const struct vmmctl *v, const char *id);

int vmc_uid_take(const struct vmmctl *v, const char *id)
{
    pthread_mutex_lock(&uid_lock);
    int k = uid_take(v, id);
    pthread_mutex_unlock(&uid_lock);
    return k;
}

static int uid_take(const struct vmmctl *v, const char *id)
{
    static unsigned char used[65536 / 8];
    memset(used, 0, sizeof(used));
    DIR *d = opendir(v->run_dir);
    if (!d)
        return -errno;
    struct dirent *e;
    char path[4200], line[32];
    while ((e = readdir(d))) {
        if (!vmc_valid_id(e->d_name) || !strcmp(e->d_name, id) ||
            vmc_path(v, e->d_name, "uid", path, sizeof(path)))
            continue;
        int k;
        if (vmc_read_small(path, line, sizeof(line)) > 0 && sscanf(line, "%d", &k) == 1 && k >= 0 &&
            k < 65536)
            used[k / 8] |= (unsigned char)(1u << (k % 8));
    }
    closedir(d);
    for (int k = 0; k < 65536; k++)
        if (!(used[k / 8] & (1u << (k % 8)))) {
            int n = snprintf(line, sizeof(line), "%d\n", k);
            int rc = vmc_path(v, id, "uid", path, sizeof(path));
            if (rc == 0)
                rc = vmc_write_file(path, line, (size_t)n);
            return rc < 0 ? rc : k;
        }
    return -ENOSPC;
}
