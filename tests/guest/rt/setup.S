/* The real-mode part of our bzImage: boot sector with the setup header, and
 * setup code. A loader that follows the 64-bit boot protocol never runs this
 * code (it enters at code32_start + 0x200); a loader that runs the setup
 * sectors (QEMU's -kernel does) lands in setup_code in real mode with
 * DS = ES = SS = the segment of this sector and CS = DS + 0x20. setup_code
 * switches to 32-bit protected mode and jumps to code32_start with ESI =
 * this sector's linear address, which holds the header the loader filled
 * in (cmd_line_ptr, ramdisk_image, ...), as Linux's boot protocol does.
 * Linked at 0; tests/guest/mkbzimage fills setup_sects, syssize, init_size. */
        .code16
        .text
        .globl _start
_start:
        .org 0x1f1
setup_sects:    .byte 0
root_flags:     .word 0
syssize:        .long 0
ram_size:       .word 0
vid_mode:       .word 0xffff
root_dev:       .word 0
boot_flag:      .word 0xaa55
        /* 0x200 */
jump:           .byte 0xeb, setup_code - 1f
1:
header:         .ascii "HdrS"
version:        .word 0x020e            /* 2.14 */
realmode_swtch: .long 0
start_sys_seg:  .word 0x1000
kernel_version: .word kversion - 0x200
type_of_loader: .byte 0
loadflags:      .byte 0x01              /* LOADED_HIGH */
setup_move_size: .word 0
code32_start:   .long 0x100000
ramdisk_image:  .long 0
ramdisk_size:   .long 0
bootsect_kludge: .long 0
heap_end_ptr:   .word 0
ext_loader_ver: .byte 0
ext_loader_type: .byte 0
cmd_line_ptr:   .long 0
initrd_addr_max: .long 0x7fffffff
kernel_alignment: .long 0x200000
relocatable_kernel: .byte 0
min_alignment:  .byte 21
xloadflags:     .word 0x0001            /* XLF_KERNEL_64 */
cmdline_size:   .long 2047
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset: .long 0
payload_length: .long 0
setup_data:     .quad 0
pref_address:   .quad 0x100000
init_size:      .long 0
handover_offset: .long 0

setup_code:
        cli
        xor %esi, %esi
        mov %ds, %si
        shl $4, %esi                    /* ESI = linear address of this sector */
        mov %esi, %eax
        add $gdt, %eax
        mov %eax, gdt_desc + 2
        mov code32_start, %eax
        mov %eax, far_ptr
        lgdtl gdt_desc
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        mov $0x18, %ax                  /* __BOOT_DS */
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        ljmpl *far_ptr(%esi)

        .balign 8
gdt:    .quad 0, 0
        .quad 0x00cf9a000000ffff        /* 0x10 __BOOT_CS: 32-bit code, flat */
        .quad 0x00cf92000000ffff        /* 0x18 __BOOT_DS: data, flat */
gdt_desc:
        .word 31
        .long 0
far_ptr:
        .long 0
        .word 0x10
kversion:
        .asciz "picostack test guest"

        .org 5 * 512                    /* boot sector + 4 setup sectors */

        .section .note.GNU-stack, "", @progbits
