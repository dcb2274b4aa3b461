/* A scratch directory for a test, removed with everything in it at exit. */
#ifndef PICOSTACK_TESTS_TMPDIR_H
#define PICOSTACK_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir_path[256];
static char tmpdir_files[64][320];
static int tmpdir_nfiles;

static void tmpdir_cleanup(void)
{
	for (int i = 0; i < tmpdir_nfiles; i++)
		unlink(tmpdir_files[i]);
	if (tmpdir_path[0])
		rmdir(tmpdir_path);
}

static const char *tmpdir_make(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/picostack-kvm-test-XXXXXX", base);
	if (!mkdtemp(tmpdir_path)) {
		perror("mkdtemp");
		exit(2);
	}
	atexit(tmpdir_cleanup);
	return tmpdir_path;
}

/* A path inside the directory, remembered for cleanup. */
static const char *tmpdir_file(const char *name)
{
	if (tmpdir_nfiles == 64)
		abort();
	char *p = tmpdir_files[tmpdir_nfiles++];
	snprintf(p, 320, "%s/%s", tmpdir_path, name);
	return p;
}

/* Creates an empty regular file. */
static inline int tiny_touch(const char *path)
{
	FILE *f = fopen(path, "w");
	return f && fclose(f) == 0 ? 0 : -1;
}

#endif
