/*
 * export_fhir.c - `phitrail export --format fhir`: the records of a period
 * as a FHIR R4 Bundle of AuditEvent resources (output_fhir.c), for an
 * audit record repository or FHIR server that takes AuditEvents.
 *
 * Owns reading the period's records out of the store file in id order and
 * decoding them. Unlike the proof export it carries no signed checkpoint:
 * a FHIR Bundle has no place for one; the record id of each AuditEvent
 * (extension record-id) leads back to the proof.
 * Must never: write to the store, or leave a partial output file behind.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "export_fhir.h"
#include "output.h"
#include "record.h"

static int
write_bundle(sqlite3 *db, int64_t first, int64_t last, struct cli_output *out)
{
	sqlite3_stmt *stmt = NULL;
	char *arena = malloc(RECORD_ARENA_BYTES);
	int rc, status = -EIO;

	if (arena == NULL)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db, "SELECT id, bytes FROM records WHERE id >= ?1"
			       " AND id <= ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct record r;
		const char *why = NULL;
		if (record_decode(sqlite3_column_blob(stmt, 1),
				  (size_t)sqlite3_column_bytes(stmt, 1), &r, arena,
				  RECORD_ARENA_BYTES, &why) < 0) {
			warnx("phitrail export: record %" PRId64 " does not decode: "
			      "%s (run phitrail verify)", (int64_t)sqlite3_column_int64(stmt, 0),
			      why ? why : "malformed");
			status = -EBADMSG;
			goto out;
		}
		r.id = sqlite3_column_int64(stmt, 0);
		if ((status = out->format->record(out, &r)) < 0)
			goto out;
	}
	status = rc == SQLITE_DONE ? out->format->finish(out) : -EIO;
out:
	sqlite3_finalize(stmt);
	free(arena);
	return status;
}

int
cli_export_fhir(sqlite3 *db, int64_t first, int64_t last, const char *output,
		const struct config *cfg)
{
	int to_stdout = strcmp(output, "-") == 0;
	FILE *stream = to_stdout ? stdout : fopen(output, "we");
	struct cli_output out;
	int rc;

	if (stream == NULL) {
		warn("phitrail export: cannot create %s", output);
		return CLI_EXIT_FAILURE;
	}
	cli_output_init(&out, cli_output_find("fhir"), stream, 0);
	out.config = cfg;
	rc = write_bundle(db, first, last, &out);
	if (rc == -EIO && sqlite3_errcode(db) != SQLITE_OK &&
	    sqlite3_errcode(db) != SQLITE_DONE && sqlite3_errcode(db) != SQLITE_ROW)
		warnx("phitrail export: cannot read the store: %s", sqlite3_errmsg(db));
	else if (rc < 0 && rc != -EBADMSG)
		warnx("phitrail export: cannot write %s: %s", output, strerror(-rc));
	if (!to_stdout && fclose(stream) != 0 && rc == 0) {
		warnx("phitrail export: cannot write %s", output);
		rc = -EIO;
	}
	cli_output_free(&out);
	if (rc < 0) {
		if (!to_stdout)
			(void)unlink(output);
		return CLI_EXIT_FAILURE;
	}
	fprintf(stderr, "phitrail export: %s: records %" PRId64 "-%" PRId64
		" as a FHIR Bundle of %lld AuditEvents\n", to_stdout ? "stdout" : output,
		first, last, out.records);
	return CLI_EXIT_OK;
}
