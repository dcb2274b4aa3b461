/* The host side of servers: vmmctl, the worker thread and its jobs (build,
 * start, stop, hard reboot, delete), vmmctl's events -> Nova states, and
 * adoption at start (compute.h, "SERVERS"). */
#include "core/compute/cmp_internal.h"
#include "core/blockstore/blockstore.h"
#include "core/images/images.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/vmmctl/vmmctl.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_STOP_MS 60000u

struct cmp_job {
    struct cmp_job *next;
    enum cmp_job_kind kind;
    char id[STORE_ID_LEN + 1];
};

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int load(struct compute *c, const char *id, json_t **rec)
{
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    rc = store_get(t, c->servers, id, rec);
    store_abort(t);
    return rc;
}

/* Stores a changed record (read-modify-write of the fields given). */
static int save_fields(struct compute *c, const char *id, json_t *fields)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec;
    rc = store_get(t, c->servers, id, &rec);
    if (!rc) {
        json_object_update(rec, fields);
        rc = cmp_server_put(c, t, rec);
        json_decref(rec);
    }
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

static void fail_server(struct compute *c, const char *id, const char *what, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", what, why && *why ? why : "failed");
    fprintf(stderr, "picostackd: server %s: %s\n", id, msg);
    cmp_server_set_state(c, id, "error", "", 4, msg);
}

/* ---- kernel and initrd files out of the block store ---- */

static int image_file(struct compute *c, const char *image_id, char *path, size_t len, char *why,
                      size_t wlen)
{
    json_t *img = NULL;
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (!rc) {
        rc = image_db_get(t, c->host.images, image_id, &img);
        store_abort(t);
    }
    if (rc) {
        snprintf(why, wlen, "image %s is gone", image_id);
        return rc;
    }
    const char *obj = image_private_get(img, IMAGE_DISK);
    int64_t size = json_integer_value(json_object_get(img, "size"));
    char obj_name[128];
    snprintf(obj_name, sizeof obj_name, "%s", obj ? obj : "");
    json_decref(img);
    if (!obj_name[0]) {
        snprintf(why, wlen, "image %s has no data", image_id);
        return -ENODATA;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/compute", c->data_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/compute/kernels", c->data_dir);
    mkdir(dir, 0700);
    int n = snprintf(path, len, "%s/%s", dir, image_id);
    if (n < 0 || (size_t)n >= len) {
        snprintf(why, wlen, "data dir path too long");
        return -ENAMETOOLONG;
    }
    struct stat st;
    if (stat(path, &st) == 0)
        return 0; /* images never change once active: written once */
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)gettid());
    if (!c->host.bs) {
        snprintf(why, wlen, "no block store");
        return -ENXIO;
    }
    c->host.bs_lock(c->host.bs_ctx);
    rc = blockstore_export(c->host.bs, obj_name, tmp, BLOCKSTORE_FMT_RAW);
    c->host.bs_unlock(c->host.bs_ctx);
    if (!rc && size > 0 && truncate(tmp, size) < 0)
        rc = -errno;
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(why, wlen, "writing image %s out: %s", image_id, strerror(-rc));
    }
    return rc;
}

/* ---- the spec ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned b[6];
    if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

/* Plugs the server's ports (with a data plane) and notes their taps. */
static int plug_ports(struct compute *c, json_t *rec, char *why, size_t wlen)
{
    json_t *ports = json_object_get(rec, "ports"), *p;
    size_t i;
    if (!c->host.netdp)
        return 0;
    json_array_foreach (ports, i, p) {
        struct store_txn *t;
        struct net_err ne = { 0 };
        char ifname[16] = "";
        int rc = store_begin(c->store, true, &t);
        if (rc)
            return rc;
        rc = net_dp_plug(c->host.netdp, t, c->host.net, str(p, "port_id"), NET_PLUG_TAP, ifname,
                         &ne);
        if (rc) {
            store_abort(t);
            snprintf(why, wlen, "plugging port %s: %s", str(p, "port_id"), ne.msg);
            return rc;
        }
        if ((rc = store_commit(t)))
            return rc;
        json_object_set_new(p, "tap", json_string(ifname));
    }
    if (json_array_size(ports)) {
        struct store_txn *t;
        struct net_err ne = { 0 };
        int rc = store_begin(c->store, false, &t);
        if (!rc) {
            rc = net_dp_sync(c->host.netdp, t, c->host.net, &ne);
            store_abort(t);
        }
        if (rc)
            fprintf(stderr, "picostackd: network sync after plugging: %s\n", ne.msg);
    }
    json_t *f = json_pack("{s:O}", "ports", ports);
    int rc = save_fields(c, str(rec, "id"), f);
    json_decref(f);
    return rc;
}

/* A kernel_id image: its kernel (and ramdisk) images, root=/dev/vda. */
static int kernel_image_boot(struct compute *c, json_t *rec, struct vmm_spec *s, char *why,
                             size_t wlen)
{
    const char *k = str(rec, "kernel_id"), *rd = str(rec, "ramdisk_id");
    int rc = image_file(c, k, s->kernel, sizeof s->kernel, why, wlen);
    if (!rc && rd && *rd)
        rc = image_file(c, rd, s->initrd, sizeof s->initrd, why, wlen);
    if (rc)
        return rc;
    const char *cl = str(rec, "cmdline") ?: "";
    /* reboot=k: the VMM resets through the i8042 (its FADT has no reset
     * register), which a soft reboot needs to come back. */
    snprintf(s->cmdline, sizeof s->cmdline, "%s%sroot=/dev/vda%s%s", cl, *cl ? " " : "",
             strstr(cl, "console=") ? "" : " console=ttyS0",
             strstr(cl, "reboot=") ? "" : " reboot=k");
    return 0;
}

static int fill_spec(struct compute *c, json_t *rec, struct vmm_spec *s, char *why, size_t wlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", str(rec, "id"));
    json_t *f = json_object_get(rec, "flavor");
    s->cpus = (unsigned)json_integer_value(json_object_get(f, "vcpus"));
    s->mem_mib = (uint64_t)json_integer_value(json_object_get(f, "ram"));
    s->cpu_weight = 100 * s->cpus;
    json_t *v;
    size_t i;
    /* The boot volume first, then the others in attachment order. */
    bool have_boot = false;
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach (json_object_get(rec, "volumes"), i, v) {
            bool boot = json_integer_value(json_object_get(v, "boot_index")) == 0 &&
                        json_is_integer(json_object_get(v, "boot_index"));
            if (boot != (pass == 0))
                continue;
            if (s->ndisks >= VMMCTL_MAX_DISKS - 1) {
                snprintf(why, wlen, "too many volumes");
                return -E2BIG;
            }
            struct vmm_spec_disk *d = &s->disks[s->ndisks++];
            char obj[64];
            volumes_object_name(obj, "volume", str(v, "volume_id"));
            snprintf(d->object, sizeof d->object, "%s", obj);
            snprintf(d->serial, sizeof d->serial, "%.20s", str(v, "volume_id"));
            have_boot = have_boot || boot;
        }
    /* No kernel_id: the image boots its own kernel, or its firmware. */
    const char *k = str(rec, "kernel_id");
    int rc = k && *k ? kernel_image_boot(c, rec, s, why, wlen)
                     : cmp_disk_boot(c, rec, have_boot ? s->disks[0].object : NULL, s, why, wlen);
    if (rc)
        return rc;
    const char *cd = str(rec, "config_drive_path");
    if (cd && *cd) {
        struct vmm_spec_disk *d = &s->disks[s->ndisks++];
        snprintf(d->path, sizeof d->path, "%s", cd);
        d->read_only = true;
        snprintf(d->serial, sizeof d->serial, "config-2");
    }
    json_array_foreach (json_object_get(rec, "ports"), i, v) {
        const char *tap = str(v, "tap");
        if (!tap || !*tap || s->nnets >= VMMCTL_MAX_NETS)
            continue; /* not plugged (no data plane): no NIC for it */
        struct vmm_spec_net *n = &s->nets[s->nnets++];
        snprintf(n->tap, sizeof n->tap, "%s", tap);
        snprintf(n->netns, sizeof n->netns, "%s", c->netns);
        if (parse_mac(str(v, "mac_address"), n->mac)) {
            snprintf(why, wlen, "bad MAC of port %s", str(v, "port_id"));
            return -EINVAL;
        }
    }
    return 0;
}

/* Plugs, writes the kernel, starts the VMM. */
static int start_vm(struct compute *c, const char *id, char *why, size_t wlen)
{
    if (!c->vmm) {
        snprintf(why, wlen, "no hypervisor: %s", c->vmm_error);
        return -ENXIO;
    }
    json_t *rec;
    int rc = load(c, id, &rec);
    if (rc) {
        snprintf(why, wlen, "record gone");
        return rc;
    }
    rc = plug_ports(c, rec, why, wlen);
    if (!rc)
        rc = cmp_config_drive_make(c, rec, why, wlen);
    struct vmm_spec *s = calloc(1, sizeof *s);
    if (!rc && !s)
        rc = -ENOMEM;
    if (!rc)
        rc = fill_spec(c, rec, s, why, wlen);
    json_decref(rec);
    struct vmmctl_err e = { "" };
    if (!rc && (rc = vmmctl_start(c->vmm, s, &e)))
        snprintf(why, wlen, "%s", e.msg[0] ? e.msg : strerror(-rc));
    free(s);
    return rc;
}

/* ---- jobs ---- */

static int make_boot_volume(struct compute *c, const char *id, char *why, size_t wlen)
{
    json_t *rec, *img = NULL;
    int rc = load(c, id, &rec);
    if (rc)
        return rc;
    const char *image_id = str(rec, "image_id");
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(rec, "volumes"), i, v)
        if (json_is_integer(json_object_get(v, "boot_index"))) {
            json_decref(rec);
            return 0; /* booted from a volume, or made already */
        }
    struct store_txn *t;
    rc = store_begin(c->store, false, &t);
    if (!rc) {
        rc = image_db_get(t, c->host.images, image_id, &img);
        store_abort(t);
    }
    struct volumes_caller vc = { str(rec, "project_id"), str(rec, "user_id"), false, true };
    json_t *vol = NULL, *att = NULL, *meta = json_pack("{s:s}", "picostack_boot_of", id);
    if (!rc) {
        const char *obj = image_private_get(img, IMAGE_DISK);
        int64_t vs = json_integer_value(json_object_get(img, "virtual_size"));
        struct volume_create req = {
            .name = "",
            .size_gb = (uint64_t)json_integer_value(json_object_get(rec, "boot_gb")),
            .image_id = image_id,
            .image_object = obj,
            .image_bytes =
                (uint64_t)(vs > 0 ? vs : json_integer_value(json_object_get(img, "size"))),
            .image_meta = img,
            .metadata = meta,
        };
        if (!obj) {
            snprintf(why, wlen, "image %s has no data", image_id);
            rc = -ENODATA;
        } else if ((rc = volume_create(c->host.volumes, &vc, &req, &vol)))
            snprintf(why, wlen, "boot volume: %s", volumes_error());
    }
    if (!rc && (rc = volume_attach_begin(c->host.volumes, &vc, str(vol, "id"), id, "rw", &att)))
        snprintf(why, wlen, "boot volume: %s", volumes_error());
    if (!rc &&
        (rc = volume_attach_complete(c->host.volumes, &vc, str(att, "id"), "/dev/vda", NULL)))
        snprintf(why, wlen, "boot volume: %s", volumes_error());
    if (!rc) {
        json_t *vols = json_deep_copy(json_object_get(rec, "volumes"));
        json_array_insert_new(vols, 0,
                              json_pack("{s:s, s:s, s:i, s:b, s:s}", "volume_id", str(vol, "id"),
                                        "device", "/dev/vda", "boot_index", 0,
                                        "delete_on_termination",
                                        json_is_true(json_object_get(rec, "boot_dot")),
                                        "attachment_id", str(att, "id")));
        json_t *f = json_pack("{s:o}", "volumes", vols);
        rc = save_fields(c, id, f);
        json_decref(f);
    }
    json_decref(att);
    json_decref(vol);
    json_decref(meta);
    json_decref(img);
    json_decref(rec);
    return rc;
}

static void job_build(struct compute *c, const char *id)
{
    char why[512] = "";
    json_t *rec;
    if (load(c, id, &rec))
        return;
    bool go = !strcmp(str(rec, "vm_state") ?: "", "building") &&
              !strcmp(str(rec, "task_state") ?: "", "spawning");
    json_decref(rec);
    if (!go)
        return;
    int rc = make_boot_volume(c, id, why, sizeof why);
    if (!rc)
        rc = start_vm(c, id, why, sizeof why);
    if (rc)
        fail_server(c, id, "Build of instance failed", why);
}

static void job_start(struct compute *c, const char *id)
{
    char why[512] = "";
    if (start_vm(c, id, why, sizeof why))
        fail_server(c, id, "Start failed", why);
}

static unsigned stop_ms(void)
{
    const char *e = getenv("PICOSTACK_SHUTDOWN_TIMEOUT");
    long s = e && *e ? strtol(e, NULL, 10) : 0;
    return s > 0 && s < 3600 ? (unsigned)s * 1000u : DEFAULT_STOP_MS;
}

static void job_stop(struct compute *c, const char *id)
{
    struct vmmctl_err e = { "" };
    int rc = c->vmm ? vmmctl_stop(c->vmm, id, stop_ms(), &e) : -ENOENT;
    if (rc == -ENOENT) /* not running: it is stopped already */
        cmp_server_set_state(c, id, "stopped", "", 4, NULL);
    else if (rc)
        fail_server(c, id, "Stop failed", e.msg);
}

static void job_reboot_hard(struct compute *c, const char *id)
{
    struct vmmctl_err e = { "" };
    char why[512] = "";
    if (c->vmm && vmmctl_running(c->vmm, id)) {
        int rc = vmmctl_kill(c->vmm, id, &e);
        if (rc && rc != -ENOENT)
            return fail_server(c, id, "Reboot failed", e.msg);
    }
    if (start_vm(c, id, why, sizeof why))
        fail_server(c, id, "Reboot failed", why);
}

/* Detaches and deletes the boot volume made from the old image and drops
 * it from the record (make_boot_volume then makes the new one). */
static int drop_boot_volume(struct compute *c, const char *id, char *why, size_t wlen)
{
    json_t *rec, *v;
    int rc = load(c, id, &rec);
    if (rc)
        return rc;
    json_t *vols = json_deep_copy(json_object_get(rec, "volumes")) ?: json_array();
    struct volumes_caller vc = { str(rec, "project_id"), str(rec, "user_id"), true, true };
    for (size_t i = 0; !rc && i < json_array_size(vols); i++) {
        v = json_array_get(vols, i);
        if (json_integer_value(json_object_get(v, "boot_index")) != 0 ||
            !json_is_integer(json_object_get(v, "boot_index")))
            continue;
        const char *vid = str(v, "volume_id"), *att = str(v, "attachment_id");
        rc = volume_detach(c->host.volumes, &vc, vid, att && *att ? att : NULL);
        if ((!rc || rc == -ENOENT) && (rc = volume_delete(c->host.volumes, &vc, vid, 0)) == -ENOENT)
            rc = 0;
        if (rc)
            snprintf(why, wlen, "old boot volume %s: %s", vid, volumes_error());
        else
            json_array_remove(vols, i--);
    }
    json_t *f = json_pack("{s:o}", "volumes", vols);
    if (!rc)
        rc = save_fields(c, id, f);
    json_decref(f);
    json_decref(rec);
    return rc;
}

static void job_rebuild(struct compute *c, const char *id)
{
    char why[512] = "";
    struct vmmctl_err e = { "" };
    json_t *rec;
    if (load(c, id, &rec))
        return;
    bool go = !strcmp(str(rec, "task_state") ?: "", "rebuilding");
    bool start = strcmp(str(rec, "rebuild_from") ?: "", "stopped");
    bool from_image = str(rec, "image_id") && *str(rec, "image_id");
    json_decref(rec);
    if (!go)
        return;
    int rc = 0;
    if (c->vmm && vmmctl_running(c->vmm, id) && (rc = vmmctl_kill(c->vmm, id, &e)) == -ENOENT)
        rc = 0;
    if (rc)
        snprintf(why, sizeof why, "%s", e.msg);
    if (!rc && from_image && !(rc = drop_boot_volume(c, id, why, sizeof why)))
        rc = make_boot_volume(c, id, why, sizeof why);
    if (!rc && start)
        rc = start_vm(c, id, why, sizeof why); /* VMMCTL_RUNNING: active */
    else if (!rc)
        rc = cmp_server_set_state(c, id, "stopped", "", 4, NULL);
    if (rc)
        fail_server(c, id, "Rebuild failed", why);
}

static void job_delete(struct compute *c, const char *id)
{
    struct vmmctl_err e = { "" };
    if (c->vmm) {
        int rc = vmmctl_kill(c->vmm, id, &e);
        if (rc && rc != -ENOENT)
            fprintf(stderr, "picostackd: server %s: kill: %s\n", id, e.msg);
        vmmctl_forget(c->vmm, id);
    }
    int rc = cmp_server_teardown(c, id);
    if (rc)
        fprintf(stderr, "picostackd: server %s: teardown: %s\n", id, strerror(-rc));
}

static void run_job(struct compute *c, struct cmp_job *j)
{
    switch (j->kind) {
    case CMP_JOB_BUILD: job_build(c, j->id); break;
    case CMP_JOB_START: job_start(c, j->id); break;
    case CMP_JOB_STOP: job_stop(c, j->id); break;
    case CMP_JOB_REBOOT_HARD: job_reboot_hard(c, j->id); break;
    case CMP_JOB_DELETE: job_delete(c, j->id); break;
    case CMP_JOB_REBUILD: job_rebuild(c, j->id); break;
    }
}

static void *worker(void *arg)
{
    struct compute *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->jobs && !c->stopping)
            pthread_cond_wait(&c->cond, &c->lock);
        if (!c->jobs)
            break; /* stopping, queue drained */
        struct cmp_job *j = c->jobs;
        c->jobs = j->next;
        if (!c->jobs)
            c->jobs_tail = &c->jobs;
        pthread_mutex_unlock(&c->lock);
        run_job(c, j);
        free(j);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int cmp_job_queue(struct compute *c, enum cmp_job_kind kind, const char *id)
{
    struct cmp_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->kind = kind;
    snprintf(j->id, sizeof j->id, "%s", id);
    if (!c->host_up) { /* no worker: run what can run here (tests of the model) */
        run_job(c, j);
        free(j);
        return 0;
    }
    pthread_mutex_lock(&c->lock);
    *c->jobs_tail = j;
    c->jobs_tail = &j->next;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int cmp_vmm_pause(struct compute *c, const char *id, bool pause, struct compute_err *err)
{
    struct vmmctl_err e = { "" };
    if (!c->vmm)
        return cmp_fail(err, -ENXIO, "no hypervisor: %s", c->vmm_error);
    int rc = vmmctl_pause(c->vmm, id, pause, &e);
    return rc ? cmp_fail(err, rc == -ENOENT ? -EBUSY : rc, "%s", e.msg[0] ? e.msg : strerror(-rc))
              : 0;
}

int cmp_vmm_reboot_soft(struct compute *c, const char *id, struct compute_err *err)
{
    struct vmmctl_err e = { "" };
    if (!c->vmm)
        return cmp_fail(err, -ENXIO, "no hypervisor: %s", c->vmm_error);
    int rc = vmmctl_reboot_soft(c->vmm, id, &e);
    return rc ? cmp_fail(err, rc == -ENOENT ? -EBUSY : rc, "%s", e.msg[0] ? e.msg : strerror(-rc))
              : 0;
}

int compute_server_console(struct compute *c, const struct compute_caller *who, const char *id,
                           unsigned lines, char **out)
{
    json_t *rec;
    int rc = compute_server_find(c, who, id, &rec);
    if (rc)
        return rc;
    json_decref(rec);
    if (!c->vmm) {
        *out = strdup("");
        return *out ? 0 : -ENOMEM;
    }
    rc = vmmctl_console_tail(c->vmm, id, lines, out);
    if (rc == -ENOENT) { /* never ran, or its run dir was cleaned */
        *out = strdup("");
        rc = *out ? 0 : -ENOMEM;
    }
    return rc;
}

/* ---- vmmctl's events (its thread) ---- */

static void on_event(void *ctx, const char *id, enum vmmctl_event ev, const char *detail)
{
    struct compute *c = ctx;
    json_t *rec;
    if (load(c, id, &rec))
        return;
    const char *task = str(rec, "task_state") ?: "", *vm = str(rec, "vm_state") ?: "";
    bool deleting = !strcmp(task, "deleting");
    /* the worker kills and starts the VMM itself for these */
    bool hard = !strcmp(task, "rebooting_hard") || !strcmp(task, "rebuilding");
    bool held = !strcmp(vm, "paused") || !strcmp(vm, "suspended");
    json_decref(rec);
    if (deleting)
        return;
    switch (ev) {
    case VMMCTL_RUNNING:
        if (!held)
            cmp_server_set_state(c, id, "active", "", 1, NULL);
        break;
    case VMMCTL_RESET: cmp_server_set_state(c, id, "active", "", 1, NULL); break;
    case VMMCTL_POWEROFF:
        if (!hard)
            cmp_server_set_state(c, id, "stopped", "", 4, NULL);
        break;
    case VMMCTL_KILLED:
        if (!hard)
            cmp_server_set_state(c, id, "stopped", "", 4, NULL);
        break;
    case VMMCTL_ERROR: {
        char msg[512];
        snprintf(msg, sizeof msg, "The VMM ended: %s", detail && *detail ? detail : "unexpectedly");
        cmp_server_set_state(c, id, "error", "", 4, msg);
        break;
    }
    }
}

/* ---- start: adoption ---- */

/* This host boot's id. PICOSTACK_BOOT_ID pretends another one: how the
 * tests make a daemon restart look like one after a host reboot. */
static void read_boot_id(char out[64])
{
    out[0] = 0;
    const char *fake = getenv("PICOSTACK_BOOT_ID");
    if (fake && *fake) {
        snprintf(out, 64, "%s", fake);
        return;
    }
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    if (fgets(out, 64, f))
        out[strcspn(out, "\n")] = 0;
    fclose(f);
}

/* RUN/<id>/exit ("error: ..." after a failure), read before adoption
 * cleans the run directory. */
static void read_exit(struct compute *c, const char *id, char *out, size_t len)
{
    char p[PATH_MAX];
    out[0] = 0;
    snprintf(p, sizeof p, "%s/vmm/%s/exit", c->data_dir, id);
    FILE *f = fopen(p, "r");
    if (!f)
        return;
    if (fgets(out, (int)len, f))
        out[strcspn(out, "\n")] = 0;
    fclose(f);
}

static int collect_ids(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
    (void)v;
    (void)vl;
    json_array_append_new(ctx, json_stringn(k, kl));
    return 0;
}

static void settle(struct compute *c, const char *id)
{
    json_t *rec;
    if (load(c, id, &rec))
        return;
    const char *vm = str(rec, "vm_state") ?: "", *task = str(rec, "task_state") ?: "";
    bool rebooted = strcmp(str(rec, "boot_id") ?: "", c->boot_id) != 0;
    char exitline[300];
    if (!strcmp(task, "deleting")) {
        cmp_job_queue(c, CMP_JOB_DELETE, id);
    } else if (!strcmp(vm, "building")) {
        struct vmmctl_err e = { "" };
        if (c->vmm && vmmctl_adopt(c->vmm, id, &e) == 1)
            cmp_server_set_state(c, id, "active", "", 1, NULL);
        else
            cmp_job_queue(c, CMP_JOB_BUILD, id); /* spawning again: idempotent steps */
    } else if (!strcmp(vm, "active") || !strcmp(vm, "paused") || !strcmp(vm, "suspended")) {
        struct vmmctl_err e = { "" };
        read_exit(c, id, exitline, sizeof exitline);
        int rc = c->vmm ? vmmctl_adopt(c->vmm, id, &e) : -ENXIO;
        if (rc != 1)
            fprintf(stderr, "picostackd: server %s (%s): not adopted (%d%s%s)\n", id, vm, rc,
                    e.msg[0] ? ": " : "", e.msg);
        if (rc < 0 && rc != -ENXIO) {
            char msg[400];
            snprintf(msg, sizeof msg, "Its VMM could not be adopted after a restart: %s",
                     e.msg[0] ? e.msg : strerror(-rc));
            cmp_server_set_state(c, id, "error", "", 0, msg);
        } else if (rc == 1) {
            if (*task)
                cmp_server_set_state(c, id, NULL, "", -1, NULL);
        } else if (rebooted && !strcmp(vm, "active") && c->vmm) {
            cmp_server_set_state(c, id, "stopped", "powering-on", 4, NULL);
            cmp_job_queue(c, CMP_JOB_START, id);
        } else if (!strncmp(exitline, "error:", 6)) {
            char msg[400];
            snprintf(msg, sizeof msg, "The VMM ended while picostackd was away: %s", exitline + 6);
            cmp_server_set_state(c, id, "error", "", 4, msg);
        } else
            cmp_server_set_state(c, id, "stopped", "", 4, NULL);
    } else if (*task && strcmp(task, "resize_prep")) {
        cmp_server_set_state(c, id, NULL, "", -1, NULL); /* a task cut off: settled */
    }
    json_decref(rec);
}

static void bs_lock_fn(void *ctx)
{
    struct compute *c = ctx;
    c->host.bs_lock(c->host.bs_ctx);
}
static void bs_unlock_fn(void *ctx)
{
    struct compute *c = ctx;
    c->host.bs_unlock(c->host.bs_ctx);
}

int compute_host_start(struct compute *c, const struct compute_host *h, struct compute_err *err)
{
    c->host = *h;
    snprintf(c->data_dir, sizeof c->data_dir, "%s",
             h->data_dir && *h->data_dir ? h->data_dir : ".");
    snprintf(c->netns, sizeof c->netns, "%s", h->netns ? h->netns : "");
    if (h->vmm_path && *h->vmm_path)
        snprintf(c->vmm_path, sizeof c->vmm_path, "%s", h->vmm_path);
    else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
        snprintf(c->vmm_path, sizeof c->vmm_path, "%s/picostack-vmm", dirname(self));
    }
    snprintf(c->jailer_path, sizeof c->jailer_path, "%s", h->jailer_path ? h->jailer_path : "");
    snprintf(c->cgroup_parent, sizeof c->cgroup_parent, "%s",
             h->cgroup_parent ? h->cgroup_parent : "");
    c->host.data_dir = c->data_dir;
    c->host.netns = c->netns;
    c->host.vmm_path = c->vmm_path;
    read_boot_id(c->boot_id);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->jobs = NULL;
    c->jobs_tail = &c->jobs;

    char run[PATH_MAX];
    snprintf(run, sizeof run, "%s/vmm", c->data_dir);
    struct vmmctl_config vc = {
        .run_dir = run,
        .vmm_path = c->vmm_path,
        .jailer_path = c->jailer_path[0] ? c->jailer_path : NULL,
        .jail_uid_base = h->jail_uid_base,
        .cgroup_parent = c->cgroup_parent[0] ? c->cgroup_parent : NULL,
        .bs = h->bs,
        .bs_lock = { bs_lock_fn, bs_unlock_fn, c },
        .on_event = on_event,
        .ctx = c,
    };
    struct vmmctl_err e = { "" };
    int rc = h->bs ? vmmctl_open(&vc, &c->vmm, &e) : -ENXIO;
    if (rc) {
        snprintf(c->vmm_error, sizeof c->vmm_error, "%s",
                 e.msg[0] ? e.msg
                 : h->bs  ? strerror(-rc)
                          : "no block store");
        fprintf(stderr, "picostackd: compute: servers cannot run: %s\n", c->vmm_error);
        c->vmm = NULL;
    }
    cmp_resize_hook_install(c);
    /* Adopt or settle every server before serving. */
    json_t *ids = json_array();
    struct store_txn *t;
    rc = store_begin(c->store, false, &t);
    if (!rc) {
        rc = store_scan(t, c->servers, NULL, 0, collect_ids, ids);
        store_abort(t);
    }
    rc = pthread_create(&c->worker, NULL, worker, c);
    if (rc) {
        json_decref(ids);
        if (c->vmm)
            vmmctl_close(c->vmm);
        c->vmm = NULL;
        return cmp_fail(err, -rc, "cannot start the compute worker");
    }
    c->host_up = true;
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id)
        settle(c, json_string_value(id));
    json_decref(ids);
    return 0;
}

void compute_host_stop(struct compute *c)
{
    if (!c->host_up)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->worker, NULL);
    c->host_up = false;
    cmp_resize_hook_remove();
    if (c->vmm)
        vmmctl_close(c->vmm);
    c->vmm = NULL;
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}
