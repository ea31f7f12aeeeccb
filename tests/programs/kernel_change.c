/*
 * kernel_change.c - changes files in ways no preloaded library sees, for
 * the kernel safety net's tests. Every call is a raw syscall(2); linked
 * -static, nothing can be preloaded either.
 *
 *   kernel_change create PATH        openat(O_CREAT|O_EXCL), one write
 *   kernel_change unlink PATH        unlinkat
 *   kernel_change rename OLD NEW     renameat2 (flags 0)
 *   kernel_change chmod PATH MODE    fchmodat, MODE in octal
 *
 * The process then waits PAUSE_MS (environment, default 300) so that the
 * collector can still read who it was from /proc. Exit 0, or 1 with a
 * message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long change(int argc, char **argv)
{
	const char *op = argv[1];

	if (strcmp(op, "create") == 0 && argc == 3) {
		long fd = syscall(SYS_openat, AT_FDCWD, argv[2],
				  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0)
			return -1;
		if (syscall(SYS_write, fd, "created\n", 8) != 8)
			return -1;
		return syscall(SYS_close, fd);
	}
	if (strcmp(op, "unlink") == 0 && argc == 3)
		return syscall(SYS_unlinkat, AT_FDCWD, argv[2], 0);
	if (strcmp(op, "rename") == 0 && argc == 4)
		return syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD,
			       argv[3], 0);
	if (strcmp(op, "chmod") == 0 && argc == 4)
		return syscall(SYS_fchmodat, AT_FDCWD, argv[2],
			       (unsigned)strtoul(argv[3], NULL, 8));
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	const char *pause = getenv("PAUSE_MS");
	long ms = pause != NULL ? atol(pause) : 300;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (argc < 3) {
		fprintf(stderr, "usage: kernel_change create|unlink|rename|chmod "
			"PATH [NEW|MODE]\n");
		return 1;
	}
	if (change(argc, argv) < 0) {
		fprintf(stderr, "kernel_change: %s %s: %s\n", argv[1], argv[2],
			strerror(errno));
		return 1;
	}
	nanosleep(&ts, NULL);
	return 0;
}
