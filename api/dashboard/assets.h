/* api/dashboard/assets.h — the dashboard's static files, compiled into
 * picostackd: the table the build generates (embed/embed.c writes it from the
 * files under web/ and the vendored npm packages). */
#ifndef PICOSTACK_API_DASHBOARD_ASSETS_H
#define PICOSTACK_API_DASHBOARD_ASSETS_H

#include <stddef.h>

struct dash_asset {
    const char *path; /* under /dashboard: "/index.html", "/vendor/xterm.js" */
    const char *type; /* Content-Type */
    const unsigned char *raw;
    size_t raw_len;
    const unsigned char *gz; /* the same bytes gzipped */
    size_t gz_len;
    const char *etag; /* quoted, from the bytes */
};

extern const struct dash_asset dash_assets[];
extern const size_t dash_n_assets;

#endif
