/*
 * pathloop.c - the path-only workload: one call per file over N files that
 * no rule matches, so callgrind can count what the shim adds to calls that
 * name a file without opening it (unlink, rename, chmod) and to one it
 * does not wrap (stat), against the bare program.
 *
 *   pathloop OP DIR N      OP: stat | chmod | rename | unlink
 *
 * Creates DIR/fNNNN (N of them, N <= 100000) before the counted part, then
 * runs pathloop_OP, the only function bench/pathloop.sh collects, which
 * makes one OP call per file (rename: fNNNN to gNNNN), then removes what
 * is left. Creating and removing are raw system calls (4 per file), which
 * no preloaded object sees. Exits 0 when every call succeeded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PATHLOOP_MAX_FILES 100000

static char (*pathloop_names)[2][256];
static unsigned pathloop_count;

__attribute__((noinline)) static int pathloop_stat(void)
{
	struct stat st;
	int bad = 0;

	for (unsigned i = 0; i < pathloop_count; i++)
		bad |= stat(pathloop_names[i][0], &st);
	return bad;
}

__attribute__((noinline)) static int pathloop_chmod(void)
{
	int bad = 0;

	for (unsigned i = 0; i < pathloop_count; i++)
		bad |= chmod(pathloop_names[i][0], 0640);
	return bad;
}

__attribute__((noinline)) static int pathloop_rename(void)
{
	int bad = 0;

	for (unsigned i = 0; i < pathloop_count; i++)
		bad |= rename(pathloop_names[i][0], pathloop_names[i][1]);
	return bad;
}

__attribute__((noinline)) static int pathloop_unlink(void)
{
	int bad = 0;

	for (unsigned i = 0; i < pathloop_count; i++)
		bad |= unlink(pathloop_names[i][0]);
	return bad;
}

static const struct {
	const char *name;
	int (*run)(void);
} pathloop_ops[] = {
	{ "stat", pathloop_stat },
	{ "chmod", pathloop_chmod },
	{ "rename", pathloop_rename },
	{ "unlink", pathloop_unlink },
};

int main(int argc, char **argv)
{
	int (*run)(void) = NULL;
	int bad;

	if (argc != 4) {
		fprintf(stderr, "usage: pathloop stat|chmod|rename|unlink DIR N\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(pathloop_ops) / sizeof(pathloop_ops[0]); i++)
		if (strcmp(argv[1], pathloop_ops[i].name) == 0)
			run = pathloop_ops[i].run;
	pathloop_count = (unsigned)strtoul(argv[3], NULL, 10);
	if (run == NULL || pathloop_count == 0 ||
	    pathloop_count > PATHLOOP_MAX_FILES) {
		fprintf(stderr, "pathloop: unknown OP or N out of 1..%d\n",
			PATHLOOP_MAX_FILES);
		return 2;
	}
	pathloop_names = calloc(pathloop_count, sizeof(*pathloop_names));
	if (pathloop_names == NULL)
		return 1;
	for (unsigned i = 0; i < pathloop_count; i++) {
		int fd;

		snprintf(pathloop_names[i][0], 256, "%s/f%05u", argv[2], i);
		snprintf(pathloop_names[i][1], 256, "%s/g%05u", argv[2], i);
		fd = (int)syscall(SYS_openat, AT_FDCWD, pathloop_names[i][0],
				  O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || syscall(SYS_close, fd) != 0) {
			perror(pathloop_names[i][0]);
			return 1;
		}
	}
	bad = run();
	for (unsigned i = 0; i < pathloop_count; i++) {
		syscall(SYS_unlinkat, AT_FDCWD, pathloop_names[i][0], 0);
		syscall(SYS_unlinkat, AT_FDCWD, pathloop_names[i][1], 0);
	}
	return bad != 0;
}
