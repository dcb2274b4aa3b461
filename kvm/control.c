#include "kvm/control.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/devices/acpi_ged.h"
#include "kvm/devices/i8042.h"
#include "kvm/virtio/blk.h"

static double uptime_s(const struct vm *vm)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - vm->started.tv_sec) + (now.tv_nsec - vm->started.tv_nsec) / 1e9;
}

/* {"0x3e9": [reads, writes], ...} for the first ports nobody answers. */
static json_t *unknown_ports(struct vm *vm)
{
    json_t *o = json_object();
    const struct bus_map *m = &vm->bus.map[BUS_PIO];
    bus_lock(&vm->bus);
    for (int i = 0; o && i < m->nunknown; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%#llx", (unsigned long long)m->unknown[i].addr);
        json_object_set_new(
            o, key,
            json_pack("[I, I]", (json_int_t)m->unknown[i].reads, (json_int_t)m->unknown[i].writes));
    }
    bus_unlock(&vm->bus);
    return o;
}

static json_t *status(struct vm *vm)
{
    const struct bus_map *pio = &vm->bus.map[BUS_PIO], *mmio = &vm->bus.map[BUS_MMIO];
    json_t *st = json_pack(
        "{s:b, s:s, s:i, s:I, s:f, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}}", "ok", 1, "state",
        vm_paused(vm) ? "paused" : "running", "vcpus", (int)vm->ncpus, "mem_mib",
        (json_int_t)(vm->mem.size >> 20), "uptime_s", uptime_s(vm), "exits", "total",
        (json_int_t)vm->exits, "io", (json_int_t)vm->exits_io, "mmio", (json_int_t)vm->exits_mmio,
        "unknown_io", "reads", (json_int_t)pio->unknown_reads, "writes",
        (json_int_t)pio->unknown_writes, "post_port_writes", (json_int_t)vm->bus.post_writes,
        "mmio", (json_int_t)(mmio->unknown_reads + mmio->unknown_writes));
    if (st) {
        json_object_set_new(st, "unknown_ports", unknown_ports(vm));
        json_t *devs = json_array();
        for (unsigned i = 0; devs && i < vm->devs.n; i++)
            if (vm->devs.devs[i].desc->status)
                vm->devs.devs[i].desc->status(vm->devs.devs[i].state, devs);
        json_object_set_new(st, "devices", devs);
    }
    return st;
}

/* The disk a request names ("disk": N, the N-th --disk), or an error. */
static struct blk_disk *disk_of(struct vm *vm, json_t *req, json_t **reply)
{
    json_t *n = json_object_get(req, "disk");
    struct blk_disk *d = NULL;
    if (json_is_integer(n) && json_integer_value(n) >= 0 && json_integer_value(n) < 1000)
        d = blk_disk_find(&vm->devs, (unsigned)json_integer_value(n));
    if (!d)
        *reply = json_pack("{s:b, s:s}", "ok", 0, "error",
                           "\"disk\": the index of a --disk (0, 1, ...) expected");
    return d;
}

/* {"op":"disk-resize","disk":N,"size":BYTES} */
static json_t *disk_resize(struct vm *vm, json_t *req)
{
    json_t *reply = NULL, *size = json_object_get(req, "size");
    struct blk_disk *d = disk_of(vm, req, &reply);
    if (!d)
        return reply;
    if (!json_is_integer(size) || json_integer_value(size) <= 0)
        return json_pack("{s:b, s:s}", "ok", 0, "error", "\"size\": bytes expected");
    int r = blk_disk_resize(d, (uint64_t)json_integer_value(size));
    if (r < 0)
        return json_pack("{s:b, s:s}", "ok", 0, "error",
                         r == -EINVAL ? "the size must grow and be a multiple of 512"
                                      : strerror(-r));
    return json_pack("{s:b, s:I}", "ok", 1, "size", json_integer_value(size));
}

/* {"op":"grant","disk":N,"ranges":[[START,COUNT],...][,"files":[F,...]]}:
 * the i-th file index takes the i-th descriptor the client passed */
static json_t *grant(struct vm *vm, json_t *req, int *fds, int *nfds)
{
    json_t *reply = NULL, *ranges = json_object_get(req, "ranges");
    struct blk_disk *d = disk_of(vm, req, &reply);
    if (!d)
        return reply;
    struct extmap_range r[16];
    size_t n = json_array_size(ranges);
    if (!json_is_array(ranges) || n == 0 || n > 16)
        return json_pack("{s:b, s:s}", "ok", 0, "error",
                         "\"ranges\": 1 to 16 [start, count] pairs expected");
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(ranges, i), *a = json_array_get(p, 0), *b = json_array_get(p, 1);
        if (json_array_size(p) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) < 0 || json_integer_value(b) <= 0)
            return json_pack("{s:b, s:s}", "ok", 0, "error",
                             "\"ranges\": [start, count] pairs of whole numbers expected");
        r[i] = (struct extmap_range){ (uint64_t)json_integer_value(a),
                                      (uint64_t)json_integer_value(b) };
    }
    json_t *files = json_object_get(req, "files");
    size_t nf = files ? json_array_size(files) : 0;
    if (files && (!json_is_array(files) || nf > (size_t)*nfds))
        return json_pack("{s:b, s:s}", "ok", 0, "error",
                         "\"files\": one data-file index per descriptor passed (SCM_RIGHTS)");
    int fidx[CONTROL_MAX_FDS];
    for (size_t i = 0; i < nf; i++) {
        json_t *f = json_array_get(files, i);
        if (!json_is_integer(f) || json_integer_value(f) < 0 ||
            json_integer_value(f) >= EXTMAP_MAX_FILES)
            return json_pack("{s:b, s:s}", "ok", 0, "error", "\"files\": data-file indexes");
        fidx[i] = (int)json_integer_value(f);
    }
    int e = nf ? blk_disk_add_files(d, fidx, fds, (int)nf) : 0;
    if (e == 0 && nf) { /* the disk owns them now */
        memmove(fds, fds + nf, (size_t)(*nfds - (int)nf) * sizeof(*fds));
        *nfds -= (int)nf;
    }
    if (e == 0)
        e = blk_disk_grant(d, r, (int)n);
    if (e < 0)
        return json_pack("{s:b, s:s}", "ok", 0, "error",
                         e == -EINVAL ? "the disk is a raw file: it takes no grants"
                                      : "too many grants waiting");
    return json_pack("{s:b}", "ok", 1);
}

static json_t *error(const char *msg)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *state_reply(struct vm *vm)
{
    return json_pack("{s:b, s:s}", "ok", 1, "state", vm_paused(vm) ? "paused" : "running");
}

static json_t *dispatch(struct vm *vm, const char *op, json_t *req, int *fds, int *nfds)
{
    if (!strcmp(op, "disk-resize"))
        return disk_resize(vm, req);
    if (!strcmp(op, "grant"))
        return grant(vm, req, fds, nfds);
    if (!strcmp(op, "status"))
        return status(vm);
    if (!strcmp(op, "pause")) {
        if (vm_pause(vm) < 0)
            return error("vCPUs did not stop within 1 s");
        return state_reply(vm);
    }
    if (!strcmp(op, "resume")) {
        vm_resume(vm);
        return state_reply(vm);
    }
    if (!strcmp(op, "shutdown")) {
        struct i8042 *kbd = vmdevs_find(&vm->devs, "i8042", 0);
        if (!kbd)
            return error("no keyboard controller to send Ctrl-Alt-Del to");
        bus_lock(&vm->bus);
        i8042_inject_ctrl_alt_del(kbd);
        bus_unlock(&vm->bus);
        if (vm_paused(vm))
            return error("the VM is paused: resume it to let the guest see Ctrl-Alt-Del");
        return json_pack("{s:b, s:s}", "ok", 1, "sent", "ctrl-alt-del");
    }
    if (!strcmp(op, "powerdown")) {
        struct acpi_ged *ged = vmdevs_find(&vm->devs, "acpi-ged", 0);
        if (!ged)
            return error("no ACPI event device to press the power button on");
        bus_lock(&vm->bus);
        acpi_ged_raise(ged, ACPI_GED_PWRBTN);
        bus_unlock(&vm->bus);
        if (vm_paused(vm))
            return error("the VM is paused: resume it to let the guest see the power button");
        return json_pack("{s:b, s:s}", "ok", 1, "sent", "power-button");
    }
    if (!strcmp(op, "kill")) {
        vm_request_stop(vm, VMM_EXIT_OK, "killed over the control socket");
        return json_pack("{s:b, s:s}", "ok", 1, "state", "stopping");
    }
    return NULL;
}

void control_handle_line(struct vm *vm, const char *line, char *out, size_t outlen)
{
    int nfds = 0;
    control_handle_line_fds(vm, line, NULL, &nfds, out, outlen);
}

void control_handle_line_fds(struct vm *vm, const char *line, int *fds, int *nfds, char *out,
                             size_t outlen)
{
    json_error_t jerr;
    json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *reply;
    if (!req) {
        char msg[256];
        snprintf(msg, sizeof(msg), "bad JSON: %s", jerr.text);
        reply = error(msg);
    } else if (!json_is_object(req) || !json_is_string(json_object_get(req, "op"))) {
        reply = error("expected an object with a string \"op\"");
    } else {
        const char *op = json_string_value(json_object_get(req, "op"));
        reply = dispatch(vm, op, req, fds, nfds);
        if (!reply) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "unknown op '%.60s': status, pause, resume, shutdown, powerdown, "
                     "kill, disk-resize or grant",
                     op);
            reply = error(msg);
        }
    }
    json_decref(req);
    char *s = reply ? json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    snprintf(out, outlen, "%s\n", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    free(s);
    json_decref(reply);
}

int control_listen(const char *path, verr_t *err)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path))
        return verr_set(err, ENAMETOOLONG, "control socket path %s is too long", path);
    strcpy(addr.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return verr_set(err, EEXIST, "%s exists and is not a socket", path);
        unlink(path); /* a stale socket from an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return verr_set(err, errno, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        close(fd);
        return verr_set(err, e, "control socket %s: %s", path, strerror(e));
    }
    return fd;
}

static int reply(int fd, const char *s)
{
    size_t len = strlen(s), done = 0;
    while (done < len) {
        ssize_t w = send(fd, s + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1; /* a client that does not read its answers is dropped */
        done += w;
    }
    return 0;
}

/* recv() that also takes descriptors passed with SCM_RIGHTS (kept in c,
 * up to CONTROL_MAX_FDS; more are closed at once). */
static ssize_t recv_with_fds(struct control_client *c)
{
    union {
        char buf[CMSG_SPACE(CONTROL_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = { c->buf + c->len, sizeof(c->buf) - c->len };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)
    };
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
            if (c->nfds < CONTROL_MAX_FDS)
                c->fds[c->nfds++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

void control_client_close(struct control_client *c)
{
    for (int i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    c->nfds = 0;
    close(c->fd);
}

int control_client_readable(struct vm *vm, struct control_client *c)
{
    ssize_t n = recv_with_fds(c);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0)
        return -1;
    c->len += n;
    char out[2048];
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (!nl) {
            if (c->len == sizeof(c->buf)) { /* no newline in 4 KiB */
                if (!c->discarding && reply(c->fd, "{\"ok\":false,\"error\":\"line too long\"}\n"))
                    return -1;
                c->discarding = 1;
                c->len = 0;
            }
            return 0;
        }
        *nl = 0;
        size_t used = nl + 1 - c->buf;
        if (c->discarding) {
            c->discarding = 0;
        } else if (c->buf[0] && strspn(c->buf, " \t\r") != strlen(c->buf)) {
            control_handle_line_fds(vm, c->buf, c->fds, &c->nfds, out, sizeof(out));
            if (reply(c->fd, out))
                return -1;
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
}

/* ---- the socket on the event loop ---- */

static int on_client(void *opaque, int res)
{
    struct control_slot *slot = opaque;
    if (res >= 0 && control_client_readable(slot->srv->vm, &slot->client) == 0)
        return LOOP_KEEP;
    control_client_close(&slot->client);
    slot->in_use = false;
    return LOOP_DROP;
}

static int on_listen(void *opaque, int res)
{
    struct control_server *srv = opaque;
    (void)res;
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return LOOP_KEEP;
    struct control_slot *slot = NULL;
    for (int i = 0; i < CONTROL_MAX_CLIENTS && !slot; i++)
        if (!srv->slots[i].in_use)
            slot = &srv->slots[i];
    if (!slot) {
        reply(fd, "{\"ok\":false,\"error\":\"too many control clients\"}\n");
        close(fd);
        return LOOP_KEEP;
    }
    memset(slot, 0, sizeof(*slot));
    slot->srv = srv;
    slot->client.fd = fd;
    slot->in_use = true;
    if (!(slot->src = loop_add_fd(srv->loop, fd, on_client, slot))) {
        close(fd);
        slot->in_use = false;
    }
    return LOOP_KEEP;
}

int control_start(struct control_server *srv, struct vm *vm, struct loop *l, const char *path,
                  verr_t *err)
{
    memset(srv, 0, sizeof(*srv));
    srv->vm = vm;
    srv->loop = l;
    srv->path = path;
    srv->listen_fd = control_listen(path, err);
    if (srv->listen_fd < 0)
        return srv->listen_fd;
    if (!loop_add_fd(l, srv->listen_fd, on_listen, srv)) {
        int e = errno;
        control_stop(srv);
        return verr_set(err, e, "control socket: %s", strerror(e));
    }
    return 0;
}

void control_stop(struct control_server *srv)
{
    for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
        if (srv->slots[i].in_use) {
            control_client_close(&srv->slots[i].client);
            srv->slots[i].in_use = false;
        }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        unlink(srv->path);
    }
    srv->listen_fd = -1;
}
