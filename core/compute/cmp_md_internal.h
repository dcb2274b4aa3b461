/* core/compute's metadata documents (cmp_metadata*.c, cmp_config_drive.c):
 * what compute_metadata_build makes, shared by the service's lookup and
 * the config drive. */
#ifndef PICOSTACK_CMP_MD_INTERNAL_H
#define PICOSTACK_CMP_MD_INTERNAL_H

#include "core/compute/compute.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct compute_metadata {
    time_t now;
    char *meta_data;          /* openstack meta_data.json */
    char *network_data;       /* openstack network_data.json */
    char *vendor_data;        /* "{}" */
    char *vendor_data2;       /* "{}" */
    unsigned char *user_data; /* decoded; NULL when the server has none */
    size_t user_data_len;
    json_t *ec2;    /* /latest/meta-data/ as a tree: strings are files */
    char *ec2_json; /* the config drive's ec2 meta-data.json */
};

/* Nova's metadata versions, oldest first (NULL-ended). */
extern const char *const cmp_md_openstack_versions[];
extern const char *const cmp_md_ec2_versions[];

#endif
