/* core/compute: the Nova model: flavors (with extra specs and, for private
 * flavors, the projects that may use them), keypairs (per user; generated
 * RSA or an imported OpenSSH public key, with Nova's MD5 fingerprint), the
 * compute quotas (instances, cores, ram, key_pairs) of each project, all
 * records in core/store (LMDB); and servers: their records, the checks and
 * transaction that create them, and the orchestration that runs them in
 * picostack-vmm processes through core/vmmctl (see "servers" below).
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
 *            "fingerprint","created_at","id" (an opaque positive integer)}
 *            (+ "private_key" once, when made)
 *   quota   {"instances","cores","ram","key_pairs"}
 */
#ifndef PICOSTACK_COMPUTE_H
#define PICOSTACK_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
/* What the project's servers hold (every server counts, whatever its
 * state): instances, vCPUs, MiB of RAM. */
int compute_usage(struct compute *c, struct store_txn *t, const char *project_id, long *instances,
                  long *cores, long *ram);
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

/* ====================================================================
 * SERVERS
 *
 * A server is one LMDB record in "compute.servers" (id -> JSON, the shape
 * issue 13 agreed between its helpers: id, name, project_id, user_id, created, updated,
 * launched_at, boot_id, flavor (a copy), image_id ("" from a volume),
 * key_name, public_key, user_data, metadata, config_drive,
 * availability_zone, vm_state, task_state, power_state, fault, ports[],
 * volumes[], config_drive_path, security_groups[]) plus "kernel_id",
 * "ramdisk_id", "cmdline", "os_boot", "firmware_type" (resolved at create:
 * the image's os_command_line, os_boot, hw_firmware_type), "old_flavor" (during a
 * resize) and "auto_ports" (the port ids the server made itself, deleted
 * with it).  Instance actions are records in "compute.actions", keyed
 * "SERVER\0REQUEST"; they outlive the server (a tombstone in
 * "compute.deleted" remembers whose it was) for the newest deleted_kept
 * deleted servers.
 *
 * Create (compute_server_create): every check first, in one write
 * transaction of the control-plane store: flavor visible, image active and
 * visible (its kernel_id and ramdisk_id usable when it names them, its
 * os_boot and hw_firmware_type valid) or a boot volume
 * (block_device_mapping_v2, source and destination "volume", available,
 * the caller's, its volume_image_metadata checked the same way),
 * networks and ports visible (a port not in use), security groups known,
 * the key pair the user's, quotas (instances, cores, ram counted over the
 * project's servers in that same transaction) and host capacity (vCPUs and
 * RAM of every server on the host against host CPUs x cpu_ratio and host
 * RAM x ram_ratio).  The ports the server needs are created in that same
 * transaction (device_owner compute:nova, device_id the server), so a
 * refused create leaves nothing: no record, no port, no address.  A boot
 * volume given in the BDM is attached (core/volumes) before that
 * transaction and detached again if it fails.
 *
 * Then every slow step runs on the compute worker thread (one queue, in
 * order): BUILD clones the image into a boot volume ("volume-ID" via
 * volume_create from the image, attached as /dev/vda, deleted with the
 * server), plugs the ports (net_dp_plug + net_dp_sync; without a data plane
 * the ports are made but not plugged and the VMM gets no NIC for them),
 * picks how the server boots (below, "Booting") and calls vmmctl_start.  A failure there is
 * vm_state error with a fault.  vmmctl's events (its own thread) move the
 * states: RUNNING -> active (power 1), POWEROFF -> stopped (power 4),
 * RESET -> active (vmmctl started it again), KILLED -> what the asked
 * action leads to, ERROR -> error with the detail as fault.
 *
 * Booting.  An image with kernel_id boots that kernel image (and its
 * ramdisk_id), written out of the block store once per image
 * (DATA/compute/kernels/IMAGE), with root=/dev/vda and os_command_line.
 * An image without one (a distribution's cloud image) boots itself:
 *  - direct boot when core/bootimg reads the boot volume (GPT/MBR, ext4
 *    through libext2fs): its newest /boot/vmlinuz-*, initrd and root= (from
 *    grub.cfg, a BLS entry, or the root filesystem's UUID), copied out at
 *    each start to DATA/compute/boot/ID.kernel and .initrd (so a kernel
 *    upgraded in the guest boots next), with the bootloader's arguments,
 *    console=ttyS0 reboot=k and os_command_line;
 *  - else firmware boot: vmm_spec.firmware = /usr/share/seabios/bios.bin,
 *    or /usr/share/OVMF/OVMF_CODE.fd when hw_firmware_type=uefi (Nova's
 *    property), which vmmctl passes as `picostack-vmm --firmware PATH`.
 * The image property os_boot=direct|firmware overrides the choice; with
 * os_boot=direct an image whose kernel cannot be found ends in ERROR with
 * the reason as its fault.
 *
 * Nova status: vm_state/task_state -> status (compute_server_status).
 *
 * Actions (compute_server_action): start, stop, reboot SOFT/HARD, pause,
 * unpause, suspend (mapped to pausing the VMM: the guest's memory stays
 * in the VMM, vm_state suspended, power 7), resume, resize (stopped only,
 * to a flavor at least as big in vcpus, ram and disk; VERIFY_RESIZE, then
 * confirm or revert; the boot volume is not grown), security groups (on
 * every port of the server).  A wrong state is -EBUSY with Nova's message
 * (409).
 *
 * Volume and interface attachments change the record (and the volume's
 * state through core/volumes, the port's device_id through core/networks)
 * and take effect at the next start of the VMM: there is no hot-plug.
 *
 * At start (compute_host_start): vmmctl_open on DATA/vmm; then for every
 * server: active, paused or suspended -> vmmctl_adopt; one that is not
 * running any more is started again when the host rebooted since it was
 * last started (boot_id differs), else stopped (or error, with a fault,
 * when its VMM left "error: ..." in RUN/ID/exit); an interrupted build is
 * error; an interrupted delete is finished.
 * ==================================================================== */

struct volumes;
struct net_db;
struct net_dp;
struct image_db;
struct blockstore;

/* Who is asking (from the token). */
struct compute_caller {
    const char *project_id; /* NULL: unscoped (sees nothing) */
    const char *user_id;
    const char *request_id; /* for the instance action log; may be NULL */
    bool is_admin;
    bool can_write;
};

/* What the servers need from the daemon. */
struct compute_host {
    struct volumes *volumes;
    struct net_db *net;
    struct net_dp *netdp; /* NULL: ports are made, not plugged */
    const char *netns;    /* the data plane's namespace ("" ours) */
    struct image_db *images;
    struct blockstore *bs; /* NULL: nothing can boot */
    void (*bs_lock)(void *ctx);
    void (*bs_unlock)(void *ctx);
    void *bs_ctx;
    const char *data_dir;        /* DATA: DATA/vmm, DATA/compute/kernels */
    const char *vmm_path;        /* picostack-vmm; NULL: beside /proc/self/exe */
    const char *jailer_path;     /* NULL: no jail */
    unsigned jail_uid_base;      /* jailed VMM k runs as uid/gid base + k */
    const char *cgroup_parent;   /* jailed VMMs' cgroup v2 parent; NULL: no limits */
    double cpu_ratio, ram_ratio; /* 0: Nova's 16.0 and 1.5 */
    unsigned host_cpus;          /* 0: the online CPUs */
    uint64_t host_ram_mib;       /* 0: the host's RAM */
    unsigned deleted_kept;       /* deleted servers whose actions stay; 0: 1000 */
};

/* Opens vmmctl, adopts or settles every server (see above) and starts the
 * worker thread.  Call after compute_open, before serving.  Without it
 * there are no servers (compute_server_create answers -ENXIO).  When
 * vmmctl cannot open (no block store, no picostack-vmm at vmm_path) the
 * servers are still served, and every boot ends in error "no hypervisor:
 * REASON". */
int compute_host_start(struct compute *c, const struct compute_host *h, struct compute_err *err);
/* Lets the queued jobs finish, stops the worker, closes vmmctl (the VMMs
 * keep running). Called by compute_close too. */
void compute_host_stop(struct compute *c);

/* Nova's status of a record ("ACTIVE", "BUILD", ...). */
const char *compute_server_status(const json_t *rec);

/* POST /servers: in is Nova's "server" object; microversion the minor of
 * 2.x (2.37+: networks required, "auto"/"none").  *out: an array of the new
 * records (min_count..max_count of them), each building; the boots are
 * queued.  -EINVAL bad input (400), -ENOENT an unknown flavor/image/network
 * /port/volume/key (400 for Nova: the caller maps), -EBUSY a port or volume
 * in use, -EDQUOT over quota, -ENOSPC no host capacity. */
int compute_server_create(struct compute *c, const struct compute_caller *who, json_t *in,
                          int microversion, json_t **out, struct compute_err *err);
/* A record the caller may see (-ENOENT otherwise: another project's). */
int compute_server_get(struct compute *c, struct store_txn *t, const char *id, json_t **rec);
int compute_server_find(struct compute *c, const struct compute_caller *who, const char *id,
                        json_t **rec);
/* The server whose ports include port_id (-ENOENT none). */
int compute_server_by_port(struct compute *c, struct store_txn *t, const char *port_id,
                           json_t **rec);
/* Every record the caller sees (all projects: admins only), creation order. */
int compute_server_list(struct compute *c, const struct compute_caller *who, bool all_projects,
                        json_t **out);
/* changes: name (string), metadata (object of strings: replace=true
 * replaces the set, false merges), "delete_key" handled by
 * compute_server_meta_delete. */
int compute_server_update(struct compute *c, const struct compute_caller *who, const char *id,
                          json_t *changes, json_t **out, struct compute_err *err);
int compute_server_meta_set(struct compute *c, const struct compute_caller *who, const char *id,
                            json_t *meta, bool replace, json_t **out, struct compute_err *err);
int compute_server_meta_delete(struct compute *c, const struct compute_caller *who, const char *id,
                               const char *key);
/* Marks it deleting and queues the teardown (VMM killed, its ports
 * unplugged and the ones it made deleted, volumes detached,
 * delete_on_termination ones deleted, record removed). */
int compute_server_delete(struct compute *c, const struct compute_caller *who, const char *id);
/* The same with the reason of a refusal (a locked server: -EBUSY). */
int compute_server_delete_checked(struct compute *c, const struct compute_caller *who,
                                  const char *id, struct compute_err *err);

/* One action of POST /servers/{id}/action by Nova's name: "os-start",
 * "os-stop", "reboot" (arg {"type": "SOFT"|"HARD"}), "pause", "unpause",
 * "suspend", "resume", "resize" (arg {"flavorRef"}), "confirmResize",
 * "revertResize", "addSecurityGroup"/"removeSecurityGroup" (arg {"name"}),
 * "rebuild" (arg {"imageRef", "name", "metadata", "accessIPv4",
 * "accessIPv6", "adminPass", "personality" (ignored), ...}: status REBUILD,
 * a new boot volume from the image, then ACTIVE again, or SHUTOFF when it
 * was stopped; an unknown image -EINVAL), "lock" (arg {"locked_reason"}
 * or null) and "unlock", "forceDelete" (a delete in any state) and
 * "restore" (nothing is ever soft-deleted here: -EBUSY).
 * A locked server refuses every changing action but unlock to non-admins:
 * -EBUSY "Instance ... is locked" (409); unlocking an admin's lock as a
 * non-admin is -EPERM. -ENOTSUP an action this does not know. */
int compute_server_action(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *action, json_t *arg, struct compute_err *err);
/* createImage (arg: {"name", "metadata"}): a new active raw image in
 * image_id that shares the boot volume's clusters (constant time, through
 * volume_upload_image and image_db_put_active, as the volume service's
 * os-volume_upload_image), with the request's metadata and Nova's snapshot
 * properties (image_type snapshot, instance_uuid, base_image_ref, user_id)
 * plus the boot properties it was made with (kernel_id, ramdisk_id,
 * os_command_line, os_boot, hw_firmware_type); owned by who's project.
 * The server must be stopped: the block store does not snapshot a disk a
 * running VMM writes (-EBUSY, 409, for active/paused/suspended, error and
 * any task).  -EINVAL a bad request, -ENOENT not found or not who's,
 * -EDQUOT/-ENOSPC from the volume service. */
int compute_server_create_image(struct compute *c, const struct compute_caller *who, const char *id,
                                const json_t *arg, char image_id[37], struct compute_err *err);
/* The last `lines` lines of the console (0: all kept); malloc'd. */
int compute_server_console(struct compute *c, const struct compute_caller *who, const char *id,
                           unsigned lines, char **out);

/* ---- volume attachments (take effect at the next start) ---- */
/* *out: {"id" (attachment id = volume id as Nova), "volumeId", "serverId",
 * "device", "delete_on_termination"}. device NULL: the next free /dev/vdX. */
int compute_volume_attach(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *volume_id, const char *device, json_t **out,
                          struct compute_err *err);
int compute_volume_detach(struct compute *c, const struct compute_caller *who, const char *id,
                          const char *volume_id, struct compute_err *err);

/* ---- interfaces (take effect at the next start) ---- */
/* in: {"port_id"} or {"net_id" [, "fixed_ips"]}; *out the server's port
 * entry. */
int compute_interface_attach(struct compute *c, const struct compute_caller *who, const char *id,
                             json_t *in, json_t **out, struct compute_err *err);
int compute_interface_detach(struct compute *c, const struct compute_caller *who, const char *id,
                             const char *port_id, struct compute_err *err);

/* ---- server tags (Nova 2.26) ----
 * 1..60 characters without '/' or ',', at most 50 a server (-EINVAL).
 * op GET: *out the tags; REPLACE: all (an array) becomes the set; CLEAR;
 * ADD tag: returns 1 when it was new, 0 when there already; DEL tag:
 * -ENOENT when not there. *out (when out is given) the set afterwards.
 * A locked server refuses changes to non-admins (-EBUSY). */
enum compute_tag_op {
    COMPUTE_TAGS_GET,
    COMPUTE_TAGS_REPLACE,
    COMPUTE_TAGS_CLEAR,
    COMPUTE_TAG_ADD,
    COMPUTE_TAG_DEL,
};
int compute_server_tags(struct compute *c, const struct compute_caller *who, const char *id,
                        enum compute_tag_op op, const char *tag, json_t *all, json_t **out,
                        struct compute_err *err);

/* ---- server groups ----
 * {"id","name","policy","project_id","user_id","members":[server ids],
 *  "metadata":{},"created"}. One host: affinity always holds,
 * anti-affinity for one member only (a second is -ENOSPC at create, Nova's
 * "No valid host"), the soft policies always place. A create joins a
 * group with in's "scheduler_hints": {"group": ID} (unknown: -EINVAL).
 * Deleted servers drop out of members. */
int compute_group_create(struct compute *c, const struct compute_caller *who, const char *name,
                         const char *policy, json_t **out, struct compute_err *err);
int compute_group_get(struct compute *c, const struct compute_caller *who, const char *id,
                      json_t **out);
/* The caller's project's groups (all_projects: every one, admins). */
int compute_group_list(struct compute *c, const struct compute_caller *who, bool all_projects,
                       json_t **out);
int compute_group_delete(struct compute *c, const struct compute_caller *who, const char *id);

/* ---- instance actions ---- */
/* Every action of the server, newest first: {"action","request_id",
 * "user_id","project_id","start_time","message","instance_uuid",
 * "events":[{"event","start_time","finish_time","result"}]}.  With deleted
 * (Nova's microversion 2.21+) also those of a deleted server whose
 * tombstone is still kept (the newest host.deleted_kept deleted servers),
 * to the same callers (its project, admins); -ENOENT otherwise. */
int compute_actions_list(struct compute *c, const struct compute_caller *who, const char *id,
                         bool deleted, json_t **out);
int compute_action_get(struct compute *c, const struct compute_caller *who, const char *id,
                       bool deleted, const char *request_id, json_t **out);

#endif
