/*
 * follow.c - following spool files into the store.
 *
 * Owns the list of followed files (active/ ones the collector created for a
 * verified peer, incoming/ ones the shim wrote while the collector was
 * down), reading their new frames, the rules that turn a writer's record
 * into a stored one, and when a group is committed (group_commit.c owns
 * the group itself; the offsets move with it through its listener):
 *   - the identity fields (pid, uid, auid, session, actor, identity)
 *     always come from what the collector verified for the file, never from
 *     the record; ppid and exe too when known (a "file-owner" record whose
 *     writer was gone before adoption keeps the writer's own ppid and exe);
 *   - a forward jump of seq stores "Audit Records Lost", and so does a
 *     writer's own count of records it could not hand off ("lost_before"
 *     in a record's detail); its count of PHI calls denied in deny mode
 *     ("denied_while_down") goes to the log; a bad frame or a
 *     file that shrank stores "Audit Spool Tampered" and quarantines the
 *     file; an undecodable payload (valid frame, bad msgpack) or a writer
 *     record claiming a collector event stores "Audit Spool Tampered" with
 *     the reason and the offset, is counted, and reading goes on;
 *   - records and the offsets after them are committed together; a failed
 *     commit rolls every file back to its committed offset and retries;
 *   - a zero length word ends the data for now (a mapped writer's file
 *     is preallocated with zeros, so its size says nothing: a first small
 *     read tells an idle file); a bad frame of a live writer is read once
 *     more before it is called damaged (the kernel's copy may see a mapped
 *     frame being published out of order); once the writer is gone, a
 *     zero length word followed by anything but zeros is a frame reserved
 *     and never written: reading goes on at the next valid frame and the
 *     skipped record(s) are reported lost, never silently dropped;
 *   - a file is deleted (then its progress row) only after everything read
 *     from it is committed and its writer (pid + start time) is gone;
 *   - only incoming/ names ending in ".spool" are adopted (and ".claim"
 *     ones whose claim was lost: handoff.h; claim.c takes the others), and
 *     never an inode already followed under another name (no record read
 *     twice).
 * Must never trust a byte of a spool file: every length is checked by
 * spool_frame_decode and every payload by record_decode.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fanotify.h"
#include "follow.h"
#include "links.h"
#include "group_commit.h"
#include "handoff.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "spool.h"

#define READ_BUFFER_BYTES (256 * 1024)          /* >= one largest frame */
#define PEEK_BYTES 4096                         /* first look at a file */
#define READ_BUDGET_BYTES (4 * 1024 * 1024)     /* per file per pass */
#define ALIVE_CHECK_MS 1000
#define RESCAN_MS 5000
#define COMMIT_RETRY_MS 1000
#define HEADERLESS_GRACE_S 10                   /* incoming file without header */
/* Progress row flag (above the header's SPOOL_FLAG_*): quarantine decided. */
#define FOLLOW_FLAG_QUARANTINED 0x100u

struct followed_file {
	struct followed_file *next;
	char name[STORE_NAME_MAX];     /* "active/x.spool", "incoming/y" */
	const char *base;              /* into name, after the '/' */
	int dirfd;                     /* not owned */
	int fd;
	struct store_progress progress;/* offset/next_seq: read so far */
	int64_t committed_offset, committed_next_seq;
	int64_t writer_pid;            /* from the header: liveness */
	uint64_t writer_start_ticks;
	int64_t last_alive_check_ms;
	struct loop_watch exit_watch;  /* the writer's pidfd, or fd -1 */
	unsigned dirty:1, writer_gone:1, finished:1, quarantine:1, needs_put:1,
		 progress_changed:1;
};

static struct {
	const struct config *cfg;
	struct store *store;
	int spool_fd, active_fd, incoming_fd, quarantine_fd;
	int inotify_fd, active_wd, incoming_wd;
	struct loop_watch inotify_watch;
	struct followed_file *files;
	size_t file_count;
	struct writer_identity self;
	char host[256];
	int64_t retry_after_ms, last_rescan_ms;
	int rescan_wanted;
	int starting;                  /* the first scan: every .claim is orphaned */
	uint64_t frames_this_pass;      /* frames read by follow_process */
	struct follow_counters counters;
	unsigned char buffer[READ_BUFFER_BYTES];
	char arena[RECORD_ARENA_BYTES];
} F = { .spool_fd = -1, .active_fd = -1, .incoming_fd = -1,
	.quarantine_fd = -1, .inotify_fd = -1 };

static int file_commit(void);

static int64_t monotonic_ms(void)
{
	return loop_now_ms();
}

static void realtime_now(int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}

/* Fills the "where" and "who" of a record from a writer identity. */
static void record_set_identity(struct record *r, const struct writer_identity *w)
{
	r->pid = w->pid;
	r->uid = w->uid;
	r->auid = w->auid;
	r->session = w->session;
	if (w->ppid != RECORD_ABSENT)
		r->ppid = w->ppid;
	if (w->exe[0] != '\0')
		r->exe = w->exe;
	r->actor_user_id = w->actor;
	r->identity = w->kind;
}

/* A record of the collector about file f ("Audit Records Lost" ...). */
static int store_file_event(struct followed_file *f, enum event_type type,
			    const struct record_detail *detail, size_t count)
{
	struct record r;
	char target[PATH_MAX + STORE_NAME_MAX + 2];
	size_t i;

	record_init(&r);
	r.workspace_id = F.cfg->workspace_id;
	r.event_type = type;
	realtime_now(&r.timestamp_sec, &r.timestamp_nsec);
	r.host = F.host;
	record_set_identity(&r, &f->progress.who);
	snprintf(target, sizeof(target), "%s/%s", F.cfg->spool, f->name);
	r.target = target;
	for (i = 0; i < count && i < RECORD_MAX_DETAIL; i++)
		r.detail[i] = detail[i];
	r.detail_count = i;
	return group_append(&r, GROUP_FROM_SPOOL);
}

static int store_lost(struct followed_file *f, int64_t count, int64_t from_seq,
		      const char *reason)
{
	struct record_detail detail[] = {
		{ .key = "count", .num = count },
		{ .key = "pid", .num = f->writer_pid },
		{ .key = "reason", .str = reason },
		{ .key = "from_seq", .num = from_seq },
	};

	F.counters.lost += (uint64_t)count;
	if (from_seq >= 0)
		daemon_warn("%s: %" PRId64 " record(s) of pid %" PRId64 " lost from "
			    "seq %" PRId64 " (%s)", f->name, count, f->writer_pid,
			    from_seq, reason);
	else
		daemon_warn("%s: %" PRId64 " record(s) of pid %" PRId64 " lost (%s)",
			    f->name, count, f->writer_pid, reason);
	return store_file_event(f, EVENT_RECORDS_LOST, detail,
				from_seq >= 0 ? 4 : 3);
}

/* The integer value of detail key in r, or -1 when absent or not > 0. */
static int64_t record_count_detail(const struct record *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->detail_count; i++)
		if (r->detail[i].str == NULL && r->detail[i].key != NULL &&
		    strcmp(r->detail[i].key, key) == 0)
			return r->detail[i].num > 0 ? r->detail[i].num : -1;
	return -1;
}

/*
 * What the writer says it could not hand off: records lost while neither
 * the collector nor the fallback spool took them ("lost_before") and PHI
 * calls denied in deny mode ("denied_while_down"). Only counts are taken
 * from the writer; who it is comes from the file.
 */
static int file_note_writer_counts(struct followed_file *f, const struct record *r)
{
	int64_t lost = record_count_detail(r, "lost_before");
	int64_t denied = record_count_detail(r, "denied_while_down");

	if (denied > 0)
		daemon_warn("pid %" PRId64 " (%s, %s) was denied %" PRId64 " PHI "
			    "call(s) with EACCES while the collector could not be "
			    "reached (on_collector_down = deny)", f->writer_pid,
			    f->progress.who.exe[0] ? f->progress.who.exe :
			    r->exe != NULL && r->exe[0] != '\0' ? r->exe : "?",
			    f->progress.who.actor, denied);
	if (lost > 0)
		return store_lost(f, lost, -1, "writer could not hand them off");
	return 0;
}

static int store_tampered(struct followed_file *f, const char *reason,
			  int64_t offset)
{
	struct record_detail detail[] = {
		{ .key = "reason", .str = reason },
		{ .key = "offset", .num = offset },
		{ .key = "pid", .num = f->writer_pid },
	};

	daemon_warn("%s: spool file damaged or tampered with at offset %" PRId64
		    ": %s", f->name, offset, reason);
	return store_file_event(f, EVENT_SPOOL_TAMPERED, detail, 3);
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

	if (F.cfg == NULL)
		return -ENOTCONN;          /* not following (aggregator, unit tests) */
	record_init(&r);
	r.workspace_id = F.cfg->workspace_id;
	r.event_type = type;
	realtime_now(&r.timestamp_sec, &r.timestamp_nsec);
	r.host = F.host;
	record_set_identity(&r, &F.self);
	r.target = target;
	for (i = 0; i < count && i < RECORD_MAX_DETAIL; i++)
		r.detail[i] = detail[i];
	r.detail_count = i;
	return group_append(&r, GROUP_OWN);
}

/* Writes f's offset and next seq (or its whole row) into the transaction. */
static int file_save_progress(struct followed_file *f)
{
	int rc;

	if (f->needs_put)
		rc = store_progress_put(F.store, &f->progress);
	else if (f->progress_changed)
		rc = store_progress_update(F.store, f->name, f->progress.offset,
					   f->progress.next_seq);
	else
		return 0;
	if (rc == 0)
		f->needs_put = f->progress_changed = 0;
	return rc;
}

/* Event types only the collector may write. */
static int event_is_collector_only(enum event_type type)
{
	static const enum event_type reserved[] = {
		EVENT_RECORDS_LOST, EVENT_SPOOL_TAMPERED, EVENT_COLLECTOR_STARTED,
		EVENT_COLLECTOR_STOPPED, EVENT_TRAIL_QUERIED, EVENT_FORWARDING_STALLED,
	};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (reserved[i] == type)
			return 1;
	return 0;
}

static int file_condemn(struct followed_file *f, const char *reason, int64_t offset);

/* One valid frame's payload at frame_offset: store it (or say why not). */
static int file_store_payload(struct followed_file *f, const unsigned char *payload,
			      uint32_t len, int64_t frame_offset)
{
	struct record r;
	const char *why = NULL;
	char reason[128];
	int rc;

	rc = record_decode(payload, len, &r, F.arena, sizeof(F.arena), &why);
	if (rc < 0 || event_is_collector_only(r.event_type)) {
		if (rc < 0) {
			F.counters.undecodable++;
			snprintf(reason, sizeof(reason), "undecodable record: %s",
				 why ? why : "invalid");
		} else {
			F.counters.forged++;
			snprintf(reason, sizeof(reason),
				 "writer record claims collector event \"%s\"",
				 event_type_name(r.event_type));
		}
		/* It took one seq, most likely: no second report as a loss. */
		if (f->progress.next_seq >= 0)
			f->progress.next_seq++;
		return store_tampered(f, reason, frame_offset);
	}
	if (r.seq != RECORD_ABSENT && r.seq >= 0) {
		int64_t expected = f->progress.next_seq;

		if (expected >= 0 && r.seq > expected) {
			rc = store_lost(f, r.seq - expected, expected, "sequence gap");
			if (rc < 0)
				return rc;
		} else if (expected >= 0 && r.seq < expected) {
			daemon_warn("%s: seq went back from %" PRId64 " to %" PRId64,
				    f->name, expected, r.seq);
		}
		if (r.seq < INT64_MAX)
			f->progress.next_seq = r.seq + 1;
	}
	record_set_identity(&r, &f->progress.who);
	if (f->progress.flags & SPOOL_FLAG_FALLBACK) {
		/* A file the user wrote: a copy of one already read is a replay. */
		rc = store_record_seen(F.store, &r);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return file_condemn(f, "replayed: a record of this file "
					    "is stored already", frame_offset);
	}
	rc = file_note_writer_counts(f, &r);
	if (rc < 0)
		return rc;
	r.id = RECORD_ABSENT;
	r.received_sec = RECORD_ABSENT;
	r.received_nsec = 0;
	links_complete(&r);              /* a hard link: the name in the tree */
	rc = group_append(&r, GROUP_FROM_SPOOL);
	if (rc == 0)
		safetynet_note_shim(&r);   /* covers the kernel's view of it */
	if (rc == -EINVAL) {
		/* Decoded but does not encode again (collector fields too long). */
		F.counters.undecodable++;
		return store_tampered(f, "record does not re-encode", frame_offset);
	}
	if (rc == 0)
		F.counters.records++;
	return rc;
}

/* Marks f for quarantine: its row goes with the tamper record. */
static int file_condemn(struct followed_file *f, const char *reason, int64_t offset)
{
	int rc;

	rc = store_tampered(f, reason, offset);
	if (rc < 0)
		return rc;
	/* The row stays, flagged, until the file is in quarantine/. */
	f->progress.flags |= FOLLOW_FLAG_QUARANTINED;
	f->needs_put = 1;
	rc = file_save_progress(f);
	if (rc < 0)
		return rc;
	f->quarantine = 1;
	F.counters.tampered++;
	return 0;
}

/*
 * The writer is gone and the frame at f's offset was never published (its
 * length word is 0): a thread of a mapped writer had reserved it and died
 * with the process before writing it, or this is the preallocated zero end
 * of the file. Looks for a valid frame after it (length in range, checksum
 * and record both good). Returns 1 when one is found (offset moved to it,
 * the skipped record(s) reported lost), 0 when none is (a reported loss if
 * anything but zeros follows), or a store error.
 */
static int file_skip_unpublished(struct followed_file *f, int64_t size)
{
	const size_t keep = SPOOL_FRAME_HEADER_BYTES + SPOOL_MAX_PAYLOAD;
	int64_t at = f->progress.offset + SPOOL_FRAME_HEADER_BYTES + 1, from;
	int nonzero = 0;

	while (at < size) {
		ssize_t n = pread(f->fd, F.buffer, sizeof(F.buffer), at);
		size_t limit, i;

		if (n <= 0)
			break;
		/* Positions whose whole largest frame is in this chunk, or all
		 * of them in the last chunk; the next chunk starts at limit. */
		limit = at + n >= size || (size_t)n <= keep ? (size_t)n :
			(size_t)n - keep;
		for (i = 0; i < limit; i++) {
			const unsigned char *payload;
			uint32_t payload_len;
			struct record r;
			int64_t count;

			if (F.buffer[i] != 0)
				nonzero = 1;
			if (spool_frame_decode(F.buffer + i, (size_t)n - i, &payload,
					       &payload_len, NULL) <= 0 ||
			    record_decode(payload, payload_len, &r, F.arena,
					  sizeof(F.arena), NULL) < 0)
				continue;
			from = f->progress.next_seq;
			count = from >= 0 && r.seq != RECORD_ABSENT && r.seq > from ?
				r.seq - from : 1;
			if (from >= 0 && r.seq != RECORD_ABSENT && r.seq > from)
				f->progress.next_seq = r.seq;  /* reported here */
			f->progress.offset = at + (int64_t)i;
			f->progress_changed = 1;
			return store_lost(f, count, from, "frame reserved but never "
					  "written by a writer that is gone") < 0 ? -EIO : 1;
		}
		at += (int64_t)limit;
	}
	if (!nonzero)
		return 0;                 /* the preallocated end: nothing lost */
	return store_lost(f, 1, f->progress.next_seq, "frame cut short (never "
			  "published by a writer that is gone)");
}

/*
 * Reads f from its offset: stores every whole frame, stops at the end of
 * the data (a zero length word: a mapped file is preallocated with zeros,
 * so its size says nothing). Returns 0 or a store error (the transaction
 * must be abandoned).
 */
static int file_read(struct followed_file *f)
{
	size_t budget = READ_BUDGET_BYTES;
	struct stat st;
	int rc = 0, retried = 0;

	f->dirty = 0;
	if (f->quarantine || f->finished)
		return 0;
	if (fstat(f->fd, &st) < 0)
		return 0;
	if (st.st_size < f->progress.offset)
		return file_condemn(f, "file shrank", (int64_t)st.st_size);
read_on:
	while (f->progress.offset < st.st_size && budget > 0) {
		size_t want = (size_t)(st.st_size - f->progress.offset), pos = 0;
		const unsigned char *peek_payload;
		uint32_t peek_len;
		ssize_t n;

		if (want > sizeof(F.buffer))
			want = sizeof(F.buffer);
		/* A look first: an idle file costs one small read. */
		n = pread(f->fd, F.buffer, want < PEEK_BYTES ? want : PEEK_BYTES,
			  f->progress.offset);
		if (n <= 0 || spool_frame_decode(F.buffer, (size_t)n, &peek_payload,
						 &peek_len, NULL) == 0)
			break;
		if (want > (size_t)n)
			n = pread(f->fd, F.buffer, want, f->progress.offset);
		if (n <= 0)
			break;
		for (;;) {
			const unsigned char *payload;
			uint32_t payload_len;
			const char *why = NULL;
			long k;

			k = spool_frame_decode(F.buffer + pos, (size_t)n - pos,
					       &payload, &payload_len, &why);
			if (k == -EBADMSG && !f->writer_gone && !retried) {
				/*
				 * The kernel's copy may have seen a frame of a
				 * mapped writer being published out of order (the
				 * length before the bytes it covers): read it once
				 * more before calling it damaged.
				 */
				ssize_t m = pread(f->fd, F.buffer + pos, (size_t)n - pos,
						  f->progress.offset);

				retried = 1;
				if (m <= 0)
					break;
				n = (ssize_t)pos + m;
				continue;
			}
			if (k == -EBADMSG)
				return file_condemn(f, why ? why : "bad frame",
						    f->progress.offset);
			if (k <= 0)
				break;
			retried = 0;
			F.frames_this_pass++;
			rc = file_store_payload(f, payload, payload_len, f->progress.offset);
			if (rc < 0 || f->quarantine)
				return rc;
			pos += (size_t)k;
			f->progress.offset += k;
			f->progress_changed = 1;
			if (F.cfg->flush == CONFIG_FLUSH_EVERY_RECORD ||
			    group_pending() >= STORE_GROUP_RECORDS) {
				rc = file_save_progress(f);
				if (rc == 0)
					rc = file_commit();
				if (rc < 0)
					return rc;
			}
		}
		if (pos == 0)
			break;            /* a frame not whole yet, or unwritten */
		budget = budget > pos ? budget - pos : 0;
	}
	if (budget == 0)
		f->dirty = 1;             /* more to read: come back next pass */
	rc = file_save_progress(f);
	if (rc < 0)
		return rc;
	if (f->writer_gone && !f->dirty) {
		/* The writer is gone and everything whole is read. */
		if (f->progress.offset < st.st_size) {
			const unsigned char *payload;
			uint32_t payload_len;
			const char *why = NULL;
			ssize_t n = pread(f->fd, F.buffer, sizeof(F.buffer),
					  f->progress.offset);

			long k = n > 0 ? spool_frame_decode(F.buffer, (size_t)n,
							    &payload, &payload_len,
							    &why) : 1;

			if (k == -EAGAIN) {
				rc = store_lost(f, 1, f->progress.next_seq,
						"frame cut short");
				if (rc < 0)
					return rc;
			} else if (k == 0) {
				rc = file_skip_unpublished(f, (int64_t)st.st_size);
				if (rc < 0)
					return rc;
				if (rc == 1 && budget > 0)
					goto read_on;   /* from the frame found */
				if (rc == 1) {
					f->dirty = 1;   /* next pass */
					return file_save_progress(f);
				}
			}
		}
		/* The row stays (at the end) until the file is deleted. */
		f->finished = 1;
	}
	return 0;
}

static void file_unwatch_exit(struct followed_file *f)
{
	if (f->exit_watch.fd < 0)
		return;
	loop_remove(&f->exit_watch);
	close(f->exit_watch.fd);
	f->exit_watch.fd = -1;
}

static void file_free(struct followed_file *f)
{
	file_unwatch_exit(f);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* After a successful commit: quarantine or delete the files done with. */
static void files_reap(void)
{
	struct followed_file **link = &F.files, *f;
	int rc;

	while ((f = *link) != NULL) {
		if (f->quarantine) {
			char target[STORE_NAME_MAX + 16];

			snprintf(target, sizeof(target), "%.*s-%s",
				 (int)(f->base - f->name - 1), f->name, f->base);
			if (renameat(f->dirfd, f->base, F.quarantine_fd, target) < 0)
				daemon_error("cannot move %s to quarantine/: %s",
					     f->name, strerror(errno));
			else
				daemon_warn("%s moved to quarantine/%s", f->name, target);
		} else if (f->finished) {
			if (unlinkat(f->dirfd, f->base, 0) < 0 && errno != ENOENT)
				daemon_error("cannot delete %s: %s", f->name,
					     strerror(errno));
			daemon_debug("%s done", f->name);
		} else {
			link = &f->next;
			continue;
		}
		/* The file is gone: its row goes with the next commit. */
		rc = store_progress_delete(F.store, f->name);
		if (rc < 0) {
			group_rollback();
			daemon_error("cannot forget %s in the store (%s): done at "
				     "the next start", f->name, strerror(-rc));
		}
		*link = f->next;
		F.file_count--;
		file_free(f);
	}
}

/*
 * The group's listener: a rollback rewinds every file to what is committed
 * (its records are read again), and retries later.
 */
static void files_rewind(void)
{
	struct followed_file *f;

	F.counters.commit_failures++;
	for (f = F.files; f != NULL; f = f->next) {
		f->progress.offset = f->committed_offset;
		f->progress.next_seq = f->committed_next_seq;
		f->finished = f->quarantine = 0;
		f->progress.flags &= ~FOLLOW_FLAG_QUARANTINED;
		f->needs_put = 1;
		f->dirty = 1;
	}
	F.retry_after_ms = monotonic_ms() + COMMIT_RETRY_MS;
}

/* The group's listener: what was read is committed. */
static void files_committed(void)
{
	struct followed_file *f;

	for (f = F.files; f != NULL; f = f->next) {
		f->committed_offset = f->progress.offset;
		f->committed_next_seq = f->progress.next_seq;
	}
}

static void report_rollback(int rc, const char *what)
{
	daemon_error("cannot %s the store (%s): rolled back, spool files kept, "
		     "%zu record(s) of the collector kept for the next group, "
		     "retrying in %d ms", what, strerror(-rc), group_kept(),
		     COMMIT_RETRY_MS);
}

/* A store error in a group: roll back (files_rewind) and say so. */
static void abandon_transaction(int rc, const char *what)
{
	group_rollback();
	report_rollback(rc, what);
}

/* Commits; on failure the group rolled back (files_rewind). */
static int file_commit(void)
{
	int rc = group_commit();

	if (rc < 0)
		report_rollback(rc, "commit to");
	return rc;
}

static int commit_due(int64_t now)
{
	int64_t first = group_first_pending_ms();

	if (!group_open())
		return 0;
	if (group_pending() == 0 || first < 0)
		return 1;                 /* only progress rows: no reason to wait */
	return group_pending() >= STORE_GROUP_RECORDS ||
	       now - first >= (int64_t)F.cfg->batch_delay_ms;
}

static void commit_and_reap(void)
{
	if (file_commit() == 0)
		files_reap();
}

int follow_process(void)
{
	struct followed_file *f;
	int64_t now = monotonic_ms();
	int rc, more = 1, rounds = 0;

	F.frames_this_pass = 0;
	if (now < F.retry_after_ms)
		return 0;
	if (group_kept() > 0 && (rc = group_resume()) < 0) {
		abandon_transaction(rc, "write to");
		return 0;
	}
	while (more && rounds++ < 4) {
		more = 0;
		for (f = F.files; f != NULL; f = f->next) {
			if (!f->dirty)
				continue;
			rc = file_read(f);
			if (rc < 0) {
				abandon_transaction(rc, "write to");
				return 0;
			}
			more |= f->dirty;
		}
	}
	if (commit_due(monotonic_ms()))
		commit_and_reap();
	else if (!group_open())
		files_reap();
	return F.frames_this_pass > INT32_MAX ? INT32_MAX : (int)F.frames_this_pass;
}

int follow_pass(void)
{
	struct followed_file *f;

	for (f = F.files; f != NULL; f = f->next)
		f->dirty = 1;
	return follow_process();
}

int follow_ms_until_due(void)
{
	int64_t first = group_first_pending_ms(), wait;

	if (!group_open()) {
		if (group_kept() == 0)
			return -1;
		wait = F.retry_after_ms - monotonic_ms();   /* to group_resume */
		return wait < 0 ? 0 : (int)wait;
	}
	if (first < 0)
		return 0;
	wait = first + (int64_t)F.cfg->batch_delay_ms - monotonic_ms();
	return wait < 0 ? 0 : (int)wait;
}

/* --- adopting files ------------------------------------------------------ */

static struct followed_file *file_find(const char *name)
{
	struct followed_file *f;

	for (f = F.files; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static struct followed_file *file_new(const char *dir, int dirfd, const char *base, int fd)
{
	struct followed_file *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	if ((size_t)snprintf(f->name, sizeof(f->name), "%s/%s", dir, base) >=
	    sizeof(f->name)) {
		free(f);
		return NULL;
	}
	f->base = f->name + strlen(dir) + 1;
	f->dirfd = dirfd;
	f->fd = fd;
	f->exit_watch.fd = -1;
	f->dirty = 1;
	identity_clear(&f->progress.who);
	strlcpy(f->progress.name, f->name, sizeof(f->progress.name));
	f->next = F.files;
	F.files = f;
	F.file_count++;
	return f;
}

/* 1 when base ends in ".spool", the name every writer gives its file. */
static int name_has_suffix(const char *base, const char *suffix)
{
	size_t n = strlen(base), k = strlen(suffix);

	return n > k && strcmp(base + n - k, suffix) == 0;
}

static int name_is_spool(const char *base)
{
	return name_has_suffix(base, ".spool");
}

/* The followed file that is the same inode as st, if any. */
static struct followed_file *file_find_inode(const struct stat *st)
{
	struct followed_file *f;
	struct stat fst;

	for (f = F.files; f != NULL; f = f->next)
		if (fstat(f->fd, &fst) == 0 && fst.st_dev == st->st_dev &&
		    fst.st_ino == st->st_ino)
			return f;
	return NULL;
}

/* Reads and checks a spool header: 0, -EAGAIN (not all there), -EBADMSG. */
static int read_header(int fd, struct spool_header *h)
{
	unsigned char buf[SPOOL_HEADER_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	return spool_header_decode(buf, (size_t)n, h);
}

/* Moves a file that is not followed (yet) to quarantine with a record. */
static void quarantine_unfollowed(const char *dir, int dirfd, const char *base,
				  int fd, const struct writer_identity *who,
				  const char *reason)
{
	struct followed_file *f = file_new(dir, dirfd, base, fd);

	if (f == NULL) {
		close(fd);
		return;
	}
	f->progress.who = *who;
	f->writer_pid = who->pid;
	if (file_condemn(f, reason, 0) < 0)
		abandon_transaction(-EIO, "write to");
}

/* A file in incoming/: written by the shim itself, identity from its owner. */
static void adopt_incoming(const char *base)
{
	struct writer_identity who;
	struct spool_header h;
	struct followed_file *f;
	struct stat st;
	char name[STORE_NAME_MAX];
	int fd, rc, claim;

	if (base[0] == '.' || F.file_count >= FOLLOW_MAX_FILES)
		return;
	/* Only finished names: a file written elsewhere and renamed into
	 * place is taken once, under its final name. A .claim file is taken
	 * here only when its claim was lost (handoff.h). */
	claim = name_has_suffix(base, HANDOFF_CLAIM_SUFFIX);
	if (!claim && !name_is_spool(base))
		return;
	if ((size_t)snprintf(name, sizeof(name), SPOOL_DIR_INCOMING "/%s", base) >=
	    sizeof(name) || file_find(name) != NULL)
		return;
	fd = openat(F.incoming_fd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENXIO) {
			daemon_warn("incoming/%s is not a regular file: removed", base);
			(void)unlinkat(F.incoming_fd, base, 0);
		}
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		daemon_warn("incoming/%s is not a plain regular file: removed", base);
		(void)unlinkat(F.incoming_fd, base, 0);
		close(fd);
		return;
	}
	if (claim && !F.starting && time(NULL) - st.st_mtime < HANDOFF_CLAIM_GRACE_S) {
		close(fd);                 /* its claim may still be queued */
		return;
	}
	if (file_find_inode(&st) != NULL) {
		/* Followed already under another name (renamed by its writer). */
		daemon_warn("incoming/%s is a spool file already followed under "
			    "another name: not read twice", base);
		close(fd);
		return;
	}
	identity_clear(&who);
	who.uid = st.st_uid;
	who.gid = st.st_gid;
	strlcpy(who.kind, IDENTITY_FILE_OWNER, sizeof(who.kind));
	identity_resolve_actor(&who);
	rc = read_header(fd, &h);
	if (rc == -EAGAIN && time(NULL) - st.st_mtime < HEADERLESS_GRACE_S) {
		close(fd);                 /* being created: next time */
		return;
	}
	if (rc < 0 || !(h.flags & SPOOL_FLAG_FALLBACK) ||
	    (h.flags & SPOOL_FLAG_COLLECTOR)) {
		quarantine_unfollowed(SPOOL_DIR_INCOMING, F.incoming_fd, base, fd, &who,
				      rc == -EAGAIN ? "no header" :
				      rc < 0 ? "bad header" :
				      "header of a fallback file lacks the fallback flag");
		return;
	}
	/* The header's pid is a claim: kept only when the kernel confirms it. */
	who.pid = RECORD_ABSENT;
	if (identity_alive(h.pid, h.start_time_ticks)) {
		struct writer_identity proc = who;
		int64_t proc_uid = -1;

		proc.pid = h.pid;
		if (identity_read_proc(&proc) == 0 &&
		    identity_proc_uid((pid_t)h.pid, &proc_uid) == 0 &&
		    proc_uid == (int64_t)st.st_uid) {
			who = proc;
			identity_resolve_actor(&who);
		} else {
			daemon_warn("incoming/%s claims pid %u, which belongs to another "
				    "user: pid not recorded", base, h.pid);
		}
	} else {
		daemon_info("incoming/%s claims pid %u, which is gone: pid not "
			    "recorded", base, h.pid);
	}
	who.start_time_ticks = h.start_time_ticks;
	f = file_new(SPOOL_DIR_INCOMING, F.incoming_fd, base, fd);
	if (f == NULL) {
		close(fd);
		return;
	}
	f->progress.who = who;
	f->progress.offset = f->committed_offset = SPOOL_HEADER_BYTES;
	f->progress.next_seq = f->committed_next_seq = -1;
	f->progress.flags = h.flags;
	f->writer_pid = h.pid;
	f->writer_start_ticks = h.start_time_ticks;
	f->needs_put = 1;
	daemon_info("adopted fallback spool file incoming/%s (uid %" PRId64
		    ", pid %u)", base, who.uid, h.pid);
}

/* A progress row left by a previous collector: resume its file. */
static int adopt_row(void *context, const struct store_progress *p)
{
	struct followed_file *f;
	struct spool_header h;
	const char *slash = strchr(p->name, '/');
	int dirfd, fd;

	(void)context;
	if (slash == NULL)
		goto forget;
	if ((size_t)(slash - p->name) == strlen(SPOOL_DIR_ACTIVE) &&
	    strncmp(p->name, SPOOL_DIR_ACTIVE, (size_t)(slash - p->name)) == 0)
		dirfd = F.active_fd;
	else if ((size_t)(slash - p->name) == strlen(SPOOL_DIR_INCOMING) &&
		 strncmp(p->name, SPOOL_DIR_INCOMING, (size_t)(slash - p->name)) == 0)
		dirfd = F.incoming_fd;
	else
		goto forget;
	fd = openat(dirfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto forget;
	f = file_new(dirfd == F.active_fd ? SPOOL_DIR_ACTIVE : SPOOL_DIR_INCOMING,
		     dirfd, slash + 1, fd);
	if (f == NULL) {
		close(fd);
		return 0;
	}
	f->progress = *p;
	f->committed_offset = p->offset;
	f->committed_next_seq = p->next_seq;
	f->writer_pid = p->who.pid;
	f->writer_start_ticks = p->who.start_time_ticks;
	if (p->flags & FOLLOW_FLAG_QUARANTINED) {
		f->quarantine = 1;        /* decided before the restart */
		return 0;
	}
	if (read_header(fd, &h) < 0 || h.start_time_ticks != p->who.start_time_ticks ||
	    (p->who.pid != RECORD_ABSENT && h.pid != p->who.pid)) {
		if (file_condemn(f, "header changed", 0) < 0)
			return -EIO;
		return 0;
	}
	f->writer_pid = h.pid;
	daemon_info("resuming %s at offset %" PRId64, p->name, p->offset);
	return 0;
forget:
	daemon_info("spool file %s is gone; forgetting its progress", p->name);
	return store_progress_delete(F.store, p->name);
}

/* Files in active/ with no progress row: never handed out, or damaged. */
static void scan_active_orphans(void)
{
	DIR *dir;
	struct dirent *e;
	int dupfd = dup(F.active_fd);

	if (dupfd < 0 || (dir = fdopendir(dupfd)) == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	rewinddir(dir);
	while ((e = readdir(dir)) != NULL) {
		char name[STORE_NAME_MAX];
		struct writer_identity who;
		struct spool_header h;
		struct stat st;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(name, sizeof(name), SPOOL_DIR_ACTIVE "/%s",
				     e->d_name) >= sizeof(name) || file_find(name) != NULL)
			continue;
		fd = openat(F.active_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			    O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (st.st_size <= SPOOL_HEADER_BYTES) {
			/* Created, never handed to a writer. */
			(void)unlinkat(F.active_fd, e->d_name, 0);
			close(fd);
			continue;
		}
		identity_clear(&who);
		who.uid = st.st_uid;
		if (read_header(fd, &h) == 0) {
			who.pid = h.pid;
			who.uid = h.uid;
			who.start_time_ticks = h.start_time_ticks;
		}
		strlcpy(who.kind, IDENTITY_FILE_OWNER, sizeof(who.kind));
		identity_resolve_actor(&who);
		quarantine_unfollowed(SPOOL_DIR_ACTIVE, F.active_fd, e->d_name, fd, &who,
				      "spool file without progress record");
	}
	closedir(dir);
}

static void scan_incoming(void)
{
	DIR *dir;
	struct dirent *e;
	int dupfd = dup(F.incoming_fd);

	if (dupfd < 0 || (dir = fdopendir(dupfd)) == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	rewinddir(dir);
	while ((e = readdir(dir)) != NULL)
		adopt_incoming(e->d_name);
	closedir(dir);
	F.last_rescan_ms = monotonic_ms();
}

/* --- inotify and the timer ----------------------------------------------- */

static void on_inotify(struct loop_watch *w, uint32_t events)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)events;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p + sizeof(struct inotify_event) <= buf + n) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			char name[STORE_NAME_MAX];
			struct followed_file *f;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				for (f = F.files; f != NULL; f = f->next)
					f->dirty = 1;
				F.rescan_wanted = 1;
				continue;
			}
			if (ev->len == 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s",
				 ev->wd == F.active_wd ? SPOOL_DIR_ACTIVE : SPOOL_DIR_INCOMING,
				 ev->name);
			f = file_find(name);
			if (f != NULL)
				f->dirty = 1;
			else if (ev->wd == F.incoming_wd)
				adopt_incoming(ev->name);
		}
	}
}

void follow_tick(void)
{
	struct followed_file *f;
	int64_t now = monotonic_ms();

	for (f = F.files; f != NULL; f = f->next) {
		f->dirty = 1;
		if (f->writer_gone || now - f->last_alive_check_ms < ALIVE_CHECK_MS)
			continue;
		f->last_alive_check_ms = now;
		if (!identity_alive(f->writer_pid, f->writer_start_ticks))
			f->writer_gone = 1;   /* read once more, then retire */
	}
	if (F.rescan_wanted || now - F.last_rescan_ms >= RESCAN_MS) {
		F.rescan_wanted = 0;
		scan_incoming();
	}
	follow_process();
}

/* --- start, register, stop ----------------------------------------------- */

static int open_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		daemon_error("cannot open %s/%s: %s", F.cfg->spool, name, strerror(errno));
	return fd < 0 ? -errno : fd;
}

static void identify_self(void)
{
	identity_clear(&F.self);
	F.self.pid = getpid();
	F.self.uid = getuid();
	F.self.gid = getgid();
	(void)identity_read_proc(&F.self);
	F.self.auid = RECORD_ABSENT;     /* the actor is the collector's user */
	F.self.session = RECORD_ABSENT;
	strlcpy(F.self.kind, IDENTITY_COLLECTOR, sizeof(F.self.kind));
	identity_resolve_actor(&F.self);
}

int follow_start(const struct config *cfg, struct store *st)
{
	int rc;

	static const struct group_listener listener = {
		.committed = files_committed,
		.rolled_back = files_rewind,
	};

	F.cfg = cfg;
	F.store = st;
	group_listen(&listener);
	if (gethostname(F.host, sizeof(F.host) - 1) < 0)
		strlcpy(F.host, "localhost", sizeof(F.host));
	identify_self();
	F.spool_fd = open(cfg->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (F.spool_fd < 0) {
		daemon_error("cannot open %s: %s", cfg->spool, strerror(errno));
		return -errno;
	}
	if ((F.active_fd = open_dir(F.spool_fd, SPOOL_DIR_ACTIVE)) < 0 ||
	    (F.incoming_fd = open_dir(F.spool_fd, SPOOL_DIR_INCOMING)) < 0 ||
	    (F.quarantine_fd = open_dir(F.spool_fd, "quarantine")) < 0)
		return -EIO;
	F.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (F.inotify_fd < 0) {
		daemon_error("inotify: %s", strerror(errno));
		return -errno;
	}
	{
		char path[PATH_MAX + 16];
		const uint32_t mask = IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO;

		snprintf(path, sizeof(path), "%s/" SPOOL_DIR_ACTIVE, cfg->spool);
		F.active_wd = inotify_add_watch(F.inotify_fd, path, mask);
		snprintf(path, sizeof(path), "%s/" SPOOL_DIR_INCOMING, cfg->spool);
		F.incoming_wd = inotify_add_watch(F.inotify_fd, path, mask);
		if (F.active_wd < 0 || F.incoming_wd < 0) {
			daemon_error("inotify on %s: %s", cfg->spool, strerror(errno));
			return -errno;
		}
	}
	F.inotify_watch.fd = F.inotify_fd;
	F.inotify_watch.handler = on_inotify;
	rc = loop_add(&F.inotify_watch, EPOLLIN);
	if (rc < 0)
		return rc;

	rc = follow_collector_event(EVENT_COLLECTOR_STARTED, NULL, NULL);
	if (rc == 0)
		rc = store_progress_each(F.store, adopt_row, NULL);
	if (rc == 0)
		scan_active_orphans();
	F.starting = 1;                /* no claim can be queued yet: */
	scan_incoming();               /* ingest_start comes after us */
	F.starting = 0;
	if (rc == 0)
		rc = file_commit();
	if (rc < 0) {
		daemon_error("cannot record the start in the store: %s", strerror(-rc));
		return rc;
	}
	files_reap();
	daemon_info("following %zu spool file(s) left from before", F.file_count);
	return 0;
}

int follow_active_dirfd(void)
{
	return F.active_fd;
}

/* The writer has exited (its pidfd is readable): read to the end, retire. */
static void on_writer_exit(struct loop_watch *w, uint32_t events)
{
	struct followed_file *f = w->context;

	(void)events;
	file_unwatch_exit(f);
	f->writer_gone = 1;
	f->dirty = 1;
}

/*
 * Learns of the writer's exit from the kernel at once (a pidfd in the
 * loop) instead of from the next liveness check, so that the file of a
 * short-lived writer is read to its end and retired straight away rather
 * than peeked at on every pass for up to ALIVE_CHECK_MS. A pidfd is readable
 * only once the whole thread group has exited: nothing can write to the
 * file after that. It is taken after the peer's start time was read, and
 * kept only if that start time still matches (the pid not reused between).
 * Without pidfds (older kernels), the liveness check alone decides.
 */
static void file_watch_exit(struct followed_file *f)
{
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)f->writer_pid, 0);

	if (fd < 0) {
		/* Gone already (a forked child's claim is often read after its
		 * exit): read to the end now, not at the next liveness check. */
		if (errno == ESRCH)
			f->writer_gone = f->dirty = 1;
		return;
	}
	if (!identity_alive(f->writer_pid, f->writer_start_ticks)) {
		close(fd);
		f->writer_gone = f->dirty = 1;
		return;
	}
	f->exit_watch.fd = fd;
	f->exit_watch.handler = on_writer_exit;
	f->exit_watch.context = f;
	if (loop_add(&f->exit_watch, EPOLLIN) < 0) {
		close(fd);
		f->exit_watch.fd = -1;
	}
}

/*
 * A followed file for a writer the collector knows (who), read from just
 * after the header: *out, or -EMFILE / -ENOMEM with fd closed.
 */
static int file_new_for_writer(const char *dir, int dir_fd, const char *base,
			       int fd, const struct writer_identity *who,
			       uint32_t flags, struct followed_file **out)
{
	struct followed_file *f;

	if (F.file_count >= FOLLOW_MAX_FILES) {
		close(fd);
		return -EMFILE;
	}
	f = file_new(dir, dir_fd, base, fd);
	if (f == NULL) {
		close(fd);
		return -ENOMEM;
	}
	f->progress.who = *who;
	f->progress.offset = f->committed_offset = SPOOL_HEADER_BYTES;
	f->progress.next_seq = f->committed_next_seq = -1;
	f->progress.flags = flags;
	f->writer_pid = who->pid;
	f->writer_start_ticks = who->start_time_ticks;
	f->last_alive_check_ms = monotonic_ms();
	*out = f;
	return 0;
}

int follow_register_active(const char *base, int fd,
			   const struct writer_identity *who, uint32_t flags)
{
	struct followed_file *f;
	int rc;

	rc = file_new_for_writer(SPOOL_DIR_ACTIVE, F.active_fd, base, fd, who,
				 flags, &f);
	if (rc < 0)
		return rc;
	rc = store_progress_put(F.store, &f->progress);
	if (rc == 0)
		rc = file_commit();
	else
		abandon_transaction(rc, "write to");
	if (rc < 0) {
		/* Not recorded: the file must not be used; it is retired. */
		f->finished = 1;
		files_reap();
		return rc;
	}
	file_watch_exit(f);
	return 0;
}

int follow_register_incoming(const char *base, int fd,
			     const struct writer_identity *who, uint32_t flags)
{
	struct followed_file *f;
	int rc;

	rc = file_new_for_writer(SPOOL_DIR_INCOMING, F.incoming_fd, base, fd, who,
				 flags, &f);
	if (rc < 0)
		return rc;                 /* -EMFILE: a later rescan adopts it */
	f->needs_put = 1;          /* with the next group commit, as adopted ones */
	file_watch_exit(f);
	return 0;
}

int follow_incoming_dirfd(void)
{
	return F.incoming_fd;
}

int follow_is_followed(const struct stat *st)
{
	return file_find_inode(st) != NULL;
}

int follow_stop(void)
{
	struct followed_file *f;
	int rounds, busy, rc;

	F.retry_after_ms = 0;
	for (f = F.files; f != NULL; f = f->next)
		if (!identity_alive(f->writer_pid, f->writer_start_ticks))
			f->writer_gone = 1;
	for (rounds = 0; rounds < 64; rounds++) {
		busy = 0;
		for (f = F.files; f != NULL; f = f->next) {
			f->dirty = 1;
			busy = 1;
		}
		if (!busy && !group_open() && group_kept() == 0)
			break;
		F.retry_after_ms = 0;
		follow_process();
		rc = file_commit();
		if (rc < 0)
			return rc;
		files_reap();
		busy = 0;
		for (f = F.files; f != NULL; f = f->next)
			busy |= f->dirty || f->finished || f->quarantine;
		if (!busy)
			break;
	}
	rc = file_commit();
	if (rc == 0)
		rc = follow_collector_event(EVENT_COLLECTOR_STOPPED, NULL, NULL);
	if (rc == 0)
		rc = file_commit();
	return rc;
}

void follow_fini(void)
{
	struct followed_file *f;

	while ((f = F.files) != NULL) {
		F.files = f->next;
		file_free(f);
	}
	F.file_count = 0;
	if (F.inotify_fd >= 0) {
		loop_remove(&F.inotify_watch);
		close(F.inotify_fd);
	}
	if (F.spool_fd >= 0)
		close(F.spool_fd);
	if (F.active_fd >= 0)
		close(F.active_fd);
	if (F.incoming_fd >= 0)
		close(F.incoming_fd);
	if (F.quarantine_fd >= 0)
		close(F.quarantine_fd);
	F.inotify_fd = F.spool_fd = F.active_fd = F.incoming_fd = F.quarantine_fd = -1;
}

size_t follow_file_count(void)
{
	return F.file_count;
}

const struct follow_counters *follow_counters(void)
{
	return &F.counters;
}

/* Unread bytes of f from its offset: whole frames, then what is left when
 * the frame there is not whole yet; at most BACKLOG_SCAN_BYTES looked at. */
#define BACKLOG_SCAN_BYTES (4 * 1024 * 1024)
static int64_t file_unread_bytes(struct followed_file *f, off_t size)
{
	int64_t at = f->progress.offset, total = 0;

	while (at < size && total < BACKLOG_SCAN_BYTES) {
		size_t want = (size_t)(size - at), pos = 0;
		const unsigned char *payload;
		uint32_t payload_len;
		ssize_t n;
		long k = 0;

		if (want > sizeof(F.buffer))
			want = sizeof(F.buffer);
		n = pread(f->fd, F.buffer, want, at);
		if (n <= 0)
			break;
		while (pos < (size_t)n &&
		       (k = spool_frame_decode(F.buffer + pos, (size_t)n - pos,
					       &payload, &payload_len, NULL)) > 0)
			pos += (size_t)k;
		total += (int64_t)pos;
		at += (int64_t)pos;
		if (k == 0)
			break;                 /* the end of the data so far */
		if (k < 0 && (pos == 0 || k != -EAGAIN)) {
			total += size - at;    /* torn or damaged: all of it */
			break;
		}
	}
	return total;
}

void follow_backlog(int64_t *files, int64_t *bytes, int64_t *oldest_ns)
{
	struct followed_file *f;
	struct stat st;
	int64_t unread, changed;

	*files = *bytes = 0;
	*oldest_ns = INT64_MIN;
	for (f = F.files; f != NULL; f = f->next) {
		if (f->quarantine || f->finished || fstat(f->fd, &st) < 0)
			continue;
		unread = file_unread_bytes(f, st.st_size);
		if (unread <= 0)
			continue;
		(*files)++;
		*bytes += unread;
		changed = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (*oldest_ns == INT64_MIN || changed < *oldest_ns)
			*oldest_ns = changed;
	}
}
