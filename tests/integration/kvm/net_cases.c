/* virtionet: our own guest (tests/guest/virtionet.c) answers ARP and ping
 * on a virtio-net NIC whose tap lives in a network namespace this test
 * makes (unshare: it disappears with the process, whatever happens; inside
 * the with-kvm TCG guest there is no `ip netns`). The test opens the tap
 * (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) and hands it to the VMM with --net fd=N,
 * gives it 10.77.0.1/24, pings 10.77.0.2 three times from a raw ICMP socket
 * (the kernel resolves the guest's MAC by ARP first) and checks each reply
 * byte for byte, the neighbour entry's MAC, and the guest's own report.
 * linux-net does the same network for Debian's kernel (below). */
#include "tests/integration/kvm/kvmtest.h"
#include "tests/support/tmpdir.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define GUEST_MAC "02:00:5e:10:00:02"

static int set_addr(int s, const char *ifname, unsigned long req, const char *ip)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a->sin_addr);
    return ioctl(s, req, &ifr);
}

static int link_up(int s, const char *ifname)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(s, SIOCSIFFLAGS, &ifr);
}

/* A namespace of our own with lo up and the tap at 10.77.0.1/24; the tap's
 * descriptor (inherited by the VMM: --net fd=N), or -1. With queues > 1 the
 * tap is a persistent multiqueue one that the VMM attaches to by name
 * (--net tap=NAME,queues=N); it goes with the namespace. Returns 0 then. */
static int make_network(const char *tap, int queues)
{
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "test: unshare(CLONE_NEWNET): %s\n", strerror(errno));
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR); /* no O_CLOEXEC: the VMM takes it */
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
    if (queues > 1)
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 ||
        (queues > 1 && ioctl(fd, TUNSETPERSIST, 1) < 0)) {
        fprintf(stderr, "test: tap %s: %s\n", tap, strerror(errno));
        return -1;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int r = s < 0 || link_up(s, "lo") || set_addr(s, tap, SIOCSIFADDR, "10.77.0.1") ||
            set_addr(s, tap, SIOCSIFNETMASK, "255.255.255.0") || link_up(s, tap);
    if (r)
        fprintf(stderr, "test: configuring %s: %s\n", tap, strerror(errno));
    if (s >= 0)
        close(s);
    if (!r && queues > 1) {
        close(fd);
        return 0;
    }
    return r ? -1 : fd;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* One echo request to 10.77.0.2 and its reply, checked; 0 when right. */
static int ping(int s, uint16_t seq, double timeout_s)
{
    uint8_t req[64] = { 8, 0 }, buf[1500];
    req[4] = 0x50, req[5] = 0x53; /* id */
    req[6] = (uint8_t)(seq >> 8), req[7] = (uint8_t)seq;
    for (int i = 8; i < 64; i++)
        req[i] = (uint8_t)(i * 5 + seq);
    uint16_t c = csum(req, sizeof(req));
    req[2] = (uint8_t)(c >> 8), req[3] = (uint8_t)c;
    struct sockaddr_in to = { .sin_family = AF_INET };
    inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
    if (sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(req)) {
        fprintf(stderr, "test: sendto: %s\n", strerror(errno));
        return -1;
    }
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        struct pollfd p = { .fd = s, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(s, buf, sizeof(buf), 0);
        if (n < 20)
            continue;
        size_t ihl = (buf[0] & 15u) * 4;
        const uint8_t *icmp = buf + ihl;
        if ((size_t)n != ihl + sizeof(req) || icmp[0] != 0 || memcmp(icmp + 4, req + 4, 4))
            continue; /* not our reply (our own request comes back too) */
        if (memcmp(icmp + 8, req + 8, sizeof(req) - 8) || csum(icmp, sizeof(req)) != 0 ||
            csum(buf, ihl) != 0) {
            fprintf(stderr, "test: echo reply %u differs or has a bad checksum\n", seq);
            return -1;
        }
        return 0;
    }
    fprintf(stderr, "test: no echo reply %u within %.0f s\n", seq, timeout_s);
    return -1;
}

/* The kernel's neighbour entry for the guest carries the guest's MAC. */
static int neighbour_ok(void)
{
    FILE *f = fopen("/proc/net/arp", "r");
    char line[256];
    int ok = 0;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "10.77.0.2 ", 10) && strstr(line, GUEST_MAC))
            ok = 1;
    if (f)
        fclose(f);
    if (!ok)
        fprintf(stderr, "test: no neighbour entry 10.77.0.2 at " GUEST_MAC "\n");
    return ok ? 0 : -1;
}

int case_virtionet(const struct options *o, int argc, char **argv)
{
    const char *form = argc == 1 ? argv[0] : "pvh";
    char kernel[4096], net[64];
    if (guest_path(o, "virtionet", form, kernel, sizeof(kernel)))
        return 1;
    int fd = make_network("psvn0", 1);
    if (fd < 0)
        return 1;
    snprintf(net, sizeof(net), "fd=%d,mac=" GUEST_MAC, fd);
    char *args[] = { (char *)o->vmm, "--kernel", kernel, "--serial", "stdio", "--net", net, NULL };
    struct vm vm;
    if (vm_start(&vm, args))
        return 1;
    close(fd); /* the VMM's now */
    int rc = 1;
    if (vm_wait_output(&vm, "virtionet: ready mac " GUEST_MAC " link up", 0, GUEST_TIMEOUT_S) < 0) {
        vm_dump(&vm, "the guest did not get its NIC ready");
        goto out;
    }
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) {
        fprintf(stderr, "test: raw socket: %s\n", strerror(errno));
        goto out;
    }
    int bad = 0;
    for (uint16_t seq = 1; seq <= 3 && !bad; seq++)
        bad = ping(s, seq, 20.0);
    close(s);
    if (bad || neighbour_ok()) {
        vm_dump(&vm, "ping");
        goto out;
    }
    if (vm_wait_exit(&vm, GUEST_TIMEOUT_S)) {
        vm_dump(&vm, "the VMM did not exit");
        goto out;
    }
    if (vm_exit_code(&vm) != 0 || !strstr(vm.out.data, "virtionet: answered 3 pings, ") ||
        !strstr(vm.out.data, "interrupts 1")) {
        vm_dump(&vm, "expected exit 0 and \"answered 3 pings\" with interrupts");
        goto out;
    }
    fprintf(stderr, "test: virtionet (%s) ran %.2f s\n", form, now_s() - vm.started);
    rc = 0;
out:
    vm_destroy(&vm);
    return rc;
}

/* ---- Debian's kernel on virtio-net ------------------------------------- */

/* Two vCPUs and a NIC with two queue pairs (MQ) on a multiqueue tap. Its
 * own virtio_pci and virtio_net modules from the initramfs; eth0 up at
 * 10.77.0.2, pings the tap's address, downloads DOWNLOAD bytes from a TCP
 * server in the namespace and uploads 8 MiB to another (each checked with
 * CRC-32: busybox crc32 and zlib; Linux sends TSO segments), shows
 * the negotiated features, and powers off. */
static const char init_net[] =
    "#!/bin/sh\n"
    "bb=/bin/busybox\n"
    "say() { echo \"picostack-init: $*\"; }\n"
    "$bb mount -t proc proc /proc\n"
    "$bb mount -t sysfs sysfs /sys\n"
    "$bb mount -t devtmpfs dev /dev\n"
    "for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \\\n"
    "         failover net_failover virtio_net; do\n"
    "  $bb insmod /lib/modules/$m.ko || say \"insmod $m failed\"\n"
    "done\n"
    "i=0\n"
    "while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 200 ]; do $bb sleep 0.1; i=$((i+1)); done\n"
    "if [ ! -e /sys/class/net/eth0 ]; then\n"
    "  say \"no eth0: net=$($bb ls /sys/class/net) virtio=$($bb ls /sys/bus/virtio/devices)\"\n"
    "  $bb dmesg | $bb grep -iE 'pci|virtio' | $bb tail -40\n"
    "fi\n"
    "say \"eth0 mac=$($bb cat /sys/class/net/eth0/address)\"\n"
    "say \"features=$($bb cat /sys/class/net/eth0/device/features)\"\n"
    "say \"queues $($bb ls /sys/class/net/eth0/queues | $bb tr '\\n' ' ')\"\n"
    "$bb ip link set lo up\n"
    "$bb ip link set eth0 up\n"
    "$bb ip addr add 10.77.0.2/24 dev eth0\n"
    "if $bb ping -c 3 -W 10 10.77.0.1 >/dev/null; then say 'ping ok'; else say 'ping failed'; fi\n"
    "say \"download $($bb nc 10.77.0.1 7000 | $bb crc32)\"\n"
    "$bb head -c 8388608 /dev/urandom > /up\n"
    "say \"upload $($bb crc32 < /up) $($bb nc 10.77.0.1 7001 < /up && echo sent)\"\n"
    "$bb poweroff -f\n";

static const char *const net_modules[] = {
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
    NULL,
};

#define DOWNLOAD (8u << 20)

/* A child that serves data once on 10.77.0.1:7000; its pid or -1. */
static pid_t serve(const uint8_t *data, size_t len)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7000) };
    inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
        fprintf(stderr, "test: listen on 10.77.0.1:7000: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        for (size_t off = 0; c >= 0 && off < len;) {
            ssize_t k = write(c, data + off, len - off);
            if (k <= 0)
                _exit(1);
            off += (size_t)k;
        }
        _exit(c >= 0 ? 0 : 1);
    }
    close(ls);
    return pid;
}

/* A child that takes one upload on 10.77.0.1:7001 and writes "CRC LEN"
 * into *out_fd (a pipe); its pid or -1. */
static pid_t sink(int *out_fd)
{
    int p[2], ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7001) };
    inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
        pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "test: listen on 10.77.0.1:7001: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        static uint8_t buf[1 << 16];
        uLong crc = crc32(0, NULL, 0);
        size_t total = 0;
        ssize_t k;
        while (c >= 0 && (k = read(c, buf, sizeof(buf))) > 0) {
            crc = crc32(crc, buf, (uInt)k);
            total += (size_t)k;
        }
        dprintf(p[1], "%08lx %zu", crc, total);
        _exit(0);
    }
    close(ls);
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

int case_linux_net(const struct options *o, int argc, char **argv)
{
    (void)argv;
    if (argc != 0 || !o->kernel || !o->busybox || !o->modules) {
        fprintf(stderr, "test: linux-net needs --kernel, --busybox and --modules\n");
        return 1;
    }
    char dir[4096], initrd[4200], net[64];
    if (t_mkdtemp(dir, sizeof(dir), "picostack-linux-net") < 0)
        return 1;
    snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio", dir);
    int rc = 1, up_fd = -1;
    pid_t server = -1, uploads = -1;
    uint8_t *data = malloc(DOWNLOAD);
    if (!data || linux_initramfs_build_with(o->busybox, init_net, o->modules, net_modules, initrd))
        goto out;
    random_bytes(data, DOWNLOAD);
    if (make_network("psvn1", 2) < 0 || (server = serve(data, DOWNLOAD)) < 0 ||
        (uploads = sink(&up_fd)) < 0)
        goto out;
    snprintf(net, sizeof(net), "tap=psvn1,mac=" GUEST_MAC ",queues=2");
    const char *args[] = { o->vmm,
                           "--kernel",
                           o->kernel,
                           "--initrd",
                           initrd,
                           "--cmdline",
                           "console=ttyS0 panic=-1 loglevel=4",
                           "--mem",
                           "256",
                           "--cpus",
                           "2",
                           "--serial",
                           "stdio",
                           "--net",
                           net,
                           NULL };
    struct vm vm;
    if (vm_start(&vm, (char *const *)args))
        goto out;
    if (vm_wait_exit(&vm, 240.0) || vm_exit_code(&vm) != 0) {
        vm_dump(&vm, "Linux did not power off cleanly");
        vm_destroy(&vm);
        goto out;
    }
    char want[64];
    snprintf(want, sizeof(want), "download %08lx", crc32(0, data, DOWNLOAD));
    char got[64] = "", up[96];
    for (int i = 0; i < 100 && uploads > 0; i++) /* it ended with the guest's upload */
        if (waitpid(uploads, NULL, WNOHANG) == uploads)
            uploads = -1;
        else
            usleep(50000);
    if (uploads > 0) {
        kill(uploads, SIGKILL);
        waitpid(uploads, NULL, 0);
        uploads = -1;
    }
    if (read(up_fd, got, sizeof(got) - 1) < 0)
        got[0] = 0;
    snprintf(up, sizeof(up), "upload %.8s sent", got); /* the guest's CRC = what arrived */
    bool upload_ok = strlen(got) == 16 && !strcmp(got + 8, " 8388608");
    if (!upload_ok)
        fprintf(stderr, "test: the upload server got \"%s\" (CRC, length)\n", got);
    const char *lines[] = { "eth0 mac=" GUEST_MAC, "queues rx-0 rx-1 tx-0 tx-1", "ping ok", want,
                            up };
    rc = upload_ok ? 0 : 1;
    for (size_t i = 0; !rc && i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!strstr(vm.out.data, lines[i])) {
            char why[128];
            snprintf(why, sizeof(why), "the guest's output lacks \"%s\"", lines[i]);
            vm_dump(&vm, why);
            rc = 1;
        }
    /* what Linux negotiated: MAC, CSUM, GUEST_CSUM, GUEST_TSO4, HOST_TSO4,
     * MRG_RXBUF, STATUS, CTRL_VQ, CTRL_RX, MQ, CTRL_MAC_ADDR, VERSION_1 */
    const char *f = strstr(vm.out.data, "features=");
    static const int bits[] = { 0, 1, 5, 7, 11, 15, 16, 17, 18, 22, 23, 32 };
    for (size_t i = 0; !rc && f && i < sizeof(bits) / sizeof(bits[0]); i++)
        if (strlen(f) < 9 + 64 || f[9 + bits[i]] != '1') {
            fprintf(stderr, "test: Linux did not take feature %d: %.80s\n", bits[i], f);
            rc = 1;
        }
    if (!f)
        rc = 1;
    if (!rc)
        fprintf(stderr, "test: Linux on virtio-net took %.1f s\n", now_s() - vm.started);
    vm_destroy(&vm);
out:
    for (int i = 0; i < 2; i++) {
        pid_t p = i ? uploads : server;
        if (p > 0) {
            kill(p, SIGKILL);
            waitpid(p, NULL, 0);
        }
    }
    if (up_fd >= 0)
        close(up_fd);
    free(data);
    t_rm_rf(dir);
    return rc;
}
