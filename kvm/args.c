/* The command line: names and meanings are a contract (issue 3). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/numarg.h"

void vmm_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --kernel PATH [--initrd PATH] [--cmdline STR] | --firmware PATH\n"
            "       [--firmware-type bios|uefi] [--mem MIB]\n"
            "       [--cpus N] [--serial stdio|file:PATH|none] [--control PATH] [--verbose]\n"
            "       [--exit-file PATH]\n"
            "       [--disk path=FILE|handover=FD[,ro][,serial=ID]]... [--rng] [--no-sandbox]\n"
            "       [--net tap=NAME[,mac=MAC][,queues=N] | --net fd=N[,mac=MAC]]...\n"
            "       [--console-log PATH [--console-cap BYTES]] [--console-socket PATH]\n"
            "       [--uuid UUID]\n"
            "\n"
            "  --kernel PATH    bzImage (64-bit boot protocol) or ELF vmlinux with a PVH note\n"
            "                   (or fd:N, inherited; so are --initrd and --disk path=)\n"
            "  --initrd PATH    initial ramdisk\n"
            "  --firmware PATH  boot a BIOS ROM (SeaBIOS's bios.bin) or UEFI (OVMF_CODE.fd),\n"
            "                   or fd:N, from the reset vector instead of a kernel: it boots\n"
            "                   the first disk\n"
            "  --firmware-type bios|uefi  what the --firmware image is (default: uefi when\n"
            "                   it starts with a firmware volume header, else bios)\n"
            "  --cmdline STR    kernel command line (default: \"%s\")\n"
            "  --mem MIB        guest RAM in MiB, %d to %d (default: %d)\n"
            "  --cpus N         vCPUs, 1 to %d (default: 1)\n"
            "  --serial MODE    COM1: stdio (default; Ctrl-A x quits on a terminal),\n"
            "                   file:PATH (output only) or none\n"
            "  --control PATH   unix socket taking JSON lines: {\"op\":\"status\"|\"pause\"|\n"
            "                   \"resume\"|\"shutdown\"|\"powerdown\"|\"kill\"}\n"
            "  --exit-file PATH written as the VMM ends: poweroff, reset or error: MESSAGE\n"
            "  --verbose        exit and device counters on stderr at the end\n"
            "  --no-sandbox     run without the seccomp filter (for debugging)\n"
            "  --disk SPEC      a virtio-blk disk, repeatable, in guest order:\n"
            "                   path=FILE (raw image) or handover=FD (a block-store disk\n"
            "                   handed over on inherited descriptors, see kvm.h),\n"
            "                   then ,ro (read-only) and ,serial=ID (up to 20 bytes)\n"
            "  --rng            a virtio-rng device\n"
            "  --net tap=NAME[,mac=MAC][,queues=N]  a virtio-net NIC on the tap NAME (opened\n"
            "                   or made; N queue pairs on a multiqueue tap)\n"
            "  --net fd=N[,mac=MAC]      ... on a tap the caller opened (IFF_TAP|IFF_NO_PI|\n"
            "                   IFF_VNET_HDR); repeatable, up to %d, in guest order\n"
            "  --console-log PATH  COM1's output appended to PATH; past BYTES/2 it becomes\n"
            "                   PATH.1 and PATH starts again (never blocks the guest)\n"
            "  --console-cap BYTES  what the log keeps, PATH.1 + PATH (default: %d)\n"
            "  --console-socket PATH  unix socket for one interactive console client (output\n"
            "                   as it happens, input to COM1; a second client is refused).\n"
            "                   With either console option, --serial defaults to none\n"
            "  --uuid UUID      the server's id: the SMBIOS system UUID and serial number\n"
            "\n"
            "Exit status: 0 when the guest resets or powers off, 1 on a guest crash or\n"
            "VMM error, 2 on bad arguments or an invalid kernel.\n",
            prog, VMM_DEFAULT_CMDLINE, VMM_MIN_MEM_MIB, VMM_MAX_MEM_MIB, VMM_DEFAULT_MEM_MIB,
            VMM_MAX_CPUS, VMM_MAX_NETS, VMM_DEFAULT_CONSOLE_CAP);
}

static __attribute__((format(printf, 3, 4))) int bad(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* "aa:bb:cc:dd:ee:ff", unicast. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            (i < 5 && p[2] != ':'))
            return -1;
        char hex[3] = { p[0], p[1], 0 };
        mac[i] = (uint8_t)strtoul(hex, NULL, 16);
    }
    return mac[0] & 1 ? -1 : 0;
}

/* --net tap=NAME[,mac=MAC][,queues=N] | fd=N[,mac=MAC] */
static int parse_net(const char *arg, struct vmm_config *cfg, char *err, size_t errlen)
{
    if (cfg->nnets == VMM_MAX_NETS)
        return bad(err, errlen, "--net: at most %d", VMM_MAX_NETS);
    struct vmm_net *n = &cfg->nets[cfg->nnets];
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    bool have = false;
    for (const char *p = arg; *p;) {
        size_t len = strcspn(p, ",");
        unsigned long long v;
        char num[24];
        if (!strncmp(p, "tap=", 4) && !have && len > 4 && len - 4 < sizeof(n->tap)) {
            memcpy(n->tap, p + 4, len - 4);
            have = true;
        } else if (!strncmp(p, "fd=", 3) && !have && len - 3 < sizeof(num)) {
            memcpy(num, p + 3, len - 3);
            num[len - 3] = 0;
            if (parse_uint(num, 0, INT32_MAX, &v))
                return bad(err, errlen, "--net '%s': fd=N needs a descriptor number", arg);
            n->fd = (int)v;
            have = true;
        } else if (!strncmp(p, "queues=", 7) && !n->queues && len - 7 < sizeof(num)) {
            memcpy(num, p + 7, len - 7);
            num[len - 7] = 0;
            if (parse_uint(num, 1, 16, &v))
                return bad(err, errlen, "--net '%s': queues=N needs a number from 1 to 16", arg);
            n->queues = (unsigned)v;
        } else if (!strncmp(p, "mac=", 4) && !n->mac_set) {
            if (parse_mac(p + 4, len - 4, n->mac))
                return bad(err, errlen, "--net '%s': mac=aa:bb:cc:dd:ee:ff (unicast) expected",
                           arg);
            n->mac_set = 1;
        } else {
            return bad(err, errlen,
                       "--net '%s': tap=NAME (1 to 15 bytes) or fd=N, then [,mac=MAC][,queues=N] "
                       "expected",
                       arg);
        }
        p += len;
        if (*p == ',' && *++p == 0)
            return bad(err, errlen, "--net '%s': a trailing ','", arg);
    }
    if (!have)
        return bad(err, errlen, "--net '%s': tap=NAME or fd=N expected", arg);
    if (n->queues > 1 && n->fd >= 0)
        return bad(err, errlen, "--net '%s': queues=N needs tap=NAME (one descriptor per queue)",
                   arg);
    cfg->nnets++;
    return 0;
}

/* --disk path=FILE|handover=FD[,ro][,serial=ID] */
static int parse_disk(char *spec, struct vmm_disk *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->handover_fd = -1;
    const char *what = spec;
    char *save = NULL;
    for (char *opt = strtok_r(spec, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        unsigned long long v;
        if (!strncmp(opt, "path=", 5) && opt[5] && !d->path && d->handover_fd < 0) {
            d->path = opt + 5;
        } else if (!strncmp(opt, "handover=", 9) && !d->path && d->handover_fd < 0) {
            if (parse_uint(opt + 9, 0, 1 << 20, &v))
                return bad(err, errlen, "--disk handover='%s': a descriptor number expected",
                           opt + 9);
            d->handover_fd = (int)v;
        } else if (!strcmp(opt, "ro")) {
            d->read_only = 1;
        } else if (!strncmp(opt, "serial=", 7)) {
            if (strlen(opt + 7) > 20)
                return bad(err, errlen, "--disk serial='%s': at most 20 bytes", opt + 7);
            strcpy(d->serial, opt + 7);
        } else {
            return bad(err, errlen,
                       "--disk '%s': path=FILE or handover=FD, then ,ro and ,serial=ID "
                       "expected (at '%s')",
                       what, opt);
        }
    }
    if (!d->path && d->handover_fd < 0)
        return bad(err, errlen, "--disk: path=FILE or handover=FD expected");
    return 0;
}

/* The canonical text form, 8-4-4-4-12 hex digits (either case), into its
 * 16 bytes in RFC 4122 order. */
static int parse_uuid(const char *text, uint8_t out[16])
{
    if (strlen(text) != 36)
        return -EINVAL;
    int n = 0;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (text[i] == '-') || (!dash && !isxdigit((unsigned char)text[i])))
            return -EINVAL;
    }
    for (int i = 0; i < 36; i += 2) {
        if (text[i] == '-')
            i++;
        char hex[3] = { text[i], text[i + 1], 0 };
        out[n++] = (uint8_t)strtoul(hex, NULL, 16);
    }
    return n == 16 ? 0 : -EINVAL;
}

int vmm_parse_args(int argc, char **argv, struct vmm_config *cfg, char *err, size_t errlen)
{
    enum {
        O_KERNEL = 256,
        O_INITRD,
        O_CMDLINE,
        O_MEM,
        O_CPUS,
        O_SERIAL,
        O_CONTROL,
        O_DISK,
        O_NET,
        O_RNG,
        O_HELP,
        O_VERBOSE,
        O_NO_SANDBOX,
        O_EXIT_FILE,
        O_CONSOLE_LOG,
        O_CONSOLE_CAP,
        O_CONSOLE_SOCKET,
        O_FIRMWARE,
        O_FIRMWARE_TYPE,
        O_UUID
    };
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "cmdline", required_argument, NULL, O_CMDLINE },
        { "mem", required_argument, NULL, O_MEM },
        { "cpus", required_argument, NULL, O_CPUS },
        { "serial", required_argument, NULL, O_SERIAL },
        { "control", required_argument, NULL, O_CONTROL },
        { "disk", required_argument, NULL, O_DISK },
        { "net", required_argument, NULL, O_NET },
        { "rng", no_argument, NULL, O_RNG },
        { "verbose", no_argument, NULL, O_VERBOSE },
        { "no-sandbox", no_argument, NULL, O_NO_SANDBOX },
        { "exit-file", required_argument, NULL, O_EXIT_FILE },
        { "help", no_argument, NULL, O_HELP },
        { "console-log", required_argument, NULL, O_CONSOLE_LOG },
        { "console-cap", required_argument, NULL, O_CONSOLE_CAP },
        { "console-socket", required_argument, NULL, O_CONSOLE_SOCKET },
        { "firmware", required_argument, NULL, O_FIRMWARE },
        { "firmware-type", required_argument, NULL, O_FIRMWARE_TYPE },
        { "uuid", required_argument, NULL, O_UUID },
        { 0 },
    };
    memset(cfg, 0, sizeof(*cfg));
    cfg->cmdline = VMM_DEFAULT_CMDLINE;
    cfg->mem_mib = VMM_DEFAULT_MEM_MIB;
    cfg->cpus = 1;
    cfg->serial = VMM_SERIAL_STDIO;
    cfg->firmware_type = VMM_FIRMWARE_AUTO;
    err[0] = 0;
    optind = 1;
    opterr = 0;
    int c;
    unsigned long long v;
    bool serial_given = false, cmdline_given = false;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case O_KERNEL: cfg->kernel = optarg; break;
        case O_INITRD: cfg->initrd = optarg; break;
        case O_CMDLINE:
            cfg->cmdline = optarg;
            cmdline_given = true;
            break;
        case O_FIRMWARE:
            if (!*optarg)
                return bad(err, errlen, "--firmware needs a path");
            cfg->firmware = optarg;
            break;
        case O_FIRMWARE_TYPE:
            if (!strcmp(optarg, "bios"))
                cfg->firmware_type = VMM_FIRMWARE_BIOS;
            else if (!strcmp(optarg, "uefi"))
                cfg->firmware_type = VMM_FIRMWARE_UEFI;
            else
                return bad(err, errlen, "--firmware-type '%s': bios or uefi expected", optarg);
            break;
        case O_CONTROL:
            if (!*optarg)
                return bad(err, errlen, "--control needs a socket path");
            cfg->control_path = optarg;
            break;
        case O_MEM:
            if (parse_uint(optarg, VMM_MIN_MEM_MIB, VMM_MAX_MEM_MIB, &v))
                return bad(err, errlen, "--mem '%s': a whole number of MiB from %d to %d expected",
                           optarg, VMM_MIN_MEM_MIB, VMM_MAX_MEM_MIB);
            cfg->mem_mib = v;
            break;
        case O_CPUS:
            if (parse_uint(optarg, 1, VMM_MAX_CPUS, &v))
                return bad(err, errlen, "--cpus '%s': a number from 1 to %d expected", optarg,
                           VMM_MAX_CPUS);
            cfg->cpus = v;
            break;
        case O_SERIAL:
            serial_given = true;
            if (!strcmp(optarg, "stdio")) {
                cfg->serial = VMM_SERIAL_STDIO;
            } else if (!strcmp(optarg, "none")) {
                cfg->serial = VMM_SERIAL_NONE;
            } else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
                cfg->serial = VMM_SERIAL_FILE;
                cfg->serial_path = optarg + 5;
            } else {
                return bad(err, errlen, "--serial '%s': stdio, file:PATH or none expected", optarg);
            }
            break;
        case O_DISK: {
            if (cfg->ndisks == VMM_MAX_DISKS)
                return bad(err, errlen, "--disk: at most %d disks", VMM_MAX_DISKS);
            int r = parse_disk(optarg, &cfg->disks[cfg->ndisks], err, errlen);
            if (r)
                return r;
            cfg->ndisks++;
            break;
        }
        case O_RNG: cfg->rng = 1; break;
        case O_NET:
            if (parse_net(optarg, cfg, err, errlen))
                return -EINVAL;
            break;
        case O_VERBOSE: cfg->verbose = 1; break;
        case O_NO_SANDBOX: cfg->no_sandbox = 1; break;
        case O_CONSOLE_LOG:
        case O_CONSOLE_SOCKET:
            if (!*optarg)
                return bad(err, errlen, "--console-%s needs a path",
                           c == O_CONSOLE_LOG ? "log" : "socket");
            *(c == O_CONSOLE_LOG ? &cfg->console_log : &cfg->console_socket) = optarg;
            break;
        case O_CONSOLE_CAP:
            if (parse_uint(optarg, VMM_MIN_CONSOLE_CAP, VMM_MAX_CONSOLE_CAP, &v))
                return bad(err, errlen, "--console-cap '%s': bytes from %d to %llu expected",
                           optarg, VMM_MIN_CONSOLE_CAP, VMM_MAX_CONSOLE_CAP);
            cfg->console_cap = v;
            break;
        case O_EXIT_FILE:
            if (!*optarg)
                return bad(err, errlen, "--exit-file needs a path");
            cfg->exit_file = optarg;
            break;
        case O_UUID:
            if (parse_uuid(optarg, cfg->uuid))
                return bad(err, errlen, "--uuid '%s': 8-4-4-4-12 hex digits expected", optarg);
            cfg->uuid_set = 1;
            break;
        case O_HELP: return 1;
        case ':': return bad(err, errlen, "%s needs a value", argv[optind - 1]);
        default: return bad(err, errlen, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad(err, errlen, "unexpected argument '%s'", argv[optind]);
    if (cfg->firmware && (cfg->kernel || cfg->initrd || cmdline_given))
        return bad(err, errlen,
                   "--firmware boots the disk's own bootloader: no --kernel, --initrd or "
                   "--cmdline with it");
    if (!cfg->firmware && (!cfg->kernel || !*cfg->kernel))
        return bad(err, errlen, "--kernel PATH is required (or --firmware PATH)");
    if (cfg->console_cap && !cfg->console_log)
        return bad(err, errlen, "--console-cap needs --console-log");
    if ((cfg->console_log || cfg->console_socket) && !serial_given)
        cfg->serial = VMM_SERIAL_NONE; /* the console replaces stdio */
    return 0;
}
