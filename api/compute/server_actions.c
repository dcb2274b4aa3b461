/* POST /servers/{id}/action: one key names the action (Nova's names);
 * os-getConsoleOutput answers the console's tail, the others 202 (core/
 * compute checks the state: a wrong one is 409). */
#include "api/compute/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* os-getConsoleOutput's length: an integer, a numeric string, null or
 * absent (everything kept; so is -1). -2 when malformed. */
static long console_length(json_t *arg)
{
    json_t *len = json_object_get(arg, "length");
    if (!len || json_is_null(len))
        return 0;
    if (json_is_integer(len))
        return json_integer_value(len) < -1 ? -2 : (long)json_integer_value(len);
    if (json_is_string(len)) {
        char *end;
        long n = strtol(json_string_value(len), &end, 10);
        return *end || !*json_string_value(len) || n < -1 ? -2 : n;
    }
    return -2;
}

static void console_output(struct api_req *r, json_t *arg)
{
    struct cmp_state *st = api_req_state(r);
    long n = console_length(arg);
    if (n == -2)
        return api_reply_error(r, 400, "Invalid input for field/attribute length.");
    if (arg && !json_is_object(arg) && !json_is_null(arg))
        return api_reply_error(r, 400, "Invalid input for field/attribute os-getConsoleOutput.");
    struct compute_caller who = cmp_caller(r);
    char *text = NULL;
    int rc =
        compute_server_console(st->c, &who, api_req_param(r, 0), n > 0 ? (unsigned)n : 0, &text);
    if (rc)
        return api_reply_errno(r, rc, "Instance %s could not be found.", api_req_param(r, 0));
    json_t *out = json_pack("{s:s}", "output", text);
    if (!out) /* not UTF-8: Nova replaces undecodable bytes */
        out = json_pack("{s:s%}", "output", text, strlen(text));
    free(text);
    api_reply_json(r, 200, out ? out : json_pack("{s:s}", "output", ""));
}

/* createImage: 202 with the new image's URL in Location (Nova before
 * 2.45, which answers {"image_id"} instead; ours stop at 2.37). */
static void create_image(struct api_req *r, json_t *arg)
{
    struct cmp_state *st = api_req_state(r);
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    char image_id[37], loc[512];
    int rc = compute_server_create_image(st->c, &who, api_req_param(r, 0), arg, image_id, &err);
    if (rc)
        return cmp_reply_server_err(r, rc, &err, "Action failed.");
    snprintf(loc, sizeof loc, "%s/image/v2/images/%s", api_req_base_url(r), image_id);
    api_reply_header(r, "Location", loc);
    api_reply_empty(r, 202);
}

/* rebuild answers 202 with the server (status REBUILD) and its adminPass:
 * the one given, or a new one (the guest is not told either). */
static void rebuilt(struct api_req *r, int micro, const char *pass)
{
    json_t *rec = cmp_server_of(r);
    if (!rec)
        return;
    char made[13];
    if (!pass) {
        cmp_admin_pass(made);
        pass = made;
    }
    json_t *view = cmp_server_view_brief(r, rec, micro);
    json_decref(rec);
    json_object_set_new(view, "adminPass", json_string(pass));
    /* its addresses are the short ones (version, addr), as Nova's */
    const char *net;
    json_t *list, *ip;
    size_t i;
    json_object_foreach (json_object_get(view, "addresses"), net, list)
        json_array_foreach (list, i, ip) {
            json_object_del(ip, "OS-EXT-IPS:type");
            json_object_del(ip, "OS-EXT-IPS-MAC:mac_addr");
        }
    api_reply_json(r, 202, json_pack("{s:o}", "server", view));
}

void cmp_server_action(struct api_req *r)
{
    struct cmp_state *st = api_req_state(r);
    int micro = cmp_micro(r);
    if (micro < 0)
        return;
    json_t *body = api_req_json(r);
    if (!body)
        return;
    json_t *rec = cmp_server_of(r);
    if (!rec) {
        json_decref(body);
        return;
    }
    if (json_object_size(body) != 1) {
        json_decref(rec);
        json_decref(body);
        return api_reply_error(r, 400, "Exactly one action is expected in the body.");
    }
    const char *action = json_object_iter_key(json_object_iter(body));
    json_t *arg = json_object_iter_value(json_object_iter(body));
    if (!strcmp(action, "os-getSerialConsole")) {
        cmp_action_get_serial_console(r, rec, arg);
        json_decref(rec);
        json_decref(body);
        return;
    }
    json_decref(rec);
    if (!strcmp(action, "os-getConsoleOutput")) {
        console_output(r, arg);
        json_decref(body);
        return;
    }
    if (!strcmp(action, "createImage")) {
        create_image(r, arg);
        json_decref(body);
        return;
    }
    struct compute_caller who = cmp_caller(r);
    struct compute_err err = { "" };
    int rc = compute_server_action(st->c, &who, api_req_param(r, 0), action, arg, &err);
    if (rc) {
        json_decref(body);
        return cmp_reply_server_err(r, rc, &err, "Action failed.");
    }
    if (!strcmp(action, "rebuild"))
        rebuilt(r, micro, json_string_value(json_object_get(arg, "adminPass")));
    else
        api_reply_empty(r, 202);
    json_decref(body);
}
