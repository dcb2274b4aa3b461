-- wrk: GET /identity/v3/auth/tokens (validate), token from the environment.
local tok = os.getenv("BENCH_TOKEN")
wrk.method = "GET"
wrk.headers["X-Auth-Token"] = tok
wrk.headers["X-Subject-Token"] = tok
