/* api/compute's private parts: Nova v2.1 (flavors, keypairs, limits,
 * quota sets) over core/compute. */
#ifndef PICOSTACK_API_COMPUTE_INTERNAL_H
#define PICOSTACK_API_COMPUTE_INTERNAL_H

#include <regex.h>
#include <time.h>

#include "api/http/http.h"
#include "core/compute/compute.h"
#include "core/identity/identity.h"

#define CMP_MIN_MICRO 1
#define CMP_MAX_MICRO 37 /* 2.37 */

struct volumes;
struct net_db;
struct image_db;
struct cmp_consoles;

struct cmp_state {
    struct compute *c;
    struct volumes *volumes; /* servers' own handles on the other models */
    struct net_db *net;
    struct image_db *images;
    struct cmp_consoles *consoles; /* consoles.c: serial console tokens */
};

/* Who is asking, for core/compute (request id included). */
struct compute_caller cmp_caller(struct api_req *r);
/* Replies a server error: quota 403 and no host capacity 409 as Nova,
 * then the common map. */
void cmp_reply_server_err(struct api_req *r, int rc, const struct compute_err *err,
                          const char *fallback);
/* Nova's view of a server record at microversion micro. */
json_t *cmp_server_view(struct api_req *r, const json_t *rec, int micro);
/* A new random adminPass (12 characters, no look-alikes), as Nova
 * answers on create and rebuild (picostack sets no guest password). */
void cmp_admin_pass(char out[13]);
/* The view of update and rebuild answers: without the extended
 * attributes (OS-EXT-*, OS-SRV-USG:*, key_name, config_drive,
 * security_groups, volumes_attached), as Nova. */
json_t *cmp_server_view_brief(struct api_req *r, const json_t *rec, int micro);
/* The record of /servers/{id} (param 0) for the caller, or replies 404. */
json_t *cmp_server_of(struct api_req *r);

/* The microversion of the request (minor of 2.x) from OpenStack-API-Version
 * "compute 2.x" or X-OpenStack-Nova-API-Version "2.x" (default 2.1,
 * "latest" the maximum), answered in both headers; replies 400 (malformed)
 * or 406 (out of range) and returns -1. Every handler starts with it. */
int cmp_micro(struct api_req *r);

/* Replies err (+ core's message, or the fallback) through the errno map. */
void cmp_reply_err(struct api_req *r, int rc, const struct compute_err *err, const char *fallback);

/* The body's object under key, or replies 400 and returns NULL (*body is
 * then NULL too; otherwise the caller decrefs *body). */
json_t *cmp_body(struct api_req *r, const char *key, json_t **body);

void cmp_flavor_list(struct api_req *r);
void cmp_flavor_detail(struct api_req *r);
void cmp_flavor_show(struct api_req *r);
void cmp_flavor_create(struct api_req *r);
void cmp_flavor_delete(struct api_req *r);
void cmp_flavor_action(struct api_req *r);
void cmp_flavor_access_list(struct api_req *r);
void cmp_specs_list(struct api_req *r);
void cmp_specs_create(struct api_req *r);
void cmp_spec_show(struct api_req *r);
void cmp_spec_update(struct api_req *r);
void cmp_spec_delete(struct api_req *r);

void cmp_keypair_list(struct api_req *r);
void cmp_keypair_show(struct api_req *r);
void cmp_keypair_create(struct api_req *r);
void cmp_keypair_delete(struct api_req *r);

/* consoles.c: serial remote consoles (tokens in memory, the WebSocket
 * relay to the VMM's console socket). */
#define CMP_CONSOLE_TOKEN_TTL_S 600
#define CMP_CONSOLE_MAX_TOKENS  1024
struct store;
int cmp_consoles_open(struct store *s, struct cmp_consoles **out);
void cmp_consoles_close(struct cmp_consoles *c);
/* POST /servers/{id}/remote-consoles (2.6+; protocol serial only). */
void cmp_remote_console_create(struct api_req *r);
/* The os-getSerialConsole server action, for the action dispatcher:
 * server is the raw record (core/compute), args the action's object;
 * checks access and state itself and replies 200 {"console":{type,url}}. */
void cmp_action_get_serial_console(struct api_req *r, const json_t *server, const json_t *args);
/* GET /compute/serial?token=T: the WebSocket relay (public: the token is
 * the credential). */
void cmp_serial_console_ws(struct api_req *r);

void cmp_limits(struct api_req *r);
void cmp_extension_list(struct api_req *r);
void cmp_extension_show(struct api_req *r);
void cmp_quota_show(struct api_req *r);
void cmp_quota_defaults(struct api_req *r);
void cmp_quota_detail(struct api_req *r);
void cmp_quota_update(struct api_req *r);

/* server_filters.c: the list filters name, ip, ip6 (regular expressions,
 * matched anywhere), changes-since and changes-before (ISO 8601 times
 * against the record's updated; changes-before is accepted at every
 * microversion). */
struct cmp_filters {
    regex_t name, ip, ip6;
    bool has_name, has_ip, has_ip6, has_since, has_before;
    time_t since, before;
};
/* Reads them from the query, or replies 400 and returns -EINVAL (nothing
 * to free then); otherwise cmp_filters_free after use. */
int cmp_filters_read(struct api_req *r, struct cmp_filters *f);
void cmp_filters_free(struct cmp_filters *f);
bool cmp_filters_match(const struct cmp_filters *f, const json_t *rec);
/* An ISO 8601 date or date-time (zone Z or an offset; none: UTC). */
int cmp_parse_time(const char *s, time_t *out);

void cmp_server_list(struct api_req *r);
void cmp_server_detail(struct api_req *r);
void cmp_server_show(struct api_req *r);
void cmp_server_ips(struct api_req *r);
void cmp_server_create(struct api_req *r);
void cmp_server_update(struct api_req *r);
void cmp_server_delete(struct api_req *r);
void cmp_server_meta_list(struct api_req *r);
void cmp_server_meta_set(struct api_req *r);
void cmp_server_meta_replace(struct api_req *r);
void cmp_server_meta_show(struct api_req *r);
void cmp_server_meta_put(struct api_req *r);
void cmp_server_meta_delete(struct api_req *r);

void cmp_server_action(struct api_req *r);

/* server_tags.c: /servers/{id}/tags[/{tag}] (2.26+) */
void cmp_tags_list(struct api_req *r);
void cmp_tags_replace(struct api_req *r);
void cmp_tags_clear(struct api_req *r);
void cmp_tag_check(struct api_req *r);
void cmp_tag_add(struct api_req *r);
void cmp_tag_delete(struct api_req *r);

/* server_groups.c: os-server-groups */
void cmp_group_list(struct api_req *r);
void cmp_group_create(struct api_req *r);
void cmp_group_show(struct api_req *r);
void cmp_group_delete(struct api_req *r);

/* server_extras.c */
void cmp_server_password(struct api_req *r);    /* GET and DELETE */
void cmp_virtual_interfaces(struct api_req *r); /* 400: a Neutron cloud */
void cmp_availability_zones(struct api_req *r);
void cmp_availability_zones_detail(struct api_req *r);

/* Whether volume entry `v` of server record `rec` is listed by
 * os-volume_attachments: not the boot volume picostack made from the
 * server's image (Nova's root disk of an image-booted server is no
 * volume, and Tempest counts the attachments). The server's
 * volumes_attached still shows it, so that a user finds the boot volume
 * to snapshot it (what Nova shows for a server booted from a volume). */
bool cmp_volume_is_attachment(const json_t *rec, const json_t *v);
void cmp_volatt_list(struct api_req *r);
/* volume_proxy.c: /os-volumes and /os-snapshots (Nova's proxies, to 2.35) */
void cmp_proxy_volume_list(struct api_req *r);
void cmp_proxy_volume_show(struct api_req *r);
void cmp_proxy_volume_create(struct api_req *r);
void cmp_proxy_volume_delete(struct api_req *r);
void cmp_proxy_snapshot_list(struct api_req *r);
void cmp_proxy_snapshot_show(struct api_req *r);
void cmp_proxy_snapshot_create(struct api_req *r);
void cmp_proxy_snapshot_delete(struct api_req *r);
void cmp_volatt_create(struct api_req *r);
void cmp_volatt_show(struct api_req *r);
void cmp_volatt_delete(struct api_req *r);
void cmp_iface_list(struct api_req *r);
void cmp_iface_create(struct api_req *r);
void cmp_iface_show(struct api_req *r);
void cmp_iface_delete(struct api_req *r);

void cmp_actions_list(struct api_req *r);
void cmp_action_show(struct api_req *r);

#endif
