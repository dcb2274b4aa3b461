/* GET /dashboard/api/summary: what the overview's live charts show and no
 * OpenStack API gives in one call.  Host figures are the operator's
 * (Nova's hypervisor statistics are admin-only too): an admin's token
 * gets "host" (CPU jiffies since boot, to be differenced by the page;
 * memory; picostackd's own RSS) and "blockstore" (used, shared by clones,
 * free, filesystem free); every caller gets the time.  The project's
 * quotas and usage come from the compute, volume and network APIs. */
#include "api/dashboard/internal.h"

#include "core/blockstore/blockstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* busy and total jiffies of all CPUs (/proc/stat's first line). */
static int cpu_times(json_int_t *busy, json_int_t *total)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -errno;
    unsigned long long v[8] = { 0 };
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return -EIO;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += (json_int_t)v[i];
    *busy = *total - (json_int_t)(v[3] + v[4]); /* idle and iowait */
    return 0;
}

/* A "Key:   N kB" line of a /proc file, in bytes (-1 when absent). */
static json_int_t proc_kb(const char *file, const char *key)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return -1;
    char line[256];
    json_int_t out = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            out = (json_int_t)strtoll(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return out;
}

static json_t *host(void)
{
    json_int_t busy = 0, total = 0;
    if (cpu_times(&busy, &total))
        busy = total = -1;
    return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I}", "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
                     "cpu_busy_jiffies", busy, "cpu_total_jiffies", total, "mem_total_bytes",
                     proc_kb("/proc/meminfo", "MemTotal"), "mem_available_bytes",
                     proc_kb("/proc/meminfo", "MemAvailable"), "picostackd_rss_bytes",
                     proc_kb("/proc/self/status", "VmRSS"));
}

static json_t *blockstore(struct api_server *srv)
{
    struct blockstore *bs = api_server_blockstore(srv);
    struct blockstore_stat s;
    if (!bs || API_BS(srv, blockstore_stat(bs, &s)))
        return json_null();
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "used_bytes", (json_int_t)s.used, "shared_bytes",
                     (json_int_t)s.shared, "free_bytes", (json_int_t)s.free, "file_bytes",
                     (json_int_t)s.file_bytes, "fs_free_bytes", (json_int_t)s.fs_free, "objects",
                     (json_int_t)s.objects);
}

void dash_summary(struct api_req *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *body = json_pack("{s:f}", "time", ts.tv_sec + ts.tv_nsec / 1e9);
    if (body && api_req_is_admin(r)) {
        json_object_set_new(body, "host", host());
        json_object_set_new(body, "blockstore", blockstore(api_req_server(r)));
    }
    api_reply_header(r, "Cache-Control", "no-store");
    api_reply_json(r, 200, body);
}
