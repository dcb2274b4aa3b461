/* Nova servers against a real picostackd, without a running guest (the
 * VMM binary is pointed at a path that does not exist, so each build ends
 * in ERROR with a fault, the same on every host):
 *   create_checks     every 4xx of POST /servers leaves nothing behind
 *   quota_capacity    instances/cores quotas (403) and host capacity (409)
 *   isolation_listing another project sees nothing; admin's all_tenants;
 *                     filters, sort, limit/marker, the detail view
 *   error_delete      BUILD -> ERROR with a fault; DELETE removes the
 *                     server, its ports and its boot volume; its instance
 *                     actions stay readable at 2.21+ (its project, admins),
 *                     for the newest deleted_servers_kept (2 here) servers
 *   boot              (its own daemon, the real picostack-vmm) the own test
 *                     guest `control` as a Glance kernel image on the tiny
 *                     flavor: BUILD -> ACTIVE, console output, reboot soft
 *                     and hard, stop/start, pause, suspend, kill -9 of the
 *                     VMM -> ERROR within a second, picostackd kill -9 and
 *                     restart -> adopted, still ACTIVE; `poweroff` ->
 *                     SHUTOFF; rebuild on another image: a new boot
 *                     volume and VMM, ACTIVE; delete ends the VMM. Without a usable
 *                     /dev/kvm the build must end in ERROR saying so.
 *   boot_supervise    three servers of the `virtioblk` guest writing and
 *                     flushing a pattern; picostackd kill -9 and restart:
 *                     all ACTIVE, same VMMs, consoles go on; a hard reboot
 *                     of each reads the flushed pattern back from disk
 *   boot_net          (its own daemon with the network data plane in a
 *                     namespace of its own) a port with the guest's
 *                     address: plugged (a tap on the network's bridge),
 *                     handed to the VMM; the `virtionet` guest shows the
 *                     port's MAC and answers pings from the network's DHCP
 *                     namespace, then powers off: SHUTOFF; delete unplugs.
 *   stopped_actions   ERROR -> os-stop -> SHUTOFF; wrong states 409;
 *                     createImage of the stopped server (and its 400/404s);
 *                     volume attach/list/detach, twice 4xx, an attached
 *                     volume cannot be deleted; resize + confirm/revert;
 *                     metadata, rename, instance actions
 *   nova_extras       accessIPv4/v6 (stored, canonical, 400 when bad),
 *                     changes-since/-before and ip/ip6 filters, lock and
 *                     unlock (409 for the owner, 403 lifting an admin's
 *                     lock), rebuild (bad input 400, a new boot volume
 *                     from the new image, SHUTOFF kept), restore 409,
 *                     forceDelete, os-server-password, virtual interfaces
 *                     400, availability zones, security_groups left out
 *                     without ports, microversion 406/400, server groups
 *                     (members by scheduler hint, anti-affinity 409),
 *                     tags (2.26)
 *   test_servers SUBTEST PICOSTACKD */
#include "tests/support/picostackd_harness.h"
#include "tests/support/subtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct picostackd D;
static char *ADM;

#define C        "/compute/v2.1"
#define NOVA_237 "X-OpenStack-Nova-API-Version: 2.37"

/* A JSON request: its status; *out kept when given. */
#define req(tok, method, path, body, out) http_call(&D, tok, method, path, body, NULL, out)

#define req_h(tok, method, path, body, header, out) \
    http_call(&D, tok, method, path, body, header, out)

static char *member_of(const char *project, const char *user, char **project_id)
{
    char *p = create_project(&D, ADM, project), *u = create_user(&D, ADM, user, "pw-member-1");
    char *role = find_role(&D, ADM, "member");
    CHECK(p && u && role && grant(&D, ADM, p, u, role) == 204);
    char *tok = login(&D, user, "pw-member-1", project);
    CHECK(tok != NULL);
    if (project_id)
        *project_id = p;
    else
        free(p);
    free(u);
    free(role);
    return tok;
}

/* An active image with data (and properties, a JSON object text). */
static char *make_image(const char *tok, const char *name, const char *fmt, const char *props,
                        const char *data)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"name\": \"%s\", \"disk_format\": \"%s\", \"container_format\": \"%s\"%s%s}", name,
             fmt, !strcmp(fmt, "aki") ? "aki" : "bare", props ? ", " : "", props ? props : "");
    struct resp r;
    CHECK(req(tok, "POST", "/image/v2/images", body, &r) == 201, "%s", r.body ?: "");
    char *id = jstr(r.json, "id") ? strdup(jstr(r.json, "id")) : NULL;
    resp_free(&r);
    if (!id || !data)
        return id;
    char path[512];
    snprintf(path, sizeof path, "/image/v2/images/%s/file", id);
    CHECK(http_req(&D, "PUT", path, tok, "application/octet-stream", data, &r) == 0 &&
              r.status == 204,
          "upload: %ld %s", r.status, r.body ?: "");
    resp_free(&r);
    return id;
}

/* A network with one subnet; returns the network id. */
static char *make_net(const char *tok, const char *name, const char *cidr)
{
    char body[512];
    struct resp r;
    snprintf(body, sizeof body, "{\"network\": {\"name\": \"%s\"}}", name);
    CHECK(req(tok, "POST", "/network/v2.0/networks", body, &r) == 201, "%s", r.body ?: "");
    char *id = strdup(jstr(json_object_get(r.json, "network"), "id") ?: "");
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"subnet\": {\"network_id\": \"%s\", \"cidr\": \"%s\", \"ip_version\": 4}}", id,
             cidr);
    CHECK(req(tok, "POST", "/network/v2.0/subnets", body, NULL) == 201);
    return id;
}

/* Compute ports (device_owner compute:nova) the token sees. */
static size_t compute_ports(const char *tok)
{
    struct resp r;
    CHECK(req(tok, "GET", "/network/v2.0/ports?device_owner=compute:nova", NULL, &r) == 200);
    size_t n = json_array_size(json_object_get(r.json, "ports"));
    resp_free(&r);
    return n;
}

static size_t count(const char *tok, const char *path, const char *key)
{
    struct resp r;
    CHECK(req(tok, "GET", path, NULL, &r) == 200, "%s: %s", path, r.body ?: "");
    size_t n = json_array_size(json_object_get(r.json, key));
    resp_free(&r);
    return n;
}

/* POST /servers; returns the status, the new id in id (when 202). */
static long create(const char *tok, const char *header, const char *body, char id[64], char *msg,
                   size_t msglen)
{
    struct resp r;
    long st = header ? req_h(tok, "POST", C "/servers", body, header, &r)
                     : req(tok, "POST", C "/servers", body, &r);
    if (id)
        snprintf(id, 64, "%s", jstr(json_object_get(r.json, "server"), "id") ?: "");
    if (msg) {
        const char *m = NULL;
        const char *k;
        json_t *v;
        json_object_foreach (r.json, k, v)
            m = jstr(v, "message");
        snprintf(msg, msglen, "%s", m ? m : (r.body ? r.body : ""));
    }
    resp_free(&r);
    return st;
}

static json_t *show(const char *tok, const char *id, long *status)
{
    char path[256];
    snprintf(path, sizeof path, C "/servers/%s", id);
    struct resp r;
    long st = req(tok, "GET", path, NULL, &r);
    if (status)
        *status = st;
    json_t *s = st == 200 ? json_incref(json_object_get(r.json, "server")) : NULL;
    resp_free(&r);
    return s;
}

/* Polls until the server's status is want (or it is gone and want is
 * "GONE"); 10 s at most (WAIT_ROUNDS of 50 ms). */
static int WAIT_ROUNDS = 200;
static bool wait_status(const char *tok, const char *id, const char *want)
{
    for (int i = 0; i < WAIT_ROUNDS; i++) {
        long st;
        json_t *s = show(tok, id, &st);
        bool ok = s ? !strcmp(jstr(s, "status") ?: "", want) : (st == 404 && !strcmp(want, "GONE"));
        json_decref(s);
        if (ok)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static long action(const char *tok, const char *id, const char *body, struct resp *out)
{
    char path[256];
    snprintf(path, sizeof path, C "/servers/%s/action", id);
    return req(tok, "POST", path, body, out);
}

/* The fixture every sub-test shares: project A (member token), its
 * network, a kernel image and a root image with kernel_id. */
static char *TA, *PA, *NET, *KERNEL, *ROOT;

static void fixture(void)
{
    TA = member_of("proj-a", "user-a", &PA);
    NET = make_net(TA, "net-a", "10.20.0.0/24");
    KERNEL = make_image(TA, "kernel", "aki", NULL, "not really a kernel, but bytes");
    char props[256];
    snprintf(props, sizeof props, "\"kernel_id\": \"%s\", \"os_command_line\": \"quiet\"",
             KERNEL ? KERNEL : "");
    ROOT = make_image(TA, "root", "raw", props, "root filesystem bytes");
}

static void fixture_free(void)
{
    free(TA);
    free(PA);
    free(NET);
    free(KERNEL);
    free(ROOT);
}

static char *server_body(const char *name, const char *image, const char *flavor, const char *extra)
{
    char *b = NULL;
    if (asprintf(
            &b, "{\"server\": {\"name\": \"%s\", \"imageRef\": \"%s\", \"flavorRef\": \"%s\"%s%s}}",
            name, image, flavor, extra ? ", " : "", extra ? extra : "") < 0)
        return NULL;
    return b;
}

/* ---- create_checks ---- */

static void expect_refused(const char *tok, const char *header, const char *body, long status,
                           const char *words)
{
    char msg[512];
    long st = create(tok, header, body, NULL, msg, sizeof msg);
    CHECK(st == status, "%s -> %ld (wanted %ld): %s", body, st, status, msg);
    if (words)
        CHECK(strstr(msg, words) != NULL, "%s: message '%s' lacks '%s'", body, msg, words);
}

static void t_create_checks(void)
{
    fixture();
    char nets[256], *b;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    /* malformed */
    expect_refused(TA, NULL, "{\"server\": 7}", 400, NULL);
    expect_refused(TA, NULL, "{\"server\": {\"imageRef\": \"x\", \"flavorRef\": \"c1\"}}", 400,
                   "name");
    expect_refused(TA, NULL, "not json", 400, NULL);
    b = server_body("s", ROOT, "no-such-flavor", nets);
    expect_refused(TA, NULL, b, 400, "Flavor");
    free(b);
    b = server_body("s", "00000000-0000-4000-8000-000000000000", "c1", nets);
    expect_refused(TA, NULL, b, 400, "Image");
    free(b);
    /* an image without kernel_id boots itself (issue 14), but its boot
     * properties must make sense */
    char *plain = make_image(TA, "plain", "raw", "\"os_boot\": \"pxe\"", "bytes");
    b = server_body("s", plain, "c1", nets);
    expect_refused(TA, NULL, b, 400, "os_boot");
    free(b);
    free(plain);
    plain = make_image(TA, "plain", "raw", "\"hw_firmware_type\": \"coreboot\"", "bytes");
    b = server_body("s", plain, "c1", nets);
    expect_refused(TA, NULL, b, 400, "hw_firmware_type");
    free(b);
    /* a queued (never uploaded) image is not active */
    char props[128];
    snprintf(props, sizeof props, "\"kernel_id\": \"%s\"", KERNEL);
    char *queued = make_image(TA, "queued", "raw", props, NULL);
    b = server_body("s", queued, "c1", nets);
    expect_refused(TA, NULL, b, 400, "not active");
    free(b);
    /* another project's network, an unknown one, an unknown key, bad
     * user_data, an unknown security group, bad counts */
    char *tb = member_of("proj-b", "user-b", NULL);
    char *netb = make_net(tb, "net-b", "10.30.0.0/24");
    char extra[512];
    snprintf(extra, sizeof extra, "\"networks\": [{\"uuid\": \"%s\"}]", netb);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "Network");
    free(b);
    b = server_body("s", ROOT, "c1",
                    "\"networks\": [{\"uuid\": \"00000000-0000-4000-8000-000000000000\"}]");
    expect_refused(TA, NULL, b, 400, "Network");
    free(b);
    snprintf(extra, sizeof extra, "%s, \"key_name\": \"nope\"", nets);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "key_name");
    free(b);
    snprintf(extra, sizeof extra, "%s, \"user_data\": \"not base64 !!\"", nets);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "base 64");
    free(b);
    snprintf(extra, sizeof extra, "%s, \"security_groups\": [{\"name\": \"nope\"}]", nets);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "Security group");
    free(b);
    snprintf(extra, sizeof extra, "%s, \"min_count\": 3, \"max_count\": 2", nets);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "min_count");
    free(b);
    snprintf(extra, sizeof extra, "%s, \"metadata\": {\"k\": 5}", nets);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 400, "metadata");
    free(b);
    /* 2.37: networks required; "auto" and "none" only there */
    b = server_body("s", ROOT, "c1", NULL);
    expect_refused(TA, NOVA_237, b, 400, "networks");
    free(b);
    b = server_body("s", ROOT, "c1", "\"networks\": \"none\"");
    expect_refused(TA, NULL, b, 400, "2.37");
    free(b);
    b = server_body("s", ROOT, "c1", "\"networks\": \"sideways\"");
    expect_refused(TA, NOVA_237, b, 400, NULL);
    free(b);
    /* a port that another server holds */
    struct resp r;
    snprintf(extra, sizeof extra,
             "{\"port\": {\"network_id\": \"%s\", \"device_id\": \"someone\"}}", NET);
    CHECK(req(TA, "POST", "/network/v2.0/ports", extra, &r) == 201);
    char port[64];
    snprintf(port, sizeof port, "%s", jstr(json_object_get(r.json, "port"), "id") ?: "");
    resp_free(&r);
    snprintf(extra, sizeof extra, "\"networks\": [{\"port\": \"%s\"}]", port);
    b = server_body("s", ROOT, "c1", extra);
    expect_refused(TA, NULL, b, 409, "in use");
    free(b);
    /* a reader may not create */
    /* nothing was left behind by any of them */
    CHECK(count(TA, C "/servers", "servers") == 0);
    CHECK(compute_ports(TA) == 0);
    CHECK(count(TA, "/volume/v3/volumes", "volumes") == 0);
    /* and a good one passes (microversion 2.37, "none": no NIC) */
    char id[64];
    b = server_body("fine", ROOT, "c1", "\"networks\": \"none\"");
    CHECK(create(TA, NOVA_237, b, id, NULL, 0) == 202);
    free(b);
    CHECK(id[0] != 0);
    free(plain);
    free(queued);
    free(netb);
    free(tb);
    fixture_free();
}

/* ---- quota_capacity ---- */

static void t_quota_capacity(void)
{
    fixture();
    char path[256], nets[256], id[64], msg[512], *b;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    snprintf(path, sizeof path, C "/os-quota-sets/%s", PA);
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"instances\": 2, \"cores\": 3}}", NULL) == 200);
    b = server_body("q", ROOT, "c1", nets);
    CHECK(create(TA, NULL, b, id, msg, sizeof msg) == 202, "%s", msg);
    free(b);
    /* 2 more instances do not fit (1 left); min_count 1 max 3 makes one */
    char extra[512];
    snprintf(extra, sizeof extra, "%s, \"min_count\": 2", nets);
    b = server_body("q2", ROOT, "c1", extra);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 403, "%s", msg);
    CHECK(strstr(msg, "instances") != NULL, "%s", msg);
    free(b);
    snprintf(extra, sizeof extra, "%s, \"min_count\": 1, \"max_count\": 3", nets);
    b = server_body("q3", ROOT, "c1", extra);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 202, "%s", msg);
    free(b);
    CHECK(count(TA, C "/servers", "servers") == 2);
    CHECK(compute_ports(TA) == 2);
    b = server_body("q4", ROOT, "c1", nets);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 403);
    free(b);
    /* cores: a 4-vCPU flavor over a quota of 3 */
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"instances\": -1, \"cores\": 3}}", NULL) == 200);
    CHECK(req(ADM, "POST", C "/flavors",
              "{\"flavor\": {\"name\": \"wide\", \"id\": \"wide\", \"ram\": 64, \"vcpus\": 4, "
              "\"disk\": 1}}",
              NULL) == 200);
    b = server_body("w", ROOT, "wide", nets);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 403);
    CHECK(strstr(msg, "cores") != NULL, "%s", msg);
    free(b);
    /* host capacity: more vCPUs than CPUs x 16.0 (Nova's ratio), quota unlimited */
    CHECK(req(ADM, "PUT", path, "{\"quota_set\": {\"cores\": -1, \"ram\": -1}}", NULL) == 200);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char fl[256];
    snprintf(fl, sizeof fl,
             "{\"flavor\": {\"name\": \"huge\", \"id\": \"huge\", \"ram\": 64, \"vcpus\": %ld, "
             "\"disk\": 1}}",
             cpus * 16 + 1);
    CHECK(req(ADM, "POST", C "/flavors", fl, NULL) == 200);
    b = server_body("h", ROOT, "huge", nets);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 409, "%s", msg);
    CHECK(strstr(msg, "No valid host") != NULL, "%s", msg);
    free(b);
    /* RAM: 1.9 PiB does not fit this host at ratio 1.5 */
    CHECK(
        req(ADM, "POST", C "/flavors",
            "{\"flavor\": {\"name\": \"fat\", \"id\": \"fat\", \"ram\": 2000000000, \"vcpus\": 1, "
            "\"disk\": 1}}",
            NULL) == 200);
    b = server_body("f", ROOT, "fat", nets);
    CHECK(create(TA, NULL, b, NULL, msg, sizeof msg) == 409, "%s", msg);
    free(b);
    /* nothing half-made */
    CHECK(count(TA, C "/servers", "servers") == 2);
    CHECK(compute_ports(TA) == 2);
    /* limits show the usage */
    struct resp r;
    CHECK(req(TA, "GET", C "/limits", NULL, &r) == 200);
    json_t *abs = json_object_get(json_object_get(r.json, "limits"), "absolute");
    CHECK(json_integer_value(json_object_get(abs, "totalInstancesUsed")) == 2, "%s", r.body);
    CHECK(json_integer_value(json_object_get(abs, "totalCoresUsed")) == 2);
    CHECK(json_integer_value(json_object_get(abs, "totalRAMUsed")) == 256);
    resp_free(&r);
    char detail[300];
    snprintf(detail, sizeof detail, "%s/detail", path);
    CHECK(req(TA, "GET", detail, NULL, &r) == 200);
    CHECK(json_integer_value(json_object_get(
              json_object_get(json_object_get(r.json, "quota_set"), "instances"), "in_use")) == 2,
          "%s", r.body);
    resp_free(&r);
    fixture_free();
}

/* ---- isolation_listing ---- */

static void t_isolation_listing(void)
{
    fixture();
    char nets[256], ids[3][64], *b;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    const char *names[] = { "web-1", "web-2", "db-1" };
    for (int i = 0; i < 3; i++) {
        b = server_body(names[i], ROOT, i == 2 ? "1" : "c1", nets);
        char msg[256];
        CHECK(create(TA, NULL, b, ids[i], msg, sizeof msg) == 202, "%s", msg);
        free(b);
        usleep(1100 * 1000); /* distinct created times for the sort */
    }
    char *tb = member_of("proj-b", "user-b", NULL);
    /* B sees none of it */
    CHECK(count(tb, C "/servers", "servers") == 0);
    CHECK(count(tb, C "/servers/detail", "servers") == 0);
    char path[256];
    snprintf(path, sizeof path, C "/servers/%s", ids[0]);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    CHECK(req(tb, "DELETE", path, NULL, NULL) == 404);
    CHECK(req(tb, "PUT", path, "{\"server\": {\"name\": \"x\"}}", NULL) == 404);
    CHECK(action(tb, ids[0], "{\"os-stop\": null}", NULL) == 404);
    snprintf(path, sizeof path, C "/servers/%s/os-volume_attachments", ids[0]);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", ids[0]);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    snprintf(path, sizeof path, C "/servers/%s/ips", ids[0]);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    CHECK(req(tb, "GET", C "/servers?all_tenants=1", NULL, NULL) == 403);
    /* admin: own project only, unless all_tenants */
    CHECK(count(ADM, C "/servers", "servers") == 0);
    CHECK(count(ADM, C "/servers/detail?all_tenants=1", "servers") == 3);
    /* filters */
    CHECK(count(TA, C "/servers?name=web", "servers") == 2);
    CHECK(count(TA, C "/servers?name=%5Eweb-2%24", "servers") == 1);
    CHECK(count(TA, C "/servers?name=nothing", "servers") == 0);
    CHECK(count(TA, C "/servers?flavor=1", "servers") == 1);
    snprintf(path, sizeof path, C "/servers/detail?image=%s", ROOT);
    CHECK(count(TA, path, "servers") == 3);
    CHECK(wait_status(TA, ids[0], "ERROR") && wait_status(TA, ids[2], "ERROR"));
    CHECK(count(TA, C "/servers?status=ERROR", "servers") == 3);
    CHECK(count(TA, C "/servers?status=ACTIVE", "servers") == 0);
    CHECK(req(TA, "GET", C "/servers?name=(", NULL, NULL) == 400);
    /* sort (newest first by default), limit and marker with a next link */
    struct resp r;
    CHECK(req(TA, "GET", C "/servers?limit=2", NULL, &r) == 200);
    json_t *list = json_object_get(r.json, "servers");
    CHECK(json_array_size(list) == 2);
    CHECK_STR(jstr(json_array_get(list, 0), "id"), ids[2]);
    CHECK_STR(jstr(json_array_get(list, 1), "id"), ids[1]);
    const char *next = jstr(json_array_get(json_object_get(r.json, "servers_links"), 0), "href");
    CHECK(next && strstr(next, "marker=") && strstr(next, ids[1]), "%s", r.body);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers?limit=2&marker=%s", ids[1]);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "servers")) == 1);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "servers"), 0), "id"), ids[0]);
    CHECK(json_object_get(r.json, "servers_links") == NULL);
    resp_free(&r);
    CHECK(req(TA, "GET", C "/servers?sort_key=display_name&sort_dir=asc", NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "servers"), 0), "name"), "db-1");
    resp_free(&r);
    CHECK(req(TA, "GET", C "/servers?marker=nope", NULL, NULL) == 400);
    CHECK(req(TA, "GET", C "/servers?sort_key=bogus", NULL, NULL) == 400);
    CHECK(req(TA, "GET", C "/servers?limit=-1", NULL, NULL) == 400);
    /* the detail view */
    long st;
    json_t *s = show(TA, ids[0], &st);
    CHECK(s != NULL);
    CHECK_STR(jstr(s, "name"), "web-1");
    CHECK_STR(jstr(s, "tenant_id"), PA);
    CHECK_STR(jstr(json_object_get(s, "image"), "id"), ROOT);
    CHECK_STR(jstr(json_object_get(s, "flavor"), "id"), "c1");
    CHECK_STR(jstr(s, "OS-EXT-AZ:availability_zone"), "nova");
    CHECK_STR(jstr(s, "OS-EXT-STS:vm_state"), "error");
    CHECK(json_is_integer(json_object_get(s, "OS-EXT-STS:power_state")));
    CHECK(json_object_get(s, "OS-EXT-STS:task_state") != NULL);
    json_t *addr = json_object_get(json_object_get(s, "addresses"), "net-a");
    CHECK(json_array_size(addr) == 1, "%s", json_dumps(s, 0));
    const char *ip = jstr(json_array_get(addr, 0), "addr");
    CHECK(ip && !strncmp(ip, "10.20.0.", 8), "%s", ip ? ip : "");
    CHECK_STR(jstr(json_array_get(addr, 0), "OS-EXT-IPS:type"), "fixed");
    CHECK(jstr(json_array_get(addr, 0), "OS-EXT-IPS-MAC:mac_addr") != NULL);
    /* /ips and /ips/{network}: the same address, only version and addr */
    {
        struct resp ir;
        char ipath[256];
        snprintf(ipath, sizeof ipath, C "/servers/%s/ips", ids[0]);
        CHECK(req(TA, "GET", ipath, NULL, &ir) == 200);
        json_t *a0 =
            json_array_get(json_object_get(json_object_get(ir.json, "addresses"), "net-a"), 0);
        CHECK_STR(jstr(a0, "addr"), ip);
        CHECK(json_object_size(a0) == 2 && json_integer_value(json_object_get(a0, "version")) == 4);
        resp_free(&ir);
        snprintf(ipath, sizeof ipath, C "/servers/%s/ips/net-a", ids[0]);
        CHECK(req(TA, "GET", ipath, NULL, &ir) == 200);
        CHECK_STR(jstr(json_array_get(json_object_get(ir.json, "net-a"), 0), "addr"), ip);
        resp_free(&ir);
        snprintf(ipath, sizeof ipath, C "/servers/%s/ips/no-such-net", ids[0]);
        CHECK(req(TA, "GET", ipath, NULL, NULL) == 404);
    }
    CHECK(json_is_array(json_object_get(s, "os-extended-volumes:volumes_attached")));
    CHECK_STR(jstr(json_array_get(json_object_get(s, "security_groups"), 0), "name"), "default");
    CHECK(jstr(s, "hostId") && strlen(jstr(s, "hostId")) == 56);
    CHECK(jstr(json_object_get(s, "fault"), "message") != NULL);
    json_decref(s);
    free(tb);
    fixture_free();
}

/* ---- error_delete ---- */

#define NOVA_221 "OpenStack-API-Version: compute 2.21"

/* The actions of server id that tok reads at 2.21, as "create,delete"
 * (oldest first), or NULL with *status set when not 200. */
static char *deleted_actions(const char *tok, const char *id, long *status)
{
    char path[256];
    struct resp r;
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", id);
    *status = req_h(tok, "GET", path, NULL, NOVA_221, &r);
    if (*status != 200) {
        resp_free(&r);
        return NULL;
    }
    json_t *acts = json_object_get(r.json, "instanceActions");
    char out[256] = "";
    for (size_t i = json_array_size(acts); i-- > 0;) {
        json_t *a = json_array_get(acts, i);
        CHECK_STR(jstr(a, "instance_uuid"), id);
        CHECK(!json_object_get(a, "events"), "events in a list: %s", r.body);
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", *out ? "," : "",
                 jstr(a, "action") ?: "?");
    }
    resp_free(&r);
    return strdup(out);
}

/* Nova 2.21+: a deleted server's actions stay readable to its project
 * and admins; before 2.21, and to other projects, it is gone. */
static void check_deleted_actions(const char *id)
{
    long st;
    char *acts = deleted_actions(TA, id, &st);
    CHECK(st == 200 && acts && !strcmp(acts, "create,delete"), "%ld %s", st, acts ?: "");
    free(acts);
    acts = deleted_actions(ADM, id, &st);
    CHECK(st == 200 && acts && !strcmp(acts, "create,delete"), "admin: %ld %s", st, acts ?: "");
    free(acts);
    char *tb = member_of("proj-b", "user-b", NULL);
    free(deleted_actions(tb, id, &st));
    CHECK(st == 404, "another project: %ld", st);
    free(tb);
    char path[256];
    struct resp r;
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", id);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404); /* 2.1 */
    CHECK(req_h(TA, "GET", path, NULL, "OpenStack-API-Version: compute 2.20", NULL) == 404);
    /* one action, with its events */
    CHECK(req_h(TA, "GET", path, NULL, NOVA_221, &r) == 200);
    const char *rid =
        jstr(json_array_get(json_object_get(r.json, "instanceActions"), 0), "request_id");
    char one[512];
    snprintf(one, sizeof one, "%s/%s", path, rid ?: "none");
    resp_free(&r);
    CHECK(req_h(TA, "GET", one, NULL, NOVA_221, &r) == 200);
    json_t *a = json_object_get(r.json, "instanceAction");
    CHECK_STR(jstr(a, "action"), "delete");
    CHECK(json_array_size(json_object_get(a, "events")) == 1, "%s", r.body);
    resp_free(&r);
    CHECK(req(TA, "GET", one, NULL, NULL) == 404);
    snprintf(one, sizeof one, "%s/req-nope", path);
    CHECK(req_h(TA, "GET", one, NULL, NOVA_221, NULL) == 404);
}

static void t_error_delete(void)
{
    fixture();
    char nets[256], extra[512], id[64], *b;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    snprintf(extra, sizeof extra,
             "%s, \"metadata\": {\"role\": \"test\"}, \"user_data\": \"aGVsbG8K\", "
             "\"config_drive\": true",
             nets);
    b = server_body("doomed", ROOT, "c1", extra);
    CHECK(create(TA, NULL, b, id, NULL, 0) == 202);
    free(b);
    CHECK(wait_status(TA, id, "ERROR"));
    long st;
    json_t *s = show(TA, id, &st);
    const char *fault = jstr(json_object_get(s, "fault"), "message");
    CHECK(fault && strstr(fault, "failed"), "%s", fault ? fault : "(none)");
    CHECK_STR(jstr(json_object_get(s, "metadata"), "role"), "test");
    CHECK_STR(jstr(s, "config_drive"), "True");
    /* its boot volume was made from the image and is attached */
    json_t *vols = json_object_get(s, "os-extended-volumes:volumes_attached");
    CHECK(json_array_size(vols) == 1, "%s", json_dumps(s, 0));
    char vol[64];
    snprintf(vol, sizeof vol, "%s", jstr(json_array_get(vols, 0), "id") ?: "");
    json_decref(s);
    char path[256];
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
    struct resp r;
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "in-use");
    resp_free(&r);
    /* an attached volume cannot be deleted */
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 400);
    CHECK(compute_ports(TA) == 1);
    /* delete: 204, then gone with its port and boot volume */
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 404);
    CHECK(compute_ports(TA) == 0);
    CHECK(count(TA, "/volume/v3/volumes", "volumes") == 0);
    check_deleted_actions(id);
    char first[64];
    snprintf(first, sizeof first, "%s", id);
    /* unknown servers: 404 at any microversion */
    long ast;
    free(deleted_actions(TA, "00000000-0000-4000-8000-000000000000", &ast));
    CHECK(ast == 404, "%ld", ast);
    free(deleted_actions(TA, "not-a-uuid", &ast));
    CHECK(ast == 404, "%ld", ast);
    /* boot from a volume with delete_on_termination false: it stays */
    snprintf(extra, sizeof extra,
             "{\"volume\": {\"size\": 1, \"imageRef\": \"%s\", \"name\": \"bootvol\"}}", ROOT);
    CHECK(req(TA, "POST", "/volume/v3/volumes", extra, &r) == 202, "%s", r.body ?: "");
    snprintf(vol, sizeof vol, "%s", jstr(json_object_get(r.json, "volume"), "id") ?: "");
    resp_free(&r);
    snprintf(extra, sizeof extra,
             "{\"server\": {\"name\": \"fromvol\", \"imageRef\": \"\", \"flavorRef\": \"c1\", "
             "%s, \"block_device_mapping_v2\": [{\"uuid\": \"%s\", \"boot_index\": \"0\", "
             "\"source_type\": \"volume\", \"destination_type\": \"volume\"}]}}",
             nets, vol);
    CHECK(create(TA, NULL, extra, id, NULL, 0) == 202);
    /* the same volume again: in use */
    char msg[256];
    CHECK(create(TA, NULL, extra, NULL, msg, sizeof msg) == 409, "%s", msg);
    CHECK(wait_status(TA, id, "ERROR"));
    s = show(TA, id, &st);
    CHECK_STR(jstr(s, "image"), "");
    json_decref(s);
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "available");
    resp_free(&r);
    CHECK(compute_ports(TA) == 0);
    /* an image without kernel_id is accepted; its build fails here (no
     * VMM) like any other, and delete cleans up */
    char *plain = make_image(TA, "plain", "raw", "\"os_boot\": \"direct\"", "bytes");
    b = server_body("plain", plain, "c1", nets);
    CHECK(create(TA, NULL, b, id, NULL, 0) == 202);
    free(b);
    free(plain);
    CHECK(wait_status(TA, id, "ERROR"));
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    CHECK(count(TA, "/volume/v3/volumes", "volumes") == 1); /* bootvol, kept */
    /* bounded: picostackd keeps the 2 newest deleted servers' actions here
     * (deleted_servers_kept), so the first one's are forgotten */
    char *acts = deleted_actions(TA, id, &ast);
    CHECK(ast == 200 && acts && !strcmp(acts, "create,delete"), "%ld %s", ast, acts ?: "");
    free(acts);
    free(deleted_actions(TA, first, &ast));
    CHECK(ast == 404, "the oldest deleted server's actions: %ld", ast);
    fixture_free();
}

static const char *s_boot_volume(const char *id);

/* createImage of a stopped server: 202 with the image's URL in Location
 * (before 2.45), an active raw image sharing the boot volume's clusters
 * with Nova's snapshot properties; bad input 400, another project's or an
 * unknown server 404. */
static void create_image_checks(const char *id)
{
    const char *bad[] = {
        "{\"createImage\": \"snap\"}",
        "{\"createImage\": {}}",
        "{\"createImage\": {\"name\": \"\"}}",
        "{\"createImage\": {\"name\": 5}}",
        "{\"createImage\": {\"name\": \" lead\"}}",
        "{\"createImage\": {\"name\": \"x\", \"metadata\": [1]}}",
        "{\"createImage\": {\"name\": \"x\", \"metadata\": {\"k\": 1}}}",
        "{\"createImage\": {\"name\": \"x\", \"other\": 1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(action(TA, id, bad[i], NULL) == 400, "%s", bad[i]);
    const char *good = "{\"createImage\": {\"name\": \"snap-1\", \"metadata\": "
                       "{\"purpose\": \"test\"}}}";
    char *tb = member_of("proj-b", "user-b", NULL);
    CHECK(action(tb, id, good, NULL) == 404);
    free(tb);
    CHECK(action(TA, "00000000-0000-4000-8000-000000000000", good, NULL) == 404);
    CHECK(count(TA, "/image/v2/images", "images") == 2); /* kernel, root: nothing made */
    struct resp r;
    CHECK(action(TA, id, good, &r) == 202, "%s", r.body ?: "");
    const char *slash = strrchr(r.location, '/');
    char image[64] = "", path[256];
    CHECK(slash && strstr(r.location, "/image/v2/images/"), "Location '%s'", r.location);
    snprintf(image, sizeof image, "%s", slash ? slash + 1 : "");
    resp_free(&r);
    snprintf(path, sizeof path, "/image/v2/images/%s", image);
    CHECK(req(TA, "GET", path, NULL, &r) == 200, "%s", path);
    CHECK_STR(jstr(r.json, "name"), "snap-1");
    CHECK_STR(jstr(r.json, "status"), "active");
    CHECK_STR(jstr(r.json, "disk_format"), "raw");
    CHECK_STR(jstr(r.json, "owner"), PA);
    CHECK_STR(jstr(r.json, "image_type"), "snapshot");
    CHECK_STR(jstr(r.json, "instance_uuid"), id);
    CHECK_STR(jstr(r.json, "base_image_ref"), ROOT);
    CHECK_STR(jstr(r.json, "kernel_id"), KERNEL);
    CHECK_STR(jstr(r.json, "purpose"), "test");
    CHECK(json_integer_value(json_object_get(r.json, "size")) == 1ll << 30, "%s", r.body);
    resp_free(&r);
    /* the server's event list has it */
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "instanceActions"), 0), "action"),
              "createImage");
    resp_free(&r);
    /* the image goes on its own; the server's boot volume stays */
    snprintf(path, sizeof path, "/image/v2/images/%s", image);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", s_boot_volume(id));
    CHECK(req(TA, "GET", path, NULL, NULL) == 200);
}

/* ---- stopped_actions ---- */

static void t_stopped_actions(void)
{
    fixture();
    char nets[256], id[64], path[256], body[512], *b;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    b = server_body("act", ROOT, "c1", nets);
    CHECK(create(TA, NULL, b, id, NULL, 0) == 202);
    free(b);
    CHECK(wait_status(TA, id, "ERROR"));
    struct resp r;
    /* wrong states: 409 */
    CHECK(action(TA, id, "{\"os-start\": null}", &r) == 409);
    CHECK(json_object_get(r.json, "conflictingRequest") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(action(TA, id, "{\"pause\": null}", NULL) == 409);
    CHECK(action(TA, id, "{\"reboot\": {\"type\": \"SOFT\"}}", NULL) == 409);
    CHECK(action(TA, id, "{\"reboot\": {\"type\": \"SIDEWAYS\"}}", NULL) == 400);
    CHECK(action(TA, id, "{\"noSuchAction\": {}}", NULL) == 400);
    CHECK(action(TA, id, "{\"os-stop\": null, \"os-start\": null}", NULL) == 400);
    CHECK(action(TA, id, "{\"createImage\": {\"name\": \"in-error\"}}", NULL) == 409);
    /* ERROR -> os-stop -> SHUTOFF (nothing runs) */
    CHECK(action(TA, id, "{\"os-stop\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "SHUTOFF"));
    CHECK(action(TA, id, "{\"os-stop\": null}", NULL) == 409);
    create_image_checks(id);
    /* console output of a server that never ran: empty */
    CHECK(action(TA, id, "{\"os-getConsoleOutput\": {\"length\": 10}}", &r) == 200);
    CHECK(jstr(r.json, "output") != NULL);
    resp_free(&r);
    CHECK(action(TA, id, "{\"os-getConsoleOutput\": {\"length\": \"x\"}}", NULL) == 400);
    /* volumes: attach, list, show, twice, delete refused, detach */
    CHECK(req(TA, "POST", "/volume/v3/volumes", "{\"volume\": {\"size\": 1, \"name\": \"data\"}}",
              &r) == 202);
    char vol[64];
    snprintf(vol, sizeof vol, "%s", jstr(json_object_get(r.json, "volume"), "id") ?: "");
    resp_free(&r);
    for (int i = 0; i < 100; i++) { /* created -> available */
        snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
        req(TA, "GET", path, NULL, &r);
        bool ok = !strcmp(jstr(json_object_get(r.json, "volume"), "status") ?: "", "available");
        resp_free(&r);
        if (ok)
            break;
        usleep(50000);
    }
    snprintf(path, sizeof path, C "/servers/%s/os-volume_attachments", id);
    snprintf(body, sizeof body, "{\"volumeAttachment\": {\"volumeId\": \"%s\", \"device\": null}}",
             vol);
    CHECK(req(TA, "POST", path, body, &r) == 200, "%s", r.body ?: "");
    CHECK_STR(jstr(json_object_get(r.json, "volumeAttachment"), "device"), "/dev/vdb");
    CHECK_STR(jstr(json_object_get(r.json, "volumeAttachment"), "serverId"), id);
    /* delete_on_termination is shown from 2.79 only (Tempest's 2.1 schema) */
    CHECK(!json_object_get(json_object_get(r.json, "volumeAttachment"), "delete_on_termination"));
    resp_free(&r);
    long st = req(TA, "POST", path, body, NULL);
    CHECK(st == 400, "attached twice: %ld (Nova's 400)", st);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    /* the data volume only: the boot volume made from the image is the
     * server's root disk, not an attachment in Nova's sense (Tempest's
     * test_list_get_volume_attachments counts them) */
    CHECK(json_array_size(json_object_get(r.json, "volumeAttachments")) == 1);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    json_t *va =
        json_object_get(json_object_get(r.json, "server"), "os-extended-volumes:volumes_attached");
    CHECK(json_array_size(va) == 2); /* server show still names the boot volume */
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/os-volume_attachments", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"volumeAttachment\": {\"volumeId\": \"00000000-0000-4000-8000-000000000000\"}}");
    CHECK(req(TA, "POST", path, body, NULL) == 404);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "in-use");
    resp_free(&r);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 400);
    snprintf(path, sizeof path, C "/servers/%s/os-volume_attachments/%s", id, vol);
    CHECK(req(TA, "GET", path, NULL, NULL) == 200);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 202);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 404);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "volume"), "status"), "available");
    resp_free(&r);
    /* interfaces: list, attach one on the network, detach it */
    snprintf(path, sizeof path, C "/servers/%s/os-interface", id);
    CHECK(count(TA, path, "interfaceAttachments") == 1);
    snprintf(body, sizeof body, "{\"interfaceAttachment\": {\"net_id\": \"%s\"}}", NET);
    CHECK(req(TA, "POST", path, body, &r) == 200, "%s", r.body ?: "");
    char port[64];
    snprintf(port, sizeof port, "%s",
             jstr(json_object_get(r.json, "interfaceAttachment"), "port_id") ?: "");
    resp_free(&r);
    CHECK(count(TA, path, "interfaceAttachments") == 2);
    CHECK(compute_ports(TA) == 2);
    snprintf(path, sizeof path, C "/servers/%s/os-interface/%s", id, port);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 202);
    CHECK(compute_ports(TA) == 1);
    /* resize: bigger only; VERIFY_RESIZE; revert; again and confirm */
    CHECK(action(TA, id, "{\"resize\": {\"flavorRef\": \"c1\"}}", NULL) == 400);
    CHECK(action(TA, id, "{\"resize\": {\"flavorRef\": \"nope\"}}", NULL) == 400);
    CHECK(action(TA, id, "{\"resize\": {\"flavorRef\": \"1\"}}", NULL) == 202);
    CHECK(wait_status(TA, id, "VERIFY_RESIZE"));
    json_t *s = show(TA, id, &st);
    CHECK_STR(jstr(json_object_get(s, "flavor"), "id"), "1");
    json_decref(s);
    CHECK(action(TA, id, "{\"os-start\": null}", NULL) == 409);
    CHECK(action(TA, id, "{\"revertResize\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "SHUTOFF"));
    s = show(TA, id, &st);
    CHECK_STR(jstr(json_object_get(s, "flavor"), "id"), "c1");
    json_decref(s);
    CHECK(action(TA, id, "{\"confirmResize\": null}", NULL) == 409);
    CHECK(action(TA, id, "{\"resize\": {\"flavorRef\": \"1\"}}", NULL) == 202);
    CHECK(action(TA, id, "{\"confirmResize\": null}", NULL) == 202);
    s = show(TA, id, &st);
    CHECK_STR(jstr(json_object_get(s, "flavor"), "id"), "1");
    CHECK_STR(jstr(s, "status"), "SHUTOFF");
    json_decref(s);
    /* security groups */
    CHECK(action(TA, id, "{\"addSecurityGroup\": {\"name\": \"nope\"}}", NULL) == 404);
    CHECK(action(TA, id, "{\"removeSecurityGroup\": {\"name\": \"default\"}}", NULL) == 202);
    CHECK(action(TA, id, "{\"removeSecurityGroup\": {\"name\": \"default\"}}", NULL) == 400);
    CHECK(action(TA, id, "{\"addSecurityGroup\": {\"name\": \"default\"}}", NULL) == 202);
    /* rename and metadata */
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "PUT", path, "{\"server\": {\"name\": \"renamed\"}}", &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "server"), "name"), "renamed");
    resp_free(&r);
    CHECK(req(TA, "PUT", path, "{\"server\": {\"name\": 5}}", NULL) == 400);
    snprintf(path, sizeof path, C "/servers/%s/metadata", id);
    CHECK(req(TA, "POST", path, "{\"metadata\": {\"a\": \"1\", \"b\": \"2\"}}", NULL) == 200);
    CHECK(req(TA, "PUT", path, "{\"metadata\": {\"c\": \"3\"}}", &r) == 200);
    CHECK(json_object_size(json_object_get(r.json, "metadata")) == 1);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/metadata/d", id);
    CHECK(req(TA, "PUT", path, "{\"meta\": {\"d\": \"4\"}}", NULL) == 200);
    CHECK(req(TA, "PUT", path, "{\"meta\": {\"e\": \"4\"}}", NULL) == 400);
    CHECK(req(TA, "GET", path, NULL, NULL) == 200);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404);
    /* instance actions: create first, each with a request id and user */
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    json_t *acts = json_object_get(r.json, "instanceActions");
    CHECK(json_array_size(acts) >= 8, "%zu actions", json_array_size(acts));
    bool saw_create = false, saw_stop = false;
    size_t i;
    json_t *a;
    char rid[64] = "";
    json_array_foreach (acts, i, a) {
        saw_create |= !strcmp(jstr(a, "action") ?: "", "create");
        saw_stop |= !strcmp(jstr(a, "action") ?: "", "stop");
        CHECK(jstr(a, "request_id") && !strncmp(jstr(a, "request_id"), "req-", 4));
        CHECK(jstr(a, "user_id") && jstr(a, "start_time"));
        if (!strcmp(jstr(a, "action") ?: "", "create"))
            snprintf(rid, sizeof rid, "%s", jstr(a, "request_id"));
    }
    CHECK(saw_create && saw_stop);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions/%s", id, rid);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "instanceAction"), "action"), "create");
    CHECK(json_array_size(json_object_get(json_object_get(r.json, "instanceAction"), "events")) ==
          1);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions/req-nope", id);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404);
    /* delete a stopped server with its data volume detached: volume stays */
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    CHECK(count(TA, "/volume/v3/volumes", "volumes") == 1);
    CHECK(compute_ports(TA) == 0);
    fixture_free();
}

/* ---- boot (a real VMM) ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* A kernel image (aki) holding the file's bytes. */
static char *kernel_image(const char *tok, const char *name, const char *file)
{
    size_t len;
    char *data = read_file(file, &len);
    CHECK(data != NULL, "cannot read %s", file);
    char *id = make_image(tok, name, "aki", NULL, NULL);
    if (!data || !id) {
        free(data);
        return id;
    }
    char path[512];
    snprintf(path, sizeof path, "/image/v2/images/%s/file", id);
    struct resp r;
    CURL *c = http_prepare(&D, "PUT", path, tok, "application/octet-stream", NULL, &r);
    CHECK(c != NULL);
    if (c) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        CHECK(http_perform(c, &r) == 0 && r.status == 204, "upload %s: %ld", file, r.status);
        resp_free(&r);
    }
    free(data);
    return id;
}

static char *console(const char *tok, const char *id)
{
    struct resp r;
    char *out = NULL;
    if (action(tok, id, "{\"os-getConsoleOutput\": {}}", &r) == 200 && jstr(r.json, "output"))
        out = strdup(jstr(r.json, "output"));
    resp_free(&r);
    return out ? out : strdup("");
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Waits (10 s) until the console holds at least n copies of text. */
static bool wait_console(const char *tok, const char *id, const char *text, size_t n)
{
    for (int i = 0; i < WAIT_ROUNDS; i++) {
        char *out = console(tok, id);
        bool ok = count_of(out, text) >= n;
        free(out);
        if (ok)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static pid_t vmm_pid(const char *id)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vmm/%s/vmm.pid", D.dir, id);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *GUEST_DIR;

/* The boot volume of server id (a static buffer; "" when none). */
static const char *s_boot_volume(const char *id)
{
    static char vol[64];
    long st;
    json_t *s = show(TA, id, &st);
    json_t *vols = json_object_get(s, "os-extended-volumes:volumes_attached");
    snprintf(vol, sizeof vol, "%s", jstr(json_array_get(vols, 0), "id") ?: "");
    json_decref(s);
    return vol;
}

/* Cinder 3.42's in-use extend of a running server's disk: the VMM holds
 * it, so the compute service grows it in the store and tells the guest;
 * the volume comes back in-use at the new size (a failure would leave it
 * in error_extending or answer an error). */
static void extend_in_use(const char *vol)
{
    char path[256];
    struct resp r;
    CHECK(*vol, "no boot volume");
    if (!*vol)
        return;
    snprintf(path, sizeof path, "/volume/v3/volumes/%s/action", vol);
    long st = req_h(TA, "POST", path, "{\"os-extend\": {\"new_size\": 2}}",
                    "OpenStack-API-Version: volume 3.42", &r);
    CHECK(st == 202, "in-use extend: %ld %s", st, r.body ?: "");
    resp_free(&r);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", vol);
    bool done = false;
    for (int i = 0; i < 100 && !done; i++) {
        req(TA, "GET", path, NULL, &r);
        json_t *v = json_object_get(r.json, "volume");
        done = !strcmp(jstr(v, "status") ?: "", "in-use") &&
               json_integer_value(json_object_get(v, "size")) == 2;
        resp_free(&r);
        if (!done)
            usleep(50000);
    }
    CHECK(done, "the extended volume is not in-use at 2 GiB");
}

static void t_boot(void)
{
    fixture();
    char file[600], props[256], id[64], msg[512], *b;
    snprintf(file, sizeof file, "%s/control.bzImage", GUEST_DIR);
    char *kern = kernel_image(TA, "control-kernel", file);
    snprintf(props, sizeof props, "\"kernel_id\": \"%s\"", kern ? kern : "");
    char *root = make_image(TA, "control-root", "raw", props, "a root disk");
    b = server_body("vm1", root, "c1", "\"networks\": \"none\"");
    CHECK(create(TA, NOVA_237, b, id, msg, sizeof msg) == 202, "%s", msg);
    free(b);
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        /* no KVM here: the build must fail, and say so */
        CHECK(wait_status(TA, id, "ERROR"));
        long st;
        json_t *s = show(TA, id, &st);
        const char *fault = jstr(json_object_get(s, "fault"), "message");
        CHECK(fault && strstr(fault, "kvm"), "%s", fault ? fault : "(none)");
        json_decref(s);
        goto out;
    }
    WAIT_ROUNDS = 600; /* 30 s: a loaded host */
    double t0 = now_s();
    CHECK(wait_status(TA, id, "ACTIVE"), "not ACTIVE");
    printf("create -> ACTIVE: %.0f ms\n", (now_s() - t0) * 1000);
    CHECK(wait_console(TA, id, "ready", 1), "no console output");
    long st;
    json_t *s = show(TA, id, &st);
    CHECK(json_integer_value(json_object_get(s, "OS-EXT-STS:power_state")) == 1);
    CHECK(jstr(s, "OS-SRV-USG:launched_at") != NULL);
    json_decref(s);
    extend_in_use(s_boot_volume(id));
    /* reboot SOFT: Ctrl-Alt-Del, the guest resets, runs again */
    CHECK(action(TA, id, "{\"reboot\": {\"type\": \"SOFT\"}}", NULL) == 202);
    CHECK(wait_console(TA, id, "ready", 2), "no second boot after reboot SOFT");
    CHECK(wait_status(TA, id, "ACTIVE"));
    /* reboot HARD: a new VMM */
    pid_t p1 = vmm_pid(id);
    CHECK(p1 > 0);
    CHECK(action(TA, id, "{\"reboot\": {\"type\": \"HARD\"}}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    for (int i = 0; i < 100 && vmm_pid(id) == p1; i++)
        usleep(50 * 1000);
    pid_t p2 = vmm_pid(id);
    CHECK(p2 > 0 && p2 != p1, "pid %d -> %d", (int)p1, (int)p2);
    CHECK(kill(p1, 0) < 0 && errno == ESRCH);
    /* pause / unpause, suspend / resume */
    CHECK(action(TA, id, "{\"pause\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "PAUSED"));
    CHECK(action(TA, id, "{\"unpause\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    CHECK(action(TA, id, "{\"suspend\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "SUSPENDED"));
    CHECK(action(TA, id, "{\"resume\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    /* stop (the guest ignores the power button: killed after 1 s), start */
    CHECK(action(TA, id, "{\"os-stop\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "SHUTOFF"));
    CHECK(kill(p2, 0) < 0 && errno == ESRCH);
    CHECK(action(TA, id, "{\"os-start\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    /* kill -9 of the VMM: ERROR (or SHUTOFF) within a second */
    pid_t p3 = 0;
    for (int i = 0; i < 100 && (p3 = vmm_pid(id)) <= 0; i++)
        usleep(50 * 1000);
    CHECK(p3 > 0 && kill(p3, SIGKILL) == 0);
    t0 = now_s();
    bool down = false;
    while (!down && now_s() - t0 < 3) {
        json_t *v = show(TA, id, &st);
        down = v && (!strcmp(jstr(v, "status") ?: "", "ERROR") ||
                     !strcmp(jstr(v, "status") ?: "", "SHUTOFF"));
        json_decref(v);
        if (!down)
            usleep(20 * 1000);
    }
    double took = now_s() - t0;
    printf("VMM kill -9 -> ERROR/SHUTOFF: %.0f ms\n", took * 1000);
    CHECK(down && took < 1.0, "took %.2f s", took);
    /* back with a hard reboot */
    CHECK(action(TA, id, "{\"reboot\": {\"type\": \"HARD\"}}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    pid_t p4 = 0;
    for (int i = 0; i < 100 && (p4 = vmm_pid(id)) <= 0; i++)
        usleep(50 * 1000);
    /* picostackd kill -9, restart: adopted, same VMM, still ACTIVE */
    CHECK(picostackd_stop(&D, SIGKILL) == 128 + SIGKILL);
    CHECK(p4 > 0 && kill(p4, 0) == 0, "the VMM died with picostackd");
    CHECK(picostackd_restart(&D, NULL) == 0);
    free(TA);
    TA = login(&D, "user-a", "pw-member-1", "proj-a");
    s = show(TA, id, &st);
    CHECK_STR(jstr(s, "status"), "ACTIVE");
    json_decref(s);
    CHECK(vmm_pid(id) == p4 && kill(p4, 0) == 0);
    char *before = console(TA, id);
    size_t lines = count_of(before, "\n");
    free(before);
    CHECK(wait_console(TA, id, "\n", lines + 3), "the console stopped after adoption");
    /* the VMM dies while picostackd is away: SHUTOFF at the restart */
    CHECK(picostackd_stop(&D, SIGKILL) == 128 + SIGKILL);
    CHECK(kill(p4, SIGKILL) == 0);
    usleep(100 * 1000);
    CHECK(picostackd_restart(&D, NULL) == 0);
    s = show(TA, id, &st);
    CHECK_STR(jstr(s, "status"), "SHUTOFF");
    json_decref(s);
    CHECK(action(TA, id, "{\"os-start\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "ACTIVE"));
    /* the same after a host reboot (another boot id): started again */
    pid_t p5 = 0;
    for (int i = 0; i < 100 && ((p5 = vmm_pid(id)) <= 0 || p5 == p4); i++)
        usleep(50 * 1000);
    CHECK(picostackd_stop(&D, SIGKILL) == 128 + SIGKILL);
    CHECK(p5 > 0 && kill(p5, SIGKILL) == 0);
    usleep(100 * 1000);
    setenv("PICOSTACK_BOOT_ID", "a-simulated-host-reboot", 1);
    CHECK(picostackd_restart(&D, NULL) == 0);
    unsetenv("PICOSTACK_BOOT_ID");
    CHECK(wait_status(TA, id, "ACTIVE"), "not started again after a host reboot");
    for (int i = 0; i < 100 && ((p4 = vmm_pid(id)) <= 0 || p4 == p5); i++)
        usleep(50 * 1000);
    CHECK(p4 > 0 && p4 != p5 && kill(p4, 0) == 0);
    /* rebuild a running server on another image: REBUILD, a new boot
     * volume, a new VMM, ACTIVE again */
    char *root2 = make_image(TA, "control-root-2", "raw", props, "another root disk");
    char *vol1 = strdup(s_boot_volume(id)), rb[256];
    snprintf(rb, sizeof rb, "{\"rebuild\": {\"imageRef\": \"%s\", \"name\": \"vm1b\"}}", root2);
    struct resp r;
    CHECK(action(TA, id, rb, &r) == 202, "%s", r.body ?: "");
    const char *st0 = jstr(json_object_get(r.json, "server"), "status");
    CHECK(st0 && (!strcmp(st0, "REBUILD") || !strcmp(st0, "ACTIVE")), "%s", st0 ? st0 : "");
    resp_free(&r);
    CHECK(wait_status(TA, id, "ACTIVE"), "not ACTIVE after rebuild");
    pid_t p6 = 0;
    for (int i = 0; i < 100 && ((p6 = vmm_pid(id)) <= 0 || p6 == p4); i++)
        usleep(50 * 1000);
    CHECK(p6 > 0 && p6 != p4 && kill(p4, 0) < 0, "VMM %d -> %d", (int)p4, (int)p6);
    CHECK(strcmp(s_boot_volume(id), vol1) != 0, "same boot volume %s", vol1);
    s = show(TA, id, &st);
    CHECK_STR(jstr(json_object_get(s, "image"), "id"), root2);
    CHECK_STR(jstr(s, "name"), "vm1b");
    json_decref(s);
    p4 = p6;
    free(vol1);
    free(root2);
    /* a second guest that powers itself off: SHUTOFF */
    snprintf(file, sizeof file, "%s/poweroff.bzImage", GUEST_DIR);
    char *pk = kernel_image(TA, "poweroff-kernel", file), id2[64];
    b = server_body("vm2", pk, "c1", "\"networks\": \"none\"");
    CHECK(create(TA, NOVA_237, b, id2, msg, sizeof msg) == 202, "%s", msg);
    free(b);
    CHECK(wait_status(TA, id2, "SHUTOFF"), "poweroff guest not SHUTOFF");
    /* delete: the VMM ends, the server and its boot volume go */
    char path[256];
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    for (int i = 0; i < 100 && kill(p4, 0) == 0; i++)
        usleep(20 * 1000);
    CHECK(kill(p4, 0) < 0 && errno == ESRCH, "VMM %d still there", (int)p4);
    snprintf(path, sizeof path, C "/servers/%s", id2);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id2, "GONE"));
    CHECK(count(TA, "/volume/v3/volumes", "volumes") == 0);
    free(pk);
out:
    free(kern);
    free(root);
    fixture_free();
}

/* ---- boot_supervise: picostackd killed under three running servers ---- */

/* The hex word after the last `prefix` in server id's console ("" when
 * none yet). The console log keeps every run of the server (a new VMM
 * appends to it), so a reboot's word is the last one. */
static void console_word(const char *id, const char *prefix, char *out, size_t len)
{
    char *con = console(TA, id), *p = NULL;
    for (char *q = con; (q = strstr(q, prefix)); q++)
        p = q;
    snprintf(out, len, "%.8s", p ? p + strlen(prefix) : "");
    free(con);
}

static size_t console_count(const char *id, const char *text)
{
    char *con = console(TA, id);
    size_t n = count_of(con, text);
    free(con);
    return n;
}

/* Three servers of the `virtioblk` guest ("stay": it writes a pattern at
 * 1 MiB of its boot volume, flushes, then ticks on its console). kill -9
 * of picostackd, restart: all three ACTIVE with the same VMMs, their
 * consoles go on; then a hard reboot of each (its VMM killed) boots a guest
 * that reads back, at 1 MiB, the pattern flushed before the kill. */
static void t_boot_supervise(void)
{
    enum { NSUP = 3 };
    fixture();
    char file[600], props[256], ids[NSUP][64], msg[512], *b;
    snprintf(file, sizeof file, "%s/virtioblk.bzImage", GUEST_DIR);
    char *kern = kernel_image(TA, "virtioblk-kernel", file);
    snprintf(props, sizeof props, "\"kernel_id\": \"%s\", \"os_command_line\": \"stay\"",
             kern ? kern : "");
    char *root = make_image(TA, "virtioblk-root", "raw", props, "a root disk");
    for (int i = 0; i < NSUP; i++) {
        char name[16];
        snprintf(name, sizeof name, "sup%d", i);
        b = server_body(name, root, "c1", "\"networks\": \"none\"");
        CHECK(create(TA, NOVA_237, b, ids[i], msg, sizeof msg) == 202, "%s", msg);
        free(b);
    }
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        CHECK(wait_status(TA, ids[0], "ERROR"), "no /dev/kvm: the build must fail");
        goto out;
    }
    WAIT_ROUNDS = 600;
    char pattern[NSUP][16], first[NSUP][16], again[16];
    pid_t pids[NSUP];
    for (int i = 0; i < NSUP; i++) {
        CHECK(wait_status(TA, ids[i], "ACTIVE"), "%s not ACTIVE", ids[i]);
        CHECK(wait_console(TA, ids[i], "virtioblk: tick", 1), "%s: no ticks", ids[i]);
        console_word(ids[i], "virtioblk: pattern ok ", pattern[i], sizeof pattern[i]);
        console_word(ids[i], "virtioblk: at 1M ", first[i], sizeof first[i]);
        CHECK(strlen(pattern[i]) == 8 && strcmp(pattern[i], first[i]),
              "%s: pattern %s, found before %s", ids[i], pattern[i], first[i]);
        pids[i] = vmm_pid(ids[i]);
        CHECK(pids[i] > 0);
    }
    CHECK(picostackd_stop(&D, SIGKILL) == 128 + SIGKILL);
    CHECK(picostackd_restart(&D, NULL) == 0);
    free(TA);
    TA = login(&D, "user-a", "pw-member-1", "proj-a");
    for (int i = 0; i < NSUP; i++) {
        long st;
        json_t *s = show(TA, ids[i], &st);
        CHECK_STR(jstr(s, "status"), "ACTIVE");
        json_decref(s);
        CHECK(vmm_pid(ids[i]) == pids[i] && kill(pids[i], 0) == 0, "%s: VMM not adopted", ids[i]);
        size_t ticks = console_count(ids[i], "virtioblk: tick");
        CHECK(wait_console(TA, ids[i], "virtioblk: tick", ticks + 3),
              "%s: the console stopped after adoption", ids[i]);
    }
    for (int i = 0; i < NSUP; i++) {
        size_t runs = console_count(ids[i], "virtioblk: pattern ok ");
        CHECK(action(TA, ids[i], "{\"reboot\": {\"type\": \"HARD\"}}", NULL) == 202);
        CHECK(wait_status(TA, ids[i], "ACTIVE"));
        /* the new run's lines follow the old ones in the console log; its
         * "pattern ok" line comes after the whole "at 1M" line */
        CHECK(wait_console(TA, ids[i], "virtioblk: pattern ok ", runs + 1), "%s: no second boot",
              ids[i]);
        console_word(ids[i], "virtioblk: at 1M ", again, sizeof again);
        CHECK_STR(again, pattern[i]);
        CHECK(vmm_pid(ids[i]) != pids[i] && kill(pids[i], 0) < 0 && errno == ESRCH,
              "old VMM %d still there", (int)pids[i]);
    }
    for (int i = 0; i < NSUP; i++) {
        char path[256];
        snprintf(path, sizeof path, C "/servers/%s", ids[i]);
        CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
        CHECK(wait_status(TA, ids[i], "GONE"));
    }
out:
    free(kern);
    free(root);
    fixture_free();
}

/* ---- boot_net (the data plane) ---- */

static char NS_HOST[32], NS_PREFIX[8];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Removes every namespace this test made (and what runs in them). */
static void net_cleanup(void)
{
    sh("for n in $(ip netns list | awk '{print $1}' | grep -E '^(%s|%s-)'); do "
       "for p in $(ip netns pids $n); do kill -9 $p; done; ip netns del $n; done 2>/dev/null",
       NS_HOST, NS_PREFIX);
}

static void t_boot_net(void)
{
    fixture();
    char file[600], id[64], msg[512], body[1024], path[256], port[64], mac[32];
    struct resp r;
    snprintf(file, sizeof file, "%s/virtionet.bzImage", GUEST_DIR);
    char *kern = kernel_image(TA, "virtionet", file);
    /* the guest's address is 10.77.0.2: the pool (DHCP's port) starts above it */
    snprintf(body, sizeof body, "{\"network\": {\"name\": \"lan\"}}");
    CHECK(req(TA, "POST", "/network/v2.0/networks", body, &r) == 201, "%s", r.body ?: "");
    char *net = strdup(jstr(json_object_get(r.json, "network"), "id") ?: "");
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"subnet\": {\"network_id\": \"%s\", \"cidr\": \"10.77.0.0/24\", "
             "\"ip_version\": 4, \"allocation_pools\": [{\"start\": \"10.77.0.10\", "
             "\"end\": \"10.77.0.200\"}]}}",
             net);
    CHECK(req(TA, "POST", "/network/v2.0/subnets", body, NULL) == 201);
    /* the guest's address, and no security groups (the guest only answers) */
    snprintf(body, sizeof body,
             "{\"port\": {\"network_id\": \"%s\", \"port_security_enabled\": false, "
             "\"fixed_ips\": [{\"ip_address\": \"10.77.0.2\"}]}}",
             net);
    CHECK(req(TA, "POST", "/network/v2.0/ports", body, &r) == 201, "%s", r.body ?: "");
    snprintf(port, sizeof port, "%s", jstr(json_object_get(r.json, "port"), "id") ?: "");
    snprintf(mac, sizeof mac, "%s", jstr(json_object_get(r.json, "port"), "mac_address") ?: "");
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"server\": {\"name\": \"netvm\", \"imageRef\": \"%s\", \"flavorRef\": \"c1\", "
             "\"networks\": [{\"port\": \"%s\"}]}}",
             kern, port);
    CHECK(create(TA, NULL, body, id, msg, sizeof msg) == 202, "%s", msg);
    WAIT_ROUNDS = 600;
    CHECK(wait_status(TA, id, "ACTIVE"));
    /* the whole line: "virtionet: ready mac M link up" */
    CHECK(wait_console(TA, id, " link up\n", 1), "no NIC (with its link up) in the guest");
    char *out = console(TA, id);
    CHECK(strstr(out, mac) != NULL, "the guest's MAC is not the port's %s: %s", mac, out);
    CHECK(strstr(out, "link up") != NULL, "%s", out);
    free(out);
    snprintf(path, sizeof path, "/network/v2.0/ports/%s", port);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "port"), "status"), "ACTIVE");
    CHECK_STR(jstr(json_object_get(r.json, "port"), "device_id"), id);
    CHECK_STR(jstr(json_object_get(r.json, "port"), "device_owner"), "compute:nova");
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/os-interface", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(
        jstr(json_array_get(json_object_get(r.json, "interfaceAttachments"), 0), "port_state"),
        "ACTIVE");
    resp_free(&r);
    /* pings from the network's DHCP namespace reach the guest through the
     * bridge and the tap */
    CHECK(sh("for ns in $(ip netns list | awk '{print $1}' | grep '^%s-dhcp-'); do "
             "ip -n $ns -br addr | grep -q '10\\.77\\.0\\.' || continue; "
             "ip netns exec $ns busybox ping -c 3 -W 2 10.77.0.2 >/dev/null && exit 0; done; "
             "exit 1",
             NS_PREFIX) == 0,
          "no ping answer from the guest");
    CHECK(wait_console(TA, id, "answered 3 pings", 1));
    CHECK(wait_status(TA, id, "SHUTOFF"), "the guest powered off: SHUTOFF");
    /* delete: the port is released (it was the caller's), unplugged */
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    snprintf(path, sizeof path, "/network/v2.0/ports/%s", port);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(r.json, "port"), "status"), "DOWN");
    CHECK_STR(jstr(json_object_get(r.json, "port"), "device_id"), "");
    resp_free(&r);
    CHECK(sh("ip -n %s -o link | grep -q '%st'", NS_HOST, NS_PREFIX) != 0, "a tap is left");
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    free(kern);
    free(net);
    fixture_free();
}

struct entry {
    const char *name;
    void (*fn)(void);
};

/* ---- nova_extras: access IPs, list filters, locks, rebuild, restore,
 * forceDelete, the small routes (no running guest: builds end in ERROR) ---- */

static json_t *show_micro(const char *tok, const char *id, const char *header)
{
    char path[256];
    snprintf(path, sizeof path, C "/servers/%s", id);
    struct resp r;
    long st = req_h(tok, "GET", path, NULL, header, &r);
    json_t *s = st == 200 ? json_incref(json_object_get(r.json, "server")) : NULL;
    resp_free(&r);
    return s;
}

static size_t listed(const char *tok, const char *query)
{
    char path[512];
    snprintf(path, sizeof path, C "/servers?%s", query);
    return count(tok, path, "servers");
}

static void extras_access_ips(const char *nets, char id[64])
{
    char *b = server_body("acc", ROOT, "c1", "\"accessIPv4\": \"1.1.1.1.1.1\"");
    expect_refused(TA, NULL, b, 400, "accessIPv4");
    free(b);
    b = server_body("acc", ROOT, "c1", "\"accessIPv6\": \"2001:zz::1\"");
    expect_refused(TA, NULL, b, 400, "accessIPv6");
    free(b);
    b = server_body("acc", ROOT, "c1", "\"accessIPv4\": 17");
    expect_refused(TA, NULL, b, 400, "accessIPv4");
    free(b);
    char extra[512];
    snprintf(extra, sizeof extra,
             "%s, \"accessIPv4\": \"1.1.1.1\", \"accessIPv6\": \"2001:db8:0:0::3\"", nets);
    b = server_body("acc", ROOT, "c1", extra);
    CHECK(create(TA, NULL, b, id, NULL, 0) == 202);
    free(b);
    json_t *s = show(TA, id, NULL);
    CHECK_STR(jstr(s, "accessIPv4"), "1.1.1.1");
    CHECK_STR(jstr(s, "accessIPv6"), "2001:db8::3"); /* canonical form */
    json_decref(s);
    char path[256];
    struct resp r;
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "PUT", path, "{\"server\": {\"accessIPv6\": \"::babe:202:202\"}}", &r) == 200);
    json_t *v = json_object_get(r.json, "server");
    CHECK_STR(jstr(v, "accessIPv6"), "::babe:202:202");
    CHECK_STR(jstr(v, "accessIPv4"), "1.1.1.1");
    /* the update answer is Nova's brief view */
    CHECK(!json_object_get(v, "OS-EXT-STS:vm_state") && !json_object_get(v, "key_name"), "%s",
          r.body ?: "");
    resp_free(&r);
    CHECK(req(TA, "PUT", path, "{\"server\": {\"accessIPv4\": \"300.1.1.1\"}}", NULL) == 400);
    s = show(TA, id, NULL);
    CHECK_STR(jstr(s, "accessIPv4"), "1.1.1.1");          /* unchanged */
    CHECK(json_object_get(s, "security_groups") != NULL); /* it has ports: default */
    json_decref(s);
}

static void extras_filters(const char *id)
{
    CHECK(wait_status(TA, id, "ERROR"));
    CHECK(listed(TA, "changes-since=2000-01-01T00:00:00Z") == 1);
    CHECK(listed(TA, "changes-since=2051-01-01T12:34:00Z") == 0);
    CHECK(listed(TA, "changes-since=2000-01-01") == 1);
    CHECK(listed(TA, "changes-since=2000-01-01T00:00:00%2B02:00") == 1);
    CHECK(listed(TA, "changes-before=2000-01-01T00:00:00Z") == 0);
    CHECK(listed(TA, "changes-before=2051-01-01T00:00:00Z") == 1);
    CHECK(req(TA, "GET", C "/servers?changes-since=2011/01/01", NULL, NULL) == 400);
    CHECK(req(TA, "GET", C "/servers?changes-since=2011-01-01T99:00:00Z", NULL, NULL) == 400);
    CHECK(req(TA, "GET",
              C "/servers?changes-since=2012-01-01T00:00:00Z&changes-before=2011-01-01T00:00:00Z",
              NULL, NULL) == 400);
    json_t *s = show(TA, id, NULL);
    const char *addr =
        jstr(json_array_get(json_object_get(json_object_get(s, "addresses"), "net-a"), 0), "addr");
    CHECK(addr && !strncmp(addr, "10.20.0.", 8), "%s", addr ? addr : "(none)");
    char q[128];
    snprintf(q, sizeof q, "ip=%s", addr ? addr : "");
    CHECK(listed(TA, q) == 1);
    CHECK(listed(TA, "ip=10%5C.20") == 1);
    CHECK(listed(TA, "ip=10.99") == 0);
    CHECK(listed(TA, "ip6=10.20") == 0); /* no IPv6 address */
    CHECK(req(TA, "GET", C "/servers?ip=(", NULL, NULL) == 400);
    json_decref(s);
}

static void extras_lock(const char *id)
{
    char path[256];
    struct resp r;
    CHECK(action(TA, id, "{\"lock\": null}", NULL) == 202);
    json_t *s = show_micro(TA, id, "X-OpenStack-Nova-API-Version: 2.9");
    CHECK(json_is_true(json_object_get(s, "locked")));
    json_decref(s);
    s = show(TA, id, NULL); /* 2.1: no locked key */
    CHECK(!json_object_get(s, "locked"));
    json_decref(s);
    CHECK(action(TA, id, "{\"os-stop\": null}", &r) == 409);
    CHECK(strstr(r.body ?: "", "locked") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(action(TA, id, "{\"rebuild\": {}}", NULL) == 400); /* the body's form first */
    CHECK(action(TA, id, "{\"rebuild\": {\"imageRef\": \"x\"}}", NULL) == 409); /* the lock */
    snprintf(path, sizeof path, "{\"rebuild\": {\"imageRef\": \"%s\"}}", ROOT);
    CHECK(action(TA, id, path, NULL) == 409);
    snprintf(path, sizeof path, C "/servers/%s/metadata", id);
    CHECK(req(TA, "POST", path, "{\"metadata\": {\"a\": \"b\"}}", NULL) == 409);
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 409);
    CHECK(action(TA, id, "{\"unlock\": null}", NULL) == 202);
    s = show_micro(TA, id, "X-OpenStack-Nova-API-Version: 2.9");
    CHECK(json_is_false(json_object_get(s, "locked")));
    json_decref(s);
    /* an admin's lock: the owner cannot lift it, the admin acts through it */
    CHECK(action(ADM, id, "{\"lock\": {}}", NULL) == 202);
    CHECK(action(TA, id, "{\"unlock\": null}", NULL) == 403);
    CHECK(action(TA, id, "{\"os-stop\": null}", NULL) == 409);
    CHECK(action(ADM, id, "{\"os-stop\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "SHUTOFF"));
    CHECK(action(ADM, id, "{\"unlock\": null}", NULL) == 202);
    CHECK(action(TA, id, "{\"lock\": \"yes\"}", NULL) == 400);
}

static void extras_rebuild(const char *id)
{
    char body[512], path[256];
    struct resp r;
    CHECK(action(TA, id, "{\"rebuild\": {}}", NULL) == 400);
    CHECK(action(TA, id, "{\"rebuild\": {\"imageRef\": \"00000000-0000-4000-8000-000000000000\"}}",
                 &r) == 400);
    CHECK(strstr(r.body ?: "", "could not be found") != NULL, "%s", r.body ?: "");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"rebuild\": {\"imageRef\": \"%s\", \"bogus\": 1}}", ROOT);
    CHECK(action(TA, id, body, NULL) == 400);
    snprintf(body, sizeof body, "{\"rebuild\": {\"imageRef\": \"%s\", \"accessIPv4\": \"1.2\"}}",
             ROOT);
    CHECK(action(TA, id, body, NULL) == 400);
    /* an image that says it boots in a way there is none of */
    char *nokernel = make_image(TA, "bad-boot", "raw", "\"os_boot\": \"floppy\"", "bytes");
    snprintf(body, sizeof body, "{\"rebuild\": {\"imageRef\": \"%s\"}}", nokernel);
    CHECK(action(TA, id, body, NULL) == 400);
    free(nokernel);
    char props[256];
    snprintf(props, sizeof props, "\"kernel_id\": \"%s\"", KERNEL);
    char *alt = make_image(TA, "root-alt", "raw", props, "another root filesystem");
    char *old_vol = strdup(s_boot_volume(id));
    CHECK(*old_vol);
    snprintf(body, sizeof body,
             "{\"rebuild\": {\"imageRef\": \"%s\", \"name\": \"rebuilt\", \"metadata\": "
             "{\"rebuild\": \"server\"}, \"adminPass\": \"rebuildPassw0rd\", \"accessIPv4\": "
             "\"2.2.2.2\", \"personality\": []}}",
             alt);
    CHECK(action(TA, id, body, &r) == 202, "%s", r.body ?: "");
    json_t *v = json_object_get(r.json, "server");
    CHECK_STR(jstr(json_object_get(v, "image"), "id"), alt);
    CHECK_STR(jstr(v, "name"), "rebuilt");
    CHECK_STR(jstr(v, "adminPass"), "rebuildPassw0rd");
    CHECK_STR(jstr(v, "accessIPv4"), "2.2.2.2");
    CHECK_STR(jstr(json_object_get(v, "metadata"), "rebuild"), "server");
    json_t *a0 = json_array_get(json_object_get(json_object_get(v, "addresses"), "net-a"), 0);
    CHECK(jstr(a0, "addr") && !json_object_get(a0, "OS-EXT-IPS:type"), "%s", r.body ?: "");
    resp_free(&r);
    /* was SHUTOFF: a new boot volume, still SHUTOFF (no progress shown then) */
    CHECK(wait_status(TA, id, "SHUTOFF"));
    json_t *sv = show(TA, id, NULL);
    CHECK(sv && !json_object_get(sv, "progress"));
    json_decref(sv);
    char *new_vol = strdup(s_boot_volume(id));
    CHECK(*new_vol && strcmp(new_vol, old_vol), "%s -> %s", old_vol, new_vol);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", old_vol);
    for (int i = 0; i < 100 && req(TA, "GET", path, NULL, NULL) != 404; i++)
        usleep(50 * 1000);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404, "old boot volume %s still there", old_vol);
    snprintf(path, sizeof path, "/volume/v3/volumes/%s", new_vol);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_object_get(json_object_get(r.json, "volume"), "volume_image_metadata"),
                   "image_id"),
              alt);
    resp_free(&r);
    snprintf(path, sizeof path, C "/servers/%s/os-instance-actions", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "instanceActions"), 0), "action"),
              "rebuild");
    resp_free(&r);
    free(old_vol);
    free(new_vol);
    free(alt);
}

static char *make_group(const char *tok, const char *policy)
{
    char body[256];
    struct resp r;
    snprintf(body, sizeof body, "{\"server_group\": {\"name\": \"g-%s\", \"policies\": [\"%s\"]}}",
             policy, policy);
    CHECK(req(tok, "POST", C "/os-server-groups", body, &r) == 200, "%s", r.body ?: "");
    json_t *g = json_object_get(r.json, "server_group");
    CHECK_STR(json_string_value(json_array_get(json_object_get(g, "policies"), 0)), policy);
    char *id = strdup(jstr(g, "id") ?: "");
    resp_free(&r);
    return id;
}

static void extras_groups(void)
{
    char body[512], path[256], id[64];
    struct resp r;
    CHECK(req(TA, "POST", C "/os-server-groups",
              "{\"server_group\": {\"name\": \"g\", \"policies\": [\"nearby\"]}}", NULL) == 400);
    CHECK(req(TA, "POST", C "/os-server-groups",
              "{\"server_group\": {\"name\": \"g\", \"policies\": \"affinity\"}}", NULL) == 400);
    CHECK(req(TA, "POST", C "/os-server-groups",
              "{\"server_group\": {\"name\": \"g\", \"policies\": [\"affinity\"], \"x\": 1}}",
              NULL) == 400);
    char *aff = make_group(TA, "affinity"), *anti = make_group(TA, "anti-affinity");
    CHECK(count(TA, C "/os-server-groups", "server_groups") == 2);
    /* a server in each: members; a second in the anti-affinity group finds no host */
    snprintf(body, sizeof body,
             "{\"server\": {\"name\": \"in-g\", \"imageRef\": \"%s\", \"flavorRef\": \"c1\", "
             "\"networks\": \"none\"}, \"os:scheduler_hints\": {\"group\": \"%s\"}}",
             ROOT, aff);
    CHECK(create(TA, NOVA_237, body, id, NULL, 0) == 202);
    snprintf(path, sizeof path, C "/os-server-groups/%s", aff);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    json_t *members = json_object_get(json_object_get(r.json, "server_group"), "members");
    CHECK_STR(json_string_value(json_array_get(members, 0)), id);
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"server\": {\"name\": \"in-anti\", \"imageRef\": \"%s\", \"flavorRef\": \"c1\", "
             "\"networks\": \"none\", \"max_count\": 2}, \"os:scheduler_hints\": {\"group\": "
             "\"%s\"}}",
             ROOT, anti);
    expect_refused(TA, NOVA_237, body, 409, "anti-affinity");
    snprintf(body, sizeof body,
             "{\"server\": {\"name\": \"in-none\", \"imageRef\": \"%s\", \"flavorRef\": \"c1\", "
             "\"networks\": \"none\"}, \"os:scheduler_hints\": {\"group\": "
             "\"00000000-0000-4000-8000-000000000000\"}}",
             ROOT);
    expect_refused(TA, NOVA_237, body, 400, "server group");
    /* another project sees none of them */
    char *tb = member_of("proj-g", "user-g", NULL);
    CHECK(count(tb, C "/os-server-groups", "server_groups") == 0);
    CHECK(req(tb, "GET", path, NULL, NULL) == 404);
    CHECK(req(tb, "DELETE", path, NULL, NULL) == 404);
    free(tb);
    /* a deleted server leaves the members; the groups go */
    snprintf(body, sizeof body, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", body, NULL, NULL) == 204);
    CHECK(wait_status(TA, id, "GONE"));
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK(json_array_size(json_object_get(json_object_get(r.json, "server_group"), "members")) ==
          0);
    resp_free(&r);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404);
    snprintf(path, sizeof path, C "/os-server-groups/%s", anti);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    free(aff);
    free(anti);
}

static void extras_tags(const char *id)
{
    char path[256];
    const char *v226 = "X-OpenStack-Nova-API-Version: 2.26";
    struct resp r;
    snprintf(path, sizeof path, C "/servers/%s/tags", id);
    CHECK(req(TA, "GET", path, NULL, NULL) == 404); /* 2.1: no tags */
    CHECK(req_h(TA, "PUT", path, "{\"tags\": [\"a\", \"b\", \"a\"]}", v226, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "tags")) == 2, "%s", r.body ?: "");
    resp_free(&r);
    CHECK(req_h(TA, "PUT", path, "{\"tags\": [\"x/y\"]}", v226, NULL) == 400);
    CHECK(req_h(TA, "PUT", path, "{\"tags\": \"a\"}", v226, NULL) == 400);
    snprintf(path, sizeof path, C "/servers/%s/tags/c", id);
    CHECK(req_h(TA, "GET", path, NULL, v226, NULL) == 404);
    CHECK(req_h(TA, "PUT", path, NULL, v226, NULL) == 201);
    CHECK(req_h(TA, "PUT", path, NULL, v226, NULL) == 204);
    CHECK(req_h(TA, "GET", path, NULL, v226, NULL) == 204);
    json_t *s = show_micro(TA, id, v226);
    CHECK(json_array_size(json_object_get(s, "tags")) == 3);
    json_decref(s);
    CHECK(req_h(TA, "DELETE", path, NULL, v226, NULL) == 204);
    CHECK(req_h(TA, "DELETE", path, NULL, v226, NULL) == 404);
    snprintf(path, sizeof path, C "/servers/%s/tags", id);
    CHECK(req_h(TA, "DELETE", path, NULL, v226, NULL) == 204);
    CHECK(req_h(TA, "GET", path, NULL, v226, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "tags")) == 0);
    resp_free(&r);
    CHECK(req_h(TA, "GET", C "/servers/00000000-0000-4000-8000-000000000000/tags", NULL, v226,
                NULL) == 404);
}

static void t_nova_extras(void)
{
    fixture();
    char nets[256], id[64], path[256];
    struct resp r;
    snprintf(nets, sizeof nets, "\"networks\": [{\"uuid\": \"%s\"}]", NET);
    extras_access_ips(nets, id);
    extras_filters(id);
    extras_lock(id);
    extras_rebuild(id);
    extras_tags(id);
    /* restore: nothing is soft-deleted here (409); forceDelete deletes */
    CHECK(action(TA, id, "{\"restore\": null}", NULL) == 409);
    CHECK(action(TA, "00000000-0000-4000-8000-000000000000", "{\"restore\": null}", NULL) == 404);
    snprintf(path, sizeof path, C "/servers/%s/os-server-password", id);
    CHECK(req(TA, "GET", path, NULL, &r) == 200);
    CHECK_STR(jstr(r.json, "password"), "");
    resp_free(&r);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    snprintf(path, sizeof path, C "/servers/%s/os-virtual-interfaces", id);
    CHECK(req(TA, "GET", path, NULL, NULL) == 400);
    CHECK(req(TA, "GET", C "/servers/00000000-0000-4000-8000-000000000000/os-server-password", NULL,
              NULL) == 404);
    CHECK(req(TA, "GET", C "/os-availability-zone", NULL, &r) == 200);
    CHECK_STR(jstr(json_array_get(json_object_get(r.json, "availabilityZoneInfo"), 0), "zoneName"),
              "nova");
    resp_free(&r);
    CHECK(req(TA, "GET", C "/os-availability-zone/detail", NULL, NULL) == 403);
    CHECK(req(ADM, "GET", C "/os-availability-zone/detail", NULL, NULL) == 200);
    CHECK(action(TA, id, "{\"forceDelete\": null}", NULL) == 202);
    CHECK(wait_status(TA, id, "GONE"));
    extras_groups();
    /* a server without ports has no security_groups key (Nova) */
    char *b = server_body("bare", ROOT, "c1", "\"networks\": \"none\"");
    CHECK(create(TA, NOVA_237, b, id, NULL, 0) == 202);
    free(b);
    json_t *s = show(TA, id, NULL);
    CHECK(s && !json_object_get(s, "security_groups"));
    json_decref(s);
    /* microversions: above ours 406, malformed 400, latest = ours */
    CHECK(req_h(TA, "GET", C "/servers", NULL, "X-OpenStack-Nova-API-Version: 2.38", NULL) == 406);
    CHECK(req_h(TA, "GET", C "/servers", NULL, "OpenStack-API-Version: compute 2.38", NULL) == 406);
    CHECK(req_h(TA, "GET", C "/servers", NULL, "OpenStack-API-Version: compute 2.x", NULL) == 400);
    s = show_micro(TA, id, "OpenStack-API-Version: compute latest");
    CHECK(s && json_object_get(s, "locked") && json_object_get(s, "tags"));
    json_decref(s);
    snprintf(path, sizeof path, C "/servers/%s", id);
    CHECK(req(TA, "DELETE", path, NULL, NULL) == 204);
    fixture_free();
}

int main(int argc, char **argv)
{
    static const struct entry tests[] = {
        { "create_checks", t_create_checks },
        { "quota_capacity", t_quota_capacity },
        { "isolation_listing", t_isolation_listing },
        { "error_delete", t_error_delete },
        { "stopped_actions", t_stopped_actions },
        { "nova_extras", t_nova_extras },
        { "boot", t_boot },
        { "boot_net", t_boot_net },
        { "boot_supervise", t_boot_supervise },
    };
    if (argc != 3) {
        fprintf(stderr, "usage: test_servers SUBTEST PICOSTACKD\n");
        return 2;
    }
    int i = subtest_find(argv[1], tests, sizeof tests / sizeof tests[0], sizeof tests[0]);
    if (i < 0)
        return 2;
    struct subtest_run run;
    subtest_begin(&run, argv[1]);
    /* Every boot fails the same way on every host (no VMM at this path),
     * but in "boot", which runs the real one (beside picostackd). */
    if (strncmp(argv[1], "boot", 4))
        setenv("PICOSTACK_VMM", "/nonexistent/picostack-vmm", 1);
    setenv("PICOSTACK_SHUTDOWN_TIMEOUT", "1", 1);
    if (!strcmp(argv[1], "error_delete"))
        setenv("PICOSTACK_DELETED_SERVERS_KEPT", "2", 1);
    static char guest[600];
    snprintf(guest, sizeof guest, "%s", argv[2]);
    char *slash = strrchr(guest, '/');
    if (slash)
        *slash = 0;
    strncat(guest, "/../guest", sizeof guest - strlen(guest) - 1);
    GUEST_DIR = guest;
    const char *net_args[] = { "--net-namespace", NS_HOST, "--net-prefix", NS_PREFIX, NULL };
    bool with_net = !strcmp(argv[1], "boot_net");
    if (with_net && geteuid() != 0) {
        fprintf(stderr, "compute.servers.boot_net needs root (network namespaces)\n");
        return 1;
    }
    if (with_net) { /* names no parallel run shares (prefix: 4 characters at most) */
        snprintf(NS_HOST, sizeof NS_HOST, "cs%dh", (int)getpid());
        snprintf(NS_PREFIX, sizeof NS_PREFIX, "c%03d", (int)(getpid() % 1000));
        net_cleanup();
        CHECK(sh("ip netns add %s && ip -n %s link set lo up", NS_HOST, NS_HOST) == 0);
    }
    if (picostackd_start(&D, argv[2], with_net ? net_args : NULL) == 0) {
        ADM = admin_login(&D);
        CHECK(ADM != NULL);
        if (ADM)
            tests[i].fn();
        free(ADM);
        picostackd_cleanup(&D);
    } else {
        CHECK(0, "picostackd did not start");
    }
    if (with_net)
        net_cleanup();
    return subtest_end(&run);
}
