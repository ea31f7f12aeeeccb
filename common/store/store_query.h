/*
 * store_query.h - the read side of the audit store (store_query.c): a
 * query_request (query.h) run as SQL with bound parameters over the
 * records table, with the target glob applied to the rows and stats
 * grouped by key. Used by the collector (on its read connection) and by
 * the CLI reading a store file directly (--db FILE).
 */
#ifndef PHITRAIL_STORE_QUERY_H
#define PHITRAIL_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"

struct sqlite3;

/* The records layout this reader knows (the collector writes it). */
#define STORE_QUERY_SCHEMA_VERSION 1

/*
 * For "query" and "count" requests: emit is called with each matching
 * record's stored bytes, in order ("query" only); a non-zero return from
 * emit stops and is returned. *count is the number of matching records
 * (emitted ones for "query"). Returns 0, -EINVAL (*why: a bad target
 * glob, a too complex or a "stats" request) or -EIO (*why: SQLite's
 * message, copied into message).
 */
int store_query_records(struct sqlite3 *db, const struct query_request *q,
			int (*emit)(void *context, const void *bytes, size_t len),
			void *context, int64_t *count, const char **why,
			char *message, size_t message_size);

/*
 * For "stats" requests: row is called once per group, in ascending key
 * order, with the key (NULL: nil) and its count; a non-zero return stops
 * and is returned. *groups is the number of groups. limit, after_id and
 * order are ignored. Returns 0, -EINVAL (*why: a bad glob or "by"),
 * -ENOMEM or -EIO (*why as above).
 */
int store_query_stats(struct sqlite3 *db, const struct query_request *q,
		      int (*row)(void *context, const char *key, int64_t count),
		      void *context, int64_t *groups, const char **why,
		      char *message, size_t message_size);

/*
 * SQLite's EXPLAIN QUERY PLAN of the statement q runs as, detail lines
 * joined by newlines into plan. 0, -EINVAL or -EIO.
 */
int store_query_explain(struct sqlite3 *db, const struct query_request *q,
			char *plan, size_t plan_size);

/*
 * Opens the store file at path for reading only: never created, never
 * written. A store closed cleanly (no -wal file beside it) is opened
 * immutable, so no -wal or -shm file is made; a live store (its -wal
 * present) read-only through its WAL. Checks that it is a phitrail store
 * of a known schema version. Returns 0, or -ENOENT, -EACCES, -ENOTSUP
 * (not a phitrail store), -EPROTO (another schema version), -EIO with
 * the reason in message.
 */
int store_query_open(const char *path, struct sqlite3 **db, char *message,
		     size_t message_size);

#endif
