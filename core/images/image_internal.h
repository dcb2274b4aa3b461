/* Private to core/images: helpers shared by its files. */
#ifndef PICOSTACK_CORE_IMAGES_INTERNAL_H
#define PICOSTACK_CORE_IMAGES_INTERNAL_H

#include "core/images/images.h"

/* Fill err and return -1. */
int image_fail(struct image_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool image_attr_read_only(const char *key);
bool image_attr_is_base(const char *key);
int image_set_attr(json_t *img, const char *key, json_t *value, const struct image_caller *who,
                   struct image_err *err);
bool image_tags_has(const json_t *tags, const char *tag);

#endif
