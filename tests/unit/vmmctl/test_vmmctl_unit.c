/* core/vmmctl's pieces that need no VMM: the jailer's command line, uid
 * indexes, spec.json round trip, vmm.pid and /proc start times. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vmmctl/vmc_internal.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

struct args {
    char s[64][128];
    int n;
};

static int add(void *ctx, const char *arg)
{
    struct args *a = ctx;
    if (a->n == 64)
        return -E2BIG;
    snprintf(a->s[a->n++], 128, "%s", arg);
    return 0;
}

static const char *after(const struct args *a, const char *opt)
{
    for (int i = 0; i + 1 < a->n; i++)
        if (!strcmp(a->s[i], opt))
            return a->s[i + 1];
    return NULL;
}

static void test_jail_args(struct vmmctl *v)
{
    struct vmm_spec s = { .id = "srv-1", .mem_mib = 256, .cpu_weight = 200, .io_weight = 50 };
    struct args a = { .n = 0 };
    snprintf(v->jailer_path, sizeof(v->jailer_path), "/usr/bin/picostack-jailer");
    snprintf(v->vmm_path, sizeof(v->vmm_path), "/usr/bin/picostack-vmm");
    v->cfg.jail_uid_base = 100000;
    v->cgroup_parent[0] = 0;
    CHECK_EQ(vmc_jail_args(v, &s, 7, add, &a), 0);
    CHECK_STR(a.s[0], "/usr/bin/picostack-jailer");
    CHECK_STR(after(&a, "--id"), "srv-1");
    CHECK_STR(after(&a, "--uid"), "100007");
    CHECK_STR(after(&a, "--gid"), "100007");
    CHECK(after(&a, "--cgroup") == NULL); /* no cgroup parent: no limits */
    CHECK(after(&a, "--cpu-weight") == NULL);
    CHECK_STR(after(&a, "--exec"), "/usr/bin/picostack-vmm");
    CHECK_STR(a.s[a.n - 1], "--");
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/srv-1", v->run_dir);
    CHECK_STR(after(&a, "--chroot"), dir); /* the VMM's paths are then "/..." */

    a.n = 0;
    snprintf(v->cgroup_parent, sizeof(v->cgroup_parent), "/sys/fs/cgroup/picostack");
    CHECK_EQ(vmc_jail_args(v, &s, 0, add, &a), 0);
    CHECK_STR(after(&a, "--cgroup"), "/sys/fs/cgroup/picostack");
    CHECK_STR(after(&a, "--cpu-weight"), "200");
    CHECK(after(&a, "--cpu-max") == NULL);             /* 0: none */
    CHECK_STR(after(&a, "--memory-max"), "335544320"); /* 256 MiB + 64 MiB */
    CHECK_STR(after(&a, "--io-weight"), "50");
}

static void test_uids(struct vmmctl *v)
{
    char p[4200];
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "vm%d", i);
        vmc_path(v, id, NULL, p, sizeof(p));
        CHECK_EQ(mkdir(p, 0700), 0);
        CHECK_EQ(vmc_uid_take(v, id), i);
    }
    vmc_run_files_clear(v, "vm1"); /* vm1 ended: its index is free again */
    vmc_path(v, "vm3", NULL, p, sizeof(p));
    CHECK_EQ(mkdir(p, 0700), 0);
    CHECK_EQ(vmc_uid_take(v, "vm3"), 1);
    CHECK_EQ(vmc_uid_take(v, "vm3"), 1); /* its own file does not count */
}

static void test_spec(struct vmmctl *v)
{
    struct vmm_spec s = { .id = "vm0",
                          .kernel = "/k",
                          .initrd = "",
                          .cmdline = "a \"b\" c",
                          .cpus = 2,
                          .mem_mib = 512,
                          .ndisks = 2,
                          .nnets = 1,
                          .cpu_max_usec = 5 };
    snprintf(s.disks[0].object, sizeof(s.disks[0].object), "volume-1");
    snprintf(s.disks[0].serial, sizeof(s.disks[0].serial), "ser");
    snprintf(s.disks[1].path, sizeof(s.disks[1].path), "/cd.iso");
    s.disks[1].read_only = true;
    snprintf(s.nets[0].tap, sizeof(s.nets[0].tap), "tap0");
    snprintf(s.nets[0].netns, sizeof(s.nets[0].netns), "P-dhcp-1");
    memcpy(s.nets[0].mac, (uint8_t[]){ 0xfa, 0x16, 0x3e, 0, 1, 0xff }, 6);
    CHECK_EQ(vmc_spec_save(v, &s), 0);
    struct vmm_spec b;
    CHECK_EQ(vmc_spec_load(v, "vm0", &b), 0);
    CHECK(memcmp(&s, &b, sizeof(s)) == 0);
    CHECK_EQ(vmc_spec_load(v, "vm1", &b), -ENOENT);
    char p[4200];
    vmc_path(v, "vm2", "spec.json", p, sizeof(p));
    CHECK_EQ(vmc_write_file(p, "{\"id\":\"vm2\",\"disks\":7}", 22), 0);
    CHECK_EQ(vmc_spec_load(v, "vm2", &b), -EINVAL); /* hostile or damaged */
    vmc_path(v, "vm3", "spec.json", p, sizeof(p));
    CHECK_EQ(vmc_write_file(p, "not json", 8), 0);
    CHECK_EQ(vmc_spec_load(v, "vm3", &b), -EINVAL);
}

/* Direct boot: --kernel/--cmdline/--initrd; firmware boot: --firmware
 * alone (issue 14); the firmware survives spec.json. */
static void test_boot_args(struct vmmctl *v)
{
    struct vmm_spec s = { .id = "vm4", .kernel = "/k", .initrd = "/i", .cmdline = "root=x" };
    struct args a = { .n = 0 };
    CHECK_EQ(vmc_boot_args(&s, "/k", "/i", "", add, &a), 0);
    CHECK_EQ(a.n, 6);
    CHECK_STR(after(&a, "--kernel"), "/k");
    CHECK_STR(after(&a, "--cmdline"), "root=x");
    CHECK_STR(after(&a, "--initrd"), "/i");
    CHECK(after(&a, "--firmware") == NULL);
    CHECK(after(&a, "--uuid") == NULL); /* "vm4" is no UUID */

    /* a server id that is a UUID becomes the guest's SMBIOS UUID */
    struct vmm_spec u = { .id = "0c5a0b52-61e4-4b0b-9d9c-5b7a3e3c9d01", .kernel = "/k" };
    a.n = 0;
    CHECK_EQ(vmc_boot_args(&u, "/k", "", "", add, &a), 0);
    CHECK_STR(after(&a, "--uuid"), "0c5a0b52-61e4-4b0b-9d9c-5b7a3e3c9d01");
    CHECK_EQ(a.n, 6);
    struct vmm_spec near = { .id = "0c5a0b52-61e4-4b0b-9d9c-5b7a3e3c9d0z", .kernel = "/k" };
    a.n = 0;
    CHECK_EQ(vmc_boot_args(&near, "/k", "", "", add, &a), 0);
    CHECK(after(&a, "--uuid") == NULL);

    struct vmm_spec f = { .id = "vm5", .firmware = "/usr/share/seabios/bios.bin" };
    a.n = 0;
    CHECK_EQ(vmc_boot_args(&f, "", "", "/dev/fd/7", add, &a), 0);
    CHECK_EQ(a.n, 2);
    CHECK_STR(after(&a, "--firmware"), "/dev/fd/7");
    CHECK(after(&a, "--kernel") == NULL && after(&a, "--cmdline") == NULL);

    f.cpus = 1;
    f.mem_mib = 64;
    char p[4200];
    vmc_path(v, "vm5", NULL, p, sizeof(p));
    mkdir(p, 0700);
    vmc_path(v, "vm6", NULL, p, sizeof(p));
    mkdir(p, 0700);
    CHECK_EQ(vmc_spec_save(v, &f), 0);
    struct vmm_spec b;
    CHECK_EQ(vmc_spec_load(v, "vm5", &b), 0);
    CHECK_STR(b.firmware, "/usr/share/seabios/bios.bin");
    CHECK(memcmp(&f, &b, sizeof(f)) == 0);
    /* a spec.json written before firmware boot existed still loads */
    vmc_path(v, "vm6", "spec.json", p, sizeof(p));
    const char *old = "{\"id\":\"vm6\",\"kernel\":\"/k\",\"initrd\":\"\",\"cmdline\":\"\","
                      "\"cpus\":1,\"mem_mib\":64,\"disks\":[],\"nets\":[]}";
    CHECK_EQ(vmc_write_file(p, old, strlen(old)), 0);
    CHECK_EQ(vmc_spec_load(v, "vm6", &b), 0);
    CHECK_STR(b.firmware, "");
    CHECK_STR(b.kernel, "/k");
}

static void test_pid(struct vmmctl *v)
{
    unsigned long long st = 0, back = 0;
    CHECK_EQ(vmc_proc_starttime(getpid(), &st), 0);
    CHECK(st > 0);
    CHECK_EQ(vmc_pid_save(v, "vm0", getpid(), st), 0);
    pid_t p = 0;
    CHECK_EQ(vmc_pid_load(v, "vm0", &p, &back), 0);
    CHECK_EQ(p, getpid());
    CHECK_EQ(back, st);
    CHECK(vmc_proc_starttime(999999999, &st) < 0);
    CHECK(!vmc_valid_id("..") && !vmc_valid_id("a/b") && !vmc_valid_id("") &&
          vmc_valid_id("a-1.b_2"));
}

int main(void)
{
    static struct vmmctl v;
    snprintf(v.run_dir, sizeof(v.run_dir), "%s", t_tmpdir("vmmctl-unit"));
    test_jail_args(&v);
    test_uids(&v);
    test_spec(&v);
    test_boot_args(&v);
    test_pid(&v);
    return t_done("vmmctl.unit");
}
