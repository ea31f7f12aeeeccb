/*
 * integrity.c - the store file as the integrity verbs read it: opened
 * read-only (SQLite mode=ro, so a verifier never changes the evidence),
 * the public key, the signed chain loaded and checked statement by
 * statement, and a Merkle source over the stored leaves for proofs.
 *
 * Owns the rules a chain must follow (see integrity.h). Must never write
 * to the store, trust a column over the signed bytes it copies, or answer
 * a proof hash below a retention cut that the cut's frontier does not give.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <sodium.h>

#include "cli.h"
#include "integrity.h"
#include "store_schema.h"
#include "timefmt.h"

int integrity_open(const char *verb, const struct integrity_where *where,
		   sqlite3 **db, char key_default[PATH_MAX + 8])
{
	struct config *cfg = NULL;
	char uri[PATH_MAX + 32];
	const char *path;
	int rc;

	*db = NULL;
	key_default[0] = '\0';
	if (where->db_path != NULL) {
		path = where->db_path;
	} else {
		rc = cli_config_for_settings(where->config_path, &cfg);
		if (rc != CLI_EXIT_OK)
			return rc;
		path = cfg->database;
		snprintf(key_default, PATH_MAX + 8, "%s.pub", cfg->key_file);
	}
	if (access(path, R_OK) < 0) {
		warn("phitrail %s: cannot read the store %s (give it with --db FILE, "
		     "or the configuration with --config FILE)", verb, path);
		free(cfg);
		return CLI_EXIT_FAILURE;
	}
	/* SQLITE_OPEN_READONLY is what the URI parameter mode=ro sets, without
	 * having to escape the path into a URI. */
	snprintf(uri, sizeof(uri), "%s", path);
	if (sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		warnx("phitrail %s: cannot open the store %s: %s", verb, path,
		      *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		free(cfg);
		return CLI_EXIT_FAILURE;
	}
	sqlite3_busy_timeout(*db, 5000);
	free(cfg);
	return CLI_EXIT_OK;
}

int integrity_public_key(const char *verb, const struct integrity_where *where,
			 const char *key_default,
			 unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	const char *path = where->key_path ? where->key_path : key_default;
	int rc;

	if (path == NULL || path[0] == '\0') {
		warnx("phitrail %s: which public key? Give it with --key FILE", verb);
		return CLI_EXIT_FAILURE;
	}
	rc = checkpoint_public_key_load(path, public_key);
	if (rc < 0) {
		warnx("phitrail %s: cannot read the public key %s: %s", verb, path,
		      rc == -EINVAL ? "not a phitrail public key (64 hex digits)" :
		      strerror(-rc));
		return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_OK;
}

static int blob_equals(sqlite3_stmt *stmt, int column, const void *bytes, size_t len)
{
	return sqlite3_column_type(stmt, column) == SQLITE_BLOB &&
	       (size_t)sqlite3_column_bytes(stmt, column) == len &&
	       memcmp(sqlite3_column_blob(stmt, column), bytes, len) == 0;
}

/* Decodes and checks one chain row into e (and cut): 0 or -EBADMSG. */
static int chain_row(sqlite3_stmt *stmt, const unsigned char *public_key,
		     struct chain_entry *e, struct checkpoint_cut *cut,
		     char *problem, size_t size)
{
	const char *kind = (const char *)sqlite3_column_text(stmt, 1);
	const void *bytes = sqlite3_column_blob(stmt, 6);
	size_t len = (size_t)sqlite3_column_bytes(stmt, 6);
	unsigned char prev[MERKLE_HASH_BYTES];
	int rc;

	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(stmt, 0);
	e->is_cut = kind != NULL && strcmp(kind, STORE_KIND_CUT) == 0;
	if (kind == NULL || (!e->is_cut && strcmp(kind, STORE_KIND_CHECKPOINT) != 0)) {
		snprintf(problem, size, "checkpoint %" PRId64 " has an unknown kind",
			 e->seq);
		return -EBADMSG;
	}
	if (e->is_cut) {
		rc = checkpoint_cut_decode(bytes, len, cut);
		if (rc == 0)
			rc = checkpoint_cut_verify(cut, public_key);
		if (rc == 0) {
			e->size = cut->cut_size;
			memcpy(e->root, cut->root, sizeof(e->root));
			e->time_ns = cut->time_ns;
			memcpy(prev, cut->prev_hash, sizeof(prev));
			(void)checkpoint_cut_hash(cut, e->hash);
		}
	} else {
		rc = checkpoint_decode(bytes, len, &e->cp);
		if (rc == 0)
			rc = checkpoint_verify(&e->cp, public_key);
		if (rc == 0) {
			e->size = e->cp.tree_size;
			memcpy(e->root, e->cp.root, sizeof(e->root));
			e->time_ns = e->cp.time_ns;
			memcpy(prev, e->cp.prev_hash, sizeof(prev));
			checkpoint_hash(&e->cp, e->hash);
		}
	}
	if (rc < 0) {
		snprintf(problem, size, "%s %" PRId64 " does not hold: %s",
			 e->is_cut ? "retention cut" : "checkpoint", e->seq,
			 rc == -ENOKEY ? "signed with another key (not the public key "
			 "given)" : checkpoint_strerror(rc));
		return -EBADMSG;
	}
	if ((uint64_t)sqlite3_column_int64(stmt, 2) != e->size ||
	    !blob_equals(stmt, 3, e->root, MERKLE_HASH_BYTES) ||
	    (uint64_t)sqlite3_column_int64(stmt, 4) != e->time_ns ||
	    !blob_equals(stmt, 5, prev, MERKLE_HASH_BYTES)) {
		snprintf(problem, size, "checkpoint %" PRId64 ": its columns no longer "
			 "say what its signed bytes say", e->seq);
		return -EBADMSG;
	}
	return 0;
}

int integrity_load_chain(sqlite3 *db, const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
			 struct chain *chain, char *problem, size_t problem_size)
{
	static const unsigned char zeros[MERKLE_HASH_BYTES];
	sqlite3_stmt *stmt = NULL;
	struct checkpoint_cut *cut = NULL;
	size_t cap = 0;
	uint64_t size_floor = 0, cut_floor = 0;
	int rc;

	memset(chain, 0, sizeof(*chain));
	problem[0] = '\0';
	cut = malloc(sizeof(*cut));
	if (cut == NULL)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db, STORE_SQL_CHAIN, -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(problem, problem_size, "the store has no checkpoints table (%s)",
			 sqlite3_errmsg(db));
		free(cut);
		return -EBADMSG;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct chain_entry *e;
		const unsigned char *prev;

		if (chain->count == cap) {
			struct chain_entry *grown;

			cap = cap ? cap * 2 : 64;
			grown = reallocarray(chain->entries, cap, sizeof(*grown));
			if (grown == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			chain->entries = grown;
		}
		e = &chain->entries[chain->count];
		if (chain_row(stmt, public_key, e, cut, problem, problem_size) < 0) {
			rc = -EBADMSG;
			goto out;
		}
		prev = e->is_cut ? cut->prev_hash : e->cp.prev_hash;
		if (chain->count == 0 ? memcmp(prev, zeros, sizeof(zeros)) != 0 :
		    memcmp(prev, chain->entries[chain->count - 1].hash,
			   MERKLE_HASH_BYTES) != 0) {
			snprintf(problem, problem_size, "checkpoint %" PRId64 " does not "
				 "follow the one signed before it (a checkpoint was "
				 "removed, replaced or reordered)", e->seq);
			rc = -EBADMSG;
			goto out;
		}
		/* Checkpoints never shrink, nor go below a cut; cuts only grow. */
		if (e->is_cut ? e->size < cut_floor : e->size < size_floor) {
			snprintf(problem, problem_size, "%s %" PRId64 " covers fewer "
				 "records than the one before it", e->is_cut ?
				 "retention cut" : "checkpoint", e->seq);
			rc = -EBADMSG;
			goto out;
		}
		if (e->is_cut)
			cut_floor = e->size;
		if (e->size > size_floor)
			size_floor = e->size;
		if (e->is_cut) {
			chain->cut = *cut;
			chain->has_cut = 1;
		}
		chain->count++;
	}
	rc = rc == SQLITE_DONE ? 0 : -EIO;
	if (rc == -EIO)
		snprintf(problem, problem_size, "%s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(stmt);
	free(cut);
	return rc;
}

void integrity_chain_free(struct chain *chain)
{
	free(chain->entries);
	memset(chain, 0, sizeof(*chain));
}

const struct chain_entry *integrity_last_checkpoint(const struct chain *chain)
{
	size_t i;

	for (i = chain->count; i > 0; i--)
		if (!chain->entries[i - 1].is_cut)
			return &chain->entries[i - 1];
	return NULL;
}

/* The newest signed checkpoint (decoded) with tree size > above (-1: any).
 * Signatures are the verifier's business, not checked here. */
static int newest_checkpoint(sqlite3 *db, int64_t above, struct checkpoint *cp)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT signed FROM checkpoints WHERE kind ="
			       " 'checkpoint' AND tree_size > ?1 ORDER BY seq DESC"
			       " LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
		return -ENOTDIR;   /* no checkpoints table: not a phitrail store */
	sqlite3_bind_int64(stmt, 1, above);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = checkpoint_decode(sqlite3_column_blob(stmt, 0),
				       (size_t)sqlite3_column_bytes(stmt, 0), cp) < 0 ?
			-EBADMSG : 0;
	else
		rc = rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(stmt);
	return rc;
}

/* The newest cut, decoded, when there is one: 1, 0 none, <0. */
static int newest_cut(sqlite3 *db, struct checkpoint_cut *cut)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT signed FROM checkpoints WHERE kind = 'cut'"
			       " ORDER BY seq DESC LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
		return -ENOTDIR;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = checkpoint_cut_decode(sqlite3_column_blob(stmt, 0),
					   (size_t)sqlite3_column_bytes(stmt, 0), cut) < 0 ?
			-EBADMSG : 1;
	else
		rc = rc == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(stmt);
	return rc;
}

int integrity_newest_signed(sqlite3 *db, int64_t above, struct checkpoint *cp,
			    struct checkpoint_cut *cut, int *has_cut)
{
	int rc;

	if (cut != NULL) {
		rc = newest_cut(db, cut);
		if (rc < 0)
			return rc;
		*has_cut = rc;
	}
	return newest_checkpoint(db, above, cp);
}

/* ---- the Merkle source ---- */

int integrity_source_init(struct integrity_source *s, sqlite3 *db,
			  const struct checkpoint_cut *cut)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->cut = cut;
	if (sqlite3_prepare_v2(db, STORE_SQL_LEAVES, -1, &s->range, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT leaf_hash FROM records WHERE id = ?1", -1,
			       &s->one, NULL) != SQLITE_OK) {
		integrity_source_fini(s);
		return -EIO;
	}
	return 0;
}

void integrity_source_fini(struct integrity_source *s)
{
	sqlite3_finalize(s->range);
	sqlite3_finalize(s->one);
	s->range = s->one = NULL;
}

static int source_leaf(void *ctx, uint64_t index, merkle_hash out)
{
	struct integrity_source *s = ctx;
	int rc;

	sqlite3_bind_int64(s->one, 1, (int64_t)index + 1);
	rc = sqlite3_step(s->one);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(s->one, 0) == MERKLE_HASH_BYTES) {
		memcpy(out, sqlite3_column_blob(s->one, 0), MERKLE_HASH_BYTES);
		rc = 0;
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_reset(s->one);
	return rc;
}

/* MTH of stored leaves start..end-1 (all above the cut), streamed. */
static int stored_range_root(struct integrity_source *s, uint64_t start, uint64_t end,
			     merkle_hash out)
{
	struct merkle_builder b;
	uint64_t want = start + 1;
	int rc;

	merkle_builder_init(&b);
	sqlite3_bind_int64(s->range, 1, (int64_t)start + 1);
	sqlite3_bind_int64(s->range, 2, (int64_t)end);
	while ((rc = sqlite3_step(s->range)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(s->range, 0) != want ||
		    sqlite3_column_bytes(s->range, 1) != MERKLE_HASH_BYTES)
			break;
		(void)merkle_builder_append(&b, sqlite3_column_blob(s->range, 1));
		want++;
	}
	sqlite3_reset(s->range);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (want != end + 1)
		return -ENOENT;
	merkle_builder_root(&b, out);
	return 0;
}

static uint64_t largest_power_below(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static int source_subtree(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct integrity_source *s = ctx;
	merkle_hash left, right;
	uint64_t c = s->cut ? s->cut->cut_size : 0, k;
	int rc;

	if (start >= c)
		return stored_range_root(s, start, end, out);
	if (end <= c) {
		/* Below the cut: only the frontier's subtrees exist. */
		uint64_t at = 0;
		size_t i = 0;
		int h;

		for (h = 63; h >= 0; h--) {
			uint64_t span;

			if (!(c & ((uint64_t)1 << h)))
				continue;
			span = (uint64_t)1 << h;
			if (at == start && at + span == end) {
				memcpy(out, s->cut->frontier[i], MERKLE_HASH_BYTES);
				return 0;
			}
			at += span;
			i++;
		}
		if (end - start == 1)
			return -ENOENT;
	}
	k = largest_power_below(end - start);
	rc = source_subtree(ctx, start, start + k, left);
	if (rc == 0)
		rc = source_subtree(ctx, start + k, end, right);
	if (rc == 0)
		merkle_node_hash(left, right, out);
	return rc;
}

struct merkle_source integrity_merkle_source(struct integrity_source *s)
{
	struct merkle_source src = {
		.leaf_hash = source_leaf,
		.subtree_root = source_subtree,
		.ctx = s,
	};

	return src;
}

void integrity_time_text(uint64_t ns, char out[48])
{
	if (cli_time_format_rfc3339((int64_t)(ns / 1000000000u),
				    (uint32_t)(ns % 1000000000u), out, 48) < 0)
		snprintf(out, 48, "%" PRIu64 "ns", ns);
}

void integrity_hex(const unsigned char *bytes, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, bytes, len);
}

int integrity_unhex(const char *text, size_t text_len, unsigned char *out, size_t len)
{
	size_t got = 0;
	const char *end = NULL;
	size_t i;

	if (text_len != 2 * len)
		return -EINVAL;
	for (i = 0; i < text_len; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f') ||
		      (text[i] >= 'A' && text[i] <= 'F')))
			return -EINVAL;
	if (sodium_hex2bin(out, len, text, text_len, NULL, &got, &end) != 0 || got != len)
		return -EINVAL;
	return 0;
}
