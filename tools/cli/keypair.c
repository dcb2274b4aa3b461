/* Keypair commands (Nova's /os-keypairs, the caller's own keypairs):
 * create (generated, or imported with --public-key), list, show, delete.
 * A generated private key is printed (or written with --private-key
 * FILE, mode 0600), as the openstack CLI does; the server keeps none. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *get_keypair(struct cli *c, const char *name)
{
    char *esc = http_escape(c, name), path[1024];
    snprintf(path, sizeof path, "/os-keypairs/%s", esc);
    curl_free(esc);
    json_t *j = compute_call(c, "GET", path, NULL, "keypair show", false, NULL);
    json_t *k = json_incref(json_object_get(j, "keypair"));
    json_decref(j);
    return k;
}

static int keypair_list(struct cli *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_error("usage: keypair list");
    json_t *j = compute_call(c, "GET", "/os-keypairs", NULL, "keypair list", false, NULL);
    if (!j)
        return 1;
    json_t *rows = json_array(), *e;
    size_t i;
    json_array_foreach (json_object_get(j, "keypairs"), i, e)
        json_array_append(rows, json_object_get(e, "keypair"));
    static const char *const h[] = { "Name", "Fingerprint", "Type" };
    static const char *const k[] = { "name", "fingerprint", "type" };
    out_list(c, rows, h, k, 3);
    json_decref(rows);
    json_decref(j);
    return 0;
}

static int keypair_show(struct cli *c, int argc, char **argv)
{
    bool pub_only = take_flag(&argc, argv, "--public-key");
    if (argc != 1)
        return usage_error("usage: keypair show KEYPAIR [--public-key]");
    json_t *k = get_keypair(c, argv[0]);
    if (!k)
        return 1;
    if (pub_only) {
        const char *pub = json_string_value(json_object_get(k, "public_key"));
        fputs(pub ? pub : "", stdout);
        if (pub && pub[0] && pub[strlen(pub) - 1] != '\n')
            putchar('\n');
    } else {
        json_object_del(k, "public_key");
        out_show(c, k);
    }
    json_decref(k);
    return 0;
}

/* Writes a private key to a new file only its owner reads. */
static int write_private(const char *path, const char *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t n = strlen(key);
    if (fd < 0 || write(fd, key, n) != (ssize_t)n || close(fd) != 0) {
        fprintf(stderr, "picostack: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    return 0;
}

static int keypair_create(struct cli *c, int argc, char **argv)
{
    const char *pub_file = take_opt(&argc, argv, "--public-key");
    const char *priv_file = take_opt(&argc, argv, "--private-key");
    const char *type = take_opt(&argc, argv, "--type");
    if (argc != 1 || (pub_file && priv_file))
        return usage_error("usage: keypair create NAME [--public-key FILE | --private-key FILE] "
                           "[--type ssh]");
    json_t *body = json_pack("{s:s}", "name", argv[0]);
    if (type)
        json_object_set_new(body, "type", json_string(type));
    if (pub_file) {
        char *pub = read_small_file(pub_file, 64 << 10, NULL);
        if (!pub) {
            json_decref(body);
            return 1;
        }
        json_object_set_new(body, "public_key", json_string(pub));
        free(pub);
    }
    json_t *j = compute_call(c, "POST", "/os-keypairs", json_pack("{s:o}", "keypair", body),
                             "keypair create", false, NULL);
    json_t *k = json_object_get(j, "keypair");
    if (!k) {
        json_decref(j);
        return 1;
    }
    const char *priv = json_string_value(json_object_get(k, "private_key"));
    int rc = 0;
    if (priv && priv_file) {
        rc = write_private(priv_file, priv);
    } else if (priv) {
        fputs(priv, stdout); /* what `openstack keypair create NAME` prints */
        json_decref(j);
        return 0;
    }
    json_object_del(k, "private_key");
    json_object_del(k, "public_key");
    out_show(c, k);
    json_decref(j);
    return rc;
}

static int keypair_delete(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("usage: keypair delete KEYPAIR...");
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        char *esc = http_escape(c, argv[i]), path[1024];
        snprintf(path, sizeof path, "/os-keypairs/%s", esc);
        curl_free(esc);
        json_t *j = compute_call(c, "DELETE", path, NULL, "keypair delete", false, NULL);
        rc |= !j;
        json_decref(j);
    }
    return rc;
}

int cmd_keypair(struct cli *c, int argc, char **argv)
{
    const char *sub = argv[0];
    argc--, argv++;
    if (strcmp(sub, "list") == 0)
        return keypair_list(c, argc, argv);
    if (strcmp(sub, "show") == 0)
        return keypair_show(c, argc, argv);
    if (strcmp(sub, "create") == 0)
        return keypair_create(c, argc, argv);
    if (strcmp(sub, "delete") == 0)
        return keypair_delete(c, argc, argv);
    return usage_error("unknown keypair command '%s'", sub);
}
