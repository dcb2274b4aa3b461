/* Serial remote consoles (api/compute/consoles.c) against a real
 * picostackd. Until core/compute's servers land, the test writes the
 * server records itself into the daemon's LMDB store (table
 * "compute.servers", SERVERS.md's record) and runs the VMM itself with
 * its console socket where vmmctl puts it (DATA/vmm/<id>/console.sock).
 *   test_consoles api PICOSTACKD
 *     remote-consoles: 404 before 2.6, Nova's 400s (bad protocol/type,
 *     vnc, serial with another type, missing body), 404 unknown server and
 *     another project's, 409 a stopped server; 200 with a ws:// URL on the
 *     daemon's port; the WebSocket: 401 bad/absent token, 409 when the
 *     server has no console socket, 400 a plain GET with a good token
 *   test_consoles relay PICOSTACKD VMM ECHO_GUEST
 *     a real VMM (the echo guest) behind the URL: what the WebSocket sends
 *     comes back through the guest, a second WebSocket is closed (the VMM
 *     serves one console client), and the VM's end closes the WebSocket */
#include "tests/support/picostackd_harness.h"
#include "tests/support/subtest.h"
#include "tests/support/wsclient.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/store/store.h"

#define C "/compute/v2.1"

static struct picostackd D;
static char *ADM;
static const char *VMM, *GUEST;

/* Writes a server record (the fields consoles.c reads) into the store. */
static void put_server(const char *id, const char *project, const char *vm_state, int power)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/state", D.dir);
    struct store *s;
    unsigned table;
    struct store_txn *t;
    REQUIRE(store_open(dir, &s) == 0);
    REQUIRE(store_table(s, "compute.servers", &table) == 0);
    REQUIRE(store_begin(s, true, &t) == 0);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", id, "name", id, "project_id",
                            project, "vm_state", vm_state, "power_state", power);
    CHECK(store_put(t, table, id, rec) == 0);
    json_decref(rec);
    CHECK(store_commit(t) == 0);
    store_close(s);
}

static long console_req(const char *tok, const char *id, const char *body, const char *ver,
                        struct resp *out)
{
    char path[256], header[64];
    snprintf(path, sizeof(path), C "/servers/%s/remote-consoles", id);
    snprintf(header, sizeof(header), "OpenStack-API-Version: compute %s", ver);
    return http_call(&D, tok, "POST", path, body, header, out);
}

static const char *SERIAL = "{\"remote_console\":{\"protocol\":\"serial\",\"type\":\"serial\"}}";

/* A console URL for id (NULL on failure); its path+query into pq. */
static char *console_url(const char *tok, const char *id, char *pq, size_t len)
{
    struct resp r;
    long st = console_req(tok, id, SERIAL, "2.8", &r);
    CHECK(st == 200, "remote-consoles: %ld %s", st, r.body);
    const char *url = r.json ? jstr(json_object_get(r.json, "remote_console"), "url") : NULL;
    char *copy = url ? strdup(url) : NULL;
    if (copy) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "ws://127.0.0.1:%u/compute/serial?token=", D.port);
        CHECK(!strncmp(copy, prefix, strlen(prefix)), "url %s", copy);
        CHECK_EQ(strlen(copy), strlen(prefix) + 32);
        const char *p = strstr(copy, "/compute/");
        snprintf(pq, len, "%s", p ? p : "");
        json_t *rc = json_object_get(r.json, "remote_console");
        CHECK_STR(jstr(rc, "protocol"), "serial");
        CHECK_STR(jstr(rc, "type"), "serial");
    }
    resp_free(&r);
    return copy;
}

/* A member of a new project: its token; the project id in *project. */
static char *member_of(const char *name, char **project)
{
    char user[64];
    snprintf(user, sizeof(user), "%s-user", name);
    *project = create_project(&D, ADM, name);
    char *u = create_user(&D, ADM, user, "pw-member-1");
    char *role = find_role(&D, ADM, "member");
    CHECK(*project && u && role && grant(&D, ADM, *project, u, role) == 204);
    char *tok = login(&D, user, "pw-member-1", name);
    free(u);
    free(role);
    return tok;
}

static void start(const char *bin)
{
    REQUIRE(picostackd_start(&D, bin, NULL) == 0);
    ADM = admin_login(&D);
    REQUIRE(ADM != NULL);
}

static void t_api(const char *bin)
{
    start(bin);
    char *p1, *p2;
    char *tok = member_of("con-p1", &p1), *other = member_of("con-p2", &p2);
    const char *run = "11111111-2222-3333-4444-555555555555";
    const char *off = "11111111-2222-3333-4444-666666666666";
    put_server(run, p1, "active", 1);
    put_server(off, p1, "stopped", 4);

    CHECK_EQ(console_req(tok, run, SERIAL, "2.5", NULL), 404);
    static const char *const bad[] = {
        "{\"remote_console\":{\"protocol\":\"serial\",\"type\":\"novnc\"}}",
        "{\"remote_console\":{\"protocol\":\"vnc\",\"type\":\"novnc\"}}",
        "{\"remote_console\":{\"protocol\":\"telnet\",\"type\":\"serial\"}}",
        "{\"remote_console\":{\"protocol\":\"serial\"}}",
        "{\"remote_console\":{\"protocol\":\"mks\",\"type\":\"webmks\"}}", /* 2.8+ only */
        "{\"remote_console\":[]}",
        "{}",
        "{\"remote_console\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(console_req(tok, run, bad[i], "2.6", NULL) == 400, "%s", bad[i]);
    struct resp r;
    CHECK_EQ(console_req(tok, run, bad[1], "2.6", &r), 400);
    CHECK(r.body && strstr(r.body, "Unavailable console type vnc"), "%s", r.body);
    CHECK(r.body && strstr(r.body, "badRequest"), "%s", r.body);
    resp_free(&r);
    CHECK_EQ(console_req(tok, "no-such-server", SERIAL, "2.6", NULL), 404);
    CHECK_EQ(console_req(other, run, SERIAL, "2.6", NULL), 404);
    CHECK_EQ(console_req(tok, off, SERIAL, "2.6", &r), 409);
    CHECK(r.body && strstr(r.body, "is not ready"), "%s", r.body);
    resp_free(&r);
    CHECK_EQ(console_req(NULL, run, SERIAL, "2.6", NULL), 401);

    char pq[256];
    char *url = console_url(tok, run, pq, sizeof(pq));
    char *admin_url = console_url(ADM, run, pq, sizeof(pq)); /* admin: any project */
    REQUIRE(url && admin_url);
    CHECK(strcmp(url, admin_url) != 0, "two URLs with one token");

    /* The WebSocket side: bad tokens, no console socket, not an upgrade */
    int status;
    char head[2048];
    int fd = ws_open(D.port, "/compute/serial?token=00000000000000000000000000000000", NULL,
                     &status, head, sizeof(head));
    CHECK_EQ(status, 401);
    close(fd);
    fd = ws_open(D.port, "/compute/serial", NULL, &status, head, sizeof(head));
    CHECK_EQ(status, 401);
    close(fd);
    fd = ws_open(D.port, pq, NULL, &status, head, sizeof(head));
    CHECK_EQ(status, 409); /* active in the record, but no VMM console there */
    close(fd);
    char plain[300];
    snprintf(plain, sizeof(plain), "%s", pq);
    CHECK_EQ(http(&D, "GET", plain, NULL, NULL, &r), 0);
    CHECK_EQ(r.status, 409);
    resp_free(&r);
    free(url);
    free(admin_url);
    free(tok);
    free(other);
    free(p1);
    free(p2);
    picostackd_cleanup(&D);
}

/* Reads binary frames until needle is in what came (or timeout). Each
 * read waits for a whole frame (a partial one would lose the stream). */
static bool ws_wait_for(int fd, const char *needle, double timeout_s)
{
    char got[8192] = "";
    size_t len = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double end = ts.tv_sec + ts.tv_nsec / 1e9 + timeout_s;
    while (!strstr(got, needle)) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double left = end - (ts.tv_sec + ts.tv_nsec / 1e9);
        unsigned op;
        bool fin;
        uint8_t *d;
        size_t n;
        if (left <= 0 || ws_read_frame(fd, &op, &fin, &d, &n, left) < 0)
            break;
        if (op == 2 && len + n < sizeof(got)) {
            memcpy(got + len, d, n);
            len += n;
            got[len] = 0;
        }
        free(d);
    }
    if (!strstr(got, needle))
        fprintf(stderr, "test: the console never said \"%s\"; it said:\n%s\n", needle, got);
    return strstr(got, needle) != NULL;
}

static void t_relay(const char *bin)
{
    start(bin);
    char *p1;
    char *tok = member_of("con-relay", &p1);
    const char *id = "22222222-2222-3333-4444-555555555555";
    put_server(id, p1, "active", 1);
    char run[700], sock[800], log[800];
    snprintf(run, sizeof(run), "%s/vmm", D.dir);
    mkdir(run, 0700);
    snprintf(run, sizeof(run), "%s/vmm/%s", D.dir, id);
    REQUIRE(mkdir(run, 0700) == 0);
    snprintf(sock, sizeof(sock), "%s/console.sock", run);
    snprintf(log, sizeof(log), "%s/console.log", run);
    pid_t vmm = fork();
    REQUIRE(vmm >= 0);
    if (vmm == 0) {
        execl(VMM, VMM, "--kernel", GUEST, "--mem", "16", "--console-log", log, "--console-socket",
              sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 600 && access(sock, F_OK); i++)
        usleep(100000);

    char pq[256];
    char *url = console_url(tok, id, pq, sizeof(pq));
    REQUIRE(url);
    int status;
    char head[2048], v[64];
    int fd = ws_open(D.port, pq,
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary, base64\r\n",
                     &status, head, sizeof(head));
    REQUIRE(fd >= 0);
    CHECK_EQ(status, 101);
    ws_head_value(head, "Sec-WebSocket-Protocol", v, sizeof(v));
    CHECK_STR(v, "binary");

    /* A second console session: the VMM closes it, the WebSocket follows. */
    int fd2 = ws_open(D.port, pq, NULL, &status, head, sizeof(head));
    CHECK_EQ(status, 101);
    CHECK_EQ(ws_read_close(fd2, 30), 1001);
    close(fd2);

    const char *payload = "typed through a WebSocket";
    char expect[256];
    snprintf(expect, sizeof(expect), "%s\npicostack-guest: echo done count=%zu crc32=%08x", payload,
             strlen(payload), (unsigned)crc32(0, (const Bytef *)payload, (uInt)strlen(payload)));
    CHECK_EQ(ws_send_frame(fd, true, 2, true, payload, strlen(payload)), 0);
    CHECK_EQ(ws_send_frame(fd, true, 1, true, "#", 1), 0); /* text works too */
    CHECK(ws_wait_for(fd, expect, 120));
    /* the guest resets after the echo: the VMM ends, the WebSocket closes */
    CHECK_EQ(ws_read_close(fd, 60), 1001);
    close(fd);
    int ws = 0;
    CHECK(waitpid(vmm, &ws, 0) == vmm && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    free(url);
    free(tok);
    free(p1);
    picostackd_cleanup(&D);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(const char *);
    } tests[] = { { "api", t_api }, { "relay", t_relay } };
    if (argc < 3) {
        fprintf(stderr, "usage: test_consoles api|relay PICOSTACKD [VMM ECHO_GUEST]\n");
        return 2;
    }
    if (!strcmp(argv[1], "relay")) {
        if (argc != 5) {
            fprintf(stderr, "usage: test_consoles relay PICOSTACKD VMM ECHO_GUEST\n");
            return 2;
        }
        VMM = argv[3];
        GUEST = argv[4];
    }
    int i = subtest_find(argv[1], tests, 2, sizeof tests[0]);
    if (i < 0)
        return 2;
    struct subtest_run run;
    subtest_begin(&run, argv[1]);
    tests[i].fn(argv[2]);
    return subtest_end(&run);
}
