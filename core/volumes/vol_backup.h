/* Private to core/volumes: the backup folder format (vol_backup_file.c)
 * used by the backup records (vol_backup.c). */
#ifndef PICOSTACK_VOL_BACKUP_H
#define PICOSTACK_VOL_BACKUP_H

#include "core/volumes/vol_internal.h"

struct vol_bk_writer {
    char dir[4096], id[80], partial[4200];
    int fd;
    uint64_t records, bytes;
};
/* Starts ID.partial/ (a leftover one is dropped first). */
int vol_bk_open(struct vol_bk_writer *w, const char *dir, const char *id);
/* One cluster: an all-zero one is stored as a zero record. */
int vol_bk_add(struct vol_bk_writer *w, uint64_t vcl, const void *data, uint32_t len);
/* Adds format/id/cluster_size/clusters/data_bytes to manifest, writes it,
 * renames ID.partial to ID (fsyncs between). */
int vol_bk_commit(struct vol_bk_writer *w, json_t *manifest);
void vol_bk_abort(struct vol_bk_writer *w);
int vol_backup_remove(const char *path);
int vol_bk_each(const char *dir, const char *id, uint64_t size,
                int (*fn)(void *ctx, uint64_t vcl, const void *data, uint32_t len, bool zero),
                void *ctx);
int vol_bk_chain(const char *dir, const char *id, json_t **out, FILE *report, int *problems);

#endif
