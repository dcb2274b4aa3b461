/* core/compute: the Nova model that exists so far: flavors (with extra
 * specs and, for private flavors, the projects that may use them),
 * keypairs (per user; generated RSA or an imported OpenSSH public key, with
 * Nova's MD5 fingerprint) and the compute quotas (instances, cores, ram,
 * key_pairs) of each project, all records in core/store (LMDB).
 *
 * No HTTP here: functions take an open store transaction (the caller
 * commits), return 0 or a negative errno (-ENOENT not found, -EEXIST name
 * or id taken, -EINVAL bad input, -EDQUOT over quota) and, for bad input, a
 * message in *err.  Records are jansson objects (new references):
 *
 *   flavor  {"id","name","ram","vcpus","disk","swap","ephemeral",
 *            "rxtx_factor","is_public","description","extra_specs":{},
 *            "access":[project ids]}
 *   keypair {"name","user_id","project_id","type","public_key",
 *            "fingerprint","created_at"} (+ "private_key" once, when made)
 *   quota   {"instances","cores","ram","key_pairs"}
 */
#ifndef PICOSTACK_COMPUTE_H
#define PICOSTACK_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

struct store;
struct store_txn;
struct compute;

struct compute_err {
    char msg[256];
};

/* Opens the tables; on the first start seeds DevStack's default flavors
 * (m1.tiny, m1.small, m1.medium, and `tiny` for the test guests) in one
 * transaction, once (a marker record remembers it, so deleted defaults
 * stay deleted). */
int compute_open(struct store *s, struct compute **out);
void compute_close(struct compute *c);

/* ---- flavors ---- */
/* in: Nova's "flavor" body: name, ram, vcpus, disk required; id (up to 36
 * of [A-Za-z0-9._-], or null: a UUID is made), swap, OS-FLV-EXT-DATA:ephemeral, rxtx_factor,
 * os-flavor-access:is_public, description optional. Names and ids unique. */
int compute_flavor_create(struct compute *c, struct store_txn *t, json_t *in, json_t **out,
                          struct compute_err *err);
int compute_flavor_get(struct compute *c, struct store_txn *t, const char *id, json_t **out);
/* Every flavor, ordered by id. */
int compute_flavor_list(struct compute *c, struct store_txn *t, json_t **out);
int compute_flavor_delete(struct compute *c, struct store_txn *t, const char *id);
/* Whether project may use (see) the flavor: public, or in its access list. */
bool compute_flavor_visible(const json_t *flavor, const char *project_id);
/* Extra specs: keys and values are strings of 1..255 bytes. specs is an
 * object merged into the flavor's; *out the whole set afterwards. */
int compute_flavor_set_specs(struct compute *c, struct store_txn *t, const char *id, json_t *specs,
                             json_t **out, struct compute_err *err);
int compute_flavor_del_spec(struct compute *c, struct store_txn *t, const char *id,
                            const char *key);
/* Access of private flavors: -EINVAL for a public flavor, -EEXIST when
 * already there, -ENOENT when removing a project that is not there. */
int compute_flavor_access(struct compute *c, struct store_txn *t, const char *id,
                          const char *project_id, bool add, struct compute_err *err);

/* ---- keypairs (per user) ---- */
/* public_key NULL: an RSA 2048 key is made with libcrypto; the record then
 * holds "private_key" (PEM), which is never stored.  type "ssh" (default
 * when NULL) only.  Counts the user's keypairs against the project's
 * key_pairs quota in this transaction: -EDQUOT over it. */
int compute_keypair_create(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *project_id, const char *name, const char *type,
                           const char *public_key, json_t **out, struct compute_err *err);
int compute_keypair_get(struct compute *c, struct store_txn *t, const char *user_id,
                        const char *name, json_t **out);
int compute_keypair_list(struct compute *c, struct store_txn *t, const char *user_id, json_t **out);
int compute_keypair_delete(struct compute *c, struct store_txn *t, const char *user_id,
                           const char *name);
/* Nova's fingerprint of an OpenSSH public key line "TYPE BASE64 [comment]":
 * MD5 of the decoded blob as colon-separated hex. -EINVAL if malformed. */
int compute_ssh_fingerprint(const char *public_key, char out[48]);

/* ---- quotas ---- */
/* The project's limits (defaults where unset: 10 instances, 20 cores,
 * 51200 MiB ram, 100 key_pairs). */
int compute_quota_get(struct compute *c, struct store_txn *t, const char *project_id, json_t **out);
/* Sets some of them (integers >= -1, -1 = unlimited); *out the whole set. */
int compute_quota_set(struct compute *c, struct store_txn *t, const char *project_id, json_t *in,
                      json_t **out, struct compute_err *err);

/* ---- metadata: what cloud-init reads (the metadata service, the config
 * drive) ----
 * Made from a server record (SERVERS.md: id, name, project_id, key_name,
 * public_key, user_data (base64, or null), metadata, availability_zone,
 * flavor.name, image_id, security_groups, ports) and its ports' records in
 * core/networks:
 *   OpenStack layout, /openstack/{2012-08-10 ... 2020-10-14, latest}/:
 *     meta_data.json  {uuid, name, hostname ("NAME.novalocal", Nova's
 *                     sanitised name), launch_index, availability_zone,
 *                     project_id, public_keys {key_name: key}, keys
 *                     [{name, type "ssh", data}], meta, devices [],
 *                     random_seed}
 *     user_data       decoded (absent: not listed, -ENOENT)
 *     password        "" (nothing is ever posted)
 *     network_data.json  links [{id "tap" + 11 of the port id, vif_id,
 *                     type "tap", mtu, ethernet_mac_address}], networks
 *                     [one per fixed IP: "ipv4_dhcp" {id, type, link,
 *                     network_id} on a DHCP subnet, else "ipv4" with
 *                     ip_address, netmask, routes, services], services
 *                     [{type "dns", address}]
 *     vendor_data.json, vendor_data2.json  {}
 *   EC2 layout, /{1.0 ... 2009-04-04, latest}/: meta-data/ (ami-id,
 *     ami-launch-index, ami-manifest-path, block-device-mapping/,
 *     hostname, instance-action, instance-id ("i-" + 8 hex of the uuid),
 *     instance-type, local-hostname, local-ipv4, placement/
 *     availability-zone, public-hostname, public-ipv4 (the floating IP or
 *     ""), public-keys/0/openssh-key (listed "0=NAME"), reservation-id,
 *     security-groups) and user-data.
 * Listings are one name a line, directories with a trailing '/'. */
struct net_db;
struct compute_metadata;

/* Nova's cap on user_data, in base64 characters. */
#define COMPUTE_USER_DATA_MAX 65535

/* Checks user_data as a server create must (Nova's 400s): NULL or base64
 * of at most COMPUTE_USER_DATA_MAX characters (whitespace ignored). 0,
 * -EFBIG or -EINVAL with a message. */
int compute_user_data_check(const char *b64, struct compute_err *err);
/* The ports' facts (read transaction t on the networks' store): a new
 * array of {"port", "network", "subnets": [records of its fixed IPs],
 * "floating_ip": address (absent when none)}; ports that no longer exist
 * are left out. */
int compute_metadata_ports(struct store_txn *t, struct net_db *db, const json_t *server,
                           json_t **out);
/* Builds the documents (ports from compute_metadata_ports, or NULL); now
 * dates the config drive. -EINVAL (not a server record, user_data not
 * base64), -EFBIG (user_data over COMPUTE_USER_DATA_MAX), with a message. */
int compute_metadata_build(const json_t *server, const json_t *ports, time_t now,
                           struct compute_metadata **out, struct compute_err *err);
void compute_metadata_free(struct compute_metadata *md);
/* What http://169.254.169.254/PATH answers (path as requested, leading and
 * trailing '/' ignored; "" is the root): *out (malloc'd, NUL-terminated,
 * *len bytes, the caller frees) and *type ("application/json" or
 * "text/plain"); -ENOENT: 404. */
int compute_metadata_lookup(const struct compute_metadata *md, const char *path, char **out,
                            size_t *len, const char **type);
/* The config drive: an ISO 9660 image labelled "config-2" (Rock Ridge
 * names) at path, written to path.tmp and renamed (mode 0640), holding
 * openstack/VERSION/{meta_data.json, user_data, vendor_data.json,
 * network_data.json, vendor_data2.json} for every version and latest, and
 * ec2/{2009-04-04,latest}/{meta-data.json, user-data}. The caller attaches
 * it as a read-only raw disk. */
int compute_config_drive_write(const struct compute_metadata *md, const char *path,
                               struct compute_err *err);

#endif
