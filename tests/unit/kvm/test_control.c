/* The control socket's protocol and its line handling, on a VM without
 * vCPUs (pause/resume then complete at once), over a real unix socket. */
#include "tests/support/check.h"
#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "kvm/control.h"
#include "kvm/devices/acpi_ged.h"
#include "kvm/devices/i8042.h"

static struct vm vm;

static void ask(const char *line, char *out, size_t len)
{
    control_handle_line(&vm, line, out, len);
}

static void test_protocol(void)
{
    char out[2048];
    ask("{\"op\":\"status\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK_CONTAINS(out, "\"state\":\"running\"");
    CHECK_CONTAINS(out, "\"vcpus\":0");
    CHECK_CONTAINS(out, "\"mem_mib\":16");
    CHECK_CONTAINS(out, "\"exits\":");
    CHECK_CONTAINS(out, "\"unknown_io\":");
    CHECK(out[strlen(out) - 1] == '\n');
    CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* one line */
    ask("{\"op\":\"pause\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"state\":\"paused\"");
    ask("{\"op\":\"status\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"state\":\"paused\"");
    ask("{\"op\":\"resume\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"state\":\"running\"");
    /* shutdown types Ctrl-Alt-Del into the keyboard. */
    ask("{\"op\":\"shutdown\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":true");
    struct i8042 *kbd = vmdevs_find(&vm.devs, "i8042", 0);
    CHECK(kbd != NULL);
    CHECK_EQ(kbd->qcount, 8);
    CHECK_EQ(kbd->queue[kbd->qhead], 0x1d);
    /* powerdown presses the ACPI power button: the GED's event bit, read
     * (and cleared) by the guest's _EVT */
    ask("{\"op\":\"powerdown\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"sent\":\"power-button\"");
    struct acpi_ged *ged = vmdevs_find(&vm.devs, "acpi-ged", 0);
    CHECK(ged != NULL);
    CHECK_EQ(ged ? ged->presses : 0, 1);
    CHECK_EQ(ged ? acpi_ged_read(ged) : 0, ACPI_GED_PWRBTN);
    CHECK_EQ(ged ? acpi_ged_read(ged) : 1, 0);
    /* Bad requests: an error each, nothing else changes. */
    ask("{\"op\":", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false");
    CHECK_CONTAINS(out, "bad JSON");
    ask("[1,2]", out, sizeof(out));
    CHECK_CONTAINS(out, "expected an object");
    ask("{\"op\":42}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false");
    ask("{\"op\":\"reboot\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "unknown op");
    ask("{\"op\":\"status\",\"op\":\"kill\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":false"); /* duplicate keys refused */
    CHECK(!vm.stopping);
    ask("{\"op\":\"kill\"}", out, sizeof(out));
    CHECK_CONTAINS(out, "\"ok\":true");
    CHECK(vm.stopping);
    CHECK_EQ(vm.exit_code, 0);
    uint64_t v = 0;
    CHECK_EQ(read(vm.stop_efd, &v, sizeof(v)), (ssize_t)sizeof(v));
    CHECK_EQ(v, 1);
}

static void test_socket(void)
{
    const char *path = tmpdir_file("control.sock");
    verr_t err;
    /* A regular file in the way is an error, not something to delete. */
    CHECK_EQ(tiny_touch(path), 0);
    CHECK_EQ(control_listen(path, &err), -EEXIST);
    unlink(path);
    int lfd = control_listen(path, &err);
    CHECK(lfd >= 0);
    close(lfd);
    lfd = control_listen(path, &err); /* a stale socket is replaced */
    CHECK(lfd >= 0);

    int cfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strcpy(addr.sun_path, path);
    CHECK_EQ(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    struct control_client c = { .fd = accept(lfd, NULL, NULL) };
    CHECK(c.fd >= 0);
    /* Two requests in one write, a third split across writes. */
    const char *two = "{\"op\":\"status\"}\n\n{\"op\":\"nope\"}\n{\"op\":";
    CHECK_EQ(write(cfd, two, strlen(two)), (ssize_t)strlen(two));
    CHECK_EQ(control_client_readable(&vm, &c), 0);
    CHECK_EQ(write(cfd, "\"status\"}\n", 10), 10);
    CHECK_EQ(control_client_readable(&vm, &c), 0);
    char buf[8192] = "";
    ssize_t n = recv(cfd, buf, sizeof(buf) - 1, 0);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = 0;
    int lines = 0;
    for (char *p = buf; (p = strchr(p, '\n')); p++)
        lines++;
    CHECK_EQ(lines, 3);
    CHECK_CONTAINS(buf, "unknown op");
    /* A line over 4 KiB gets one error and the connection stays usable. */
    char big[5000];
    memset(big, 'x', sizeof(big));
    CHECK_EQ(write(cfd, big, sizeof(big)), (ssize_t)sizeof(big));
    for (int i = 0; i < 3; i++)
        CHECK_EQ(control_client_readable(&vm, &c), 0);
    CHECK_EQ(write(cfd, "\n{\"op\":\"status\"}\n", 17), 17);
    CHECK_EQ(control_client_readable(&vm, &c), 0);
    usleep(10000);
    n = recv(cfd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = 0;
    CHECK_CONTAINS(buf, "line too long");
    CHECK_CONTAINS(buf, "\"state\"");
    /* The client hangs up: the handler says so. */
    close(cfd);
    CHECK_EQ(control_client_readable(&vm, &c), -1);
    close(c.fd);
    close(lfd);
    unlink(path);
}

int main(void)
{
    tmpdir_make();
    vm.ncpus = 0;
    vm.stop_efd = eventfd(0, EFD_NONBLOCK);
    CHECK_EQ(gm_init(&vm.mem, 16 << 20), 0);
    CHECK_EQ(bus_init(&vm.bus), 0);
    pthread_mutex_init(&vm.lock, NULL);
    pthread_cond_init(&vm.cond, NULL);
    /* The registered devices, as the VMM makes them (no loop, no KVM). */
    static const struct vmm_config cfg = { .serial = VMM_SERIAL_NONE, .cpus = 1 };
    verr_t err;
    const struct vmdev_ctx ctx = { .cfg = &cfg, .bus = &vm.bus, .vm = &vm, .err = &err };
    vm.cfg = &cfg;
    CHECK_EQ(vmdevs_create(&vm.devs, &ctx), 0);
    clock_gettime(CLOCK_MONOTONIC, &vm.started);
    test_socket();
    test_protocol();
    vmdevs_destroy(&vm.devs);
    bus_destroy(&vm.bus);
    gm_free(&vm.mem);
    close(vm.stop_efd);
    return t_done("kvm.control");
}
