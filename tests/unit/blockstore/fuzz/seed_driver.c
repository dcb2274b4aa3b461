/* Seed regression (built with gcc, runs in the default suite): every file of
 * the qcow2 fuzz corpus goes through the reader; seeds named ok-* must read
 * in full, seeds named bad-* must be refused, and none may crash.
 * usage: test_qcow2_seeds CORPUS-DIR */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qcow2_target_run(const uint8_t *data, size_t size);
const char *blockstore_error(void);

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
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            perror(path);
            return 1;
        }
        uint8_t *buf = malloc(16 << 20);
        size_t len = fread(buf, 1, 16 << 20, f);
        fclose(f);
        int r = qcow2_target_run(buf, len);
        free(buf);
        int want_ok = !strncmp(e->d_name, "ok-", 3), want_bad = !strncmp(e->d_name, "bad-", 4);
        printf("%-32s %s%s\n", e->d_name,
               r == 0 ? "read" : "refused: ", r == 0 ? "" : blockstore_error());
        if ((want_ok && r != 0) || (want_bad && r == 0)) {
            printf("  ^ unexpected\n");
            bad++;
        }
        n++;
    }
    closedir(d);
    printf("%d seeds, %d unexpected\n", n, bad);
    return bad || n == 0 ? 1 : 0;
}
