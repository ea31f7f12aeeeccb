/*
 * aggregate_message.c - one fleet message (fleet_wire.h) into the central
 * store's open transaction: decoded and checked by fleet_wire_decode, its
 * host store pinned to the host and key that first shipped it
 * (fleet_stores), a record stored with its origin (a second copy of the
 * same store id and record id only acknowledged: origin's UNIQUE key), a
 * checkpoint kept in fleet_checkpoints, anything refused counted in
 * fleet_rejects by reason. What the central store said about a host store
 * (its pinned host, its highest record id) is kept in aggregate_store
 * entries (aggregate_gaps.c), forgotten by aggregate.c on a rollback.
 * Must never store a message that failed fleet_wire_decode, nor commit or
 * acknowledge: aggregate.c does both, in that order.
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
#include "aggregate_message.h"
#include "checkpoint.h"
#include "fleet_wire.h"
#include "log.h"
#include "loop.h"
#include "record.h"
#include "store.h"

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
	sqlite3_stmt *stmt[SQL_AGGREGATE_COUNT];
	struct aggregate_counts counts;
	char arena[RECORD_ARENA_BYTES];
} M;

int aggregate_message_prepare(const struct config *cfg, struct store *st,
			      sqlite3 *db)
{
	memset(&M, 0, sizeof(M));
	M.cfg = cfg;
	M.store = st;
	return aggregate_prepare(db, aggregate_sql_text, M.stmt,
				 SQL_AGGREGATE_COUNT);
}

void aggregate_message_finish(void)
{
	aggregate_finalize(M.stmt, SQL_AGGREGATE_COUNT);
}

const struct aggregate_counts *aggregate_message_counts(void)
{
	return &M.counts;
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
	sqlite3_stmt *s = M.stmt[SQL_REJECT];

	M.counts.rejected++;
	if (M.counts.rejected <= 20 || M.counts.rejected % 1000 == 0)
		daemon_warn("[aggregate] refused a message on %s: %s (%" PRIu64
			    " refused so far)", subject ? subject : "?", why,
			    M.counts.rejected);
	sqlite3_bind_text(s, 1, reason, -1, SQLITE_STATIC);
	(void)step(s);
}

/*
 * The store's pinned host and key: 0 (known; *key_len 0 when no key yet),
 * -ENOENT (new: added with host and key), -EXDEV (another host's).
 */
static int store_pin(const struct fleet_message *m, const unsigned char *key)
{
	sqlite3_stmt *s = M.stmt[SQL_STORE_GET];
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
			s = M.stmt[SQL_STORE_KEY];
			sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
			sqlite3_bind_blob(s, 2, key, CHECKPOINT_PUBLIC_KEY_BYTES,
					  SQLITE_STATIC);
			return step(s);
		}
		return 0;
	}
	s = M.stmt[SQL_STORE_PUT];
	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->host, -1, SQLITE_STATIC);
	if (key != NULL)
		sqlite3_bind_blob(s, 3, key, CHECKPOINT_PUBLIC_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, loop_realtime_ns());
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
	sqlite3_stmt *s = M.stmt[SQL_ORIGIN_TOP];
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
	s = M.stmt[SQL_ORIGIN_GET];
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
	rc = store_append(M.store, r);
	if (rc < 0)
		return rc;
	s = M.stmt[SQL_ORIGIN_PUT];
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
	M.counts.stored++;
	return 0;
}

static int store_checkpoint(const struct fleet_message *m)
{
	sqlite3_stmt *s = M.stmt[SQL_CHECKPOINT_PUT];

	sqlite3_bind_text(s, 1, m->store, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->id);
	sqlite3_bind_text(s, 3, m->is_cut ? "cut" : "checkpoint", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->tree_size);
	sqlite3_bind_blob(s, 5, m->data, (int)m->len, SQLITE_STATIC);
	M.counts.checkpoints++;
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

int aggregate_message_take(natsMsg *msg, enum aggregate_outcome *outcome)
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
		.arena = M.arena,
		.arena_size = sizeof(M.arena),
	};
	struct fleet_message m;
	struct aggregate_store *k;
	const char *why = NULL;
	int rc;

	*outcome = AGGREGATE_TERM;
	rc = fleet_wire_decode(&in, M.cfg->aggregate.subject_prefix, &m, &why);
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
	if (k != NULL && k->workspace[0] == '\0')
		strlcpy(k->workspace, m.workspace, sizeof(k->workspace));
	aggregate_gaps_shipped(k, stream_time(msg));
	if (m.kind == FLEET_CHECKPOINT) {
		rc = store_checkpoint(&m);
		if (rc < 0)
			return rc;
		*outcome = AGGREGATE_ACK;
		return 0;
	}
	rc = origin_seen(&m, k);
	if (rc == 1) {
		M.counts.duplicates++;
		*outcome = AGGREGATE_ACK;
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
	*outcome = AGGREGATE_ACK;
	return 0;
}
