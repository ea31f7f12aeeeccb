/*
 * aggregate_gaps.c - the aggregator's loss reports (aggregate_gaps.h):
 * gaps in a host store's record ids that stay open while that host keeps
 * shipping past them, stored as "Audit Records Lost".
 *
 * Also keeps the table of host stores seen this run (aggregate_store),
 * whose other fields aggregate_message.c uses.
 * Time here is each host store's shipping clock, not the wall clock: it
 * moves by the JetStream time between two consecutive messages of that
 * store (the stream's own timestamps, so a backlog drained fast or slowly
 * counts as it was shipped), at most AGGREGATE_GAPS_STEP_NS per step, so an
 * outage of the cluster, of the host or of the aggregator adds at most one
 * step however long it lasts. A gap open below the highest id a store had
 * when its clock read t is lost once the clock reads t + [aggregate]
 * stall_time. Before that, a gap still open AGGREGATE_ASK_AFTER_MS after
 * it was seen is asked for again (fleet_wire.h), the first one per store
 * and round: a JetStream replica may have lost records it acknowledged,
 * and the host still holds them.
 * Owns fleet_stores.checked_through; must never report a gap because time
 * passed while nothing of that store arrived.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "aggregate.h"
#include "aggregate_gaps.h"
#include "fleet_wire.h"
#include "log.h"
#include "loop.h"
#include "own_record.h"
#include "record.h"
#include "store.h"

#define AGGREGATE_GAPS_STEP_NS 1000000000LL
#define AGGREGATE_MAX_STORES 1024
/* A gap still open this long (wall time) after its store's ask mark was
 * set is asked for again: longer than a forwarder takes to resend what
 * was not answered (10 s) and than the consumer's ack wait (30 s: what a
 * killed aggregator held comes again after it), shorter than the default
 * stall_time. */
#define AGGREGATE_ASK_AFTER_MS 35000

enum gaps_sql {
	SQL_STORES_ALL,
	SQL_GAPS,
	SQL_FIRST,
	SQL_CHECKED,
	SQL_GAPS_COUNT
};

static const char *const gaps_sql_text[SQL_GAPS_COUNT] = {
	[SQL_STORES_ALL] = "SELECT store_id, host, checked_through,"
		" (SELECT max(record_id) FROM origin o WHERE o.store_id ="
		" s.store_id) FROM fleet_stores s",
	/* the first missing id after each present one, below ?3, and where
	 * the next present one is */
	[SQL_GAPS] = "SELECT o.record_id + 1, (SELECT min(record_id) FROM origin n"
		" WHERE n.store_id = o.store_id AND n.record_id > o.record_id)"
		" FROM origin o WHERE o.store_id = ?1 AND o.record_id >= ?2 AND"
		" o.record_id < ?3 AND NOT EXISTS (SELECT 1 FROM origin x WHERE"
		" x.store_id = o.store_id AND x.record_id = o.record_id + 1)"
		" ORDER BY o.record_id",
	[SQL_FIRST] = "SELECT min(record_id) FROM origin WHERE store_id = ?1",
	[SQL_CHECKED] = "UPDATE fleet_stores SET checked_through = ?2"
		" WHERE store_id = ?1",
};

static struct {
	const struct config *cfg;
	struct store *store;
	sqlite3_stmt *stmt[SQL_GAPS_COUNT];
	struct aggregate_store seen[AGGREGATE_MAX_STORES];
	size_t seen_count, last_hit;
	uint64_t lost;
} G;

static struct aggregate_store *find(const char *store_id, int add)
{
	size_t i;

	if (G.last_hit < G.seen_count &&
	    strcmp(G.seen[G.last_hit].store_id, store_id) == 0)
		return &G.seen[G.last_hit];
	for (i = 0; i < G.seen_count; i++)
		if (strcmp(G.seen[i].store_id, store_id) == 0) {
			G.last_hit = i;
			return &G.seen[i];
		}
	if (!add || G.seen_count == AGGREGATE_MAX_STORES)
		return NULL;
	memset(&G.seen[G.seen_count], 0, sizeof(G.seen[0]));
	strlcpy(G.seen[G.seen_count].store_id, store_id,
		sizeof(G.seen[0].store_id));
	G.last_hit = G.seen_count;
	return &G.seen[G.seen_count++];
}

struct aggregate_store *aggregate_store(const char *store_id)
{
	return find(store_id, 1);
}

void aggregate_stores_forget(void)
{
	size_t i;

	for (i = 0; i < G.seen_count; i++)
		G.seen[i].host_known = G.seen[i].top_known = 0;
}

int aggregate_gaps_prepare(const struct config *cfg, struct store *st, sqlite3 *db)
{
	memset(&G, 0, sizeof(G));
	G.cfg = cfg;
	G.store = st;
	return aggregate_prepare(db, gaps_sql_text, G.stmt, SQL_GAPS_COUNT);
}

void aggregate_gaps_finish(void)
{
	aggregate_finalize(G.stmt, SQL_GAPS_COUNT);
}

uint64_t aggregate_gaps_lost(void)
{
	return G.lost;
}

void aggregate_gaps_shipped(struct aggregate_store *gs, int64_t stream_ns)
{
	int64_t step;

	if (gs == NULL || stream_ns <= 0)
		return;
	if (gs->last_ns > 0) {
		step = stream_ns - gs->last_ns;
		if (step > AGGREGATE_GAPS_STEP_NS)
			step = AGGREGATE_GAPS_STEP_NS;
		if (step > 0)
			gs->clock_ns += step;
	}
	if (stream_ns > gs->last_ns)
		gs->last_ns = stream_ns;
}

/* "Audit Records Lost" for ids from..to of a host store. */
static int store_lost(const char *host, const char *store_id, int64_t from,
		      int64_t to)
{
	struct record r;

	own_record_start(&r, G.cfg->workspace_id, EVENT_RECORDS_LOST, host, NULL);
	r.actor_user_id = "phitraild";
	r.target = store_id;
	r.identity = "aggregator";
	r.detail[0] = (struct record_detail){ .key = "count", .num = to - from + 1 };
	r.detail[1] = (struct record_detail){ .key = "from_id", .num = from };
	r.detail[2] = (struct record_detail){ .key = "to_id", .num = to };
	r.detail[3] = (struct record_detail){ .key = "reason",
		.str = "never arrived from the host's stream" };
	r.detail_count = 4;
	G.lost += (uint64_t)(to - from + 1);
	daemon_warn("[aggregate] %s (store %s): records %" PRId64 "..%" PRId64
		    " never arrived", host, store_id, from, to);
	return store_append(G.store, &r);
}

/* Reports the gaps of a store from checked + 1 up to below horizon. */
static void report_gaps(const char *host, const char *store_id, int64_t checked,
			int64_t horizon)
{
	sqlite3_stmt *gaps = G.stmt[SQL_GAPS], *s;

	sqlite3_bind_text(gaps, 1, store_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(gaps, 2, checked > 0 ? checked : 1);
	sqlite3_bind_int64(gaps, 3, horizon);
	while (sqlite3_step(gaps) == SQLITE_ROW) {
		int64_t from = sqlite3_column_int64(gaps, 0);
		int64_t next = sqlite3_column_int64(gaps, 1);

		if (sqlite3_column_type(gaps, 1) == SQLITE_NULL || from > horizon)
			continue;
		(void)store_lost(host, store_id, from, next - 1);
	}
	sqlite3_reset(gaps);
	sqlite3_clear_bindings(gaps);
	/* ids missing below the first one stored */
	if (checked == 0) {
		s = G.stmt[SQL_FIRST];
		sqlite3_bind_text(s, 1, store_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > 1)
			(void)store_lost(host, store_id, 1,
					 sqlite3_column_int64(s, 0) - 1);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	s = G.stmt[SQL_CHECKED];
	sqlite3_bind_text(s, 1, store_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, horizon);
	(void)sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* The first gap of a store at or above checked + 1 and below horizon
 * (ids missing below its first stored one first), at most FLEET_AGAIN_MAX
 * ids of it, into a: 1, or 0 when there is none. */
static int first_gap(const char *store_id, int64_t checked, int64_t horizon,
		     struct fleet_again *a)
{
	sqlite3_stmt *s = G.stmt[SQL_FIRST];

	a->from = 0;
	if (checked == 0) {
		sqlite3_bind_text(s, 1, store_id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) > 1) {
			a->from = 1;
			a->to = sqlite3_column_int64(s, 0) - 1;
		}
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	s = G.stmt[SQL_GAPS];
	sqlite3_bind_text(s, 1, store_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, checked > 0 ? checked : 1);
	sqlite3_bind_int64(s, 3, horizon);
	while (a->from == 0 && sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 1) == SQLITE_NULL ||
		    sqlite3_column_int64(s, 0) > horizon)
			continue;
		a->from = sqlite3_column_int64(s, 0);
		a->to = sqlite3_column_int64(s, 1) - 1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (a->from == 0)
		return 0;
	if (a->to - a->from >= FLEET_AGAIN_MAX)
		a->to = a->from + FLEET_AGAIN_MAX - 1;
	strlcpy(a->store, store_id, sizeof(a->store));
	return 1;
}

/* The ask mark of gs: set at its highest id; once it is old, the first
 * gap below it is asked for and the mark set again. */
static void ask_again(struct aggregate_store *gs, const char *host,
		      const char *store_id, int64_t checked, int64_t top,
		      aggregate_ask_fn *ask)
{
	int64_t now = loop_now_ms();
	struct fleet_again a;

	if (ask == NULL || gs->workspace[0] == '\0')
		return;
	if (gs->ask_top > checked && now - gs->ask_ms >= AGGREGATE_ASK_AFTER_MS) {
		if (first_gap(store_id, checked, gs->ask_top, &a))
			ask(gs->workspace, host, &a);
		gs->ask_top = 0;
	}
	if (gs->ask_top == 0 && top > checked) {
		gs->ask_top = top;
		gs->ask_ms = now;
	}
}

/*
 * For each host store whose messages arrived this run: a mark (its highest
 * id, its clock) is set; once its clock has run stall_time past the mark,
 * the ids still missing below the mark are lost, and the next mark is set.
 */
void aggregate_gaps_check(aggregate_ask_fn *ask)
{
	sqlite3_stmt *all = G.stmt[SQL_STORES_ALL];
	int64_t grace_ns = (int64_t)G.cfg->aggregate.stall_s * 1000000000;
	char host[FLEET_NAME_MAX], store_id[FLEET_STORE_HEX + 1];

	while (sqlite3_step(all) == SQLITE_ROW) {
		const char *sid = (const char *)sqlite3_column_text(all, 0);
		const char *h = (const char *)sqlite3_column_text(all, 1);
		int64_t checked = sqlite3_column_int64(all, 2);
		int64_t top = sqlite3_column_int64(all, 3);
		struct aggregate_store *gs;

		if (sid == NULL || h == NULL || (gs = find(sid, 0)) == NULL)
			continue;
		if (gs->mark_top > 0 && gs->clock_ns - gs->mark_ns >= grace_ns) {
			if (gs->mark_top > checked) {
				strlcpy(host, h, sizeof(host));
				strlcpy(store_id, sid, sizeof(store_id));
				report_gaps(host, store_id, checked, gs->mark_top);
				checked = gs->mark_top;
			}
			gs->mark_top = 0;
		}
		if (gs->mark_top == 0 && top > checked) {
			gs->mark_top = top;
			gs->mark_ns = gs->clock_ns;
		}
		strlcpy(host, h, sizeof(host));
		strlcpy(store_id, sid, sizeof(store_id));
		ask_again(gs, host, store_id, checked, top, ask);
	}
	sqlite3_reset(all);
	(void)store_commit(G.store);
}
