/* Integration tests of picostackd's identity service and HTTP layer against
 * a real daemon on 127.0.0.1.  Usage: test_identity SUBTEST PICOSTACKD */
#include "harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts picostackd for a sub-test; on failure the failure is counted, what
 * was made is removed, and the sub-test returns (nothing to test without it). */
static int started(struct picostackd *d, const char *bin, const char *const *extra)
{
    int rc = picostackd_start(d, bin, extra);
    CHECK(rc == 0, "picostackd did not start: %s", strerror(-rc));
    if (rc != 0)
        picostackd_cleanup(d);
    return rc == 0;
}

static const char *err_message(struct resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
}

/* A request naming a token in X-Subject-Token (the token API). */
static int http_subject(struct picostackd *d, const char *method, const char *path,
                        const char *token, const char *subject, struct resp *out)
{
    char h[1100];
    snprintf(h, sizeof h, "X-Subject-Token: %s", subject);
    const char *const headers[] = { h, NULL };
    return http_req_h(d, method, path, token, "application/json", NULL, headers, out);
}

/* ---------- tokens ---------- */

static void t_tokens(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    struct stat st;
    char path[300];
    snprintf(path, sizeof(path), "%s/admin-openrc", d.dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "admin-openrc mode");

    /* discovery */
    struct resp r;
    http(&d, "GET", "/identity", NULL, NULL, &r);
    CHECK(r.status == 300);
    json_t *v = json_array_get(json_object_get(json_object_get(r.json, "versions"), "values"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(v, "id")) ?: "", "v3.14"));
    resp_free(&r);
    http(&d, "GET", "/identity/v3/", NULL, NULL, &r);
    CHECK(r.status == 200 && json_object_get(r.json, "version"));
    CHECK(strlen(r.request_id) == 40 && !strncmp(r.request_id, "req-", 4), "%s", r.request_id);
    resp_free(&r);

    /* password, project by name */
    char *tok = admin_login(&d);
    CHECK(tok != NULL);
    http_subject(&d, "GET", "/identity/v3/auth/tokens", tok, tok, &r);
    CHECK(r.status == 200);
    json_t *t = json_object_get(r.json, "token");
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(t, "user"), "name")) ?: "",
                  "admin"));
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(t, "project"), "name")) ?: "",
                  "admin"));
    CHECK(json_array_size(json_object_get(t, "roles")) == 1);
    json_t *cat = json_object_get(t, "catalog");
    /* The catalog lists exactly the registered services (api/services.c),
     * in registration order: nothing that is not served. */
    CHECK(json_array_size(cat) == 6, "catalog has %zu services", json_array_size(cat));
    const char *want[] = { "identity", "image", "block-storage", "volumev3", "network", "compute" };
    for (size_t i = 0; i < 6; i++) {
        json_t *svc = json_array_get(cat, i);
        CHECK(!strcmp(json_string_value(json_object_get(svc, "type")) ?: "", want[i]));
        CHECK(json_array_size(json_object_get(svc, "endpoints")) == 3);
    }
    json_t *ep = json_array_get(json_object_get(json_array_get(cat, 1), "endpoints"), 0);
    char url[128];
    snprintf(url, sizeof(url), "%s/image", d.base);
    CHECK(!strcmp(json_string_value(json_object_get(ep, "url")) ?: "", url));
    const char *pid = json_string_value(json_object_get(json_object_get(t, "project"), "id"));
    char *project_id = strdup(pid ?: "");
    resp_free(&r);
    /* catalog URLs follow the Host the client used; a hostile Host is ignored */
    http_req_h(&d, "GET", "/identity/v3/auth/catalog", tok, "application/json", NULL,
               (const char *const[]){ "Host: cloud.example:8443", NULL }, &r);
    ep = json_array_get(
        json_object_get(json_array_get(json_object_get(r.json, "catalog"), 1), "endpoints"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(ep, "url")) ?: "",
                  "http://cloud.example:8443/image"),
          "%s", r.body);
    resp_free(&r);
    http_req_h(&d, "GET", "/identity/v3/auth/catalog", tok, "application/json", NULL,
               (const char *const[]){ "Host: a\"b/c", NULL }, &r);
    CHECK(r.status == 200 && strstr(r.body ?: "", d.base), "fallback to the listen address");
    resp_free(&r);
    CHECK(http_status(&d, "HEAD", "/identity/v3/auth/tokens", tok, NULL, NULL) == 400);
    http_subject(&d, "HEAD", "/identity/v3/auth/tokens", tok, tok, &r);
    CHECK(r.status == 200 && r.len == 0 && !strcmp(r.subject_token, tok), "HEAD validate");
    resp_free(&r);

    /* scoped by id; unscoped; token method */
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
             "{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"%s\"}}},"
             "\"scope\":{\"project\":{\"id\":\"%s\"}}}}",
             d.admin_password, project_id);
    http(&d, "POST", "/identity/v3/auth/tokens?nocatalog", NULL, body, &r);
    CHECK(r.status == 201 && r.subject_token[0]);
    CHECK(!json_object_get(json_object_get(r.json, "token"), "catalog"), "nocatalog");
    resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
             "{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"%s\"}}}}}",
             d.admin_password);
    /* No scope: Keystone scopes to the user's default project */
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    CHECK(r.status == 201);
    CHECK(json_object_get(json_object_get(r.json, "token"), "project"), "default project");
    resp_free(&r);
    /* "scope": "unscoped" asks for none */
    snprintf(body, sizeof(body),
             "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
             "{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},\"password\":\"%s\"}}},"
             "\"scope\":\"unscoped\"}}",
             d.admin_password);
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    CHECK(r.status == 201);
    CHECK(!json_object_get(json_object_get(r.json, "token"), "project"), "unscoped");
    char *unscoped = strdup(r.subject_token);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/auth/catalog", unscoped, NULL, NULL) == 403);
    CHECK(http_status(&d, "GET", "/identity/v3/auth/catalog", tok, NULL, NULL) == 200);
    http(&d, "GET", "/identity/v3/auth/domains", unscoped, NULL, &r);
    CHECK(r.status == 200 && json_is_array(json_object_get(r.json, "domains")));
    resp_free(&r);
    http(&d, "GET", "/identity/v3/auth/projects", unscoped, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "projects")) == 1);
    resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"%s\"}},"
             "\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"}}}}}",
             unscoped);
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    CHECK(r.status == 201);
    json_t *m = json_object_get(json_object_get(r.json, "token"), "methods");
    /* a rescoped token keeps the methods of the first, plus token */
    CHECK(json_array_size(m) == 2 &&
          !strcmp(json_string_value(json_array_get(m, 1)) ?: "", "token"));
    char *rescoped = strdup(r.subject_token);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", rescoped, NULL, NULL) == 200);

    /* bad credentials and inputs */
    CHECK(!login(&d, "admin", "wrong", "admin"));
    CHECK(!login(&d, "nobody", "x", "admin"));
    CHECK(!login(&d, "admin", d.admin_password, "noproject"));
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, "{\"auth\":{\"identity\":{}}}", &r);
    CHECK(r.status == 400 && strstr(err_message(&r) ?: "", "auth.identity.methods"));
    resp_free(&r);
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, "{\"auth\":", &r);
    CHECK(r.status == 400 && json_object_get(r.json, "error"), "malformed JSON: %ld", r.status);
    resp_free(&r);
    http(&d, "POST", "/identity/v3/auth/tokens", NULL,
         "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
         "{\"name\":\"admin\",\"password\":\"x\"}}}}}",
         &r);
    CHECK(r.status == 400 && strstr(err_message(&r) ?: "", "domain"), "no domain");
    resp_free(&r);

    /* 401 shapes */
    http(&d, "GET", "/identity/v3/projects", NULL, NULL, &r);
    CHECK(r.status == 401 && json_object_get(json_object_get(r.json, "error"), "code"));
    CHECK(strstr(r.www_auth, "Keystone uri="), "WWW-Authenticate: %s", r.www_auth);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", "garbage", NULL, NULL) == 401);
    char *tampered = strdup(tok);
    tampered[20] = tampered[20] == 'A' ? 'B' : 'A';
    CHECK(http_status(&d, "GET", "/identity/v3/projects", tampered, NULL, NULL) == 401);
    http_subject(&d, "GET", "/identity/v3/auth/tokens", tok, tampered, &r);
    CHECK(r.status == 404);
    resp_free(&r);

    /* revoke by DELETE */
    http_subject(&d, "DELETE", "/identity/v3/auth/tokens", tok, rescoped, &r);
    CHECK(r.status == 204);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", rescoped, NULL, NULL) == 401);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", tok, NULL, NULL) == 200, "others live");

    free(tampered);
    free(rescoped);
    free(unscoped);
    free(project_id);
    free(tok);
    picostackd_cleanup(&d);
}

/* Expiry: a short --token-ttl, then wait past it. */
static void t_expiry(const char *bin)
{
    struct picostackd d;
    const char *extra[] = { "--token-ttl", "1", NULL };
    if (!started(&d, bin, extra))
        return;
    char *tok = admin_login(&d);
    CHECK(tok != NULL);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", tok, NULL, NULL) == 200);
    /* A token-method token keeps its parent's expiry. */
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"%s\"}}}}",
             tok ?: "");
    struct resp r;
    http(&d, "POST", "/identity/v3/auth/tokens", NULL, body, &r);
    CHECK(r.status == 201);
    char *child = strdup(r.subject_token);
    resp_free(&r);
    usleep(1300 * 1000);
    CHECK(http_status(&d, "GET", "/identity/v3/projects", tok, NULL, NULL) == 401);
    http_subject(&d, "GET", "/identity/v3/auth/tokens", child, child, &r);
    CHECK(r.status == 401, "child token outlived its parent: %ld", r.status);
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/auth/tokens", NULL, NULL, body) == 401);
    free(child);
    free(tok);
    picostackd_cleanup(&d);
}

/* Revocation by user disable, password change, user delete, unassignment. */
static void t_revocation(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *admin = admin_login(&d);
    char *p = create_project(&d, admin, "rv");
    char *member = find_role(&d, admin, "member");
    const char *names[4] = { "u-disable", "u-password", "u-delete", "u-unassign" };
    char *uid[4], *tok[4];
    for (int i = 0; i < 4; i++) {
        uid[i] = create_user(&d, admin, names[i], "pw1");
        CHECK(uid[i] && grant(&d, admin, p, uid[i], member) == 204);
        tok[i] = login(&d, names[i], "pw1", "rv");
        CHECK(tok[i] != NULL);
        char path[128];
        snprintf(path, sizeof(path), "/identity/v3/users/%s", uid[i]);
        CHECK(http_status(&d, "GET", path, tok[i], NULL, NULL) == 200);
    }
    char path[300];
    snprintf(path, sizeof(path), "/identity/v3/users/%s", uid[0]);
    CHECK(http_status(&d, "PATCH", path, admin, NULL, "{\"user\":{\"enabled\":false}}") == 200);
    CHECK(http_status(&d, "GET", path, tok[0], NULL, NULL) == 401, "disabled user's token");
    CHECK(!login(&d, names[0], "pw1", "rv"), "disabled user logs in");

    snprintf(path, sizeof(path), "/identity/v3/users/%s/password", uid[1]);
    CHECK(http_status(&d, "POST", path, tok[1], NULL,
                      "{\"user\":{\"password\":\"pw2\",\"original_password\":\"bad\"}}") == 401);
    CHECK(http_status(&d, "POST", path, tok[1], NULL,
                      "{\"user\":{\"password\":\"pw2\",\"original_password\":\"pw1\"}}") == 204);
    snprintf(path, sizeof(path), "/identity/v3/users/%s", uid[1]);
    CHECK(http_status(&d, "GET", path, tok[1], NULL, NULL) == 401, "token after password change");
    CHECK(!login(&d, names[1], "pw1", "rv"));
    char *fresh = login(&d, names[1], "pw2", "rv");
    CHECK(fresh && http_status(&d, "GET", path, fresh, NULL, NULL) == 200,
          "new token after change");
    free(fresh);

    snprintf(path, sizeof(path), "/identity/v3/users/%s", uid[2]);
    CHECK(http_status(&d, "DELETE", path, admin, NULL, NULL) == 204);
    CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", tok[2], NULL, NULL) == 401);
    CHECK(http_status(&d, "GET", path, admin, NULL, NULL) == 404);

    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles/%s", p, uid[3], member);
    CHECK(http_status(&d, "DELETE", path, admin, NULL, NULL) == 204);
    CHECK(http_status(&d, "DELETE", path, admin, NULL, NULL) == 404);
    CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", tok[3], NULL, NULL) == 401);
    CHECK(!login(&d, names[3], "pw1", "rv"), "scoped login without a role");
    CHECK(http_status(&d, "GET", "/identity/v3/projects", admin, NULL, NULL) == 200, "admin lives");

    /* renaming or deleting a role revokes its holders' tokens */
    struct resp r;
    http(&d, "POST", "/identity/v3/roles", admin, "{\"role\":{\"name\":\"temp\"}}", &r);
    const char *rid = json_string_value(json_object_get(json_object_get(r.json, "role"), "id"));
    char *temp = strdup(rid ?: "");
    resp_free(&r);
    char *holder = create_user(&d, admin, "holder", "pw");
    CHECK(grant(&d, admin, p, holder, temp) == 204);
    for (int round = 0; round < 2; round++) {
        char *ht = login(&d, "holder", "pw", "rv");
        CHECK(ht && http_status(&d, "GET", "/identity/v3/auth/projects", ht, NULL, NULL) == 200);
        snprintf(path, sizeof(path), "/identity/v3/roles/%s", temp);
        if (round == 0)
            CHECK(http_status(&d, "PATCH", path, admin, NULL, "{\"role\":{\"name\":\"temp2\"}}") ==
                  200);
        else
            CHECK(http_status(&d, "DELETE", path, admin, NULL, NULL) == 204);
        CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", ht, NULL, NULL) == 401,
              "role %s: holder's token lives", round ? "deleted" : "renamed");
        free(ht);
    }
    free(holder);
    free(temp);
    for (int i = 0; i < 4; i++) {
        free(uid[i]);
        free(tok[i]);
    }
    free(p);
    free(member);
    free(admin);
    picostackd_cleanup(&d);
}

/* ---------- resources ---------- */

static void t_crud(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    struct resp r;
    /* domains */
    http(&d, "GET", "/identity/v3/domains", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "domains")) == 1);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/domains/default", a, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", "/identity/v3/domains/nope", a, NULL, NULL) == 404);

    /* the catalog as read-only resources */
    http(&d, "GET", "/identity/v3/services", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "services")) == 6);
    const char *sid = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "services"), 1), "id"));
    char spath[200];
    snprintf(spath, sizeof(spath), "/identity/v3/services/%s", sid ?: "x");
    CHECK(http_status(&d, "GET", spath, a, NULL, NULL) == 200);
    resp_free(&r);
    http(&d, "GET", "/identity/v3/endpoints?interface=public", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "endpoints")) == 6);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/services/nope", a, NULL, NULL) == 404);
    CHECK(http_status(&d, "GET", "/identity/v3/endpoints/nope", a, NULL, NULL) == 404);
    CHECK(http_status(&d, "GET", "/identity/v3/regions/RegionOne", a, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", "/identity/v3/regions/Nope", a, NULL, NULL) == 404);

    /* projects: create (no domain -> default), conflicts, filters, update, delete */
    http(&d, "POST", "/identity/v3/projects", a,
         "{\"project\":{\"name\":\"p1\",\"enabled\":true,\"options\":{},\"tags\":[\"x\"]}}", &r);
    CHECK(r.status == 201);
    json_t *pj = json_object_get(r.json, "project");
    CHECK(!strcmp(json_string_value(json_object_get(pj, "domain_id")) ?: "", "default"));
    char *p1 = strdup(json_string_value(json_object_get(pj, "id")) ?: "");
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/projects", a, NULL,
                      "{\"project\":{\"name\":\"p1\",\"domain_id\":\"default\"}}") == 409);
    http(&d, "POST", "/identity/v3/projects", a, "{\"project\":{\"name\":5}}", &r);
    CHECK(r.status == 400 && strstr(err_message(&r) ?: "", "project.name"), "%s", r.body);
    resp_free(&r);
    http(&d, "POST", "/identity/v3/projects", a, "{\"project\":{\"name\":\"q\",\"enabled\":1}}",
         &r);
    CHECK(r.status == 400 && strstr(err_message(&r) ?: "", "project.enabled"), "%s", r.body);
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/projects", a, NULL, "{\"project\":[]}") == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/projects", a, NULL, "[1]") == 400);
    CHECK(http_status(&d, "POST", "/identity/v3/projects", a, NULL,
                      "{\"project\":{\"name\":\"q\",\"domain_id\":\"nope\"}}") == 404);
    http(&d, "GET", "/identity/v3/projects?name=p1", a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "projects")) == 1);
    resp_free(&r);
    http(&d, "GET", "/identity/v3/projects?name=zzz", a, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "projects")) == 0);
    resp_free(&r);
    CHECK(http_status(&d, "GET", "/identity/v3/projects/p1", a, NULL, NULL) == 404, "name as id");
    char path[300];
    snprintf(path, sizeof(path), "/identity/v3/projects/%s", p1);
    http(&d, "PATCH", path, a, "{\"project\":{\"name\":\"p1b\",\"description\":\"d\"}}", &r);
    CHECK(r.status == 200);
    resp_free(&r);
    http(&d, "GET", "/identity/v3/projects?name=p1b", a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "projects")) == 1, "renamed index");
    resp_free(&r);
    http(&d, "GET", "/identity/v3/projects?name=p1", a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "projects")) == 0, "old name gone");
    resp_free(&r);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"project\":{\"name\":\"admin\"}}") == 409);
    CHECK(http_status(&d, "PATCH", "/identity/v3/projects/nope", a, NULL,
                      "{\"project\":{\"name\":\"z\"}}") == 404);

    /* users */
    http(&d, "POST", "/identity/v3/users", a,
         "{\"user\":{\"name\":\"alice\",\"domain_id\":\"default\",\"password\":\"pw\","
         "\"enabled\":true,\"options\":{}}}",
         &r);
    CHECK(r.status == 201 && !strstr(r.body ?: "", "_password") && !strstr(r.body ?: "", "pw\""),
          "%s", r.body);
    char *alice =
        strdup(json_string_value(json_object_get(json_object_get(r.json, "user"), "id")) ?: "");
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/users", a, NULL,
                      "{\"user\":{\"name\":\"alice\",\"password\":\"x\"}}") == 409);
    http(&d, "POST", "/identity/v3/users", a, "{\"user\":{\"name\":\"b\",\"password\":7}}", &r);
    CHECK(r.status == 400 && strstr(err_message(&r) ?: "", "user.password"));
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/users", a, NULL,
                      "{\"user\":{\"name\":\"b\",\"default_project_id\":\"nope\"}}") == 400);
    http(&d, "GET", "/identity/v3/users?name=alice", a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "users")) == 1);
    resp_free(&r);

    /* roles and grants */
    http(&d, "POST", "/identity/v3/roles", a, "{\"role\":{\"name\":\"custom\"}}", &r);
    CHECK(r.status == 201);
    char *custom =
        strdup(json_string_value(json_object_get(json_object_get(r.json, "role"), "id")) ?: "");
    resp_free(&r);
    CHECK(http_status(&d, "POST", "/identity/v3/roles", a, NULL,
                      "{\"role\":{\"name\":\"custom\"}}") == 409);
    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles/%s", p1, alice, custom);
    CHECK(http_status(&d, "PUT", path, a, NULL, NULL) == 204);
    CHECK(http_status(&d, "HEAD", path, a, NULL, NULL) == 204);
    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles/nope", p1, alice);
    CHECK(http_status(&d, "PUT", path, a, NULL, NULL) == 404);
    snprintf(path, sizeof(path), "/identity/v3/role_assignments?user.id=%s&include_names=True",
             alice);
    http(&d, "GET", path, a, NULL, &r);
    json_t *ra = json_array_get(json_object_get(r.json, "role_assignments"), 0);
    CHECK(json_array_size(json_object_get(r.json, "role_assignments")) == 1);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(ra, "role"), "name")) ?: "",
                  "custom"));
    CHECK(!strcmp(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(ra, "scope"), "project"), "domain"),
            "name"))
            ?: "",
        "Default"));
    resp_free(&r);
    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles", p1, alice);
    http(&d, "GET", path, a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "roles")) == 1);
    resp_free(&r);
    /* deleting the role removes its assignments */
    snprintf(path, sizeof(path), "/identity/v3/roles/%s", custom);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"role\":{\"description\":\"c\"}}") == 200);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 204);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 404);
    snprintf(path, sizeof(path), "/identity/v3/role_assignments?user.id=%s", alice);
    http(&d, "GET", path, a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "role_assignments")) == 0);
    resp_free(&r);
    /* project delete */
    snprintf(path, sizeof(path), "/identity/v3/projects/%s", p1);
    CHECK(http_status(&d, "DELETE", path, a, NULL, NULL) == 204);
    CHECK(http_status(&d, "GET", path, a, NULL, NULL) == 404);
    free(custom);
    free(alice);
    free(p1);
    free(a);
    picostackd_cleanup(&d);
}

/* Concurrent creations of one name: exactly one wins, the rest get 409. */
struct racer {
    struct picostackd *d;
    const char *tok;
    long status;
};

static void *race_create(void *arg)
{
    struct racer *rc = arg;
    struct resp r;
    http(rc->d, "POST", "/identity/v3/projects", rc->tok, "{\"project\":{\"name\":\"race\"}}", &r);
    rc->status = r.status;
    resp_free(&r);
    return NULL;
}

static void t_race(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    enum { N = 8 };
    struct racer rc[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        rc[i] = (struct racer){ &d, a, 0 };
        pthread_create(&th[i], NULL, race_create, &rc[i]);
    }
    int created = 0, conflicts = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        created += rc[i].status == 201;
        conflicts += rc[i].status == 409;
    }
    CHECK(created == 1 && conflicts == N - 1, "%d created, %d conflicts", created, conflicts);
    struct resp r;
    http(&d, "GET", "/identity/v3/projects?name=race", a, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "projects")) == 1);
    resp_free(&r);
    free(a);
    picostackd_cleanup(&d);
}

/* ---------- RBAC across two projects ---------- */

static void t_rbac(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    char *pa = create_project(&d, a, "proj-a"), *pb = create_project(&d, a, "proj-b");
    char *member = find_role(&d, a, "member"), *reader = find_role(&d, a, "reader");
    char *ma = create_user(&d, a, "member-a", "pw"), *rb = create_user(&d, a, "reader-b", "pw");
    CHECK(grant(&d, a, pa, ma, member) == 204);
    CHECK(grant(&d, a, pb, rb, reader) == 204);
    char *tm = login(&d, "member-a", "pw", "proj-a"), *tr = login(&d, "reader-b", "pw", "proj-b");
    CHECK(tm && tr);
    CHECK(!login(&d, "member-a", "pw", "proj-b"), "no role on proj-b");
    char path[300];
    /* own project visible, other project forbidden */
    snprintf(path, sizeof(path), "/identity/v3/projects/%s", pa);
    CHECK(http_status(&d, "GET", path, tm, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", path, tr, NULL, NULL) == 403);
    struct resp r;
    /* Keystone's default policy: listing projects is the admin's; a user
     * lists its own through /v3/auth/projects */
    CHECK(http_status(&d, "GET", "/identity/v3/projects", tm, NULL, NULL) == 403);
    http(&d, "GET", "/identity/v3/auth/projects", tm, NULL, &r);
    json_t *ps = json_object_get(r.json, "projects");
    CHECK(r.status == 200 && json_array_size(ps) == 1, "member sees %zu", json_array_size(ps));
    resp_free(&r);
    /* writes need admin */
    CHECK(http_status(&d, "POST", "/identity/v3/projects", tm, NULL,
                      "{\"project\":{\"name\":\"x\"}}") == 403);
    CHECK(http_status(&d, "POST", "/identity/v3/users", tr, NULL, "{\"user\":{\"name\":\"x\"}}") ==
          403);
    CHECK(http_status(&d, "DELETE", path, tm, NULL, NULL) == 403);
    snprintf(path, sizeof(path), "/identity/v3/projects/%s/users/%s/roles/%s", pb, ma, member);
    CHECK(http_status(&d, "PUT", path, tm, NULL, NULL) == 403, "member grants itself");
    CHECK(http_status(&d, "GET", "/identity/v3/users", tm, NULL, NULL) == 403);
    /* own user readable, other user not */
    snprintf(path, sizeof(path), "/identity/v3/users/%s", ma);
    CHECK(http_status(&d, "GET", path, tm, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", path, tr, NULL, NULL) == 403);
    snprintf(path, sizeof(path), "/identity/v3/role_assignments?user.id=%s", ma);
    CHECK(http_status(&d, "GET", path, tm, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", path, tr, NULL, NULL) == 403);
    CHECK(http_status(&d, "GET", "/identity/v3/role_assignments", tm, NULL, NULL) == 403);
    /* token validation: own yes, other user's no */
    http_subject(&d, "GET", "/identity/v3/auth/tokens", tm, tm, &r);
    CHECK(r.status == 200);
    resp_free(&r);
    http_subject(&d, "GET", "/identity/v3/auth/tokens", tm, tr, &r);
    CHECK(r.status == 403);
    resp_free(&r);
    http_subject(&d, "GET", "/identity/v3/auth/tokens", a, tr, &r);
    CHECK(r.status == 200, "admin validates anyone");
    resp_free(&r);
    /* password change only for oneself */
    snprintf(path, sizeof(path), "/identity/v3/users/%s/password", rb);
    CHECK(http_status(&d, "POST", path, tm, NULL,
                      "{\"user\":{\"password\":\"x\",\"original_password\":\"pw\"}}") == 403);
    free(tm);
    free(tr);
    free(ma);
    free(rb);
    free(member);
    free(reader);
    free(pa);
    free(pb);
    free(a);
    picostackd_cleanup(&d);
}

/* ---------- the HTTP layer ---------- */

static void t_http(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    struct resp r;
    http(&d, "GET", "/healthcheck", NULL, NULL, &r);
    CHECK(r.status == 200);
    resp_free(&r);
    http(&d, "GET", "/nothing/here", NULL, NULL, &r);
    CHECK(r.status == 404 && json_object_get(r.json, "error"));
    resp_free(&r);
    http(&d, "GET", "/identity/v3/nothing", a, NULL, &r);
    CHECK(r.status == 404 && json_object_get(json_object_get(r.json, "error"), "title"));
    resp_free(&r);
    CHECK(http_status(&d, "PUT", "/identity/v3/projects", a, NULL, "{}") == 405);
    /* 413: over 1 MiB, by Content-Length and also without it */
    size_t big = (1u << 20) + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    http(&d, "POST", "/identity/v3/projects", a, huge, &r);
    CHECK(r.status == 413 && json_object_get(r.json, "error"), "got %ld", r.status);
    resp_free(&r);
    free(huge);
    /* still serving after that */
    CHECK(http_status(&d, "GET", "/identity/v3/projects", a, NULL, NULL) == 200);
    /* metrics */
    http(&d, "GET", "/metrics", NULL, NULL, &r);
    CHECK(r.status == 200);
    CHECK(
        strstr(r.body ?: "", "picostack_http_requests_total{service=\"identity\",status=\"200\"}"));
    CHECK(strstr(r.body ?: "", "picostack_tokens_issued_total{method=\"password\"} 1"), "%s",
          r.body);
    CHECK(strstr(r.body ?: "", "picostack_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    resp_free(&r);
    /* a second daemon on the same data dir is refused */
    pid_t pid = fork();
    if (pid == 0) {
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%u", d.port + 1);
        int fd = open("/dev/null", 1);
        dup2(fd, 2);
        execl(bin, bin, "--data", d.dir, "--listen", listen, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "second owner of the data dir");
    /* bad options: usage, exit status 2 */
    const char *bad[][3] = { { "--listen", "nonsense", NULL },
                             { "--log-level", "loud", NULL },
                             { "--bogus", NULL, NULL },
                             { "--token-ttl", "-5", NULL } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", 1);
            dup2(fd, 2);
            execl(bin, bin, "--data", d.dir, bad[i][0], bad[i][1], (char *)NULL);
            _exit(127);
        }
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s: %d", bad[i][0], bad[i][1], st);
    }
    /* SIGTERM while logins are hashing: each completes, then a clean exit.
     * Raw keep-alive sockets, each first answered once, so that the server
     * has accepted them before the logins are sent. */
    enum { N = 4 };
    int fds[N];
    char req[1024], buf[4096];
    int blen = snprintf(buf, sizeof(buf),
                        "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":"
                        "{\"user\":{\"name\":\"admin\",\"domain\":{\"id\":\"default\"},"
                        "\"password\":\"%s\"}}}}}",
                        d.admin_password);
    int rlen = snprintf(req, sizeof(req),
                        "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                        blen, buf);
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(d.port),
                                  .sin_addr.s_addr = htonl(0x7f000001) };
        CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0);
        const char *hc = "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK(write(fds[i], hc, strlen(hc)) == (ssize_t)strlen(hc));
        CHECK(read(fds[i], buf, sizeof(buf)) > 0);
    }
    for (int i = 0; i < N; i++)
        CHECK(write(fds[i], req, rlen) == rlen);
    usleep(10000);
    kill(d.pid, SIGTERM);
    for (int i = 0; i < N; i++) {
        ssize_t n = read(fds[i], buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        CHECK(!strncmp(buf, "HTTP/1.1 201", 12), "in-flight login %d: %.40s", i, buf);
        close(fds[i]);
    }
    st = picostackd_stop(&d, 0);
    /* the log shows logins finishing after the signal: they were in flight */
    FILE *lf = fopen(d.log, "r");
    bool signalled = false;
    int after = 0;
    while (lf && fgets(buf, sizeof(buf), lf)) {
        if (strstr(buf, "signal 15"))
            signalled = true;
        else if (signalled && strstr(buf, "POST /identity/v3/auth/tokens 201"))
            after++;
    }
    if (lf)
        fclose(lf);
    CHECK(signalled && after > 0, "%d logins finished after SIGTERM", after);
    CHECK(st == 0, "clean exit: %d", st);
    free(a);
    picostackd_cleanup(&d);
}

/* ---------- restart and kill -9 ---------- */

static void t_restart(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    char *p = create_project(&d, a, "keep");
    char *u = create_user(&d, a, "keeper", "pw");
    char *m = find_role(&d, a, "member");
    CHECK(grant(&d, a, p, u, m) == 204);
    char *tu = login(&d, "keeper", "pw", "keep");
    char *gone = login(&d, "keeper", "pw", "keep");
    struct resp r;
    http_subject(&d, "DELETE", "/identity/v3/auth/tokens", a, gone, &r);
    CHECK(r.status == 204);
    resp_free(&r);
    int st = picostackd_stop(&d, SIGTERM);
    CHECK(st == 0);
    CHECK(picostackd_restart(&d, NULL) == 0);
    /* tokens survive (same key), revocations too, records and grants too */
    CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", tu, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", gone, NULL, NULL) == 401);
    char path[300];
    snprintf(path, sizeof(path), "/identity/v3/projects/%s", p);
    CHECK(http_status(&d, "GET", path, a, NULL, NULL) == 200);
    char *again = login(&d, "keeper", "pw", "keep");
    CHECK(again != NULL);
    char *a2 = admin_login(&d);
    CHECK(a2 != NULL, "same admin password after restart");
    http(&d, "GET", "/identity/v3/roles", a2, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "roles")) == 3, "bootstrap ran once");
    resp_free(&r);
    free(a2);
    free(again);
    free(tu);
    free(gone);
    free(p);
    free(u);
    free(m);
    free(a);
    picostackd_cleanup(&d);
}

/* A child hammers creations; the daemon is killed -9 mid-way; after a
 * restart every acknowledged creation is there and every index agrees. */
static void t_kill9(const char *bin)
{
    struct picostackd d;
    if (!started(&d, bin, NULL))
        return;
    char *a = admin_login(&d);
    /* an acknowledged revocation survives kill -9 */
    char *victim = admin_login(&d);
    struct resp rv;
    http_subject(&d, "DELETE", "/identity/v3/auth/tokens", a, victim, &rv);
    CHECK(rv.status == 204);
    resp_free(&rv);
    char acked[300];
    snprintf(acked, sizeof(acked), "%s/acked", d.dir);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            FILE *f = fopen(acked, "a");
            for (int i = 0;; i++) {
                char name[64];
                snprintf(name, sizeof(name), "k%d-%d", round, i);
                char *id = create_project(&d, a, name);
                if (!id)
                    _exit(0);
                /* rename half of them: an update touching the index */
                if (i % 2) {
                    char path[128], body[128];
                    snprintf(path, sizeof(path), "/identity/v3/projects/%s", id);
                    snprintf(body, sizeof(body), "{\"project\":{\"name\":\"%s-r\"}}", name);
                    struct resp r;
                    http(&d, "PATCH", path, a, body, &r);
                    if (r.status == 200)
                        fprintf(f, "%s %s-r\n", id, name);
                    else
                        fprintf(f, "%s ?\n", id);
                    resp_free(&r);
                } else {
                    fprintf(f, "%s %s\n", id, name);
                }
                fflush(f);
                free(id);
            }
        }
        usleep(150000 + round * 70000);
        picostackd_stop(&d, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        CHECK(picostackd_restart(&d, NULL) == 0, "restart after kill -9");
    }
    CHECK(http_status(&d, "GET", "/identity/v3/auth/projects", victim, NULL, NULL) == 401,
          "revocation lost by kill -9");
    free(victim);
    /* every acknowledged project exists with its acknowledged name */
    FILE *f = fopen(acked, "r");
    char id[64], name[64];
    int n = 0;
    while (f && fscanf(f, "%63s %63s", id, name) == 2) {
        char path[256];
        snprintf(path, sizeof(path), "/identity/v3/projects/%s", id);
        struct resp r;
        http(&d, "GET", path, a, NULL, &r);
        CHECK(r.status == 200, "acknowledged project %s lost", id);
        const char *got =
            json_string_value(json_object_get(json_object_get(r.json, "project"), "name"));
        if (strcmp(name, "?") != 0)
            CHECK(got && !strcmp(got, name), "%s: %s != %s", id, got, name);
        resp_free(&r);
        n++;
    }
    if (f)
        fclose(f);
    CHECK(n > 5, "only %d mutations acknowledged", n);
    /* the name index agrees with the records, both ways */
    struct resp r;
    http(&d, "GET", "/identity/v3/projects", a, NULL, &r);
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(r.json, "projects"), i, p) {
        char path[256];
        snprintf(path, sizeof(path), "/identity/v3/projects?name=%s",
                 json_string_value(json_object_get(p, "name")));
        struct resp q;
        http(&d, "GET", path, a, NULL, &q);
        json_t *hit = json_array_get(json_object_get(q.json, "projects"), 0);
        CHECK(json_array_size(json_object_get(q.json, "projects")) == 1 &&
              json_equal(json_object_get(hit, "id"), json_object_get(p, "id")));
        resp_free(&q);
    }
    /* and creating every listed name again conflicts (index present) */
    json_array_foreach (json_object_get(r.json, "projects"), i, p) {
        char body[256];
        snprintf(body, sizeof(body), "{\"project\":{\"name\":\"%s\"}}",
                 json_string_value(json_object_get(p, "name")));
        CHECK(http_status(&d, "POST", "/identity/v3/projects", a, NULL, body) == 409);
    }
    fprintf(stderr, "kill9: %d acknowledged, %zu projects after 3 kills\n", n,
            json_array_size(json_object_get(r.json, "projects")));
    resp_free(&r);
    free(a);
    picostackd_cleanup(&d);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = {
        { "tokens", t_tokens },   { "expiry", t_expiry }, { "revocation", t_revocation },
        { "crud", t_crud },       { "rbac", t_rbac },     { "http", t_http },
        { "restart", t_restart }, { "kill9", t_kill9 },   { "race", t_race },
    };
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
