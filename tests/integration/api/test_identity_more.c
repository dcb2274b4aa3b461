/* Integration tests of Keystone's wider API in picostackd (issue 18):
 * domains, groups and their grants, implied roles, application
 * credentials, catalog rows, against a real daemon on 127.0.0.1.
 * Usage: test_identity_more SUBTEST PICOSTACKD */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *post_id(struct picostackd *d, const char *tok, const char *path, const char *body,
                     const char *key)
{
    struct resp r;
    http(d, "POST", path, tok, body, &r);
    CHECK(r.status == 201, "POST %s: %ld", path, r.status);
    const char *id = jstr(json_object_get(r.json, key), "id");
    char *out = id ? strdup(id) : NULL;
    resp_free(&r);
    return out;
}

/* A token from a POST /v3/auth/tokens body, or NULL. */
static char *login_id(struct picostackd *d, const char *body)
{
    struct resp r;
    http(d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    char *tok = r.status == 201 && r.subject_token[0] ? strdup(r.subject_token) : NULL;
    resp_free(&r);
    return tok;
}

/* Domains: create, bad names, delete only when disabled, cascade; groups,
 * membership and a group grant reaching a member's token. */
static void t_domains_groups(const char *bin)
{
    struct picostackd d;
    if (picostackd_start(&d, bin, NULL) != 0) {
        CHECK(0, "picostackd did not start");
        return;
    }
    char *a = admin_login(&d);
    CHECK(a != NULL);
    char long_name[100];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    char body[512], body2[512];
    snprintf(body, sizeof body, "{\"domain\":{\"name\":\"%s\"}}", long_name);
    CHECK(http_status(&d, "POST", "/identity/v3/domains", a, NULL, body) == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/domains", a, NULL,
                      "{\"domain\":{\"name\":\"\"}}") == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/domains", a, NULL, "{\"domain\":[]}") == 400);
    char *dom = post_id(&d, a, "/identity/v3/domains", "{\"domain\":{\"name\":\"d1\"}}", "domain");
    CHECK(http_status(&d, "POST", "/identity/v3/domains", a, NULL,
                      "{\"domain\":{\"name\":\"d1\"}}") == 409);
    snprintf(body, sizeof body, "{\"project\":{\"name\":\"p1\",\"domain_id\":\"%s\"}}", dom);
    char *proj = post_id(&d, a, "/identity/v3/projects", body, "project");
    snprintf(body, sizeof body,
             "{\"user\":{\"name\":\"u1\",\"password\":\"pw-123456\",\"domain_id\":\"%s\","
             "\"email\":null}}",
             dom);
    char *user = post_id(&d, a, "/identity/v3/users", body, "user");
    char *grp = post_id(&d, a, "/identity/v3/groups", "{\"group\":{\"name\":\"g1\"}}", "group");
    char *role = find_role(&d, a, "member");
    char path[512];
    snprintf(path, sizeof path, "/identity/v3/groups/%s/users/%s", grp, user);
    CHECK(http_status(&d, "PUT", path, a, NULL, NULL) == 204);
    CHECK(http_status(&d, "GET", path, a, NULL, NULL) == 204);
    snprintf(path, sizeof path, "/identity/v3/projects/%s/groups/%s/roles/%s", proj, grp, role);
    CHECK(http_status(&d, "PUT", path, a, NULL, NULL) == 204);
    /* the member logs in to the project through its group's grant */
    snprintf(body, sizeof body,
             "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"id\":"
             "\"%s\",\"password\":\"pw-123456\"}}},\"scope\":{\"project\":{\"id\":\"%s\"}}}}",
             user, proj);
    CHECK(http_status(&d, "POST", "/identity/v3/auth/tokens", NULL, NULL, body) == 201);
    /* effective assignments list the member, not the group */
    struct resp r;
    snprintf(path, sizeof path, "/identity/v3/role_assignments?effective&user.id=%s", user);
    http(&d, "GET", path, a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "role_assignments")) == 1);
    resp_free(&r);
    /* an enabled domain is not deleted; a disabled one goes with its content */
    snprintf(path, sizeof path, "/identity/v3/domains/%s", dom);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 403);
    /* a project with children is not deleted */
    snprintf(body2, sizeof body2, "{\"project\":{\"name\":\"leaf\",\"parent_id\":\"%s\"}}", proj);
    char *leaf = post_id(&d, a, "/identity/v3/projects", body2, "project");
    char ppath[300];
    snprintf(ppath, sizeof ppath, "/identity/v3/projects/%s", proj);
    CHECK(http_status(&d, "DELETE", ppath, a, NULL, NULL) == 403);
    free(leaf);
    /* the member's token stops working when its domain is disabled */
    char *utok = login_id(&d, body);
    CHECK(utok && http_status(&d, "GET", "/identity/v3/auth/projects", utok, NULL, NULL) == 200);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"domain\":{\"enabled\":false}}") == 200);
    CHECK(utok && http_status(&d, "GET", "/identity/v3/auth/projects", utok, NULL, NULL) == 401);
    free(utok);
    CHECK(http_status(&d, "POST", "/identity/v3/auth/tokens", NULL, NULL, body) == 401);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 204);
    snprintf(path, sizeof path, "/identity/v3/users/%s", user);
    CHECK(http_status(&d, "GET", path, a, NULL, NULL) == 404);
    CHECK(http_status(&d, "DELETE", "/identity/v3/domains/nope", a, NULL, NULL) == 404);
    free(dom), free(proj), free(user), free(grp), free(role), free(a);
    picostackd_cleanup(&d);
}

/* Application credentials: secret shown once, login with it, roles
 * restricted, deleting revokes; catalog rows follow created services. */
static void t_app_creds(const char *bin)
{
    struct picostackd d;
    if (picostackd_start(&d, bin, NULL) != 0) {
        CHECK(0, "picostackd did not start");
        return;
    }
    char *a = admin_login(&d);
    struct resp r;
    http(&d, "GET", "/identity/v3/auth/tokens", a, NULL, &r);
    resp_free(&r);
    char *me = NULL, path[512], body[1024];
    {
        const char *const h[] = { NULL };
        (void)h;
        struct resp v;
        char hdr[1100];
        snprintf(hdr, sizeof hdr, "X-Subject-Token: %s", a);
        const char *const headers[] = { hdr, NULL };
        http_req_h(&d, "GET", "/identity/v3/auth/tokens", a, "application/json", NULL, headers, &v);
        me = strdup(jstr(json_object_get(json_object_get(v.json, "token"), "user"), "id") ?: "");
        resp_free(&v);
    }
    snprintf(path, sizeof path, "/identity/v3/users/%s/application_credentials", me);
    CHECK(http_status(&d, "POST", path, a, NULL, "{\"application_credential\":{}}") == 400);
    CHECK(http_status(
              &d, "POST", path, a, NULL,
              "{\"application_credential\":{\"name\":\"c\",\"roles\":[{\"name\":\"nope\"}]}}") ==
          403);
    http(&d, "POST", path, a, "{\"application_credential\":{\"name\":\"ci\"}}", &r);
    CHECK(r.status == 201);
    json_t *ac = json_object_get(r.json, "application_credential");
    char *id = strdup(jstr(ac, "id") ?: ""), *secret = strdup(jstr(ac, "secret") ?: "");
    resp_free(&r);
    snprintf(path, sizeof path, "/identity/v3/users/%s/application_credentials/%s", me, id);
    http(&d, "GET", path, a, NULL, &r);
    CHECK(r.status == 200 &&
          !json_object_get(json_object_get(r.json, "application_credential"), "secret"));
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
             "\"application_credential\":{\"id\":\"%s\",\"secret\":\"%s\"}}}}",
             id, secret);
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    CHECK(r.status == 201 && json_object_get(json_object_get(r.json, "token"), "project"));
    resp_free(&r);
    char bad[1024];
    snprintf(bad, sizeof bad,
             "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
             "\"application_credential\":{\"id\":\"%s\",\"secret\":\"wrong\"}}}}",
             id);
    CHECK(http_status(&d, "POST", "/identity/v3/auth/tokens", NULL, NULL, bad) == 401);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 204);
    CHECK(http_status(&d, "POST", "/identity/v3/auth/tokens", NULL, NULL, body) == 401);
    /* a created service and endpoint join the catalog */
    char *svc = post_id(&d, a, "/identity/v3/services",
                        "{\"service\":{\"type\":\"thing\",\"name\":\"things\"}}", "service");
    snprintf(body, sizeof body,
             "{\"endpoint\":{\"service_id\":\"%s\",\"interface\":\"public\",\"url\":\"http://t\","
             "\"region\":\"R2\"}}",
             svc);
    free(post_id(&d, a, "/identity/v3/endpoints", body, "endpoint"));
    CHECK(http_status(&d, "GET", "/identity/v3/regions/R2", a, NULL, NULL) == 200);
    http(&d, "GET", "/identity/v3/auth/catalog", a, NULL, &r);
    char *text = json_dumps(r.json, 0);
    CHECK(text && strstr(text, "http://t"));
    free(text);
    resp_free(&r);
    snprintf(body, sizeof body,
             "{\"endpoint\":{\"service_id\":\"%s\",\"interface\":\"x\",\"url\":\"u\"}}", svc);
    CHECK(http_status(&d, "POST", "/identity/v3/endpoints", a, NULL, body) == 400);
    free(svc), free(id), free(secret), free(me), free(a);
    picostackd_cleanup(&d);
}

static char *user_id_of(struct picostackd *d, const char *tok, const char *name)
{
    char path[200];
    struct resp r;
    snprintf(path, sizeof path, "/identity/v3/users?name=%s", name);
    http(d, "GET", path, tok, NULL, &r);
    const char *id = jstr(json_array_get(json_object_get(r.json, "users"), 0), "id");
    char *out = id ? strdup(id) : NULL;
    resp_free(&r);
    return out;
}

/* Keystone's password rules, set by the operator: length and regex on
 * every new password, history on a user's own change, expiry on login. */
static void t_password_rules(const char *bin)
{
    static const char *const rules[] = { "--password-min-length",
                                         "8",
                                         "--password-regex",
                                         "[0-9]",
                                         "--password-regex-description",
                                         "at least one digit",
                                         "--password-history",
                                         "2",
                                         NULL };
    struct picostackd d;
    if (picostackd_start(&d, bin, rules) != 0) {
        CHECK(0, "picostackd did not start");
        return;
    }
    char *a = admin_login(&d);
    CHECK(http_status(&d, "POST", "/identity/v3/users", a, NULL,
                      "{\"user\":{\"name\":\"s\",\"password\":\"short1\"}}") == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/users", a, NULL,
                      "{\"user\":{\"name\":\"s\",\"password\":\"nodigitshere\"}}") == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/users", a, NULL,
                      "{\"user\":{\"name\":\"s\",\"password\":\"longenough1\"}}") == 201);
    char *uid = user_id_of(&d, a, "s");
    char *tok = login(&d, "s", "longenough1", NULL);
    CHECK(tok != NULL);
    char path[200];
    snprintf(path, sizeof path, "/identity/v3/users/%s/password", uid ? uid : "");
    /* reusing the current password is refused for the user itself */
    CHECK(http_status(&d, "POST", path, tok, NULL,
                      "{\"user\":{\"password\":\"longenough1\",\"original_password\":"
                      "\"longenough1\"}}") == 400);
    CHECK(http_status(&d, "POST", path, tok, NULL,
                      "{\"user\":{\"password\":\"short2\",\"original_password\":"
                      "\"longenough1\"}}") == 400);
    CHECK(http_status(&d, "POST", path, tok, NULL,
                      "{\"user\":{\"password\":\"different22\",\"original_password\":"
                      "\"longenough1\"}}") == 204);
    free(tok);
    tok = login(&d, "s", "different22", NULL);
    CHECK(tok != NULL);
    /* the one before is in the history too */
    CHECK(http_status(&d, "POST", path, tok, NULL,
                      "{\"user\":{\"password\":\"longenough1\",\"original_password\":"
                      "\"different22\"}}") == 400);
    free(tok), free(uid), free(a);
    picostackd_cleanup(&d);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = {
        { "domains_groups", t_domains_groups },
        { "app_creds", t_app_creds },
        { "password_rules", t_password_rules },
    };
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
