/* jail-probe: run by picostack-jailer in place of the VMM (test-jail's
 * "inside" case) to report what a process in the jail can and cannot do.
 * Prints one "name=RESULT" line per attempt, RESULT being "ok" or the
 * errno's name. argv[1]: a host path that must not be visible. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void report(const char *name, int ok)
{
    printf("%s=%s\n", name, ok ? "ok" : strerrorname_np(errno));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: jail-probe HOST-PATH\n");
        return 2;
    }
    printf("uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
    int fd = open("/mine", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    report("create_mine", fd >= 0);
    if (fd >= 0)
        close(fd);
    report("read_spec", open("/spec.json", O_RDONLY | O_CLOEXEC) >= 0);
    report("unlink_spec", unlink("/spec.json") == 0);
    report("replace_spec", rename("/mine", "/spec.json") == 0);
    report("replace_dev", rename("/mine", "/dev") == 0);
    report("kvm", open("/dev/kvm", O_RDWR | O_CLOEXEC) >= 0);
    report("mknod", mknod("/null2", S_IFCHR | 0666, makedev(1, 3)) == 0);
    report("mount", mount("none", "/usr", "tmpfs", 0, NULL) == 0);
    report("setuid0", setuid(0) == 0);
    report("chroot", chroot("/usr") == 0);
    report("etc", access("/etc", F_OK) == 0);
    report("host_path", access(argv[1], F_OK) == 0);
    report("usr_write", open("/usr/jail-probe", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0);
    return 0;
}
