/*
 * phiload.c - a host program for the fault tests: it touches PHI files in
 * known numbers so a test can count the trail against what it did. Every
 * open + read + close of a PHI file is one "PHI File Viewed" record.
 *
 *   phiload read DIR N [K [US]]
 *                            N times: open, read, close DIR/f<i % K>.txt
 *                            (K defaults to 16), pausing US microseconds
 *                            after every 1000; prints N
 *   phiload readwait FILE READY
 *                            reads FILE, then writes its pid into READY
 *                            and sleeps (the test kills it with SIGKILL)
 *   phiload steps FILE FIFO STEPS
 *                            for each char of STEPS: 'r' reads FILE, 'w'
 *                            appends to FILE, 'g' waits for a line on FIFO;
 *                            prints "r:0 w:EACCES ..." (errno of each step)
 * Exits 0 when every call did what was asked, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_file(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return errno;
	if (read(fd, buf, sizeof(buf)) < 0) {
		int err = errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

static int append_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	if (fd < 0)
		return errno;
	if (write(fd, "appended\n", 9) != 9) {
		int err = errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

static int cmd_read(int argc, char **argv)
{
	long n, k = 16, pause_us = 0, i;
	char path[4096];

	if (argc < 4)
		return 2;
	n = atol(argv[3]);
	if (argc > 4)
		k = atol(argv[4]);
	if (argc > 5)
		pause_us = atol(argv[5]);
	if (k <= 0)
		return 2;
	for (i = 0; i < n; i++) {
		if (pause_us > 0 && i > 0 && i % 1000 == 0)
			usleep((useconds_t)pause_us);
		snprintf(path, sizeof(path), "%s/f%ld.txt", argv[2], i % k);
		if (read_file(path) != 0) {
			fprintf(stderr, "phiload: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	printf("%ld\n", n);
	return 0;
}

static int cmd_readwait(int argc, char **argv)
{
	char pid[32];
	int fd;

	if (argc != 4)
		return 2;
	if (read_file(argv[2]) != 0)
		return 1;
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	if (write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid))
		return 1;
	close(fd);
	for (;;)
		pause();
}

static int cmd_steps(int argc, char **argv)
{
	const char *s;
	char line[64];
	FILE *fifo = NULL;
	int status = 0;

	if (argc != 5)
		return 2;
	for (s = argv[4]; *s != '\0'; s++) {
		int err = 0;

		switch (*s) {
		case 'r':
			err = read_file(argv[2]);
			break;
		case 'w':
			err = append_file(argv[2]);
			break;
		case 'g':
			if (fifo == NULL)
				fifo = fopen(argv[3], "r");
			if (fifo == NULL || fgets(line, sizeof(line), fifo) == NULL)
				return 1;
			continue;
		default:
			return 2;
		}
		printf("%c:%s ", *s, err == 0 ? "0" : err == EACCES ? "EACCES" :
		       strerror(err));
		fflush(stdout);
		if (err != 0 && err != EACCES)
			status = 1;
	}
	printf("\n");
	if (fifo != NULL)
		fclose(fifo);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "read") == 0)
		return cmd_read(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "readwait") == 0)
		return cmd_readwait(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "steps") == 0)
		return cmd_steps(argc, argv);
	fprintf(stderr, "usage: phiload read DIR N [K] | readwait FILE READY | "
		"steps FILE FIFO STEPS\n");
	return 2;
}
