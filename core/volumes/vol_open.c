/* core/volumes: open and close. */
#include "core/volumes/vol_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct volumes_quota cinder_defaults = { { 10, 1000, 10, 10, 1000, -1 } };

/* The default type, made once (its own transaction on first open). */
static int ensure_default_type(struct volumes *v)
{
    struct store_txn *t;
    int rc = vol_begin(v, true, &t);
    if (rc < 0)
        return rc;
    json_t *def;
    rc = vol_types_default(t, v, &def);
    if (rc == 0) {
        json_decref(def);
        store_abort(t);
        return 0;
    }
    if (rc != -ENOENT) {
        store_abort(t);
        return rc;
    }
    rc = vol_type_insert(t, v, VOLUMES_DEFAULT_TYPE, "Default Volume Type", true, NULL, NULL);
    return vol_end(t, rc);
}

int volumes_open(struct store *s, struct blockstore *bs, const struct volumes_bs_lock *lk,
                 const struct volumes_config *cfg, struct volumes **out)
{
    if (!s || !bs || !lk || !lk->lock || !lk->unlock)
        return vol_fail(-EINVAL, "volumes_open needs a store, a block store and its lock");
    struct volumes *v = calloc(1, sizeof *v);
    if (!v)
        return -ENOMEM;
    v->store = s;
    v->bs = bs;
    v->lk = *lk;
    v->defaults = cfg && cfg->has_defaults ? cfg->defaults : cinder_defaults;
    if (cfg && cfg->backup_dir && *cfg->backup_dir) {
        if (strlen(cfg->backup_dir) >= sizeof v->backup_dir - 64) {
            free(v);
            return vol_fail(-ENAMETOOLONG, "backup directory path too long");
        }
        snprintf(v->backup_dir, sizeof v->backup_dir, "%s", cfg->backup_dir);
        if (mkdir(v->backup_dir, 0700) < 0 && errno != EEXIST) {
            int e = -errno;
            free(v);
            return vol_fail(e, "cannot make the backup directory %s: %s", cfg->backup_dir,
                            strerror(-e));
        }
    }
    int rc = store_table(s, "volumes", &v->table);
    if (rc == 0)
        rc = ensure_default_type(v);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void volumes_close(struct volumes *v)
{
    free(v);
}
