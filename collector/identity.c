/*
 * identity.c - reading who a process is from /proc, and naming actors.
 *
 * Owns the parsing of /proc/PID/stat (the command name may hold spaces and
 * parentheses: fields are counted after the LAST ')'), /proc/PID/status,
 * loginuid, sessionid and the exe link, and the rule that names an actor:
 * the login uid when the kernel has one, else the uid, as a user name when
 * getpwuid knows one (remembered for 10 s), else "uid:N".
 * Must never trust anything a process says about itself: only the kernel's
 * answers reach a writer_identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "identity.h"
#include "record.h"

void identity_clear(struct writer_identity *w)
{
	memset(w, 0, sizeof(*w));
	w->pid = w->ppid = w->uid = w->gid = RECORD_ABSENT;
	w->auid = w->session = RECORD_ABSENT;
}

/* Reads a small /proc file into buf (NUL-terminated). Length or -errno. */
static ssize_t read_proc_file(pid_t pid, const char *name, char *buf,
			      size_t size)
{
	char path[64];
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, size - 1);
	saved = errno;
	close(fd);
	if (n < 0)
		return saved == ESRCH ? -ENOENT : -saved;
	buf[n] = '\0';
	return n;
}

int identity_proc_stat(pid_t pid, uint64_t *start_time_ticks, int64_t *ppid)
{
	char buf[1024], *p, *end;
	unsigned long long value;
	ssize_t n;
	int field;

	if (pid <= 0)
		return -ENOENT;
	n = read_proc_file(pid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (p == NULL)
		return -EBADMSG;
	p++;
	/* p is just before field 3 (state). */
	for (field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -EBADMSG;
		if (field == 4 || field == 22) {
			errno = 0;
			value = strtoull(p, &end, 10);
			if (errno != 0 || end == p)
				return -EBADMSG;
			if (field == 4 && ppid != NULL)
				*ppid = (int64_t)value;
			if (field == 22 && start_time_ticks != NULL)
				*start_time_ticks = value;
			p = end;
		} else {
			while (*p != ' ' && *p != '\0')
				p++;
		}
	}
	return 0;
}

int identity_proc_uid(pid_t pid, int64_t *uid)
{
	char buf[4096], *p, *end;
	ssize_t n;

	n = read_proc_file(pid, "status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strstr(buf, "\nUid:");
	if (p == NULL)
		return -EBADMSG;
	(void)strtoll(p + 5, &end, 10);           /* real, then effective */
	*uid = strtoll(end, &p, 10);
	if (p == end)
		return -EBADMSG;
	return 0;
}

static identity_exe_reader *exe_reader;

/* loginuid and sessionid: RECORD_ABSENT when unset or unreadable. */
static int64_t read_proc_id(pid_t pid, const char *name)
{
	char buf[32], *end;
	unsigned long long value;

	if (read_proc_file(pid, name, buf, sizeof(buf)) <= 0)
		return RECORD_ABSENT;
	errno = 0;
	value = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || value >= IDENTITY_UNSET_ID)
		return RECORD_ABSENT;
	return (int64_t)value;
}

int identity_read_proc(struct writer_identity *w)
{
	char path[64];
	ssize_t n;
	int rc;

	rc = identity_proc_stat((pid_t)w->pid, &w->start_time_ticks, &w->ppid);
	if (rc < 0)
		return rc == -ENOENT ? -ENOENT : rc;
	w->auid = read_proc_id((pid_t)w->pid, "loginuid");
	w->session = read_proc_id((pid_t)w->pid, "sessionid");
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)w->pid);
	n = readlink(path, w->exe, sizeof(w->exe) - 1);
	if (n < 0 && (errno == EACCES || errno == EPERM) && exe_reader != NULL)
		n = exe_reader((pid_t)w->pid, w->start_time_ticks, w->exe, sizeof(w->exe));
	w->exe[n > 0 ? n : 0] = '\0';
	return 0;
}

void identity_set_exe_reader(identity_exe_reader *reader)
{
	exe_reader = reader;
}

int identity_alive(int64_t pid, uint64_t start_time_ticks)
{
	uint64_t now_ticks = 0;

	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (identity_proc_stat((pid_t)pid, &now_ticks, NULL) < 0)
		return 0;
	return now_ticks == start_time_ticks;
}

/*
 * Names looked up in the last IDENTITY_ACTOR_TTL_NS, one slot per uid
 * modulo the table's size: a process per file asks for the same few uids
 * again and again, and each getpwuid reads /etc/passwd (or asks NSS: LDAP,
 * sssd) anew. A renamed or new user is seen within the TTL, as with nscd.
 */
#define IDENTITY_ACTOR_SLOTS 64
#define IDENTITY_ACTOR_TTL_NS (10 * 1000000000LL)

static struct {
	int64_t who;                   /* the uid named; 0 with at_ns 0: empty */
	int64_t at_ns;                 /* CLOCK_MONOTONIC of the lookup */
	char actor[IDENTITY_ACTOR_MAX];
} identity_actors[IDENTITY_ACTOR_SLOTS];

static int64_t identity_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void identity_resolve_actor(struct writer_identity *w)
{
	int64_t who = w->auid != RECORD_ABSENT ? w->auid : w->uid;
	int64_t now = identity_now_ns();
	struct passwd *pw;
	__typeof__(&identity_actors[0]) slot;

	if (who == RECORD_ABSENT || who < 0) {
		strlcpy(w->actor, "uid:unknown", sizeof(w->actor));
		return;
	}
	slot = &identity_actors[(uint64_t)who % IDENTITY_ACTOR_SLOTS];
	if (slot->at_ns != 0 && slot->who == who &&
	    now - slot->at_ns < IDENTITY_ACTOR_TTL_NS) {
		strlcpy(w->actor, slot->actor, sizeof(w->actor));
		return;
	}
	pw = getpwuid((uid_t)who);
	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		strlcpy(w->actor, pw->pw_name, sizeof(w->actor));
	else
		snprintf(w->actor, sizeof(w->actor), "uid:%" PRId64, who);
	slot->who = who;
	slot->at_ns = now != 0 ? now : 1;
	strlcpy(slot->actor, w->actor, sizeof(slot->actor));
}
