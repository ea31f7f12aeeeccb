/*
 * follow_read.c - reading a followed spool file's frames into stored
 * records, by the rules follow.c's head comment lists: identity from the
 * file never from the record, seq gaps and the writer's own counts stored
 * as losses, bad frames and forged events stored as tampering, a frame
 * reserved and never written skipped and reported. Must never trust a
 * byte of a spool file: every length is checked by spool_frame_decode and
 * every payload by record_decode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fanotify.h"
#include "follow_impl.h"
#include "group_commit.h"
#include "links.h"
#include "log.h"
#include "own_record.h"

/* The integer value of detail key in r, or -1 when absent or not > 0. */
static int64_t read_count_detail(const struct record *r, const char *key)
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
	int64_t lost = read_count_detail(r, "lost_before");
	int64_t denied = read_count_detail(r, "denied_while_down");

	if (denied > 0)
		daemon_warn("pid %" PRId64 " (%s, %s) was denied %" PRId64 " PHI "
			    "call(s) with EACCES while the collector could not be "
			    "reached (on_collector_down = deny)", f->writer_pid,
			    f->progress.who.exe[0] ? f->progress.who.exe :
			    r->exe != NULL && r->exe[0] != '\0' ? r->exe : "?",
			    f->progress.who.actor, denied);
	if (lost > 0)
		return own_lost(f, lost, -1, "writer could not hand them off");
	return 0;
}

/* Writes f's offset and next seq (or its whole row) into the transaction. */
int file_save_progress(struct followed_file *f)
{
	int rc;

	if (f->needs_put)
		rc = store_progress_put(follow.store, &f->progress);
	else if (f->progress_changed)
		rc = store_progress_update(follow.store, f->name, f->progress.offset,
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

/* One valid frame's payload at frame_offset: store it (or say why not). */
static int file_store_payload(struct followed_file *f, const unsigned char *payload,
			      uint32_t len, int64_t frame_offset)
{
	struct record r;
	const char *why = NULL;
	char reason[128];
	int rc;

	rc = record_decode(payload, len, &r, follow.arena, sizeof(follow.arena), &why);
	if (rc < 0 || event_is_collector_only(r.event_type)) {
		if (rc < 0) {
			follow.counters.undecodable++;
			snprintf(reason, sizeof(reason), "undecodable record: %s",
				 why ? why : "invalid");
		} else {
			follow.counters.forged++;
			snprintf(reason, sizeof(reason),
				 "writer record claims collector event \"%s\"",
				 event_type_name(r.event_type));
		}
		/* It took one seq, most likely: no second report as a loss. */
		if (f->progress.next_seq >= 0)
			f->progress.next_seq++;
		return own_tampered(f, reason, frame_offset);
	}
	if (r.seq != RECORD_ABSENT && r.seq >= 0) {
		int64_t expected = f->progress.next_seq;

		if (expected >= 0 && r.seq > expected) {
			rc = own_lost(f, r.seq - expected, expected, "sequence gap");
			if (rc < 0)
				return rc;
		} else if (expected >= 0 && r.seq < expected) {
			daemon_warn("%s: seq went back from %" PRId64 " to %" PRId64,
				    f->name, expected, r.seq);
		}
		if (r.seq < INT64_MAX)
			f->progress.next_seq = r.seq + 1;
	}
	own_record_set_identity(&r, &f->progress.who);
	if (f->progress.flags & SPOOL_FLAG_FALLBACK) {
		/* A file the user wrote: a copy of one already read is a replay. */
		rc = store_record_seen(follow.store, &r);
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
		follow.counters.undecodable++;
		return own_tampered(f, "record does not re-encode", frame_offset);
	}
	if (rc == 0)
		follow.counters.records++;
	return rc;
}

/* Marks f for quarantine: its row goes with the tamper record. */
int file_condemn(struct followed_file *f, const char *reason, int64_t offset)
{
	int rc;

	rc = own_tampered(f, reason, offset);
	if (rc < 0)
		return rc;
	/* The row stays, flagged, until the file is in quarantine/. */
	f->progress.flags |= FOLLOW_FLAG_QUARANTINED;
	f->needs_put = 1;
	rc = file_save_progress(f);
	if (rc < 0)
		return rc;
	f->quarantine = 1;
	follow.counters.tampered++;
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
		ssize_t n = pread(f->fd, follow.buffer, sizeof(follow.buffer), at);
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

			if (follow.buffer[i] != 0)
				nonzero = 1;
			if (spool_frame_decode(follow.buffer + i, (size_t)n - i, &payload,
					       &payload_len, NULL) <= 0 ||
			    record_decode(payload, payload_len, &r, follow.arena,
					  sizeof(follow.arena), NULL) < 0)
				continue;
			from = f->progress.next_seq;
			count = from >= 0 && r.seq != RECORD_ABSENT && r.seq > from ?
				r.seq - from : 1;
			if (from >= 0 && r.seq != RECORD_ABSENT && r.seq > from)
				f->progress.next_seq = r.seq;  /* reported here */
			f->progress.offset = at + (int64_t)i;
			f->progress_changed = 1;
			return own_lost(f, count, from, "frame reserved but never "
					  "written by a writer that is gone") < 0 ? -EIO : 1;
		}
		at += (int64_t)limit;
	}
	if (!nonzero)
		return 0;                 /* the preallocated end: nothing lost */
	return own_lost(f, 1, f->progress.next_seq, "frame cut short (never "
			  "published by a writer that is gone)");
}

/*
 * Reads whole frames of f from its offset up to size, at most *budget
 * bytes (*budget is lowered by what was read). 0 or a store error (the
 * transaction must be abandoned); f->quarantine may be set.
 */
static int read_frames(struct followed_file *f, int64_t size, size_t *budget)
{
	int rc, retried = 0;

	while (f->progress.offset < size && *budget > 0) {
		size_t want = (size_t)(size - f->progress.offset), pos = 0;
		const unsigned char *peek_payload;
		uint32_t peek_len;
		ssize_t n;

		if (want > sizeof(follow.buffer))
			want = sizeof(follow.buffer);
		/* A look first: an idle file costs one small read. */
		n = pread(f->fd, follow.buffer, want < PEEK_BYTES ? want : PEEK_BYTES,
			  f->progress.offset);
		if (n <= 0 || spool_frame_decode(follow.buffer, (size_t)n, &peek_payload,
						 &peek_len, NULL) == 0)
			break;
		if (want > (size_t)n)
			n = pread(f->fd, follow.buffer, want, f->progress.offset);
		if (n <= 0)
			break;
		for (;;) {
			const unsigned char *payload;
			uint32_t payload_len;
			const char *why = NULL;
			long k;

			k = spool_frame_decode(follow.buffer + pos, (size_t)n - pos,
					       &payload, &payload_len, &why);
			if (k == -EBADMSG && !f->writer_gone && !retried) {
				/*
				 * The kernel's copy may have seen a frame of a
				 * mapped writer being published out of order (the
				 * length before the bytes it covers): read it once
				 * more before calling it damaged.
				 */
				ssize_t m = pread(f->fd, follow.buffer + pos,
						  (size_t)n - pos, f->progress.offset);

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
			follow.frames_this_pass++;
			rc = file_store_payload(f, payload, payload_len, f->progress.offset);
			if (rc < 0 || f->quarantine)
				return rc;
			pos += (size_t)k;
			f->progress.offset += k;
			f->progress_changed = 1;
			if (follow.cfg->flush == CONFIG_FLUSH_EVERY_RECORD ||
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
		*budget = *budget > pos ? *budget - pos : 0;
	}
	return 0;
}

/*
 * The writer is gone and every whole frame is read: what follows f's
 * offset, if anything, is a frame cut short (reported lost) or one
 * reserved and never written. Returns 1 when reading goes on at a valid
 * frame found after it, 0 when the file is done, or a store error.
 */
static int read_tail(struct followed_file *f, int64_t size)
{
	const unsigned char *payload;
	uint32_t payload_len;
	ssize_t n;
	long k;

	if (f->progress.offset >= size)
		return 0;
	n = pread(f->fd, follow.buffer, sizeof(follow.buffer), f->progress.offset);
	k = n > 0 ? spool_frame_decode(follow.buffer, (size_t)n, &payload,
				       &payload_len, NULL) : 1;
	if (k == -EAGAIN)
		return own_lost(f, 1, f->progress.next_seq, "frame cut short");
	if (k == 0)
		return file_skip_unpublished(f, size);
	return 0;
}

/*
 * Reads f from its offset: stores every whole frame, stops at the end of
 * the data (a zero length word: a mapped file is preallocated with zeros,
 * so its size says nothing). Returns 0 or a store error (the transaction
 * must be abandoned).
 */
int file_read(struct followed_file *f)
{
	size_t budget = READ_BUDGET_BYTES;
	struct stat st;
	int rc;

	f->dirty = 0;
	if (f->quarantine || f->finished)
		return 0;
	if (fstat(f->fd, &st) < 0)
		return 0;
	if (st.st_size < f->progress.offset)
		return file_condemn(f, "file shrank", (int64_t)st.st_size);
	for (;;) {
		rc = read_frames(f, (int64_t)st.st_size, &budget);
		if (rc < 0 || f->quarantine)
			return rc;
		if (budget == 0)
			f->dirty = 1;     /* more to read: come back next pass */
		rc = file_save_progress(f);
		if (rc < 0 || !f->writer_gone || f->dirty)
			return rc;
		rc = read_tail(f, (int64_t)st.st_size);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (budget == 0) {        /* a frame found after the gap */
			f->dirty = 1;     /* next pass */
			return file_save_progress(f);
		}
	}
	/* The row stays (at the end) until the file is deleted. */
	f->finished = 1;
	return 0;
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

		if (want > sizeof(follow.buffer))
			want = sizeof(follow.buffer);
		n = pread(f->fd, follow.buffer, want, at);
		if (n <= 0)
			break;
		while (pos < (size_t)n &&
		       (k = spool_frame_decode(follow.buffer + pos, (size_t)n - pos,
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
	for (f = follow.files; f != NULL; f = f->next) {
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
