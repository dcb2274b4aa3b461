/* The compute service: Nova v2.1 under /compute/v2.1, as DevStack lays it
 * out (catalog type "compute").  This slice serves version discovery,
 * flavors, keypairs, limits and quota sets; servers are not here yet (their
 * routes answer 404).  Here: the state, microversions, discovery, routes. */
#include "api/compute/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int compute_init(struct api_server *srv, void **state)
{
    struct cmp_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    int rc = compute_open(api_server_store(srv), &st->c);
    if (rc) {
        free(st);
        return rc;
    }
    rc = cmp_consoles_open(api_server_store(srv), &st->consoles);
    if (rc) {
        compute_close(st->c);
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void compute_fini(void *state)
{
    struct cmp_state *st = state;
    if (!st)
        return;
    cmp_consoles_close(st->consoles);
    compute_close(st->c);
    free(st);
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
    { "GET", V "/os-quota-sets/{}", cmp_quota_show, 0 },
    { "GET", V "/os-quota-sets/{}/defaults", cmp_quota_defaults, 0 },
    { "GET", V "/os-quota-sets/{}/detail", cmp_quota_detail, 0 },
    { "PUT", V "/os-quota-sets/{}", cmp_quota_update, 0 },
    /* serial remote consoles (consoles.c) */
    { "POST", V "/servers/{}/remote-consoles", cmp_remote_console_create, 0 },
    { "GET", "/serial", cmp_serial_console_ws, API_PUBLIC },
};
#undef V

static const struct api_catalog_entry catalog[] = {
    { "compute", "nova", "/compute/v2.1" },
};

static const char *const depends[] = { "identity", NULL };

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
};
