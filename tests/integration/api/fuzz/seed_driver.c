/* The HTTP fuzz corpus as a regression test (gcc, default suite): every
 * seed goes to a real in-process server (http_target.c) and must be
 * answered with a status below 500 (501, "not implemented", is an answer),
 * but seeds named noreply-* (the server may just close); none may crash or
 * hang.
 * usage: test_api_fuzz_seeds CORPUS-DIR | --routes (lists the body routes) */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int http_target_init(void);
void http_target_list(void);
int http_target_run(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR | --routes\n", argv[0]);
        return 2;
    }
    if (http_target_init() < 0) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    if (!strcmp(argv[1], "--routes")) {
        http_target_list();
        return 0;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    int n = 0, bad = 0;
    struct dirent *e;
    uint8_t *buf = malloc(1 << 20);
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
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        int st = http_target_run(buf, len);
        bool ok = (st >= 200 && (st < 500 || st == 501)) ||
                  (st == 0 && !strncmp(e->d_name, "noreply-", 8));
        printf("%-40s %d%s\n", e->d_name, st, ok ? "" : "  <- unexpected");
        bad += !ok;
        n++;
    }
    closedir(d);
    free(buf);
    printf("%d seeds, %d unexpected\n", n, bad);
    return bad || n == 0;
}
