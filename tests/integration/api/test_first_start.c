/* picostackd's first start never commits an admin whose password is not on
 * disk: when DIR/admin-openrc cannot be written, the start fails and leaves
 * no setup behind, so the next start makes one and its openrc logs in. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void t_openrc_first(const char *bin)
{
    char dir[] = "/tmp/picostack-first-XXXXXX", rc_path[64];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    /* A directory where admin-openrc goes: the rename onto it fails. */
    snprintf(rc_path, sizeof(rc_path), "%s/admin-openrc", dir);
    CHECK(mkdir(rc_path, 0700) == 0);
    const char *const data[] = { "--data", dir, NULL }; /* the last --data wins */
    struct picostackd d;
    CHECK(picostackd_start(&d, bin, data) < 0, "a start without its openrc must fail");
    CHECK(rmdir(rc_path) == 0);

    CHECK(picostackd_restart(&d, data) == 0, "the second start");
    FILE *f = fopen(rc_path, "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "export OS_PASSWORD=%63s", d.admin_password) == 1)
            break;
    if (f)
        fclose(f);
    CHECK(d.admin_password[0], "no password in %s", rc_path);
    char *tok = admin_login(&d);
    CHECK(tok, "admin cannot log in with the openrc's password");
    free(tok);
    picostackd_cleanup(&d);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    static const struct subtest tests[] = { { "openrc-first", t_openrc_first } };
    return run_subtests(argc, argv, tests, 1);
}
