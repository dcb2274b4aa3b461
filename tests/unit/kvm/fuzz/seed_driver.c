/* The virtio fuzz corpus as a regression test (gcc, default suite): every
 * seed goes through the target; seeds named ok-* must leave the device
 * running, seeds named bad-* must end in DEVICE_NEEDS_RESET, none may crash.
 * usage: test-kvm-virtio-seeds CORPUS-DIR */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int virtio_target_run(const uint8_t *data, size_t size);

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
    static uint8_t buf[1 << 20];
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
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        int bad = virtio_target_run(buf, len);
        int want_ok = !strncmp(e->d_name, "ok-", 3), want_bad = !strncmp(e->d_name, "bad-", 4);
        printf("%-32s %s\n", e->d_name, bad ? "needs reset" : "running");
        if ((want_ok && bad) || (want_bad && !bad)) {
            printf("  ^ unexpected\n");
            wrong++;
        }
        n++;
    }
    closedir(d);
    printf("%d seeds, %d unexpected\n", n, wrong);
    return wrong || n == 0 ? 1 : 0;
}
