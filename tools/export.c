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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "export_fhir.h"
#include "control.h"
#include "integrity.h"
#include "options.h"
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

/* What export is asked for: its options, then the period they name. */
struct export_request {
	struct integrity_where where;
	const char *since_text, *until_text, *output;
	int fhir;
	int64_t since, until;                 /* ns; [since, until) */
};

/* The proof written with the records (see the file's head comment). */
struct export_proof {
	struct checkpoint cp;
	merkle_hash frontier[MERKLE_MAX_DEPTH], consistency[MERKLE_MAX_PROOF];
	size_t frontier_count, consistency_count;
};

/* Returns 0, CLI_OPTIONS_HELP after --help, or a usage error's status. */
static int parse_options(int argc, char **argv, struct export_request *x)
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
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': x->where.config_path = optarg; break;
		case 'd': x->where.db_path = optarg; break;
		case 's': x->since_text = optarg; break;
		case 'u': x->until_text = optarg; break;
		case 'o': x->output = optarg; break;
		case 'f':
			if (strcmp(optarg, "fhir") != 0 && strcmp(optarg, "proof") != 0)
				return cli_usage_error("export", "--format is proof "
						       "or fhir, not '%s'", optarg);
			x->fhir = strcmp(optarg, "fhir") == 0;
			break;
		case 'h': usage(stdout); return CLI_OPTIONS_HELP;
		default: return cli_bad_option("export", opt, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* The checks no single option can make, and the period's times. */
static int check_request(struct export_request *x)
{
	int64_t now = cli_now_ns();
	const char *why = NULL;

	if (x->since_text == NULL || x->output == NULL)
		return cli_usage_error("export", "--since and --output are needed");
	if (x->until_text == NULL)
		x->until_text = "now";
	if (x->where.config_path != NULL && x->where.db_path != NULL)
		return cli_usage_error("export", "give --config or --db, not both");
	if (cli_time_parse(x->since_text, now, &x->since, &why) < 0)
		return cli_usage_error("export", "--since %s: %s", x->since_text,
				       why ? why : "not a time");
	if (cli_time_parse(x->until_text, now, &x->until, &why) < 0)
		return cli_usage_error("export", "--until %s: %s", x->until_text,
				       why ? why : "not a time");
	if (x->since < 0 || x->until <= x->since)
		return cli_usage_error("export", "--until must come after --since");
	return 0;
}

/* The smallest and largest ids in the period: 0, or -1 after saying why. */
static int find_id_range(sqlite3 *db, const struct export_request *x,
			 int64_t *first, int64_t *last)
{
	int rc;

	rc = id_bound(db, "SELECT min(id) FROM records WHERE timestamp_ns >= ?1 AND"
		      " timestamp_ns < ?2", x->since, x->until, first);
	if (rc == 0)
		rc = id_bound(db, "SELECT max(id) FROM records WHERE timestamp_ns >= ?1"
			      " AND timestamp_ns < ?2", x->since, x->until, last);
	if (rc == -ENOENT) {
		warnx("phitrail export: no records in that period");
		return -1;
	}
	if (rc < 0) {
		warnx("phitrail export: cannot read the store: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* --format fhir: the records as a Bundle (export_fhir.c). Exit status. */
static int export_as_fhir(sqlite3 *db, const struct export_request *x,
			  int64_t first, int64_t last)
{
	struct config *cfg = NULL;
	int status;

	if (x->where.db_path == NULL &&
	    cli_config_for_settings(x->where.config_path, &cfg) != 0)
		return CLI_EXIT_FAILURE;
	status = cli_export_fhir(db, first, last, x->output, cfg);
	free(cfg);
	return status;
}

/*
 * The newest signed checkpoint covering last (asked of the collector when
 * there is none yet), the frontier before first and the consistency proof
 * from last to the checkpoint. 0, or -1 after saying why.
 */
static int build_proof(sqlite3 *db, const struct export_request *x,
		       int64_t first, int64_t last, struct checkpoint_cut *cut,
		       struct export_proof *p)
{
	struct integrity_source source;
	struct merkle_source src;
	int rc, has_cut = 0;

	rc = integrity_newest_signed(db, last - 1, &p->cp, cut, &has_cut);
	if (rc == -ENOENT && ask_for_checkpoint(&x->where) == 0)
		rc = integrity_newest_signed(db, last - 1, &p->cp, cut, &has_cut);
	if (rc < 0) {
		warnx("phitrail export: %s", rc == -ENOENT ? "the newest records of the "
		      "period are not covered by a signed checkpoint yet: try again after "
		      "the collector's checkpoint_interval" : "cannot read the store's "
		      "checkpoints (run phitrail verify)");
		return -1;
	}
	rc = frontier_before(db, has_cut ? cut : NULL, first, p->frontier,
			     &p->frontier_count);
	if (rc == 0 && integrity_source_init(&source, db, has_cut ? cut : NULL) == 0) {
		src = integrity_merkle_source(&source);
		rc = merkle_consistency_proof(&src, (uint64_t)last, p->cp.tree_size,
					      p->consistency, &p->consistency_count);
		integrity_source_fini(&source);
	} else if (rc == 0) {
		rc = -EIO;
	}
	if (rc < 0) {
		warnx("phitrail export: cannot build the proof: %s (run phitrail verify)",
		      rc == -ENOENT ? "records are missing" : strerror(-rc));
		return -1;
	}
	return 0;
}

/* The export file's lines, header to end. 0, or -1 after saying why. */
static int write_export(FILE *out, sqlite3 *db, const struct export_request *x,
			int64_t first, int64_t last, const struct export_proof *p)
{
	unsigned char cp_bytes[CHECKPOINT_BYTES];
	size_t i;

	checkpoint_encode(&p->cp, cp_bytes);
	fprintf(out, "%s\nsince-ns %" PRId64 "\nuntil-ns %" PRId64 "\nfirst-id %" PRId64
		"\nlast-id %" PRId64 "\n", EXPORT_MAGIC, x->since, x->until, first, last);
	proofs_write_hex_line(out, "checkpoint", cp_bytes, sizeof(cp_bytes));
	for (i = 0; i < p->frontier_count; i++)
		proofs_write_hex_line(out, "frontier", p->frontier[i], MERKLE_HASH_BYTES);
	if (write_records(out, db, first, last) < 0) {
		warnx("phitrail export: records between %" PRId64 " and %" PRId64 " are "
		      "missing from the store (run phitrail verify)", first, last);
		return -1;
	}
	for (i = 0; i < p->consistency_count; i++)
		proofs_write_hex_line(out, "consistency", p->consistency[i],
				      MERKLE_HASH_BYTES);
	fprintf(out, "end %" PRId64 "\n", last - first + 1);
	return 0;
}

/*
 * Creates x->output and writes the export; on failure removes it again,
 * but only when it is a regular file: a device, pipe or socket named by
 * --output (/dev/full, /dev/stdout) is never unlinked.
 */
static int write_export_file(sqlite3 *db, const struct export_request *x,
			     int64_t first, int64_t last, const struct export_proof *p)
{
	FILE *out = fopen(x->output, "we");
	struct stat st;
	bool regular;
	int rc;

	if (out == NULL) {
		warn("phitrail export: cannot create %s", x->output);
		return -1;
	}
	regular = fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode);
	rc = write_export(out, db, x, first, last, p);
	if (rc == 0 && (ferror(out) || fflush(out) != 0)) {
		warnx("phitrail export: cannot write %s", x->output);
		rc = -1;
	}
	if (fclose(out) != 0 && rc == 0) {
		warnx("phitrail export: cannot write %s", x->output);
		rc = -1;
	}
	if (rc < 0 && regular)
		(void)unlink(x->output);
	return rc < 0 ? -1 : 0;
}

int cli_export_main(int argc, char **argv)
{
	struct export_request x = { 0 };
	struct export_proof proof = { 0 };
	struct checkpoint_cut *cut = NULL;
	char key_default[PATH_MAX + 8];
	int64_t first, last;
	sqlite3 *db = NULL;
	int rc, status = CLI_EXIT_FAILURE;

	if ((rc = parse_options(argc, argv, &x)) != 0)
		return rc == CLI_OPTIONS_HELP ? CLI_EXIT_OK : rc;
	if ((rc = check_request(&x)) != 0)
		return rc;
	if (merkle_init() < 0 || checkpoint_init() < 0) {
		warnx("libsodium cannot start");
		return CLI_EXIT_FAILURE;
	}
	if (integrity_open("export", &x.where, &db, key_default) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	cut = malloc(sizeof(*cut));
	if (cut == NULL || find_id_range(db, &x, &first, &last) < 0)
		goto out;
	if (x.fhir) {
		status = export_as_fhir(db, &x, first, last);
		goto out;
	}
	if (build_proof(db, &x, first, last, cut, &proof) < 0 ||
	    write_export_file(db, &x, first, last, &proof) < 0)
		goto out;
	fprintf(stderr, "phitrail export: %s: records %" PRId64 "-%" PRId64 ", checkpoint "
		"of %" PRIu64 " records\n", x.output, first, last, proof.cp.tree_size);
	status = CLI_EXIT_OK;
out:
	free(cut);
	sqlite3_close(db);
	return status;
}
