/*
 * forward.c - the forwarding framework (design in forward.h): per sink, the
 * committed cursor, the acknowledgement windows (applying the answers
 * forward_acks.c queued), reading committed records and checkpoints in
 * order, backlog, lag and stall reports.
 * Owns no transport: a sink's wire is its own file (forward_nats.c ...).
 * Must never move a cursor past an id that is not acknowledged, never send
 * an uncommitted record, and never block the loop on a sink.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "follow.h"
#include "forward.h"
#include "forward_acks.h"
#include "group_commit.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "store_forward.h"

/* Cursor rows are written at most this often (and at every stop). */
#define FORWARD_CURSOR_WRITE_MS 200
/* After a refusal, sending starts again this much later. */
#define FORWARD_RETRY_MS 1000
#define FORWARD_CHECKPOINT_BATCH 64
/* When the cursor has not moved for this long while records are out, the
 * ones still unanswered are sent again (a sink may lose an answer); a
 * sink may set a shorter time (ops->resend_ms). */
#define FORWARD_RESEND_MS 30000
#define FORWARD_RESEND_MAX 4096

struct forward_sink {
	char name[FORWARD_NAME_MAX];
	char cursor_name[FORWARD_STREAMS][FORWARD_NAME_MAX + 16];
	const struct forward_sink_ops *ops;
	void *state;
	struct forward_window window[FORWARD_STREAMS];
	int64_t written[FORWARD_STREAMS];   /* cursor last written to the store */
	int64_t written_ms;
	int64_t stall_ms, moved_ms, retry_at_ms, resent_ms;
	int stalled, started;
	uint64_t sent, acked, nacked;
	int64_t tree_size_seen;             /* committed size at the last empty read */
	int64_t *retry;                     /* refused record ids to send again */
	size_t retry_count;
	int64_t backlog, lag_ms;            /* as of the last tick */
	int64_t again_next, again_last;     /* asked again: ids left, if next <= last */
	int64_t again_round;                /* the latest round: wall-clock ms */
};

static struct {
	struct store *store;
	int initialised;
	struct forward_sink sinks[FORWARD_MAX_SINKS];
	size_t count;
} F;

/* first..last asked for again: the acknowledged ones go out again. */
static void take_again(struct forward_sink *s, int64_t first, int64_t last)
{
	int64_t through = s->window[FORWARD_RECORDS].cursor;

	if (s->again_next <= s->again_last || first < 1 || first > through)
		return;
	s->again_next = first;
	s->again_last = last < through ? last : through;
	s->again_round = s->again_round < loop_realtime_ns() / 1000000 ?
	    loop_realtime_ns() / 1000000 : s->again_round + 1;
	daemon_info("%s: asked for records %" PRId64 "..%" PRId64 " again (they "
		    "were acknowledged): sending them again", s->name, first,
		    s->again_last);
}

/* Applies every queued ack (loop thread). */
static void drain_acks(void)
{
	const struct forward_ack_entry *entries;
	size_t n, i;
	int failed;

	n = forward_acks_take(&entries, &failed);
	for (i = 0; i < n; i++) {
		const struct forward_ack_entry *a = &entries[i];
		struct forward_sink *s = a->sink;

		if (a->stream >= FORWARD_STREAMS)
			continue;
		if (a->ok == FORWARD_ACK_AGAIN) {
			take_again(s, a->id, a->last);
			continue;
		}
		if (a->ok == FORWARD_ACK_REWIND) {
			forward_window_rewind(&s->window[FORWARD_RECORDS]);
			forward_window_rewind(&s->window[FORWARD_CHECKPOINTS]);
			s->retry_count = 0;
			s->tree_size_seen = -1;
			continue;
		}
		if (a->ok) {
			s->acked++;
			if (forward_window_ack(&s->window[a->stream], a->id) &&
			    a->stream == FORWARD_RECORDS)
				s->moved_ms = loop_now_ms();
		} else {
			s->nacked++;
			s->retry_at_ms = loop_now_ms() + FORWARD_RETRY_MS;
			if (!forward_window_outstanding(&s->window[a->stream], a->id))
				continue;   /* acked since, or an older copy's refusal */
			if (a->stream == FORWARD_RECORDS && s->retry != NULL &&
			    s->retry_count < FORWARD_WINDOW_MAX) {
				/* only this one again: a rewind per refusal would
				 * resend the window once per timed-out publish */
				s->retry[s->retry_count++] = a->id;
				continue;
			}
			forward_window_rewind(&s->window[a->stream]);
			s->retry_count = 0;
			s->tree_size_seen = -1;
		}
	}
	if (failed) {
		for (i = 0; i < F.count; i++) {
			F.sinks[i].retry_count = 0;
			forward_window_rewind(&F.sinks[i].window[FORWARD_RECORDS]);
			forward_window_rewind(&F.sinks[i].window[FORWARD_CHECKPOINTS]);
		}
	}
}

int forward_cursor_load(struct store *st, const char *name, int64_t *through)
{
	return store_forward_cursor_get(st, name, through);
}

int forward_init(struct store *st)
{
	int rc;

	if (F.initialised)
		return 0;
	F.store = st;
	rc = forward_acks_start();
	if (rc < 0)
		return rc;
	F.initialised = 1;
	return 0;
}

int forward_add(const char *name, const struct forward_sink_ops *ops,
		void *state, int64_t stall_ms, struct forward_sink **out)
{
	struct forward_sink *s;
	int64_t through;
	int rc, i;

	if (!F.initialised)
		return -EINVAL;
	if (F.count == FORWARD_MAX_SINKS)
		return -ENOSPC;
	s = &F.sinks[F.count];
	memset(s, 0, sizeof(*s));
	if (strlcpy(s->name, name, sizeof(s->name)) >= sizeof(s->name))
		return -ENAMETOOLONG;
	snprintf(s->cursor_name[FORWARD_RECORDS], sizeof(s->cursor_name[0]), "%s", name);
	snprintf(s->cursor_name[FORWARD_CHECKPOINTS], sizeof(s->cursor_name[0]),
		 "%s/checkpoints", name);
	for (i = 0; i < FORWARD_STREAMS; i++) {
		rc = store_forward_cursor_get(F.store, s->cursor_name[i], &through);
		if (rc < 0)
			return rc;
		forward_window_init(&s->window[i], through);
		s->written[i] = through;
	}
	s->retry = calloc(FORWARD_WINDOW_MAX, sizeof(*s->retry));
	if (s->retry == NULL)
		return -ENOMEM;
	s->ops = ops;
	s->state = state;
	s->stall_ms = stall_ms;
	s->moved_ms = loop_now_ms();
	s->tree_size_seen = -1;
	if (out != NULL)
		*out = s;
	F.count++;
	rc = ops->start(state, s);
	if (rc < 0) {
		F.count--;
		free(s->retry);
		s->retry = NULL;
		return rc;
	}
	s->started = 1;
	daemon_info("forwarding to %s (%s) from record %" PRId64, s->name,
		    ops->kind, s->window[FORWARD_RECORDS].cursor + 1);
	return 0;
}

struct send_context {
	struct forward_sink *sink;
	int sent;
	int blocked;
};

static int send_one(void *context, const struct forward_record *r)
{
	struct send_context *c = context;
	struct forward_sink *s = c->sink;
	int rc;

	if (forward_window_room(&s->window[FORWARD_RECORDS]) <= 0) {
		c->blocked = 1;
		return 1;
	}
	rc = s->ops->send(s->state, r);
	if (rc < 0) {
		if (rc != -EAGAIN)
			daemon_debug("%s: record %" PRId64 " not sent: %s", s->name,
				     r->id, strerror(-rc));
		c->blocked = 1;
		return 1;
	}
	if (forward_window_sent(&s->window[FORWARD_RECORDS], r->id) < 0) {
		c->blocked = 1;   /* a long absent run while acks are due */
		forward_window_rewind(&s->window[FORWARD_RECORDS]);
		return 1;
	}
	s->sent++;
	c->sent++;
	return 0;
}

static int send_checkpoint_one(void *context, const struct forward_checkpoint *cp)
{
	struct send_context *c = context;
	struct forward_sink *s = c->sink;

	if (forward_window_room(&s->window[FORWARD_CHECKPOINTS]) <= 0 ||
	    s->ops->send_checkpoint(s->state, cp) < 0 ||
	    forward_window_sent(&s->window[FORWARD_CHECKPOINTS], cp->seq) < 0) {
		c->blocked = 1;
		return 1;
	}
	return 0;
}

/* Writes the cursors of s that moved (all of them when force). */
static void write_cursors(struct forward_sink *s, int force)
{
	int64_t now = loop_now_ms();
	int i, rc;

	/* Not on every pass: under load a pass runs for every few records */
	if (!force && now - s->written_ms < FORWARD_CURSOR_WRITE_MS)
		return;
	for (i = 0; i < FORWARD_STREAMS; i++) {
		if (s->window[i].cursor == s->written[i])
			continue;
		rc = store_forward_cursor_put(F.store, s->cursor_name[i],
					      s->window[i].cursor, loop_realtime_ns());
		if (rc < 0) {
			daemon_warn("%s: cannot write the forwarding cursor: %s "
				    "(records after it will be sent again)",
				    s->name, strerror(-rc));
			return;
		}
		s->written[i] = s->window[i].cursor;
	}
	s->written_ms = now;
}

/* Sends one refused record again (still outstanding in the window). */
static int resend_one(void *context, const struct forward_record *r)
{
	struct send_context *c = context;
	int rc = c->sink->ops->send(c->sink->state, r);

	if (rc < 0) {
		c->blocked = 1;
		return 1;
	}
	c->sink->sent++;
	c->sent++;
	return 0;
}

/* The refused records, oldest refusal first; 0 when all went out. */
static int resend_refused(struct forward_sink *s, struct send_context *c)
{
	size_t done = 0;
	int rc;

	while (done < s->retry_count && !c->blocked) {
		int64_t id = s->retry[done];

		if (forward_window_outstanding(&s->window[FORWARD_RECORDS], id)) {
			rc = store_forward_records(F.store, id - 1, 1, resend_one, c);
			if (rc < 0)
				return rc;
			if (c->blocked)
				break;
		}
		done++;
	}
	memmove(s->retry, s->retry + done, (s->retry_count - done) * sizeof(*s->retry));
	s->retry_count -= done;
	return s->retry_count == 0 ? 0 : 1;
}

/* One record asked for again (forward_again), marked with its round. */
static int again_one(void *context, const struct forward_record *r)
{
	struct send_context *c = context;
	struct forward_sink *s = c->sink;
	struct forward_record copy = *r;

	if (r->id > s->again_last)
		return 1;
	copy.again = s->again_round;
	if (s->ops->send(s->state, &copy) < 0) {
		c->blocked = 1;
		return 1;
	}
	s->again_next = r->id + 1;
	s->sent++;
	c->sent++;
	return 0;
}

/* What is left of a request to send again, as far as room allows; 1 when
 * some is left, 0 when all went out, or -errno. */
static int send_again(struct forward_sink *s, struct send_context *c,
		      int64_t room)
{
	int64_t want = s->again_last - s->again_next + 1;
	int rc, before = c->sent;

	if (want > room)
		want = room;
	if (want > FORWARD_READ_BATCH)
		want = FORWARD_READ_BATCH;
	if (want <= 0)
		return 1;
	rc = store_forward_records(F.store, s->again_next - 1, (int)want, again_one, c);
	if (rc < 0)
		return rc;
	if (!c->blocked && c->sent - before < want)
		s->again_next = s->again_last + 1;   /* the rest is not stored */
	return s->again_next <= s->again_last ? 1 : 0;
}

/* How many records s can send now: its window's room and the sink's. */
static int64_t sink_room(struct forward_sink *s)
{
	int64_t room = forward_window_room(&s->window[FORWARD_RECORDS]);

	if (s->ops->room != NULL) {
		int64_t own = s->ops->room(s->state);

		if (own < room)
			room = own;
	}
	return room;
}

static int pass_sink(struct forward_sink *s)
{
	struct send_context c = { .sink = s };
	int64_t size = (int64_t)store_tree_committed(F.store)->size;
	int64_t room;
	int rc;

	write_cursors(s, 0);
	if (loop_now_ms() < s->retry_at_ms)
		return 0;
	if (s->retry_count > 0) {
		rc = resend_refused(s, &c);
		if (rc != 0)
			return rc < 0 ? rc : c.sent;
	}
	if (s->again_next <= s->again_last) {
		rc = send_again(s, &c, sink_room(s));
		if (rc != 0)
			return rc < 0 ? rc : c.sent;
	}
	/* Nothing new committed since a read found nothing more. */
	if (size == s->tree_size_seen)
		return 0;
	do {
		int want = FORWARD_READ_BATCH;
		int before = c.sent;

		/* little room while acks are due: they wake the loop */
		room = sink_room(s);
		if (room <= 0 || (room < FORWARD_READ_MIN &&
				  s->window[FORWARD_RECORDS].sent >
				  s->window[FORWARD_RECORDS].cursor))
			return c.sent;
		if (room < want)
			want = (int)room;

		rc = store_forward_records(F.store, s->window[FORWARD_RECORDS].sent,
					   want, send_one, &c);
		if (rc < 0)
			return rc;
		if (c.blocked)
			return c.sent;
		if (c.sent - before < want) {
			s->tree_size_seen = size;
			break;
		}
	} while (c.sent < FORWARD_WINDOW_MAX);
	return c.sent;
}

int forward_pass(void)
{
	size_t i;
	int total = 0, rc;

	if (!F.initialised || F.count == 0)
		return 0;
	drain_acks();
	for (i = 0; i < F.count; i++) {
		rc = pass_sink(&F.sinks[i]);
		if (rc < 0)
			return rc;
		total += rc;
	}
	return total;
}

/*
 * "Audit Forwarding Stalled": the trail itself says that sink s has not
 * shipped for stall_ms (target "forward:NAME"; backlog, cursor and ages as
 * details), once per stall, so an auditor sees the gap in the receiver's
 * copy without reading the log. Only where the collector follows spool
 * files (its own records need follow.c), never in aggregator mode.
 */
static void store_stall(struct forward_sink *s, int64_t now)
{
	char target[96];
	struct record_detail detail[] = {
		{ .key = "sink", .str = s->name },
		{ .key = "backlog", .num = s->backlog },
		{ .key = "shipped_through", .num = s->window[FORWARD_RECORDS].cursor },
		{ .key = "stalled_s", .num = (now - s->moved_ms) / 1000 },
		{ .key = "oldest_unshipped_s", .num = s->lag_ms / 1000 },
	};

	snprintf(target, sizeof(target), "forward:%s", s->name);
	if (follow_collector_event_about(EVENT_FORWARDING_STALLED, target, detail,
					 sizeof(detail) / sizeof(detail[0])) < 0)
		daemon_warn("%s: could not store the stall record", s->name);
}

/* Records out for FORWARD_RESEND_MS without the cursor moving: their
 * answers may be lost; the unanswered ones go again (oldest first). */
static void resend_unanswered(struct forward_sink *s, int64_t now)
{
	struct forward_window *w = &s->window[FORWARD_RECORDS];
	int64_t id, queued = 0;

	int64_t after = s->ops->resend_ms > 0 ? s->ops->resend_ms : FORWARD_RESEND_MS;

	if (w->sent == w->cursor || s->retry_count > 0 ||
	    now - s->moved_ms < after || now - s->resent_ms < after)
		return;
	s->resent_ms = now;
	for (id = w->cursor + 1; id <= w->sent && queued < FORWARD_RESEND_MAX &&
	     s->retry_count < FORWARD_WINDOW_MAX; id++) {
		if (forward_window_outstanding(w, id)) {
			s->retry[s->retry_count++] = id;
			queued++;
		}
	}
	if (queued > 0)
		daemon_info("%s: %" PRId64 " record(s) from id %" PRId64 " unanswered "
			    "for %" PRId64 " s: sent again", s->name, queued,
			    w->cursor + 1, after / 1000);
}

static void tick_sink(struct forward_sink *s, int64_t now)
{
	struct send_context c = { .sink = s };
	int64_t last = 0, received = -1;

	if (s->ops->tick != NULL)
		s->ops->tick(s->state, now);
	resend_unanswered(s, now);
	if (s->ops->send_checkpoint != NULL && now >= s->retry_at_ms)
		(void)store_forward_checkpoints(F.store,
						s->window[FORWARD_CHECKPOINTS].sent,
						FORWARD_CHECKPOINT_BATCH,
						send_checkpoint_one, &c);
	/* a rewind or an absent run may need a read though nothing was committed */
	s->tree_size_seen = -1;
	if (store_forward_last_id(F.store, &last) < 0)
		return;
	s->backlog = last > s->window[FORWARD_RECORDS].cursor ?
		last - s->window[FORWARD_RECORDS].cursor : 0;
	s->lag_ms = 0;
	if (s->backlog > 0 &&
	    store_forward_first_after(F.store, s->window[FORWARD_RECORDS].cursor,
				      &received) == 0 && received >= 0) {
		int64_t age = (loop_realtime_ns() - received) / 1000000;

		s->lag_ms = age > 0 ? age : 0;
	}
	if (s->backlog == 0)
		s->moved_ms = now;
	if (!s->stalled && s->backlog > 0 && now - s->moved_ms >= s->stall_ms) {
		s->stalled = 1;
		store_stall(s, now);
		daemon_warn("%s: forwarding stalled: %" PRId64 " record(s) not "
			    "acknowledged for %" PRId64 " s (shipped through id %"
			    PRId64 ", oldest unshipped %" PRId64 " s old); they are "
			    "kept and sent when %s answers", s->name, s->backlog,
			    (now - s->moved_ms) / 1000,
			    s->window[FORWARD_RECORDS].cursor, s->lag_ms / 1000,
			    s->ops->kind);
	} else if (s->stalled && now - s->moved_ms < s->stall_ms) {
		s->stalled = 0;
		daemon_info("%s: forwarding again: shipped through id %" PRId64
			    ", %" PRId64 " record(s) behind", s->name,
			    s->window[FORWARD_RECORDS].cursor, s->backlog);
	}
}

void forward_tick(void)
{
	int64_t now = loop_now_ms();
	size_t i;

	if (!F.initialised)
		return;
	drain_acks();
	for (i = 0; i < F.count; i++) {
		tick_sink(&F.sinks[i], now);
		write_cursors(&F.sinks[i], 1);
	}
}

void forward_stop(void)
{
	size_t i;

	if (!F.initialised)
		return;
	for (i = 0; i < F.count; i++)
		if (F.sinks[i].started)
			F.sinks[i].ops->stop(F.sinks[i].state);
	drain_acks();
	for (i = 0; i < F.count; i++) {
		write_cursors(&F.sinks[i], 1);
		free(F.sinks[i].retry);
		F.sinks[i].retry = NULL;
		daemon_info("%s: shipped through id %" PRId64 " (%" PRIu64 " sent, %"
			    PRIu64 " acknowledged, %" PRIu64 " refused this run)",
			    F.sinks[i].name, F.sinks[i].window[FORWARD_RECORDS].cursor,
			    F.sinks[i].sent, F.sinks[i].acked, F.sinks[i].nacked);
	}
	(void)group_commit();
	store_forward_release();
	forward_acks_stop();
	F.count = 0;
	F.initialised = 0;
}

size_t forward_sink_count(void)
{
	return F.count;
}

int forward_status(size_t i, struct forward_status *out)
{
	const struct forward_sink *s;

	if (i >= F.count)
		return -ENOENT;
	s = &F.sinks[i];
	out->name = s->name;
	out->through_id = s->window[FORWARD_RECORDS].cursor;
	out->sent_id = s->window[FORWARD_RECORDS].sent;
	out->backlog = s->backlog;
	out->lag_ms = s->lag_ms;
	out->checkpoints_through = s->window[FORWARD_CHECKPOINTS].cursor;
	out->sent = s->sent;
	out->acked = s->acked;
	out->nacked = s->nacked;
	out->stalled = s->stalled;
	return 0;
}
