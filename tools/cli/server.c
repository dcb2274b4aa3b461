/* Server commands (Nova's /servers): create (from an image or a volume,
 * with networks or ports, a keypair, user data, properties; --wait shows
 * a progress line until ACTIVE), list, show, delete (--wait until gone).
 * The actions are in server_action.c. Output as the openstack CLI's: the
 * addresses as "net=addr, addr", the power state by name. */
#include "cli.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Nova's power_state numbers, by name. */
static const char *power_name(json_t *v)
{
    static const char *const names[] = { "NOSTATE",  "Running", "",        "Paused",
                                         "Shutdown", "",        "Crashed", "Suspended" };
    json_int_t n = json_integer_value(v);
    return json_is_integer(v) && n >= 0 && n < 8 && names[n][0] ? names[n] : "NOSTATE";
}

/* A server as `openstack server show` prints it. */
static json_t *server_view(json_t *s)
{
    json_t *v = json_deep_copy(s);
    json_object_del(v, "links");
    char *addr = format_addresses(json_object_get(s, "addresses"));
    json_object_set_new(v, "addresses", json_string(addr ? addr : ""));
    free(addr);
    json_object_set_new(v, "OS-EXT-STS:power_state",
                        json_string(power_name(json_object_get(s, "OS-EXT-STS:power_state"))));
    json_t *flavor = json_object_get(s, "flavor");
    json_t *fid = json_object_get(flavor, "original_name");
    json_object_set(v, "flavor", fid ? fid : json_object_get(flavor, "id"));
    json_t *image = json_object_get(s, "image");
    json_t *iid = json_object_get(image, "id");
    json_object_set_new(v, "image",
                        iid ? json_incref(iid) : json_string("N/A (booted from volume)"));
    json_t *meta = json_object_get(s, "metadata");
    json_object_set_new(v, "properties", meta ? json_incref(meta) : json_object());
    json_object_del(v, "metadata");
    json_t *vols = json_array(), *e;
    size_t i;
    json_array_foreach (json_object_get(s, "os-extended-volumes:volumes_attached"), i, e)
        json_array_append(vols, json_object_get(e, "id"));
    json_object_set_new(v, "volumes_attached", vols);
    json_object_del(v, "os-extended-volumes:volumes_attached");
    json_t *groups = json_array();
    json_array_foreach (json_object_get(s, "security_groups"), i, e)
        json_array_append(groups, json_object_get(e, "name"));
    json_object_set_new(v, "security_groups", groups);
    return v;
}

static int show_server(struct cli *c, json_t *s)
{
    if (!s)
        return 1;
    json_t *v = server_view(s);
    out_show(c, v);
    json_decref(v);
    json_decref(s);
    return 0;
}

static json_t *get_server(struct cli *c, const char *id, long *status)
{
    char path[512];
    snprintf(path, sizeof path, "/servers/%s", id);
    json_t *j = compute_call(c, "GET", path, NULL, "server show", true, status);
    json_t *s = json_incref(json_object_get(j, "server"));
    json_decref(j);
    return s;
}

static bool status_in(const char *status, const char *targets)
{
    size_t n = strlen(status);
    for (const char *t = targets; *t;) {
        size_t len = strcspn(t, "|");
        if (len == n && strncmp(t, status, n) == 0)
            return true;
        t += len + (t[len] == '|');
    }
    return false;
}

/* The progress line: redrawn in place on a terminal; else one line per
 * change of state (scripts and logs see each step once). */
static void progress_line(const char *id, const char *status, const char *task, double secs,
                          char *last, size_t last_len)
{
    char line[256];
    snprintf(line, sizeof line, "server %.8s: %s%s%s%s", id, status, task ? " (" : "",
             task ? task : "", task ? ")" : "");
    if (isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r\033[K%s  %.1f s", line, secs);
    } else if (strcmp(line, last) != 0) {
        fprintf(stderr, "%s  %.1f s\n", line, secs);
    }
    snprintf(last, last_len, "%s", line);
}

int server_wait(struct cli *c, const char *id, const char *targets, double timeout_s)
{
    double start = now_seconds(), pause = 0.05;
    char last[256] = "";
    int rc = 1;
    for (;;) {
        long status = 0;
        json_t *s = get_server(c, id, &status);
        double secs = now_seconds() - start;
        if (!s && status == 404 && status_in("DELETED", targets)) {
            progress_line(id, "DELETED", NULL, secs, last, sizeof last);
            rc = 0;
            break;
        }
        if (!s) {
            if (status == 404)
                fprintf(stderr, "%spicostack: server %s is gone\n",
                        isatty(STDERR_FILENO) ? "\n" : "", id);
            break;
        }
        const char *st = json_string_value(json_object_get(s, "status"));
        const char *task = json_string_value(json_object_get(s, "OS-EXT-STS:task_state"));
        progress_line(id, st ? st : "?", task, secs, last, sizeof last);
        if (st && status_in(st, targets)) {
            json_decref(s);
            rc = 0;
            break;
        }
        /* A server in ERROR is still ERROR while it is being deleted. */
        if (st && strcmp(st, "ERROR") == 0 && !status_in("DELETED", targets)) {
            const char *msg =
                json_string_value(json_object_get(json_object_get(s, "fault"), "message"));
            fprintf(stderr, "%spicostack: server %s went to ERROR: %s\n",
                    isatty(STDERR_FILENO) ? "\n" : "", id, msg ? msg : "(no fault message)");
            json_decref(s);
            break;
        }
        json_decref(s);
        if (secs > timeout_s) {
            fprintf(stderr, "%spicostack: server %s: still %s after %.0f s\n",
                    isatty(STDERR_FILENO) ? "\n" : "", id, last, timeout_s);
            break;
        }
        struct timespec ts = { 0, (long)(pause * 1e9) };
        nanosleep(&ts, NULL);
        if (pause < 1.0)
            pause *= 1.5;
    }
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr);
    return rc;
}

/* --wait-timeout S (default 600 s); -1 on a bad value. */
static double wait_timeout(int *argc, char **argv)
{
    const char *v = take_opt(argc, argv, "--wait-timeout");
    if (!v)
        return 600;
    char *end;
    double t = strtod(v, &end);
    if (!*v || *end || t <= 0) {
        usage_error("--wait-timeout wants seconds, not '%s'", v);
        return -1;
    }
    return t;
}

/* User data from a file, base64 as Nova wants it (at most 64 KiB encoded). */
static json_t *user_data(const char *path)
{
    size_t len;
    char *raw = read_small_file(path, 48 << 10, &len);
    if (!raw)
        return NULL;
    unsigned char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    json_t *j = NULL;
    if (b64) {
        EVP_EncodeBlock(b64, (const unsigned char *)raw, (int)len);
        j = json_string((const char *)b64);
    }
    free(b64);
    free(raw);
    return j;
}

/* The "networks" of a create: --nic none|auto|net-id=X|port-id=X,
 * --network NET and --port PORT, repeatable; the --network names go to
 * *named (looked up later). NULL (printed) if wrong. */
static json_t *take_networks(int *argc, char **argv, json_t *named)
{
    json_t *nets = json_array();
    const char *v;
    json_t *special = NULL;
    while ((v = take_opt(argc, argv, "--nic"))) {
        if (strcmp(v, "none") == 0 || strcmp(v, "auto") == 0) {
            json_decref(special);
            special = json_string(v);
        } else if (strncmp(v, "net-id=", 7) == 0) {
            json_array_append_new(nets, json_pack("{s:s}", "uuid", v + 7));
        } else if (strncmp(v, "port-id=", 8) == 0) {
            json_array_append_new(nets, json_pack("{s:s}", "port", v + 8));
        } else {
            usage_error("--nic wants none, auto, net-id=ID or port-id=ID, not '%s'", v);
            goto fail;
        }
    }
    while ((v = take_opt(argc, argv, "--network")))
        json_array_append_new(named, json_string(v));
    while ((v = take_opt(argc, argv, "--port")))
        json_array_append_new(nets, json_pack("{s:s}", "port", v));
    if (special && (json_array_size(nets) || json_array_size(named))) {
        usage_error("--nic none|auto cannot be mixed with other networks");
        goto fail;
    }
    if (special) {
        json_decref(nets);
        return special;
    }
    return nets;
fail:
    json_decref(special);
    json_decref(nets);
    return NULL;
}

static const char create_usage[] =
    "usage: server create NAME --flavor F (--image I | --volume V) [--network N]...\n"
    "       [--port P]... [--nic none|auto|net-id=ID|port-id=ID]... [--key-name K]\n"
    "       [--user-data FILE] [--property k=v]... [--security-group G]... [--config-drive]\n"
    "       [--min N] [--max N] [--availability-zone Z] [--wait [--wait-timeout S]]";

/* The body of a create from the options; NULL (printed) if wrong, with
 * *code 2 for a usage error, else 1. */
static json_t *create_body(struct cli *c, int *argc, char **argv, int *code)
{
    *code = 2;
    const char *flavor = take_opt(argc, argv, "--flavor"), *image = take_opt(argc, argv, "--image");
    const char *volume = take_opt(argc, argv, "--volume"),
               *key = take_opt(argc, argv, "--key-name");
    const char *ud = take_opt(argc, argv, "--user-data"),
               *az = take_opt(argc, argv, "--availability-zone");
    const char *min = take_opt(argc, argv, "--min"), *max = take_opt(argc, argv, "--max");
    bool drive = take_flag(argc, argv, "--config-drive");
    json_t *s = json_object(), *meta = json_object(), *groups = json_array(), *ref, *e;
    json_t *named = json_array(), *nets = take_networks(argc, argv, named);
    size_t i;
    const char *g;
    while ((g = take_opt(argc, argv, "--security-group")))
        json_array_append_new(groups, json_pack("{s:s}", "name", g));
    json_object_set_new(s, "metadata", meta);
    if (json_array_size(groups))
        json_object_set(s, "security_groups", groups);
    json_decref(groups);
    if (!nets || take_properties(argc, argv, meta) < 0)
        goto fail;
    if (*argc != 1 || !flavor || !image == !volume) {
        usage_error("%s", create_usage);
        goto fail;
    }
    *code = 1;
    json_array_foreach (named, i, e) {
        if (!(ref = find_network(c, json_string_value(e))))
            goto fail;
        json_array_append_new(nets, json_pack("{s:O}", "uuid", json_object_get(ref, "id")));
        json_decref(ref);
    }
    json_object_set(s, "networks", nets);
    json_object_set_new(s, "name", json_string(argv[0]));
    if (!(ref = find_flavor(c, flavor)))
        goto fail;
    json_object_set(s, "flavorRef", json_object_get(ref, "id"));
    json_decref(ref);
    if (image) {
        if (!(ref = find_image(c, image)))
            goto fail;
        json_object_set(s, "imageRef", json_object_get(ref, "id"));
    } else {
        if (!(ref = find_volume(c, volume)))
            goto fail;
        json_object_set_new(s, "block_device_mapping_v2",
                            json_pack("[{s:i, s:O, s:s, s:s, s:b}]", "boot_index", 0, "uuid",
                                      json_object_get(ref, "id"), "source_type", "volume",
                                      "destination_type", "volume", "delete_on_termination", 0));
    }
    json_decref(ref);
    if (key)
        json_object_set_new(s, "key_name", json_string(key));
    if (ud) {
        json_t *data = user_data(ud);
        if (!data)
            goto fail;
        json_object_set_new(s, "user_data", data);
    }
    if (az)
        json_object_set_new(s, "availability_zone", json_string(az));
    if (drive)
        json_object_set_new(s, "config_drive", json_true());
    if (min)
        json_object_set_new(s, "min_count", json_integer(atoi(min)));
    if (max)
        json_object_set_new(s, "max_count", json_integer(atoi(max)));
    json_decref(nets);
    json_decref(named);
    return s;
fail:
    json_decref(nets);
    json_decref(named);
    json_decref(s);
    return NULL;
}

static int server_create(struct cli *c, int argc, char **argv)
{
    bool wait = take_flag(&argc, argv, "--wait");
    double limit = wait_timeout(&argc, argv);
    if (limit < 0)
        return 2;
    int code;
    json_t *body = create_body(c, &argc, argv, &code);
    if (!body)
        return code;
    json_t *j = compute_call(c, "POST", "/servers", json_pack("{s:o}", "server", body),
                             "server create", false, NULL);
    const char *id = json_string_value(json_object_get(json_object_get(j, "server"), "id"));
    if (!id) {
        if (j)
            fprintf(stderr, "picostack: server create: no server id in the answer\n");
        json_decref(j);
        return 1;
    }
    int rc = wait ? server_wait(c, id, "ACTIVE", limit) : 0;
    json_t *s = get_server(c, id, NULL);
    json_decref(j);
    return show_server(c, s) | rc;
}

/* id -> name of every image or flavor, for the list's columns. */
static json_t *names_of(struct cli *c, bool images)
{
    json_t *map = json_object(), *e, *j;
    size_t i;
    if (images) {
        char *url = image_url(c, "/images?limit=1000");
        j = url ? http_call(c, "GET", url, NULL, NULL, "image list", false, NULL) : NULL;
        free(url);
    } else {
        j = compute_call(c, "GET", "/flavors/detail?is_public=None", NULL, "flavor list", false,
                         NULL);
    }
    json_array_foreach (json_object_get(j, images ? "images" : "flavors"), i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        if (id)
            json_object_set(map, id, json_object_get(e, "name"));
    }
    json_decref(j);
    return map;
}

/* The list's row of one server. */
static json_t *list_row(json_t *s, json_t *image_names, json_t *flavor_names)
{
    json_t *r = json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(s, "id"), "name",
                          json_object_get(s, "name"), "status", json_object_get(s, "status"),
                          "task", json_object_get(s, "OS-EXT-STS:task_state"), "project",
                          json_object_get(s, "tenant_id"));
    char *addr = format_addresses(json_object_get(s, "addresses"));
    json_object_set_new(r, "networks", json_string(addr ? addr : ""));
    free(addr);
    json_object_set_new(r, "power",
                        json_string(power_name(json_object_get(s, "OS-EXT-STS:power_state"))));
    const char *iid = json_string_value(json_object_get(json_object_get(s, "image"), "id"));
    json_t *iname = iid ? json_object_get(image_names, iid) : NULL;
    json_object_set_new(r, "image",
                        iname ? json_incref(iname)
                              : json_string(iid ? iid : "N/A (booted from volume)"));
    json_t *f = json_object_get(s, "flavor");
    const char *fid = json_string_value(json_object_get(f, "id"));
    json_t *fname = json_object_get(f, "original_name");
    if (!fname && fid)
        fname = json_object_get(flavor_names, fid);
    json_object_set_new(r, "flavor", fname ? json_incref(fname) : json_string(fid ? fid : ""));
    return r;
}

static int server_list(struct cli *c, int argc, char **argv)
{
    const char *name = take_opt(&argc, argv, "--name"), *status = take_opt(&argc, argv, "--status");
    bool all = take_flag(&argc, argv, "--all-projects"), is_long = take_flag(&argc, argv, "--long");
    if (argc != 0)
        return usage_error("usage: server list [--name REGEX] [--status S] [--all-projects] "
                           "[--long]");
    char q[1024] = "/servers/detail?limit=1000";
    http_query_add(c, q, sizeof q, "name", name);
    http_query_add(c, q, sizeof q, "status", status);
    if (all)
        snprintf(q + strlen(q), sizeof q - strlen(q), "&all_tenants=1");
    json_t *j = compute_call(c, "GET", q, NULL, "server list", false, NULL);
    if (!j)
        return 1;
    json_t *images = names_of(c, true), *flavors = names_of(c, false), *rows = json_array(), *s;
    size_t i;
    json_array_foreach (json_object_get(j, "servers"), i, s)
        json_array_append_new(rows, list_row(s, images, flavors));
    static const char *const h[] = { "ID",     "Name",       "Status",      "Networks",  "Image",
                                     "Flavor", "Task State", "Power State", "Project ID" };
    static const char *const k[] = { "id",     "name", "status", "networks", "image",
                                     "flavor", "task", "power",  "project" };
    out_list(c, rows, h, k, is_long ? 9 : 6);
    json_decref(rows);
    json_decref(images);
    json_decref(flavors);
    json_decref(j);
    return 0;
}

static int server_show(struct cli *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("usage: server show SERVER");
    return show_server(c, find_server(c, argv[0]));
}

static int server_delete(struct cli *c, int argc, char **argv)
{
    bool wait = take_flag(&argc, argv, "--wait");
    double limit = wait_timeout(&argc, argv);
    if (limit < 0)
        return 2;
    if (argc < 1)
        return usage_error("usage: server delete SERVER... [--wait [--wait-timeout S]]");
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        json_t *s = find_server(c, argv[i]);
        const char *id = json_string_value(json_object_get(s, "id"));
        if (!id) {
            rc = 1;
            json_decref(s);
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/servers/%s", id);
        json_t *j = compute_call(c, "DELETE", path, NULL, "server delete", false, NULL);
        if (!j)
            rc = 1;
        else if (wait)
            rc |= server_wait(c, id, "DELETED", limit);
        json_decref(j);
        json_decref(s);
    }
    return rc;
}

int cmd_server(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "create") == 0)
        return server_create(c, argc, argv);
    if (strcmp(sub, "list") == 0)
        return server_list(c, argc, argv);
    if (strcmp(sub, "show") == 0)
        return server_show(c, argc, argv);
    if (strcmp(sub, "delete") == 0)
        return server_delete(c, argc, argv);
    return server_action(c, argc, argv, sub);
}
