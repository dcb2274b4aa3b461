/* The registered services of picostackd (services.h). */
#include "api/services.h"

/* One line per service, in init order (a service comes after those it
 * depends on; fini runs in the reverse order).  X(NAME) names the
 * descriptor `api_NAME_service` that api/NAME/ defines. */
// clang-format off
#define API_SERVICES(X) \
    X(identity)         \
    X(image)            \
    X(volume)           \
    X(network)          \
    X(compute)          \
    X(metadata)         \
    X(dashboard)
// clang-format on

#define DECLARE(name) extern const struct api_service api_##name##_service;
API_SERVICES(DECLARE)
#undef DECLARE

#define ENTRY(name) &api_##name##_service,
const struct api_service *const api_services[] = { API_SERVICES(ENTRY) };
#undef ENTRY
const size_t api_n_services = API_COUNT(api_services);

int api_services_register(struct api_server *srv, const char **failed)
{
    for (size_t i = 0; i < api_n_services; i++) {
        int rc = api_server_add_service(srv, api_services[i]);
        if (rc) {
            if (failed)
                *failed = api_services[i]->name;
            return rc;
        }
    }
    return 0;
}
