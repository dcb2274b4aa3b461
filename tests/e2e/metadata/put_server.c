/* put_server STATE_DIR FILE: puts the server record in FILE (JSON, with
 * "id") into core/compute's table "compute.servers" of the store in
 * STATE_DIR, beside a running picostackd (LMDB allows it): the stand-in for
 * a server that the servers API would have made (SERVERS.md's record). */
#include "core/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: put_server STATE_DIR FILE\n");
        return 2;
    }
    json_error_t e;
    json_t *rec = json_load_file(argv[2], 0, &e);
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!id) {
        fprintf(stderr, "put_server: %s: %s\n", argv[2], rec ? "no id" : e.text);
        return 1;
    }
    struct store *s;
    struct store_txn *t = NULL;
    unsigned table;
    int rc = store_open(argv[1], &s);
    if (rc) {
        fprintf(stderr, "put_server: %s: %s\n", argv[1], strerror(-rc));
        json_decref(rec);
        return 1;
    }
    rc = store_table(s, "compute.servers", &table);
    if (!rc)
        rc = store_begin(s, true, &t);
    if (!rc)
        rc = store_put(t, table, id, rec);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    store_close(s);
    if (rc)
        fprintf(stderr, "put_server: %s\n", strerror(-rc));
    json_decref(rec);
    return rc ? 1 : 0;
}
