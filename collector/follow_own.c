/*
 * follow_own.c - the records the follower writes itself: "Audit Records
 * Lost" and "Audit Spool Tampered" about a spool file (who is the file's
 * verified writer, the target the file), and the collector's own events
 * (started, stopped, and those other parts ask for through
 * follow_collector_event: who is the collector itself).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <bsd/string.h>

#include "follow_impl.h"
#include "group_commit.h"
#include "log.h"
#include "own_record.h"

/* A record of the collector about file f ("Audit Records Lost" ...). */
static int own_file_event(struct followed_file *f, enum event_type type,
			  const struct record_detail *detail, size_t count)
{
	struct record r;
	char target[PATH_MAX + STORE_NAME_MAX + 2];
	size_t i;

	own_record_start(&r, follow.cfg->workspace_id, type, follow.host,
			 &f->progress.who);
	snprintf(target, sizeof(target), "%s/%s", follow.cfg->spool, f->name);
	r.target = target;
	for (i = 0; i < count && i < RECORD_MAX_DETAIL; i++)
		r.detail[i] = detail[i];
	r.detail_count = i;
	return group_append(&r, GROUP_FROM_SPOOL);
}

int own_lost(struct followed_file *f, int64_t count, int64_t from_seq,
	     const char *reason)
{
	struct record_detail detail[] = {
		{ .key = "count", .num = count },
		{ .key = "pid", .num = f->writer_pid },
		{ .key = "reason", .str = reason },
		{ .key = "from_seq", .num = from_seq },
	};

	follow.counters.lost += (uint64_t)count;
	if (from_seq >= 0)
		daemon_warn("%s: %" PRId64 " record(s) of pid %" PRId64 " lost from "
			    "seq %" PRId64 " (%s)", f->name, count, f->writer_pid,
			    from_seq, reason);
	else
		daemon_warn("%s: %" PRId64 " record(s) of pid %" PRId64 " lost (%s)",
			    f->name, count, f->writer_pid, reason);
	return own_file_event(f, EVENT_RECORDS_LOST, detail, from_seq >= 0 ? 4 : 3);
}

int own_tampered(struct followed_file *f, const char *reason, int64_t offset)
{
	struct record_detail detail[] = {
		{ .key = "reason", .str = reason },
		{ .key = "offset", .num = offset },
		{ .key = "pid", .num = f->writer_pid },
	};

	daemon_warn("%s: spool file damaged or tampered with at offset %" PRId64
		    ": %s", f->name, offset, reason);
	return own_file_event(f, EVENT_SPOOL_TAMPERED, detail, 3);
}

int follow_collector_event(enum event_type type, const char *detail_key,
			   const char *detail_value)
{
	struct record_detail detail = { .key = detail_key, .str = detail_value };

	return follow_collector_event_about(type, NULL, &detail,
					    detail_key != NULL && detail_value != NULL);
}

int follow_collector_event_about(enum event_type type, const char *target,
				 const struct record_detail *detail, size_t count)
{
	struct record r;
	size_t i;

	if (follow.cfg == NULL)
		return -ENOTCONN;          /* not following (aggregator, unit tests) */
	own_record_start(&r, follow.cfg->workspace_id, type, follow.host,
			 &follow.self);
	r.target = target;
	for (i = 0; i < count && i < RECORD_MAX_DETAIL; i++)
		r.detail[i] = detail[i];
	r.detail_count = i;
	return group_append(&r, GROUP_OWN);
}

void own_identify_self(void)
{
	identity_clear(&follow.self);
	follow.self.pid = getpid();
	follow.self.uid = getuid();
	follow.self.gid = getgid();
	(void)identity_read_proc(&follow.self);
	follow.self.auid = RECORD_ABSENT;     /* the actor is the collector's user */
	follow.self.session = RECORD_ABSENT;
	strlcpy(follow.self.kind, IDENTITY_COLLECTOR, sizeof(follow.self.kind));
	identity_resolve_actor(&follow.self);
}
