/* bootimg: finds the kernel, initrd and root= of a disk image, without
 * mounting it, so that a server can boot the image's own kernel directly.
 *
 * What it reads (all through a bootimg_source: a block-store object, a
 * file or a buffer; never a mount, never a loop device):
 *  - the partition table: GPT (primary header at LBA 1, its backup at the
 *    last LBA when the primary is damaged), else an MBR's four primary
 *    entries, else no table (the whole disk is one filesystem). 512-byte
 *    sectors. Every field is checked: signatures, header size, both CRC32s,
 *    entry count (<= 1024) and size (128..4096, a multiple of 8), the
 *    usable range inside the disk, each partition inside it, no two
 *    partitions overlapping. A table that fails any check is refused with
 *    a message that says which (MBR logical partitions are not read).
 *  - ext2/3/4 filesystems in the partitions, through libext2fs
 *    (e2fsprogs) over an io_manager of our own that reads through the
 *    source and never past the partition's end.
 *
 * What it finds (bootimg_find):
 *  - the kernel: the newest (version order, strverscmp) /boot/vmlinuz-*
 *    of a filesystem, or vmlinuz-* at the root of a separate /boot
 *    filesystem; a candidate that is not a regular file of 1 byte ..
 *    BOOTIMG_MAX_FILE after following at most 8 symlinks is skipped (its
 *    reason is the error when none is left);
 *  - its initrd: initrd.img-V, initramfs-V.img, initrd-V.img or initrd-V
 *    beside it (V the kernel's version), checked the same way; none is
 *    fine (the kernel then boots without one);
 *  - root= and the other kernel arguments: from the first grub.cfg
 *    (boot/grub/, grub/, boot/grub2/, grub2/) `linux` line for that kernel,
 *    else from a BLS entry (loader/entries/ *.conf) naming it; arguments
 *    with grub variables ($...) and BOOT_IMAGE= are dropped. Without a
 *    root= there: root=UUID=<uuid> of the ext filesystem that has /etc,
 *    else of the largest ext filesystem.
 *
 * Bounds (hostile images): at most BOOTIMG_MAX_PARTS partitions and 16
 * filesystems looked at, directories of at most 16 MiB and 65536 entries,
 * configuration files of at most 4 MiB, 256 BLS entries, kernel and initrd
 * of at most BOOTIMG_MAX_FILE bytes. Loops (symlinks) end at the 8th link;
 * a directory is never walked recursively. Every read is inside the
 * source. So a hostile image costs bounded time and memory and gets a
 * negative errno and a message, never a crash or a hang.
 *
 * Errors: 0 or a negative errno, and bootimg_err.msg says what, in words:
 * -EINVAL a malformed table or filesystem, -ENOENT no kernel, -ELOOP a
 * symlink loop, -EFBIG a size over the bounds, -EIO a read failure (the
 * source's own errno when it gives one).
 *
 * Threads: no shared state; one source is used by one thread at a time.
 */
#ifndef PICOSTACK_BOOTIMG_H
#define PICOSTACK_BOOTIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blockstore;
struct blockstore_disk;

#define BOOTIMG_MAX_PARTS 128
#define BOOTIMG_MAX_FILE  (512ull << 20) /* kernel, initrd */

struct bootimg_err {
    char msg[256];
};

/* Where the bytes come from: read() fills buf with exactly len bytes at
 * off (off + len <= size, checked by the caller) or returns -errno. */
struct bootimg_source {
    uint64_t size;
    int (*read)(void *ctx, void *buf, uint64_t off, uint64_t len);
    void *ctx;
    /* private */
    struct blockstore *bs_;
    struct blockstore_disk *disk_;
};

/* A buffer the caller keeps alive. */
void bootimg_source_mem(struct bootimg_source *s, const void *buf, size_t len);
/* A raw file; the caller keeps fd open. */
int bootimg_source_fd(struct bootimg_source *s, int fd, struct bootimg_err *e);
/* Any block-store object (a volume's disk, an image), opened read-only
 * (blockstore_disk_open with BLOCKSTORE_RDONLY): call with the store's
 * lock held, like every blockstore call. Reads then go through the
 * handle's own extmap and need no lock (blockstore.h, "Threads"); close it
 * with bootimg_source_close(), again under the store's lock. */
int bootimg_source_blockstore(struct bootimg_source *s, struct blockstore *bs, const char *name,
                              struct bootimg_err *e);
void bootimg_source_close(struct bootimg_source *s);

/* ---- partition tables ---- */
enum bootimg_table_kind { BOOTIMG_TABLE_NONE, BOOTIMG_TABLE_MBR, BOOTIMG_TABLE_GPT };

struct bootimg_part {
    unsigned number;       /* 1-based, as Linux numbers them (vda1 ...) */
    uint64_t offset;       /* bytes from the start of the disk */
    uint64_t size;         /* bytes */
    uint8_t mbr_type;      /* MBR: the type byte; GPT: 0 */
    uint8_t type_guid[16]; /* GPT: the type GUID (on-disk byte order) */
    char part_uuid[37];    /* GPT: unique partition GUID; MBR: "SSSSSSSS-NN" */
};

struct bootimg_table {
    enum bootimg_table_kind kind; /* NONE: parts[0] is the whole disk */
    bool used_backup;             /* GPT: the primary was damaged */
    unsigned nparts;
    struct bootimg_part parts[BOOTIMG_MAX_PARTS];
};

int bootimg_read_table(const struct bootimg_source *s, struct bootimg_table *t,
                       struct bootimg_err *e);

/* ---- the boot files ---- */
struct bootimg_boot {
    unsigned part;     /* index in the table of the filesystem with the kernel */
    char version[128]; /* "6.1.0-27-cloud-amd64" */
    char kernel[256];  /* its path in that filesystem */
    char initrd[256];  /* "" none */
    uint64_t kernel_size, initrd_size;
    char root[192];    /* the root= value: "UUID=...", "/dev/vda1", ... */
    char args[768];    /* the other arguments from the bootloader ("ro quiet") */
    char root_from[8]; /* where root= came from: grub, bls, etc, largest */
};

int bootimg_find(const struct bootimg_source *s, struct bootimg_boot *b, struct bootimg_err *e);
/* Copies the kernel (and the initrd when b has one) found by bootimg_find
 * out to new files (mode 0600, written to PATH.tmp, then renamed); on
 * failure neither file is left. initrd_out may be NULL when b has none. */
int bootimg_extract(const struct bootimg_source *s, const struct bootimg_boot *b,
                    const char *kernel_out, const char *initrd_out, struct bootimg_err *e);

#endif
