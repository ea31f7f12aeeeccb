/*
 * proofs.c - the proof files of phitrail, written and checked with the
 * public key alone. Both are text, one "KEY VALUE" per line, "\n" line
 * ends, keys in exactly the order below; hex is lower case when written
 * (either case read); a reader rejects a missing, unknown, repeated or
 * out-of-order line, a short or padded hex value, and anything after the
 * last line. Record ids start at 1; record id N is leaf N-1 of the tree.
 *
 * INCLUSION PROOF (`phitrail prove ID`):
 *   phitrail-proof 1
 *   record-id ID            decimal
 *   leaf-index I            decimal, ID - 1
 *   tree-size N             decimal, the signed checkpoint's size, > I
 *   record HEX              the record's exact stored msgpack bytes
 *   proof HEX               0..65 lines, 32 bytes each: PATH(I, D[N]) of
 *                           RFC 6962 2.1.1, the leaf's nearest sibling first
 *   checkpoint HEX          the signed checkpoint (checkpoint.h, 164 bytes)
 * Valid when the checkpoint's signature holds for the public key, its size
 * is N, the record's bytes decode and carry id ID, and the proof takes
 * SHA-256(0x00 || bytes) at index I to the checkpoint's root.
 *
 * EXPORT (`phitrail export`): the records of ids A..B, every one of them,
 * in order, and the proof that they are leaves A-1..B-1 of the signed tree:
 *   phitrail-export 1
 *   since-ns S              decimal: the period asked for, timestamp >= S
 *   until-ns U              decimal: and < U
 *   first-id A              decimal, >= 1
 *   last-id B               decimal, >= A
 *   checkpoint HEX          the signed checkpoint, size N >= B
 *   frontier HEX            popcount(A-1) lines: the frontier of the tree
 *                           at A-1 (merkle.h), largest subtree first
 *   record HEX              B-A+1 lines: records A..B, exact bytes
 *   consistency HEX         lines of PROOF(B, D[N]) (RFC 6962 2.1.2);
 *                           none when B = N
 *   end B-A+1               decimal, the number of record lines
 * Valid when the checkpoint holds, every record decodes with the next id
 * from A, and the frontier resumed at A-1 plus the records' leaves gives a
 * root at B that is consistent with the signed root at N. The exporter
 * takes A and B as the smallest and largest ids whose timestamp is in the
 * period; records in between whose timestamp is outside it are included
 * too (contiguity is what the proof shows). What the proof cannot show:
 * that no record outside A..B has a timestamp in the period (timestamps are
 * when the access happened, ids the order records arrived).
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrity.h"
#include "output.h"
#include "proofs.h"
#include "record.h"
#include "store_schema.h"

#define HASH_HEX INTEGRITY_HEX(MERKLE_HASH_BYTES)

void proofs_write_hex_line(FILE *out, const char *key, const void *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = bytes;
	size_t i;

	fputs(key, out);
	fputc(' ', out);
	for (i = 0; i < len; i++) {
		fputc(digits[p[i] >> 4], out);
		fputc(digits[p[i] & 15], out);
	}
	fputc('\n', out);
}

void proofs_write_inclusion(FILE *out, int64_t id, const void *bytes, size_t len,
			    const merkle_hash *proof, size_t proof_len,
			    const struct checkpoint *cp)
{
	unsigned char cp_bytes[CHECKPOINT_BYTES];
	size_t i;

	checkpoint_encode(cp, cp_bytes);
	fprintf(out, "%s\nrecord-id %" PRId64 "\nleaf-index %" PRId64 "\ntree-size %"
		PRIu64 "\n", PROOF_MAGIC, id, id - 1, cp->tree_size);
	proofs_write_hex_line(out, "record", bytes, len);
	for (i = 0; i < proof_len; i++)
		proofs_write_hex_line(out, "proof", proof[i], MERKLE_HASH_BYTES);
	proofs_write_hex_line(out, "checkpoint", cp_bytes, sizeof(cp_bytes));
}

/* ---- reading ---- */

struct reader {
	FILE *in;
	const char *path;
	char *line;
	size_t cap;
	char *key, *value;
	size_t value_len;
	unsigned long number;                  /* line number, for messages */
	int have;                              /* a line is read and not taken */
	int eof;
	char problem[256];
};

/* Reads the next line into key/value: 1, 0 at the end, -EINVAL. */
static int next_line(struct reader *rd)
{
	ssize_t n;
	char *space;

	if (rd->have)
		return 1;
	if (rd->eof)
		return 0;
	n = getline(&rd->line, &rd->cap, rd->in);
	if (n < 0) {
		rd->eof = 1;
		return 0;
	}
	rd->number++;
	if (n == 0 || rd->line[n - 1] != '\n') {
		snprintf(rd->problem, sizeof(rd->problem), "line %lu does not end", rd->number);
		return -EINVAL;
	}
	rd->line[--n] = '\0';
	rd->key = rd->line;
	space = strchr(rd->line, ' ');
	if (space == NULL) {
		rd->value = rd->line + n;
		rd->value_len = 0;
	} else {
		*space = '\0';
		rd->value = space + 1;
		rd->value_len = (size_t)(rd->line + n - rd->value);
	}
	rd->have = 1;
	return 1;
}

/* Takes a line with this key: 1 taken, 0 another key (or the end), <0. */
static int take(struct reader *rd, const char *key)
{
	int rc = next_line(rd);

	if (rc <= 0)
		return rc;
	if (strcmp(rd->key, key) != 0)
		return 0;
	rd->have = 0;
	return 1;
}

static int need(struct reader *rd, const char *key)
{
	int rc = take(rd, key);

	if (rc == 1)
		return 0;
	if (rc == 0)
		snprintf(rd->problem, sizeof(rd->problem), "line %lu: expected \"%s\"",
			 rd->number + (rd->have ? 0 : 1), key);
	return -EINVAL;
}

static int need_number(struct reader *rd, const char *key, int64_t *out)
{
	char *end;
	long long v;

	if (need(rd, key) < 0)
		return -EINVAL;
	errno = 0;
	v = strtoll(rd->value, &end, 10);
	if (errno != 0 || end == rd->value || *end != '\0' || rd->value[0] == '-' ||
	    rd->value[0] == '+') {
		snprintf(rd->problem, sizeof(rd->problem), "line %lu: %s is not a number",
			 rd->number, key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int value_hex(struct reader *rd, unsigned char *out, size_t len)
{
	if (integrity_unhex(rd->value, rd->value_len, out, len) < 0) {
		snprintf(rd->problem, sizeof(rd->problem), "line %lu: %s is not %zu bytes "
			 "of hex", rd->number, rd->key, len);
		return -EINVAL;
	}
	return 0;
}

/* A variable-length hex value: malloc'd into *out. */
static int value_hex_any(struct reader *rd, unsigned char **out, size_t *len)
{
	if (rd->value_len % 2 != 0 || rd->value_len / 2 > RECORD_MAX_BYTES ||
	    rd->value_len == 0) {
		snprintf(rd->problem, sizeof(rd->problem), "line %lu: %s is not a record's "
			 "hex", rd->number, rd->key);
		return -EINVAL;
	}
	*len = rd->value_len / 2;
	*out = malloc(*len);
	if (*out == NULL)
		return -ENOMEM;
	if (value_hex(rd, *out, *len) < 0) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

static int need_checkpoint(struct reader *rd, const unsigned char *public_key,
			   struct checkpoint *cp)
{
	unsigned char bytes[CHECKPOINT_BYTES];
	int rc;

	if (need(rd, "checkpoint") < 0 || value_hex(rd, bytes, sizeof(bytes)) < 0)
		return -EINVAL;
	rc = checkpoint_decode(bytes, sizeof(bytes), cp);
	if (rc == 0)
		rc = checkpoint_verify(cp, public_key);
	if (rc < 0) {
		snprintf(rd->problem, sizeof(rd->problem), "the checkpoint does not hold: %s",
			 rc == -ENOKEY ? "signed with another key (not the public key "
			 "given)" : checkpoint_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

static int need_end_of_file(struct reader *rd)
{
	if (next_line(rd) != 0 || getc(rd->in) != EOF) {
		snprintf(rd->problem, sizeof(rd->problem), "line %lu: unexpected text after "
			 "the end", rd->number);
		return -EINVAL;
	}
	return 0;
}

static int reader_open(struct reader *rd, const char *path)
{
	memset(rd, 0, sizeof(*rd));
	rd->path = path;
	rd->in = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (rd->in == NULL) {
		warn("cannot read %s", path);
		return -errno;
	}
	return 0;
}

static void reader_close(struct reader *rd)
{
	if (rd->in != NULL && rd->in != stdin)
		fclose(rd->in);
	free(rd->line);
}

/* Whether the line just read is "KEY VERSION" of magic. */
static int is_magic(const struct reader *rd, const char *magic)
{
	size_t key_len = strlen(rd->key);

	return strncmp(magic, rd->key, key_len) == 0 && magic[key_len] == ' ' &&
	       strcmp(magic + key_len + 1, rd->value) == 0;
}

/* A short description of a record for "ok" lines. */
static void describe(const struct record *r, char *out, size_t size)
{
	char when[48];

	integrity_time_text((uint64_t)store_schema_ns(r->timestamp_sec, r->timestamp_nsec),
			    when);
	char *actor = cli_printable_dup(r->actor_user_id ? r->actor_user_id : "-");
	char *patient = cli_printable_dup(r->end_user_id ? r->end_user_id : "-");

	/* Ids are the user's bytes: never a control character on the terminal. */
	snprintf(out, size, "%s, %s, actor %s, patient %s", event_type_name(r->event_type)
		 ? event_type_name(r->event_type) : "?", when, actor ? actor : "?",
		 patient ? patient : "?");
	free(actor);
	free(patient);
}

/* The first line of a proof file: 0, or -1 with rd->problem set. */
static int need_magic(struct reader *rd, const char *magic, const char *what)
{
	if (next_line(rd) != 1 || !is_magic(rd, magic)) {
		snprintf(rd->problem, sizeof(rd->problem), "not a phitrail %s (the "
			 "first line must be \"%s\")", what, magic);
		return -1;
	}
	rd->have = 0;
	return 0;
}

int proofs_verify_inclusion_file(const char *path,
				 const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	struct reader rd;
	struct checkpoint cp;
	struct record r;
	merkle_hash proof[MERKLE_MAX_PROOF], leaf;
	unsigned char *bytes = NULL;
	char *arena = NULL, when[48], what[512];
	const char *why = NULL;
	int64_t id, index, size;
	size_t proof_len = 0, len = 0;
	int rc, status = 1;

	if (reader_open(&rd, path) < 0)
		return 1;
	arena = malloc(RECORD_ARENA_BYTES);
	if (arena == NULL)
		goto out;
	if (need_magic(&rd, PROOF_MAGIC, "proof") < 0)
		goto bad;
	if (need_number(&rd, "record-id", &id) < 0 ||
	    need_number(&rd, "leaf-index", &index) < 0 ||
	    need_number(&rd, "tree-size", &size) < 0 ||
	    need(&rd, "record") < 0 || value_hex_any(&rd, &bytes, &len) < 0)
		goto bad;
	while ((rc = take(&rd, "proof")) == 1) {
		if (proof_len == MERKLE_MAX_PROOF) {
			snprintf(rd.problem, sizeof(rd.problem), "too many proof lines");
			goto bad;
		}
		if (value_hex(&rd, proof[proof_len++], MERKLE_HASH_BYTES) < 0)
			goto bad;
	}
	if (rc < 0 || need_checkpoint(&rd, public_key, &cp) < 0 || need_end_of_file(&rd) < 0)
		goto bad;
	if (id < 1 || index != id - 1 || (uint64_t)size != cp.tree_size) {
		snprintf(rd.problem, sizeof(rd.problem), "the record id, leaf index and "
			 "tree size do not agree with each other or the checkpoint");
		goto bad;
	}
	if (record_decode(bytes, len, &r, arena, RECORD_ARENA_BYTES, &why) < 0 ||
	    r.id != id) {
		snprintf(rd.problem, sizeof(rd.problem), "the record's bytes %s",
			 why ? why : "carry another id");
		goto bad;
	}
	merkle_leaf_hash(bytes, len, leaf);
	rc = merkle_inclusion_verify((uint64_t)index, (uint64_t)size, leaf,
				     (const merkle_hash *)proof, proof_len, cp.root);
	if (rc < 0) {
		snprintf(rd.problem, sizeof(rd.problem), "record %" PRId64 " is not in the "
			 "signed tree: the proof does not lead to the signed root", id);
		goto bad;
	}
	integrity_time_text(cp.time_ns, when);
	describe(&r, what, sizeof(what));
	printf("ok: record %" PRId64 " (%s) is in the tree of %" PRId64 " records "
	       "signed at %s\n", id, what, size, when);
	status = 0;
	goto out;
bad:
	printf("FAILED: %s: %s\n", path, rd.problem[0] ? rd.problem : "unreadable");
out:
	free(bytes);
	free(arena);
	reader_close(&rd);
	return status;
}

/* An export as it is read: its head, then the tree its records make. */
struct export_reading {
	int64_t since, until, first, last;
	struct checkpoint cp;
	struct merkle_builder tree;
	int64_t in_period;                 /* records with a timestamp in it */
};

/* The lines up to the checkpoint, and whether the ids fit it. */
static int read_export_head(struct reader *rd, const unsigned char *public_key,
			    struct export_reading *x)
{
	if (need_number(rd, "since-ns", &x->since) < 0 ||
	    need_number(rd, "until-ns", &x->until) < 0 ||
	    need_number(rd, "first-id", &x->first) < 0 ||
	    need_number(rd, "last-id", &x->last) < 0 ||
	    need_checkpoint(rd, public_key, &x->cp) < 0)
		return -1;
	if (x->first < 1 || x->last < x->first ||
	    (uint64_t)x->last > x->cp.tree_size) {
		snprintf(rd->problem, sizeof(rd->problem), "first-id and last-id do "
			 "not fit the checkpoint's %" PRIu64 " records",
			 x->cp.tree_size);
		return -1;
	}
	return 0;
}

/* The frontier lines: the tree resumed at first-1. */
static int read_frontier(struct reader *rd, struct export_reading *x)
{
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	size_t frontier_len = 0;
	int rc;

	while ((rc = take(rd, "frontier")) == 1) {
		if (frontier_len == MERKLE_MAX_DEPTH ||
		    value_hex(rd, frontier[frontier_len++], MERKLE_HASH_BYTES) < 0)
			return -1;
	}
	if (rc < 0 || merkle_builder_resume(&x->tree, (uint64_t)x->first - 1,
					    (const merkle_hash *)frontier,
					    frontier_len) < 0) {
		if (rd->problem[0] == '\0')
			snprintf(rd->problem, sizeof(rd->problem), "the frontier does "
				 "not fit record %" PRId64, x->first);
		return -1;
	}
	return 0;
}

/* The record lines: each the next id, each a leaf of the tree. */
static int read_export_records(struct reader *rd, struct export_reading *x,
			       char *arena)
{
	struct record r;
	merkle_hash leaf;
	const char *why = NULL;
	int64_t expected = x->first, ts;
	int rc;

	while ((rc = take(rd, "record")) == 1) {
		unsigned char *bytes = NULL;
		size_t len = 0;

		if (value_hex_any(rd, &bytes, &len) < 0)
			return -1;
		if (record_decode(bytes, len, &r, arena, RECORD_ARENA_BYTES, &why) < 0 ||
		    r.id != expected || expected > x->last) {
			snprintf(rd->problem, sizeof(rd->problem), "line %lu: not record %"
				 PRId64 " (%s)", rd->number, expected,
				 why ? why : "another id, or one too many");
			free(bytes);
			return -1;
		}
		ts = store_schema_ns(r.timestamp_sec, r.timestamp_nsec);
		x->in_period += ts >= x->since && ts < x->until;
		merkle_leaf_hash(bytes, len, leaf);
		free(bytes);
		(void)merkle_builder_append(&x->tree, leaf);
		expected++;
	}
	if (rc < 0)
		return -1;
	if (expected != x->last + 1) {
		snprintf(rd->problem, sizeof(rd->problem), "records %" PRId64 "-%" PRId64
			 " are missing from the export", expected, x->last);
		return -1;
	}
	return 0;
}

/* The consistency lines and the end line; the tree must lead to the signed root. */
static int read_export_end(struct reader *rd, struct export_reading *x)
{
	merkle_hash proof[MERKLE_MAX_PROOF], root;
	size_t proof_len = 0;
	int64_t end_count;
	int rc;

	while ((rc = take(rd, "consistency")) == 1) {
		if (proof_len == MERKLE_MAX_PROOF ||
		    value_hex(rd, proof[proof_len++], MERKLE_HASH_BYTES) < 0)
			return -1;
	}
	if (rc < 0 || need_number(rd, "end", &end_count) < 0 || need_end_of_file(rd) < 0)
		return -1;
	if (end_count != x->last - x->first + 1) {
		snprintf(rd->problem, sizeof(rd->problem), "the end line counts %" PRId64
			 " records, the export holds %" PRId64, end_count,
			 x->last - x->first + 1);
		return -1;
	}
	merkle_builder_root(&x->tree, root);
	if (merkle_consistency_verify((uint64_t)x->last, x->cp.tree_size, root,
				      x->cp.root, (const merkle_hash *)proof,
				      proof_len) < 0) {
		snprintf(rd->problem, sizeof(rd->problem), "records %" PRId64 "-%" PRId64
			 " are not the signed records: the tree they make does not lead "
			 "to the signed root (one was changed, removed, added or moved)",
			 x->first, x->last);
		return -1;
	}
	return 0;
}

int proofs_verify_export_file(const char *path,
			      const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	struct reader rd;
	struct export_reading x = { 0 };
	char *arena = NULL, when[48], since_text[48], until_text[48];
	int status = 1;

	if (reader_open(&rd, path) < 0)
		return 1;
	arena = malloc(RECORD_ARENA_BYTES);
	if (arena == NULL)
		goto out;
	if (need_magic(&rd, EXPORT_MAGIC, "export") < 0 ||
	    read_export_head(&rd, public_key, &x) < 0 ||
	    read_frontier(&rd, &x) < 0 ||
	    read_export_records(&rd, &x, arena) < 0 ||
	    read_export_end(&rd, &x) < 0) {
		printf("FAILED: %s: %s\n", path, rd.problem[0] ? rd.problem :
		       "unreadable");
		goto out;
	}
	integrity_time_text(x.cp.time_ns, when);
	integrity_time_text((uint64_t)x.since, since_text);
	integrity_time_text((uint64_t)x.until, until_text);
	printf("ok: records %" PRId64 "-%" PRId64 " (%" PRId64 " in the period %s to %s) "
	       "are complete and unchanged in the tree of %" PRIu64 " records signed "
	       "at %s\n", x.first, x.last, x.in_period, since_text, until_text,
	       x.cp.tree_size, when);
	status = 0;
out:
	free(arena);
	reader_close(&rd);
	return status;
}
