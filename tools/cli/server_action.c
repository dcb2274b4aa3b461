/* Server actions: start, stop, reboot (--soft, the default, or --hard),
 * each with --wait; console (the tail of the console log, or --url for a
 * serial console's WebSocket); attach and detach a volume. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* POST /servers/ID/action; the answer (an empty object when empty) or
 * NULL (printed). */
static json_t *act(struct cli *c, const char *id, json_t *body, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, "/servers/%s/action", id);
    return compute_call(c, "POST", path, body, what, false, NULL);
}

static const char *sid(json_t *s)
{
    return json_string_value(json_object_get(s, "id"));
}

/* start|stop|reboot SERVER... [--wait]. */
static int power(struct cli *c, int argc, char **argv, const char *verb)
{
    bool wait = take_flag(&argc, argv, "--wait");
    bool hard = take_flag(&argc, argv, "--hard");
    take_flag(&argc, argv, "--soft");
    if (argc < 1 || (hard && strcmp(verb, "reboot") != 0))
        return usage_error("usage: server %s SERVER...%s [--wait]", verb,
                           strcmp(verb, "reboot") == 0 ? " [--soft|--hard]" : "");
    const char *target = strcmp(verb, "stop") == 0 ? "SHUTOFF" : "ACTIVE";
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        json_t *s = find_server(c, argv[i]), *body;
        if (!s) {
            rc = 1;
            continue;
        }
        if (strcmp(verb, "start") == 0)
            body = json_pack("{s:n}", "os-start");
        else if (strcmp(verb, "stop") == 0)
            body = json_pack("{s:n}", "os-stop");
        else
            body = json_pack("{s:{s:s}}", "reboot", "type", hard ? "HARD" : "SOFT");
        char what[64];
        snprintf(what, sizeof what, "server %s", verb);
        json_t *j = act(c, sid(s), body, what);
        if (!j)
            rc = 1;
        else if (wait)
            rc |= server_wait(c, sid(s), target, 600);
        json_decref(j);
        json_decref(s);
    }
    return rc;
}

/* console SERVER [--lines N] | console SERVER --url. */
static int console(struct cli *c, int argc, char **argv)
{
    const char *lines = take_opt(&argc, argv, "--lines");
    bool url = take_flag(&argc, argv, "--url");
    if (argc != 1 || (url && lines))
        return usage_error("usage: server console SERVER [--lines N] | server console SERVER "
                           "--url");
    char *end = NULL;
    long n = lines ? strtol(lines, &end, 10) : 0;
    if (lines && (!*lines || *end || n <= 0))
        return usage_error("--lines wants a positive number, not '%s'", lines);
    json_t *s = find_server(c, argv[0]);
    if (!s)
        return 1;
    json_t *j;
    int rc = 1;
    if (url) {
        char path[512];
        snprintf(path, sizeof path, "/servers/%s/remote-consoles", sid(s));
        j = compute_call(
            c, "POST", path,
            json_pack("{s:{s:s, s:s}}", "remote_console", "protocol", "serial", "type", "serial"),
            "server console --url", false, NULL);
        const char *u =
            json_string_value(json_object_get(json_object_get(j, "remote_console"), "url"));
        if (u) {
            puts(u);
            rc = 0;
        }
    } else {
        json_t *arg = lines ? json_pack("{s:I}", "length", (json_int_t)n) : json_object();
        j = act(c, sid(s), json_pack("{s:o}", "os-getConsoleOutput", arg), "server console");
        const char *out = json_string_value(json_object_get(j, "output"));
        if (out) {
            fputs(out, stdout);
            rc = 0;
        } else if (j) {
            fprintf(stderr, "picostack: server console: no output in the answer\n");
        }
    }
    json_decref(j);
    json_decref(s);
    return rc;
}

/* attach SERVER VOLUME [--device D] | detach SERVER VOLUME. */
static int volume(struct cli *c, int argc, char **argv, bool attach)
{
    const char *device = attach ? take_opt(&argc, argv, "--device") : NULL;
    if (argc != 2)
        return usage_error(attach ? "usage: server attach SERVER VOLUME [--device /dev/vdX]"
                                  : "usage: server detach SERVER VOLUME");
    json_t *s = find_server(c, argv[0]), *v = s ? find_volume(c, argv[1]) : NULL;
    const char *vid = json_string_value(json_object_get(v, "id"));
    int rc = 1;
    if (vid) {
        char path[512];
        json_t *j;
        if (attach) {
            snprintf(path, sizeof path, "/servers/%s/os-volume_attachments", sid(s));
            json_t *a = json_pack("{s:s}", "volumeId", vid);
            if (device)
                json_object_set_new(a, "device", json_string(device));
            j = compute_call(c, "POST", path, json_pack("{s:o}", "volumeAttachment", a),
                             "server attach", false, NULL);
            json_t *att = json_object_get(j, "volumeAttachment");
            if (att)
                out_show(c, att);
        } else {
            snprintf(path, sizeof path, "/servers/%s/os-volume_attachments/%s", sid(s), vid);
            j = compute_call(c, "DELETE", path, NULL, "server detach", false, NULL);
        }
        rc = j ? 0 : 1;
        json_decref(j);
    }
    json_decref(v);
    json_decref(s);
    return rc;
}

int server_action(struct cli *c, int argc, char **argv, const char *verb)
{
    if (strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0 || strcmp(verb, "reboot") == 0)
        return power(c, argc, argv, verb);
    if (strcmp(verb, "console") == 0)
        return console(c, argc, argv);
    if (strcmp(verb, "attach") == 0 || strcmp(verb, "detach") == 0)
        return volume(c, argc, argv, verb[0] == 'a');
    return usage_error("unknown server command '%s'", verb);
}
