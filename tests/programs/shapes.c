/*
 * shapes.c - the process shapes a host program can take, one per command,
 * each reading PHI files so the trail shows whether the shim followed:
 *
 *   shapes threads DIR N      N threads each read DIR/t<i>_<j>.txt, j < 10
 *   shapes forkthreads FILE PUBLIC  fork 3 times while 4 threads read the
 *                             relative non-PHI path PUBLIC in a loop (inside
 *                             the shim's path lock); each child reads FILE
 *   shapes Fork FILE          _Fork; the child reads FILE
 *   shapes vfork A B          opens A; vfork child closes every fd and
 *                             execs cat B; the parent then reads A
 *   shapes scrubbed FILE      execve cat FILE with only PATH in the env
 *   shapes execv FILE         unsetenv LD_PRELOAD, execv cat FILE
 *   shapes fexecve FILE       fexecve cat FILE with an empty env
 *   shapes spawn FILE         posix_spawn cat, posix_spawnp cat, empty envs
 *   shapes spawn_old FILE     the same through the old symbol versions
 *                             (posix_spawn@GLIBC_2.2.5; 77 elsewhere)
 *   shapes system FILE        system("cat FILE"), popen("cat FILE")
 *   shapes signal DIR         blocks inside open() of the FIFO DIR/fifo; a
 *                             SIGALRM handler reads DIR/sig.txt, then opens
 *                             the FIFO so the retried open returns
 *   shapes closefrom A B      reads A, closefrom(3), reads B
 *   shapes close_range A B    reads A, close_range(3, ~0U, 0), reads B
 *   shapes closeloop A B      reads A, closes 3..RLIMIT_NOFILE-1, reads B
 *   shapes highfd FILE        opens FILE, moves it to the highest descriptor
 *                             RLIMIT_NOFILE's hard limit allows (at most
 *                             200000), reads it there
 *
 * Exits 0 when every call returned what libc promises.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int die(const char *what)
{
	fprintf(stderr, "shapes: %s: %s\n", what, strerror(errno));
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

static int wait_ok(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static const char *thread_dir;

static void *thread_reader(void *arg)
{
	char path[4096];

	for (int j = 0; j < 10; j++) {
		snprintf(path, sizeof(path), "%s/t%ld_%d.txt", thread_dir,
			 (long)arg, j);
		if (read_file(path) < 0)
			return (void *)1;
	}
	return NULL;
}

static int shape_threads(const char *dir, int n)
{
	pthread_t t[64];
	void *ret;
	int bad = 0;

	thread_dir = dir;
	for (long i = 0; i < n && i < 64; i++)
		if (pthread_create(&t[i], NULL, thread_reader, (void *)i) != 0)
			return die("pthread_create");
	for (int i = 0; i < n && i < 64; i++) {
		pthread_join(t[i], &ret);
		bad |= ret != NULL;
	}
	return bad;
}

static volatile int spin_stop;
static const char *spin_file;

static void *thread_spinner(void *arg)
{
	(void)arg;
	while (!spin_stop)
		if (read_file(spin_file) < 0)
			return (void *)1;
	return NULL;
}

static int shape_forkthreads(const char *file, const char *public_file)
{
	pthread_t t[4];
	pid_t pid;
	int rc = 0;

	spin_file = public_file;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_spinner, NULL);
	for (int k = 0; k < 3 && rc == 0; k++) {
		pid = fork();
		if (pid < 0)
			return die("fork");
		if (pid == 0)
			_exit(read_file(file) == 0 ? 0 : 1);
		rc = wait_ok(pid);
	}
	spin_stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return rc != 0;
}

static int shape_Fork(const char *file)
{
	pid_t pid = _Fork();

	if (pid < 0)
		return die("_Fork");
	if (pid == 0)
		_exit(read_file(file) == 0 ? 0 : 1);
	return wait_ok(pid) != 0;
}

static int shape_vfork(const char *a, const char *b)
{
	char buf[8];
	int fd = open(a, O_RDONLY);
	pid_t pid;

	if (fd < 0)
		return die("open");
	pid = vfork();
	if (pid < 0)
		return die("vfork");
	if (pid == 0) {
		for (int i = 3; i < 1024; i++)
			close(i);
		execl("/bin/cat", "cat", b, (char *)NULL);
		_exit(127);
	}
	if (wait_ok(pid) != 0)
		return die("child");
	if (read(fd, buf, sizeof(buf)) <= 0)   /* the parent's state is whole */
		return die("read");
	return close(fd) != 0;
}

static int shape_scrubbed(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };

	execve("/bin/cat", argv, envp);
	return die("execve");
}

static int shape_execv(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };

	unsetenv("LD_PRELOAD");
	unsetenv("PHITRAIL_CONFIG");
	execv("/bin/cat", argv);
	return die("execv");
}

static int shape_fexecve(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };
	char *envp[] = { NULL };
	int fd = open("/bin/cat", O_RDONLY);

	if (fd < 0)
		return die("open /bin/cat");
	fexecve(fd, argv, envp);
	return die("fexecve");
}

static int shape_spawn(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };
	char *envp[] = { NULL };
	char *envp_path[] = { "PATH=/usr/bin:/bin", NULL };
	pid_t pid;

	if (posix_spawn(&pid, "/bin/cat", NULL, NULL, argv, envp) != 0 ||
	    wait_ok(pid) != 0)
		return die("posix_spawn");
	if (posix_spawnp(&pid, "cat", NULL, NULL, argv, envp_path) != 0 ||
	    wait_ok(pid) != 0)
		return die("posix_spawnp");
	return 0;
}

#if defined(__x86_64__) && defined(__GLIBC__)
int spawn_old(pid_t *pid, const char *path,
	      const posix_spawn_file_actions_t *actions,
	      const posix_spawnattr_t *attr, char *const argv[],
	      char *const envp[]);
int spawnp_old(pid_t *pid, const char *file,
	       const posix_spawn_file_actions_t *actions,
	       const posix_spawnattr_t *attr, char *const argv[],
	       char *const envp[]);
__asm__(".symver spawn_old, posix_spawn@GLIBC_2.2.5");
__asm__(".symver spawnp_old, posix_spawnp@GLIBC_2.2.5");

static int shape_spawn_old(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };
	char *envp[] = { NULL };
	char *envp_path[] = { "PATH=/usr/bin:/bin", NULL };
	pid_t pid;

	if (spawn_old(&pid, "/bin/cat", NULL, NULL, argv, envp) != 0 ||
	    wait_ok(pid) != 0)
		return die("posix_spawn@GLIBC_2.2.5");
	if (spawnp_old(&pid, "cat", NULL, NULL, argv, envp_path) != 0 ||
	    wait_ok(pid) != 0)
		return die("posix_spawnp@GLIBC_2.2.5");
	return 0;
}
#else
static int shape_spawn_old(const char *file)
{
	(void)file;
	return 77;
}
#endif

static int shape_system(const char *file)
{
	char cmd[4200], buf[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "cat '%s' >/dev/null", file);
	if (system(cmd) != 0)
		return die("system");
	snprintf(cmd, sizeof(cmd), "cat '%s'", file);
	p = popen(cmd, "r");
	if (p == NULL)
		return die("popen");
	while (fgets(buf, sizeof(buf), p) != NULL)
		;
	return pclose(p) != 0;
}

static char signal_dir[4096];
static volatile sig_atomic_t signal_ok;
static volatile sig_atomic_t signal_writer = -1;

static void on_alarm(int sig)
{
	char path[4200];
	int fd;

	(void)sig;
	snprintf(path, sizeof(path), "%s/sig.txt", signal_dir);
	signal_ok = read_file(path) == 0;
	snprintf(path, sizeof(path), "%s/fifo", signal_dir);
	fd = open(path, O_RDWR);   /* a writer: the reader's open now returns */
	signal_writer = fd;
}

static int shape_signal(const char *dir)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	char path[4200];
	int fd;

	snprintf(signal_dir, sizeof(signal_dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	if (mkfifo(path, 0600) != 0)
		return die("mkfifo");
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	do {
		fd = open(path, O_RDONLY);    /* blocks inside the wrapper */
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return die("open fifo");
	close(fd);
	if (signal_writer >= 0)
		close(signal_writer);
	return signal_ok ? 0 : die("handler");
}

static int shape_close(const char *how, const char *a, const char *b)
{
	struct rlimit rl;

	if (read_file(a) < 0)
		return die("read A");
	if (strcmp(how, "closefrom") == 0) {
		closefrom(3);
	} else if (strcmp(how, "close_range") == 0) {
		if (close_range(3, ~0U, 0) != 0)
			return die("close_range");
	} else {
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return die("getrlimit");
		for (rlim_t fd = 3; fd < rl.rlim_cur && fd < 1u << 20; fd++)
			close((int)fd);
	}
	if (read_file(b) < 0)
		return die("read B");
	return 0;
}

static int shape_highfd(const char *file)
{
	struct rlimit rl;
	char buf[8];
	int fd, high = 200000;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return die("getrlimit");
	if (rl.rlim_max <= (rlim_t)high)
		high = (int)rl.rlim_max - 1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return die("setrlimit");
	fd = open(file, O_RDONLY);
	if (fd < 0 || dup2(fd, high) != high)
		return die("dup2");
	close(fd);
	if (read(high, buf, sizeof(buf)) <= 0)
		return die("read");
	return close(high) != 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "threads") == 0 && argc == 4)
		return shape_threads(argv[2], atoi(argv[3]));
	if (strcmp(argv[1], "forkthreads") == 0 && argc == 4)
		return shape_forkthreads(argv[2], argv[3]);
	if (strcmp(argv[1], "Fork") == 0)
		return shape_Fork(argv[2]);
	if (strcmp(argv[1], "vfork") == 0 && argc == 4)
		return shape_vfork(argv[2], argv[3]);
	if (strcmp(argv[1], "scrubbed") == 0)
		return shape_scrubbed(argv[2]);
	if (strcmp(argv[1], "execv") == 0)
		return shape_execv(argv[2]);
	if (strcmp(argv[1], "fexecve") == 0)
		return shape_fexecve(argv[2]);
	if (strcmp(argv[1], "spawn") == 0)
		return shape_spawn(argv[2]);
	if (strcmp(argv[1], "spawn_old") == 0)
		return shape_spawn_old(argv[2]);
	if (strcmp(argv[1], "system") == 0)
		return shape_system(argv[2]);
	if ((strcmp(argv[1], "closefrom") == 0 ||
	     strcmp(argv[1], "close_range") == 0 ||
	     strcmp(argv[1], "closeloop") == 0) && argc == 4)
		return shape_close(argv[1], argv[2], argv[3]);
	if (strcmp(argv[1], "highfd") == 0)
		return shape_highfd(argv[2]);
	if (strcmp(argv[1], "signal") == 0)
		return shape_signal(argv[2]);
	return 2;
}
