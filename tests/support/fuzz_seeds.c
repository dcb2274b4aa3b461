/* The seed regression driver shared by the fuzz corpora (fuzz_seeds.h). */
#include "tests/support/fuzz_seeds.h"
#include "tests/support/files.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One seed: 0 when the target did what its name asks. */
static int run_seed(const char *dir, const char *name)
{
    char path[4096], why[256] = "", *data;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (t_read_file(path, &data, &len)) {
        perror(path);
        return 1;
    }
    int rc = fuzz_seed_target((const uint8_t *)data, len, why, sizeof why);
    free(data);
    bool want_ok = !strncmp(name, "ok-", 3), want_bad = !strncmp(name, "bad-", 4);
    printf("%-32s %s%s\n", name, rc == 0 ? "taken" : "refused: ", rc == 0 ? "" : why);
    if ((want_ok && rc != 0) || (want_bad && rc == 0)) {
        fprintf(stderr, "UNEXPECTED %s\n", name);
        return 1;
    }
    return 0;
}

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
    int n = 0, wrong = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        wrong += run_seed(argv[1], e->d_name);
        n++;
    }
    closedir(d);
    printf("%d seeds, %d unexpected\n", n, wrong);
    return wrong || n == 0 ? 1 : 0;
}
