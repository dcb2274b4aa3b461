/* core/iso9660: a small ISO 9660 image writer with Rock Ridge names, for
 * config drives (Nova's "config-2" volumes, read by cloud-init).
 *
 * What it writes (ECMA-119 with the SUSP/RRIP 1.10 extensions):
 *   sectors 0-15   system area (zeros)
 *   16             primary volume descriptor (volume id as given, e.g.
 *                  "config-2": blkid shows LABEL="config-2" TYPE="iso9660")
 *   17             volume descriptor set terminator
 *   18, 19         the path table, little- then big-endian (one sector each)
 *   20             the continuation area of the root's "." record (the ER
 *                  entry that names RRIP_1991A)
 *   then           the directories, then the files, each from a sector
 *                  boundary.
 * Every directory record carries Rock Ridge entries: PX (mode 0444 files,
 * 0555 directories, uid/gid 0), TF (modification time) and NM (the real
 * name: lowercase, long), so a Linux mount or `isoinfo -R` sees the names
 * as added; the ISO 9660 names underneath are level 2 (up to 30
 * d-characters, upper case, '-' and other bytes as '_', made unique with
 * a number when two collide).
 *
 * Limits, checked when adding (-EINVAL): path components of 1..100 bytes
 * of printable ASCII but '/', never "." or ".."; at most 7 levels deep;
 * at most ISO9660_MAX_NODES files and directories; a refused path
 * changes nothing; -EEXIST for a path added twice or a file where a directory
 * is (or the reverse); -EFBIG once the image would pass ISO9660_MAX_BYTES.
 * The image is built in memory (config drives are small).
 *
 *     struct iso9660 *iso;
 *     int rc = iso9660_new("config-2", time(NULL), &iso);
 *     rc = iso9660_add_file(iso, "openstack/latest/meta_data.json", txt, len);
 *     rc = iso9660_write(iso, fd);
 *     iso9660_free(iso);
 */
#ifndef PICOSTACK_CORE_ISO9660_H
#define PICOSTACK_CORE_ISO9660_H

#include <stddef.h>
#include <time.h>

#define ISO9660_SECTOR    2048
#define ISO9660_MAX_NODES 256
#define ISO9660_MAX_BYTES (64u << 20)

struct iso9660;

/* volume_id: 1..32 bytes (written as given, space padded); when: the
 * volume's and every record's time. -EINVAL, -ENOMEM. */
int iso9660_new(const char *volume_id, time_t when, struct iso9660 **out);
/* Adds a file (its directories are made as needed); data is copied. */
int iso9660_add_file(struct iso9660 *iso, const char *path, const void *data, size_t len);
/* The image's size in bytes, as iso9660_write will write it. */
size_t iso9660_size(struct iso9660 *iso);
/* Writes the whole image at fd's current position. 0 or -errno. */
int iso9660_write(struct iso9660 *iso, int fd);
void iso9660_free(struct iso9660 *iso);

#endif
