/*
 * test_store_confine.c - the store process's confinement
 * (collector/store_confine.c), in forked children of this test: after
 * store_confine a child holds no capability (permitted, effective,
 * inheritable, ambient), has no_new_privs and a seccomp filter, still
 * opens, reads, writes, renames and removes files and makes sockets; an
 * exec, a ptrace, a setuid and an ioctl the list does not name kill it
 * with SIGSYS. As root with the phitrail user present, a child that
 * confines with that user runs as it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "store_process.h"
#include "unit.h"

static char tmpdir[] = "/tmp/phitrail-test-confine-XXXXXX";
static struct config cfg;

enum after { DO_FILES, DO_EXEC, DO_PTRACE, DO_SETUID, DO_IOCTL, DO_WHOAMI };

/* 0 when this process holds no capability at all (as /proc/self/status
 * says: capget is not on the store's list), else 1. */
static int holds_capabilities(void)
{
	static const char *const keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapAmb:" };
	char line[256];
	int seen = 0;
	size_t i;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL)
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
				if (strtoull(line + strlen(keys[i]), NULL, 16) != 0) {
					fclose(f);
					return 1;
				}
				seen++;
			}
	fclose(f);
	return seen != 4;
}

static int files(void)
{
	char a[PATH_MAX + 8], b[PATH_MAX + 8], buf[4];
	int fd, sock;

	snprintf(a, sizeof(a), "%s/a", tmpdir);
	snprintf(b, sizeof(b), "%s/b", tmpdir);
	fd = open(a, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "abc", 3) != 3 || pread(fd, buf, 3, 0) != 3 ||
	    fsync(fd) < 0 || close(fd) < 0)
		return 2;
	if (rename(a, b) < 0 || unlink(b) < 0)
		return 3;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return 4;
	close(sock);
	return 0;
}

/* Forks a child that confines itself (as user, when u->change) and then
 * does what; its wait status back. */
static int confined_child(const struct store_user *u, enum after what)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct store_user mine = *u;
		int rc;

		mine.parent = getppid();
		if (store_confine(&cfg, &mine) < 0)
			store_process_exit(10);
		if (holds_capabilities() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			store_process_exit(11);
		switch (what) {
		case DO_FILES:
			store_process_exit(files());
		case DO_EXEC:
			execl("/bin/true", "true", (char *)NULL);
			break;
		case DO_PTRACE:
			(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			break;
		case DO_SETUID:
			(void)setuid(0);
			break;
		case DO_IOCTL:
			rc = ioctl(0, TIOCSTI, "x");
			(void)rc;
			break;
		case DO_WHOAMI:
			store_process_exit(getuid() == u->uid && geteuid() == u->uid ?
					   0 : 12);
		}
		store_process_exit(13);   /* the call was not refused */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void test_allowed(void)
{
	struct store_user u = { .change = 0 };
	int status = confined_child(&u, DO_FILES);

	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
}

static void test_refused(void)
{
	static const enum after refused[] = { DO_EXEC, DO_PTRACE, DO_SETUID, DO_IOCTL };
	struct store_user u = { .change = 0 };
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int status = confined_child(&u, refused[i]);

		CHECK(WIFSIGNALED(status));
		if (WIFSIGNALED(status))
			CHECK_INT(WTERMSIG(status), SIGSYS);
	}
}

static void test_user(void)
{
	struct store_user u = { .change = 0 };
	struct passwd *pw = getpwnam("phitrail");
	int status;

	if (geteuid() != 0 || pw == NULL) {
		printf("SKIP test_user: needs root and the phitrail user\n");
		return;
	}
	u.change = 1;
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	status = confined_child(&u, DO_WHOAMI);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	chmod(tmpdir, 0777);      /* the phitrail user writes there too */
	snprintf(cfg.spool, sizeof(cfg.spool), "%s/spool", tmpdir);
	snprintf(cfg.database, sizeof(cfg.database), "%s/db/audit.db", tmpdir);
	for (const char *const *d = (const char *const[]){ "spool", "spool/active",
			"spool/incoming", "spool/quarantine", "db", NULL }; *d; d++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", tmpdir, *d);
		if (mkdir(path, 0700) < 0)
			return 1;
	}
	RUN(test_allowed);
	RUN(test_refused);
	RUN(test_user);
	for (const char *const *d = (const char *const[]){ "spool/active",
			"spool/incoming", "spool/quarantine", "spool", "db", NULL };
	     *d; d++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/%s", tmpdir, *d);
		rmdir(path);
	}
	rmdir(tmpdir);
	return unit_done();
}
