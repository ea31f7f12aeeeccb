/*
 * prove.c - `phitrail prove ID` and `phitrail checkpoint`: what the store
 * signed, handed to someone who holds only the public key.
 *
 *   phitrail prove [--config FILE | --db FILE] [--output FILE] ID
 *       an inclusion proof of record ID in the newest signed checkpoint
 *       that covers it (format: proofs.c), for `phitrail verify --proof`
 *   phitrail checkpoint [--config FILE | --db FILE] [--output FILE]
 *       the newest signed checkpoint in its text form (checkpoint.h), for a
 *       later `phitrail verify --since-checkpoint FILE`
 *
 * Both read the store file read-only. prove takes the record's bytes and
 * the tree hashes from the store as they are: it proves nothing by itself,
 * the verifier does (a changed store gives a proof that fails).
 * Must never write to the store or sign anything.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "integrity.h"
#include "proofs.h"

struct store_args {
	struct integrity_where where;
	const char *output;
};

/* --config/--db/--output for both verbs; returns -1 to go on, else the exit. */
static int parse_args(const char *verb, int argc, char **argv, struct store_args *a,
		      void (*usage)(FILE *))
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': a->where.config_path = optarg; break;
		case 'd': a->where.db_path = optarg; break;
		case 'o': a->output = optarg; break;
		case 'h': usage(stdout); return CLI_EXIT_OK;
		default: return cli_bad_option(verb, opt, argv);
		}
	}
	if (a->where.config_path != NULL && a->where.db_path != NULL)
		return cli_usage_error(verb, "give --config or --db, not both");
	if (merkle_init() < 0 || checkpoint_init() < 0) {
		warnx("libsodium cannot start");
		return CLI_EXIT_FAILURE;
	}
	return -1;
}

static FILE *open_output(const char *verb, const char *path)
{
	FILE *out;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	out = fopen(path, "we");
	if (out == NULL)
		warn("phitrail %s: cannot create %s", verb, path);
	return out;
}

static int close_output(const char *verb, FILE *out, const char *path)
{
	int bad = ferror(out);

	if (out == stdout)
		bad |= fflush(out) != 0;
	else
		bad |= fclose(out) != 0;
	if (bad) {
		warnx("phitrail %s: cannot write %s", verb, path ? path : "the output");
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

static void prove_usage(FILE *out)
{
	fprintf(out,
		"usage: phitrail prove [--config FILE | --db FILE] [--output FILE] ID\n"
		"  Prints an inclusion proof of record ID in the newest signed\n"
		"  checkpoint: the record's bytes, its leaf index, the proof hashes and\n"
		"  the checkpoint. Anyone with the public key checks it with\n"
		"  'phitrail verify --proof FILE --key PUBFILE'.\n");
}

int cli_prove_main(int argc, char **argv)
{
	struct store_args a;
	struct checkpoint cp;
	struct checkpoint_cut *cut = NULL;
	struct integrity_source source;
	struct merkle_source src;
	merkle_hash proof[MERKLE_MAX_PROOF];
	char key_default[PATH_MAX + 8], *end;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	size_t proof_len = 0;
	long long id;
	int rc, has_cut = 0, status = CLI_EXIT_FAILURE;
	FILE *out;

	rc = parse_args("prove", argc, argv, &a, prove_usage);
	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error("prove", "give one record id");
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || id < 1)
		return cli_usage_error("prove", "'%s' is not a record id", argv[optind]);
	if (integrity_open("prove", &a.where, &db, key_default) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	cut = malloc(sizeof(*cut));
	if (cut == NULL)
		goto out;
	rc = integrity_newest_signed(db, id - 1, &cp, cut, &has_cut);
	if (rc == -ENOENT) {
		warnx("phitrail prove: record %lld is not covered by a signed checkpoint "
		      "yet: try again after the collector's checkpoint_interval", id);
		goto out;
	}
	if (rc < 0) {
		warnx("phitrail prove: cannot read the store's checkpoints: %s",
		      rc == -EBADMSG ? "a checkpoint is damaged (run phitrail verify)" :
		      rc == -ENOTDIR ? "no checkpoints table (not a phitrail store?)" :
		      sqlite3_errmsg(db));
		goto out;
	}
	if (has_cut && (uint64_t)id <= cut->cut_size) {
		warnx("phitrail prove: record %lld was removed by retention", id);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT bytes FROM records WHERE id = ?1", -1, &stmt,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		warnx("phitrail prove: there is no record %lld in the store", id);
		goto out;
	}
	if (integrity_source_init(&source, db, has_cut ? cut : NULL) < 0)
		goto out;
	src = integrity_merkle_source(&source);
	rc = merkle_inclusion_proof(&src, (uint64_t)id - 1, cp.tree_size, proof, &proof_len);
	integrity_source_fini(&source);
	if (rc < 0) {
		warnx("phitrail prove: cannot build the proof: %s (run phitrail verify)",
		      rc == -ENOENT ? "a record the proof needs is missing" : strerror(-rc));
		goto out;
	}
	out = open_output("prove", a.output);
	if (out == NULL)
		goto out;
	proofs_write_inclusion(out, id, sqlite3_column_blob(stmt, 0),
			       (size_t)sqlite3_column_bytes(stmt, 0),
			       (const merkle_hash *)proof, proof_len, &cp);
	status = close_output("prove", out, a.output);
out:
	free(cut);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return status;
}

static void checkpoint_usage(FILE *out)
{
	fprintf(out,
		"usage: phitrail checkpoint [--config FILE | --db FILE] [--output FILE]\n"
		"  Prints the store's newest signed checkpoint (one line of hex). Keep\n"
		"  it elsewhere; later 'phitrail verify --since-checkpoint FILE' proves\n"
		"  the store still holds everything it covered, unchanged.\n");
}

int cli_checkpoint_main(int argc, char **argv)
{
	struct store_args a;
	struct checkpoint cp;
	char key_default[PATH_MAX + 8], text[CHECKPOINT_TEXT_BYTES], when[48];
	sqlite3 *db = NULL;
	int rc, status = CLI_EXIT_FAILURE;
	FILE *out;

	rc = parse_args("checkpoint", argc, argv, &a, checkpoint_usage);
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return cli_usage_error("checkpoint", "unexpected argument '%s'", argv[optind]);
	if (integrity_open("checkpoint", &a.where, &db, key_default) != CLI_EXIT_OK)
		return CLI_EXIT_FAILURE;
	rc = integrity_newest_signed(db, -1, &cp, NULL, NULL);
	if (rc < 0) {
		warnx("phitrail checkpoint: %s", rc == -ENOENT ? "the store has no signed "
		      "checkpoint yet: wait for the collector's checkpoint_interval" :
		      rc == -ENOTDIR ? "no checkpoints table (not a phitrail store?)" :
		      "the newest checkpoint is damaged (run phitrail verify)");
		goto out;
	}
	out = open_output("checkpoint", a.output);
	if (out == NULL)
		goto out;
	checkpoint_to_text(&cp, text);
	fprintf(out, "%s\n", text);
	status = close_output("checkpoint", out, a.output);
	if (status == CLI_EXIT_OK && a.output != NULL) {
		integrity_time_text(cp.time_ns, when);
		fprintf(stderr, "phitrail checkpoint: %s: %" PRIu64 " records, signed %s\n",
			a.output, cp.tree_size, when);
	}
out:
	sqlite3_close(db);
	return status;
}
