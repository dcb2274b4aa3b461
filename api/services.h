/* api/services.h — the services picostackd serves, registered in one list
 * (api/services.c's API_SERVICES).  Adding a service: a folder api/NAME/
 * (its routes and `const struct api_service api_NAME_service`, see
 * api/http/http.h) and one line X(NAME) in that list.  This is the only
 * header of api/ that picostackd.c needs beside api/http/http.h; no service
 * header is public. */
#ifndef PICOSTACK_API_SERVICES_H
#define PICOSTACK_API_SERVICES_H

#include <stddef.h>

#include "api/http/http.h"

/* Every registered service, in registration (= init) order. */
extern const struct api_service *const api_services[];
extern const size_t api_n_services;

/* Adds every registered service to srv in order (api_server_add_service:
 * needs checked, init run).  0, or the first failure's -errno with
 * *failed naming the service. */
int api_services_register(struct api_server *srv, const char **failed);

#endif
