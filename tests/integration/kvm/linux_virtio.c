/* Debian's kernel on virtio: its own virtio_pci, virtio_blk, virtio-rng and
 * ext4 modules, loaded from the initramfs, find two disks in command-line
 * order (serials disk-a, disk-b; disk-b read-only with a known head), mount
 * the ext4 that mkfs.ext4 made on the host on /dev/vda, write and sync a
 * file, read it back, read /dev/hwrng, and power off; the host then reads
 * the file out of the image (debugfs).
 *   linux-virtio normal  as above, with a clean unmount
 *   linux-virtio kill    the VMM is killed with SIGKILL right after the
 *                        guest's sync: after e2fsck replays the journal the
 *                        file is there (nothing acknowledged was lost) */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DISK_A_SIZE (64u << 20)
#define DISK_B_SIZE (8u << 20)
#define DISK_B_HEAD "picostack-disk-b"
#define TIMEOUT_S   240.0

static const char init_virtio[] =
    "#!/bin/sh\n"
    "bb=/bin/busybox\n"
    "say() { echo \"picostack-init: $*\"; }\n"
    "$bb mount -t proc proc /proc\n"
    "$bb mount -t sysfs sysfs /sys\n"
    "$bb mount -t devtmpfs dev /dev\n"
    "for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \\\n"
    "         virtio_blk virtio-rng crc16 mbcache jbd2 crc32c_generic ext4; do\n"
    "  $bb insmod /lib/modules/$m.ko || say \"insmod $m failed\"\n"
    "done\n"
    "marker=none mode=normal\n"
    "for a in $($bb cat /proc/cmdline); do\n"
    "  case \"$a\" in\n"
    "  picostack.marker=*) marker=${a#picostack.marker=} ;;\n"
    "  picostack.mode=*) mode=${a#picostack.mode=} ;;\n"
    "  esac\n"
    "done\n"
    "i=0\n"
    "while [ ! -e /dev/vdb ] && [ $i -lt 200 ]; do $bb sleep 0.1; i=$((i+1)); done\n"
    "if [ ! -e /dev/vdb ]; then\n"
    "  say 'no /dev/vdb; the kernel said:'\n"
    "  $bb dmesg | $bb grep -iE 'pci|virtio|acpi|mmconf|msi|vd[ab]|rng' | $bb head -80\n"
    "fi\n"
    "say \"disks vda=$($bb cat /sys/block/vda/serial) vdb=$($bb cat /sys/block/vdb/serial)\"\n"
    "say \"vdb-ro=$($bb cat /sys/block/vdb/ro) vdb-head=$($bb head -c 16 /dev/vdb)\"\n"
    "$bb mkdir -p /mnt\n"
    "if $bb mount -t ext4 /dev/vda /mnt; then say mounted; else say 'mount failed'; fi\n"
    "echo \"$marker\" > /mnt/$mode.txt\n"
    "$bb sync\n"
    "say \"synced $mode\"\n"
    "say \"readback=$($bb cat /mnt/$mode.txt)\"\n"
    "say \"hwrng=$($bb cat /sys/class/misc/hw_random/rng_current)"
    " bytes=$($bb head -c 64 /dev/hwrng | $bb wc -c)\"\n"
    "if [ \"$mode\" = kill ]; then say 'waiting to be killed'; while :; do $bb sleep 1; done; fi\n"
    "$bb umount /mnt && say unmounted\n"
    "$bb poweroff -f\n";

static const char *const modules[] = {
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/drivers/char/hw_random/virtio-rng.ko",
    "kernel/lib/crc16.ko",
    "kernel/fs/mbcache.ko",
    "kernel/fs/jbd2/jbd2.ko",
    "kernel/crypto/crc32c_generic.ko",
    "kernel/fs/ext4/ext4.ko",
    NULL,
};

/* Runs argv (stdout into out when given); returns the exit code or -1. */
int run_tool(char *const argv[], char *out, size_t outlen)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        close(p[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    char sink[512];
    while ((k = read(p[0], out && n < outlen - 1 ? out + n : sink,
                     out && n < outlen - 1 ? outlen - 1 - n : sizeof(sink))) > 0)
        if (out && n < outlen - 1)
            n += (size_t)k;
    if (out)
        out[n] = 0;
    close(p[0]);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static int expect_line(struct vm *vm, const char *line)
{
    if (strstr(vm->out.data, line))
        return 0;
    char why[256];
    snprintf(why, sizeof(why), "the guest's output lacks \"%s\"", line);
    vm_dump(vm, why);
    return 1;
}

static int boot(const struct options *o, const char *dir, const char *mode, const char *marker)
{
    char initrd[4200], a[4300], b[4300], cmdline[256];
    snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", dir);
    if (linux_initramfs_build_with(o->busybox, init_virtio, o->modules, modules, initrd))
        return 1;
    snprintf(a, sizeof(a), "path=%s/a.img,serial=disk-a", dir);
    snprintf(b, sizeof(b), "path=%s/b.img,ro,serial=disk-b", dir);
    snprintf(cmdline, sizeof(cmdline),
             "console=ttyS0 quiet panic=-1 picostack.marker=%s picostack.mode=%s", marker, mode);
    const char *argv[] = { o->vmm,      "--kernel", o->kernel, "--initrd", initrd,
                           "--cmdline", cmdline,    "--mem",   "256",      "--cpus",
                           "2",         "--serial", "stdio",   "--disk",   a,
                           "--disk",    b,          "--rng",   NULL };
    struct vm vm;
    if (vm_start(&vm, (char *const *)argv))
        return 1;
    int rc = 0;
    char synced[64];
    snprintf(synced, sizeof(synced), "synced %s", mode);
    if (!strcmp(mode, "kill")) {
        if (vm_wait_output(&vm, "waiting to be killed", 0, TIMEOUT_S) < 0) {
            vm_dump(&vm, "the guest never synced");
            rc = 1;
        }
        kill(vm.pid, SIGKILL);
        vm_wait_exit(&vm, 10);
    } else if (vm_wait_exit(&vm, TIMEOUT_S) || vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "Linux did not power off cleanly");
        rc = 1;
    }
    char want[128];
    snprintf(want, sizeof(want), "readback=%s", marker);
    const char *lines[] = { "disks vda=disk-a vdb=disk-b",
                            "vdb-ro=1 vdb-head=" DISK_B_HEAD,
                            "mounted",
                            synced,
                            want,
                            "hwrng=virtio_rng.0 bytes=64",
                            !strcmp(mode, "kill") ? "waiting to be killed" : "unmounted" };
    for (size_t i = 0; !rc && i < sizeof(lines) / sizeof(lines[0]); i++)
        rc = expect_line(&vm, lines[i]);
    if (!rc)
        fprintf(stderr, "test: Linux on virtio (%s) took %.1f s\n", mode, now_s() - vm.started);
    vm_destroy(&vm);
    return rc;
}

/* The file as the host reads it from the image (journal replayed first). */
static int check_file(const struct options *o, const char *dir, const char *mode,
                      const char *marker)
{
    char img[4200], req[64], out[256];
    snprintf(img, sizeof(img), "%s/a.img", dir);
    char *fsck[] = { (char *)o->e2fsck, "-fy", img, NULL };
    int fr = run_tool(fsck, NULL, 0);
    if (fr < 0 || fr > 1) { /* 0: clean, 1: fixed (the journal replayed) */
        fprintf(stderr, "test: e2fsck %s exited %d\n", img, fr);
        return 1;
    }
    snprintf(req, sizeof(req), "cat /%s.txt", mode);
    char *cat[] = { (char *)o->debugfs, "-R", req, img, NULL };
    if (run_tool(cat, out, sizeof(out)) != 0 || strncmp(out, marker, strlen(marker)) ||
        out[strlen(marker)] != '\n') {
        fprintf(stderr, "test: /%s.txt in the image holds \"%s\", not \"%s\"\n", mode, out, marker);
        return 1;
    }
    return 0;
}

int case_linux_virtio(const struct options *o, int argc, char **argv)
{
    if (argc != 1 || (strcmp(argv[0], "normal") && strcmp(argv[0], "kill")) || !o->kernel ||
        !o->busybox || !o->modules || !o->mkfs || !o->e2fsck || !o->debugfs) {
        fprintf(stderr, "test: linux-virtio normal|kill needs --kernel, --busybox, --modules, "
                        "--mkfs, --e2fsck and --debugfs\n");
        return 1;
    }
    char dir[4096], a[4200], b[4200], marker[17];
    if (t_mkdtemp(dir, sizeof(dir), "picostack-linux-virtio") < 0)
        return 1;
    snprintf(a, sizeof(a), "%s/a.img", dir);
    snprintf(b, sizeof(b), "%s/b.img", dir);
    int rc = 1;
    int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, DISK_A_SIZE) < 0) {
        fprintf(stderr, "test: cannot make %s\n", a);
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    char *mkfs[] = { (char *)o->mkfs, "-q", "-F", "-t", "ext4", a, NULL };
    if (run_tool(mkfs, NULL, 0) != 0) {
        fprintf(stderr, "test: %s failed\n", o->mkfs);
        goto out;
    }
    static char head[DISK_B_SIZE];
    memcpy(head, DISK_B_HEAD, strlen(DISK_B_HEAD));
    if (t_write_file(b, head, sizeof(head), 0600))
        goto out;
    uint8_t rnd[8];
    random_bytes(rnd, sizeof(rnd));
    for (int i = 0; i < 8; i++)
        snprintf(marker + 2 * i, 3, "%02x", rnd[i]);
    rc = boot(o, dir, argv[0], marker);
    if (!rc)
        rc = check_file(o, dir, argv[0], marker);
out:
    t_rm_rf(dir);
    return rc;
}
