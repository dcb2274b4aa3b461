/* The compute service: Nova v2.1 under /compute/v2.1, as DevStack lays it
 * out (catalog type "compute"): version discovery, flavors, keypairs,
 * limits, quota sets, servers (+ actions, metadata, volume attachments,
 * interfaces, instance actions).  Here: the state (core/compute and its
 * own handles on the volume, network and image models, the host side
 * started before serving), microversions, discovery, routes. */
#include "api/compute/internal.h"
#include "core/images/images.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Parses "2.x" or "latest"; -1 malformed, -2 out of range. */
static int parse_version(const char *ver)
{
    if (!strcasecmp(ver, "latest"))
        return CMP_MAX_MICRO;
    int maj, min;
    char extra;
    if (sscanf(ver, "%d.%d%c", &maj, &min, &extra) != 2)
        return -1;
    if (maj != 2 || min < CMP_MIN_MICRO || min > CMP_MAX_MICRO)
        return -2;
    return min;
}

int cmp_micro(struct api_req *r)
{
    const char *h = api_req_header(r, "OpenStack-API-Version");
    const char *nova = api_req_header(r, "X-OpenStack-Nova-API-Version");
    char ver[32] = "";
    if (h) {
        char svc[32];
        if (sscanf(h, "%31s %31s", svc, ver) != 2 || strcasecmp(svc, "compute"))
            ver[0] = 0; /* another service's header: not ours */
    }
    if (!ver[0] && nova)
        snprintf(ver, sizeof ver, "%s", nova);
    int minor = CMP_MIN_MICRO;
    if (ver[0]) {
        minor = parse_version(ver);
        if (minor == -1) {
            api_reply_error(r, 400, "Invalid API version request: %s", ver);
            return -1;
        }
        if (minor == -2) {
            api_reply_error(r, 406,
                            "Version %s is not supported by the API. Minimum is 2.%d and "
                            "maximum is 2.%d.",
                            ver, CMP_MIN_MICRO, CMP_MAX_MICRO);
            return -1;
        }
    }
    char v[32], n[16];
    snprintf(v, sizeof v, "compute 2.%d", minor);
    snprintf(n, sizeof n, "2.%d", minor);
    api_reply_header(r, "OpenStack-API-Version", v);
    api_reply_header(r, "X-OpenStack-Nova-API-Version", n);
    api_reply_header(r, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    /* Nova's own name for the request id (the instance action log's key) */
    api_reply_header(r, "X-Compute-Request-Id", api_req_id(r));
    return minor;
}

void cmp_reply_err(struct api_req *r, int rc, const struct compute_err *err, const char *fallback)
{
    api_reply_errno(r, rc, "%s", err && err->msg[0] ? err->msg : fallback);
}

json_t *cmp_body(struct api_req *r, const char *key, json_t **body)
{
    *body = api_req_json(r);
    if (!*body)
        return NULL;
    json_t *v = json_object_get(*body, key);
    if (!json_is_object(v)) {
        api_reply_error(r, 400, "Invalid input: '%s' is a required object.", key);
        json_decref(*body);
        *body = NULL;
        return NULL;
    }
    return v;
}

/* ---- version discovery ---- */

static json_t *version_doc(struct api_req *r)
{
    char self[512], max[16], min[16];
    snprintf(self, sizeof self, "%s/compute/v2.1/", api_req_base_url(r));
    snprintf(max, sizeof max, "2.%d", CMP_MAX_MICRO);
    snprintf(min, sizeof min, "2.%d", CMP_MIN_MICRO);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "id", "v2.1",
                     "status", "CURRENT", "version", max, "min_version", min, "updated",
                     "2013-07-23T11:33:21Z", "links", "href", self, "rel", "self", "media-types",
                     "base", "application/json", "type",
                     "application/vnd.openstack.compute+json;version=2.1");
}

static void versions(struct api_req *r)
{
    api_reply_json(r, 200, json_pack("{s:[o]}", "versions", version_doc(r)));
}

static void version_v21(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    api_reply_json(r, 200, json_pack("{s:o}", "version", version_doc(r)));
}

static void bs_lock(void *srv)
{
    api_blockstore_lock(srv);
}
static void bs_unlock(void *srv)
{
    api_blockstore_unlock(srv);
}

static void compute_fini(void *state)
{
    struct cmp_state *st = state;
    if (!st)
        return;
    cmp_consoles_close(st->consoles);
    compute_close(st->c); /* the worker first: it uses the handles below */
    if (st->images)
        image_db_close(st->images);
    if (st->net)
        net_db_close(st->net);
    if (st->volumes)
        volumes_close(st->volumes);
    free(st);
}

/* The jail of each VMM (kvm/jail/jail.h): PICOSTACK_JAILER=none runs them
 * unjailed, =PATH names the jailer; unset, picostackd running as root uses
 * the picostack-jailer beside it when there is one. Cgroup limits need
 * cgroup v2 with the cpu and memory controllers (PICOSTACK_CGROUP_PARENT,
 * default /sys/fs/cgroup/picostack); a host without them jails without
 * limits, and says so. */
static const char *jailer_path(char *buf, size_t len)
{
    const char *e = getenv("PICOSTACK_JAILER");
    if (e && !strcmp(e, "none"))
        return NULL;
    if (e && *e)
        return e;
    if (geteuid() != 0)
        return NULL;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    if (snprintf(buf, len, "%s/picostack-jailer", self) >= (int)len)
        return NULL;
    return access(buf, X_OK) == 0 ? buf : NULL;
}

static bool has_controller(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return true;
    return false;
}

static const char *cgroup_parent(void)
{
    const char *e = getenv("PICOSTACK_CGROUP_PARENT");
    if (e && !strcmp(e, "none"))
        return NULL;
    char list[512] = "";
    FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "r");
    if (f) {
        if (!fgets(list, sizeof list, f))
            list[0] = 0;
        fclose(f);
    }
    if (!has_controller(list, "cpu") || !has_controller(list, "memory")) {
        fprintf(stderr, "picostackd: compute: no cgroup v2 cpu and memory controllers here: "
                        "jailed VMMs run without cgroup limits\n");
        return NULL;
    }
    return e && *e ? e : "/sys/fs/cgroup/picostack";
}

/* The servers' side: handles on the other models, then vmmctl and the
 * adoption of running servers (compute_host_start), before serving. */
static int host_start(struct api_server *srv, struct cmp_state *st)
{
    struct store *s = api_server_store(srv);
    struct blockstore *bs = api_server_blockstore(srv);
    struct volumes_bs_lock lk = { bs_lock, bs_unlock, srv };
    struct volumes_config vcfg = { 0 };
    int rc = bs ? volumes_open(s, bs, &lk, &vcfg, &st->volumes) : 0;
    if (!rc)
        rc = net_db_open(s, &st->net);
    if (!rc)
        rc = image_db_open(s, &st->images);
    if (rc)
        return rc;
    const struct api_config *cfg = api_server_config(srv);
    char jailer[PATH_MAX];
    struct compute_host h = {
        .volumes = st->volumes,
        .net = st->net,
        .netdp = api_server_netdp(srv),
        .netns = cfg->netdp_netns,
        .images = st->images,
        .bs = bs,
        .bs_lock = bs_lock,
        .bs_unlock = bs_unlock,
        .bs_ctx = srv,
        .data_dir = api_server_data_dir(srv),
        .vmm_path = getenv("PICOSTACK_VMM"),
        .jailer_path = jailer_path(jailer, sizeof jailer),
        .jail_uid_base = 900000,
        .cpu_ratio = cfg->cpu_allocation_ratio,
        .ram_ratio = cfg->ram_allocation_ratio,
        .deleted_kept = cfg->deleted_servers_kept,
    };
    if (h.jailer_path)
        h.cgroup_parent = cgroup_parent();
    struct compute_err err = { "" };
    rc = compute_host_start(st->c, &h, &err);
    if (rc)
        fprintf(stderr, "picostackd: compute: %s\n", err.msg);
    return rc;
}

static int compute_init(struct api_server *srv, void **state)
{
    struct cmp_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int rc = compute_open(api_server_store(srv), &st->c);
    if (!rc)
        rc = cmp_consoles_open(api_server_store(srv), &st->consoles);
    if (!rc)
        rc = host_start(srv, st);
    if (rc) {
        compute_fini(st);
        return rc;
    }
    *state = st;
    return 0;
}

#define V "/v2.1"
static const struct api_route routes[] = {
    { "GET", "", versions, API_PUBLIC },
    { "GET", V, version_v21, API_PUBLIC },
    { "GET", V "/flavors", cmp_flavor_list, 0 },
    { "POST", V "/flavors", cmp_flavor_create, 0 },
    { "GET", V "/flavors/detail", cmp_flavor_detail, 0 },
    { "GET", V "/flavors/{}", cmp_flavor_show, 0 },
    { "DELETE", V "/flavors/{}", cmp_flavor_delete, 0 },
    { "POST", V "/flavors/{}/action", cmp_flavor_action, 0 },
    { "GET", V "/flavors/{}/os-flavor-access", cmp_flavor_access_list, 0 },
    { "GET", V "/flavors/{}/os-extra_specs", cmp_specs_list, 0 },
    { "POST", V "/flavors/{}/os-extra_specs", cmp_specs_create, 0 },
    { "GET", V "/flavors/{}/os-extra_specs/{}", cmp_spec_show, 0 },
    { "PUT", V "/flavors/{}/os-extra_specs/{}", cmp_spec_update, 0 },
    { "DELETE", V "/flavors/{}/os-extra_specs/{}", cmp_spec_delete, 0 },
    { "GET", V "/os-keypairs", cmp_keypair_list, 0 },
    { "POST", V "/os-keypairs", cmp_keypair_create, 0 },
    { "GET", V "/os-keypairs/{}", cmp_keypair_show, 0 },
    { "DELETE", V "/os-keypairs/{}", cmp_keypair_delete, 0 },
    { "GET", V "/limits", cmp_limits, 0 },
    { "GET", V "/extensions", cmp_extension_list, 0 },
    { "GET", V "/extensions/{}", cmp_extension_show, 0 },
    { "GET", V "/os-quota-sets/{}", cmp_quota_show, 0 },
    { "GET", V "/os-quota-sets/{}/defaults", cmp_quota_defaults, 0 },
    { "GET", V "/os-quota-sets/{}/detail", cmp_quota_detail, 0 },
    { "PUT", V "/os-quota-sets/{}", cmp_quota_update, 0 },
    { "GET", V "/servers", cmp_server_list, 0 },
    { "POST", V "/servers", cmp_server_create, 0 },
    { "GET", V "/servers/detail", cmp_server_detail, 0 },
    { "GET", V "/servers/{}", cmp_server_show, 0 },
    { "PUT", V "/servers/{}", cmp_server_update, 0 },
    { "DELETE", V "/servers/{}", cmp_server_delete, 0 },
    { "POST", V "/servers/{}/action", cmp_server_action, 0 },
    { "GET", V "/servers/{}/ips", cmp_server_ips, 0 },
    { "GET", V "/servers/{}/ips/{}", cmp_server_ips, 0 },
    { "GET", V "/servers/{}/metadata", cmp_server_meta_list, 0 },
    { "POST", V "/servers/{}/metadata", cmp_server_meta_set, 0 },
    { "PUT", V "/servers/{}/metadata", cmp_server_meta_replace, 0 },
    { "GET", V "/servers/{}/metadata/{}", cmp_server_meta_show, 0 },
    { "PUT", V "/servers/{}/metadata/{}", cmp_server_meta_put, 0 },
    { "DELETE", V "/servers/{}/metadata/{}", cmp_server_meta_delete, 0 },
    { "GET", V "/servers/{}/os-volume_attachments", cmp_volatt_list, 0 },
    { "POST", V "/servers/{}/os-volume_attachments", cmp_volatt_create, 0 },
    { "GET", V "/servers/{}/os-volume_attachments/{}", cmp_volatt_show, 0 },
    { "DELETE", V "/servers/{}/os-volume_attachments/{}", cmp_volatt_delete, 0 },
    { "GET", V "/servers/{}/os-interface", cmp_iface_list, 0 },
    { "POST", V "/servers/{}/os-interface", cmp_iface_create, 0 },
    { "GET", V "/servers/{}/os-interface/{}", cmp_iface_show, 0 },
    { "DELETE", V "/servers/{}/os-interface/{}", cmp_iface_delete, 0 },
    { "GET", V "/servers/{}/os-instance-actions", cmp_actions_list, 0 },
    { "GET", V "/servers/{}/os-instance-actions/{}", cmp_action_show, 0 },
    { "GET", V "/servers/{}/os-server-password", cmp_server_password, 0 },
    { "DELETE", V "/servers/{}/os-server-password", cmp_server_password, 0 },
    { "GET", V "/servers/{}/os-virtual-interfaces", cmp_virtual_interfaces, 0 },
    { "GET", V "/servers/{}/tags", cmp_tags_list, 0 },
    { "PUT", V "/servers/{}/tags", cmp_tags_replace, 0 },
    { "DELETE", V "/servers/{}/tags", cmp_tags_clear, 0 },
    { "GET", V "/servers/{}/tags/{}", cmp_tag_check, 0 },
    { "PUT", V "/servers/{}/tags/{}", cmp_tag_add, 0 },
    { "DELETE", V "/servers/{}/tags/{}", cmp_tag_delete, 0 },
    { "GET", V "/os-availability-zone", cmp_availability_zones, 0 },
    { "GET", V "/os-server-groups", cmp_group_list, 0 },
    { "POST", V "/os-server-groups", cmp_group_create, 0 },
    { "GET", V "/os-server-groups/{}", cmp_group_show, 0 },
    { "DELETE", V "/os-server-groups/{}", cmp_group_delete, 0 },
    { "GET", V "/os-availability-zone/detail", cmp_availability_zones_detail, 0 },
    /* the volume and snapshot proxies, up to 2.35 (volume_proxy.c) */
    { "GET", V "/os-volumes", cmp_proxy_volume_list, 0 },
    { "GET", V "/os-volumes/detail", cmp_proxy_volume_list, 0 },
    { "POST", V "/os-volumes", cmp_proxy_volume_create, 0 },
    { "GET", V "/os-volumes/{}", cmp_proxy_volume_show, 0 },
    { "DELETE", V "/os-volumes/{}", cmp_proxy_volume_delete, 0 },
    { "GET", V "/os-snapshots", cmp_proxy_snapshot_list, 0 },
    { "GET", V "/os-snapshots/detail", cmp_proxy_snapshot_list, 0 },
    { "POST", V "/os-snapshots", cmp_proxy_snapshot_create, 0 },
    { "GET", V "/os-snapshots/{}", cmp_proxy_snapshot_show, 0 },
    { "DELETE", V "/os-snapshots/{}", cmp_proxy_snapshot_delete, 0 },
    /* serial remote consoles (consoles.c) */
    { "POST", V "/servers/{}/remote-consoles", cmp_remote_console_create, 0 },
    { "GET", "/serial", cmp_serial_console_ws, API_PUBLIC },
};
#undef V

static const struct api_catalog_entry catalog[] = {
    { "compute", "nova", "/compute/v2.1" },
};

static const char *const depends[] = { "identity", "image", "volume", "network", NULL };

const struct api_service api_compute_service = {
    .name = "compute",
    .prefix = "/compute",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_nova,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_IDENTITY | API_NEEDS_STORE,
    .depends = depends,
    .init = compute_init,
    .fini = compute_fini,
    /* Nova's routes need a non-empty id: ".../os-volumes/" is 404 there
     * (Tempest's *_without_passing_volume_id tests) */
    .strict_slash = true,
};
