/*
 * test_collector_identity.c - reading who a process is from /proc: start
 * time and ppid from /proc/PID/stat (also with a command name full of
 * spaces and parentheses), liveness by (pid, start time), actor names.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity.h"
#include "record.h"
#include "unit.h"

static void test_own_stat(void)
{
	uint64_t ticks = 0;
	int64_t ppid = -1, uid = -1;
	struct writer_identity w;

	CHECK_INT(identity_proc_stat(getpid(), &ticks, &ppid), 0);
	CHECK(ticks > 0);
	CHECK_INT(ppid, getppid());
	CHECK_INT(identity_proc_uid(getpid(), &uid), 0);
	CHECK_INT(uid, getuid());
	CHECK_INT(identity_alive(getpid(), ticks), 1);
	CHECK_INT(identity_alive(getpid(), ticks + 1), 0);   /* a reused pid */
	identity_clear(&w);
	w.pid = getpid();
	CHECK_INT(identity_read_proc(&w), 0);
	CHECK_INT(w.start_time_ticks, ticks);
	CHECK(w.exe[0] == '/');
}

static void test_tricky_command_name(void)
{
	uint64_t parent_ticks = 0, ticks = 0;
	int64_t ppid = -1;
	int ready[2];
	pid_t child;
	char c;

	CHECK_INT(identity_proc_stat(getpid(), &parent_ticks, NULL), 0);
	if (pipe(ready) < 0)
		return;
	child = fork();
	if (child == 0) {
		prctl(PR_SET_NAME, ") 1 2 3 (x) ", 0, 0, 0);
		if (write(ready[1], "r", 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK_INT(read(ready[0], &c, 1), 1);
	CHECK_INT(identity_proc_stat(child, &ticks, &ppid), 0);
	CHECK_INT(ppid, getpid());
	CHECK(ticks >= parent_ticks);
	CHECK_INT(identity_alive(child, ticks), 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK_INT(identity_alive(child, ticks), 0);
	CHECK_INT(identity_proc_stat(child, &ticks, &ppid), -ENOENT);
	close(ready[0]);
	close(ready[1]);
}

static void test_actor_names(void)
{
	struct writer_identity w;

	identity_clear(&w);
	w.uid = 0;
	identity_resolve_actor(&w);
	CHECK_STR(w.actor, "root");
	w.uid = 3999999;                   /* nobody has this uid */
	identity_resolve_actor(&w);
	CHECK_STR(w.actor, "uid:3999999");
	w.auid = 0;                        /* the login uid wins */
	identity_resolve_actor(&w);
	CHECK_STR(w.actor, "root");
	w.auid = 3999998;
	identity_resolve_actor(&w);
	CHECK_STR(w.actor, "uid:3999998");
}

static void test_absent_process(void)
{
	CHECK_INT(identity_alive(0, 1), 0);
	CHECK_INT(identity_alive(-5, 1), 0);
	CHECK_INT(identity_alive((int64_t)1 << 40, 1), 0);
}

int main(void)
{
	RUN(test_own_stat);
	RUN(test_tricky_command_name);
	RUN(test_actor_names);
	RUN(test_absent_process);
	return unit_done();
}
