/* Kernels and initrds that must be refused, each with a message that says
 * what is wrong. */
#include "tests/support/check.h"
#include "tiny_kernel.h"
#include "tests/support/files.h"
#include "tmpdir.h"

#include <elf.h>
#include <errno.h>
#include <unistd.h>

#include "kvm/guest_mem.h"
#include "kvm/x86/boot.h"

#define MIB (1ULL << 20)

static struct guest_mem gm;
static int nfile;

/* Writes data to a new file and loads it; returns the loader's result. */
static int load(const uint8_t *data, size_t size, const char *cmdline, const char *initrd,
                verr_t *err)
{
    char name[32];
    snprintf(name, sizeof(name), "kernel%d", nfile++);
    const char *path = tmpdir_file(name);
    CHECK_EQ(t_write_file(path, data, size, 0644), 0);
    struct x86_boot_request req = { path, initrd, cmdline, 1, NULL, NULL };
    struct x86_boot_info info;
    memset(err, 0, sizeof(*err));
    return x86_load(&gm, &req, &info, err);
}

static void expect(const uint8_t *data, size_t size, int code, const char *text)
{
    verr_t err;
    int r = load(data, size, "", NULL, &err);
    CHECK_EQ(r, -code);
    CHECK_CONTAINS(err.msg, text);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void test_not_a_kernel(void)
{
    verr_t err;
    struct x86_boot_request req = { "/nonexistent/picostack/kernel", NULL, "", 1, NULL, NULL };
    struct x86_boot_info info;
    CHECK_EQ(x86_load(&gm, &req, &info, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "/nonexistent/picostack/kernel");
    req.kernel_path = "/";
    CHECK_EQ(x86_load(&gm, &req, &info, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, "not a regular file");
    expect((const uint8_t *)"", 0, ENOEXEC, "neither a bzImage");
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    expect(junk, sizeof(junk), ENOEXEC, "neither a bzImage");
}

static void test_bad_bzimages(void)
{
    size_t size;
    uint8_t *good = tiny_bzimage(TINY_RESET, &size);
    uint8_t *f = malloc(size);

    memcpy(f, good, size);
    f[0x1fe] = 0; /* no boot flag: not recognised at all */
    expect(f, size, ENOEXEC, "neither a bzImage");

    memcpy(f, good, size);
    memcpy(f + 0x202, "HdrX", 4);
    expect(f, size, ENOEXEC, "neither a bzImage");

    expect(good, 0x260, ENOEXEC, "truncated");     /* cut inside the header */
    expect(good, 0x300, ENOEXEC, "truncated");     /* cut inside the setup code */
    expect(good, size - 16, ENOEXEC, "truncated"); /* payload shorter than syssize */

    memcpy(f, good, size);
    put16(f + 0x206, 0x0204);
    expect(f, size, ENOEXEC, "too old");

    memcpy(f, good, size);
    put16(f + 0x236, 0);
    expect(f, size, ENOEXEC, "no 64-bit entry");

    memcpy(f, good, size);
    f[0x211] = 0;
    expect(f, size, ENOEXEC, "zImage");

    memcpy(f, good, size);
    put32(f + 0x260, 0xffffffff); /* init_size past guest RAM */
    expect(f, size, E2BIG, "more --mem");

    memcpy(f, good, size);
    f[0x234] = 0; /* not relocatable, and wants to load low */
    put32(f + 0x258, 0x1000);
    put32(f + 0x25c, 0);
    expect(f, size, ENOEXEC, "below 1 MiB");

    memcpy(f, good, size);
    f[0x234] = 0; /* not relocatable, preferred address past RAM */
    put32(f + 0x258, 0);
    put32(f + 0x25c, 1);
    expect(f, size, E2BIG, "more --mem");

    /* A command line longer than the kernel's cmdline_size. */
    char longline[3000];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = 0;
    verr_t err;
    CHECK_EQ(load(good, size, longline, NULL, &err), -E2BIG);
    CHECK_CONTAINS(err.msg, "at most 2047");
    free(f);
    free(good);
}

static Elf64_Phdr *phdr(uint8_t *f, int i)
{
    return (Elf64_Phdr *)(f + TINY_PVH_PHDR0 + i * sizeof(Elf64_Phdr));
}

static void test_bad_elves(void)
{
    size_t size;
    uint8_t *good = tiny_pvh(TINY_RESET, &size);
    uint8_t *f = malloc(size + sizeof(Elf64_Phdr));

    expect(good, 40, ENOEXEC, "truncated");                /* not even an ELF header */
    expect(good, 100, ENOEXEC, "truncated");               /* program headers cut */
    expect(good, TINY_PVH_CODE + 4, ENOEXEC, "truncated"); /* segment data cut */

    memcpy(f, good, size);
    f[EI_CLASS] = 7;
    expect(f, size, ENOEXEC, "class");

    memcpy(f, good, size);
    f[EI_DATA] = ELFDATA2MSB;
    expect(f, size, ENOEXEC, "little-endian");

    memcpy(f, good, size);
    put16(f + 18, EM_AARCH64);
    expect(f, size, ENOEXEC, "not x86");

    memcpy(f, good, size);
    put16(f + 56, 0); /* e_phnum */
    expect(f, size, ENOEXEC, "program headers");

    memcpy(f, good, size);
    put32(f + TINY_PVH_NOTE + 8, 17); /* another Xen note, not the entry */
    expect(f, size, ENOEXEC, "no PVH entry note");

    memcpy(f, good, size);
    memcpy(f + TINY_PVH_NOTE + 12, "Xem", 4);
    expect(f, size, ENOEXEC, "no PVH entry note");

    memcpy(f, good, size);
    put32(f + TINY_PVH_NOTE + 4, 0x7ffffff0); /* descsz runs off the segment */
    expect(f, size, ENOEXEC, "no PVH entry note");

    memcpy(f, good, size);
    put32(f + TINY_PVH_NOTE + 16, 0x900000); /* entry outside the segments */
    expect(f, size, ENOEXEC, "outside the loaded segments");

    memcpy(f, good, size);
    phdr(f, 0)->p_filesz = phdr(f, 0)->p_memsz + 1;
    expect(f, size, ENOEXEC, "truncated"); /* filesz past the file is checked first */

    memcpy(f, good, size);
    phdr(f, 0)->p_memsz = 4;
    expect(f, size, ENOEXEC, "more file bytes than memory");

    memcpy(f, good, size);
    phdr(f, 0)->p_paddr = 0x80000;
    expect(f, size, ENOEXEC, "below 1 MiB");

    memcpy(f, good, size);
    phdr(f, 0)->p_paddr = 1ULL << 30; /* 1 GiB into a 64 MiB guest */
    expect(f, size, E2BIG, "past guest RAM");

    memcpy(f, good, size);
    phdr(f, 0)->p_memsz = 0xfffffffffff00000ULL; /* huge: wraps the address space */
    expect(f, size, E2BIG, "past guest RAM");

    memcpy(f, good, size);
    phdr(f, 0)->p_offset = 0xfffffffffffffff0ULL; /* offset + size wraps */
    expect(f, size, ENOEXEC, "truncated");

    /* Two PT_LOADs over the same memory. A third program header is
	 * appended; the note's phdr moves behind it. */
    memcpy(f, good, size);
    uint8_t *g = calloc(1, size + 0x100);
    memcpy(g, good, size);
    Elf64_Phdr extra = *phdr(g, 0);
    extra.p_paddr += 0x800;
    memmove(g + TINY_PVH_PHDR0 + 2 * sizeof(Elf64_Phdr), &extra, sizeof(extra));
    put16(g + 56, 3);
    /* the third phdr lands at 0xb0, on the note: move the note to 0x180 */
    memcpy(g + 0x180, good + TINY_PVH_NOTE, 20);
    phdr(g, 1)->p_offset = 0x180;
    expect(g, size + 0x100, ENOEXEC, "overlap");
    free(g);
    free(f);
    free(good);
}

static void test_bad_initrd_and_cmdline(void)
{
    size_t size;
    uint8_t *k = tiny_pvh(TINY_RESET, &size);
    verr_t err;
    CHECK_EQ(load(k, size, "", "/nonexistent/initrd", &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "initrd");
    /* An initrd bigger than RAM. */
    const char *big = tmpdir_file("big-initrd");
    FILE *fp = fopen(big, "w");
    CHECK(fp != NULL);
    if (fp) {
        CHECK_EQ(ftruncate(fileno(fp), 80 * MIB), 0); /* sparse */
        fclose(fp);
    }
    CHECK_EQ(load(k, size, "", big, &err), -E2BIG);
    CHECK_CONTAINS(err.msg, "initrd");
    /* One that fits RAM but not beside the kernel. */
    fp = fopen(big, "w");
    if (fp) {
        CHECK_EQ(ftruncate(fileno(fp), 63 * MIB), 0);
        fclose(fp);
    }
    CHECK_EQ(load(k, size, "", big, &err), -E2BIG);
    CHECK_CONTAINS(err.msg, "does not fit");
    /* An empty initrd. */
    const char *empty = tmpdir_file("empty-initrd");
    CHECK_EQ(t_write_file(empty, (const uint8_t *)"", 0, 0644), 0);
    CHECK_EQ(load(k, size, "", empty, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, "empty");
    /* A command line over 64 KiB. */
    size_t n = 70000;
    char *line = malloc(n + 1);
    memset(line, 'x', n);
    line[n] = 0;
    CHECK_EQ(load(k, size, line, NULL, &err), -E2BIG);
    CHECK_CONTAINS(err.msg, "command line");
    free(line);
    /* vCPU counts out of range. */
    struct x86_boot_request req = { "/dev/null", NULL, "", 0, NULL, NULL };
    struct x86_boot_info info;
    CHECK_EQ(x86_load(&gm, &req, &info, &err), -EINVAL);
    req.ncpus = X86_MAX_CPUS + 1;
    CHECK_EQ(x86_load(&gm, &req, &info, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, "vCPUs");
    free(k);
}

int main(void)
{
    tmpdir_make();
    CHECK_EQ(gm_init(&gm, 64 * MIB), 0);
    test_not_a_kernel();
    test_bad_bzimages();
    test_bad_elves();
    test_bad_initrd_and_cmdline();
    gm_free(&gm);
    return t_done("kvm.malformed_kernels");
}
