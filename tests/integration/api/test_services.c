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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
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

    /* a trailing '/': ignored by the fake, an empty segment for the strict
     * fake-second below its version root, fine on both roots */
    CHECK(http_status(&e.d, "GET", "/fake/v1/things/a/", tok, NULL, NULL) == 200);
    CHECK(http_status(&e.d, "GET", "/fake2/v1/things/a", tok, NULL, NULL) == 200);
    CHECK(http_status(&e.d, "GET", "/fake2/v1/things/a/", tok, NULL, NULL) == 404);
    CHECK(http_status(&e.d, "GET", "/fake2/v1/handles/", tok, NULL, NULL) == 404);
    CHECK(http_status(&e.d, "GET", "/fake2/v1/", tok, NULL, NULL) ==
          http_status(&e.d, "GET", "/fake2/v1", tok, NULL, NULL));

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

/* A listening socket on 127.0.0.1 and a free port, as a service opens one. */
static int own_socket(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void get_own(unsigned port, const char *path, const char *token, long status,
                    const char *body)
{
    struct picostackd d = { 0 };
    d.port = port;
    snprintf(d.base, sizeof(d.base), "http://127.0.0.1:%u", port);
    struct resp r;
    http(&d, "GET", path, token, NULL, &r);
    CHECK(r.status == status, "GET :%u%s: %ld", port, path, r.status);
    if (body)
        CHECK(r.body && !strcmp(r.body, body), "GET :%u%s: '%s', want '%s'", port, path,
              r.body ?: "", body);
    resp_free(&r);
}

/* Own listeners: attached before and after the start, routed to their
 * service only (whole path, no token read, no framework paths), told
 * apart by their ctx; the service is not on the API port; detach closes. */
static void t_own(const char *unused)
{
    (void)unused;
    struct env e;
    env_open(&e, true);
    const char *failed = NULL;
    CHECK(api_services_register(e.srv, &failed) == 0, "register: %s", failed ?: "");
    CHECK(api_server_add_service(e.srv, &fake_own_service) == 0);
    unsigned pa, pb, ida = 0, idb = 0, junk;
    int fa = own_socket(&pa), fb = own_socket(&pb);
    CHECK(api_server_attach(e.srv, &fake_own_service, fa, "A", &ida) == 0 && ida);
    CHECK(api_server_attach(e.srv, &fake_service, fb, "X", &junk) == -EINVAL);   /* unregistered */
    CHECK(api_server_attach(e.srv, api_services[0], fb, "X", &junk) == -EINVAL); /* not own */
    CHECK(api_server_attach(e.srv, &fake_own_service, -1, "X", &junk) == -EINVAL);
    env_serve(&e);
    CHECK(api_server_attach(e.srv, &fake_own_service, fb, "B", &idb) == 0 && idb && idb != ida);

    get_own(pa, "/", NULL, 200, "A  none");
    get_own(pa, "/openstack/latest/", NULL, 200, "A /openstack/latest none");
    get_own(pb, "/openstack", NULL, 200, "B /openstack none");
    char *tok = admin_login(&e.d);
    CHECK(tok != NULL);
    get_own(pb, "/x", tok, 200, "B /x none");                      /* a token is not even read */
    get_own(pa, "/identity/v3", NULL, 200, "A /identity/v3 none"); /* not Keystone */
    get_own(pa, "/healthcheck", NULL, 200, "A /healthcheck none");
    get_own(pa, "/a/b/c", NULL, 404, NULL);
    get_own(pa, "/deep/a/b/c/d/e/f", NULL, 200, "A /deep/a/b/c/d/e/f none"); /* {*} */
    get_own(pa, "/deep", NULL, 200, "A /deep none");                         /* "/{}" */
    struct picostackd own = { 0 };
    snprintf(own.base, sizeof(own.base), "http://127.0.0.1:%u", pa);
    CHECK(http_status(&own, "POST", "/x", NULL, "application/json", "{}") == 405);
    /* The API port does not serve it. */
    CHECK(http_status(&e.d, "GET", "/own", tok, NULL, NULL) == 404);
    CHECK(http_status(&e.d, "GET", "/own/x", tok, NULL, NULL) == 404);
    free(tok);

    api_server_detach(e.srv, ida);
    api_server_detach(e.srv, ida); /* twice: nothing */
    struct resp r;
    http(&own, "GET", "/", NULL, NULL, &r);
    CHECK(r.status == 0, "a detached listener still answers: %ld", r.status);
    resp_free(&r);
    get_own(pb, "/still", NULL, 200, "B /still none");
    env_close(&e); /* stops and frees B */
    struct picostackd gone = { 0 };
    snprintf(gone.base, sizeof(gone.base), "http://127.0.0.1:%u", pb);
    http(&gone, "GET", "/", NULL, NULL, &r);
    CHECK(r.status == 0);
    resp_free(&r);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "seam", t_seam },
                                            { "needs", t_needs },
                                            { "own_listeners", t_own } };
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
