/* The end of a server: its ports unplugged (and the ones it made deleted),
 * its volumes detached (delete_on_termination ones deleted), its record
 * removed (its instance actions stay, behind a tombstone: cmp_deleted.c).  Runs on the worker after the VMM is gone;
 * every step tolerates what an earlier, cut-off run already did. */
#include "core/compute/cmp_internal.h"
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "core/volumes/volumes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool in_array(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v)
        if (!strcmp(json_string_value(v) ?: "", s))
            return true;
    return false;
}

/* Unplugs and deletes (or releases) the port in one transaction. */
void cmp_port_release(struct compute *c, const char *port_id, bool made_here)
{
    struct store_txn *t;
    struct net_err ne = { 0 };
    struct net_caller admin = { NULL, true, true };
    if (store_begin(c->store, true, &t))
        return;
    if (c->host.netdp)
        net_dp_unplug(c->host.netdp, t, c->host.net, port_id, &ne); /* never plugged: fine */
    int rc;
    if (made_here)
        rc = net_delete(t, c->host.net, NET_PORT, port_id, &admin, &ne);
    else {
        json_t *b = json_pack("{s:s, s:s}", "device_id", "", "device_owner", ""), *out = NULL;
        rc = net_update(t, c->host.net, NET_PORT, port_id, b, &admin, &out, &ne);
        json_decref(b);
        json_decref(out);
    }
    if (rc && rc != -ENOENT) {
        fprintf(stderr, "picostackd: port %s: %s\n", port_id, ne.msg);
        store_abort(t);
        return;
    }
    store_commit(t);
}

void cmp_net_sync(struct compute *c)
{
    if (!c->host.netdp)
        return;
    struct store_txn *t;
    struct net_err ne = { 0 };
    if (store_begin(c->store, false, &t))
        return;
    if (net_dp_sync(c->host.netdp, t, c->host.net, &ne))
        fprintf(stderr, "picostackd: network sync: %s\n", ne.msg);
    store_abort(t);
}

/* Detaches (and deletes when asked) every volume attached to the server,
 * the record's and any the record missed (a build cut off after making
 * its boot volume). */
static void drop_volumes(struct compute *c, const json_t *rec, const char *id)
{
    struct volumes_caller admin = { str(rec, "project_id"), str(rec, "user_id"), true, true };
    json_t *v, *atts = NULL, *a;
    size_t i;
    json_array_foreach (json_object_get(rec, "volumes"), i, v) {
        const char *vid = str(v, "volume_id"), *att = str(v, "attachment_id");
        int rc = volume_detach(c->host.volumes, &admin, vid, att && *att ? att : NULL);
        if (rc && rc != -ENOENT)
            fprintf(stderr, "picostackd: detach %s: %s\n", vid, volumes_error());
        if (json_is_true(json_object_get(v, "delete_on_termination")) &&
            (rc = volume_delete(c->host.volumes, &admin, vid, 0)) && rc != -ENOENT)
            fprintf(stderr, "picostackd: delete %s: %s\n", vid, volumes_error());
    }
    if (volume_attachment_list(c->host.volumes, &admin, true, &atts))
        return;
    json_array_foreach (atts, i, a) {
        if (strcmp(str(a, "instance") ?: "", id))
            continue;
        const char *vid = str(a, "volume_id");
        volume_detach(c->host.volumes, &admin, vid, str(a, "id"));
        json_t *vol;
        if (!volume_get(c->host.volumes, &admin, vid, &vol)) {
            const char *boot_of = str(json_object_get(vol, "metadata"), "picostack_boot_of");
            if (boot_of && !strcmp(boot_of, id))
                volume_delete(c->host.volumes, &admin, vid, 0);
            json_decref(vol);
        }
    }
    json_decref(atts);
}

/* Removes the record; its actions stay behind a tombstone. */
static int drop_record(struct compute *c, const json_t *rec, const char *id)
{
    struct store_txn *t;
    int rc = store_begin(c->store, true, &t);
    if (rc)
        return rc;
    rc = cmp_tombstone_put(c, t, rec);
    if (!rc) {
        rc = store_del(t, c->servers, id);
        rc = rc == -ENOENT ? 0 : rc;
    }
    if (rc) {
        store_abort(t);
        return rc;
    }
    return store_commit(t);
}

int cmp_server_teardown(struct compute *c, const char *id)
{
    json_t *rec;
    struct store_txn *t;
    int rc = store_begin(c->store, false, &t);
    if (rc)
        return rc;
    rc = store_get(t, c->servers, id, &rec);
    store_abort(t);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    json_t *p, *made = json_object_get(rec, "auto_ports");
    size_t i;
    if (c->host.net) {
        json_array_foreach (json_object_get(rec, "ports"), i, p)
            cmp_port_release(c, str(p, "port_id"), in_array(made, str(p, "port_id") ?: ""));
        cmp_net_sync(c);
    }
    if (c->host.volumes)
        drop_volumes(c, rec, id);
    cmp_config_drive_remove(c, id);
    cmp_boot_files_remove(c, id);
    rc = drop_record(c, rec, id);
    json_decref(rec);
    return rc;
}
