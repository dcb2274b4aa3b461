/* core/config: every key (a good and a bad value), the file format (comments,
 * quotes, CRLF, repeats), bad lines named by file and line, unknown keys,
 * the environment and the order of overrides, the checks between keys, and
 * the shipped packaging/picostackd.conf (argv[1]) loading as the defaults. */
#include "core/config/config.h"
#include "tests/support/check.h"
#include "tests/support/files.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static char err[CONFIG_ERR_LEN];

static int load_bytes(struct config *c, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/picostackd.conf", dir);
    if (t_write_file(path, text, len, 0644) < 0)
        return -EIO;
    err[0] = '\0';
    return config_load_file(c, path, err, sizeof(err));
}

static int load_text(struct config *c, const char *text)
{
    return load_bytes(c, text, strlen(text));
}

static int set(struct config *c, const char *k, const char *v)
{
    err[0] = '\0';
    return config_set(c, k, v, err, sizeof(err));
}

static void test_defaults(void)
{
    struct config c;
    config_defaults(&c);
    CHECK_EQ(c.n_listen, 2);
    CHECK_STR(c.listen[0].addr, "127.0.0.1");
    CHECK_EQ(c.listen[0].port, 8080);
    CHECK(!config_listen_uses_tls(&c, &c.listen[0]));
    CHECK_STR(c.listen[1].addr, "0.0.0.0");
    CHECK_EQ(c.listen[1].port, 8443);
    CHECK(config_listen_uses_tls(&c, &c.listen[1]));
    CHECK_EQ(c.token_ttl, 3600);
    CHECK(c.cpu_allocation_ratio == 16.0);
    CHECK(c.ram_allocation_ratio == 1.5);
    CHECK_EQ(c.log_level, CONFIG_LOG_INFO);
    CHECK_EQ(c.tls, CONFIG_TLS_AUTO);
    CHECK(c.data_dir[0] == '/');
    CHECK_STR(c.backup_dir, "");
    CHECK_STR(c.uplink_interface, "");
    CHECK(!c.plain_http_on_lan);
    CHECK((config_check(&c, err, sizeof(err))) == (0), "%s", err);
}

/* Each key: a good value takes effect, bad ones are refused naming the key
 * and leave the old value. */
static void test_each_key(void)
{
    struct config c, before;
    config_defaults(&c);
    CHECK((set(&c, "listen", "0.0.0.0:8443, [::1]:8080 ,127.0.0.1:0")) == (0), "%s", err);
    CHECK_EQ(c.n_listen, 3);
    CHECK_STR(c.listen[0].addr, "0.0.0.0");
    CHECK_EQ(c.listen[0].port, 8443);
    CHECK(c.listen[1].ipv6 && !strcmp(c.listen[1].addr, "::1"));
    CHECK_EQ(c.listen[2].port, 0);
    before = c;
    const char *bad_listen[] = { "",
                                 "127.0.0.1",
                                 "127.0.0.1:",
                                 "localhost:80",
                                 "1.2.3.4:99999",
                                 "::1:80",
                                 "[::1:80",
                                 "[1.2.3.4]:80",
                                 "1.2.3.4:80,",
                                 "1.2.3.4:-1",
                                 "1.1.1.1:1,1.1.1.2:1,1.1.1.3:1,1.1.1.4:1,1.1.1.5:1",
                                 "1.2.3.4:80, 1.2.3.4:80" };
    for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
        CHECK((set(&c, "listen", bad_listen[i])) == (-EINVAL), "listen '%s'", bad_listen[i]);
        CHECK(!strncmp(err, "listen: ", 8), "%s", err);
    }
    CHECK(!memcmp(&c, &before, sizeof(c)), "a refused listen changed the config");

    CHECK_EQ(set(&c, "data_dir", "/srv/picostack"), 0);
    CHECK_STR(c.data_dir, "/srv/picostack");
    CHECK_EQ(set(&c, "data_dir", "relative/dir"), -EINVAL);
    CHECK_CONTAINS(err, "not an absolute path");
    CHECK_EQ(set(&c, "data_dir", ""), -EINVAL);
    CHECK_STR(c.data_dir, "/srv/picostack");

    CHECK_EQ(set(&c, "backup_dir", "/srv/backups"), 0);
    CHECK_STR(c.backup_dir, "/srv/backups");
    CHECK_EQ(set(&c, "backup_dir", ""), 0);
    CHECK_STR(c.backup_dir, "");
    CHECK_EQ(set(&c, "backup_dir", "backups"), -EINVAL);

    CHECK_EQ(set(&c, "token_ttl", "7200"), 0);
    CHECK_EQ(c.token_ttl, 7200);
    const char *bad_ttl[] = { "", "0", "604801", "-5", "1h", "3600 ", "99999999999999999999" };
    for (size_t i = 0; i < sizeof(bad_ttl) / sizeof(bad_ttl[0]); i++)
        CHECK((set(&c, "token_ttl", bad_ttl[i])) == (-EINVAL), "token_ttl '%s'", bad_ttl[i]);
    CHECK_EQ(c.token_ttl, 7200);

    CHECK_EQ(set(&c, "cpu_allocation_ratio", "4"), 0);
    CHECK(c.cpu_allocation_ratio == 4.0);
    CHECK_EQ(set(&c, "ram_allocation_ratio", "1.0"), 0);
    CHECK(c.ram_allocation_ratio == 1.0);
    const char *bad_ratio[] = { "", "0", "-1", "nan", "inf", "1.5x", "1001" };
    for (size_t i = 0; i < sizeof(bad_ratio) / sizeof(bad_ratio[0]); i++) {
        CHECK((set(&c, "cpu_allocation_ratio", bad_ratio[i])) == (-EINVAL), "'%s'", bad_ratio[i]);
        CHECK((set(&c, "ram_allocation_ratio", bad_ratio[i])) == (-EINVAL), "'%s'", bad_ratio[i]);
    }
    CHECK(c.cpu_allocation_ratio == 4.0 && c.ram_allocation_ratio == 1.0);

    CHECK_EQ(set(&c, "uplink_interface", "enp1s0"), 0);
    CHECK_STR(c.uplink_interface, "enp1s0");
    CHECK_EQ(set(&c, "uplink_interface", "a-name-far-too-long"), -EINVAL);
    CHECK_EQ(set(&c, "uplink_interface", "eth0/1"), -EINVAL);
    CHECK_EQ(set(&c, "uplink_interface", "eth 0"), -EINVAL);
    CHECK_EQ(set(&c, "uplink_interface", ".."), -EINVAL);
    CHECK_STR(c.uplink_interface, "enp1s0");
    CHECK_EQ(set(&c, "uplink_interface", ""), 0);
    CHECK_STR(c.uplink_interface, "");

    CHECK_EQ(set(&c, "log_level", "debug"), 0);
    CHECK_EQ(c.log_level, CONFIG_LOG_DEBUG);
    CHECK_EQ(set(&c, "log_level", "error"), 0);
    CHECK_EQ(c.log_level, CONFIG_LOG_ERROR);
    CHECK_EQ(set(&c, "log_level", "verbose"), -EINVAL);
    CHECK_CONTAINS(err, "error, info or debug");

    CHECK_EQ(set(&c, "tls", "on"), 0);
    CHECK_EQ(c.tls, CONFIG_TLS_ON);
    CHECK_EQ(set(&c, "tls", "off"), 0);
    CHECK_EQ(c.tls, CONFIG_TLS_OFF);
    CHECK_EQ(set(&c, "tls", "yes"), -EINVAL);

    CHECK_EQ(set(&c, "tls_cert", "/etc/picostack/tls/cert.pem"), 0);
    CHECK_EQ(set(&c, "tls_key", "/etc/picostack/tls/key.pem"), 0);
    CHECK_STR(c.tls_key, "/etc/picostack/tls/key.pem");
    CHECK_EQ(set(&c, "tls_key", "key.pem"), -EINVAL);

    CHECK_EQ(set(&c, "plain_http_on_lan", "yes"), 0);
    CHECK(c.plain_http_on_lan);
    CHECK_EQ(set(&c, "plain_http_on_lan", "maybe"), -EINVAL);

    CHECK_EQ(set(&c, "threads", "8"), 0);
    CHECK_EQ(c.threads, 8);
    CHECK_EQ(set(&c, "threads", "100000"), -EINVAL);

    CHECK_EQ(c.deleted_servers_kept, 1000);
    CHECK_EQ(set(&c, "deleted_servers_kept", "5"), 0);
    CHECK_EQ(c.deleted_servers_kept, 5);
    CHECK_EQ(set(&c, "deleted_servers_kept", "0"), -EINVAL);
    CHECK_EQ(set(&c, "deleted_servers_kept", "-1"), -EINVAL);
    CHECK_EQ(c.zero_ahead_mib, 256);
    CHECK_EQ(set(&c, "zero_ahead_mib", "0"), 0);
    CHECK_EQ(c.zero_ahead_mib, 0);
    CHECK_EQ(set(&c, "zero_ahead_mib", "1048577"), -EINVAL);
    CHECK_EQ(set(&c, "zero_ahead_mib", "lots"), -EINVAL);

    CHECK_EQ(set(&c, "listen_address", "1.2.3.4:5"), -EINVAL);
    CHECK_CONTAINS(err, "unknown key 'listen_address'");

    /* the key list is the table config_set knows */
    int n = 0;
    for (const char *const *k = config_keys; *k; k++, n++)
        CHECK(set(&c, *k, "\x01") == -EINVAL && !strstr(err, "unknown key"), "key %s", *k);
    CHECK_EQ(n, 15);
}

static void test_file_format(void)
{
    struct config c;
    config_defaults(&c);
    int rc = load_text(&c, "# picostackd.conf\n"
                           "\n"
                           "   listen=127.0.0.1:9000   \n"
                           "token_ttl = 120 # two minutes\r\n"
                           "\t# indented comment\n"
                           "data_dir = \"/srv/pico # stack\"  # quoted keeps the #\n"
                           "uplink_interface = eth#0\n"
                           "log_level = debug\n"
                           "log_level = error\n"
                           "backup_dir =\n");
    CHECK((rc) == (0), "%s", err);
    CHECK_EQ(c.listen[0].port, 9000);
    CHECK_EQ(c.token_ttl, 120);
    CHECK_STR(c.data_dir, "/srv/pico # stack");
    CHECK_STR(c.uplink_interface, "eth#0");
    CHECK_EQ(c.log_level, CONFIG_LOG_ERROR); /* the last one wins */
    CHECK_STR(c.backup_dir, "");

    config_defaults(&c);
    CHECK((load_text(&c, "")) == (0), "an empty file is the defaults");
    CHECK((load_text(&c, "token_ttl = 600")) == (0), "no newline at the end");
    CHECK_EQ(c.token_ttl, 600);
}

/* A bad line: -EINVAL, the message names the file, the line and the
 * problem; nothing after it is read. */
static void expect_bad(const char *text, unsigned line, const char *what)
{
    struct config c;
    config_defaults(&c);
    char where[600];
    snprintf(where, sizeof(where), "%s/picostackd.conf:%u: ", dir, line);
    CHECK((load_text(&c, text)) == (-EINVAL), "%s", text);
    CHECK(!strncmp(err, where, strlen(where)), "'%s' does not start with '%s'", err, where);
    CHECK_CONTAINS(err, what);
}

static void test_bad_lines(void)
{
    expect_bad("token_ttl = 60\nthis line has no equals sign\n", 2, "not 'key = value'");
    expect_bad("# ok\n= 5\n", 2, "is not a key name");
    expect_bad("Token_TTL = 5\n", 1, "is not a key name");
    expect_bad("\n\n\nlisten_adress = 127.0.0.1:80\n", 4, "unknown key 'listen_adress'");
    expect_bad("token_ttl = soon\n", 1, "token_ttl: 'soon' is not a whole number");
    expect_bad("data_dir = \"/srv/x\n", 1, "closing quote is missing");
    expect_bad("data_dir = \"/srv/x\" trailing\n", 1, "text after the quoted value");
    expect_bad("listen = 10.0.0.1\n", 1, "listen: '10.0.0.1' has no :PORT");
    expect_bad("tls = maybe\n", 1, "tls: 'maybe' is not auto, on or off");
    char *big = malloc(6000);
    memset(big, 'x', 5999);
    big[5999] = '\0';
    memcpy(big, "data_dir = /", 12);
    expect_bad(big, 1, "line longer than");
    free(big);

    struct config c;
    config_defaults(&c);
    static const char nul[] = "log_level = info\ntoken_ttl = 1\0 = 2\n";
    CHECK(load_bytes(&c, nul, sizeof(nul) - 1) == -EINVAL);
    CHECK_CONTAINS(err, "picostackd.conf:2: a NUL byte");

    /* a line after a bad one is not applied */
    CHECK_EQ(load_text(&c, "token_ttl = 61\nbad\ntoken_ttl = 62\n"), -EINVAL);
    CHECK_EQ(c.token_ttl, 61);

    char missing[512];
    snprintf(missing, sizeof(missing), "%s/no-such.conf", dir);
    CHECK_EQ(config_load_file(&c, missing, err, sizeof(err)), -ENOENT);
    CHECK_CONTAINS(err, "no-such.conf");
}

/* The file, then the environment, then the command line (config_set). */
static void test_overrides(void)
{
    struct config c;
    config_defaults(&c);
    CHECK_EQ(load_text(&c, "token_ttl = 100\nlog_level = debug\nlisten = 127.0.0.1:1000\n"), 0);
    setenv("PICOSTACK_TOKEN_TTL", "200", 1);
    setenv("PICOSTACK_LISTEN", "127.0.0.2:2000", 1);
    setenv("PICOSTACK_DATA", "/from/env", 1);
    setenv("PICOSTACK_LOG_LEVEL", "", 1); /* empty: not set */
    CHECK((config_load_env(&c, err, sizeof(err))) == (0), "%s", err);
    CHECK_EQ(c.token_ttl, 200);
    CHECK_EQ(c.log_level, CONFIG_LOG_DEBUG);
    CHECK_STR(c.listen[0].addr, "127.0.0.2");
    CHECK_STR(c.data_dir, "/from/env");
    setenv("PICOSTACK_DATA_DIR", "/from/env/new-name", 1);
    CHECK((config_load_env(&c, err, sizeof(err))) == (0), "%s", err);
    CHECK_STR(c.data_dir, "/from/env/new-name");
    CHECK_EQ(set(&c, "token_ttl", "300"), 0);
    CHECK_EQ(c.token_ttl, 300);

    setenv("PICOSTACK_TOKEN_TTL", "forever", 1);
    CHECK_EQ(config_load_env(&c, err, sizeof(err)), -EINVAL);
    CHECK_CONTAINS(err, "PICOSTACK_TOKEN_TTL: token_ttl: 'forever'");
    unsetenv("PICOSTACK_TOKEN_TTL");
    unsetenv("PICOSTACK_LISTEN");
    unsetenv("PICOSTACK_DATA");
    unsetenv("PICOSTACK_DATA_DIR");
    unsetenv("PICOSTACK_LOG_LEVEL");
}

static void test_checks(void)
{
    struct config c;
    config_defaults(&c);
    CHECK_EQ(set(&c, "tls_cert", "/x/cert.pem"), 0);
    CHECK_EQ(config_check(&c, err, sizeof(err)), -EINVAL);
    CHECK_CONTAINS(err, "go together");
    CHECK_EQ(set(&c, "tls_key", "/x/key.pem"), 0);
    CHECK((config_check(&c, err, sizeof(err))) == (0), "%s", err);

    config_defaults(&c);
    CHECK_EQ(set(&c, "listen", "127.0.0.1:80, 0.0.0.0:443, [::1]:80, [::]:443"), 0);
    CHECK(!config_listen_uses_tls(&c, &c.listen[0]));
    CHECK(config_listen_uses_tls(&c, &c.listen[1]));
    CHECK(!config_listen_uses_tls(&c, &c.listen[2]));
    CHECK(config_listen_uses_tls(&c, &c.listen[3]));
    CHECK((config_check(&c, err, sizeof(err))) == (0), "%s", err);
    CHECK_EQ(set(&c, "tls", "on"), 0);
    CHECK(config_listen_uses_tls(&c, &c.listen[0]));
    CHECK_EQ(set(&c, "tls", "off"), 0);
    CHECK((config_check(&c, err, sizeof(err))) == (-EINVAL), "plain HTTP on 0.0.0.0");
    CHECK_CONTAINS(err, "0.0.0.0:443 would serve plain HTTP");
    CHECK_EQ(set(&c, "plain_http_on_lan", "yes"), 0);
    CHECK((config_check(&c, err, sizeof(err))) == (0), "%s", err);
    CHECK_EQ(set(&c, "listen", "127.9.9.9:80"), 0);
    CHECK(config_listen_is_loopback(&c.listen[0]));
}

/* The shipped file: every key is there, commented out, with its default.
 * As shipped it loads as the defaults; with the keys uncommented it loads
 * too, and still gives the defaults (data_dir: root's). */
static void test_shipped(const char *path)
{
    struct config c, d;
    config_defaults(&c);
    config_defaults(&d);
    CHECK((config_load_file(&c, path, err, sizeof(err))) == (0), "%s", err);
    CHECK(!memcmp(&c, &d, sizeof(c)), "%s differs from the built-in defaults", path);

    char *text, *out, *o;
    size_t len;
    if (t_read_file(path, &text, &len) < 0)
        return;
    o = out = calloc(1, len + 1);
    unsigned uncommented = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        for (const char *const *k = config_keys; *k; k++) {
            size_t kl = strlen(*k);
            if (!strncmp(line, "# ", 2) && !strncmp(line + 2, *k, kl) &&
                line[2 + kl + strspn(line + 2 + kl, " ")] == '=') {
                line += 2;
                uncommented++;
                break;
            }
        }
        o += sprintf(o, "%s\n", line);
    }
    CHECK_EQ(uncommented, 15); /* each key once */
    config_defaults(&c);
    CHECK((load_text(&c, out)) == (0), "%s", err);
    snprintf(d.data_dir, sizeof(d.data_dir), "/var/lib/picostack");
    CHECK(!memcmp(&c, &d, sizeof(c)), "the documented defaults differ from the built-in ones");
    free(text);
    free(out);
}

int main(int argc, char **argv)
{
    dir = t_tmpdir("config");
    unsetenv("PICOSTACK_DATA");
    test_defaults();
    test_each_key();
    test_file_format();
    test_bad_lines();
    test_overrides();
    test_checks();
    if (argc > 1)
        test_shipped(argv[1]);
    return t_done("config.unit");
}
