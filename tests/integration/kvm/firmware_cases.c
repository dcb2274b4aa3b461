/* Firmware boot (issue 14): picostack-vmm --firmware with SeaBIOS from
 * Debian's seabios package, from the reset vector to a boot sector.
 *   firmware mbr      a disk whose MBR reads sector 1 through int 13h
 *                     (SeaBIOS's virtio-blk driver), prints it with int 10h
 *                     (SeaBIOS's serial console) and resets through the
 *                     i8042: banner, disk found, boot, exit 0
 *   firmware nonboot  a disk of zeros: SeaBIOS tries it and says it is not
 *                     bootable, then that nothing is
 *   firmware grub     a BIOS-bootable disk made here without root or loop
 *                     devices: an MBR with one ext4 partition (mkfs.ext4 -d)
 *                     holding Debian's kernel and the Linux tests' initramfs
 *                     in /boot, GRUB's boot.img in the MBR and a core.img
 *                     (grub-mkimage, with its configuration built in) in
 *                     the gap after it, where boot.img and diskboot.img
 *                     look for it by default; SeaBIOS boots GRUB, GRUB
 *                     loads Linux through int 13h, and Linux's init reports
 *                     on the serial console and powers off through ACPI */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR1_TEXT "picostack: sector 1 read through int 13h\r\n"

/* Real-mode code at 0x7c00: int 13h AH=02 reads CHS 0/0/2 to 0x7e00, then
 * int 10h AH=0E prints its NUL-terminated text (or "int13 failed"), waits
 * four timer ticks (SeaBIOS's serial console sends its last character on
 * the timer interrupt), then 0xFE to port 0x64 resets the machine. */
static const uint8_t mbr_code[] = {
    0x31, 0xc0,       /* xor ax, ax */
    0x8e, 0xd8,       /* mov ds, ax */
    0x8e, 0xc0,       /* mov es, ax */
    0x8e, 0xd0,       /* mov ss, ax */
    0xbc, 0x00, 0x7c, /* mov sp, 0x7c00 */
    0xbb, 0x00, 0x7e, /* mov bx, 0x7e00 */
    0xb8, 0x01, 0x02, /* mov ax, 0x0201: read 1 sector */
    0xb9, 0x02, 0x00, /* mov cx, 0x0002: cylinder 0, sector 2 */
    0xb6, 0x00,       /* mov dh, 0 (dl: the boot drive, from SeaBIOS) */
    0xcd, 0x13,       /* int 0x13 */
    0x72, 0x1f,       /* jc fail (+31 -> 57) */
    0xbe, 0x00, 0x7e, /* mov si, 0x7e00 */
    0xac,             /* print (29): lodsb */
    0x84, 0xc0,       /* test al, al */
    0x74, 0x09,       /* jz done (+9 -> 43) */
    0xb4, 0x0e,       /* mov ah, 0x0e */
    0xbb, 0x07, 0x00, /* mov bx, 7 */
    0xcd, 0x10,       /* int 0x10 */
    0xeb, 0xf2,       /* jmp print (-14) */
    0xfb,             /* done (43): sti */
    0xb9, 0x04, 0x00, /* mov cx, 4 */
    0xf4,             /* tick (47): hlt */
    0xe2, 0xfd,       /* loop tick (-3) */
    0xb0, 0xfe,       /* mov al, 0xfe */
    0xe6, 0x64,       /* out 0x64, al */
    0xf4,             /* stop (54): hlt */
    0xeb, 0xfd,       /* jmp stop (-3) */
    0xbe, 0x3e, 0x7c, /* fail (57): mov si, 0x7c3e (the text below) */
    0xeb, 0xdf,       /* jmp print (-33) */
    'i',  'n',  't',  '1', '3', ' ', 'f', 'a', 'i', 'l', 'e', 'd', '\r', '\n', 0, /* 62 */
};
_Static_assert(sizeof(mbr_code) == 62 + 15, "the offsets above");

static int make_disk(const char *path, bool bootable)
{
    size_t size = 1 << 20;
    uint8_t *d = calloc(1, size);
    if (!d)
        return -1;
    if (bootable) {
        memcpy(d, mbr_code, sizeof(mbr_code));
        d[510] = 0x55;
        d[511] = 0xaa;
        memcpy(d + 512, SECTOR1_TEXT, sizeof(SECTOR1_TEXT));
    }
    int r = t_write_file(path, d, size, 0600);
    free(d);
    return r;
}

/* stdout (the serial console) and stderr (SeaBIOS's debug log with
 * --verbose) must both hold their needles. */
static int expect(struct vm *vm, const char *const out[], const char *const err[])
{
    for (int i = 0; out[i]; i++)
        if (!strstr(vm->out.data, out[i])) {
            char why[256];
            snprintf(why, sizeof(why), "the serial console lacks \"%s\"", out[i]);
            vm_dump(vm, why);
            return 1;
        }
    for (int i = 0; err[i]; i++)
        if (!strstr(vm->err.data, err[i])) {
            char why[256];
            snprintf(why, sizeof(why), "the firmware's debug log lacks \"%s\"", err[i]);
            vm_dump(vm, why);
            return 1;
        }
    return 0;
}

/* ---- firmware grub ---- */

#define PART_START (1u << 20) /* the partition at 1 MiB, LBA 2048 */
#define PART_SIZE  (64u << 20)

static const char grub_cfg[] = "echo picostack-grub: loading linux\n"
                               "set root=(hd0,msdos1)\n"
                               "linux /boot/vmlinuz console=ttyS0 panic=-1 "
                               "picostack.marker=grub-on-seabios\n"
                               "initrd /boot/initrd.img\n"
                               "boot\n";

static int copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    if (t_read_file(from, &data, &len))
        return -1;
    int r = t_write_file(to, data, len, 0644);
    free(data);
    return r;
}

/* The ext4 file system with /boot, in dir/part.img. */
static int make_root(const struct options *o, const char *dir)
{
    char root[4200], boot[4300], path[4400], part[4200];
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(boot, sizeof(boot), "%s/boot", root);
    if (mkdir(root, 0755) || mkdir(boot, 0755))
        return -1;
    snprintf(path, sizeof(path), "%s/vmlinuz", boot);
    if (copy_file(o->kernel, path))
        return -1;
    snprintf(path, sizeof(path), "%s/initrd.img", boot);
    if (linux_initramfs_build(o->busybox, path))
        return -1;
    snprintf(part, sizeof(part), "%s/part.img", dir);
    int fd = open(part, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, PART_SIZE) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char *mkfs[] = { (char *)o->mkfs, "-q", "-F", "-t", "ext4", "-d", root, part, NULL };
    return run_tool(mkfs, NULL, 0) == 0 ? 0 : -1;
}

/* GRUB's core.img with the configuration above built in, in dir/core.img. */
static int make_core(const struct options *o, const char *dir)
{
    char cfg[4200], core[4200];
    snprintf(cfg, sizeof(cfg), "%s/early.cfg", dir);
    snprintf(core, sizeof(core), "%s/core.img", dir);
    if (t_write_file(cfg, grub_cfg, strlen(grub_cfg), 0644))
        return -1;
    char *mk[] = { (char *)o->grub_mkimage,
                   "-O",
                   "i386-pc",
                   "-d",
                   (char *)o->grub_dir,
                   "-o",
                   core,
                   "-c",
                   cfg,
                   "-p",
                   "(hd0,msdos1)/boot/grub",
                   "biosdisk",
                   "part_msdos",
                   "ext2",
                   "linux",
                   "echo",
                   "boot",
                   NULL };
    return run_tool(mk, NULL, 0) == 0 ? 0 : -1;
}

/* MBR (boot.img's code + one bootable Linux partition) | core.img | the
 * partition, in dir/disk.raw. */
static int assemble(const struct options *o, const char *dir, const char *disk)
{
    char path[4200];
    char *bootimg = NULL, *core = NULL, *part = NULL;
    size_t nboot, ncore, npart;
    int r = -1;
    snprintf(path, sizeof(path), "%s/boot.img", o->grub_dir);
    if (t_read_file(path, &bootimg, &nboot) || nboot != 512)
        goto out;
    snprintf(path, sizeof(path), "%s/core.img", dir);
    if (t_read_file(path, &core, &ncore) || ncore > PART_START - 512)
        goto out;
    snprintf(path, sizeof(path), "%s/part.img", dir);
    if (t_read_file(path, &part, &npart) || npart != PART_SIZE)
        goto out;
    size_t size = PART_START + PART_SIZE;
    uint8_t *d = calloc(1, size);
    if (!d)
        goto out;
    memcpy(d, bootimg, 440); /* the code; the disk signature and table are ours */
    uint8_t *e = d + 446;
    uint32_t lba = PART_START / 512, sectors = PART_SIZE / 512;
    e[0] = 0x80;                           /* active */
    e[1] = 0xfe, e[2] = 0xff, e[3] = 0xff; /* CHS: use the LBA */
    e[4] = 0x83;                           /* Linux */
    e[5] = 0xfe, e[6] = 0xff, e[7] = 0xff;
    memcpy(e + 8, &lba, 4);
    memcpy(e + 12, &sectors, 4);
    d[510] = 0x55, d[511] = 0xaa;
    memcpy(d + 512, core, ncore);
    memcpy(d + PART_START, part, npart);
    r = t_write_file(disk, d, size, 0600);
    free(d);
out:
    free(bootimg);
    free(core);
    free(part);
    return r;
}

static int case_grub(const struct options *o)
{
    if (!o->kernel || !o->busybox || !o->mkfs || !o->grub_mkimage || !o->grub_dir) {
        fprintf(stderr, "test: firmware grub needs --kernel, --busybox, --mkfs, --grub-mkimage "
                        "and --grub-dir\n");
        return 1;
    }
    const char *dir = t_tmpdir("picostack-firmware-grub");
    char disk[4096], spec[4200];
    snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
    snprintf(spec, sizeof(spec), "path=%s", disk);
    if (make_root(o, dir) || make_core(o, dir) || assemble(o, dir, disk)) {
        fprintf(stderr, "test: cannot build the boot disk in %s: %s\n", dir, strerror(errno));
        return 1;
    }
    const char *argv_vm[] = { o->vmm,  "--firmware", o->bios,    "--disk", spec,
                              "--mem", "512",        "--serial", "stdio",  NULL };
    struct vm vm;
    if (vm_start(&vm, (char *const *)argv_vm))
        return 1;
    int rc = 1;
    /* (GRUB's own screen output comes through SeaBIOS's serial console
     * with cursor escapes between its characters: only "GRUB loading",
     * from its boot sector, is matched) */
    const char *steps[] = { "SeaBIOS (version",
                            "Booting from Hard Disk",
                            "GRUB loading",
                            "Linux version",
                            "picostack-init: marker=grub-on-seabios",
                            NULL };
    for (int i = 0; steps[i]; i++) {
        if (vm_wait_output(&vm, steps[i], 0, 4 * GUEST_TIMEOUT_S) < 0) {
            char why[200];
            snprintf(why, sizeof(why), "the console never showed \"%s\"", steps[i]);
            vm_dump(&vm, why);
            goto out;
        }
        fprintf(stderr, "test: \"%s\" after %.2f s\n", steps[i], now_s() - vm.started);
    }
    if (vm_wait_exit(&vm, GUEST_TIMEOUT_S) || vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "Linux did not power off (exit 0)");
        goto out;
    }
    /* Linux took the VMM's ACPI tables from SeaBIOS (their OEM id; a full
     * FADT with a FACS), ran its interpreter and found the virtio-blk disk
     * where SeaBIOS put it; init's poweroff went through ACPI S5 */
    const char *kernel_log[] = { "ACPI: RSDP 0x00000000000F",
                                 "(v02 PICOST)",
                                 "ACPI: FACS",
                                 "ACPI: Interpreter enabled",
                                 "[1af4:1042]",
                                 "ACPI: PM: Preparing to enter system sleep state S5",
                                 NULL };
    const char *vmm_log[] = { "guest powered off (ACPI S5)", NULL };
    rc = expect(&vm, kernel_log, vmm_log);
    fprintf(stderr, "test: firmware grub: %s after %.2f s\n", rc ? "FAILED" : "passed",
            now_s() - vm.started);
out:
    vm_destroy(&vm);
    return rc;
}

int case_firmware(const struct options *o, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "grub") && o->bios)
        return case_grub(o);
    bool mbr = argc == 1 && !strcmp(argv[0], "mbr");
    if (!o->bios || argc != 1 || (!mbr && strcmp(argv[0], "nonboot"))) {
        fprintf(stderr, "test: firmware mbr|nonboot|grub, with --bios PATH\n");
        return 1;
    }
    const char *dir = t_tmpdir("picostack-firmware");
    char disk[4096], spec[4200];
    snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
    snprintf(spec, sizeof(spec), "path=%s", disk);
    if (make_disk(disk, mbr))
        return 1;
    const char *argv_vm[] = { o->vmm,   "--firmware", o->bios, "--disk", spec,
                              "--cpus", "2",          "--mem", "128",    "--serial",
                              "stdio",  "--verbose",  NULL };
    struct vm vm;
    if (vm_start(&vm, (char *const *)argv_vm))
        return 1;
    int rc = 1;
    if (vm_wait_output(&vm, "SeaBIOS (version", 0, GUEST_TIMEOUT_S) < 0) {
        vm_dump(&vm, "no SeaBIOS banner on the serial console");
        goto out;
    }
    fprintf(stderr, "test: SeaBIOS banner after %.2f s\n", now_s() - vm.started);
    const char *firmware_log[] = {
        "Found QEMU fw_cfg",
        "QEMU fw_cfg DMA interface supported",
        "qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 [RAM]",
        "Found 2 cpu(s)",
        "found virtio-blk at 00:01.0",
        "using modern (1.0) virtio mode",
        "sercon: using ioport 0x3f8",
        NULL
    };
    if (mbr) {
        if (vm_wait_exit(&vm, GUEST_TIMEOUT_S)) {
            vm_dump(&vm, "the boot sector did not reset the machine");
            goto out;
        }
        const char *console[] = { "Booting from Hard Disk", SECTOR1_TEXT, NULL };
        const char *log[] = { "guest reset (i8042)", NULL };
        if (vm_exit_code(&vm) != 0) {
            vm_dump(&vm, "expected exit status 0 (a reset)");
            goto out;
        }
        rc = expect(&vm, console, firmware_log) || expect(&vm, console, log);
    } else {
        if (vm_wait_output(&vm, "No bootable device", 0, GUEST_TIMEOUT_S) < 0) {
            vm_dump(&vm, "SeaBIOS never gave up on the disk");
            goto out;
        }
        vm_pump(&vm, 0.5); /* the rest of the debug log */
        const char *console[] = { "Booting from Hard Disk", "Boot failed: not a bootable disk",
                                  NULL };
        rc = expect(&vm, console, firmware_log);
    }
    fprintf(stderr, "test: firmware %s: %s after %.2f s\n", argv[0], rc ? "FAILED" : "passed",
            now_s() - vm.started);
out:
    vm_destroy(&vm);
    return rc;
}
