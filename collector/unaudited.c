/*
 * unaudited.c - owns what the collector knows of programs that run under
 * the shim but audit nothing (their configuration is missing or broken):
 * a small table of the most recent STATUS_MAX_UNAUDITED (program, uid,
 * reason) triples with a count and the newest pid, filled from the ingest
 * socket's notices (handoff.h), shown by status and logged.
 * A flood of notices costs one table lookup each and at most one log line
 * per triple every UNAUDITED_REPEAT_S. Must never believe the sender's
 * pid or uid (the kernel's SO_PEERCRED only), nor store a record: a
 * notice says nothing about PHI.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <bsd/string.h>

#include "handoff.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "unaudited.h"

static struct status_unaudited table[STATUS_MAX_UNAUDITED];
static unaudited_relay *relay;
static int64_t logged_ns[STATUS_MAX_UNAUDITED];
static size_t used;

#define CLAIMED_MARK " (claimed)"

/* Whether a and b name the same program, with or without CLAIMED_MARK:
 * one notice may come while its sender lives and the next after it left. */
static int same_program(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), lm = strlen(CLAIMED_MARK);

	if (la > lm && strcmp(a + la - lm, CLAIMED_MARK) == 0)
		la -= lm;
	if (lb > lm && strcmp(b + lb - lm, CLAIMED_MARK) == 0)
		lb -= lm;
	return la == lb && memcmp(a, b, la) == 0;
}

/* The slot of (exe, uid, reason), or a free or the oldest slot, cleared. */
static size_t slot_for(const char *exe, int64_t uid, const char *reason)
{
	size_t i, oldest = 0;

	for (i = 0; i < used; i++) {
		if (table[i].uid == uid && same_program(table[i].exe, exe) &&
		    strcmp(table[i].reason, reason) == 0)
			return i;
		if (table[i].last_ns < table[oldest].last_ns)
			oldest = i;
	}
	i = used < STATUS_MAX_UNAUDITED ? used++ : oldest;
	memset(&table[i], 0, sizeof(table[i]));
	logged_ns[i] = 0;
	strlcpy(table[i].exe, exe, sizeof(table[i].exe));
	strlcpy(table[i].reason, reason, sizeof(table[i].reason));
	table[i].uid = uid;
	return i;
}

int unaudited_receive(int sock, const unsigned char *bytes, size_t len,
		      const char **why)
{
	char claimed[HANDOFF_NOTICE_TEXT_MAX + 1], reason[HANDOFF_NOTICE_TEXT_MAX + 1];
	char exe[STATUS_TEXT_MAX];
	struct writer_identity who;
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	int64_t now = loop_realtime_ns();
	size_t i;
	int rc;

	rc = handoff_notice_decode(bytes, len, claimed, reason, why);
	if (rc < 0)
		return rc;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
	    cred_len != sizeof(cred)) {
		*why = "no peer credentials";
		return -EBADMSG;
	}
	identity_clear(&who);
	who.pid = cred.pid;
	who.uid = cred.uid;
	if (cred.pid > 0 && identity_read_proc(&who) == 0 && who.exe[0] != '\0')
		strlcpy(exe, who.exe, sizeof(exe));
	else {
		/* gone already: its own word, marked as such */
		strlcpy(exe, claimed[0] ? claimed : "unknown", sizeof(exe) - 10);
		strlcat(exe, CLAIMED_MARK, sizeof(exe));
	}
	i = slot_for(exe, (int64_t)cred.uid, reason);
	table[i].pid = cred.pid;
	table[i].count++;
	table[i].last_ns = now;
	if (logged_ns[i] == 0 ||
	    now - logged_ns[i] >= (int64_t)UNAUDITED_REPEAT_S * 1000000000) {
		logged_ns[i] = now;
		daemon_warn("program %s (pid %d, uid %u) runs unaudited: %s%s", exe,
			    (int)cred.pid, (unsigned)cred.uid, reason,
			    table[i].count > 1 ? " (said again; counted, not logged "
			    "one by one)" : "");
	}
	if (relay != NULL)
		relay(&table[i]);
	return 0;
}

void unaudited_set_relay(unaudited_relay *r)
{
	relay = r;
}

void unaudited_note(const struct status_unaudited *e)
{
	size_t i = slot_for(e->exe, e->uid, e->reason);

	table[i].pid = e->pid;
	table[i].count = e->count;
	table[i].last_ns = e->last_ns;
}

void unaudited_fill(struct status_reply *s)
{
	struct status_unaudited held;
	size_t i, j;

	for (i = 0; i < used; i++) {       /* insertion sort, newest first */
		held = table[i];
		for (j = i; j > 0 && s->unaudited[j - 1].last_ns < held.last_ns; j--)
			s->unaudited[j] = s->unaudited[j - 1];
		s->unaudited[j] = held;
	}
	s->unaudited_count = used;
}
