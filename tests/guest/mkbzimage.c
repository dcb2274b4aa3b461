/* mkbzimage SETUP.BIN GUEST.ELF OUT
 *
 * Wraps a test guest (an ELF64 image linked at 1 MiB, see guest.ld) into a
 * bzImage: the real-mode setup sectors (rt/setup.S, with the "HdrS" setup
 * header) followed by the guest's loadable bytes from 1 MiB on. Fills in
 * setup_sects, syssize (16-byte units of the protected-mode part) and
 * init_size (memory the image needs from 1 MiB, bss included). */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_ADDR 0x100000u
#define MAX_IMAGE (16u << 20)

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mkbzimage: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = cap < MAX_IMAGE ? realloc(buf, cap * 2) : NULL;
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "mkbzimage: %s: cannot read (or larger than %u bytes)\n", path, MAX_IMAGE);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Lays the ELF's PT_LOAD segments out as they sit in memory from LOAD_ADDR.
 * Returns the payload length (bytes with file contents) and the memory
 * footprint (bss included) through *mem_len; -1 on a malformed ELF. */
static long flatten(const uint8_t *elf, size_t elf_len, uint8_t *out, size_t out_cap,
                    size_t *mem_len)
{
    Elf64_Ehdr eh;
    if (elf_len < sizeof(eh))
        return -1;
    memcpy(&eh, elf, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > elf_len ||
        (elf_len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
        return -1;
    size_t file_end = 0, mem_end = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_paddr < LOAD_ADDR || ph.p_memsz > out_cap ||
            ph.p_paddr - LOAD_ADDR > out_cap - ph.p_memsz || ph.p_filesz > ph.p_memsz ||
            ph.p_offset > elf_len || ph.p_filesz > elf_len - ph.p_offset)
            return -1;
        size_t at = ph.p_paddr - LOAD_ADDR;
        memcpy(out + at, elf + ph.p_offset, ph.p_filesz);
        if (at + ph.p_filesz > file_end)
            file_end = at + ph.p_filesz;
        if (at + ph.p_memsz > mem_end)
            mem_end = at + ph.p_memsz;
    }
    *mem_len = mem_end;
    return file_end ? (long)file_end : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mkbzimage SETUP.BIN GUEST.ELF OUT\n");
        return 2;
    }
    uint8_t *setup = NULL, *elf = NULL, *payload = calloc(1, MAX_IMAGE);
    size_t setup_len, elf_len, mem_len = 0;
    int rc = 1;
    if (!payload || read_file(argv[1], &setup, &setup_len) || read_file(argv[2], &elf, &elf_len))
        goto out;
    if (setup_len < 5 * 512 || setup_len % 512 || setup_len / 512 - 1 > 255 ||
        memcmp(setup + 0x202, "HdrS", 4)) {
        fprintf(stderr, "mkbzimage: %s is not a setup image\n", argv[1]);
        goto out;
    }
    long payload_len = flatten(elf, elf_len, payload, MAX_IMAGE, &mem_len);
    if (payload_len < 0) {
        fprintf(stderr, "mkbzimage: %s: not an ELF64 image loaded at 1 MiB\n", argv[2]);
        goto out;
    }
    setup[0x1f1] = (uint8_t)(setup_len / 512 - 1);
    put32(setup + 0x1f4, (uint32_t)((payload_len + 15) / 16));
    put32(setup + 0x260, (uint32_t)((mem_len + 4095) & ~4095ul));
    FILE *f = fopen(argv[3], "wb");
    if (!f) {
        fprintf(stderr, "mkbzimage: %s: %s\n", argv[3], strerror(errno));
        goto out;
    }
    int bad = fwrite(setup, 1, setup_len, f) != setup_len ||
              fwrite(payload, 1, (size_t)payload_len, f) != (size_t)payload_len;
    if (fclose(f) || bad) {
        fprintf(stderr, "mkbzimage: %s: write failed\n", argv[3]);
        remove(argv[3]);
        goto out;
    }
    rc = 0;
out:
    free(setup);
    free(elf);
    free(payload);
    return rc;
}
