/* The limits of api_config as command-line options (http.h): one table, so
 * picostackd's --help, its parser and the config file name them alike. */
#include "api/http/internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define U(field, name, help)                              \
    {                                                     \
        name, help, offsetof(struct api_config, field), 0 \
    }
#define B(field, name, help)                              \
    {                                                     \
        name, help, offsetof(struct api_config, field), 1 \
    }

const struct api_limit_option api_limit_options[] = {
    U(max_connections, "max-connections", "connections at once (default 512)"),
    U(max_connections_per_ip, "max-connections-per-ip",
      "connections from one client address (default 128)"),
    U(head_timeout_s, "head-timeout", "seconds to send a request head (default 10)"),
    U(body_timeout_s, "body-timeout", "seconds in which a body must bring 16 KiB (default 30)"),
    U(idle_timeout_s, "idle-timeout", "seconds a silent connection is kept (default 60)"),
    U(memory_budget_mb, "memory-budget", "MiB that sizes the upload caps (default 256)"),
    U(max_uploads, "max-uploads", "uploads at once (default: what the memory budget allows; 24)"),
    U(max_uploads_per_project, "max-uploads-per-project",
      "uploads at once per project (default max-uploads / 4; 6)"),
    U(slow_workers, "conversion-workers", "threads for qcow2 conversions (default 1)"),
    U(slow_queue, "conversion-queue", "conversions that may wait (default 4)"),
    B(image_size_cap, "image-size-cap", "bytes an image may store (default 1 TiB)"),
    B(user_storage_quota, "user-storage-quota",
      "image bytes a project may store (default 0: no quota)"),
    U(lockout_failure_attempts, "lockout-failure-attempts",
      "failed logins in a row that lock a user (default 0: off)"),
    U(lockout_duration_s, "lockout-duration", "seconds a user stays locked (default 1800)"),
    U(login_failures_per_min, "login-failures-per-min",
      "failed logins a minute from one address before 429 (default 30)"),
};
const size_t api_limit_options_count = API_COUNT(api_limit_options);

int api_config_set_limit(struct api_config *cfg, const struct api_limit_option *o,
                         const char *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *value == '-')
        return -EINVAL;
    /* sizes may say K, M, G or T (binary) */
    unsigned shift = 0;
    if (o->bytes && *end) {
        const char *units = "KMGT", *u = strchr(units, *end);
        if (!u || end[1])
            return -EINVAL;
        shift = 10 * (unsigned)(u - units + 1);
        end++;
    }
    if (*end)
        return -EINVAL;
    char *field = (char *)cfg + o->offset;
    if (o->bytes) {
        if (shift && v > (UINT64_MAX >> shift))
            return -ERANGE;
        *(uint64_t *)field = (uint64_t)v << shift;
    } else {
        if (v > 1000000)
            return -ERANGE;
        *(unsigned *)field = (unsigned)v;
    }
    return 0;
}

int api_config_set_metrics(struct api_config *cfg, const char *value)
{
    if (!strcmp(value, "loopback"))
        cfg->metrics_access = API_METRICS_LOOPBACK;
    else if (!strcmp(value, "admin"))
        cfg->metrics_access = API_METRICS_ADMIN;
    else if (!strcmp(value, "open"))
        cfg->metrics_access = API_METRICS_OPEN;
    else
        return -EINVAL;
    return 0;
}
