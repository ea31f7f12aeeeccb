/*
 * probe.c - small programs the shim's test scripts run under the shim,
 * each one a situation a host program can create:
 *
 *   probe threads FILE N     N threads read one PHI descriptor at once
 *   probe fork FILE          parent and child each open and read FILE
 *   probe closeall FILE A B  read A, close every descriptor >= 3, read B
 *   probe dup2over FILE A B  read A, dup2 a pipe over every fd 3..1023, read B
 *   probe errno FILE         checks errno and results against libc's
 *   probe dup FILE           read through a dup: one Viewed
 *
 * Prints "ok" and exits 0 when the program saw what libc promises; the
 * records are checked by the calling script.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	return 1;
}

static int read_file(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf)) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int shared_fd;

static void *reader(void *arg)
{
	char buf[4];

	(void)arg;
	for (int i = 0; i < 200; i++)
		if (pread(shared_fd, buf, sizeof(buf), 0) < 0)
			return (void *)1;
	return NULL;
}

static int probe_threads(const char *path, int n)
{
	pthread_t t[64];

	shared_fd = open(path, O_RDONLY);
	if (shared_fd < 0)
		return fail("open");
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 0; i < n; i++) {
		void *r;

		pthread_join(t[i], &r);
		if (r != NULL)
			return fail("pread");
	}
	return 0;
}

static int probe_fork(const char *path)
{
	int status;
	pid_t pid;

	if (read_file(path) < 0)
		return fail("parent read");
	pid = fork();
	if (pid == 0)
		_exit(read_file(path) < 0 ? 1 : 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return fail("child");
	return read_file(path) < 0 ? fail("parent read 2") : 0;
}

static int probe_closeall(const char *a, const char *b)
{
	if (read_file(a) < 0)
		return fail("read a");
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	return read_file(b) < 0 ? fail("read b") : 0;
}

static int probe_dup2over(const char *a, const char *b)
{
	int p[2];
	char c;

	if (read_file(a) < 0)
		return fail("read a");
	if (pipe(p) != 0)
		return fail("pipe");
	for (int fd = 3; fd < 1024; fd++)
		if (fd != p[0] && fd != p[1])
			dup2(p[1], fd);
	if (read_file(b) < 0)
		return fail("read b");
	/* nothing may have been written into the program's pipe */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (read(p[0], &c, 1) != -1 || errno != EAGAIN) {
		fprintf(stderr, "probe: the shim wrote into the program's pipe\n");
		return 1;
	}
	return 0;
}

static int probe_errno(const char *path)
{
	char buf[8];
	int fd;

	errno = 12345;
	fd = open(path, O_RDONLY);
	if (fd < 0 || errno != 12345)
		return fail("open kept errno");
	errno = 777;
	if (read(fd, buf, sizeof(buf)) < 0 || errno != 777)
		return fail("read kept errno");
	if (read(-5, buf, 1) != -1 || errno != EBADF)
		return fail("read(-5) EBADF");
	if (open("/tmp/no/such/dir/x", O_RDONLY) != -1 || errno != ENOENT)
		return fail("open ENOENT");
	if (close(fd) != 0 || close(fd) != -1 || errno != EBADF)
		return fail("double close EBADF");
	return 0;
}

static int probe_dup(const char *path)
{
	char buf[4];
	int fd = open(path, O_RDONLY), fd2;

	if (fd < 0)
		return fail("open");
	fd2 = dup(fd);
	close(fd);
	if (fd2 < 0 || read(fd2, buf, sizeof(buf)) < 0 ||
	    pread(fd2, buf, sizeof(buf), 0) < 0)
		return fail("read via dup");
	return close(fd2);
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 4 && strcmp(argv[1], "threads") == 0)
		rc = probe_threads(argv[2], atoi(argv[3]));
	else if (argc >= 3 && strcmp(argv[1], "fork") == 0)
		rc = probe_fork(argv[2]);
	else if (argc >= 4 && strcmp(argv[1], "closeall") == 0)
		rc = probe_closeall(argv[2], argv[3]);
	else if (argc >= 4 && strcmp(argv[1], "dup2over") == 0)
		rc = probe_dup2over(argv[2], argv[3]);
	else if (argc >= 3 && strcmp(argv[1], "errno") == 0)
		rc = probe_errno(argv[2]);
	else if (argc >= 3 && strcmp(argv[1], "dup") == 0)
		rc = probe_dup(argv[2]);
	else
		fprintf(stderr, "usage: probe threads|fork|closeall|dup2over|errno|dup ...\n");
	if (rc == 0)
		printf("ok\n");
	return rc;
}
