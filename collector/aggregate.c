/*
 * aggregate.c - the aggregator (aggregate.h): a durable JetStream pull
 * consumer whose messages (fleet_wire.h) are checked, stored in the
 * central store in one transaction per fetched batch, and acknowledged
 * only after that transaction committed, so a kill at any point means a
 * redelivery, never a loss. A second copy of a host record (the same
 * store id and record id) is recognised by the store itself (origin's
 * UNIQUE key) and only acknowledged: JetStream's duplicate window is
 * bounded in time and acknowledged messages can be delivered again.
 * Gaps in a host's record ids that stay open while that host keeps
 * shipping are stored as "Audit Records Lost" (aggregate_gaps.c).
 * A transaction holds up to AGGREGATE_BATCH_FETCHES fetches; what this
 * run already read from the store about a host store (its pinned host,
 * its highest record id) is kept in memory and forgotten on a rollback.
 * Owns the origin, fleet_stores, fleet_checkpoints and fleet_rejects
 * tables. Must never store a message that failed fleet_wire_decode, and
 * never acknowledge one before the commit that holds it (or its refusal).
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "aggregate.h"
#include "aggregate_gaps.h"
#include "checkpointer.h"
#include "fleet_wire.h"
#include "log.h"
#include "loop.h"
#include "nats_conn.h"
#include "record.h"
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

enum aggregate_sql {
	SQL_ORIGIN_GET,
	SQL_ORIGIN_PUT,
	SQL_STORE_GET,
	SQL_STORE_PUT,
	SQL_STORE_KEY,
	SQL_CHECKPOINT_PUT,
	SQL_REJECT,
	SQL_ORIGIN_TOP,
	SQL_AGGREGATE_COUNT
};

static const char *const aggregate_sql_text[SQL_AGGREGATE_COUNT] = {
	[SQL_ORIGIN_GET] = "SELECT leaf_hash FROM origin WHERE store_id = ?1"
		" AND record_id = ?2",
	[SQL_ORIGIN_PUT] = "INSERT INTO origin (id, host, store_id, record_id,"
		" bytes, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_STORE_GET] = "SELECT host, public_key FROM fleet_stores"
		" WHERE store_id = ?1",
	[SQL_STORE_PUT] = "INSERT INTO fleet_stores (store_id, host, public_key,"
		" first_ns) VALUES (?1, ?2, ?3, ?4)",
	[SQL_STORE_KEY] = "UPDATE fleet_stores SET public_key = ?2 WHERE store_id = ?1",
	[SQL_CHECKPOINT_PUT] = "INSERT OR IGNORE INTO fleet_checkpoints (store_id,"
		" seq, kind, tree_size, signed) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_REJECT] = "INSERT INTO fleet_rejects (reason, count) VALUES (?1, 1)"
		" ON CONFLICT (reason) DO UPDATE SET count = count + 1",
	[SQL_ORIGIN_TOP] = "SELECT max(record_id) FROM origin WHERE store_id = ?1",
};

static struct {
	const struct config *cfg;
	struct store *store;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_AGGREGATE_COUNT];
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	int64_t setup_tried_ms, last_report_ms;
	uint64_t stored, duplicates, rejected, checkpoints;
	char arena[RECORD_ARENA_BYTES];
	int was_up;
} A;

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int step(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EEXIST;
	return (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;
}

/* Counts a refused message under reason (in the open transaction). */
static void reject(const char *reason, const char *why, const char *subject)
{
	sqlite3_stmt *s = A.stmt[SQL_REJECT];

	A.rejected++;
	if (A.rejected <= 20 || A.rejected % 1000 == 0)
		daemon_warn("[aggregate] refused a message on %s: %s (%" PRIu64
			    " refused so far)", subject ? subject : "?", why,
			    A.rejected);
	sqlite3_bind_text(s, 1, reason, -1, SQLITE_STATIC);
	(void)step(s);
}

/*
 * The store's pinned host and key: 0 (known; *key_len 0 when no key yet),
 * -ENOENT (new: added with host and key), -EXDEV (another host's).
 */
static int store_pin(const struct fleet_message *m, const unsigned char *key)
{
	sqlite3_stmt *s = A.stmt[SQL_STORE_GET];
	struct aggregate_store *k = aggregate_store(m->store);
	int rc, found = 0, other_host = 0, other_key = 0, keyless = 0;

	if (key == NULL && k != NULL && k->host_known)
		return strcmp(k->host, m->host) == 0 ? 0 : -EXDEV;
	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *host = (const char *)sqlite3_column_text(s, 0);
		const void *pinned = sqlite3_column_blob(s, 1);

		found = 1;
		other_host = host == NULL || strcmp(host, m->host) != 0;
		keyless = pinned == NULL;
		other_key = key != NULL && pinned != NULL &&
		    (sqlite3_column_bytes(s, 1) != CHECKPOINT_PUBLIC_KEY_BYTES ||
		     memcmp(pinned, key, CHECKPOINT_PUBLIC_KEY_BYTES) != 0);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (k != NULL && (!found || !other_host)) {
		strlcpy(k->host, m->host, sizeof(k->host));
		k->host_known = 1;   /* pinned now, or at this commit */
	}
	if (found) {
		if (other_host || other_key)
			return -EXDEV;
		if (key != NULL && keyless) {
			s = A.stmt[SQL_STORE_KEY];
			sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
			sqlite3_bind_blob(s, 2, key, CHECKPOINT_PUBLIC_KEY_BYTES,
					  SQLITE_STATIC);
			return step(s);
		}
		return 0;
	}
	s = A.stmt[SQL_STORE_PUT];
	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->host, -1, SQLITE_STATIC);
	if (key != NULL)
		sqlite3_bind_blob(s, 3, key, CHECKPOINT_PUBLIC_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, realtime_ns());
	rc = step(s);
	if (rc == 0)
		daemon_info("[aggregate] a new host store: %s, store %s", m->host,
			    m->store);
	return rc < 0 ? rc : -ENOENT;
}

/* 1: a copy already stored; 0: new; -EEXIST: another record has it.
 * An id above the store's highest is new without a look-up. */
static int origin_seen(const struct fleet_message *m, struct aggregate_store *k)
{
	sqlite3_stmt *s = A.stmt[SQL_ORIGIN_TOP];
	int rc = 0;

	if (k != NULL && !k->top_known) {
		sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			k->top = sqlite3_column_int64(s, 0);   /* 0 when none */
			k->top_known = 1;
		}
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	if (k != NULL && k->top_known && m->id > k->top)
		return 0;
	s = A.stmt[SQL_ORIGIN_GET];
	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const void *leaf = sqlite3_column_blob(s, 0);

		rc = leaf != NULL && sqlite3_column_bytes(s, 0) == MERKLE_HASH_BYTES &&
		    memcmp(leaf, m->leaf, MERKLE_HASH_BYTES) == 0 ? 1 : -EEXIST;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

/* r: the record fleet_wire_decode decoded from m. */
static int store_record(const struct fleet_message *m, struct record *r,
			struct aggregate_store *k)
{
	sqlite3_stmt *s;
	int rc;

	r->host = m->host;
	rc = store_append(A.store, r);
	if (rc < 0)
		return rc;
	s = A.stmt[SQL_ORIGIN_PUT];
	sqlite3_bind_int64(s, 1, r->id);
	sqlite3_bind_text(s, 2, m->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->id);
	sqlite3_bind_blob(s, 5, m->data, (int)m->len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 6, m->leaf, MERKLE_HASH_BYTES, SQLITE_STATIC);
	rc = step(s);
	if (rc < 0)
		return rc;
	if (k != NULL && k->top_known && m->id > k->top)
		k->top = m->id;
	A.stored++;
	return 0;
}

static int store_checkpoint(const struct fleet_message *m)
{
	sqlite3_stmt *s = A.stmt[SQL_CHECKPOINT_PUT];

	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->id);
	sqlite3_bind_text(s, 3, m->is_cut ? "cut" : "checkpoint", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->tree_size);
	sqlite3_bind_blob(s, 5, m->data, (int)m->len, SQLITE_STATIC);
	A.checkpoints++;
	return step(s);
}

static const char *header(natsMsg *msg, const char *name)
{
	const char *value = NULL;

	if (natsMsgHeader_Get(msg, name, &value) != NATS_OK)
		return NULL;
	return value;
}

static const char *reason_of(int rc)
{
	switch (rc) {
	case -EXDEV:
		return "origin";
	case -EMSGSIZE:
		return "size";
	case -EBADMSG:
		return "not a record";
	case -EILSEQ:
		return "altered";
	case -EKEYREJECTED:
		return "signature";
	default:
		return "malformed";
	}
}

enum outcome { OUTCOME_ACK, OUTCOME_TERM };

/* When JetStream stored msg (ns since the epoch), 0 if it does not say. */
static int64_t stream_time(natsMsg *msg)
{
	jsMsgMetaData *meta = NULL;
	int64_t ns = 0;

	if (natsMsg_GetMetaData(&meta, msg) == NATS_OK)
		ns = meta->Timestamp;
	jsMsgMetaData_Destroy(meta);
	return ns;
}

/* One message into the open transaction: what to answer after commit.
 * -errno only for a failure of the store (the batch is redelivered). */
static int take(natsMsg *msg, enum outcome *outcome)
{
	struct record r;
	struct fleet_wire_in in = {
		.subject = natsMsg_GetSubject(msg),
		.version = header(msg, FLEET_HEADER_VERSION),
		.kind = header(msg, FLEET_HEADER_KIND),
		.host = header(msg, FLEET_HEADER_HOST),
		.store = header(msg, FLEET_HEADER_STORE),
		.id = header(msg, FLEET_HEADER_ID),
		.leaf = header(msg, FLEET_HEADER_LEAF),
		.key = header(msg, FLEET_HEADER_KEY),
		.tree_size = header(msg, FLEET_HEADER_TREE_SIZE),
		.checkpoint_kind = header(msg, FLEET_HEADER_CHECKPOINT_KIND),
		.data = (const unsigned char *)natsMsg_GetData(msg),
		.len = (size_t)natsMsg_GetDataLength(msg),
		.record = &r,
		.arena = A.arena,
		.arena_size = sizeof(A.arena),
	};
	struct fleet_message m;
	struct aggregate_store *k;
	const char *why = NULL;
	int rc;

	*outcome = OUTCOME_TERM;
	rc = fleet_wire_decode(&in, A.cfg->aggregate.subject_prefix, &m, &why);
	if (rc < 0) {
		reject(reason_of(rc), why, in.subject);
		return 0;
	}
	rc = store_pin(&m, m.kind == FLEET_CHECKPOINT ? m.public_key : NULL);
	if (rc == -EXDEV) {
		reject("origin", m.kind == FLEET_CHECKPOINT ? "a checkpoint signed "
		       "with another key than this store's" : "the store id is "
		       "another host's", in.subject);
		return 0;
	}
	if (rc < 0 && rc != -ENOENT)
		return rc;
	k = aggregate_store(m.store);
	aggregate_gaps_shipped(k, stream_time(msg));
	if (m.kind == FLEET_CHECKPOINT) {
		rc = store_checkpoint(&m);
		if (rc < 0)
			return rc;
		*outcome = OUTCOME_ACK;
		return 0;
	}
	rc = origin_seen(&m, k);
	if (rc == 1) {
		A.duplicates++;
		*outcome = OUTCOME_ACK;
		return 0;
	}
	if (rc == -EEXIST) {
		reject("conflict", "another record was stored with this origin",
		       in.subject);
		return 0;
	}
	rc = store_record(&m, &r, k);
	if (rc < 0)
		return rc;
	*outcome = OUTCOME_ACK;
	return 0;
}

/* The messages of one transaction: up to AGGREGATE_BATCH_FETCHES fetches. */
struct batch {
	natsMsgList lists[AGGREGATE_BATCH_FETCHES];
	enum outcome outcomes[AGGREGATE_BATCH_FETCHES][AGGREGATE_FETCH_BATCH];
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
			else if (b->outcomes[l][i] == OUTCOME_ACK)
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
			rc = take(list->Msgs[i], &b.outcomes[b.count - 1][i]);
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

static int prepare(void)
{
	int i;

	A.db = store_writer_connection(A.store);
	if (sqlite3_exec(A.db, AGGREGATE_SQL_CREATE, NULL, NULL, NULL) != SQLITE_OK) {
		daemon_error("[aggregate] cannot create the fleet tables: %s",
			     sqlite3_errmsg(A.db));
		return -EIO;
	}
	for (i = 0; i < SQL_AGGREGATE_COUNT; i++) {
		if (sqlite3_prepare_v3(A.db, aggregate_sql_text[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &A.stmt[i],
				       NULL) != SQLITE_OK) {
			daemon_error("[aggregate] %s", sqlite3_errmsg(A.db));
			return -EIO;
		}
	}
	return aggregate_gaps_prepare(A.cfg, A.store, A.db);
}

static void finish(void)
{
	int i;

	(void)store_commit(A.store);
	if (A.sub != NULL)
		natsSubscription_Destroy(A.sub);   /* the durable consumer stays */
	if (A.nc != NULL)
		natsConnection_Close(A.nc);
	jsCtx_Destroy(A.js);
	natsConnection_Destroy(A.nc);
	for (i = 0; i < SQL_AGGREGATE_COUNT; i++)
		sqlite3_finalize(A.stmt[i]);
	aggregate_gaps_finish();
	nats_Close();
}

static void report(int64_t now)
{
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
		    " refused, %" PRIu64 " reported lost", A.stored, A.duplicates,
		    A.checkpoints, A.rejected, aggregate_gaps_lost());
}

int aggregate_run(const struct config *cfg, struct store *st,
		  volatile int *stopping)
{
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
			aggregate_gaps_check();
			checkpointer_tick();
			report(now);
		}
	}
	daemon_info("[aggregate] stopping: %" PRIu64 " record(s) stored, %" PRIu64
		    " duplicate(s), %" PRIu64 " refused this run", A.stored,
		    A.duplicates, A.rejected);
	finish();
	return 0;
}
