/*
 * mapload.c - a host program for the mapped spool tests: it makes PHI
 * records in known numbers and orders, from threads, signal handlers and
 * forked children, so a test can count the trail against what it did.
 * Every open + read + close of a PHI file is one "PHI File Viewed" record.
 *
 *   mapload threads DIR T N [COUNTS]
 *       T threads, each N times: open, read, close DIR/t<k>_<i % 16>.txt;
 *       with COUNTS, a file of T 8-byte counters (mapped, shared) where
 *       thread k stores how many of its calls have returned (a test that
 *       kills the program reads them); prints T*N
 *   mapload closefd DIR N
 *       N/4 reads, closes every descriptor from 3 up (closefrom), then the
 *       other reads; prints N
 *   mapload signals DIR N
 *       N reads of DIR/m<i % 16>.txt while a 1 ms interval timer's SIGALRM
 *       handler (armed after the first read) reads DIR/sig.txt; prints
 *       "main=N signal=M"
 *   mapload fork DIR N
 *       N reads of DIR/parent.txt, then a child (fork) does N reads of
 *       DIR/child.txt and exits; the parent waits; prints 2*N
 *   mapload idle FILE READY [N]
 *       N reads of FILE (default 1), then writes "1" into READY, waits for READY to
 *       be removed, reads FILE once more and sleeps 2 s (so the file's
 *       writer is alive while the test looks)
 * Exits 0 when every call did what was asked, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAPLOAD_MAX_THREADS 64

static const char *dir;
static long per_thread;
static volatile int64_t *counts;          /* shared counters, or NULL */
static volatile sig_atomic_t signal_reads, signal_failed;

static int read_path(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf)) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int read_nth(const char *prefix, long i)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s%ld.txt", dir, prefix, i % 16);
	if (read_path(path) < 0) {
		fprintf(stderr, "mapload: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void *thread_main(void *arg)
{
	long k = (long)(intptr_t)arg, i;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "t%ld_", k);
	for (i = 0; i < per_thread; i++) {
		if (read_nth(prefix, i) < 0)
			return (void *)1;
		if (counts != NULL)
			__atomic_store_n(&counts[k], i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int cmd_threads(int argc, char **argv)
{
	pthread_t threads[MAPLOAD_MAX_THREADS];
	long t, k;
	int bad = 0;

	if (argc < 5)
		return 2;
	t = atol(argv[3]);
	per_thread = atol(argv[4]);
	if (t <= 0 || t > MAPLOAD_MAX_THREADS || per_thread < 0)
		return 2;
	if (argc > 5) {
		int fd = open(argv[5], O_RDWR | O_CREAT | O_TRUNC, 0644);
		void *p;

		if (fd < 0 || ftruncate(fd, (off_t)(t * 8)) < 0)
			return 1;
		p = mmap(NULL, (size_t)t * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return 1;
		counts = p;
		close(fd);
	}
	for (k = 0; k < t; k++)
		if (pthread_create(&threads[k], NULL, thread_main, (void *)(intptr_t)k) != 0)
			return 1;
	for (k = 0; k < t; k++) {
		void *rc;

		pthread_join(threads[k], &rc);
		bad |= rc != NULL;
	}
	printf("%ld\n", t * per_thread);
	return bad;
}

static int cmd_closefd(int argc, char **argv)
{
	long n, i;

	if (argc < 4)
		return 2;
	n = atol(argv[3]);
	for (i = 0; i < n; i++) {
		if (i == n / 4) {
			fflush(stdout);
			closefrom(3);
		}
		if (read_nth("f", i) < 0)
			return 1;
	}
	printf("%ld\n", n);
	return 0;
}

static void on_alarm(int sig)
{
	char path[4096];
	int saved = errno;

	(void)sig;
	snprintf(path, sizeof(path), "%s/sig.txt", dir);
	if (read_path(path) == 0)
		signal_reads++;
	else
		signal_failed = 1;
	errno = saved;
}

static int cmd_signals(int argc, char **argv)
{
	struct itimerval every = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	long n, i;

	if (argc < 4)
		return 2;
	n = atol(argv[3]);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (read_nth("m", i) < 0)
			return 1;
		/* after the first record: the spool file is there */
		if (i == 0 && setitimer(ITIMER_REAL, &every, NULL) < 0)
			return 1;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	printf("main=%ld signal=%ld\n", n, (long)signal_reads);
	return signal_failed;
}

static int cmd_fork(int argc, char **argv)
{
	char path[4096];
	long n, i;
	pid_t child;
	int status;

	if (argc < 4)
		return 2;
	n = atol(argv[3]);
	snprintf(path, sizeof(path), "%s/parent.txt", dir);
	for (i = 0; i < n; i++)
		if (read_path(path) < 0)
			return 1;
	fflush(stdout);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		snprintf(path, sizeof(path), "%s/child.txt", dir);
		for (i = 0; i < n; i++)
			if (read_path(path) < 0)
				_exit(1);
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 1;
	printf("%ld\n", 2 * n);
	return 0;
}

static int cmd_idle(int argc, char **argv)
{
	long reads = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
	FILE *ready;

	if (argc < 4 || reads < 1)
		return 2;
	for (long i = 0; i < reads; i++)
		if (read_path(argv[2]) < 0)
			return 1;
	ready = fopen(argv[3], "w");
	if (ready == NULL)
		return 1;
	fputs("1\n", ready);
	fclose(ready);
	for (int i = 0; i < 600 && access(argv[3], F_OK) == 0; i++)
		usleep(50000);
	if (read_path(argv[2]) < 0)
		return 1;
	sleep(2);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mapload threads|closefd|signals|fork|idle ...\n");
		return 2;
	}
	dir = argv[2];
	if (strcmp(argv[1], "threads") == 0)
		return cmd_threads(argc, argv);
	if (strcmp(argv[1], "closefd") == 0)
		return cmd_closefd(argc, argv);
	if (strcmp(argv[1], "signals") == 0)
		return cmd_signals(argc, argv);
	if (strcmp(argv[1], "fork") == 0)
		return cmd_fork(argc, argv);
	if (strcmp(argv[1], "idle") == 0)
		return cmd_idle(argc, argv);
	return 2;
}
