/* Small kernels made on the spot, in the two formats picostack-vmm loads:
 * a bzImage (boot protocol 2.15, 64-bit entry) and an ELF64 with a PVH entry
 * note. Their code is a few instructions that run the same in 32-bit and
 * 64-bit mode. Tests build good and deliberately broken files from these. */
#ifndef PICOSTACK_TESTS_TINY_KERNEL_H
#define PICOSTACK_TESTS_TINY_KERNEL_H

#include <stddef.h>
#include <stdint.h>

enum tiny_action {
    TINY_RESET,        /* print "OK\n" on COM1, then 0xFE to port 0x64 */
    TINY_POWEROFF,     /* print "OK\n", then SLP_EN|S5 to the ACPI sleep port */
    TINY_TRIPLE_FAULT, /* print "OK\n", then int3 with no IDT */
    TINY_HALT,         /* print "OK\n", then halt with interrupts off, forever */
    TINY_BENCH,        /* print "OK\n", write port 0xf4 (QEMU's isa-debug-exit), then reset */
};

/* Machine code for the action; returns its length (<= 64). */
size_t tiny_code(enum tiny_action a, uint8_t *out);

/* A bzImage: 2 setup sectors, then the protected-mode payload whose first
 * 0x200 bytes are padding and whose entry code sits at +0x200. *size gets
 * the file size; free() the result. */
uint8_t *tiny_bzimage(enum tiny_action a, size_t *size);

#define TINY_PVH_LOAD 0x100000u
/* An ELF64 x86-64 with one PT_LOAD at TINY_PVH_LOAD and a PT_NOTE holding
 * XEN_ELFNOTE_PHYS32_ENTRY = TINY_PVH_LOAD. Layout, for tests that break it:
 * ELF header at 0, program headers at 64 (PT_LOAD, then PT_NOTE), note at
 * 0xb0, code at 0x100. */
uint8_t *tiny_pvh(enum tiny_action a, size_t *size);
#define TINY_PVH_PHDR0 64
#define TINY_PVH_PHDR1 (64 + 56)
#define TINY_PVH_NOTE  0xb0
#define TINY_PVH_CODE  0x100

#endif
