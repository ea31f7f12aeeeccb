/*
 * kernel_read.c - reads files in ways no preloaded library sees, for the
 * kernel safety net's tests:
 *
 *   kernel_read raw FILE...     openat/read/close by syscall(2)
 *   kernel_read uring FILE...   open, then each read through io_uring
 *   kernel_read plain FILE...   open/read/close through libc (linked
 *                               -static, nothing can be preloaded)
 *
 * A FILE of the form @LIST names a file holding one path per line.
 * Each file is read to its end and its bytes go to stdout. The process
 * then waits PAUSE_MS (environment, default 300) so that the collector can
 * still read who it was from /proc. Exit 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_URING
#include <liburing.h>
#endif

static int read_raw(const char *path)
{
	char buf[4096];
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	while ((n = syscall(SYS_read, fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			break;
	syscall(SYS_close, fd);
	return n < 0 ? -1 : 0;
}

static int read_plain(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			break;
	close(fd);
	return n < 0 ? -1 : 0;
}

#ifdef WITH_URING
static int read_uring(const char *path)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char buf[4096];
	off_t off = 0;
	int fd, rc = 0;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		io_uring_queue_exit(&ring);
		return -1;
	}
	for (;;) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), (unsigned long long)off);
		io_uring_submit(&ring);
		if (io_uring_wait_cqe(&ring, &cqe) < 0) {
			rc = -1;
			break;
		}
		int n = cqe->res;

		io_uring_cqe_seen(&ring, cqe);
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (write(1, buf, (size_t)n) != n)
			break;
		off += n;
	}
	close(fd);
	io_uring_queue_exit(&ring);
	return rc;
}
#endif

/* Reads every path listed in list (one per line) with how. */
static int read_list(int (*how)(const char *), const char *list)
{
	char line[4096];
	FILE *fp = fopen(list, "r");
	int rc = 0;

	if (fp == NULL)
		return -1;
	while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '\0')
			rc = how(line);
	}
	fclose(fp);
	return rc;
}

int main(int argc, char **argv)
{
	int (*how)(const char *) = NULL;
	const char *pause = getenv("PAUSE_MS");
	long ms = pause != NULL ? atol(pause) : 300;

	if (argc < 3) {
		fprintf(stderr, "usage: kernel_read raw|uring|plain FILE...\n");
		return 1;
	}
	if (strcmp(argv[1], "raw") == 0)
		how = read_raw;
	else if (strcmp(argv[1], "plain") == 0)
		how = read_plain;
#ifdef WITH_URING
	else if (strcmp(argv[1], "uring") == 0)
		how = read_uring;
#endif
	if (how == NULL) {
		fprintf(stderr, "kernel_read: unknown way '%s'\n", argv[1]);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if ((argv[i][0] == '@' ? read_list(how, argv[i] + 1) :
		     how(argv[i])) < 0) {
			fprintf(stderr, "kernel_read: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	return 0;
}
