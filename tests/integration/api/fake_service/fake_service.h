/* A fake service for the test of the service seam (test_services.c): it
 * plugs into a real picostackd server object exactly as api/volume/ or
 * api/network/ will, and records what the seam gave it. */
#ifndef PICOSTACK_TEST_FAKE_SERVICE_H
#define PICOSTACK_TEST_FAKE_SERVICE_H

#include "api/http/http.h"

/* Prefix /fake, catalog type "fake-volume" at /fake/v1, Nova/Cinder error
 * shape; needs identity, store and block store; depends on "identity".
 * Routes (all under /fake/v1):
 *   GET  /handles        {store, blockstore, identity, data_dir}: true when
 *                        init got the server's shared handles
 *   GET  /errno/{n}      replies api_reply_errno(-n) (the common map)
 *   PUT  /things/{k}     stores {"k": k} in its own LMDB table (txn helper)
 *   GET  /things/{k}     reads it back (404 through the map when absent)
 *   GET  /admin          api_req_require_admin */
extern const struct api_service fake_service;
/* A second one that depends on "fake", to show the order of init/fini. */
extern const struct api_service fake_second_service;

/* A service served only on its own listeners (api_server_attach): GET on
 * "", "/{}", "/{}/{}" and "/deep/{*}" answers text "CTX PATH AUTH": the listener's
 * ctx (a string), the path it saw, and "token" when api_req_auth is set
 * (never, on own listeners) or "none". Prefix "/own". */
extern const struct api_service fake_own_service;

/* What happened, in order: "init fake", "init fake-second",
 * "fini fake-second", "fini fake" ... (one string, space separated). */
const char *fake_service_log(void);
void fake_service_log_reset(void);

#endif
