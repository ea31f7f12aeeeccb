/*
 * forward.h - shipping stored records to other systems (forwarders).
 *
 * A sink is anything that takes copies of the stored records elsewhere
 * (NATS JetStream, a syslog/ATNA receiver, ...). The framework here knows
 * nothing of any of them; a sink is a const table of operations
 * (struct forward_sink_ops) and the framework does the rest:
 *
 *   cursor     Each sink has a committed cursor in the store, one row of
 *              forward_cursor(sink TEXT PRIMARY KEY, through_id INTEGER NOT
 *              NULL, updated_ns INTEGER NOT NULL): "every record with id <=
 *              through_id is acknowledged by the sink". It only advances to
 *              the highest CONTIGUOUSLY acknowledged id, and only records
 *              that are committed in the store are ever sent. So a kill of
 *              the collector or an outage of the sink means the records
 *              after the cursor are sent again, never that one is skipped:
 *              delivery is at least once, and a sink that needs exactly once
 *              deduplicates on (store id, record id) downstream.
 *   reading    Records are read from the store's committed data (its read
 *              connection) in id order after the highest id sent, the exact
 *              stored msgpack bytes with their leaf hash
 *              (struct forward_record). Ids missing from the store (removed
 *              by retention before they were shipped) count as acknowledged.
 *              Signed checkpoints are offered the same way (seq order, a
 *              second cursor named "<sink>/checkpoints") to sinks that take
 *              them (send_checkpoint not NULL).
 *   window     At most FORWARD_WINDOW_MAX records are in flight (sent, not
 *              yet acknowledged); acknowledgements may arrive in any order.
 *              A negative acknowledgement sends that record again (after a
 *              second), oldest refusal first, before new ones; the cursor
 *              waits for it. Records unanswered while the cursor has not
 *              moved for the sink's resend_ms (default 30 s) are sent
 *              again too (a sink may lose an answer). A lost acknowledgement queue, or a refused
 *              checkpoint, sends everything after the cursor again.
 *   acks       A sink may report acknowledgements from any thread (cnats
 *              calls back on its own threads): forward_ack() and
 *              forward_nack() queue them under a mutex and write an eventfd
 *              that the collector's event loop watches; the loop thread
 *              applies them (forward_window) and writes the cursor. Nothing
 *              else of the framework is thread-safe: every other function is
 *              called on the loop thread.
 *   commit     The cursor row is written on the store's writer connection,
 *              at most every FORWARD_CURSOR_WRITE_MS (and at every tick
 *              and stop): in the open group-commit transaction when there
 *              is one (committed with it), in a statement of its own
 *              otherwise.
 *   again      A receiver may ask for acknowledged records again (a
 *              store behind the sink acknowledged them and then lost
 *              them): forward_again(), from any thread, queues one range
 *              of ids at or below the cursor (another request while one is
 *              pending is dropped: the receiver asks again); the loop sends
 *              them before new records, marked with the request's round
 *              (forward_record.again), outside the window: their answers
 *              move nothing.
 *   visibility Backlog (committed ids past the cursor) and lag (age of the
 *              oldest unshipped record) per sink: forward_status(). When a
 *              sink has a backlog and its cursor has not moved for
 *              stall_ms, the collector logs a warning once (and again when
 *              it moves on).
 *
 * Thread model of a sink: start/stop/send/tick run on the loop thread;
 * only forward_ack, forward_nack, forward_rewind and forward_again may be
 * called from others.
 */
#ifndef PHITRAILD_FORWARD_H
#define PHITRAILD_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "forward_window.h"

struct store;

#define FORWARD_MAX_SINKS 4
#define FORWARD_NAME_MAX 64
/* Records read from the store per pass (one SELECT). */
#define FORWARD_READ_BATCH 512
/* With acks due, a pass reads only when a sink has room for this many
 * (an ack wakes the loop, so the room comes back by itself). */
#define FORWARD_READ_MIN 64

/* One stored record, as a sink gets it (valid during send only). */
struct forward_record {
	int64_t id;                     /* the store's record id, from 1 */
	int64_t received_ns;            /* when the collector stored it */
	const unsigned char *bytes;     /* the exact stored msgpack */
	size_t len;
	const unsigned char *leaf_hash; /* 32 bytes: SHA-256(0x00 || bytes) */
	int64_t again;                  /* 0, or the round of a request to send
					 * it again (forward_again, unique across
					 * restarts): the sink lets this copy
					 * through a duplicate filter */
};

/* One signed checkpoint (or cut) of the store's chain (checkpoint.h). */
struct forward_checkpoint {
	int64_t seq;                    /* position in the chain, from 1 */
	const char *kind;               /* "checkpoint" or "cut" */
	int64_t tree_size;
	const unsigned char *signed_bytes;
	size_t len;
};

/* Which acknowledgement stream an ack belongs to. */
enum forward_stream {
	FORWARD_RECORDS = 0,
	FORWARD_CHECKPOINTS,
	FORWARD_STREAMS
};

struct forward_sink;

struct forward_sink_ops {
	const char *kind;               /* "nats", "syslog", ... for the log */
	/* Connects (or starts trying to). A sink that cannot reach its peer
	 * yet returns 0 and answers -EAGAIN from send. */
	int (*start)(void *state, struct forward_sink *sink);
	/* Waits a bounded time for outstanding acks, disconnects, frees. */
	void (*stop)(void *state);
	/* Sends one record: 0 (its ack comes through forward_ack), -EAGAIN (not
	 * now: try again on the next pass), other -errno (logged; retried).
	 * r's bytes are valid during the call only. */
	int (*send)(void *state, const struct forward_record *r);
	/* The same for a checkpoint; NULL for sinks that take none. */
	int (*send_checkpoint)(void *state, const struct forward_checkpoint *c);
	/* Called about once a second; may be NULL. */
	void (*tick)(void *state, int64_t now_ms);
	/* How many more records send would take now; NULL: as many as the
	 * window allows. While it is low and acks are due, no records are
	 * read (each read that finds no room is wasted work on the loop). */
	int64_t (*room)(void *state);
	/* Records unanswered this long while the cursor has not moved are
	 * sent again; 0: FORWARD_RESEND_MS (30 s). */
	int64_t resend_ms;
};

struct forward_status {
	const char *name;
	int64_t through_id;             /* the committed cursor */
	int64_t sent_id;                /* highest id sent */
	int64_t backlog;                /* committed records past the cursor */
	int64_t lag_ms;                 /* age of the oldest unshipped, 0: none */
	int64_t checkpoints_through;
	uint64_t sent, acked, nacked;   /* since start */
	int stalled;
};

/* Starts the framework over store (idempotent; after loop_init). 0 or
 * -errno. */
int forward_init(struct store *st);
/*
 * Adds a sink named name (its cursor row's key) with ops and state, reads
 * its cursor and calls ops->start; stall_ms: after how long without
 * progress on a backlog it is reported. 0, -ENOSPC (too many), -errno.
 */
int forward_add(const char *name, const struct forward_sink_ops *ops,
		void *state, int64_t stall_ms, struct forward_sink **out);
/* Sends what is committed and not yet sent, applies queued acks, writes
 * cursors that moved. Cheap when there is nothing to do. Returns the
 * number of records sent, or -errno. */
int forward_pass(void);
/* Once a second: sink ticks, stall reports. */
void forward_tick(void);
/* Stops every sink (ops->stop), applies the last acks, writes cursors. */
void forward_stop(void);
/* Number of sinks, and one's status (0 <= i < count). */
size_t forward_sink_count(void);
int forward_status(size_t i, struct forward_status *out);

/* From any thread: id of stream was stored by the sink. */
void forward_ack(struct forward_sink *sink, enum forward_stream stream,
		 int64_t id);
/* From any thread: id was refused or lost: it is sent again. */
void forward_nack(struct forward_sink *sink, enum forward_stream stream,
		  int64_t id);
/* From any thread: the receiver asks for records first..last again
 * (those at or below the cursor are sent again, once). */
void forward_again(struct forward_sink *sink, int64_t first, int64_t last);
/* From any thread: every record and checkpoint sent and not
 * acknowledged was lost (their answers will not come): all after the
 * cursors are sent again, in order. */
void forward_rewind(struct forward_sink *sink);

/* The store's committed cursor of name (0 when it has none): 0, -EIO. */
int forward_cursor_load(struct store *st, const char *name, int64_t *through);

#endif
