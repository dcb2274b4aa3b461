/* picostack-kvm-test: the with-kvm tests of picostack-vmm (issue 3) — our
 * own test guests (tests/guest/) and Debian's kernel. One program, one case
 * per ctest test (tests/integration/kvm/CMakeLists.txt). */
#ifndef PICOSTACK_TESTS_KVM_KVMTEST_H
#define PICOSTACK_TESTS_KVM_KVMTEST_H

#include "tests/integration/kvm/vmrun.h"

#include <stdbool.h>
#include <stdint.h>

struct options {
    const char *vmm;     /* picostack-vmm */
    const char *guests;  /* build/guest */
    const char *kernel;  /* Debian's bzImage */
    const char *vmlinux; /* the same kernel as an ELF vmlinux (PVH) */
    const char *busybox; /* busybox-static */
    const char *cache;   /* where Linux boots shared by several tests are kept */
    const char *modules; /* the kernel's /lib/modules/RELEASE (linux-virtio) */
    const char *mkfs;    /* mkfs.ext4, e2fsck, debugfs (linux-virtio) */
    const char *e2fsck;
    const char *debugfs;
    const char *bios;         /* SeaBIOS's bios.bin (firmware) */
    const char *grub_mkimage; /* grub-mkimage and its i386-pc modules (firmware grub) */
    const char *grub_dir;
};

/* Each returns 0 when the test passes, 1 when it fails (reason printed). */
int case_hello(const struct options *o, int argc, char **argv);
int case_poweroff(const struct options *o, int argc, char **argv);
int case_echo(const struct options *o, int argc, char **argv);
int case_cmdline(const struct options *o, int argc, char **argv);
int case_triple(const struct options *o, int argc, char **argv);
int case_smp(const struct options *o, int argc, char **argv);
int case_timer(const struct options *o, int argc, char **argv);
int case_uartirq(const struct options *o, int argc, char **argv);
int case_hostile(const struct options *o, int argc, char **argv);
int case_rtc(const struct options *o, int argc, char **argv);
int case_memmap(const struct options *o, int argc, char **argv);
int case_control(const struct options *o, int argc, char **argv);
int case_linux(const struct options *o, int argc, char **argv);
int case_virtio(const struct options *o, int argc, char **argv);
int case_linux_virtio(const struct options *o, int argc, char **argv);
int case_virtionet(const struct options *o, int argc, char **argv); /* net_cases.c */
int case_linux_net(const struct options *o, int argc, char **argv); /* net_cases.c */
int case_console(const struct options *o, int argc, char **argv);   /* console_cases.c */
int case_firmware(const struct options *o, int argc, char **argv);  /* firmware_cases.c */
int case_memory(const struct options *o, int argc, char **argv);    /* memory_cases.c */

/* Helpers shared by the cases. */
void random_bytes(void *buf, size_t len);
/* Writes the Linux tests' initramfs (linux_initramfs.c) to out. */
int linux_initramfs_build(const char *busybox, const char *out);
/* The same with another /init and kernel modules as /lib/modules/NAME.ko
 * (names: paths relative to modules_dir, NULL-terminated). */
int linux_initramfs_build_with(const char *busybox, const char *init, const char *modules_dir,
                               const char *const modules[], const char *out);
/* The guest image path: GUESTS/NAME.elf (pvh) or GUESTS/NAME.bzImage. */
int guest_path(const struct options *o, const char *name, const char *form, char *out, size_t len);

/* Runs argv (stdout into out when given; stderr dropped); the exit code
 * or -1 (linux_virtio.c). */
int run_tool(char *const argv[], char *out, size_t outlen);

/* The control socket (control_cases.c). */
int control_connect(const char *path, double timeout_s); /* fd or -1 */
int control_send(int fd, const char *line, char *reply, size_t len, double timeout_s);
/* {"op":OP} -> {"ok":true[,"state":want_state]}; 0 when so. */
int control_op(int fd, const char *op, const char *want_state);

#define GUEST_TIMEOUT_S 120.0

#endif
