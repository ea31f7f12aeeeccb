/*
 * opath.c - a file reached through an O_PATH descriptor (the way find,
 * systemd and container runtimes do it), one use per command:
 *
 *   opath chmod-proc FILE     open(FILE, O_PATH), chmod("/proc/self/fd/N",
 *                             0640); prints that name on stderr
 *   opath chown-empty FILE    open(FILE, O_PATH), fchownat(fd, "", -1, -1,
 *                             AT_EMPTY_PATH): no change, but a request
 *   opath openat DIR NAME     open(DIR, O_PATH | O_DIRECTORY), openat(fd,
 *                             NAME, O_RDONLY), copies NAME to stdout
 *
 * Exits 0 when every call returned what libc promises, 1 otherwise.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int opath_chmod_proc(const char *file)
{
	char name[64];
	int fd = open(file, O_PATH);

	if (fd < 0)
		return 1;
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	fprintf(stderr, "%s\n", name);
	return chmod(name, 0640) != 0 || close(fd) != 0;
}

static int opath_chown_empty(const char *file)
{
	int fd = open(file, O_PATH);

	if (fd < 0)
		return 1;
	return fchownat(fd, "", (uid_t)-1, (gid_t)-1, AT_EMPTY_PATH) != 0 ||
		close(fd) != 0;
}

static int opath_openat(const char *dir, const char *name)
{
	char buf[4096];
	ssize_t n;
	int dirfd = open(dir, O_PATH | O_DIRECTORY), fd;

	if (dirfd < 0)
		return 1;
	fd = openat(dirfd, name, O_RDONLY);
	if (fd < 0)
		return 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	return n != 0 || close(fd) != 0 || close(dirfd) != 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "chmod-proc") == 0)
		return opath_chmod_proc(argv[2]);
	if (argc == 3 && strcmp(argv[1], "chown-empty") == 0)
		return opath_chown_empty(argv[2]);
	if (argc == 4 && strcmp(argv[1], "openat") == 0)
		return opath_openat(argv[2], argv[3]);
	fprintf(stderr, "usage: opath chmod-proc FILE | chown-empty FILE | "
		"openat DIR NAME\n");
	return 2;
}
