/* picostackd against hostile and careless clients (issue 9), over loopback:
 * a slow-client flood while a normal client is served, paths that forge log
 * lines or hide a NUL, an unsupported Transfer-Encoding, /metrics access,
 * and failed logins (rate limit per address, Keystone's lockout).  The
 * attackers bind to other loopback addresses (127.0.0.2, .3) so that the
 * per-address caps tell them from the normal client on 127.0.0.1. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A TCP connection from src (a loopback address) to the daemon; -1 if not
 * made. */
static int dial(struct picostackd *d, const char *src, bool nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET };
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(d->port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends text and reads the reply head (up to 2 s); returns the status or
 * -1 when no reply came. */
static int raw_request(struct picostackd *d, const char *text)
{
    int fd = dial(d, "127.0.0.1", false);
    if (fd < 0)
        return -1;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return -1;
    }
    char buf[512] = "";
    struct pollfd p = { fd, POLLIN, 0 };
    int status = -1;
    if (poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof buf - 1) > 12)
        sscanf(buf, "HTTP/1.%*d %d", &status);
    close(fd);
    return status;
}

/* Is fd closed by the peer (EOF or reset) within ms? */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char c;
    return poll(&p, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

/* ---- slow clients ---- */

static void t_flood(const char *bin)
{
    struct picostackd d;
    /* The defaults: 10 s for a request head, 128 connections an address;
     * the daemon keeps the usual descriptor limit (1024), the flood raises
     * its own. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit usual = { rl.rlim_cur < 1024 ? rl.rlim_cur : 1024, rl.rlim_max };
    setrlimit(RLIMIT_NOFILE, &usual);
    CHECK(picostackd_start(&d, bin, NULL) == 0);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    char *tok = admin_login(&d);
    CHECK(tok != NULL);
    /* ~1000 connections that send a request line and a header, never the end. */
    enum { FLOOD = 1000 };
    static int fds[FLOOD];
    int opened = 0;
    for (int i = 0; i < FLOOD; i++) {
        fds[i] = dial(&d, "127.0.0.2", true);
        if (fds[i] >= 0)
            opened++;
    }
    usleep(100000);
    const char *head = "GET /identity/v3 HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0 && write(fds[i], head, strlen(head)) < 0)
            continue; /* refused already: fine */
    /* A trickler: one header line every 300 ms, never the end. */
    int trick = dial(&d, "127.0.0.3", false);
    CHECK(trick >= 0);
    CHECK(write(trick, head, strlen(head)) > 0);
    double t0 = now_s(), worst = 0;
    bool trickler_dropped = false;
    int served = 0;
    while (now_s() - t0 < 12) {
        double a = now_s();
        long st = http_status(&d, "GET", "/identity/v3/projects", tok, NULL, NULL);
        double took = now_s() - a;
        if (took > worst)
            worst = took;
        CHECK(st == 200, "a normal request during the flood: %ld after %.2fs", st, took);
        served++;
        if (!trickler_dropped) {
            if (write(trick, "X-Slow: 1\r\n", 11) < 0 || closed_within(trick, 300))
                trickler_dropped = now_s() - t0 < 11.5;
        } else {
            usleep(200000);
        }
    }
    fprintf(stderr, "flood: %d connections opened, %d normal requests, worst %.3f s\n", opened,
            served, worst);
    CHECK(worst < 1.0, "a normal request took %.2f s during the flood", worst);
    CHECK(trickler_dropped, "the trickler was not dropped by the head deadline");
    struct resp m;
    CHECK(http_req(&d, "GET", "/metrics", NULL, NULL, NULL, &m) == 0 && m.status == 200);
    const char *dropped =
        m.body ? strstr(m.body, "\npicostack_http_slow_clients_dropped_total ") : NULL;
    CHECK(dropped && atof(dropped + 43) >= 1, "the drops are counted");
    resp_free(&m);
    /* Every flooding connection is gone by now (refused, or past its deadline). */
    int alive = 0;
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0) {
            if (!closed_within(fds[i], 0))
                alive++;
            close(fds[i]);
        }
    CHECK(alive == 0, "%d flooding connections still open", alive);
    close(trick);
    free(tok);
    picostackd_cleanup(&d);
}

/* ---- paths, the log, transfer encodings ---- */

static bool log_has_line_starting(struct picostackd *d, const char *prefix)
{
    FILE *f = fopen(d->log, "r");
    char line[1024];
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, prefix, strlen(prefix)))
            found = true;
    if (f)
        fclose(f);
    return found;
}

static void t_paths(const char *bin)
{
    struct picostackd d;
    CHECK(picostackd_start(&d, bin, NULL) == 0);
    /* An encoded NUL is refused, not cut (today /metrics%00x is /metrics). */
    CHECK(raw_request(&d, "GET /metrics%00x HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(raw_request(&d, "GET /healthcheck%00 HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(raw_request(&d, "GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n") == 200);
    /* An encoded newline cannot start a line of the log. */
    CHECK(raw_request(&d, "GET /x%0AFORGED%20200%20/admin HTTP/1.1\r\nHost: x\r\n\r\n") == 404);
    usleep(200000);
    CHECK(!log_has_line_starting(&d, "FORGED"), "a forged log line");
    CHECK(log_has_line_starting(&d, "GET /x%0AFORGED%20200%20/admin 404"),
          "the path is logged as received");
    /* A transfer encoding MHD cannot read is answered, not left hanging. */
    CHECK(raw_request(&d, "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: x\r\n"
                          "Transfer-Encoding: gzip\r\nContent-Type: application/json\r\n\r\n"
                          "abc") == 501);
    picostackd_cleanup(&d);
}

/* ---- /metrics ---- */

static void t_metrics(const char *bin)
{
    struct picostackd d;
    /* Default: loopback clients may read it. */
    CHECK(picostackd_start(&d, bin, NULL) == 0);
    CHECK(http_status(&d, "GET", "/metrics", NULL, NULL, NULL) == 200);
    picostackd_cleanup(&d);
    const char *args[] = { "--metrics", "admin", NULL };
    CHECK(picostackd_start(&d, bin, args) == 0);
    CHECK(http_status(&d, "GET", "/metrics", NULL, NULL, NULL) == 401);
    char *a = admin_login(&d);
    char *p = create_project(&d, a, "m");
    char *u = create_user(&d, a, "mon", "monitor-pw");
    char *member = find_role(&d, a, "member");
    CHECK(grant(&d, a, p, u, member) == 204);
    char *m = login(&d, "mon", "monitor-pw", "m");
    CHECK(m != NULL);
    CHECK(http_status(&d, "GET", "/metrics", m, NULL, NULL) == 403);
    CHECK(http_status(&d, "GET", "/metrics", "forged", NULL, NULL) == 401);
    CHECK(http_status(&d, "GET", "/metrics", a, NULL, NULL) == 200);
    free(a), free(p), free(u), free(member), free(m);
    picostackd_cleanup(&d);
}

/* ---- failed logins ---- */

static long try_login(struct picostackd *d, const char *user, const char *pw)
{
    char body[1200];
    snprintf(body, sizeof body,
             "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
             "{\"name\":\"%s\",\"domain\":{\"id\":\"default\"},\"password\":\"%s\"}}}}}",
             user, pw);
    return http_status(d, "POST", "/identity/v3/auth/tokens", NULL, NULL, body);
}

static void t_logins(const char *bin)
{
    struct picostackd d;
    /* Per address: after 5 failures in a minute, 429 (even a right password). */
    const char *args[] = { "--login-failures-per-min", "5", NULL };
    CHECK(picostackd_start(&d, bin, args) == 0);
    for (int i = 0; i < 5; i++)
        CHECK(try_login(&d, "admin", "wrong") == 401);
    CHECK(try_login(&d, "admin", "wrong") == 429);
    CHECK(try_login(&d, "admin", d.admin_password) == 429);
    picostackd_cleanup(&d);
    /* Keystone's lockout: 3 failures lock the user for 2 s. */
    const char *lock[] = { "--lockout-failure-attempts", "3", "--lockout-duration", "2", NULL };
    CHECK(picostackd_start(&d, bin, lock) == 0);
    char *a = admin_login(&d);
    char *u = create_user(&d, a, "bob", "bob-password");
    for (int i = 0; i < 3; i++)
        CHECK(try_login(&d, "bob", "wrong") == 401);
    CHECK(try_login(&d, "bob", "bob-password") == 401, "locked: the right password is refused");
    CHECK(try_login(&d, "admin", d.admin_password) == 201, "other users are not locked");
    sleep(3);
    CHECK(try_login(&d, "bob", "bob-password") == 201, "the lockout is over");
    free(a), free(u);
    picostackd_cleanup(&d);
    /* Off by default: many failures, then the right password works. */
    CHECK(picostackd_start(&d, bin, NULL) == 0);
    for (int i = 0; i < 6; i++)
        CHECK(try_login(&d, "admin", "wrong") == 401);
    CHECK(try_login(&d, "admin", d.admin_password) == 201);
    picostackd_cleanup(&d);
}

/* ---- validation: empty names on PATCH, built-in roles, lenient booleans ---- */

static void t_validation(const char *bin)
{
    struct picostackd d;
    CHECK(picostackd_start(&d, bin, NULL) == 0);
    char *a = admin_login(&d);
    char *p = create_project(&d, a, "v");
    char *u = create_user(&d, a, "vu", "vu-password");
    char *member = find_role(&d, a, "member");
    char path[200];
    snprintf(path, sizeof path, "/identity/v3/projects/%s", p);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"project\":{\"name\":\"\"}}") == 400);
    snprintf(path, sizeof path, "/identity/v3/users/%s", u);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"user\":{\"name\":\"\"}}") == 400);
    snprintf(path, sizeof path, "/identity/v3/roles/%s", member);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"role\":{\"name\":\"\"}}") == 400);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"role\":{\"name\":\"boss\"}}") == 403);
    CHECK(http_status(&d, "PATCH", path, a, NULL, "{\"role\":{\"description\":\"x\"}}") == 200);
    CHECK(http_status(&d, "GET", "/image/v2/images?os_hidden=True", a, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", "/image/v2/images?os_hidden=off", a, NULL, NULL) == 200);
    CHECK(http_status(&d, "GET", "/image/v2/images?os_hidden=maybe", a, NULL, NULL) == 400);
    /* Bad list filters answer 400; good ones filter. */
    static const char *const bad[] = {
        "/image/v2/images?size_min=-1",
        "/image/v2/images?size_max=abc",
        "/image/v2/images?protected=perhaps",
        "/image/v2/images?created_at=2016-01-01",
        "/image/v2/images?updated_at=gte:yesterday",
        "/identity/v3/projects?enabled=maybe",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(http_status(&d, "GET", bad[i], a, NULL, NULL) == 400, "%s", bad[i]);
    struct resp r;
    CHECK(http(&d, "POST", "/image/v2/images", a, "{\"name\":\"f1\",\"protected\":true}", &r) ==
              0 &&
          r.status == 201);
    resp_free(&r);
    static const struct {
        const char *path;
        size_t n;
    } good[] = {
        { "/image/v2/images?protected=YES", 1 },
        { "/image/v2/images?protected=0", 0 },
        { "/image/v2/images?created_at=gte:2016-01-01T00:00:00Z", 1 },
        { "/image/v2/images?created_at=lt:2016-01-01T00:00:00", 0 },
        { "/image/v2/images?size_min=0", 0 }, /* no data: no size */
        { "/identity/v3/projects?enabled=True&name=v", 1 },
        { "/identity/v3/projects?enabled=off", 0 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK(http(&d, "GET", good[i].path, a, NULL, &r) == 0 && r.status == 200, "%s",
              good[i].path);
        json_t *list =
            json_object_get(r.json, strstr(good[i].path, "image") ? "images" : "projects");
        CHECK(json_array_size(list) == good[i].n, "%s: %zu", good[i].path, json_array_size(list));
        resp_free(&r);
    }

    free(a), free(p), free(u), free(member);
    picostackd_cleanup(&d);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct subtest tests[] = {
        { "flood", t_flood },   { "paths", t_paths },           { "metrics", t_metrics },
        { "logins", t_logins }, { "validation", t_validation },
    };
    return run_subtests(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
