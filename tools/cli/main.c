/* picostack: the command-line client of picostack. It speaks the same
 * HTTP API as the openstack CLI, but starts in milliseconds.
 *
 *   picostack [--rc FILE] [-f table|json|value] [-c COLUMN]... COMMAND ...
 *
 * Credentials come from the OS_* variables (as after sourcing an openrc
 * file) or from --rc FILE, which reads such a file itself. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: picostack [--rc FILE] [-f table|json|value] [-c COLUMN]... [--debug] COMMAND\n"
    "\n"
    "  token issue\n"
    "  project create NAME [--domain D] [--description TEXT]\n"
    "  project list | show PROJECT | delete PROJECT...\n"
    "  user create NAME [--password PW] [--project P] [--domain D] [--email E]\n"
    "  user list | show USER | delete USER...\n"
    "  role create NAME | list | show ROLE | delete ROLE...\n"
    "  role add --user U --project P ROLE | role remove --user U --project P ROLE\n"
    "  image create NAME --file F [--disk-format raw|qcow2] [--container-format bare]\n"
    "               [--property k=v]... [--public|--private|--shared|--community]\n"
    "               [--protected] [--tag T]...\n"
    "  image list [--name N] [--status S] [--public|--private|--shared|--community]\n"
    "  image show IMAGE | save IMAGE [--file OUT] | delete IMAGE...\n"
    "  image set IMAGE [--name N] [--property k=v]... [--remove-property k]...\n"
    "               [--public|--private|--shared|--community] [--protected|--unprotected]\n"
    "               [--tag T]... [--deactivate|--activate]\n"
    "  volume create NAME [--size GB] [--image I|--snapshot S|--source V] [--type T]\n"
    "               [--description D] [--property k=v]...\n"
    "  volume list [--name N] [--status S] [--all-projects] [--long] | show VOLUME\n"
    "  volume set VOLUME [--name N] [--description D] [--size GB] [--property k=v]...\n"
    "               [--bootable|--non-bootable] [--read-only|--read-write]\n"
    "  volume extend VOLUME GB | delete VOLUME... [--cascade] [--force]\n"
    "  volume snapshot create NAME --volume V [--force] | list | show S | set S | delete S...\n"
    "  volume backup create VOLUME [--name N] [--incremental] [--force] | list | show B\n"
    "  volume backup restore B [--volume V | --name N] | delete B...\n"
    "  volume type list\n"
    "  flavor list [--all|--private] [--long] | show FLAVOR | delete FLAVOR...\n"
    "  flavor create NAME [--ram MiB] [--disk GiB] [--vcpus N] [--ephemeral GiB]\n"
    "               [--swap MiB] [--id ID] [--private] [--property k=v]...\n"
    "  keypair create NAME [--public-key FILE | --private-key FILE]\n"
    "  keypair list | show KEYPAIR [--public-key] | delete KEYPAIR...\n"
    "  server create NAME --flavor F (--image I | --volume V) [--network N]...\n"
    "               [--port P]... [--nic none|auto|net-id=ID|port-id=ID]...\n"
    "               [--key-name K] [--user-data FILE] [--property k=v]...\n"
    "               [--security-group G]... [--config-drive] [--min N] [--max N]\n"
    "               [--wait [--wait-timeout S]]\n"
    "  server list [--name REGEX] [--status S] [--all-projects] [--long]\n"
    "  server show SERVER | delete SERVER... [--wait]\n"
    "  server start|stop SERVER... [--wait] | reboot SERVER... [--soft|--hard] [--wait]\n"
    "  server console SERVER [--lines N] | console SERVER --url\n"
    "  server attach SERVER VOLUME [--device /dev/vdX] | detach SERVER VOLUME\n"
    "\n"
    "Credentials: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (or _ID),\n"
    "OS_USER_DOMAIN_ID/_NAME, OS_PROJECT_DOMAIN_ID/_NAME, or --rc FILE (an openrc);\n"
    "OS_CACERT: the CA that signed an HTTPS server's certificate.\n";

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("picostack: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(picostack --help for usage)\n", stderr);
    va_end(ap);
    return 2;
}

static void drop(int *argc, char **argv, int i, int n)
{
    memmove(argv + i, argv + i + n, (size_t)(*argc - i - n + 1) * sizeof *argv);
    *argc -= n;
}

const char *take_opt(int *argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return NULL;
        if (strcmp(argv[i], name) == 0 && i + 1 < *argc) {
            const char *v = argv[i + 1];
            drop(argc, argv, i, 2);
            return v;
        }
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') {
            const char *v = argv[i] + n + 1;
            drop(argc, argv, i, 1);
            return v;
        }
    }
    return NULL;
}

bool take_flag(int *argc, char **argv, const char *name)
{
    for (int i = 0; i < *argc; i++)
        if (strcmp(argv[i], name) == 0) {
            drop(argc, argv, i, 1);
            return true;
        }
    return false;
}

int take_properties(int *argc, char **argv, json_t *into)
{
    const char *v;
    while ((v = take_opt(argc, argv, "--property"))) {
        const char *eq = strchr(v, '=');
        if (!eq)
            return usage_error("--property wants key=value, not '%s'", v), -1;
        char *k = strndup(v, (size_t)(eq - v));
        if (!k)
            return -1;
        json_object_set_new(into, k, json_string(eq + 1));
        free(k);
    }
    return 0;
}

/* Read an openrc file: lines "export OS_X=value" (or without export),
 * values optionally quoted; they override the environment. */
static int load_rc(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "export ", 7) == 0)
            p += 7 + strspn(p + 7, " \t");
        char *eq = strchr(p, '=');
        if (strncmp(p, "OS_", 3) != 0 || !eq)
            continue;
        *eq = '\0';
        char *v = eq + 1;
        v[strcspn(v, "\r\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        setenv(p, v, 1);
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c = { 0 };
    argc--, argv++;
    if (argc == 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (take_flag(&argc, argv, "--help") || take_flag(&argc, argv, "-h")) {
        fputs(usage_text, stdout);
        return 0;
    }
    const char *rc = take_opt(&argc, argv, "--rc");
    if (rc && load_rc(rc) < 0)
        return 1;
    c.debug = take_flag(&argc, argv, "--debug");
    const char *fmt = take_opt(&argc, argv, "-f");
    if (!fmt)
        fmt = take_opt(&argc, argv, "--format");
    if (fmt) {
        if (strcmp(fmt, "json") == 0)
            c.format = OUT_JSON;
        else if (strcmp(fmt, "value") == 0)
            c.format = OUT_VALUE;
        else if (strcmp(fmt, "table") == 0)
            c.format = OUT_TABLE;
        else
            return usage_error("unknown format '%s' (table, json, value)", fmt);
    }
    const char *col;
    while (c.ncolumns < 16 &&
           ((col = take_opt(&argc, argv, "-c")) || (col = take_opt(&argc, argv, "--column"))))
        c.columns[c.ncolumns++] = col;
    if (argc == 0)
        return usage_error("no command");

    static const struct {
        const char *name;
        int (*fn)(struct cli *, int, char **);
    } cmds[] = {
        { "token", cmd_token },   { "project", cmd_project }, { "user", cmd_user },
        { "role", cmd_role },     { "image", cmd_image },     { "volume", cmd_volume },
        { "flavor", cmd_flavor }, { "keypair", cmd_keypair }, { "server", cmd_server },
    };
    int (*fn)(struct cli *, int, char **) = NULL;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            fn = cmds[i].fn;
    if (!fn)
        return usage_error("unknown command '%s'", argv[0]);
    if (argc < 2)
        return usage_error("'%s' needs a subcommand", argv[0]);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c.curl = curl_easy_init())) {
        fprintf(stderr, "picostack: cannot start libcurl\n");
        return 1;
    }
    int status = auth_login(&c) < 0 ? 1 : fn(&c, argc - 1, argv + 1);
    curl_easy_cleanup(c.curl);
    curl_global_cleanup();
    free(c.token);
    json_decref(c.token_body);
    return status;
}
