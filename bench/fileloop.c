/*
 * fileloop.c - the benchmark workload: a bounded loop of open, read 4 KiB,
 * close over a tree of small files, timed from inside the process so that
 * program start-up (and the shim's constructor) is not part of the figure.
 *
 * It owns the file tree layout (DIR/pNN/fNNNN, 4096 bytes each, patient NN =
 * file index modulo 16) and the one-line result it prints on stdout:
 *   iterations=N threads=T forks=F ns=WALL ns_per_iteration=X rss_kb=R hwm_kb=H
 * It must never do anything inside the timed loop but the three calls (and
 * fork/waitpid in -F mode, fork/exec/waitpid in -X mode: the child runs
 * PROGRAM FILE with stdout on /dev/null, as a shell loop runs cat), and never
 * run unbounded: -n caps the count and
 * -s the seconds. Linked against libc and pthread only, so that what a
 * preloaded object adds is all that differs between a bare and a shim run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILELOOP_FILE_BYTES 4096
#define FILELOOP_PATIENTS 16
#define FILELOOP_MAX_FILES 4096
#define FILELOOP_MAX_THREADS 64
#define FILELOOP_CHECK_EVERY 64          /* iterations between clock reads */

static char (*file_paths)[256];
static unsigned file_count;
static unsigned long iterations_per_thread = 10000;
static double max_seconds = 60.0;
static int64_t deadline_ns;
static const char *exec_program;          /* -X: the child execs this */

struct worker {
	pthread_t thread;
	unsigned first_file;
	unsigned long done;
	int failed;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One open/read/close; 0 or -1 (the file is missing or short). */
static inline int
one_iteration(const char *path)
{
	char buf[FILELOOP_FILE_BYTES];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)sizeof(buf) ? 0 : -1;
}

/* Not inlined: callgrind --toggle-collect=fileloop_timed counts this only. */
__attribute__((noinline)) void
fileloop_timed(struct worker *w)
{
	unsigned long i;
	unsigned f = w->first_file;

	for (i = 0; i < iterations_per_thread; i++) {
		if (one_iteration(file_paths[f]) < 0) {
			w->failed = 1;
			break;
		}
		if (++f == file_count)
			f = 0;
		if (i % FILELOOP_CHECK_EVERY == FILELOOP_CHECK_EVERY - 1 &&
		    now_ns() > deadline_ns) {
			i++;
			break;
		}
	}
	w->done = i;
}

/* -X: the child runs exec_program FILE, stdout on /dev/null (stdin kept). */
static void
child_exec(const char *path)
{
	int null = open("/dev/null", O_WRONLY);

	if (null < 0 || dup2(null, 1) < 0)
		_exit(126);
	close(null);
	execl(exec_program, exec_program, path, (char *)NULL);
	_exit(127);
}

/*
 * -F: one child per file; the child does one iteration and exits (or, with
 * -X, execs exec_program on the file).
 */
__attribute__((noinline)) void
fileloop_forked(struct worker *w)
{
	unsigned long i;
	unsigned f = w->first_file;
	int status;
	pid_t pid;

	for (i = 0; i < iterations_per_thread; i++) {
		pid = fork();
		if (pid < 0) {
			w->failed = 1;
			break;
		}
		if (pid == 0 && exec_program != NULL)
			child_exec(file_paths[f]);
		if (pid == 0)
			_exit(one_iteration(file_paths[f]) < 0 ? 1 : 0);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			w->failed = 1;
			break;
		}
		if (++f == file_count)
			f = 0;
		if (now_ns() > deadline_ns) {
			i++;
			break;
		}
	}
	w->done = i;
}

static void *
worker_main(void *arg)
{
	fileloop_timed(arg);
	return NULL;
}

static long
status_kb(const char *key)
{
	char line[256];
	size_t keylen = strlen(key);
	long kb = -1;
	FILE *fp;

	fp = fopen("/proc/self/status", "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, keylen) == 0 && line[keylen] == ':') {
			kb = strtol(line + keylen + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return kb;
}

static int
create_tree(const char *dir)
{
	char buf[FILELOOP_FILE_BYTES];
	char path[512];
	unsigned i;
	int fd;

	memset(buf, 'x', sizeof(buf));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < FILELOOP_PATIENTS; i++) {
		snprintf(path, sizeof(path), "%s/p%02u", dir, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	for (i = 0; i < file_count; i++) {
		fd = open(file_paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -1;
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fileloop [-c] [-F [-X PROGRAM]] [-n ITERATIONS] [-t THREADS] "
	    "[-s MAX_SECONDS] [-w WARMUP] DIR FILES\n"
	    "  -c  create the tree DIR/pNN/fNNNN (FILES files of 4096 bytes) and exit\n"
	    "  -F  fork one child per iteration (the child opens/reads/closes, exits)\n"
	    "  -X  with -F: the child execs PROGRAM FILE instead (stdout to /dev/null)\n"
	    "  -n  iterations per thread (default 10000), -t threads (default 1)\n"
	    "  -s  stop after this many seconds at most (default 60)\n"
	    "  -w  untimed iterations before the loop (default 100)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct worker workers[FILELOOP_MAX_THREADS];
	unsigned long warmup = 100, total = 0, i;
	unsigned threads = 1, t;
	int create = 0, forked = 0, failed = 0, c;
	int64_t start, end;
	char *endp;

	while ((c = getopt(argc, argv, "cFX:n:t:s:w:")) != -1) {
		switch (c) {
		case 'c': create = 1; break;
		case 'F': forked = 1; break;
		case 'X': exec_program = optarg; break;
		case 'n': iterations_per_thread = strtoul(optarg, &endp, 10); break;
		case 't': threads = (unsigned)strtoul(optarg, &endp, 10); break;
		case 's': max_seconds = strtod(optarg, &endp); break;
		case 'w': warmup = strtoul(optarg, &endp, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	file_count = (unsigned)strtoul(argv[optind + 1], &endp, 10);
	if (*endp != '\0' || file_count == 0 || file_count > FILELOOP_MAX_FILES ||
	    threads == 0 || threads > FILELOOP_MAX_THREADS || max_seconds <= 0 ||
	    (forked && threads != 1) || (exec_program != NULL && !forked))
		usage();
	file_paths = calloc(file_count, sizeof(*file_paths));
	if (file_paths == NULL)
		return 1;
	for (i = 0; i < file_count; i++)
		snprintf(file_paths[i], sizeof(file_paths[i]), "%s/p%02lu/f%04lu",
		    argv[optind], i % FILELOOP_PATIENTS, i);
	if (create) {
		if (create_tree(argv[optind]) < 0) {
			perror("fileloop: creating the tree");
			return 1;
		}
		return 0;
	}

	for (i = 0; i < warmup; i++) {
		if (one_iteration(file_paths[i % file_count]) < 0) {
			fprintf(stderr, "fileloop: cannot read %s\n",
			    file_paths[i % file_count]);
			return 1;
		}
	}

	memset(workers, 0, sizeof(workers));
	start = now_ns();
	deadline_ns = start + (int64_t)(max_seconds * 1e9);
	if (forked) {
		fileloop_forked(&workers[0]);
	} else if (threads == 1) {
		fileloop_timed(&workers[0]);
	} else {
		for (t = 0; t < threads; t++) {
			workers[t].first_file = (t * file_count) / threads;
			if (pthread_create(&workers[t].thread, NULL, worker_main,
			    &workers[t]) != 0) {
				fprintf(stderr, "fileloop: pthread_create failed\n");
				return 1;
			}
		}
		for (t = 0; t < threads; t++)
			pthread_join(workers[t].thread, NULL);
	}
	end = now_ns();

	for (t = 0; t < threads; t++) {
		total += workers[t].done;
		failed |= workers[t].failed;
	}
	if (failed || total == 0) {
		fprintf(stderr, "fileloop: an iteration failed\n");
		return 1;
	}
	printf("iterations=%lu threads=%u forks=%lu ns=%lld ns_per_iteration=%.1f "
	    "rss_kb=%ld hwm_kb=%ld\n", total, threads, forked ? total : 0,
	    (long long)(end - start), (double)(end - start) / (double)total,
	    status_kb("VmRSS"), status_kb("VmHWM"));
	return 0;
}
