/* Small Nova routes around servers that picostack answers as Nova does
 * with its features absent: os-server-password (no password is ever
 * posted by a guest: ""), os-virtual-interfaces (a Neutron cloud: 400,
 * gone from 2.44), os-availability-zone (the one zone, "nova"). */
#include "api/compute/internal.h"

#include <string.h>

void cmp_server_password(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_decref(rec);
    if (!strcmp(api_req_method(r), "DELETE"))
        return api_reply_empty(r, 204);
    api_reply_json(r, 200, json_pack("{s:s}", "password", ""));
}

void cmp_virtual_interfaces(struct api_req *r)
{
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    if (micro >= 44)
        return api_reply_error(r, 404, "The resource could not be found.");
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    json_decref(rec);
    api_reply_error(r, 400, "Listing virtual interfaces is not supported by this cloud.");
}

static json_t *zone(json_t *hosts)
{
    return json_pack("{s:s, s:{s:b}, s:o}", "zoneName", "nova", "zoneState", "available", 1,
                     "hosts", hosts ? hosts : json_null());
}

void cmp_availability_zones(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    api_reply_json(r, 200, json_pack("{s:[o]}", "availabilityZoneInfo", zone(NULL)));
}

/* The admins' detail: the one host and its compute service. */
void cmp_availability_zones_detail(struct api_req *r)
{
    if (cmp_micro(r) < 0)
        return;
    if (!api_req_is_admin(r))
        return api_reply_error(r, 403,
                               "Policy doesn't allow os_compute_api:os-availability-zone:detail "
                               "to be performed.");
    json_t *hosts = json_pack("{s:{s:{s:b, s:s, s:n}}}", "picostack", "nova-compute", "available",
                              1, "active", "enabled", "updated_at");
    api_reply_json(r, 200, json_pack("{s:[o]}", "availabilityZoneInfo", zone(hosts)));
}
