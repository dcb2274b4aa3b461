/* Private to core/networks: the record store, indexes, and helpers shared
 * by the per-kind files. */
#ifndef PICOSTACK_CORE_NETWORKS_INTERNAL_H
#define PICOSTACK_CORE_NETWORKS_INTERNAL_H

#include "core/networks/networks.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdint.h>

#define NET_PRIVATE "_picostack" /* private fields of a record; never shown */

struct net_db {
    struct store *store;
    unsigned t_rec;   /* "<plural>/<id>" -> record */
    unsigned t_index; /* "<tag>\0a\0b" -> value */
    unsigned t_meta;  /* counters, quotas, usage, default groups */
};

/* Index tags (first part of an index key). */
#define IX_NET_PORT  "np" /* network \0 port -> "" */
#define IX_IPAM      "ip" /* subnet \0 address (8 hex) -> port */
#define IX_MAC       "mc" /* network \0 mac -> port */
#define IX_SG_RULE   "sr" /* group \0 rule -> "" */
#define IX_SG_PORT   "sp" /* group \0 port -> "" */
#define IX_DEV_PORT  "dp" /* device_id \0 port -> "" (routers, fips) */
#define IX_FIP_PORT  "fp" /* port \0 floating ip -> "" */
#define IX_DEFAULTSG "dg" /* project \0 "" -> group id */

int net_fail(struct net_err *err, int rc, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "Network", "Subnet", ... for exception names. */
const char *net_kind_title(enum net_kind k);
int net_not_found(struct net_err *err, enum net_kind k, const char *id);

/* ---- records ---- */
int net_get(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id, json_t **out);
int net_put(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *rec);
int net_del(struct store_txn *t, struct net_db *db, enum net_kind k, const char *id);
/* A new record with the common fields (id, name, description, project_id,
 * tenant_id, tags, revision_number, created_at, updated_at) from body;
 * a fresh index from the counter. */
int net_new_record(struct store_txn *t, struct net_db *db, const json_t *body,
                   const struct net_caller *who, json_t **out, struct net_err *err);
void net_touch(json_t *rec);
/* body's "tags" (a list of strings) into rec, if present. */
int net_apply_tags(json_t *rec, const json_t *body,
                   struct net_err *err); /* updated_at, revision_number + 1 */
json_t *net_view(const json_t *rec);
const char *net_str(const json_t *rec, const char *key);
const char *net_private_str(const json_t *rec, const char *key);
void net_private_set(json_t *rec, const char *key, json_t *val); /* steals val */

/* ---- indexes ---- */
int net_ix_put(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b, const char *val);
int net_ix_get(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b, char *val, size_t vsize);
int net_ix_del(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
               const char *b);
/* fn(b, val, ctx) for every key tag\0a\0*; fn returns 0 to go on. */
int net_ix_scan(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
                int (*fn)(const char *b, const char *val, void *ctx), void *ctx);
/* Collects the b parts into a new array. */
int net_ix_list(struct store_txn *t, struct net_db *db, const char *tag, const char *a,
                json_t **out);

/* ---- access ---- */
bool net_owns(const json_t *rec, const struct net_caller *who);
/* 0, -ENOENT (not visible) or -EPERM (visible, not writable). */
int net_check_write(const json_t *rec, const struct net_caller *who, enum net_kind k,
                    struct net_err *err);
bool net_network_visible(const json_t *net, const struct net_caller *who);
bool net_visible(struct store_txn *t, struct net_db *db, enum net_kind k, const json_t *rec,
                 const struct net_caller *who);

/* ---- quotas ---- */
/* Counts one more (delta +1) or one less of kind for project; -EDQUOT when
 * a +1 goes over the quota. */
int net_usage_add(struct store_txn *t, struct net_db *db, const char *project, enum net_kind k,
                  int delta, struct net_err *err);

/* ---- body checks ---- */
/* Rejects keys of body not in allowed (NULL-terminated): -EINVAL. */
int net_check_keys(const json_t *body, const char *const *allowed, struct net_err *err);
/* Optional typed fields: absent -> 0 and *out unchanged; wrong type -> -EINVAL. */
int net_opt_bool(const json_t *body, const char *key, bool *out, struct net_err *err);
int net_opt_str(const json_t *body, const char *key, size_t max, const char **out,
                struct net_err *err);

/* ---- addresses ---- */
int net_parse_ip(const char *s, uint32_t *out); /* dotted quad, host order */
void net_format_ip(uint32_t ip, char out[16]);
int net_parse_cidr(const char *s, uint32_t *net, int *plen); /* normalised */
bool net_ip_in(uint32_t ip, uint32_t net, int plen);
int net_parse_mac(const char *s, unsigned char out[6]);

/* ---- IPAM (net_ipam.c) ---- */
/* Allocates fixed IPs for port (its network_id, id set) from request (an
 * array of {subnet_id?, ip_address?}, or NULL: one address from the first
 * subnet with room) and records them; sets port.fixed_ips. */
int net_ipam_allocate(struct store_txn *t, struct net_db *db, json_t *port, const json_t *request,
                      struct net_err *err);
int net_ipam_release_one(struct store_txn *t, struct net_db *db, const char *subnet_id,
                         const char *ip_text);
/* Releases every fixed IP of port. */
int net_ipam_release(struct store_txn *t, struct net_db *db, const json_t *port);
/* The port holding address ip in subnet (into port_id), or -ENOENT. */
int net_ipam_owner(struct store_txn *t, struct net_db *db, const char *subnet_id, uint32_t ip,
                   char port_id[STORE_ID_LEN + 1]);

/* ---- per-kind (net_<kind>.c) ---- */
int net_network_create(struct store_txn *t, struct net_db *db, const json_t *body,
                       const struct net_caller *who, json_t **out, struct net_err *err);
int net_network_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                       const struct net_caller *who, struct net_err *err);
int net_network_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                       const struct net_caller *who, struct net_err *err);
int net_subnet_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err);
int net_subnet_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                      const struct net_caller *who, struct net_err *err);
int net_subnet_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err);
int net_port_create(struct store_txn *t, struct net_db *db, const json_t *body,
                    const struct net_caller *who, json_t **out, struct net_err *err);
int net_port_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                    const struct net_caller *who, struct net_err *err);
int net_port_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                    const struct net_caller *who, struct net_err *err);
/* Deletes a port whatever its owner (routers, floating IPs, DHCP). */
int net_port_destroy(struct store_txn *t, struct net_db *db, json_t *port);
/* Internal port creation: owner/device set, project as given. */
int net_port_make(struct store_txn *t, struct net_db *db, const char *network_id,
                  const char *project, const char *device_owner, const char *device_id,
                  const json_t *fixed_ips, json_t **out, struct net_err *err);
int net_router_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err);
int net_router_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                      const struct net_caller *who, struct net_err *err);
int net_router_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err);
int net_fip_create(struct store_txn *t, struct net_db *db, const json_t *body,
                   const struct net_caller *who, json_t **out, struct net_err *err);
int net_fip_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                   const struct net_caller *who, struct net_err *err);
int net_fip_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                   const struct net_caller *who, struct net_err *err);
/* Port deletion disassociates its floating IPs. */
int net_fip_port_gone(struct store_txn *t, struct net_db *db, const char *port_id);
int net_sg_create(struct store_txn *t, struct net_db *db, const json_t *body,
                  const struct net_caller *who, json_t **out, struct net_err *err);
int net_sg_update(struct store_txn *t, struct net_db *db, json_t *rec, const json_t *body,
                  const struct net_caller *who, struct net_err *err);
int net_sg_delete(struct store_txn *t, struct net_db *db, json_t *rec, const struct net_caller *who,
                  struct net_err *err);
int net_sgrule_create(struct store_txn *t, struct net_db *db, const json_t *body,
                      const struct net_caller *who, json_t **out, struct net_err *err);
int net_sgrule_delete(struct store_txn *t, struct net_db *db, json_t *rec,
                      const struct net_caller *who, struct net_err *err);
/* The project's default group id (made on first use). */
int net_sg_default(struct store_txn *t, struct net_db *db, const char *project,
                   char id[STORE_ID_LEN + 1], struct net_err *err);
/* The network's DHCP port (device_id "dhcp-<network>"), -ENOENT if none. */
int net_dhcp_port(struct store_txn *t, struct net_db *db, const char *network_id, json_t **out);
/* The view of a group, with its rules. */
int net_sg_view(struct store_txn *t, struct net_db *db, const json_t *rec, json_t **out);

#endif
