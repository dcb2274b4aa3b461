/* Volume and interface attachments of a server. They change the record
 * (and the volume through core/volumes, the port through core/networks)
 * and take effect at the next start of its VMM: picostack-vmm has no
 * hot-plug yet. */
#include "core/compute/cmp_internal.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_VOLUMES 15 /* VMMCTL_MAX_DISKS less the config drive */

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *const ATTACHABLE[] = { "active", "stopped", "paused", "suspended", NULL };

static bool attachable(const json_t *rec)
{
    const char *vm = str(rec, "vm_state") ?: "";
    for (const char *const *s = ATTACHABLE; *s; s++)
        if (!strcmp(vm, *s))
            return !str(rec, "task_state");
    return false;
}

/* Loads, checks state, lets fn change the record, records the action. */
static int change(struct compute *c, const struct compute_caller *who, const char *id,
                  const char *action,
                  int (*fn)(json_t *rec, void *ctx, struct store_txn *t, struct compute_err *err),
                  void *ctx, struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *rec = NULL;
    rc = cmp_server_load(c, t, who, id, true, &rec);
    if (!rc && !attachable(rec))
        rc = cmp_fail(err, -EBUSY, "Cannot '%s' instance %s while it is in vm_state %s", action, id,
                      str(rec, "vm_state"));
    if (!rc && !(rc = fn(rec, ctx, t, err)) && !(rc = cmp_server_put(c, t, rec)))
        rc = cmp_action_record(c, t, who, id, action, NULL);
    json_decref(rec);
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

static struct volumes_caller vol_who(const struct compute_caller *who)
{
    return (struct volumes_caller){ who->project_id, who->user_id, who->is_admin, who->can_write };
}

struct vol_op {
    const char *volume_id, *device;
    char attachment[64], dev[16];
    json_t *entry;
};

static int next_device(json_t *rec, const char *asked, char out[16], struct compute_err *err)
{
    json_t *v;
    size_t i;
    if (json_array_size(json_object_get(rec, "volumes")) >= MAX_VOLUMES)
        return cmp_fail(err, -EDQUOT, "Maximum number of volumes (%d) reached.", MAX_VOLUMES);
    for (char l = asked ? 0 : 'b'; l <= 'z'; l++) {
        if (asked)
            snprintf(out, 16, "%s", asked);
        else
            snprintf(out, 16, "/dev/vd%c", l);
        bool used = false;
        json_array_foreach (json_object_get(rec, "volumes"), i, v)
            used |= !strcmp(str(v, "device") ?: "", out);
        if (!used)
            return 0;
        if (asked)
            return cmp_fail(err, -EINVAL, "The supplied device path (%s) is in use.", asked);
    }
    return cmp_fail(err, -EDQUOT, "No free device name.");
}

static int add_volume(json_t *rec, void *ctx, struct store_txn *t, struct compute_err *err)
{
    (void)t;
    struct vol_op *op = ctx;
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(rec, "volumes"), i, v)
        if (!strcmp(str(v, "volume_id") ?: "", op->volume_id))
            return cmp_fail(err, -EBUSY, "Volume %s is already attached to this server.",
                            op->volume_id);
    int rc = next_device(rec, op->device, op->dev, err);
    if (rc)
        return rc;
    op->entry =
        json_pack("{s:s, s:s, s:n, s:b, s:s}", "volume_id", op->volume_id, "device", op->dev,
                  "boot_index", "delete_on_termination", 0, "attachment_id", op->attachment);
    json_array_append(json_object_get(rec, "volumes"), op->entry);
    return 0;
}

static json_t *attachment_view(const char *server, const json_t *entry)
{
    return json_pack("{s:s?, s:s?, s:s, s:s?, s:O}", "id", str(entry, "volume_id"), "volumeId",
                     str(entry, "volume_id"), "serverId", server, "device", str(entry, "device"),
                     "delete_on_termination", json_object_get(entry, "delete_on_termination"));
}

int compute_volume_attach(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *volume_id, const char *device, json_t **out,
                          struct compute_err *err)
{
    if (!c->host.volumes)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    if (device && (strncmp(device, "/dev/vd", 7) || strlen(device) != 8 || device[7] < 'b' ||
                   device[7] > 'z'))
        return cmp_fail(err, -EINVAL, "The supplied device path (%s) is invalid.", device);
    json_t *rec;
    int rc = compute_server_find(c, who, id, &rec);
    if (rc)
        return rc;
    bool ok = attachable(rec);
    json_decref(rec);
    if (!ok)
        return cmp_fail(err, -EBUSY, "Cannot 'attach_volume' instance %s in this state.", id);
    struct volumes_caller vc = vol_who(who);
    json_t *vol, *att;
    if ((rc = volume_get(c->host.volumes, &vc, volume_id, &vol)))
        return cmp_fail(err, rc, "Volume %s could not be found.", volume_id);
    json_decref(vol);
    if ((rc = volume_attach_begin(c->host.volumes, &vc, volume_id, id, "rw", &att)))
        return cmp_fail(err, rc == -EBUSY ? -EBUSY : rc, "Invalid volume: %s", volumes_error());
    struct vol_op op = { volume_id, device, "", "", NULL };
    snprintf(op.attachment, sizeof op.attachment, "%s", str(att, "id") ?: "");
    json_decref(att);
    rc = change(c, who, id, "attach_volume", add_volume, &op, err);
    if (!rc && volume_attach_complete(c->host.volumes, &vc, op.attachment, op.dev, NULL))
        fprintf(stderr, "picostackd: attach %s: %s\n", volume_id, volumes_error());
    if (rc)
        volume_detach(c->host.volumes, &vc, volume_id, op.attachment);
    else
        *out = attachment_view(id, op.entry);
    json_decref(op.entry);
    return rc;
}

static int drop_volume(json_t *rec, void *ctx, struct store_txn *t, struct compute_err *err)
{
    (void)t;
    struct vol_op *op = ctx;
    json_t *vols = json_object_get(rec, "volumes"), *v;
    size_t i;
    json_array_foreach (vols, i, v) {
        if (strcmp(str(v, "volume_id") ?: "", op->volume_id))
            continue;
        if (json_is_integer(json_object_get(v, "boot_index")) &&
            json_integer_value(json_object_get(v, "boot_index")) == 0)
            return cmp_fail(err, -EINVAL, "Can't detach root device volume");
        snprintf(op->attachment, sizeof op->attachment, "%s", str(v, "attachment_id") ?: "");
        json_array_remove(vols, i);
        return 0;
    }
    return cmp_fail(err, -ENOENT, "Volume %s is not attached to server %s", op->volume_id,
                    str(rec, "id"));
}

int compute_volume_detach(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *volume_id, struct compute_err *err)
{
    if (!c->host.volumes)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    struct vol_op op = { volume_id, NULL, "", "", NULL };
    int rc = change(c, who, id, "detach_volume", drop_volume, &op, err);
    if (rc)
        return rc;
    struct volumes_caller vc = vol_who(who);
    vc.is_admin = true; /* the server's owner detaches what the server held */
    if ((rc = volume_detach(c->host.volumes, &vc, volume_id,
                            op.attachment[0] ? op.attachment : NULL)))
        fprintf(stderr, "picostackd: detach %s: %s\n", volume_id, volumes_error());
    return 0;
}

/* ---- interfaces ---- */

struct if_op {
    const struct compute_caller *who;
    struct compute *c;
    const char *net_id, *port_id, *ip;
    json_t *entry;
    bool made;
};

static int add_interface(json_t *rec, void *ctx, struct store_txn *t, struct compute_err *err)
{
    struct if_op *op = ctx;
    if (json_array_size(json_object_get(rec, "ports")) >= 8)
        return cmp_fail(err, -EDQUOT, "Maximum number of ports (8) reached.");
    struct net_caller nc = { op->who->project_id, op->who->is_admin, op->who->can_write };
    struct net_err ne = { 0 };
    json_t *o = NULL;
    if (op->port_id) {
        if (net_show(t, op->c->host.net, NET_PORT, op->port_id, &nc, &o, &ne))
            return cmp_fail(err, -ENOENT, "Port %s could not be found.", op->port_id);
        bool used = str(o, "device_id") && *str(o, "device_id");
        json_decref(o);
        if (used)
            return cmp_fail(err, -EBUSY, "Port %s is still in use.", op->port_id);
    } else if (net_show(t, op->c->host.net, NET_NETWORK, op->net_id, &nc, &o, &ne))
        return cmp_fail(err, -ENOENT, "Network %s could not be found.", op->net_id);
    else
        json_decref(o);
    return cmp_add_port(op->c, t, op->who, op->net_id, op->port_id, op->ip, str(rec, "id"), NULL,
                        rec, &op->entry, err);
}

int compute_interface_attach(struct compute *c, const struct compute_caller *who, const char *id,
                             json_t *in, json_t **out, struct compute_err *err)
{
    if (!c->host.net)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    const char *port = json_string_value(json_object_get(in, "port_id"));
    const char *net = json_string_value(json_object_get(in, "net_id"));
    json_t *ips = json_object_get(in, "fixed_ips");
    const char *ip = json_string_value(json_object_get(json_array_get(ips, 0), "ip_address"));
    if (!json_is_object(in) || (!port && !net) || (port && net))
        return cmp_fail(err, -EINVAL, "Give exactly one of port_id and net_id.");
    struct if_op op = { who, c, net, port, ip, NULL, false };
    int rc = change(c, who, id, "attach_interface", add_interface, &op, err);
    if (rc)
        return rc;
    *out = op.entry;
    return 0;
}

static int drop_interface(json_t *rec, void *ctx, struct store_txn *t, struct compute_err *err)
{
    (void)t;
    struct if_op *op = ctx;
    json_t *ports = json_object_get(rec, "ports"), *p, *made = json_object_get(rec, "auto_ports");
    size_t i;
    json_array_foreach (ports, i, p) {
        if (strcmp(str(p, "port_id") ?: "", op->port_id))
            continue;
        json_array_remove(ports, i);
        json_array_foreach (made, i, p)
            if (!strcmp(json_string_value(p) ?: "", op->port_id)) {
                op->made = true;
                json_array_remove(made, i);
                break;
            }
        return 0;
    }
    return cmp_fail(err, -ENOENT, "Port %s is not attached", op->port_id);
}

int compute_interface_detach(struct compute *c, const struct compute_caller *who, const char *id,
                             const char *port_id, struct compute_err *err)
{
    if (!c->host.net)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    struct if_op op = { who, c, NULL, port_id, NULL, NULL, false };
    int rc = change(c, who, id, "detach_interface", drop_interface, &op, err);
    if (rc)
        return rc;
    cmp_port_release(c, port_id, op.made);
    cmp_net_sync(c);
    return 0;
}
