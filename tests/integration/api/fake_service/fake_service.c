/* The fake service (fake_service.h): a service folder's worth of code, in
 * one file, written only against api/http/http.h and core/ public headers. */
#include "fake_service.h"

#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_state {
    const char *name;
    struct store *store;
    struct blockstore *bs;
    struct identity *idn;
    char data_dir[256];
    unsigned things; /* its LMDB table */
};

static char event_log[512];

const char *fake_service_log(void)
{
    return event_log;
}

void fake_service_log_reset(void)
{
    event_log[0] = '\0';
}

static void note(const char *what, const char *name)
{
    size_t n = strlen(event_log);
    snprintf(event_log + n, sizeof(event_log) - n, "%s%s %s", n ? " " : "", what, name);
}

static int init_as(const char *name, struct api_server *srv, void **state)
{
    struct fake_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->name = name;
    st->store = api_server_store(srv);
    st->bs = api_server_blockstore(srv);
    st->idn = api_server_identity(srv);
    snprintf(st->data_dir, sizeof(st->data_dir), "%s", api_server_data_dir(srv));
    int rc = store_table(st->store, "fake.things", &st->things);
    if (rc < 0) {
        free(st);
        return rc;
    }
    note("init", name);
    *state = st;
    return 0;
}

static int fake_init(struct api_server *srv, void **state)
{
    return init_as("fake", srv, state);
}

static int second_init(struct api_server *srv, void **state)
{
    return init_as("fake-second", srv, state);
}

static void fake_fini(void *state)
{
    struct fake_state *st = state;
    note("fini", st->name);
    free(st);
}

static void handles(struct api_req *r)
{
    struct fake_state *st = api_req_state(r);
    struct api_server *srv = api_req_server(r);
    api_reply_json(
        r, 200,
        json_pack("{s:b, s:b, s:b, s:s}", "store", st->store && st->store == api_server_store(srv),
                  "blockstore", st->bs && st->bs == api_server_blockstore(srv), "identity",
                  st->idn && st->idn == api_server_identity(srv), "data_dir", st->data_dir));
}

static void errno_reply(struct api_req *r)
{
    int n = atoi(api_req_param(r, 0));
    api_reply_errno(r, -n, "fake error %d", n);
}

static void put_thing(struct api_req *r)
{
    struct fake_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, true);
    if (!t)
        return;
    json_t *rec = json_pack("{s:s}", "k", api_req_param(r, 0));
    int rc = store_put(t, st->things, api_req_param(r, 0), rec);
    json_decref(rec);
    if (rc < 0) {
        store_abort(t);
        return api_reply_errno(r, rc, "Cannot store: %s", strerror(-rc));
    }
    if (api_txn_commit(r, t))
        api_reply_empty(r, 201);
}

static void get_thing(struct api_req *r)
{
    struct fake_state *st = api_req_state(r);
    struct store_txn *t = api_txn_begin(r, false);
    if (!t)
        return;
    json_t *rec = NULL;
    int rc = store_get(t, st->things, api_req_param(r, 0), &rec);
    store_abort(t);
    if (rc < 0)
        return api_reply_errno(r, rc, "Thing %s could not be found.", api_req_param(r, 0));
    api_reply_json(r, 200, rec);
}

static void admin_only(struct api_req *r)
{
    if (api_req_require_admin(r))
        api_reply_empty(r, 204);
}

static const struct api_route routes[] = {
    { "GET", "/v1/handles", handles, 0 },     { "GET", "/v1/errno/{}", errno_reply, 0 },
    { "PUT", "/v1/things/{}", put_thing, 0 }, { "GET", "/v1/things/{}", get_thing, 0 },
    { "GET", "/v1/admin", admin_only, 0 },
};

static const struct api_catalog_entry catalog[] = {
    { "fake-volume", "fakeservice", "/fake/v1" },
};

static const char *const after_identity[] = { "identity", NULL };

const struct api_service fake_service = {
    .name = "fake",
    .prefix = "/fake",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_nova,
    .catalog = catalog,
    .n_catalog = API_COUNT(catalog),
    .needs = API_NEEDS_IDENTITY | API_NEEDS_STORE | API_NEEDS_BLOCKSTORE,
    .depends = after_identity,
    .init = fake_init,
    .fini = fake_fini,
};

static const char *const after_fake[] = { "fake", NULL };

const struct api_service fake_second_service = {
    .name = "fake-second",
    .prefix = "/fake2",
    .routes = routes,
    .n_routes = API_COUNT(routes),
    .error = api_error_nova,
    .depends = after_fake,
    .strict_slash = true, /* the same routes, Cinder's reading of a trailing '/' */
    .init = second_init,
    .fini = fake_fini,
};

static void own_echo(struct api_req *r)
{
    const char *ctx = api_req_listener_ctx(r);
    char text[512];
    snprintf(text, sizeof(text), "%s %s %s", ctx ? ctx : "(none)", api_req_path(r),
             api_req_auth(r) ? "token" : "none");
    api_reply_text(r, 200, "text/plain", text);
}

static const struct api_route own_routes[] = {
    { "GET", "", own_echo, API_PUBLIC },
    { "GET", "/{}", own_echo, API_PUBLIC },
    { "GET", "/{}/{}", own_echo, API_PUBLIC },
    { "GET", "/deep/{*}", own_echo, API_PUBLIC },
};

const struct api_service fake_own_service = {
    .name = "fake-own",
    .prefix = "/own",
    .routes = own_routes,
    .n_routes = API_COUNT(own_routes),
    .error = api_error_nova,
    .own_listeners = true,
};
