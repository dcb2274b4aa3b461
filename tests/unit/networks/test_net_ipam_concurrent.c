/* core/networks IPAM under concurrency: 1 000 ports created by 16 threads at
 * once (each its own write transaction, as API requests are) on one /22
 * subnet: every port gets an address, no address twice, all inside the
 * pools; then the pool runs dry (-ENOSPC, IpAddressGenerationFailure) and
 * deleting every port frees every address. */
#include "core/networks/networks.h"
#include "core/store/store.h"
#include "tests/support/check.h"
#include "tests/support/tmpdir.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS    16
#define PER_THREAD 63 /* 16 * 63 = 1008 ports */

static struct store *s;
static struct net_db *db;
static char net_id[64];
static const struct net_caller admin = { "p1", true, true };
static char ids[THREADS * PER_THREAD][40];
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    long n = (long)arg;
    char body[128];
    snprintf(body, sizeof body, "{\"network_id\":\"%s\"}", net_id);
    json_t *b = json_loads(body, 0, NULL);
    for (int i = 0; i < PER_THREAD; i++) {
        struct store_txn *t;
        struct net_err err = { 0 };
        json_t *port = NULL;
        int rc = store_begin(s, true, &t);
        if (!rc)
            rc = net_create(t, db, NET_PORT, b, &admin, &port, &err);
        if (!rc)
            rc = store_commit(t);
        else
            store_abort(t);
        if (rc) {
            pthread_mutex_lock(&lock);
            failures++;
            fprintf(stderr, "create: %d %s\n", rc, err.msg);
            pthread_mutex_unlock(&lock);
        } else {
            snprintf(ids[n * PER_THREAD + i], 40, "%s",
                     json_string_value(json_object_get(port, "id")));
        }
        json_decref(port);
    }
    json_decref(b);
    return NULL;
}

static int tx_create(enum net_kind k, const char *text, json_t **out, struct net_err *err)
{
    json_t *b = json_loads(text, 0, NULL);
    struct store_txn *t;
    int rc = store_begin(s, true, &t);
    if (!rc)
        rc = net_create(t, db, k, b, &admin, out, err);
    if (!rc)
        rc = store_commit(t);
    else
        store_abort(t);
    json_decref(b);
    return rc;
}

int main(void)
{
    const char *dir = t_tmpdir("picostack-net-ipam");
    CHECK(store_open(dir, &s) == 0);
    CHECK(net_db_open(s, &db) == 0);
    struct net_err err = { 0 };
    json_t *q = json_pack("{s:i}", "port", -1), *out = NULL;
    struct store_txn *t;
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(net_quota_set(t, db, "p1", q, &admin, &out, &err) == 0);
    CHECK(store_commit(t) == 0);
    json_decref(q);
    json_decref(out);
    json_t *net = NULL;
    CHECK(tx_create(NET_NETWORK, "{}", &net, &err) == 0);
    snprintf(net_id, sizeof net_id, "%s", json_string_value(json_object_get(net, "id")));
    json_decref(net);
    char body[256];
    /* 10.20.0.0/22 without DHCP: pool 10.20.0.2 - 10.20.3.254 = 1021 addresses. */
    snprintf(body, sizeof body,
             "{\"network_id\":\"%s\",\"cidr\":\"10.20.0.0/22\",\"enable_dhcp\":false}", net_id);
    json_t *sub = NULL;
    CHECK(tx_create(NET_SUBNET, body, &sub, &err) == 0, "%s", err.msg);
    json_decref(sub);

    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(failures, 0);

    /* Every address once, inside the pool. */
    json_t *ports = NULL, *f = json_object();
    CHECK(store_begin(s, false, &t) == 0);
    CHECK(net_list(t, db, NET_PORT, f, &admin, &ports, &err) == 0);
    store_abort(t);
    json_decref(f);
    CHECK_EQ(json_array_size(ports), THREADS * PER_THREAD);
    static unsigned char seen[1024];
    size_t i;
    json_t *p;
    int dup = 0, outside = 0;
    json_array_foreach (ports, i, p) {
        json_t *fixed = json_object_get(p, "fixed_ips");
        unsigned a, b, c, d;
        if (json_array_size(fixed) != 1 ||
            sscanf(json_string_value(json_object_get(json_array_get(fixed, 0), "ip_address")),
                   "%u.%u.%u.%u", &a, &b, &c, &d) != 4 ||
            a != 10 || b != 20 || c > 3) {
            outside++;
            continue;
        }
        unsigned off = c * 256 + d;
        if (off < 2 || off > 1022)
            outside++;
        else if (seen[off]++)
            dup++;
    }
    CHECK_EQ(dup, 0);
    CHECK_EQ(outside, 0);
    json_decref(ports);

    /* 1021 - 1008 = 13 more, then the pool is dry. */
    snprintf(body, sizeof body, "{\"network_id\":\"%s\"}", net_id);
    for (int k = 0; k < 13; k++) {
        json_t *port = NULL;
        CHECK(tx_create(NET_PORT, body, &port, &err) == 0, "%s", err.msg);
        json_decref(port);
    }
    CHECK(tx_create(NET_PORT, body, &out, &err) == -ENOSPC);
    CHECK_STR(err.type, "IpAddressGenerationFailure");

    /* Deleting frees: a fresh port gets an address again. */
    CHECK(store_begin(s, true, &t) == 0);
    CHECK(net_delete(t, db, NET_PORT, ids[500], &admin, &err) == 0);
    CHECK(store_commit(t) == 0);
    CHECK(tx_create(NET_PORT, body, &out, &err) == 0);
    json_decref(out);

    net_db_close(db);
    store_close(s);
    return t_done("networks.unit.ipam_concurrent");
}
