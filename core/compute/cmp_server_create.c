/* POST /servers: every check, then one write transaction that makes the
 * records and their ports (compute.h, "Create"), then the boots queued. */
#include "core/compute/cmp_internal.h"
#include "core/images/images.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT 64
#define MAX_NICS  8 /* VMMCTL_MAX_NETS */

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* "http://.../flavors/ID" or "ID" -> ID. */
static const char *ref_id(const char *ref)
{
    const char *slash = ref ? strrchr(ref, '/') : NULL;
    return slash ? slash + 1 : ref;
}

struct nic_req {
    char network_id[64], port_id[64], fixed_ip[64];
};

struct create_req {
    const char *name;
    const char *flavor_ref;
    json_t *flavor;            /* the record */
    json_t *volume_image_meta; /* of the boot volume */
    char boot_att[64];         /* its attachment */
    json_t *image;             /* NULL from a volume */
    const char *kernel_id, *ramdisk_id, *cmdline;
    const char *os_boot, *firmware_type; /* no kernel_id: how the disk boots */
    char image_id[64];
    /* boot volume given in the BDM */
    char boot_volume[64];
    bool boot_dot; /* delete_on_termination */
    long boot_gb;  /* from an image: the boot volume's size */
    struct nic_req nics[MAX_NICS];
    unsigned nnics;
    bool auto_net;
    json_t *sg_names; /* array of names */
    const char *key_name, *public_key_text;
    json_t *keypair;
    const char *user_data;
    json_t *metadata;
    json_t *access;    /* {"access_ipv4", "access_ipv6"} as given */
    const char *group; /* scheduler hint "group" */
    bool config_drive;
    long min, max;
};

static struct net_caller net_who(const struct compute_caller *who)
{
    return (struct net_caller){ who->project_id, who->is_admin, who->can_write };
}

static struct volumes_caller vol_who(const struct compute_caller *who)
{
    return (struct volumes_caller){ who->project_id, who->user_id, who->is_admin, who->can_write };
}

static int int_of(json_t *v, long dflt, long *out)
{
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (json_is_integer(v))
        *out = (long)json_integer_value(v);
    else if (json_is_string(v)) {
        char *end;
        *out = strtol(json_string_value(v), &end, 10);
        if (!*json_string_value(v) || *end)
            return -EINVAL;
    } else
        return -EINVAL;
    return 0;
}

/* The image's member status for who's project (NULL: no member). */
static const char *member_status(struct store_txn *t, struct image_db *db, const char *image,
                                 const char *project, json_t **hold)
{
    *hold = NULL;
    if (!project || image_db_member_get(t, db, image, project, hold))
        return NULL;
    return str(*hold, "status");
}

int cmp_usable_image(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                     const char *id, json_t **out, struct compute_err *err)
{
    json_t *img, *m;
    if (!id || !*id || image_db_get(t, c->host.images, id, &img))
        return cmp_fail(err, -EINVAL, "Image %s could not be found.", id ? id : "");
    struct image_caller ic = { who->project_id, who->is_admin, who->can_write };
    const char *ms = member_status(t, c->host.images, id, who->project_id, &m);
    bool ok = image_can_see(img, &ic, ms);
    json_decref(m);
    if (!ok) {
        json_decref(img);
        return cmp_fail(err, -EINVAL, "Image %s could not be found.", id);
    }
    if (strcmp(image_status(img) ?: "", "active")) {
        json_decref(img);
        return cmp_fail(err, -EINVAL, "Image %s is not active.", id);
    }
    *out = img;
    return 0;
}

int cmp_image_fits(const json_t *flavor, const json_t *img, long *boot_gb, struct compute_err *err)
{
    long disk = (long)json_integer_value(json_object_get(flavor, "disk"));
    long vsize = (long)json_integer_value(json_object_get(img, "virtual_size"));
    if (vsize <= 0)
        vsize = (long)json_integer_value(json_object_get(img, "size"));
    long need = (long)((vsize + (1L << 30) - 1) >> 30);
    if (disk && need > disk)
        return cmp_fail(err, -EINVAL,
                        "Flavor's disk is too small for requested image. Flavor disk is %ld "
                        "GiB, image needs %ld GiB.",
                        disk, need);
    long min_ram = (long)json_integer_value(json_object_get(img, "min_ram"));
    if (min_ram > json_integer_value(json_object_get(flavor, "ram")))
        return cmp_fail(err, -EINVAL, "Flavor's memory is too small for requested image.");
    *boot_gb = disk ? disk : (need ? need : 1);
    return 0;
}

/* kernel_id / ramdisk_id / os_command_line / os_boot / hw_firmware_type of
 * an image (or of a volume's volume_image_metadata), each checked usable.
 * No kernel_id: the disk boots itself (cmp_server_disk_boot.c). */
int cmp_resolve_kernel(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                       json_t *props, const char *self_id, struct cmp_boot_props *out,
                       struct compute_err *err)
{
    const char *k = str(props, "kernel_id"), *rd = str(props, "ramdisk_id");
    const char *fmt = str(props, "disk_format");
    if ((!k || !*k) && fmt && !strcmp(fmt, "aki") && self_id)
        k = self_id; /* a kernel image boots itself */
    memset(out, 0, sizeof *out);
    out->cmdline = str(props, "os_command_line");
    out->os_boot = str(props, "os_boot");
    out->firmware_type = str(props, "hw_firmware_type");
    enum cmp_boot_mode mode;
    if (cmp_boot_mode(out->os_boot, &mode))
        return cmp_fail(err, -EINVAL, "Image property os_boot=%s: direct or firmware expected.",
                        out->os_boot);
    if (!cmp_firmware_path(out->firmware_type))
        return cmp_fail(err, -EINVAL, "Image property hw_firmware_type=%s: bios or uefi expected.",
                        out->firmware_type);
    if (!k || !*k) /* the disk boots itself: its own kernel, or firmware */
        return 0;
    json_t *img;
    char why[sizeof err->msg];
    int rc = cmp_usable_image(c, t, who, k, &img, err);
    if (rc) {
        snprintf(why, sizeof why, "%s", err->msg);
        return cmp_fail(err, rc, "Kernel image %s (kernel_id) is not usable: %s", k, why);
    }
    json_decref(img);
    if (rd && *rd) {
        rc = cmp_usable_image(c, t, who, rd, &img, err);
        if (rc) {
            snprintf(why, sizeof why, "%s", err->msg);
            return cmp_fail(err, rc, "Ramdisk image %s (ramdisk_id) is not usable: %s", rd, why);
        }
        json_decref(img);
    }
    out->kernel_id = k;
    out->ramdisk_id = rd && *rd ? rd : NULL;
    return 0;
}

static int resolve_kernel(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                          json_t *props, const char *self_id, struct create_req *q,
                          struct compute_err *err)
{
    struct cmp_boot_props b;
    int rc = cmp_resolve_kernel(c, t, who, props, self_id, &b, err);
    if (!rc) {
        q->kernel_id = b.kernel_id;
        q->ramdisk_id = b.ramdisk_id;
        q->cmdline = b.cmdline;
        q->os_boot = b.os_boot;
        q->firmware_type = b.firmware_type;
    }
    return rc;
}

static int parse_bdm(json_t *bdms, struct create_req *q, struct compute_err *err)
{
    size_t i;
    json_t *b;
    if (!json_is_array(bdms))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute block_device_mapping_v2.");
    json_array_foreach (bdms, i, b) {
        const char *src = str(b, "source_type"), *dst = str(b, "destination_type");
        const char *uuid = str(b, "uuid");
        long boot;
        if (!json_is_object(b) || int_of(json_object_get(b, "boot_index"), -1, &boot))
            return cmp_fail(err, -EINVAL, "Invalid block_device_mapping_v2 entry.");
        if (boot != 0 && !json_is_null(json_object_get(b, "boot_index")))
            return cmp_fail(err, -EINVAL,
                            "Only the boot device (boot_index 0) may be given at create; "
                            "attach other volumes with os-volume_attachments.");
        if (!src || !uuid || (dst && strcmp(dst, "volume")))
            return cmp_fail(err, -EINVAL,
                            "Block device mapping needs source_type, uuid and destination_type "
                            "volume.");
        if (strlen(uuid) >= sizeof q->boot_volume)
            return cmp_fail(err, -EINVAL, "Invalid uuid in block_device_mapping_v2.");
        json_t *dot = json_object_get(b, "delete_on_termination");
        if (!strcmp(src, "volume")) {
            snprintf(q->boot_volume, sizeof q->boot_volume, "%s", uuid);
            q->boot_dot = json_is_true(dot);
        } else if (!strcmp(src, "image")) {
            snprintf(q->image_id, sizeof q->image_id, "%s", uuid);
            q->boot_dot = !dot || json_is_true(dot);
            if (int_of(json_object_get(b, "volume_size"), 0, &q->boot_gb) || q->boot_gb < 0)
                return cmp_fail(err, -EINVAL, "Invalid volume_size.");
        } else
            return cmp_fail(err, -EINVAL, "source_type %s is not supported.", src);
    }
    return 0;
}

static int parse_networks(json_t *nets, int micro, struct create_req *q, struct compute_err *err)
{
    if (!nets) {
        if (micro >= 37)
            return cmp_fail(err, -EINVAL,
                            "Invalid input for field/attribute networks: it is "
                            "required from microversion 2.37.");
        q->auto_net = true; /* before 2.37: the one network there is, if any */
        return 0;
    }
    if (json_is_string(nets)) {
        if (micro < 37)
            return cmp_fail(err, -EINVAL, "networks 'auto'/'none' need microversion 2.37.");
        if (!strcmp(json_string_value(nets), "auto"))
            q->auto_net = true;
        else if (strcmp(json_string_value(nets), "none"))
            return cmp_fail(err, -EINVAL, "networks must be 'auto', 'none' or a list.");
        return 0;
    }
    if (!json_is_array(nets))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute networks.");
    if (json_array_size(nets) > MAX_NICS)
        return cmp_fail(err, -EINVAL, "At most %d networks per server.", MAX_NICS);
    size_t i;
    json_t *n;
    json_array_foreach (nets, i, n) {
        const char *uuid = str(n, "uuid"), *port = str(n, "port"), *ip = str(n, "fixed_ip");
        if (!json_is_object(n) || (!uuid && !port) || (uuid && strlen(uuid) >= 64) ||
            (port && strlen(port) >= 64) || (ip && strlen(ip) >= 64))
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute networks.");
        struct nic_req *r = &q->nics[q->nnics++];
        snprintf(r->network_id, sizeof r->network_id, "%s", uuid ? uuid : "");
        snprintf(r->port_id, sizeof r->port_id, "%s", port ? port : "");
        snprintf(r->fixed_ip, sizeof r->fixed_ip, "%s", ip ? ip : "");
    }
    return 0;
}

/* The body, checked as to form (no lookups yet). */
static int parse(json_t *in, int micro, struct create_req *q, struct compute_err *err)
{
    if (!json_is_object(in))
        return cmp_fail(err, -EINVAL, "Invalid input: server must be an object.");
    json_t *name = json_object_get(in, "name");
    if (!json_is_string(name) || json_string_length(name) < 1 || json_string_length(name) > 255)
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute name.");
    q->name = json_string_value(name);
    if (!json_is_string(json_object_get(in, "flavorRef")) || !*str(in, "flavorRef"))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute flavorRef.");
    q->flavor_ref = ref_id(str(in, "flavorRef"));
    json_t *img = json_object_get(in, "imageRef");
    if (img && !json_is_string(img))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute imageRef.");
    if (img && *json_string_value(img)) {
        snprintf(q->image_id, sizeof q->image_id, "%s", ref_id(json_string_value(img)));
        q->boot_dot = true; /* a boot volume made from the image goes with the server */
    }
    json_t *bdm = json_object_get(in, "block_device_mapping_v2");
    int rc = bdm ? parse_bdm(bdm, q, err) : 0;
    if (rc)
        return rc;
    if (!q->image_id[0] && !q->boot_volume[0])
        return cmp_fail(err, -EINVAL,
                        "Block Device Mapping is Invalid: Boot sequence for the "
                        "instance and image/block device mapping combination is "
                        "not valid.");
    if ((rc = parse_networks(json_object_get(in, "networks"), micro, q, err)))
        return rc;
    json_t *sgs = json_object_get(in, "security_groups");
    q->sg_names = json_array();
    if (sgs) {
        size_t i;
        json_t *g;
        if (!json_is_array(sgs))
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute security_groups.");
        json_array_foreach (sgs, i, g) {
            if (!json_is_string(json_object_get(g, "name")))
                return cmp_fail(err, -EINVAL, "Invalid input for field/attribute security_groups.");
            json_array_append(q->sg_names, json_object_get(g, "name"));
        }
    }
    json_t *key = json_object_get(in, "key_name"), *ud = json_object_get(in, "user_data");
    if (key && !json_is_null(key) && !json_is_string(key))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute key_name.");
    q->key_name = json_string_value(key);
    if (ud && !json_is_null(ud) && !json_is_string(ud))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute user_data.");
    q->user_data = json_string_value(ud);
    if (q->user_data && (rc = compute_user_data_check(q->user_data, err)))
        return rc;
    json_t *hints = json_object_get(in, "scheduler_hints"), *grp = json_object_get(hints, "group");
    if ((hints && !json_is_object(hints)) || (grp && !json_is_string(grp)))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute os:scheduler_hints.");
    q->group = json_string_value(grp);
    q->access = json_object();
    if ((rc = cmp_access_ips_apply(in, q->access, err)))
        return rc;
    json_t *meta = json_object_get(in, "metadata");
    q->metadata = meta ? json_deep_copy(meta) : json_object();
    const char *k;
    json_t *v;
    if (!json_is_object(q->metadata))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute metadata.");
    json_object_foreach (q->metadata, k, v)
        if (!*k || strlen(k) > 255 || !json_is_string(v) || json_string_length(v) > 255)
            return cmp_fail(err, -EINVAL, "Invalid input for field/attribute metadata.");
    if (json_object_size(q->metadata) > 128)
        return cmp_fail(err, -EDQUOT, "Quota exceeded for metadata_items: at most 128.");
    json_t *cd = json_object_get(in, "config_drive");
    if (cd && !json_is_boolean(cd) && !json_is_null(cd) &&
        !(json_is_string(cd) &&
          (!strcasecmp(json_string_value(cd), "true") ||
           !strcasecmp(json_string_value(cd), "false") || !*json_string_value(cd))))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute config_drive.");
    q->config_drive =
        json_is_true(cd) || (json_is_string(cd) && !strcasecmp(json_string_value(cd), "true"));
    const char *az = str(in, "availability_zone");
    if (az && *az && strcmp(az, "nova"))
        return cmp_fail(err, -EINVAL, "The requested availability zone is not available");
    if (int_of(json_object_get(in, "min_count"), 1, &q->min) ||
        int_of(json_object_get(in, "max_count"), q->min, &q->max) || q->min < 1 || q->max < 1 ||
        q->min > q->max)
        return cmp_fail(err, -EINVAL,
                        "min_count and max_count must be integers, 1 <= "
                        "min_count <= max_count.");
    if (q->max > MAX_COUNT)
        q->max = q->min > MAX_COUNT ? q->min : MAX_COUNT;
    if (q->min > MAX_COUNT)
        return cmp_fail(err, -EINVAL, "At most %d servers at once.", MAX_COUNT);
    if (q->max > 1 && q->boot_volume[0])
        return cmp_fail(err, -EINVAL, "A volume can boot one server only (max_count 1).");
    for (unsigned i = 0; i < q->nnics; i++)
        if (q->max > 1 && (q->nics[i].port_id[0] || q->nics[i].fixed_ip[0]))
            return cmp_fail(err, -EINVAL, "A port or fixed IP serves one server only.");
    return 0;
}

/* The security group ids of the names (or ids) asked for. */
int cmp_resolve_groups(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                       json_t *names, json_t **ids, struct compute_err *err)
{
    struct net_caller nc = net_who(who);
    *ids = json_array();
    size_t i;
    json_t *n;
    json_array_foreach (names, i, n) {
        const char *name = json_string_value(n);
        json_t *f = json_pack("{s:s}", store_is_id(name) ? "id" : "name", name), *found = NULL;
        struct net_err ne = { 0 };
        int rc = net_list(t, c->host.net, NET_SECGROUP, f, &nc, &found, &ne);
        json_decref(f);
        if (rc == 0 && json_array_size(found) == 1)
            json_array_append(*ids, json_object_get(json_array_get(found, 0), "id"));
        size_t hits = json_array_size(found);
        json_decref(found);
        if (rc)
            return cmp_fail(err, rc, "%s", ne.msg);
        if (hits != 1)
            return cmp_fail(err, -EINVAL,
                            hits ? "Multiple security groups named %s; use its id."
                                 : "Security group %s not found for project %s.",
                            name, who->project_id ? who->project_id : "");
    }
    return 0;
}

/* "auto": the one network the project may use (its own or shared). */
static int auto_network(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                        int micro, struct create_req *q, struct compute_err *err)
{
    struct net_caller nc = net_who(who);
    json_t *all = NULL, *n, *pick = NULL;
    struct net_err ne = { 0 };
    int rc = net_list(t, c->host.net, NET_NETWORK, NULL, &nc, &all, &ne);
    if (rc)
        return cmp_fail(err, rc, "%s", ne.msg);
    size_t i, hits = 0;
    json_array_foreach (all, i, n) {
        if (json_is_true(json_object_get(n, "router:external")))
            continue;
        hits++;
        pick = n;
    }
    if (hits == 1)
        snprintf(q->nics[0].network_id, sizeof q->nics[0].network_id, "%s", str(pick, "id"));
    json_decref(all);
    if (hits == 1) {
        q->nnics = 1;
        return 0;
    }
    if (hits == 0 && micro < 37)
        return 0; /* no network at all: a server without a NIC, as old Nova */
    return cmp_fail(err, hits ? -EBUSY : -EINVAL,
                    hits ? "Multiple possible networks found, use a Network ID to be more "
                           "specific."
                         : "Unable to automatically allocate a network for project %s: it has "
                           "no network (and auto-allocated topologies are not offered).",
                    who->project_id ? who->project_id : "");
}

/* Checks every NIC's network and port as who (in t). */
static int check_nics(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                      struct create_req *q, struct compute_err *err)
{
    struct net_caller nc = net_who(who);
    for (unsigned i = 0; i < q->nnics; i++) {
        struct nic_req *r = &q->nics[i];
        struct net_err ne = { 0 };
        json_t *o = NULL;
        if (r->port_id[0]) {
            if (net_show(t, c->host.net, NET_PORT, r->port_id, &nc, &o, &ne))
                return cmp_fail(err, -EINVAL, "Port %s could not be found.", r->port_id);
            bool used = str(o, "device_id") && *str(o, "device_id");
            if (!used)
                snprintf(r->network_id, sizeof r->network_id, "%s", str(o, "network_id"));
            json_decref(o);
            if (used)
                return cmp_fail(err, -EBUSY, "Port %s is still in use.", r->port_id);
            for (unsigned j = 0; j < i; j++)
                if (!strcmp(q->nics[j].port_id, r->port_id))
                    return cmp_fail(err, -EINVAL, "Port %s is given twice.", r->port_id);
        }
        if (net_show(t, c->host.net, NET_NETWORK, r->network_id, &nc, &o, &ne))
            return cmp_fail(err, -EINVAL, "Network %s could not be found.", r->network_id);
        json_decref(o);
    }
    return 0;
}

/* A port entry of the record from a port resource. */
static json_t *port_entry(struct compute *c, struct store_txn *t, const json_t *port)
{
    json_t *net = NULL, *ips = json_array(), *ip;
    size_t i;
    net_record_get(t, c->host.net, NET_NETWORK, str(port, "network_id"), &net);
    json_array_foreach (json_object_get(port, "fixed_ips"), i, ip)
        json_array_append_new(ips, json_pack("{s:s?, s:s?}", "ip_address", str(ip, "ip_address"),
                                             "subnet_id", str(ip, "subnet_id")));
    json_t *e = json_pack("{s:s?, s:s?, s:s, s:s?, s:o, s:s}", "port_id", str(port, "id"),
                          "network_id", str(port, "network_id"), "network_name",
                          net && str(net, "name") && *str(net, "name") ? str(net, "name")
                                                                       : str(port, "network_id"),
                          "mac_address", str(port, "mac_address"), "fixed_ips", ips, "tap", "");
    json_decref(net);
    return e;
}

int cmp_add_port(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                 const char *network_id, const char *port_id, const char *fixed_ip, const char *sid,
                 json_t *sg_ids, json_t *rec, json_t **entry, struct compute_err *err)
{
    struct net_caller nc = net_who(who);
    struct net_err ne = { 0 };
    json_t *port = NULL;
    int rc;
    if (port_id && *port_id) {
        json_t *b = json_pack("{s:s, s:s}", "device_id", sid, "device_owner", "compute:nova");
        rc = net_update(t, c->host.net, NET_PORT, port_id, b, &nc, &port, &ne);
        json_decref(b);
    } else {
        json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "network_id", network_id, "device_id", sid,
                              "device_owner", "compute:nova", "name", "");
        if (json_array_size(sg_ids))
            json_object_set(b, "security_groups", sg_ids);
        if (fixed_ip && *fixed_ip)
            json_object_set_new(b, "fixed_ips", json_pack("[{s:s}]", "ip_address", fixed_ip));
        rc = net_create(t, c->host.net, NET_PORT, b, &nc, &port, &ne);
        json_decref(b);
        if (!rc)
            json_array_append(json_object_get(rec, "auto_ports"), json_object_get(port, "id"));
    }
    if (rc)
        return cmp_fail(err, rc == -ENOENT ? -EINVAL : rc, "Network %s: %s",
                        network_id ? network_id : "", ne.msg[0] ? ne.msg : "port not made");
    json_t *e = port_entry(c, t, port);
    json_array_append(json_object_get(rec, "ports"), e);
    if (entry)
        *entry = json_incref(e);
    json_decref(e);
    json_decref(port);
    return 0;
}

/* Creates (or takes) the ports of one server in t. */
static int make_ports(struct compute *c, struct store_txn *t, const struct compute_caller *who,
                      const struct create_req *q, const char *sid, json_t *sg_ids, json_t *rec,
                      struct compute_err *err)
{
    for (unsigned i = 0; i < q->nnics; i++) {
        const struct nic_req *r = &q->nics[i];
        int rc = cmp_add_port(c, t, who, r->network_id, r->port_id, r->fixed_ip, sid, sg_ids, rec,
                              NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *new_record(const struct compute_caller *who, const struct create_req *q,
                          const char *id, const char *name, json_t *groups)
{
    char now[32];
    cmp_now(now);
    json_t *f = q->flavor;
    json_t *flavor = json_pack("{s:s?, s:s?, s:O, s:O, s:O, s:O, s:O, s:O}", "id", str(f, "id"),
                               "name", str(f, "name"), "ram", json_object_get(f, "ram"), "vcpus",
                               json_object_get(f, "vcpus"), "disk", json_object_get(f, "disk"),
                               "ephemeral", json_object_get(f, "ephemeral") ?: json_integer(0),
                               "swap", json_object_get(f, "swap") ?: json_integer(0), "extra_specs",
                               json_object_get(f, "extra_specs") ?: json_object());
    json_t *vols = json_array();
    if (q->boot_volume[0])
        json_array_append_new(vols, json_pack("{s:s, s:s, s:i, s:b, s:s}", "volume_id",
                                              q->boot_volume, "device", "/dev/vda", "boot_index", 0,
                                              "delete_on_termination", q->boot_dot, "attachment_id",
                                              q->boot_att));
    return json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:s, s:n, s:s, s:o, s:s, s:s?, s:s?, s:s?, s:O, s:b, "
        "s:s, s:s, s:s, s:i, s:n, s:[], s:o, s:s, s:O, s:[], s:s?, s:s?, s:s?, s:i, s:b, s:s?, "
        "s:s?}",
        "id", id, "name", name, "project_id", who->project_id, "user_id", who->user_id, "created",
        now, "updated", now, "launched_at", "boot_id", "", "flavor", flavor, "image_id",
        q->image ? q->image_id : "", "key_name", q->key_name, "public_key",
        q->keypair ? str(q->keypair, "public_key") : NULL, "user_data", q->user_data, "metadata",
        q->metadata, "config_drive", q->config_drive, "availability_zone", "nova", "vm_state",
        "building", "task_state", "spawning", "power_state", 0, "fault", "ports", "volumes", vols,
        "config_drive_path", "", "security_groups", groups, "auto_ports", "kernel_id", q->kernel_id,
        "ramdisk_id", q->ramdisk_id, "cmdline", q->cmdline, "boot_gb", q->boot_gb, "boot_dot",
        q->boot_dot, "os_boot", q->os_boot, "firmware_type", q->firmware_type);
}

/* Everything that needs the store, then the records and ports: one
 * transaction. */
static int create_in_txn(struct compute *c, const struct compute_caller *who, int micro,
                         struct create_req *q, char ids[][STORE_ID_LEN + 1], json_t **out,
                         struct compute_err *err)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    json_t *groups = json_array(), *sg_ids = NULL, *recs = json_array();
    rc = compute_flavor_get(c, t, q->flavor_ref, &q->flavor);
    if (rc || !compute_flavor_visible(q->flavor, who->project_id)) {
        rc = cmp_fail(err, -EINVAL, "Flavor %s could not be found.", q->flavor_ref);
        goto out;
    }
    if (q->image_id[0]) {
        if ((rc = cmp_usable_image(c, t, who, q->image_id, &q->image, err)))
            goto out;
        if ((rc = resolve_kernel(c, t, who, q->image, q->image_id, q, err)))
            goto out;
        long gb;
        if ((rc = cmp_image_fits(q->flavor, q->image, &gb, err)))
            goto out;
        if (!q->boot_gb)
            q->boot_gb = gb;
    } else if ((rc = resolve_kernel(c, t, who, q->volume_image_meta, NULL, q, err)))
        goto out;
    if (q->key_name) {
        if (compute_keypair_get(c, t, who->user_id, q->key_name, &q->keypair)) {
            rc = cmp_fail(err, -EINVAL, "Invalid key_name provided.");
            goto out;
        }
    }
    if (q->auto_net && (rc = auto_network(c, t, who, micro, q, err)))
        goto out;
    if ((rc = check_nics(c, t, who, q, err)))
        goto out;
    if ((rc = cmp_resolve_groups(c, t, who, q->sg_names, &sg_ids, err)))
        goto out;
    json_t *g;
    size_t gi;
    json_array_foreach (q->sg_names, gi, g)
        json_array_append(groups, g);
    if (!json_array_size(groups) && q->nnics)
        json_array_append_new(groups, json_string("default"));
    long vcpus = (long)json_integer_value(json_object_get(q->flavor, "vcpus"));
    long ram = (long)json_integer_value(json_object_get(q->flavor, "ram"));
    long n = q->max;
    /* Nova makes as many as fit between min_count and max_count. */
    for (; n >= q->min; n--) {
        struct compute_err e2 = { "" };
        rc = cmp_check_room(c, t, who->project_id, n, n * vcpus, n * ram, &e2);
        if (!rc || n == q->min) {
            if (rc)
                *err = e2;
            break;
        }
    }
    if (rc)
        goto out;
    if (q->group && (rc = cmp_group_join(c, t, who, q->group, ids, n, err)))
        goto out;
    for (long i = 0; i < n; i++) {
        char name[300];
        if (n > 1)
            snprintf(name, sizeof name, "%s-%ld", q->name, i + 1);
        else
            snprintf(name, sizeof name, "%s", q->name);
        json_t *rec = new_record(who, q, ids[i], name, groups);
        if (!rec) {
            rc = -ENOMEM;
            goto out;
        }
        json_object_update(rec, q->access);
        json_array_append_new(recs, rec);
        if ((rc = make_ports(c, t, who, q, ids[i], sg_ids, rec, err)))
            goto out;
        if ((rc = store_put(t, c->servers, ids[i], rec)))
            goto out;
        if ((rc = cmp_action_record(c, t, who, ids[i], "create", NULL)))
            goto out;
    }
    rc = store_commit(t);
    t = NULL;
out:
    store_abort(t);
    json_decref(groups);
    json_decref(sg_ids);
    if (rc)
        json_decref(recs);
    else
        *out = recs;
    return rc;
}

static void req_free(struct create_req *q)
{
    json_decref(q->flavor);
    json_decref(q->image);
    json_decref(q->volume_image_meta);
    json_decref(q->sg_names);
    json_decref(q->keypair);
    json_decref(q->metadata);
    json_decref(q->access);
}

/* The boot volume of the BDM: the caller's, available; attached (begun)
 * to the first server before the records are written. */
static int take_boot_volume(struct compute *c, const struct compute_caller *who,
                            struct create_req *q, const char *sid, struct compute_err *err)
{
    struct volumes_caller vc = vol_who(who);
    json_t *vol;
    if (volume_get(c->host.volumes, &vc, q->boot_volume, &vol))
        return cmp_fail(err, -EINVAL, "Volume %s could not be found.", q->boot_volume);
    bool ok = !strcmp(str(vol, "status") ?: "", "available");
    q->volume_image_meta = json_deep_copy(json_object_get(vol, "volume_image_metadata"));
    json_decref(vol);
    if (!ok)
        return cmp_fail(err, -EBUSY, "Volume %s is not available (in use or busy).",
                        q->boot_volume);
    if (!q->volume_image_meta)
        q->volume_image_meta = json_object();
    json_t *att;
    int rc = volume_attach_begin(c->host.volumes, &vc, q->boot_volume, sid, "rw", &att);
    if (rc)
        return cmp_fail(err, rc, "Volume %s: %s", q->boot_volume, volumes_error());
    snprintf(q->boot_att, sizeof q->boot_att, "%s", str(att, "id") ?: "");
    json_decref(att);
    return 0;
}

int compute_server_create(struct compute *c, const struct compute_caller *who, json_t *in,
                          int microversion, json_t **out, struct compute_err *err)
{
    if (!c->host.images || !c->host.net || !c->host.volumes)
        return cmp_fail(err, -ENXIO, "The compute host is not running.");
    if (!who->project_id || !who->can_write)
        return cmp_fail(err, -EPERM, "Policy doesn't allow os_compute_api:servers:create.");
    struct create_req q = { 0 };
    int rc = parse(in, microversion, &q, err);
    char(*ids)[STORE_ID_LEN + 1] = rc ? NULL : calloc((size_t)q.max, sizeof *ids);
    if (!rc && !ids)
        rc = -ENOMEM;
    for (long i = 0; !rc && i < q.max; i++)
        store_new_id(ids[i]);
    if (!rc && q.boot_volume[0])
        rc = take_boot_volume(c, who, &q, ids[0], err);
    if (!rc)
        rc = create_in_txn(c, who, microversion, &q, ids, out, err);
    if (q.boot_att[0]) {
        struct volumes_caller vc = vol_who(who);
        if (rc)
            volume_detach(c->host.volumes, &vc, q.boot_volume, q.boot_att);
        else if (volume_attach_complete(c->host.volumes, &vc, q.boot_att, "/dev/vda", NULL))
            cmp_server_set_state(c, ids[0], "error", "", 0, volumes_error());
    }
    if (!rc) {
        size_t i;
        json_t *rec;
        json_array_foreach (*out, i, rec)
            cmp_job_queue(c, CMP_JOB_BUILD, str(rec, "id"));
    }
    free(ids);
    req_free(&q);
    return rc;
}
