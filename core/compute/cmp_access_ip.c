/* accessIPv4 / accessIPv6: addresses a user records on a server for others
 * to reach it by (Nova stores them and shows them; nothing routes them). */
#include "core/compute/cmp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

static int one(const json_t *in, const char *key, int family, const char *field, json_t *rec,
               struct compute_err *err)
{
    json_t *v = json_object_get(in, key);
    if (!v)
        return 0;
    unsigned char bin[sizeof(struct in6_addr)];
    char text[INET6_ADDRSTRLEN];
    if (!json_is_string(v) || inet_pton(family, json_string_value(v), bin) != 1 ||
        !inet_ntop(family, bin, text, sizeof text))
        return cmp_fail(err, -EINVAL, "Invalid input for field/attribute %s. Value: %s is not %s",
                        key, json_is_string(v) ? json_string_value(v) : "(not a string)",
                        family == AF_INET ? "IPv4" : "IPv6");
    /* stored in the canonical form, as Nova prints its netaddr values */
    json_object_set_new(rec, field, json_string(text));
    return 0;
}

int cmp_access_ips_apply(const json_t *in, json_t *rec, struct compute_err *err)
{
    int rc = one(in, "accessIPv4", AF_INET, "access_ipv4", rec, err);
    return rc ? rc : one(in, "accessIPv6", AF_INET6, "access_ipv6", rec, err);
}
