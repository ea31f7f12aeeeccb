/*
 * dbfile.c - the reading verbs (query, tail, stats, report) on a store
 * file given with --db FILE, for archived stores: the file is opened
 * read-only by store_query_open and asked with store_query.c, the same
 * code the collector answers the query socket with, so an answer from a
 * file and one from the collector are the same records in the same order.
 *
 * Owns what the user is told when the file cannot be read or is no
 * phitrail store. Must never write to the file, create one, or build SQL
 * of its own: every query is store_query.c's.
 */
#include <err.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "filters.h"
#include "record.h"
#include "store_query.h"

#define DB_MESSAGE_MAX 4352              /* a path and a reason */

const char *cli_store_file;

/* Opens path or says why not; returns NULL after warning. */
static sqlite3 *
open_store(const char *path)
{
	char message[DB_MESSAGE_MAX];
	sqlite3 *db;
	int rc;

	rc = store_query_open(path, &db, message, sizeof(message));
	if (rc == 0)
		return db;
	if (rc == -ENOENT)
		warnx("%s (give the path of a phitrail store with --db FILE, "
		      "or leave --db out to ask the collector)", message);
	else if (rc == -ENOTSUP || rc == -EPROTO)
		warnx("%s (--db takes the store file phitraild writes, "
		      "'database' in phitrail.conf)", message);
	else
		warnx("%s", message);
	return NULL;
}

struct db_emit {
	cli_record_callback callback;
	void *context;
	char *arena;
	int64_t emitted;
	int failed;              /* a stored record did not decode */
};

static int
emit_record(void *context, const void *bytes, size_t len)
{
	struct db_emit *e = context;
	struct record r;
	const char *why = NULL;
	int rc;

	rc = record_decode(bytes, len, &r, e->arena, RECORD_ARENA_BYTES, &why);
	if (rc < 0) {
		warnx("record %lld of the answer does not decode: %s (run "
		      "'phitrail verify --db FILE')", (long long)e->emitted + 1,
		      why ? why : strerror(-rc));
		e->failed = 1;
		return CLI_EXIT_FAILURE;
	}
	e->emitted++;
	return e->callback(e->context, &r, bytes, len);
}

int
cli_db_ask(const char *path, const struct query_request *q,
	   cli_record_callback callback, void *context, int64_t *count)
{
	struct db_emit e = { .callback = callback, .context = context };
	char message[DB_MESSAGE_MAX];
	const char *why = NULL;
	sqlite3 *db;
	int rc;

	*count = 0;
	if ((db = open_store(path)) == NULL)
		return CLI_EXIT_FAILURE;
	e.arena = malloc(RECORD_ARENA_BYTES);
	if (e.arena == NULL) {
		warnx("out of memory");
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	message[0] = '\0';
	rc = store_query_records(db, q, emit_record, &e, count, &why, message,
				 sizeof(message));
	if (rc < 0) {
		warnx("the query on %s failed: %s", path, why ? why :
		      strerror(-rc));
		rc = CLI_EXIT_FAILURE;
	}
out:
	free(e.arena);
	sqlite3_close(db);
	return rc;
}

int
cli_db_stats(const char *path, const struct query_request *q,
	     int (*row)(void *context, const char *key, int64_t count),
	     void *context)
{
	char message[DB_MESSAGE_MAX];
	const char *why = NULL;
	int64_t groups = 0;
	sqlite3 *db;
	int rc;

	if ((db = open_store(path)) == NULL)
		return CLI_EXIT_FAILURE;
	message[0] = '\0';
	rc = store_query_stats(db, q, row, context, &groups, &why, message,
			       sizeof(message));
	sqlite3_close(db);
	if (rc < 0) {
		warnx("stats on %s failed: %s", path, why ? why : strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	return rc;
}
