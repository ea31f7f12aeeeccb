/*
 * export.c - `phitrail export`: the records of a period, with the signed
 * checkpoint and the proof that they are complete (no record between the
 * first and the last is missing) and unchanged, in the file format of
 * proofs.c ("EXPORT"), for `phitrail verify --export FILE --key PUBFILE` on
 * another machine.
 *
 *   phitrail export [--config FILE | --db FILE] --since T [--until T]
 *                   --output FILE [--format proof|fhir]
 *
 * --format fhir writes the same records as a FHIR R4 Bundle of AuditEvent
 * resources instead (export_fhir.c), without the proof.
 *
 * --until defaults to now. When the period's newest records are not yet
 * covered by a signed checkpoint, the collector is asked to sign one now
 * (the "checkpoint" request, control.c); with --db alone there is none to
 * ask and the export says to try again after checkpoint_interval.
 *
 * Reads the store file read-only. Records are exported in id order: ids A
 * to B, where A and B are the smallest and largest ids whose timestamp is
 * in [since, until); the proof is the tree's frontier at A-1, the records'
 * own leaves, and a consistency proof from B to the newest checkpoint.
 * A progress line goes to stderr when it is a terminal.
 * Must never write to the store, or leave a partial output file behind.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "export_fhir.h"
#include "control.h"
#include "integrity.h"
#include "proofs.h"
#include "timefmt.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phitrail export [--config FILE | --db FILE] --since T [--until T]\n"
		"                       --output FILE [--format proof|fhir]\n"
		"  Writes the records whose timestamp is in [since, until) - and any\n"
		"  between them - with the signed checkpoint and the proof that they\n"
		"  are complete and unchanged (--until: now when not given; a fresh\n"
		"  signed checkpoint is asked of the collector when needed). Check it\n"
		"  anywhere with\n"
		"  'phitrail verify --export FILE --key PUBFILE'.\n"
		"  T: RFC 3339 (2026-11-28T14:00:00Z), a date, a duration before now\n"
		"  (7d, 12h), 'now', today, yesterday, this-week, this-month, this-year,\n"
		"  recent, or a local time with its zone (2026-12-04 09:00 Europe/Berlin).\n"
		"  --format fhir: the same records as a FHIR R4 Bundle of AuditEvent\n"
		"  resources (IHE BALP), without the proof; --output - is stdout.\n");
}

/*
 * The period's newest records are not signed yet: asks the collector of
 * the configuration for a checkpoint now. 0, or -1 after saying why.
 */
static int ask_for_checkpoint(const struct integrity_where *where)
{
	struct config *cfg = NULL;
	char message[512];
	int64_t size = 0;
	int rc;

	if (where->db_path != NULL && where->config_path == NULL)
		return -1;            /* a store file alone: no collector to ask */
	if (cli_config_for_settings(where->config_path, &cfg) != 0)
		return -1;
	rc = cli_control_checkpoint(cfg->query_socket_path, &size, message,
				    sizeof(message));
	free(cfg);
	if (rc < 0) {
		warnx("phitrail export: asked the collector for a fresh signed "
		      "checkpoint: %s", message);
		return -1;
	}
	return 0;
}

static int id_bound(sqlite3 *db, const char *sql, int64_t since, int64_t until,
		    int64_t *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, until);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		rc = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -ENOENT : 0;
		*out = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* The frontier at first-1: resumed from the cut, then stored leaves. */
static int frontier_before(sqlite3 *db, const struct checkpoint_cut *cut, int64_t first,
			   merkle_hash frontier[MERKLE_MAX_DEPTH], size_t *count)
{
	struct merkle_builder b;
	sqlite3_stmt *stmt = NULL;
	int64_t want;
	int rc;

	merkle_builder_init(&b);
	if (cut != NULL && checkpoint_cut_resume(cut, &b) < 0)
		return -EBADMSG;
	want = (int64_t)b.size + 1;
	if (sqlite3_prepare_v2(db, "SELECT id, leaf_hash FROM records WHERE id >= ?1"
			       " AND id < ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, want);
	sqlite3_bind_int64(stmt, 2, first);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_int64(stmt, 0) != want ||
		    sqlite3_column_bytes(stmt, 1) != MERKLE_HASH_BYTES)
			break;
		(void)merkle_builder_append(&b, sqlite3_column_blob(stmt, 1));
		want++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (want != first)
		return -ENOENT;
	*count = merkle_builder_frontier(&b, frontier);
	return 0;
}

static void progress(int64_t done, int64_t total, int final)
{
	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\rphitrail export: %" PRId64 "/%" PRId64 " records (%d%%)%s",
		done, total, total ? (int)(done * 100 / total) : 100, final ? "\n" : "");
}

static int write_records(FILE *out, sqlite3 *db, int64_t first, int64_t last)
{
	sqlite3_stmt *stmt = NULL;
	int64_t want = first;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, bytes FROM records WHERE id >= ?1"
			       " AND id <= ?2 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_int64(stmt, 0) != want)
			break;
		proofs_write_hex_line(out, "record", sqlite3_column_blob(stmt, 1),
				      (size_t)sqlite3_column_bytes(stmt, 1));
		if (++want % 4096 == 0)
			progress(want - first, last - first + 1, 0);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	progress(want - first, last - first + 1, 1);
	return want == last + 1 ? 0 : -ENOENT;
}

int cli_export_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct integrity_where where = { 0 };
	const char *since_text = NULL, *until_text = NULL, *output = NULL, *why = NULL;
	int fhir = 0;
	struct checkpoint cp;
	struct checkpoint_cut *cut = NULL;
	struct integrity_source source;
	struct merkle_source src;
	merkle_hash frontier[MERKLE_MAX_DEPTH], proof[MERKLE_MAX_PROOF];
	unsigned char cp_bytes[CHECKPOINT_BYTES];
	char key_default[PATH_MAX + 8];
	int64_t since, until, first, last, now = cli_now_ns();
	size_t frontier_count = 0, proof_len = 0, i;
	sqlite3 *db = NULL;
	FILE *out = NULL;
	int opt, rc, has_cut = 0, created = 0, status = CLI_EXIT_FAILURE;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': where.config_path = optarg; break;
		case 'd': where.db_path = optarg; break;
		case 's': since_text = optarg; break;
		case 'u': until_text = optarg; break;
		case 'o': output = optarg; break;
		case 'f':
			if (strcmp(optarg, "fhir") != 0 && strcmp(optarg, "proof") != 0)
				return cli_usage_error("export", "--format is proof "
						       "or fhir, not '%s'", optarg);
			fhir = strcmp(optarg, "fhir") == 0;
			break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		default: return cli_bad_option("export", opt, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (since_text == NULL || output == NULL)
		return cli_usage_error("export", "--since and --output are needed");
	if (until_text == NULL)
		until_text = "now";
	if (where.config_path != NULL && where.db_path != NULL)
		return cli_usage_error("export", "give --config or --db, not both");
	if (cli_time_parse(since_text, now, &since, &why) < 0)
		return cli_usage_error("export", "--since %s: %s", since_text,
				       why ? why : "not a time");
	if (cli_time_parse(until_text, now, &until, &why) < 0)
		return cli_usage_error("export", "--until %s: %s", until_text,
				       why ? why : "not a time");
	if (since < 0 || until <= since)
		return cli_usage_error("export", "--until must come after --since");
	if (merkle_init() < 0 || checkpoint_init() < 0) {
		warnx("libsodium cannot start");
		return CLI_EXIT_FAILURE;
	}
	if (integrity_open("export", &where, &db, key_default) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	cut = malloc(sizeof(*cut));
	if (cut == NULL)
		goto out;
	rc = id_bound(db, "SELECT min(id) FROM records WHERE timestamp_ns >= ?1 AND"
		      " timestamp_ns < ?2", since, until, &first);
	if (rc == 0)
		rc = id_bound(db, "SELECT max(id) FROM records WHERE timestamp_ns >= ?1"
			      " AND timestamp_ns < ?2", since, until, &last);
	if (rc == -ENOENT) {
		warnx("phitrail export: no records in that period");
		goto out;
	}
	if (rc < 0) {
		warnx("phitrail export: cannot read the store: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (fhir) {
		struct config *cfg = NULL;
		if (where.db_path == NULL &&
		    cli_config_for_settings(where.config_path, &cfg) != 0)
			goto out;
		status = cli_export_fhir(db, first, last, output, cfg);
		free(cfg);
		goto out;
	}
	rc = integrity_newest_signed(db, last - 1, &cp, cut, &has_cut);
	if (rc == -ENOENT && ask_for_checkpoint(&where) == 0)
		rc = integrity_newest_signed(db, last - 1, &cp, cut, &has_cut);
	if (rc < 0) {
		warnx("phitrail export: %s", rc == -ENOENT ? "the newest records of the "
		      "period are not covered by a signed checkpoint yet: try again after "
		      "the collector's checkpoint_interval" : "cannot read the store's "
		      "checkpoints (run phitrail verify)");
		goto out;
	}
	rc = frontier_before(db, has_cut ? cut : NULL, first, frontier, &frontier_count);
	if (rc == 0 && integrity_source_init(&source, db, has_cut ? cut : NULL) == 0) {
		src = integrity_merkle_source(&source);
		rc = merkle_consistency_proof(&src, (uint64_t)last, cp.tree_size, proof,
					      &proof_len);
		integrity_source_fini(&source);
	} else if (rc == 0) {
		rc = -EIO;
	}
	if (rc < 0) {
		warnx("phitrail export: cannot build the proof: %s (run phitrail verify)",
		      rc == -ENOENT ? "records are missing" : strerror(-rc));
		goto out;
	}
	out = fopen(output, "we");
	if (out == NULL) {
		warn("phitrail export: cannot create %s", output);
		goto out;
	}
	created = 1;
	checkpoint_encode(&cp, cp_bytes);
	fprintf(out, "%s\nsince-ns %" PRId64 "\nuntil-ns %" PRId64 "\nfirst-id %" PRId64
		"\nlast-id %" PRId64 "\n", EXPORT_MAGIC, since, until, first, last);
	proofs_write_hex_line(out, "checkpoint", cp_bytes, sizeof(cp_bytes));
	for (i = 0; i < frontier_count; i++)
		proofs_write_hex_line(out, "frontier", frontier[i], MERKLE_HASH_BYTES);
	rc = write_records(out, db, first, last);
	if (rc < 0) {
		warnx("phitrail export: records between %" PRId64 " and %" PRId64 " are "
		      "missing from the store (run phitrail verify)", first, last);
		goto out;
	}
	for (i = 0; i < proof_len; i++)
		proofs_write_hex_line(out, "consistency", proof[i], MERKLE_HASH_BYTES);
	fprintf(out, "end %" PRId64 "\n", last - first + 1);
	rc = ferror(out);
	rc |= fclose(out);
	out = NULL;
	if (rc != 0) {
		warnx("phitrail export: cannot write %s", output);
		goto out;
	}
	fprintf(stderr, "phitrail export: %s: records %" PRId64 "-%" PRId64 ", checkpoint "
		"of %" PRIu64 " records\n", output, first, last, cp.tree_size);
	status = CLI_EXIT_OK;
out:
	if (out != NULL)
		fclose(out);
	if (status != CLI_EXIT_OK && created)
		(void)unlink(output);
	free(cut);
	sqlite3_close(db);
	return status;
}
