/* Identity commands: token issue; project, user and role create, list,
 * show, delete; role add/remove. Names are resolved as the openstack CLI
 * does: GET /x/REF, and on 404 GET /x?name=REF (exactly one match). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static char *identity_url(struct cli *c, const char *path)
{
    char *base = auth_endpoint(c, "identity");
    if (!base)
        return NULL;
    size_t n = strlen(base);
    bool has_v3 = n >= 3 && strcmp(base + n - 3, "/v3") == 0;
    char *u;
    if (asprintf(&u, "%s%s%s", base, has_v3 ? "" : "/v3", path) < 0)
        u = NULL;
    free(base);
    return u;
}

/* One request to the identity service; returns the JSON body (or an
 * empty object for 204) when the status is one of the wanted ones. */
static json_t *identity_call(struct cli *c, const char *method, const char *path, json_t *body,
                             const char *what, long *status)
{
    char *url = identity_url(c, path);
    if (!url)
        return NULL;
    json_t *j = http_call(c, method, url, body, NULL, what, status != NULL, status);
    free(url);
    return j;
}

/* coll: "projects"; one: "project". Returns the resource object. */
static json_t *find(struct cli *c, const char *coll, const char *one, const char *ref)
{
    char *esc = http_escape(c, ref), path[1024];
    snprintf(path, sizeof path, "/%s/%s", coll, esc);
    long status = 0;
    json_t *j = identity_call(c, "GET", path, NULL, "lookup", &status);
    if (j) {
        curl_free(esc);
        json_t *obj = json_incref(json_object_get(j, one));
        json_decref(j);
        return obj;
    }
    if (status != 404) {
        curl_free(esc);
        return NULL;
    }
    snprintf(path, sizeof path, "/%s?name=%s", coll, esc);
    curl_free(esc);
    j = identity_call(c, "GET", path, NULL, "lookup", NULL);
    json_t *list = json_object_get(j, coll), *obj = NULL;
    if (json_array_size(list) == 1)
        obj = json_incref(json_array_get(list, 0));
    else if (j && json_array_size(list) == 0)
        fprintf(stderr, "picostack: No %s with a name or ID of '%s' exists.\n", one, ref);
    else if (j)
        fprintf(stderr, "picostack: More than one %s exists with the name '%s'.\n", one, ref);
    json_decref(j);
    return obj;
}

static const char *id_of(json_t *obj)
{
    return json_string_value(json_object_get(obj, "id"));
}

static int show_one(struct cli *c, json_t *obj)
{
    json_t *copy = json_deep_copy(obj);
    json_object_del(copy, "links");
    out_show(c, copy);
    json_decref(copy);
    return 0;
}

int cmd_token(struct cli *c, int argc, char **argv)
{
    if (strcmp(argv[0], "issue") != 0 || argc != 1)
        return usage_error("usage: token issue");
    json_t *t = c->token_body;
    json_t *out =
        json_pack("{s:O?, s:s, s:O?, s:O?}", "expires", json_object_get(t, "expires_at"), "id",
                  c->token, "project_id", json_object_get(json_object_get(t, "project"), "id"),
                  "user_id", json_object_get(json_object_get(t, "user"), "id"));
    out_show(c, out);
    json_decref(out);
    return 0;
}

static int list(struct cli *c, const char *coll, const char *path)
{
    json_t *j = identity_call(c, "GET", path, NULL, "list", NULL);
    if (!j)
        return 1;
    static const char *const headings[] = { "ID", "Name" }, *const keys[] = { "id", "name" };
    out_list(c, json_object_get(j, coll), headings, keys, 2);
    json_decref(j);
    return 0;
}

static int delete_all(struct cli *c, const char *coll, const char *one, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("%s delete needs at least one %s", one, one);
    int status = 0;
    for (int i = 0; i < argc; i++) {
        json_t *obj = find(c, coll, one, argv[i]);
        if (!obj) {
            status = 1;
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "/%s/%s", coll, id_of(obj));
        json_t *r = identity_call(c, "DELETE", path, NULL, "delete", NULL);
        if (!r)
            status = 1;
        json_decref(r);
        json_decref(obj);
    }
    return status;
}

static int show(struct cli *c, const char *coll, const char *one, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("%s show needs one %s", one, one);
    json_t *obj = find(c, coll, one, argv[0]);
    if (!obj)
        return 1;
    show_one(c, obj);
    json_decref(obj);
    return 0;
}

/* POST /coll {one: body}; prints the new resource. */
static int create(struct cli *c, const char *coll, const char *one, json_t *body)
{
    char path[64];
    snprintf(path, sizeof path, "/%s", coll);
    json_t *wrapped = json_pack("{s:o}", one, body);
    json_t *j = identity_call(c, "POST", path, wrapped, "create", NULL);
    json_decref(wrapped);
    if (!j)
        return 1;
    show_one(c, json_object_get(j, one));
    json_decref(j);
    return 0;
}

static int domain_id(struct cli *c, const char *ref, json_t *body)
{
    if (!ref)
        return 0;
    json_t *d = find(c, "domains", "domain", ref);
    if (!d)
        return -1;
    json_object_set(body, "domain_id", json_object_get(d, "id"));
    json_decref(d);
    return 0;
}

int cmd_project(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "list") == 0)
        return list(c, "projects", "/projects");
    if (strcmp(sub, "show") == 0)
        return show(c, "projects", "project", argc, argv);
    if (strcmp(sub, "delete") == 0)
        return delete_all(c, "projects", "project", argc, argv);
    if (strcmp(sub, "create") == 0) {
        const char *domain = take_opt(&argc, argv, "--domain");
        const char *desc = take_opt(&argc, argv, "--description");
        bool disable = take_flag(&argc, argv, "--disable");
        take_flag(&argc, argv, "--enable");
        if (argc != 1)
            return usage_error("usage: project create NAME [--domain D] [--description TEXT]");
        json_t *body = json_pack("{s:s, s:b}", "name", argv[0], "enabled", !disable);
        if (desc)
            json_object_set_new(body, "description", json_string(desc));
        if (domain_id(c, domain, body) < 0) {
            json_decref(body);
            return 1;
        }
        return create(c, "projects", "project", body);
    }
    return usage_error("unknown project subcommand '%s'", sub);
}

int cmd_user(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "list") == 0)
        return list(c, "users", "/users");
    if (strcmp(sub, "show") == 0)
        return show(c, "users", "user", argc, argv);
    if (strcmp(sub, "delete") == 0)
        return delete_all(c, "users", "user", argc, argv);
    if (strcmp(sub, "create") == 0) {
        const char *domain = take_opt(&argc, argv, "--domain");
        const char *pw = take_opt(&argc, argv, "--password");
        const char *project = take_opt(&argc, argv, "--project");
        const char *email = take_opt(&argc, argv, "--email");
        const char *desc = take_opt(&argc, argv, "--description");
        if (argc != 1)
            return usage_error(
                "usage: user create NAME [--password PW] [--project P] [--domain D]");
        json_t *body = json_pack("{s:s, s:b}", "name", argv[0], "enabled", 1);
        if (pw)
            json_object_set_new(body, "password", json_string(pw));
        if (email)
            json_object_set_new(body, "email", json_string(email));
        if (desc)
            json_object_set_new(body, "description", json_string(desc));
        if (project) {
            json_t *p = find(c, "projects", "project", project);
            if (!p) {
                json_decref(body);
                return 1;
            }
            json_object_set(body, "default_project_id", json_object_get(p, "id"));
            json_decref(p);
        }
        if (domain_id(c, domain, body) < 0) {
            json_decref(body);
            return 1;
        }
        return create(c, "users", "user", body);
    }
    return usage_error("unknown user subcommand '%s'", sub);
}

/* role add / role remove --user U --project P ROLE */
static int role_grant(struct cli *c, const char *method, int argc, char **argv)
{
    const char *user = take_opt(&argc, argv, "--user");
    const char *project = take_opt(&argc, argv, "--project");
    if (!user || !project || argc != 1)
        return usage_error("usage: role add|remove --user U --project P ROLE");
    json_t *r = find(c, "roles", "role", argv[0]);
    json_t *u = r ? find(c, "users", "user", user) : NULL;
    json_t *p = u ? find(c, "projects", "project", project) : NULL;
    int status = 1;
    if (p) {
        char path[512];
        snprintf(path, sizeof path, "/projects/%s/users/%s/roles/%s", id_of(p), id_of(u), id_of(r));
        json_t *j = identity_call(c, method, path, NULL,
                                  strcmp(method, "PUT") == 0 ? "role add" : "role remove", NULL);
        status = j ? 0 : 1;
        json_decref(j);
    }
    json_decref(r);
    json_decref(u);
    json_decref(p);
    return status;
}

int cmd_role(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "list") == 0)
        return list(c, "roles", "/roles");
    if (strcmp(sub, "show") == 0)
        return show(c, "roles", "role", argc, argv);
    if (strcmp(sub, "delete") == 0)
        return delete_all(c, "roles", "role", argc, argv);
    if (strcmp(sub, "add") == 0)
        return role_grant(c, "PUT", argc, argv);
    if (strcmp(sub, "remove") == 0)
        return role_grant(c, "DELETE", argc, argv);
    if (strcmp(sub, "create") == 0) {
        if (argc != 1)
            return usage_error("usage: role create NAME");
        return create(c, "roles", "role", json_pack("{s:s}", "name", argv[0]));
    }
    return usage_error("unknown role subcommand '%s'", sub);
}
