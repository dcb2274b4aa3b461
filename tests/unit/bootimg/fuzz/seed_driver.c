/* Seed regression of the bootimg fuzz corpus (gcc, default suite): seeds
 * named ok-* must boot (kernel found and copied out), bad-* must be
 * refused, none may crash. usage: test_bootimg_seeds CORPUS-DIR */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/files.h"

int bootimg_target_run(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        if (t_read_file(path, &data, &len)) {
            perror(path);
            bad++;
            continue;
        }
        int rc = bootimg_target_run((const uint8_t *)data, len);
        bool want_ok = !strncmp(e->d_name, "ok-", 3);
        if ((rc == 0) != want_ok) {
            fprintf(stderr, "FAIL %s: %d\n", e->d_name, rc);
            bad++;
        }
        free(data);
        n++;
    }
    closedir(d);
    printf("bootimg seeds: %d, %d failed\n", n, bad);
    return bad || !n;
}
