/*
 * verify.c - `phitrail verify`: checks a store file, an inclusion proof or
 * an export against signed checkpoints and the public key alone.
 *
 *   phitrail verify [--config FILE | --db FILE] [--key PUBFILE]
 *                   [--since-checkpoint FILE]
 *   phitrail verify --public-key [--config FILE | --key PUBFILE]
 *   phitrail verify --proof FILE --key PUBFILE
 *   phitrail verify --export FILE --key PUBFILE
 *
 * A store is checked in one pass, oldest record first: the signed chain
 * (every signature, every previous-hash link, sizes never shrinking), then
 * every record: ids consecutive from the retention cut on, the bytes decode
 * and say the same id, every column equals what the bytes say, the leaf is
 * recomputed from the bytes (the leaf_hash column is only compared, never
 * used), and at each checkpoint's size the root must be the signed one.
 * What it can name: a record whose bytes and columns disagree, a missing
 * id, a record whose bytes carry another id, a leaf_hash column that does
 * not match the bytes, exactly. When an attacker rewrote bytes, columns and
 * leaf_hash consistently, only the signed roots tell, and the answer is the
 * range between the last checkpoint that holds and the first that fails.
 * Must never write to the store (it is opened read-only) or trust anything
 * in it that a signature does not cover.
 * Exit status: 0 verified, 1 a check failed or the store cannot be read.
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
#include "options.h"
#include "verify_fleet.h"
#include "proofs.h"
#include "record.h"
#include "store_schema.h"

#define PROBLEM_MAX 512

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phitrail verify [--config FILE | --db FILE] [--key PUBFILE]\n"
		"                       [--since-checkpoint FILE]\n"
		"       phitrail verify --public-key [--config FILE | --key PUBFILE]\n"
		"       phitrail verify --proof FILE --key PUBFILE\n"
		"       phitrail verify --export FILE --key PUBFILE\n"
		"  Checks the store (read-only) against its signed checkpoints: every\n"
		"  signature and link of the chain, every record's bytes, columns and\n"
		"  leaf, and the tree roots. Prints \"ok: ...\" or the first record\n"
		"  that no longer fits, and exits 1.\n"
		"  --db FILE                a store file (no configuration needed)\n"
		"  --key PUBFILE            the public key (default: <key_file>.pub)\n"
		"  --since-checkpoint FILE  also prove the store extends this exported\n"
		"                           checkpoint ('phitrail checkpoint' wrote it)\n"
		"  --public-key             print the public key (hex) and exit\n"
		"  --proof FILE             check a 'phitrail prove' output\n"
		"  --export FILE            check a 'phitrail export' file\n");
}

/* ---- the store ---- */

struct verify_state {
	sqlite3 *db;
	struct chain chain;
	const struct checkpoint *since;        /* --since-checkpoint, or NULL */
	struct merkle_builder tree;
	uint64_t cut;                          /* records 1..cut removed */
	size_t next_entry;                     /* chain entry to check next */
	uint64_t good_size;                    /* the largest size that held */
	int64_t first_bad_leaf_column;         /* leaf_hash column mismatch, or 0 */
	int since_checked;
	char problem[PROBLEM_MAX];
};

static int value_matches(sqlite3_stmt *stmt, int column, const struct store_value *v)
{
	int type = sqlite3_column_type(stmt, column);

	switch (v->kind) {
	case STORE_VALUE_NULL:
		return type == SQLITE_NULL;
	case STORE_VALUE_INT:
		return type == SQLITE_INTEGER && sqlite3_column_int64(stmt, column) == v->number;
	case STORE_VALUE_TEXT:
		return type == SQLITE_TEXT &&
		       strcmp((const char *)sqlite3_column_text(stmt, column), v->text) == 0;
	}
	return 0;
}

/* Checks the roots due at the tree's current size: 0 or -EBADMSG. */
static int check_roots_at_size(struct verify_state *vs)
{
	merkle_hash root;
	int have_root = 0;

	while (vs->next_entry < vs->chain.count &&
	       vs->chain.entries[vs->next_entry].size <= vs->tree.size) {
		const struct chain_entry *e = &vs->chain.entries[vs->next_entry];

		if (e->size < vs->tree.size || e->size < vs->cut ||
		    (e->is_cut && e->size == vs->cut)) {
			vs->next_entry++;      /* before the cut: nothing left to check */
			continue;
		}
		if (!have_root) {
			merkle_builder_root(&vs->tree, root);
			have_root = 1;
		}
		if (memcmp(root, e->root, sizeof(root)) != 0) {
			if (vs->first_bad_leaf_column > (int64_t)vs->good_size)
				snprintf(vs->problem, sizeof(vs->problem),
					 "record %" PRId64 " was changed: its bytes no longer "
					 "match its leaf hash, and signed checkpoint %" PRId64
					 " fails", vs->first_bad_leaf_column, e->seq);
			else
				snprintf(vs->problem, sizeof(vs->problem),
					 "records %" PRIu64 "-%" PRIu64 " do not match signed "
					 "checkpoint %" PRId64 " (the first checkpoint that "
					 "fails%s); one of them was changed, removed, added "
					 "or moved", vs->good_size + 1, e->size, e->seq,
					 vs->good_size > 0 ? ", the records before them match"
					 : "");
			return -EBADMSG;
		}
		vs->good_size = e->size;
		vs->next_entry++;
	}
	if (vs->since != NULL && !vs->since_checked && vs->since->tree_size == vs->tree.size &&
	    vs->since->tree_size > vs->cut) {
		if (!have_root)
			merkle_builder_root(&vs->tree, root);
		if (memcmp(root, vs->since->root, sizeof(root)) != 0) {
			snprintf(vs->problem, sizeof(vs->problem),
				 "the store does not extend the exported checkpoint: its "
				 "first %" PRIu64 " records no longer have the signed root "
				 "(records %" PRIu64 "-%" PRIu64 " differ)",
				 vs->since->tree_size, vs->good_size + 1,
				 vs->since->tree_size);
			return -EBADMSG;
		}
		vs->since_checked = 1;
	}
	return 0;
}

static int check_row(struct verify_state *vs, sqlite3_stmt *stmt, int64_t expected,
		     char *arena, size_t arena_size)
{
	struct store_value values[STORE_DERIVED_COLUMN_COUNT];
	struct record r;
	merkle_hash leaf;
	const void *bytes = sqlite3_column_blob(stmt, STORE_DERIVED_COLUMN_COUNT);
	size_t len = (size_t)sqlite3_column_bytes(stmt, STORE_DERIVED_COLUMN_COUNT);
	int64_t id = sqlite3_column_int64(stmt, 0);
	const char *why = NULL;
	int i;

	if (id != expected) {
		snprintf(vs->problem, sizeof(vs->problem), id > expected ?
			 "record %" PRId64 " is missing (the next stored record is "
			 "%" PRId64 ")" : "record %" PRId64 " is out of order "
			 "(found %" PRId64 ")", expected, id);
		return -EBADMSG;
	}
	if (record_decode(bytes, len, &r, arena, arena_size, &why) < 0) {
		snprintf(vs->problem, sizeof(vs->problem), "record %" PRId64 ": its bytes "
			 "are not a record any more (%s)", id, why ? why : "undecodable");
		return -EBADMSG;
	}
	if (r.id != id) {
		snprintf(vs->problem, sizeof(vs->problem), "record %" PRId64 ": its bytes "
			 "are those of record %" PRId64 " (records were swapped, moved "
			 "or copied)", id, r.id);
		return -EBADMSG;
	}
	store_schema_values(&r, values);
	for (i = 1; i < STORE_DERIVED_COLUMN_COUNT; i++) {
		if (!value_matches(stmt, i, &values[i])) {
			snprintf(vs->problem, sizeof(vs->problem), "record %" PRId64 ": "
				 "its column %s no longer says what its bytes say",
				 id, store_derived_column_names[i]);
			return -EBADMSG;
		}
	}
	merkle_leaf_hash(bytes, len, leaf);
	if (vs->first_bad_leaf_column == 0 &&
	    (sqlite3_column_bytes(stmt, STORE_DERIVED_COLUMN_COUNT + 1) != MERKLE_HASH_BYTES ||
	     memcmp(sqlite3_column_blob(stmt, STORE_DERIVED_COLUMN_COUNT + 1), leaf,
		    sizeof(leaf)) != 0))
		vs->first_bad_leaf_column = id;
	(void)merkle_builder_append(&vs->tree, leaf);
	return check_roots_at_size(vs);
}

static int verify_records(struct verify_state *vs)
{
	sqlite3_stmt *stmt = NULL;
	char *arena = malloc(RECORD_ARENA_BYTES);
	int64_t expected;
	int rc;

	if (arena == NULL)
		return -ENOMEM;
	if (sqlite3_prepare_v2(vs->db, STORE_SQL_VERIFY_ROWS, -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(vs->problem, sizeof(vs->problem), "cannot read the records: %s",
			 sqlite3_errmsg(vs->db));
		free(arena);
		return -EIO;
	}
	expected = (int64_t)vs->cut + 1;
	rc = check_roots_at_size(vs);
	while (rc == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		rc = check_row(vs, stmt, expected, arena, RECORD_ARENA_BYTES);
		expected++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0) {
		snprintf(vs->problem, sizeof(vs->problem), "cannot read the records: %s",
			 sqlite3_errmsg(vs->db));
		rc = -EIO;
	}
	sqlite3_finalize(stmt);
	free(arena);
	return rc;
}

/* Loads the signed chain and starts the tree at the retention cut, if any. */
static int start_tree(struct verify_state *vs, const unsigned char *public_key)
{
	int rc;

	rc = integrity_load_chain(vs->db, public_key, &vs->chain, vs->problem,
				  sizeof(vs->problem));
	if (rc < 0)
		return rc;
	merkle_builder_init(&vs->tree);
	if (vs->chain.has_cut) {
		if (checkpoint_cut_resume(&vs->chain.cut, &vs->tree) < 0) {
			snprintf(vs->problem, sizeof(vs->problem), "the retention cut does "
				 "not fold to its root");
			return -EBADMSG;
		}
		vs->cut = vs->chain.cut.cut_size;
		vs->good_size = vs->cut;
	}
	return 0;
}

/*
 * --since-checkpoint of a size retention has removed: its records are
 * gone, so it must be one of the chain's own statements.
 */
static int check_since_on_chain(struct verify_state *vs)
{
	unsigned char h[MERKLE_HASH_BYTES];
	int found = 0;

	checkpoint_hash(vs->since, h);
	for (size_t i = 0; i < vs->chain.count; i++)
		found |= memcmp(vs->chain.entries[i].hash, h, sizeof(h)) == 0;
	if (!found) {
		snprintf(vs->problem, sizeof(vs->problem), "the exported checkpoint "
			 "(%" PRIu64 " records) is not on the store's chain, and its "
			 "records were removed by retention", vs->since->tree_size);
		return -EBADMSG;
	}
	vs->since_checked = 1;
	return 0;
}

/* After the last record: what the checkpoints cover that the store lacks. */
static int check_nothing_missing(struct verify_state *vs)
{
	char when[48];

	for (; vs->next_entry < vs->chain.count; vs->next_entry++) {
		const struct chain_entry *e = &vs->chain.entries[vs->next_entry];

		if (e->size > vs->tree.size) {
			integrity_time_text(e->time_ns, when);
			snprintf(vs->problem, sizeof(vs->problem), "records %" PRIu64 "-%"
				 PRIu64 " are missing: signed checkpoint %" PRId64 " (%s) "
				 "covers %" PRIu64 " records, the store ends at record %"
				 PRIu64, vs->tree.size + 1, e->size, e->seq, when, e->size,
				 vs->tree.size);
			return -EBADMSG;
		}
	}
	if (vs->since != NULL && !vs->since_checked) {
		snprintf(vs->problem, sizeof(vs->problem), "records %" PRIu64 "-%" PRIu64
			 " are missing: the exported checkpoint covers %" PRIu64
			 " records, the store ends at record %" PRIu64,
			 vs->tree.size + 1, vs->since->tree_size, vs->since->tree_size,
			 vs->tree.size);
		return -EBADMSG;
	}
	if (vs->first_bad_leaf_column != 0) {
		snprintf(vs->problem, sizeof(vs->problem), "record %" PRId64 ": its "
			 "leaf_hash column was changed (its bytes still fit the signed "
			 "tree)", vs->first_bad_leaf_column);
		return -EBADMSG;
	}
	return 0;
}

/* The "ok: ..." lines of a store that verified. */
static void print_verified(const struct verify_state *vs)
{
	const struct chain_entry *last = integrity_last_checkpoint(&vs->chain);
	char root_hex[INTEGRITY_HEX(MERKLE_HASH_BYTES)], when[48];
	merkle_hash root;

	merkle_builder_root(&vs->tree, root);
	integrity_hex(root, sizeof(root), root_hex);
	if (last == NULL) {
		printf("ok: %" PRIu64 " records, root %s, no signed checkpoint yet "
		       "(nothing is proven until the collector signs one)\n",
		       vs->tree.size, root_hex);
		return;
	}
	integrity_time_text(last->time_ns, when);
	printf("ok: %" PRIu64 " records, root %s, last checkpoint %s\n", vs->tree.size,
	       root_hex, when);
	if (vs->cut > 0) {
		integrity_time_text(vs->chain.cut.time_ns, when);
		printf("  records 1-%" PRIu64 " were removed by retention at %s "
		       "(signed cut)\n", vs->cut, when);
	}
	if (vs->tree.size > last->size)
		printf("  records %" PRIu64 "-%" PRIu64 " are newer than the last "
		       "checkpoint: checked against their leaf hashes only\n",
		       last->size + 1, vs->tree.size);
	if (vs->since != NULL)
		printf("  extends the exported checkpoint of %" PRIu64 " records%s\n",
		       vs->since->tree_size, vs->since->tree_size <= vs->cut ?
		       " (found on the chain; its records were removed by retention)" : "");
}

static int verify_store(struct verify_state *vs, const unsigned char *public_key)
{
	int rc;

	if ((rc = start_tree(vs, public_key)) < 0)
		return rc;
	if (vs->since != NULL && vs->since->tree_size <= vs->cut &&
	    (rc = check_since_on_chain(vs)) < 0)
		return rc;
	if ((rc = verify_records(vs)) < 0 || (rc = check_nothing_missing(vs)) < 0)
		return rc;
	print_verified(vs);
	return 0;
}

/* ---- the verb ---- */

static int print_public_key(const struct integrity_where *where)
{
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	char text[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES], key_default[PATH_MAX + 8] = "";
	struct config *cfg = NULL;
	int rc;

	if (where->key_path == NULL) {
		rc = cli_config_for_settings(where->config_path, &cfg);
		if (rc != CLI_EXIT_OK)
			return rc;
		snprintf(key_default, sizeof(key_default), "%s.pub", cfg->key_file);
		free(cfg);
	}
	rc = integrity_public_key("verify", where, key_default, public_key);
	if (rc != CLI_EXIT_OK)
		return rc;
	checkpoint_public_key_to_text(public_key, text);
	printf("%s\n", text);
	return CLI_EXIT_OK;
}

/* What verify is asked to check. */
struct verify_request {
	struct integrity_where where;
	const char *since_path, *proof_path, *export_path;
	int want_public_key;
};

/* Returns 0, CLI_OPTIONS_HELP after --help, or a usage error's status. */
static int parse_options(int argc, char **argv, struct verify_request *v)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "since-checkpoint", required_argument, NULL, 's' },
		{ "public-key", no_argument, NULL, 'P' },
		{ "proof", required_argument, NULL, 'p' },
		{ "export", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': v->where.config_path = optarg; break;
		case 'd': v->where.db_path = optarg; break;
		case 'k': v->where.key_path = optarg; break;
		case 's': v->since_path = optarg; break;
		case 'P': v->want_public_key = 1; break;
		case 'p': v->proof_path = optarg; break;
		case 'e': v->export_path = optarg; break;
		case 'h': usage(stdout); return CLI_OPTIONS_HELP;
		default: return cli_bad_option("verify", opt, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
	if (v->where.config_path != NULL && v->where.db_path != NULL)
		return cli_usage_error("verify", "give --config or --db, not both");
	if ((v->proof_path != NULL) + (v->export_path != NULL) +
	    v->want_public_key > 1)
		return cli_usage_error("verify", "--public-key, --proof and --export "
				       "go one at a time");
	return 0;
}

/* --proof FILE or --export FILE, against --key alone. Exit status. */
static int verify_file(const struct verify_request *v)
{
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	int rc;

	if (v->where.key_path == NULL)
		return cli_usage_error("verify", "%s needs --key PUBFILE (the "
				       "public key you trust)", v->proof_path ?
				       "--proof" : "--export");
	rc = integrity_public_key("verify", &v->where, "", public_key);
	if (rc != CLI_EXIT_OK)
		return rc;
	return v->proof_path ? proofs_verify_inclusion_file(v->proof_path, public_key) :
		proofs_verify_export_file(v->export_path, public_key);
}

/* --since-checkpoint FILE: loaded and its signature checked. Exit status. */
static int load_since_checkpoint(const char *path, const unsigned char *public_key,
				 struct checkpoint *since)
{
	int rc = checkpoint_load_text(path, since);

	if (rc == 0)
		rc = checkpoint_verify(since, public_key);
	if (rc < 0) {
		printf("FAILED: the exported checkpoint %s does not hold: %s\n",
		       path, rc == -ENOKEY ? "signed with another key" :
		       checkpoint_strerror(rc));
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

/* The store of --db or the configuration, and its fleet records. */
static int verify_store_file(const struct verify_request *v)
{
	struct verify_state vs;
	struct checkpoint since;
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	char key_default[PATH_MAX + 8];
	int rc;

	memset(&vs, 0, sizeof(vs));
	rc = integrity_open("verify", &v->where, &vs.db, key_default);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = integrity_public_key("verify", &v->where, key_default, public_key);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (v->where.key_path == NULL)
		fprintf(stderr, "phitrail verify: using the public key beside the signing "
			"key (%s); an auditor should give a copy kept elsewhere with "
			"--key\n", key_default);
	if (v->since_path != NULL) {
		rc = load_since_checkpoint(v->since_path, public_key, &since);
		if (rc != CLI_EXIT_OK)
			goto out;
		vs.since = &since;
	}
	rc = verify_store(&vs, public_key);
	if (rc == 0)
		rc = verify_fleet(vs.db, vs.problem, sizeof(vs.problem));
	if (rc < 0) {
		printf("FAILED: %s\n", vs.problem[0] ? vs.problem : strerror(-rc));
		rc = CLI_EXIT_FAILURE;
	} else {
		rc = CLI_EXIT_OK;
	}
out:
	integrity_chain_free(&vs.chain);
	sqlite3_close(vs.db);
	return rc;
}

int cli_verify_main(int argc, char **argv)
{
	struct verify_request v = { 0 };
	int rc;

	if ((rc = parse_options(argc, argv, &v)) != 0)
		return rc == CLI_OPTIONS_HELP ? CLI_EXIT_OK : rc;
	if (checkpoint_init() < 0 || merkle_init() < 0) {
		warnx("libsodium cannot start");
		return CLI_EXIT_FAILURE;
	}
	if (v.want_public_key)
		return print_public_key(&v.where);
	if (v.proof_path != NULL || v.export_path != NULL)
		return verify_file(&v);
	return verify_store_file(&v);
}
