/* picostack-vmm: what the VMM module offers.
 *
 * One process runs one VM: vmm_parse_args() turns the command line
 * (picostack-vmm --kernel PATH [--initrd PATH] [--cmdline STR] | --firmware PATH [--mem MIB]
 * [--cpus N] [--serial stdio|file:PATH|none] [--control PATH] [--exit-file PATH] [--uuid UUID]
 * [--net tap=NAME[,mac=MAC][,queues=N] | --net fd=N[,mac=MAC]]...) into a
 * vmm_config, and vmm_run() boots it and returns when the VM has ended, with
 * the process exit status (--kernel, --initrd and --disk path= also take
 * "fd:N", a descriptor the caller left open, which is how picostack-jailer's
 * VMM gets them; "./fd:N" names a file):
 *   0  the guest reset (i8042) or powered off (ACPI S5), or it was killed
 *      over the control socket;
 *   1  a triple fault, an internal error or an exit the VMM cannot handle
 *      (a message and a register dump go to stderr), or KVM is unusable;
 *   2  bad arguments, or a kernel/initrd that cannot be read or is invalid.
 * With --exit-file PATH (created, truncated, at the start) the VMM also
 * writes one line there as it ends: "poweroff" (ACPI S5 or KVM's shutdown
 * event), "reset" (i8042, KVM's reset event), or "error: MESSAGE" (status
 * 1 or 2 after the arguments were read, or 128+N: "stopped by signal ...").
 * It stays empty when the VMM is killed (SIGKILL, or "kill" over the
 * control socket), which is how its supervisor (core/vmmctl) tells why a
 * VMM it did not reap ended.
 *
 * The control socket (--control PATH) takes one JSON object per line and
 * answers each with one JSON line: {"op":"status"} (with per-device
 * counters: requests, bytes, errors, queue depth), {"op":"pause"},
 * {"op":"resume"}, {"op":"shutdown"} (Ctrl-Alt-Del through the i8042
 * keyboard), {"op":"powerdown"} (the ACPI power button: a Generic Event
 * Device's interrupt, Notify (PWRB, 0x80) for Linux's button driver; a
 * guest without acpid or logind ignores it), {"op":"kill"}, {"op":"disk-resize","disk":N,"size":BYTES}
 * (grow disk N; the guest sees the new capacity through virtio-blk's
 * configuration-change interrupt) and {"op":"grant","disk":N,
 * "ranges":[[START,COUNT],...][,"files":[F,...]]} (more free clusters for
 * block-store disk N, extmap.h "Grants"; status says "grant_wanted" while a
 * disk's I/O thread waits for one, up to 30 s, after which the write fails
 * with an I/O error). "files" names data files the store created after the
 * hand-over (file F holds clusters F << EXTMAP_FILE_SHIFT and up): their
 * descriptors travel with the line as SCM_RIGHTS, in the same order.
 *
 * Firmware boot: --firmware PATH [--firmware-type bios|uefi] (instead of
 * --kernel, --initrd and --cmdline, which it refuses) boots a legacy BIOS
 * ROM, SeaBIOS's bios.bin from Debian's seabios package, from the reset
 * vector as QEMU's PC does, and the BIOS boots the first disk's own
 * bootloader (GRUB through int 13h). The machine it sees:
 *   - the ROM ending at 4 GiB (read-only) and its last 128 KiB also in
 *     RAM at 0xe0000-0xfffff (writable: no shadow-RAM registers needed);
 *     vCPU 0 starts at F000:FFF0, the others wait for INIT/SIPI;
 *   - fw_cfg on ports 0x510/0x511 and its DMA interface at 0x514
 *     (kvm/devices/fw_cfg.h) with "QEMU", the vCPU count, the RAM size,
 *     "etc/e820" (RAM below and above the 32-bit hole), "bootorder" (the
 *     first disk, PCI slot 1), "etc/sercon-port" = COM1 (the BIOS's screen
 *     output goes to the serial console) and the VMM's own ACPI tables as
 *     "etc/acpi/tables" + "etc/acpi/rsdp" with an "etc/table-loader"
 *     script, so the guest kernel gets the VMM's tables; unlike a direct
 *     boot's, their FADT is a full one (a FACS, PM1 event/control blocks
 *     at port 0x608, reset through port 0xcf9), because the BIOS leaves
 *     the 8259 PIC and the PIT running and only a kernel that knows of a
 *     legacy PIC masks it (with a hardware-reduced FADT Linux takes the
 *     BIOS's timer interrupt on vector 8 and double-faults); the power
 *     button is the same GED device;
 *   - the PCI host bridge with QEMU's generic PCIe host ids (1b36:0008,
 *     subsystem 1af4:1100, so SeaBIOS knows a QEMU-like machine but leaves
 *     ECAM where it is); the BIOS re-places the BARs from 0xfec00000 down,
 *     inside the bridge's second 32-bit window (0xe0100000-0xfebfffff);
 *   - CMOS memory-size bytes and vCPU count in the RTC, the in-kernel PIC
 *     and PIT, port 0xcf9 (reset control: a reset ends the VMM like the
 *     i8042's), and QEMU's debug port 0x402 (reads 0xe9): the BIOS's debug
 *     log, on stderr as "picostack-vmm: firmware: ..." lines with
 *     --verbose, else dropped.
 * A disk that does not boot: SeaBIOS says so on the console, waits 60 s,
 * resets, and the VMM ends with "reset".
 *
 * UEFI: --firmware OVMF_CODE.fd (Debian's ovmf; --firmware-type uefi, or
 * no --firmware-type and an image that starts with a UEFI firmware volume
 * header, which is how compute's plain --firmware PATH gets it) boots OVMF
 * built for QEMU on the smallest machine it accepts, an i440FX-like PC:
 *   - the image (a firmware volume no longer than the file, at most
 *     X86_FLASH_SIZE = 4 MiB, else status 2 with the reason) ends at 4 GiB,
 *     read-only, and is not copied below 1 MiB; the rest of the 4 MiB flash
 *     window below it (where OVMF_VARS would be) reads as erased flash and
 *     every write to the window is dropped and counted ("flash" in status;
 *     the first one on stderr with --verbose). There is no CFI flash: OVMF's
 *     probe finds none and keeps its variables in RAM (emulated variable
 *     store: boot entries are rebuilt from the disk at every boot);
 *   - the host bridge says i440FX (8086:1237); slot 1 holds a PIIX3
 *     ISA bridge at 00:01.0 (8086:7000, multi-function: OVMF hangs COM1 and
 *     the PS/2 keyboard under it and makes COM1 its console) and the PIIX4
 *     power-management function at 00:01.3 (8086:7113) whose PMBA reads
 *     X86_PIIX_PM_PORT (0xb000) with PMIOSE set, both read-only: the ACPI
 *     PM timer (24 bits, 3.579545 MHz) at 0xb008, and PM1 control at 0xb004
 *     where SLP_EN with SLP_TYP 0 (OVMF's ResetSystem shutdown) powers off;
 *   - so the disks start at slot 2; fw_cfg has no "bootorder" (OVMF drops
 *     the PCI boot options a list does not match, and older OVMFs never
 *     match a whole virtio disk): OVMF tries the disks in PCI order, the
 *     first disk first, then its shell; no "etc/sercon-port";
 *   - everything else as for SeaBIOS: fw_cfg with DMA (e820, CPUs, the ACPI
 *     tables through the table loader, which OVMF installs for the kernel,
 *     SMBIOS), the CMOS, the same FADT (PM1 blocks at 0x608, \_S5 type 5)
 *     for the guest kernel, port 0xcf9 for OVMF's reset.
 *
 * Disks and the rng (virtio 1.x over PCI, kvm/virtio/README.md):
 *   --disk path=FILE[,ro][,serial=ID]   a raw image file (or fd:N, open
 *       read-write unless ro)
 *   --disk handover=FD[,ro][,serial=ID] a block-store disk handed over by its
 *       owner: FD is an inherited pipe or memfd holding the one-line text
 *       form of struct extmap_handover (extmap_handover_format(), extmap.h),
 *       whose descriptors (data files, journal, map snapshot) are inherited
 *       too; the VMM owns them from then on.
 *   --rng                               virtio-rng fed from getrandom()
 * --disk is repeatable (up to VMM_MAX_DISKS); the guest sees the disks in
 * command-line order (PCI slots 1, 2, ... on bus 0, from slot 2 on a UEFI
 * boot: /dev/vda, /dev/vdb in
 * Linux). serial= is what GET_ID returns (up to 20 bytes). Each disk has
 * one queue per vCPU.
 *
 * The console of a VMM run by picostackd (kvm/console.h; the format is
 * the contract with core/vmmctl):
 *   --console-log PATH    COM1's output appended to PATH; when PATH would
 *       pass BYTES/2 its content becomes PATH.1 (replacing the old one) and
 *       PATH starts empty, so at most BYTES are kept: PATH.1 then PATH.
 *   --console-cap BYTES   BYTES for the above (VMM_MIN_CONSOLE_CAP to
 *       VMM_MAX_CONSOLE_CAP; default VMM_DEFAULT_CONSOLE_CAP, 1 MiB)
 *   --console-socket PATH a listening unix socket: one client at a time gets
 *       the output as raw bytes as it happens and what it writes is COM1's
 *       input; a second client is closed at once.
 * Output never blocks the guest: what a full disk or a client that does
 * not read cannot take is dropped and counted (the serial device's entry
 * in {"op":"status"}: "console":{log_bytes, log_dropped, rotations,
 * client_bytes, client_dropped, clients, refused}). With either option,
 * --serial defaults to none (an explicit --serial stdio|file: still works
 * beside them).
 *
 * --uuid UUID (the server's id, 8-4-4-4-12 hex digits) is the SMBIOS
 * System UUID (and serial number) the guest reads from DMI; without it the
 * UUID reads "not present". Every boot carries SMBIOS tables that say
 * "OpenStack Foundation" / "OpenStack Nova" as a Nova guest's do, so
 * cloud-init's ds-identify picks the OpenStack datasource (x86/smbios.h).
 *
 * Inside, devices register themselves (kvm/devices/device.h) and see the
 * vmm_config when they are made: an option for a device (a --disk list)
 * becomes a field here that the device reads, and it may ask for one
 * instance per entry; kvm/README.md says how to add one. */
#ifndef PICOSTACK_KVM_KVM_H
#define PICOSTACK_KVM_KVM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum vmm_serial_mode {
    VMM_SERIAL_STDIO, /* output to stdout, input from stdin (raw if a tty) */
    VMM_SERIAL_FILE,  /* output appended to serial_path, no input */
    VMM_SERIAL_NONE,  /* output dropped */
};

/* One --disk. */
struct vmm_disk {
    const char *path; /* path=FILE, or NULL */
    int handover_fd;  /* handover=FD, or -1 */
    int read_only;    /* ,ro */
    char serial[21];  /* ,serial=ID ("" when none) */
};
#define VMM_MAX_DISKS 16

/* --net: one virtio-net device on a tap (kvm/virtio/net.h), in command-line
 * order. tap=NAME attaches to (or creates) the tap NAME in the VMM's network
 * namespace; fd=N uses a tap the caller opened and left open (with IFF_TAP,
 * IFF_NO_PI and IFF_VNET_HDR: picostackd or a test hands it over). mac=MAC
 * (six hex bytes with ':', unicast) is the guest's address; without it the
 * device picks a random locally administered one. queues=N (tap= only, 1 to
 * 16) gives the NIC N queue pairs on a multiqueue tap (virtio MQ; Linux
 * uses one pair per vCPU). */
#define VMM_MAX_NETS 8
struct vmm_net {
    char tap[16]; /* the name, or "" ... */
    int fd;       /* ... an inherited descriptor (-1 with a name) */
    uint8_t mac[6];
    int mac_set;
    unsigned queues; /* queues=N: queue pairs (MQ, tap= only); 0: one */
};

/* --firmware-type: what the --firmware image is. */
enum vmm_firmware_type {
    VMM_FIRMWARE_BIOS, /* a legacy BIOS ROM (SeaBIOS's bios.bin) */
    VMM_FIRMWARE_UEFI, /* a UEFI firmware volume (OVMF_CODE.fd) */
    VMM_FIRMWARE_AUTO, /* no --firmware-type: UEFI when the image starts with a
                        * firmware volume header, else BIOS (vmm_run decides) */
};

struct vmm_config {
    const char *kernel;   /* bzImage or ELF vmlinux with a PVH note (path or fd:N) */
    const char *firmware; /* --firmware: a ROM booted from the reset vector (or NULL) */
    enum vmm_firmware_type firmware_type;
    const char *initrd;  /* NULL: none (path or fd:N) */
    const char *cmdline; /* the guest kernel's command line */
    uint64_t mem_mib;    /* guest RAM */
    unsigned cpus;       /* vCPUs */
    enum vmm_serial_mode serial;
    const char *serial_path;              /* VMM_SERIAL_FILE */
    const char *control_path;             /* NULL: no control socket */
    const char *exit_file;                /* --exit-file: how it ended, or NULL */
    int verbose;                          /* --verbose: device/exit counters at the end */
    int no_sandbox;                       /* --no-sandbox: no seccomp filter (debugging) */
    struct vmm_disk disks[VMM_MAX_DISKS]; /* --disk, in guest order */
    unsigned ndisks;
    int rng;                           /* --rng */
    struct vmm_net nets[VMM_MAX_NETS]; /* --net, in guest order */
    unsigned nnets;
    const char *console_log;    /* --console-log PATH, or NULL */
    uint64_t console_cap;       /* --console-cap BYTES; 0: the default */
    const char *console_socket; /* --console-socket PATH, or NULL */
    uint8_t uuid[16];           /* --uuid: the server's id, RFC 4122 byte order */
    int uuid_set;
};

#define VMM_DEFAULT_MEM_MIB 256
#define VMM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"
#define VMM_MAX_CPUS        64
#define VMM_MIN_MEM_MIB     8
#define VMM_MAX_MEM_MIB     (1024 * 1024)

#define VMM_DEFAULT_CONSOLE_CAP (1024 * 1024)
#define VMM_MIN_CONSOLE_CAP     4096
#define VMM_MAX_CONSOLE_CAP     (1ULL << 30)

#define VMM_EXIT_OK    0
#define VMM_EXIT_ERROR 1
#define VMM_EXIT_USAGE 2

/* Returns 0 and fills cfg, 1 for --help, or -EINVAL with a one-line message
 * in err. */
int vmm_parse_args(int argc, char **argv, struct vmm_config *cfg, char *err, size_t errlen);
void vmm_usage(FILE *out, const char *prog);

/* Boots the VM and returns the exit status above once it has ended. */
int vmm_run(const struct vmm_config *cfg);

#endif
