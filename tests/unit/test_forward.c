/*
 * test_forward.c - the forwarding framework's cursor logic: the window on
 * its own (contiguous acks, acks out of order, late and duplicate acks,
 * absent ids, a full window, rewind), then forward.c over a real store
 * with a sink that acknowledges what the test says: the committed cursor
 * moves only over contiguous acks, only committed records are sent, and a
 * restart sends again from the cursor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "forward_window.h"
#include "group_commit.h"
#include "loop.h"
#include "merkle.h"
#include "store.h"
#include "store_forward.h"
#include "unit.h"

static void test_window_contiguous(void)
{
	static struct forward_window w;
	int64_t id;

	forward_window_init(&w, 0);
	CHECK_INT(forward_window_room(&w), FORWARD_WINDOW_MAX);
	for (id = 1; id <= 5; id++)
		CHECK_INT(forward_window_sent(&w, id), 0);
	CHECK_INT(forward_window_room(&w), FORWARD_WINDOW_MAX - 5);
	CHECK_INT(forward_window_sent(&w, 5), -ERANGE);  /* not after sent */
	for (id = 1; id <= 5; id++)
		CHECK_INT(forward_window_ack(&w, id), 1);
	CHECK_INT(w.cursor, 5);
	CHECK_INT(forward_window_ack(&w, 5), 0);          /* duplicate */
	CHECK_INT(forward_window_ack(&w, 6), 0);          /* never sent */
	CHECK_INT(w.cursor, 5);
}

static void test_window_out_of_order(void)
{
	static struct forward_window w;
	int64_t id;

	forward_window_init(&w, 100);
	for (id = 101; id <= 110; id++)
		CHECK_INT(forward_window_sent(&w, id), 0);
	CHECK_INT(forward_window_ack(&w, 103), 0);
	CHECK_INT(forward_window_ack(&w, 110), 0);
	CHECK_INT(forward_window_ack(&w, 102), 0);
	CHECK_INT(w.cursor, 100);          /* 101 is still outstanding */
	CHECK_INT(forward_window_ack(&w, 101), 1);
	CHECK_INT(w.cursor, 103);
	for (id = 104; id <= 109; id++)
		forward_window_ack(&w, id);
	CHECK_INT(w.cursor, 110);
	CHECK_INT(w.sent, 110);
}

static void test_window_absent_full_rewind(void)
{
	static struct forward_window w;
	int64_t id;

	forward_window_init(&w, 0);
	/* ids 2..4 do not exist (retention): they count as acknowledged */
	CHECK_INT(forward_window_sent(&w, 1), 0);
	CHECK_INT(forward_window_sent(&w, 5), 0);
	CHECK_INT(forward_window_ack(&w, 1), 1);
	CHECK_INT(w.cursor, 4);
	CHECK_INT(forward_window_ack(&w, 5), 1);
	CHECK_INT(w.cursor, 5);
	/* a long absent run with nothing outstanding jumps */
	CHECK_INT(forward_window_sent(&w, 5 + 3 * FORWARD_WINDOW_MAX), 0);
	CHECK_INT(w.cursor, 4 + 3 * FORWARD_WINDOW_MAX);
	forward_window_ack(&w, 5 + 3 * FORWARD_WINDOW_MAX);

	/* the window fills at exactly FORWARD_WINDOW_MAX outstanding */
	forward_window_init(&w, 7);
	for (id = 8; id < 8 + FORWARD_WINDOW_MAX; id++)
		if (forward_window_sent(&w, id) != 0)
			break;
	CHECK_INT(id, 8 + FORWARD_WINDOW_MAX);
	CHECK_INT(forward_window_room(&w), 0);
	CHECK_INT(forward_window_sent(&w, 8 + FORWARD_WINDOW_MAX), -ERANGE);
	/* the ring wraps: ack all but the first, then the first */
	for (id = 9; id < 8 + FORWARD_WINDOW_MAX; id++)
		forward_window_ack(&w, id);
	CHECK_INT(w.cursor, 7);
	CHECK_INT(forward_window_ack(&w, 8), 1);
	CHECK_INT(w.cursor, 7 + FORWARD_WINDOW_MAX);
	CHECK_INT(forward_window_sent(&w, 8 + FORWARD_WINDOW_MAX), 0);
	CHECK_INT(forward_window_ack(&w, 8 + FORWARD_WINDOW_MAX), 1);

	/* rewind: what was acked after a gap is sent again; late acks of the
	 * old generation beyond the new sent are ignored */
	forward_window_init(&w, 0);
	for (id = 1; id <= 4; id++)
		forward_window_sent(&w, id);
	forward_window_ack(&w, 1);
	forward_window_ack(&w, 3);
	forward_window_rewind(&w);
	CHECK_INT(w.cursor, 1);
	CHECK_INT(w.sent, 1);
	CHECK_INT(forward_window_ack(&w, 4), 0);
	CHECK_INT(forward_window_sent(&w, 2), 0);
	CHECK_INT(forward_window_sent(&w, 3), 0);
	CHECK_INT(forward_window_ack(&w, 3), 0);   /* the old bit was cleared */
	CHECK_INT(w.cursor, 1);
	CHECK_INT(forward_window_ack(&w, 2), 1);
	CHECK_INT(w.cursor, 3);
}

/* ---- forward.c over a store, with a sink the test drives ---- */

struct test_sink {
	struct forward_sink *sink;
	int64_t sent[256];
	size_t count;
	int refuse;           /* send answers -EAGAIN */
	int stopped;
	int64_t room;         /* what room_sink_ops reports */
};

static int sink_start(void *state, struct forward_sink *sink)
{
	((struct test_sink *)state)->sink = sink;
	return 0;
}

static void sink_stop(void *state)
{
	((struct test_sink *)state)->stopped = 1;
}

static int sink_send(void *state, const struct forward_record *r)
{
	struct test_sink *t = state;
	merkle_hash leaf;

	if (t->refuse || t->count == 256)
		return -EAGAIN;
	merkle_leaf_hash(r->bytes, r->len, leaf);
	CHECK(memcmp(leaf, r->leaf_hash, 32) == 0);
	t->sent[t->count++] = r->id;
	return 0;
}

static const struct forward_sink_ops test_ops = {
	.kind = "test",
	.start = sink_start,
	.stop = sink_stop,
	.send = sink_send,
};

static int64_t sink_room(void *state)
{
	return ((struct test_sink *)state)->room;
}

/* A sink that says how many records it can take (ops->room). */
static const struct forward_sink_ops room_sink_ops = {
	.kind = "test",
	.start = sink_start,
	.stop = sink_stop,
	.send = sink_send,
	.room = sink_room,
};

static char dir[64], db_path[128];

static void append(struct store *st, int n)
{
	struct record r;
	int i;

	for (i = 0; i < n; i++) {
		record_init(&r);
		r.workspace_id = "ws_unit";
		r.actor_user_id = "alice";
		r.event_type = EVENT_FILE_VIEWED;
		r.timestamp_sec = 1000 + i;
		r.host = "h1";
		r.target = "/srv/ehr/x";
		CHECK_INT(store_append(st, &r), 0);
	}
}

static int64_t stored_cursor(struct store *st)
{
	int64_t through = -1;

	CHECK_INT(forward_cursor_load(st, "test", &through), 0);
	return through;
}

/* Opens the store at db_path and starts forwarding to a sink "test". */
static struct store *start_forwarding(const struct forward_sink_ops *ops,
				      struct test_sink *t)
{
	struct store *st = NULL;
	const char *why = NULL;

	CHECK_INT(store_open(&st, db_path, CONFIG_FLUSH_BATCH, &why), 0);
	if (st == NULL)
		return NULL;
	group_init(st);      /* forward_stop commits through the group */
	CHECK_INT(loop_init(), 0);
	CHECK_INT(forward_init(st), 0);
	CHECK_INT(forward_add("test", ops, t, 60000, NULL), 0);
	return st;
}

static void test_forward_store_restart(void)
{
	static struct test_sink t;
	struct store *st;
	size_t i;

	snprintf(db_path, sizeof(db_path), "%s/fwd.db", dir);
	st = start_forwarding(&test_ops, &t);
	if (st == NULL)
		return;
	CHECK(t.sink != NULL);

	append(st, 10);            /* pending: must not be sent */
	CHECK_INT(forward_pass(), 0);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(forward_pass(), 10);
	CHECK_INT(t.count, 10);
	for (i = 0; i < t.count; i++)
		CHECK_INT(t.sent[i], (int64_t)i + 1);
	CHECK_INT(forward_pass(), 0);   /* nothing new */

	/* acks from another thread's point of view: out of order, 4 missing */
	forward_ack(t.sink, FORWARD_RECORDS, 2);
	forward_ack(t.sink, FORWARD_RECORDS, 1);
	forward_ack(t.sink, FORWARD_RECORDS, 3);
	forward_ack(t.sink, FORWARD_RECORDS, 5);
	forward_ack(t.sink, FORWARD_RECORDS, 6);
	forward_ack(t.sink, FORWARD_RECORDS, 99);   /* never sent: ignored */
	CHECK(loop_run_once(100) >= 1);             /* the eventfd woke the loop */
	forward_tick();                             /* writes the cursor */
	CHECK_INT(stored_cursor(st), 3);
	{
		struct forward_status s;

		CHECK_INT(forward_status(0, &s), 0);
		CHECK_INT(s.through_id, 3);
		CHECK_INT(s.sent_id, 10);
		CHECK_INT(s.backlog, 7);
		CHECK(s.lag_ms >= 0);
	}
	/* a refusal sends that record again, a second later, and only it;
	 * a refusal of one already acknowledged changes nothing */
	forward_nack(t.sink, FORWARD_RECORDS, 7);
	forward_nack(t.sink, FORWARD_RECORDS, 2);
	t.count = 0;
	(void)forward_pass();            /* applies the refusals, waits */
	CHECK_INT(t.count, 0);
	usleep(1100 * 1000);
	CHECK_INT(forward_pass(), 1);
	CHECK_INT(t.sent[0], 7);
	CHECK_INT(forward_pass(), 0);
	/* the acks of 5 and 6 still count once 4 arrives */
	forward_ack(t.sink, FORWARD_RECORDS, 4);
	(void)forward_pass();
	forward_tick();
	CHECK_INT(stored_cursor(st), 6);
	forward_stop();
	CHECK(t.stopped);
	CHECK_INT(stored_cursor(st), 6);   /* 4, 5, 6 contiguous after 3 */
	store_close(st);
	loop_fini();

	/* restart: sent again from the committed cursor */
	memset(&t, 0, sizeof(t));
	st = start_forwarding(&test_ops, &t);
	if (st == NULL)
		return;
	t.refuse = 1;
	CHECK_INT(forward_pass(), 0);     /* a sink that cannot take them now */
	t.refuse = 0;
	forward_tick();
	CHECK_INT(forward_pass(), 4);
	CHECK_INT(t.sent[0], 7);
	CHECK_INT(t.sent[3], 10);
	for (i = 7; i <= 10; i++)
		forward_ack(t.sink, FORWARD_RECORDS, (int64_t)i);
	forward_stop();
	CHECK_INT(stored_cursor(st), 10);
	store_close(st);
	loop_fini();
}

/* A pass reads no more than the sink has room for, nothing while its room
 * is small and acks are due, and a rewind sends all after the cursor. */
static void test_forward_sink_room(void)
{
	static struct test_sink t;
	struct store *st;
	int64_t i;

	snprintf(db_path, sizeof(db_path), "%s/room.db", dir);
	st = start_forwarding(&room_sink_ops, &t);
	if (st == NULL)
		return;
	append(st, 100);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(forward_pass(), 0);          /* no room: nothing read */
	CHECK_INT(t.count, 0);
	t.room = 10;
	CHECK_INT(forward_pass(), 10);
	CHECK_INT(t.sent[9], 10);
	CHECK_INT(forward_pass(), 0);          /* 10 < FORWARD_READ_MIN, acks due */
	t.room = FORWARD_READ_MIN - 1;
	CHECK_INT(forward_pass(), 0);
	for (i = 1; i <= 10; i++)
		forward_ack(t.sink, FORWARD_RECORDS, i);
	CHECK_INT(forward_pass(), FORWARD_READ_MIN - 1);   /* none due: reads */
	CHECK_INT(t.sent[10], 11);
	t.room = 1000;
	CHECK_INT(forward_pass(), 100 - 10 - (FORWARD_READ_MIN - 1));
	CHECK_INT(t.count, 100);
	/* their answers are lost: all after the cursor (10) again */
	forward_rewind(t.sink);
	t.count = 0;
	CHECK_INT(forward_pass(), 90);
	CHECK_INT(t.sent[0], 11);
	forward_stop();
	CHECK_INT(stored_cursor(st), 10);
	store_close(st);
	loop_fini();
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/phitrail-fwd-XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0)
		return 1;
	RUN(test_window_contiguous);
	RUN(test_window_out_of_order);
	RUN(test_window_absent_full_rewind);
	RUN(test_forward_store_restart);
	RUN(test_forward_sink_room);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return unit_done();
}
