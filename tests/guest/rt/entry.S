/* Entry points of every test guest, and the way into 64-bit mode.
 *
 * The image is linked at 1 MiB and is entered in one of three ways:
 *   pvh_start    PVH (ELF note XEN_ELFNOTE_PHYS32_ENTRY): 32-bit protected
 *                mode, paging off, EBX = hvm_start_info.
 *   startup_32   bzImage 32-bit entry at code32_start (0x100000), reached
 *                from our real-mode setup code (tests/guest/rt/setup.S) when
 *                a loader runs the setup sectors (QEMU does): ESI = boot_params.
 *   startup_64   bzImage 64-bit entry at code32_start + 0x200, used by
 *                loaders that honour XLF_KERNEL_64: RSI = boot_params.
 * All three end in rt_start(form, info) on the boot CPU's stack, running on
 * our own GDT and page tables (identity map of the first 4 GiB). */

#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA   0x18
#define BOOT_PVH   1
#define BOOT_LINUX 2
#define STACK_SIZE 16384
#define AP_STACK_SIZE 8192
#define MAX_CPUS   16

/* 32-bit protected mode -> 64-bit mode on our page tables; then a far jump
 * to \target.  Keeps ESI and EBP. */
.macro ENTER_LONG_MODE target
        mov %cr4, %eax
        or $0x20, %eax                  /* PAE */
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xC0000080, %ecx           /* EFER */
        rdmsr
        or $0x100, %eax                 /* LME */
        wrmsr
        mov %cr0, %eax
        or $0x80000001, %eax            /* PG | PE */
        mov %eax, %cr0
        ljmp $SEL_CODE64, $\target
.endm

        .section .text.head, "ax"
        .code32
        .globl startup_32
startup_32:
        cli
        mov $BOOT_LINUX, %ebp
        jmp common32

        .org 0x200
        .code64
        .globl startup_64
startup_64:
        cli
        mov %rsi, %r12
        lea __bss_start(%rip), %rdi
        lea __bss_end(%rip), %rcx
        sub %rdi, %rcx
        xor %eax, %eax
        rep stosb
        lgdt gdt_desc(%rip)
        lea pml4(%rip), %rax
        mov %rax, %cr3
        mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        mov %eax, %fs
        mov %eax, %gs
        lea stack_top(%rip), %rsp
        pushq $SEL_CODE64
        lea 1f(%rip), %rax
        push %rax
        lretq
1:      mov %r12, %rsi
        mov $BOOT_LINUX, %edi
        call rt_start
        jmp halt_forever

        .text
        .code32
        .globl pvh_start
pvh_start:
        cli
        mov %ebx, %esi
        mov $BOOT_PVH, %ebp
        /* fall through */

/* ESI = boot information pointer, EBP = form; any flat segments. */
common32:
        lgdtl gdt_desc
        ljmp $SEL_CODE32, $1f
1:      mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        mov %eax, %fs
        mov %eax, %gs
        mov $__bss_start, %edi
        mov $__bss_end, %ecx
        sub %edi, %ecx
        xor %eax, %eax
        rep stosb
        mov $stack_top, %esp
        ENTER_LONG_MODE bsp64

        .code64
bsp64:  mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        mov $stack_top, %rsp
        mov %esi, %esi          /* upper halves are undefined after the switch */
        mov %ebp, %edi
        call rt_start
        jmp halt_forever

        .globl halt_forever
halt_forever:
        cli
        hlt
        jmp halt_forever

/* An application processor arrives here from the real-mode trampoline
 * below, in 32-bit protected mode on our GDT. */
        .code32
ap_start32:
        mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        ENTER_LONG_MODE ap64

        .code64
ap64:   mov $SEL_DATA, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        mov $1, %eax
        lock xadd %eax, ap_next_index
        cmp $MAX_CPUS, %eax
        jae halt_forever
        mov %eax, %edi          /* this AP's index, 1.. */
        imul $AP_STACK_SIZE, %eax, %eax
        lea ap_stacks(%rax), %rsp
        call ap_main
        jmp halt_forever

/* Real-mode trampoline for INIT-SIPI-SIPI: position independent, copied by
 * the boot CPU to a page below 1 MiB (smp_start_aps). */
        .section .rodata
        .code16
        .globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
        cli
        lgdtl %cs:(ap_tramp_gdtr - ap_tramp_start)
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        ljmpl *%cs:(ap_tramp_target - ap_tramp_start)
        .balign 4
ap_tramp_gdtr:
        .word gdt_end - gdt - 1
        .long gdt
ap_tramp_target:
        .long ap_start32
        .word SEL_CODE32
ap_tramp_end:

/* PVH entry note, as Linux writes it (a 64-bit physical address). */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4
        .long 8
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .balign 4
        .quad pvh_start
        .balign 4

        .data
        .balign 16
gdt:    .quad 0
        .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code, flat */
        .quad 0x00af9a000000ffff        /* 0x10: 64-bit code */
        .quad 0x00cf92000000ffff        /* 0x18: data, flat */
gdt_end:
        .balign 8
        .word 0
gdt_desc:
        .word gdt_end - gdt - 1
        .quad gdt

        .globl ap_next_index
ap_next_index:
        .long 1

/* Identity map of the first 4 GiB with 2 MiB pages, built by the assembler. */
        .balign 4096
pml4:   .quad pdpt + 0x3
        .fill 511, 8, 0
        .globl pdpt
pdpt:   .quad pd + 0x3, pd + 0x1003, pd + 0x2003, pd + 0x3003
        .fill 508, 8, 0
pd:
        .set i, 0
        .rept 2048
        .quad (i << 21) + 0x83
        .set i, i + 1
        .endr

        .bss
        .balign 16
stack:  .skip STACK_SIZE
stack_top:
        .globl ap_stacks
ap_stacks:
        .skip AP_STACK_SIZE * MAX_CPUS

        .section .note.GNU-stack, "", @progbits
