/* The service seam (api/services.h, api/http/http.h), in process: a real
 * picostackd server object with the daemon's registered services (identity,
 * image) and a fake service added with one line, served by the real HTTP
 * server and reached with libcurl.  It proves that init runs in
 * registration order and fini in reverse, that the fake gets the server's
 * shared handles (store, block store, identity), that it is in the catalog
 * and that its errors go through the one errno map in its own shape. */
#include "api/services.h"
#include "core/blockstore/blockstore.h"
#include "core/store/store.h"
#include "fake_service/fake_service.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ADMIN_PW "seam-test-password"

struct env {
    char dir[256];
    struct store *store;
    struct identity *idn;
    struct blockstore *bs;
    struct api_server *srv;
    struct picostackd d; /* base, port and admin password, for the harness's client */
};

static void env_open(struct env *e, bool with_blockstore)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "%s", t_tmpdir("services"));
    char state[300];
    snprintf(state, sizeof(state), "%s/state", e->dir);
    CHECK(mkdir(state, 0700) == 0);
    if (with_blockstore)
        CHECK(blockstore_open(e->dir, BLOCKSTORE_CREATE, NULL, &e->bs) == 0);
    CHECK(store_open(state, &e->store) == 0);
    CHECK(identity_open(e->store, 0, &e->idn) == 0);
    bool created = false;
    CHECK(identity_bootstrap_with(e->idn, ADMIN_PW, &created) == 0 && created);
    struct api_config cfg = { .listen_addr = "127.0.0.1",
                              .threads = 2,
                              .workers = 1,
                              .log_level = 1,
                              .identity = e->idn,
                              .store = e->store,
                              .blockstore = e->bs,
                              .data_dir = e->dir };
    CHECK(api_server_new(&cfg, &e->srv) == 0);
}

static void env_serve(struct env *e)
{
    CHECK(api_server_start(e->srv) == 0);
    e->d.port = api_server_port(e->srv);
    snprintf(e->d.base, sizeof(e->d.base), "http://127.0.0.1:%u", e->d.port);
    snprintf(e->d.admin_password, sizeof(e->d.admin_password), "%s", ADMIN_PW);
}

static void env_close(struct env *e)
{
    api_server_stop(e->srv, 2000);
    api_server_free(e->srv);
    identity_close(e->idn);
    store_close(e->store);
    if (e->bs)
        blockstore_close(e->bs);
}

/* The catalog's types, space separated, and the fake's URL. */
static void catalog_types(struct env *e, const char *tok, char *types, size_t len, char *url,
                          size_t ulen)
{
    struct resp r;
    http(&e->d, "GET", "/identity/v3/auth/catalog", tok, NULL, &r);
    CHECK(r.status == 200, "catalog: %ld", r.status);
    types[0] = url[0] = '\0';
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(r.json, "catalog"), i, s) {
        size_t n = strlen(types);
        snprintf(types + n, len - n, "%s%s", n ? " " : "", jstr(s, "type") ?: "?");
        if (!strcmp(jstr(s, "type") ?: "", "fake-volume"))
            snprintf(url, ulen, "%s",
                     jstr(json_array_get(json_object_get(s, "endpoints"), 0), "url") ?: "");
    }
    resp_free(&r);
}

static void check_errno(struct env *e, const char *tok, int err, int status, const char *kind)
{
    char path[64];
    snprintf(path, sizeof(path), "/fake/v1/errno/%d", err);
    struct resp r;
    http(&e->d, "GET", path, tok, NULL, &r);
    CHECK(r.status == status && api_errno_status(-err) == status, "errno %d: %ld", err, r.status);
    CHECK(json_object_get(r.json, kind), "errno %d: %s in the Nova/Cinder shape: %s", err, kind,
          r.body ?: "");
    resp_free(&r);
}

static void t_seam(const char *unused)
{
    (void)unused;
    struct env e;
    fake_service_log_reset();
    env_open(&e, true);
    const char *failed = NULL;
    CHECK(api_services_register(e.srv, &failed) == 0, "register: %s", failed ?: "");
    CHECK(api_server_add_service(e.srv, &fake_service) == 0); /* the one registration line */
    CHECK(api_server_add_service(e.srv, &fake_second_service) == 0);
    CHECK_STR(fake_service_log(), "init fake init fake-second");
    CHECK(api_server_service_count(e.srv) == api_n_services + 2);
    env_serve(&e);

    char *tok = admin_login(&e.d);
    CHECK(tok != NULL);
    if (!tok)
        goto out;
    /* the shared handles */
    struct resp r;
    http(&e.d, "GET", "/fake/v1/handles", tok, NULL, &r);
    CHECK(r.status == 200 && json_is_true(json_object_get(r.json, "store")) &&
              json_is_true(json_object_get(r.json, "blockstore")) &&
              json_is_true(json_object_get(r.json, "identity")) &&
              !strcmp(jstr(r.json, "data_dir") ?: "", e.dir),
          "handles: %s", r.body ?: "");
    resp_free(&r);

    /* the catalog: exactly the registered services, the fake included */
    char types[256], url[256], want[256];
    catalog_types(&e, tok, types, sizeof(types), url, sizeof(url));
    CHECK_STR(types, "identity image block-storage volumev3 network compute fake-volume");
    snprintf(want, sizeof(want), "%s/fake/v1", e.d.base);
    CHECK_STR(url, want);
    http(&e.d, "GET", "/identity/v3/services?type=fake-volume", tok, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "services")) == 1);
    resp_free(&r);
    http(&e.d, "GET", "/identity/v3/endpoints?interface=public", tok, NULL, &r);
    CHECK(r.status == 200 && json_array_size(json_object_get(r.json, "endpoints")) == 7);
    resp_free(&r);

    /* the one errno map, in the service's own error shape */
    check_errno(&e, tok, ENOENT, 404, "itemNotFound");
    check_errno(&e, tok, EEXIST, 409, "conflictingRequest");
    check_errno(&e, tok, EBUSY, 409, "conflictingRequest");
    check_errno(&e, tok, EINVAL, 400, "badRequest");
    check_errno(&e, tok, EPERM, 403, "forbidden");
    check_errno(&e, tok, EACCES, 403, "forbidden");
    check_errno(&e, tok, EDQUOT, 413, "overLimit");
    check_errno(&e, tok, ENOSPC, 413, "overLimit");
    check_errno(&e, tok, EIO, 500, "computeFault");

    /* its own LMDB table through the transaction helpers */
    CHECK(http_status(&e.d, "GET", "/fake/v1/things/a", tok, NULL, NULL) == 404);
    CHECK(http_status(&e.d, "PUT", "/fake/v1/things/a", tok, NULL, NULL) == 201);
    http(&e.d, "GET", "/fake/v1/things/a", tok, NULL, &r);
    CHECK(r.status == 200 && !strcmp(jstr(r.json, "k") ?: "", "a"), "%s", r.body ?: "");
    resp_free(&r);

    /* authentication and the one admin check */
    CHECK(http_status(&e.d, "GET", "/fake/v1/handles", NULL, NULL, NULL) == 401);
    CHECK(http_status(&e.d, "GET", "/fake/v1/admin", tok, NULL, NULL) == 204);
    char *p = create_project(&e.d, tok, "seam");
    char *u = create_user(&e.d, tok, "seam-user", "seam-user-pw");
    char *role = find_role(&e.d, tok, "member");
    CHECK(p && u && role && grant(&e.d, tok, p, u, role) == 204);
    char *member = login(&e.d, "seam-user", "seam-user-pw", "seam");
    CHECK(member != NULL);
    http(&e.d, "GET", "/fake/v1/admin", member, NULL, &r);
    CHECK(r.status == 403 && json_object_get(r.json, "forbidden"), "%s", r.body ?: "");
    resp_free(&r);
    http(&e.d, "GET", "/fake/v1/nothing", member, NULL, &r);
    CHECK(r.status == 404 && json_object_get(r.json, "itemNotFound"), "%s", r.body ?: "");
    resp_free(&r);
    free(p);
    free(u);
    free(role);
    free(member);
    free(tok);
out:
    env_close(&e);
    CHECK_STR(fake_service_log(), "init fake init fake-second fini fake-second fini fake");
}

/* Needs and dependencies are checked before init runs. */
static void t_needs(const char *unused)
{
    (void)unused;
    struct env e;
    fake_service_log_reset();
    env_open(&e, false);
    /* depends on identity, not registered yet */
    CHECK(api_server_add_service(e.srv, &fake_second_service) == -ENXIO);
    CHECK(api_server_add_service(e.srv, &fake_service) == -ENXIO);
    const char *failed = NULL;
    CHECK(api_services_register(e.srv, &failed) == 0, "register: %s", failed ?: "");
    CHECK(api_services_register(e.srv, &failed) == -EBUSY && !strcmp(failed ?: "", "identity"),
          "a service registered twice is refused");
    /* identity is there now, but this server has no block store */
    CHECK(api_server_add_service(e.srv, &fake_service) == -ENXIO);
    CHECK_STR(fake_service_log(), "");
    env_serve(&e);
    /* no service added once serving */
    CHECK(api_server_add_service(e.srv, &fake_second_service) == -EBUSY);
    /* without a block store the image service still serves, data answers 503 */
    char *tok = admin_login(&e.d);
    CHECK(tok != NULL);
    struct resp r;
    http(&e.d, "POST", "/image/v2/images", tok, "{\"name\":\"x\"}", &r);
    CHECK(r.status == 201, "%s", r.body ?: "");
    char path[128];
    snprintf(path, sizeof(path), "/image/v2/images/%s/file", jstr(r.json, "id") ?: "x");
    resp_free(&r);
    CHECK(http_status(&e.d, "PUT", path, tok, "application/octet-stream", "abc") == 503);
    free(tok);
    env_close(&e);
    CHECK_STR(fake_service_log(), "");
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "seam", t_seam }, { "needs", t_needs } };
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
