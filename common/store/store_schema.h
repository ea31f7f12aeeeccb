/*
 * store_schema.h - the one definition of the store file's tables, for the
 * collector's store (collector/store*.c, collector/checkpointer.c) and the
 * CLI's readers of the store file (tools/integrity.c and the verbs on it):
 * the SQL that creates them, the columns a record row derives from the
 * record's msgpack bytes, and the mapping from a decoded record to those
 * column values (store_schema.c), so that the writer binds exactly what a
 * verifier later compares. Nothing here touches SQLite: it is text and
 * plain data.
 *
 * Tables (schema version STORE_SCHEMA_VERSION = 1; the checkpoints table
 * was added to version 1 stores with CREATE TABLE IF NOT EXISTS, which
 * older files accept):
 *
 *   records      one row per stored record. id is the store-wide sequence
 *                from 1; record id N is leaf N-1 of the store's Merkle tree
 *                (merkle.h). bytes is the exact msgpack that is hashed;
 *                leaf_hash = SHA-256(0x00 || bytes) is a convenience that a
 *                verifier never trusts. The other columns are copies of
 *                fields of bytes (STORE_DERIVED_COLUMNS, in this order).
 *
 *   checkpoints  the signed chain (checkpoint.h), one row per statement in
 *                the order signed: seq INTEGER PRIMARY KEY from 1, kind
 *                "checkpoint" or "cut", tree_size (records covered, or for a
 *                cut the records removed), root, time_ns, prev_hash, and
 *                signed: the exact signed bytes (CHECKPOINT_BYTES, or a cut's
 *                CHECKPOINT_CUT_BYTES(F)). The other columns are copies of
 *                fields of signed; a verifier decodes signed and checks them.
 *
 *   forward_cursor  one row per forwarding sink (collector/forward.h):
 *                sink, through_id (every record id <= it is acknowledged by
 *                the sink), updated_ns (when it was last written).
 *
 * Read by the collector alone:
 *
 *   meta         key, value: schema_version = STORE_SCHEMA_VERSION.
 *
 *   progress     one row per spool file (collector/store.h, struct
 *                store_progress): name, how far it is stored (offset,
 *                next_seq), who writes it (pid ... identity) and the spool
 *                header's flags; written in the same transaction as the
 *                records it advances over.
 *
 *   tree_frontier  one row (one = 1): the Merkle frontier of the committed
 *                records, size and the popcount(size) subtree hashes,
 *                largest first (merkle_builder_frontier), written in every
 *                commit's transaction so the collector starts without
 *                re-reading the leaves.
 *
 * The next record id is one more than the larger of max(records.id) and the
 * largest cut's tree_size, so ids never restart after retention removed
 * every record.
 */
#ifndef PHITRAIL_STORE_SCHEMA_H
#define PHITRAIL_STORE_SCHEMA_H

#include <stdint.h>

#include "record.h"

#define STORE_SCHEMA_VERSION 1
/* A number as SQL text (a macro's value, expanded first). */
#define STORE_SQL_TEXT_(x) #x
#define STORE_SQL_TEXT(x) STORE_SQL_TEXT_(x)

#define STORE_TABLE_RECORDS "records"
#define STORE_TABLE_CHECKPOINTS "checkpoints"
#define STORE_KIND_CHECKPOINT "checkpoint"
#define STORE_KIND_CUT "cut"

/* The columns of records derived from bytes, in binding order (?1..?18). */
#define STORE_DERIVED_COLUMNS "id, timestamp_ns, received_ns, workspace_id," \
	" actor_user_id, event_type, end_user_id, host, pid, uid, auid, exe," \
	" target, target2, rule, result, seq, identity"
#define STORE_DERIVED_COLUMN_COUNT 18
/* Their positions in STORE_DERIVED_COLUMNS, from 0 (parameter ?N is N + 1). */
enum store_derived_column {
	STORE_COLUMN_ID, STORE_COLUMN_TIMESTAMP_NS, STORE_COLUMN_RECEIVED_NS,
	STORE_COLUMN_WORKSPACE_ID, STORE_COLUMN_ACTOR_USER_ID,
	STORE_COLUMN_EVENT_TYPE, STORE_COLUMN_END_USER_ID, STORE_COLUMN_HOST,
	STORE_COLUMN_PID, STORE_COLUMN_UID, STORE_COLUMN_AUID, STORE_COLUMN_EXE,
	STORE_COLUMN_TARGET, STORE_COLUMN_TARGET2, STORE_COLUMN_RULE,
	STORE_COLUMN_RESULT, STORE_COLUMN_SEQ, STORE_COLUMN_IDENTITY,
};

#define STORE_SQL_CREATE_RECORDS \
	"CREATE TABLE IF NOT EXISTS records (" \
	" id INTEGER PRIMARY KEY, timestamp_ns INTEGER NOT NULL," \
	" received_ns INTEGER NOT NULL, workspace_id TEXT NOT NULL," \
	" actor_user_id TEXT NOT NULL, event_type TEXT NOT NULL," \
	" end_user_id TEXT, host TEXT, pid INTEGER, uid INTEGER, auid INTEGER," \
	" exe TEXT, target TEXT, target2 TEXT, rule TEXT, result TEXT," \
	" seq INTEGER, identity TEXT, bytes BLOB NOT NULL," \
	" leaf_hash BLOB NOT NULL);"

#define STORE_SQL_INSERT_RECORD "INSERT INTO records (" STORE_DERIVED_COLUMNS \
	", bytes, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9," \
	" ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"

#define STORE_SQL_CREATE_CHECKPOINTS \
	"CREATE TABLE IF NOT EXISTS checkpoints (" \
	" seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, tree_size INTEGER NOT NULL," \
	" root BLOB NOT NULL, time_ns INTEGER NOT NULL, prev_hash BLOB NOT NULL," \
	" signed BLOB NOT NULL);"

#define STORE_SQL_CREATE_FORWARD_CURSOR \
	"CREATE TABLE IF NOT EXISTS forward_cursor (sink TEXT PRIMARY KEY," \
	" through_id INTEGER NOT NULL, updated_ns INTEGER NOT NULL);"

#define STORE_SQL_CREATE_META \
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);" \
	"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', " \
	STORE_SQL_TEXT(STORE_SCHEMA_VERSION) ");"

#define STORE_SQL_CREATE_TREE_FRONTIER \
	"CREATE TABLE IF NOT EXISTS tree_frontier (one INTEGER PRIMARY KEY" \
	" CHECK (one = 1), size INTEGER NOT NULL, hashes BLOB NOT NULL);"

#define STORE_SQL_CREATE_PROGRESS \
	"CREATE TABLE IF NOT EXISTS progress (" \
	" name TEXT PRIMARY KEY, offset INTEGER NOT NULL, next_seq INTEGER NOT NULL," \
	" pid INTEGER, ppid INTEGER, uid INTEGER, gid INTEGER, auid INTEGER," \
	" session INTEGER, start_time INTEGER NOT NULL, exe TEXT, actor TEXT NOT NULL," \
	" identity TEXT NOT NULL, flags INTEGER NOT NULL);"
/* The columns of progress in order (binding order ?1..?14). */
#define STORE_PROGRESS_COLUMNS "name, offset, next_seq, pid, ppid, uid, gid," \
	" auid, session, start_time, exe, actor, identity, flags"
enum store_progress_column {
	STORE_PROGRESS_NAME, STORE_PROGRESS_OFFSET, STORE_PROGRESS_NEXT_SEQ,
	STORE_PROGRESS_PID, STORE_PROGRESS_PPID, STORE_PROGRESS_UID,
	STORE_PROGRESS_GID, STORE_PROGRESS_AUID, STORE_PROGRESS_SESSION,
	STORE_PROGRESS_START_TIME, STORE_PROGRESS_EXE, STORE_PROGRESS_ACTOR,
	STORE_PROGRESS_IDENTITY, STORE_PROGRESS_FLAGS,
};

/* Every table, created when missing (the collector, at open). */
#define STORE_SQL_CREATE_TABLES STORE_SQL_CREATE_META \
	STORE_SQL_CREATE_RECORDS STORE_SQL_CREATE_CHECKPOINTS \
	STORE_SQL_CREATE_FORWARD_CURSOR STORE_SQL_CREATE_TREE_FRONTIER \
	STORE_SQL_CREATE_PROGRESS

#define STORE_SQL_INSERT_CHECKPOINT "INSERT INTO checkpoints (kind, tree_size," \
	" root, time_ns, prev_hash, signed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

/* Every chain row, oldest first: seq, kind, tree_size, root, time_ns,
 * prev_hash, signed. */
#define STORE_SQL_CHAIN "SELECT seq, kind, tree_size, root, time_ns, prev_hash," \
	" signed FROM checkpoints ORDER BY seq"

/* The newest chain row only (same columns). */
#define STORE_SQL_CHAIN_LAST "SELECT seq, kind, tree_size, root, time_ns," \
	" prev_hash, signed FROM checkpoints ORDER BY seq DESC LIMIT 1"

/* The newest cut (same columns). */
#define STORE_SQL_LAST_CUT "SELECT seq, kind, tree_size, root, time_ns," \
	" prev_hash, signed FROM checkpoints WHERE kind = 'cut'" \
	" ORDER BY seq DESC LIMIT 1"

/* The id the next record gets. */
#define STORE_SQL_NEXT_ID "SELECT max(coalesce((SELECT max(id) FROM records), 0)," \
	" coalesce((SELECT max(tree_size) FROM checkpoints WHERE kind = 'cut'), 0)) + 1"

/* Leaf hashes from id ?1 on (inclusive), up to id ?2 (inclusive), in order. */
#define STORE_SQL_LEAVES "SELECT id, leaf_hash FROM records" \
	" WHERE id >= ?1 AND id <= ?2 ORDER BY id"

/*
 * The secondary indexes of records (store layout 2). Patient and actor
 * lookups land at random points of their index; once an index outgrows
 * the page cache every commit dirties thousands of scattered pages and
 * ingest slows down with the size of the store. So those two indexes are
 * prefixed by the record's chunk, id >> STORE_CHUNK_SHIFT (65536 ids per
 * chunk): new records only touch the newest chunk's part of each index,
 * whose size is bounded whatever the size of the store or the rate. A
 * lookup of one patient or actor seeks once per chunk (STORE_SQL_CHUNKS).
 * Event types (a few values) and times (nearly in order) are appended
 * at a few points only and stay as they are.
 * Layout 1 (stores written before) had records_patient (end_user_id,
 * timestamp_ns) and records_actor (actor_user_id, timestamp_ns) instead:
 * the collector replaces them at start (store.c), readers of the file use
 * whichever it has (store_query.c).
 */
#define STORE_CHUNK_SHIFT 16
#define STORE_CHUNK_EXPR "(id >> " STORE_SQL_TEXT(STORE_CHUNK_SHIFT) ")"
#define STORE_INDEX_PATIENT "records_patient_chunk"
#define STORE_INDEX_ACTOR "records_actor_chunk"
#define STORE_INDEX_EVENT "records_event"
#define STORE_INDEX_TIME "records_time"
#define STORE_SQL_CREATE_INDEXES \
	"CREATE INDEX IF NOT EXISTS " STORE_INDEX_PATIENT " ON records (" \
	STORE_CHUNK_EXPR ", end_user_id, timestamp_ns);" \
	"CREATE INDEX IF NOT EXISTS " STORE_INDEX_ACTOR " ON records (" \
	STORE_CHUNK_EXPR ", actor_user_id, timestamp_ns);" \
	"CREATE INDEX IF NOT EXISTS " STORE_INDEX_EVENT " ON records" \
	" (event_type, timestamp_ns);" \
	"CREATE INDEX IF NOT EXISTS " STORE_INDEX_TIME " ON records (timestamp_ns);"
#define STORE_SQL_DROP_INDEXES \
	"DROP INDEX IF EXISTS " STORE_INDEX_PATIENT ";" \
	"DROP INDEX IF EXISTS " STORE_INDEX_ACTOR ";" \
	"DROP INDEX IF EXISTS " STORE_INDEX_EVENT ";" \
	"DROP INDEX IF EXISTS " STORE_INDEX_TIME ";"
/* Layout 1's two unchunked indexes. */
#define STORE_INDEX_V1_PATIENT "records_patient"
#define STORE_INDEX_V1_ACTOR "records_actor"
#define STORE_SQL_DROP_V1_INDEXES \
	"DROP INDEX IF EXISTS " STORE_INDEX_V1_PATIENT ";" \
	"DROP INDEX IF EXISTS " STORE_INDEX_V1_ACTOR ";"

/* The chunks that hold records, first to last: a table-valued list for
 * "chunk IN (...)" (one row per chunk from min(id) >> shift to max(id)
 * >> shift, none when the store is empty). */
#define STORE_SQL_CHUNKS "WITH RECURSIVE chunks(k) AS (" \
	" SELECT (SELECT min(id) FROM records) >> " \
	STORE_SQL_TEXT(STORE_CHUNK_SHIFT) " UNION ALL SELECT k + 1 FROM chunks" \
	" WHERE k < (SELECT max(id) FROM records) >> " \
	STORE_SQL_TEXT(STORE_CHUNK_SHIFT) ") "

/* Whole rows for verification, in id order: the derived columns, bytes,
 * leaf_hash (columns 0..17, 18, 19). */
#define STORE_SQL_VERIFY_ROWS "SELECT " STORE_DERIVED_COLUMNS ", bytes," \
	" leaf_hash FROM records ORDER BY id"

enum store_value_kind {
	STORE_VALUE_NULL = 0,
	STORE_VALUE_INT,
	STORE_VALUE_TEXT,
};

struct store_value {
	enum store_value_kind kind;
	int64_t number;
	const char *text;            /* points into the record's strings */
};

/* Names of the derived columns, in order (for messages). */
extern const char *const store_derived_column_names[STORE_DERIVED_COLUMN_COUNT];

/*
 * The values of the derived columns for record r, in STORE_DERIVED_COLUMNS
 * order: what the store binds, and what a verifier expects to read back.
 * Times are nanoseconds since the epoch, saturating rather than overflowing.
 */
void store_schema_values(const struct record *r,
			 struct store_value out[STORE_DERIVED_COLUMN_COUNT]);

/* Nanoseconds since the epoch of sec and nsec, saturating. */
int64_t store_schema_ns(int64_t sec, uint32_t nsec);

#endif
