/*
 * aggregate.c - the aggregator (aggregate.h): a durable JetStream pull
 * consumer whose messages (fleet_wire.h) are stored in the central store
 * in one transaction per batch (aggregate_message.c checks and stores
 * each), and acknowledged only after that transaction committed, so a
 * kill at any point means a redelivery, never a loss. A second copy of a
 * host record is only acknowledged: JetStream's duplicate window is
 * bounded in time and acknowledged messages can be delivered again.
 * Gaps in a host's record ids that stay open are asked for again, and
 * those that stay open while that host keeps shipping are stored as
 * "Audit Records Lost" (aggregate_gaps.c).
 * A transaction holds up to AGGREGATE_BATCH_FETCHES fetches; what this
 * run already read from the store about a host store is forgotten on a
 * rollback.
 * Owns the connection, the stream and consumer set-up, the batches, and
 * the fleet tables' creation (origin, fleet_stores, fleet_checkpoints,
 * fleet_rejects). Must never acknowledge a message before the commit that
 * holds it (or its refusal).
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "aggregate_gaps.h"
#include "aggregate_message.h"
#include "checkpointer.h"
#include "log.h"
#include "loop.h"
#include "nats_conn.h"
#include "store.h"
#include "store_forward.h"

#define AGGREGATE_FETCH_BATCH 256
#define AGGREGATE_FETCH_WAIT_MS 200
#define AGGREGATE_BATCH_FETCHES 16          /* per transaction: 4096 messages */
#define AGGREGATE_BATCH_BYTES (8 << 20)     /* or fewer once they hold this */
#define AGGREGATE_BATCH_MS 250              /* or once fetching took this */
#define AGGREGATE_ACK_WAIT_S 30
#define AGGREGATE_MAX_ACK_PENDING 20000
#define AGGREGATE_API_WAIT_MS 2000

static struct {
	const struct config *cfg;
	struct store *store;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	int64_t setup_tried_ms, last_report_ms;
	int was_up;
} A;

/* The messages of one transaction: up to AGGREGATE_BATCH_FETCHES fetches. */
struct batch {
	natsMsgList lists[AGGREGATE_BATCH_FETCHES];
	enum aggregate_outcome outcomes[AGGREGATE_BATCH_FETCHES][AGGREGATE_FETCH_BATCH];
	int count;
	size_t messages, bytes;
};

/*
 * One fetch into list: its count, 0 when nothing came. The plain fetch,
 * whose batch bounds memory (AGGREGATE_FETCH_BATCH times the server's
 * max_payload). cnats 3.4.1's fetch (src/js.c _fetch), when it starts
 * with k messages already queued on the subscription (the rest of a pull
 * that timed out under load), asks the server for batch - k more and then
 * reads until it holds exactly batch - k: with k > batch / 2 it writes
 * past its list (seen in bench case 8 as "326 messages for a batch of
 * 256", then a heap abort; with FetchRequest too). So while messages are
 * queued it fetches a batch of 1, which takes one queued message and
 * asks for nothing; and a count above the batch is still refused.
 */
static int fetch(natsMsgList *list)
{
	int pending = 0, batch = AGGREGATE_FETCH_BATCH;
	natsStatus s;

	if (natsSubscription_GetPending(A.sub, &pending, NULL) == NATS_OK &&
	    pending > 0)
		batch = 1;
	s = natsSubscription_Fetch(list, A.sub, batch, AGGREGATE_FETCH_WAIT_MS, NULL);
	if (s == NATS_OK && list->Count > 0 && list->Count <= batch)
		return list->Count;
	if (s == NATS_OK && list->Count > batch)
		daemon_error("[aggregate] a fetch returned %d messages for a batch "
			     "of %d: ignored (delivered again)", list->Count, batch);
	natsMsgList_Destroy(list);
	memset(list, 0, sizeof(*list));
	return 0;
}

/* After the commit (committed) each message's answer; else a nak each. */
static void answer(struct batch *b, int committed)
{
	int l, i;

	for (l = 0; l < b->count; l++) {
		for (i = 0; i < b->lists[l].Count; i++) {
			natsMsg *msg = b->lists[l].Msgs[i];

			if (!committed)
				(void)natsMsg_Nak(msg, NULL);
			else if (b->outcomes[l][i] == AGGREGATE_ACK)
				(void)natsMsg_Ack(msg, NULL);
			else
				(void)natsMsg_Term(msg, NULL);
		}
		natsMsgList_Destroy(&b->lists[l]);
	}
}

/*
 * Fetches until a fetch comes back short (the stream is drained for now),
 * AGGREGATE_BATCH_FETCHES fetches, AGGREGATE_BATCH_BYTES of data or
 * AGGREGATE_BATCH_MS; stores them in one transaction, commits, answers.
 */
static int pass(void)
{
	static struct batch b;
	int64_t start = loop_now_ms();
	int i, n, rc = 0;

	memset(&b, 0, sizeof(b));
	while (rc == 0 && b.count < AGGREGATE_BATCH_FETCHES &&
	       (n = fetch(&b.lists[b.count])) > 0) {
		natsMsgList *list = &b.lists[b.count++];

		for (i = 0; i < n && rc == 0; i++) {
			rc = aggregate_message_take(list->Msgs[i], &b.outcomes[b.count - 1][i]);
			b.bytes += (size_t)natsMsg_GetDataLength(list->Msgs[i]);
		}
		b.messages += (size_t)n;
		if (n < AGGREGATE_FETCH_BATCH || b.bytes >= AGGREGATE_BATCH_BYTES ||
		    loop_now_ms() - start >= AGGREGATE_BATCH_MS)
			break;
	}
	if (b.count == 0)
		return 0;
	if (rc == 0)
		rc = store_commit(A.store);
	if (rc < 0) {
		daemon_error("[aggregate] cannot store a batch of %zu: %s (it is "
			     "delivered again)", b.messages, strerror(-rc));
		store_rollback(A.store);
		aggregate_stores_forget();
	}
	answer(&b, rc == 0);
	return rc < 0 ? rc : (int)b.messages;
}

/* Connects, finds or makes the stream and the durable consumer. */
static void setup(void)
{
	const struct config_nats *n = &A.cfg->aggregate;
	char filter[CONFIG_NAME_MAX + 4];
	const char *why = NULL;
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	jsErrCode code = 0;
	natsStatus s;
	int64_t now = loop_now_ms();

	if (A.sub != NULL || now - A.setup_tried_ms < 1000 || !nats_conn_up(A.nc))
		return;
	A.setup_tried_ms = now;
	if (nats_conn_ensure_stream(A.js, n, &why) < 0) {
		daemon_debug("[aggregate] %s", why);
		return;
	}
	snprintf(filter, sizeof(filter), "%s.>", n->subject_prefix);
	jsConsumerConfig_Init(&cc);
	cc.Durable = n->durable;
	cc.AckPolicy = js_AckExplicit;
	cc.DeliverPolicy = js_DeliverAll;
	cc.AckWait = (int64_t)AGGREGATE_ACK_WAIT_S * 1000000000;
	cc.MaxAckPending = AGGREGATE_MAX_ACK_PENDING;
	cc.FilterSubject = filter;
	s = js_GetConsumerInfo(&ci, A.js, n->stream, n->durable, NULL, &code);
	if (s == NATS_NOT_FOUND)
		s = js_AddConsumer(&ci, A.js, n->stream, &cc, NULL, &code);
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK) {
		daemon_debug("[aggregate] consumer %s: %s (%d)", n->durable,
			     natsStatus_GetText(s), (int)code);
		return;
	}
	jsSubOptions_Init(&so);
	so.Stream = n->stream;
	so.Consumer = n->durable;
	s = js_PullSubscribe(&A.sub, A.js, filter, n->durable, NULL, &so, &code);
	if (s != NATS_OK) {
		A.sub = NULL;
		daemon_debug("[aggregate] subscribe: %s (%d)", natsStatus_GetText(s),
			     (int)code);
		return;
	}
	daemon_info("[aggregate] consuming %s from stream %s as %s", filter,
		    n->stream, n->durable);
}

int aggregate_prepare(sqlite3 *db, const char *const *sql,
		      sqlite3_stmt **stmt, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &stmt[i], NULL) != SQLITE_OK) {
			daemon_error("[aggregate] %s", sqlite3_errmsg(db));
			return -EIO;
		}
	}
	return 0;
}

void aggregate_finalize(sqlite3_stmt **stmt, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		sqlite3_finalize(stmt[i]);
		stmt[i] = NULL;
	}
}

static int prepare(void)
{
	sqlite3 *db = store_writer_connection(A.store);

	if (sqlite3_exec(db, AGGREGATE_SQL_CREATE, NULL, NULL, NULL) != SQLITE_OK) {
		daemon_error("[aggregate] cannot create the fleet tables: %s",
			     sqlite3_errmsg(db));
		return -EIO;
	}
	if (aggregate_message_prepare(A.cfg, A.store, db) < 0)
		return -EIO;
	return aggregate_gaps_prepare(A.cfg, A.store, db);
}

static void finish(void)
{
	(void)store_commit(A.store);
	if (A.sub != NULL)
		natsSubscription_Destroy(A.sub);   /* the durable consumer stays */
	if (A.nc != NULL)
		natsConnection_Close(A.nc);
	jsCtx_Destroy(A.js);
	natsConnection_Destroy(A.nc);
	aggregate_message_finish();
	aggregate_gaps_finish();
	nats_Close();
}

/* aggregate_ask_fn: a request to ship again, to the host's subject. */
static void ask_again(const char *workspace, const char *host,
		      const struct fleet_again *a)
{
	char subject[FLEET_SUBJECT_MAX], text[FLEET_AGAIN_TEXT_MAX + 1];
	int len = fleet_wire_again_encode(a, text, sizeof(text));

	if (len < 0 || !nats_conn_up(A.nc) ||
	    fleet_wire_subject(subject, sizeof(subject),
			       A.cfg->aggregate.subject_prefix, workspace, host,
			       FLEET_AGAIN) < 0 ||
	    natsConnection_Publish(A.nc, subject, text, len) != NATS_OK)
		return;
	daemon_info("[aggregate] %s (store %s): records %" PRId64 "..%" PRId64
		    " missing: asked the host for them again", host, a->store,
		    a->from, a->to);
}

static void report(int64_t now)
{
	const struct aggregate_counts *n = aggregate_message_counts();
	int up = nats_conn_up(A.nc);

	if (up != A.was_up)
		daemon_info("[aggregate] %s %s", A.cfg->aggregate.servers,
			    up ? "connected" : "not reachable: waiting");
	A.was_up = up;
	if (now - A.last_report_ms < 10000)
		return;
	A.last_report_ms = now;
	daemon_info("[aggregate] %" PRIu64 " record(s) stored, %" PRIu64
		    " duplicate(s) dropped, %" PRIu64 " checkpoint(s), %" PRIu64
		    " refused, %" PRIu64 " reported lost", n->stored, n->duplicates,
		    n->checkpoints, n->rejected, aggregate_gaps_lost());
}

int aggregate_run(const struct config *cfg, struct store *st,
		  volatile int *stopping)
{
	const struct aggregate_counts *counts;
	const char *why = NULL;
	jsOptions jo;
	int64_t now, last_tick = 0;
	int rc;

	memset(&A, 0, sizeof(A));
	A.cfg = cfg;
	A.store = st;
	if (prepare() < 0)
		return 1;
	rc = nats_conn_open(&cfg->aggregate, &A.nc, &why);
	if (rc < 0) {
		daemon_error("[aggregate] %s", why);
		finish();
		return 1;
	}
	jsOptions_Init(&jo);
	jo.Wait = AGGREGATE_API_WAIT_MS;
	if (natsConnection_JetStream(&A.js, A.nc, &jo) != NATS_OK) {
		daemon_error("[aggregate] cannot start JetStream");
		finish();
		return 1;
	}
	while (!*stopping) {
		rc = loop_run_once(A.sub != NULL ? 0 : 100);
		if (rc < 0) {
			daemon_error("event loop: %s", strerror(-rc));
			break;
		}
		setup();
		if (A.sub != NULL && nats_conn_up(A.nc))
			(void)pass();
		else if (store_pending(st) > 0)
			(void)store_commit(st);
		now = loop_now_ms();
		if (now - last_tick >= 1000) {
			last_tick = now;
			if (store_pending(st) > 0)
				(void)store_commit(st);
			aggregate_gaps_check(ask_again);
			checkpointer_tick();
			report(now);
		}
	}
	counts = aggregate_message_counts();
	daemon_info("[aggregate] stopping: %" PRIu64 " record(s) stored, %" PRIu64
		    " duplicate(s), %" PRIu64 " refused this run", counts->stored,
		    counts->duplicates, counts->rejected);
	finish();
	return 0;
}
