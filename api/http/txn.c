/* The boilerplate every service repeats, once: the errno -> HTTP status
 * map and the store transaction helpers (http.h). */
#include "api/http/internal.h"
#include "core/store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int api_errno_status(int err)
{
    switch (-err) {
    case ENOENT: return 404;
    case EEXIST:
    case EBUSY: return 409;
    case EINVAL:
    case ENAMETOOLONG:
    case EBADMSG: return 400;
    case EPERM:
    case EACCES: return 403;
    /* Full or over quota: 413, never 507.  OpenStack's services all say
     * 413 for "no room" (Glance's StorageFull, Nova's and Cinder's
     * OverLimit), so the clients print a useful message for it; 507 is
     * WebDAV's and no OpenStack client knows it.  Keystone said 507 before
     * the map was one; its commits fail this way only on a full disk. */
    case EDQUOT:
    case ENOSPC:
    case EFBIG:
    case EMSGSIZE: return 413;
    case ENXIO:
    case ENODEV:
    case EAGAIN: return 503;
    default: return 500;
    }
}

void api_reply_errno(struct api_req *r, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_reply_error(r, api_errno_status(err), "%s", msg);
}

struct store_txn *api_txn_begin(struct api_req *r, bool write)
{
    struct store *s = api_server_store(r->srv);
    struct store_txn *t;
    int rc = s ? store_begin(s, write, &t) : -ENXIO;
    if (rc < 0) {
        api_reply_error(r, 500, "Cannot open the store: %s.", strerror(-rc));
        return NULL;
    }
    return t;
}

bool api_txn_commit(struct api_req *r, struct store_txn *t)
{
    int rc = store_commit(t);
    if (rc < 0) {
        api_reply_errno(r, rc, "Cannot save the change: %s.", strerror(-rc));
        return false;
    }
    return true;
}
