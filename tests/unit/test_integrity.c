/*
 * test_integrity.c - the pure parts of tamper evidence: the record-to-row
 * mapping both the store and verify use (store_schema.c), the store's
 * Merkle tree kept in step with commits and rollbacks (store.c), and the
 * inclusion proof file written and checked (tools/proofs.c) with a key
 * made from a fixed seed: good, one hash changed, another key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "merkle.h"
#include "proofs.h"
#include "store.h"
#include "store_schema.h"
#include "unit.h"

static char dir[64];

static void make_record(struct record *r, int i)
{
	record_init(r);
	r->workspace_id = "ws";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_VIEWED;
	r->end_user_id = i % 2 ? "p1" : NULL;
	r->timestamp_sec = 1000 + i;
	r->timestamp_nsec = 7;
	r->target = "/srv/ehr/p1/chart";
	r->seq = i;
}

static void test_schema_values(void)
{
	struct store_value v[STORE_DERIVED_COLUMN_COUNT];
	struct record r;

	make_record(&r, 2);
	r.id = 42;
	store_schema_values(&r, v);
	CHECK_STR(store_derived_column_names[0], "id");
	CHECK(v[0].kind == STORE_VALUE_INT && v[0].number == 42);
	CHECK(v[1].kind == STORE_VALUE_INT && v[1].number == 1002000000007LL);
	CHECK(v[2].kind == STORE_VALUE_NULL);          /* no received_at yet */
	CHECK(v[5].kind == STORE_VALUE_TEXT && strcmp(v[5].text, "PHI File Viewed") == 0);
	CHECK(v[6].kind == STORE_VALUE_NULL);          /* nil patient */
	CHECK(v[8].kind == STORE_VALUE_NULL);          /* pid absent */
	CHECK_STR(store_derived_column_names[12], "target");
	CHECK(v[12].kind == STORE_VALUE_TEXT && strcmp(v[12].text, r.target) == 0);
	CHECK(v[16].kind == STORE_VALUE_INT && v[16].number == 2);
	CHECK_INT(store_schema_ns(INT64_MAX / 2, 0), INT64_MAX);   /* saturates */
	CHECK_INT(store_schema_ns(-(INT64_MAX / 2), 0), INT64_MIN + 1);
}

/* The root of leaves of records whose bytes the store encoded: recompute
 * from the stored rows through a query. */
static int collect(void *context, const void *bytes, size_t len)
{
	struct merkle_builder *b = context;
	merkle_hash leaf;

	merkle_leaf_hash(bytes, len, leaf);
	return merkle_builder_append(b, leaf);
}

static void root_of_store(struct store *st, merkle_hash out)
{
	struct query_request q;
	struct merkle_builder b;
	const char *why;
	int64_t count;

	memset(&q, 0, sizeof(q));
	q.op = QUERY_OP_QUERY;
	q.since_ns = q.until_ns = q.after_id = q.pid = QUERY_ABSENT;
	merkle_builder_init(&b);
	CHECK_INT(store_query(st, &q, collect, &b, &count, &why), 0);
	merkle_builder_root(&b, out);
}

static void test_tree_in_step(void)
{
	char path[128];
	struct store *st = NULL;
	struct record r;
	merkle_hash want, got;
	const char *why;
	int i;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	CHECK_INT(store_open(&st, path, CONFIG_FLUSH_BATCH, &why), 0);
	if (st == NULL)
		return;
	for (i = 0; i < 3; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	CHECK_INT(store_tree_committed(st)->size, 0);  /* nothing committed yet */
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_tree_committed(st)->size, 3);
	root_of_store(st, want);
	merkle_builder_root(store_tree_committed(st), got);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	for (i = 3; i < 5; i++) {
		make_record(&r, i);
		CHECK_INT(store_append(st, &r), 0);
	}
	store_rollback(st);
	CHECK_INT(store_tree_committed(st)->size, 3);
	make_record(&r, 9);
	CHECK_INT(store_append(st, &r), 0);
	CHECK_INT(r.id, 4);                            /* ids given back */
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(store_tree_committed(st)->size, 4);
	root_of_store(st, want);
	merkle_builder_root(store_tree_committed(st), got);
	CHECK(memcmp(want, got, sizeof(got)) == 0);
	store_close(st);
}

static int verify_proof_text(const char *text, const unsigned char *pk)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/proof", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	rc = proofs_verify_inclusion_file(path, pk);
	return rc;
}

static void test_proof_file(void)
{
	unsigned char seed[32] = { 1, 2, 3 }, bytes[RECORD_MAX_BYTES], other[32] = { 9 };
	struct checkpoint_key key, key2;
	struct checkpoint cp = { 0 };
	struct merkle_builder b;
	merkle_hash leaves[5], proof[MERKLE_MAX_PROOF];
	struct record r;
	char *text = NULL;
	size_t size = 0, proof_len = 0;
	long len = 0, lens[5];
	unsigned char all[5][512];
	FILE *mem;
	int i;

	CHECK_INT(checkpoint_key_from_seed(&key, seed), 0);
	CHECK_INT(checkpoint_key_from_seed(&key2, other), 0);
	merkle_builder_init(&b);
	for (i = 0; i < 5; i++) {
		make_record(&r, i);
		r.id = i + 1;
		lens[i] = record_encode(&r, all[i], sizeof(all[i]));
		CHECK(lens[i] > 0);
		merkle_leaf_hash(all[i], (size_t)lens[i], leaves[i]);
		merkle_builder_append(&b, leaves[i]);
	}
	cp.tree_size = 5;
	merkle_builder_root(&b, cp.root);
	cp.time_ns = 1;
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	/* PATH(2, D[5]) by hand: leaf 3, node(0,1), leaf 4. */
	memcpy(proof[0], leaves[3], 32);
	merkle_node_hash(leaves[0], leaves[1], proof[1]);
	memcpy(proof[2], leaves[4], 32);
	proof_len = 3;
	memcpy(bytes, all[2], (size_t)lens[2]);
	len = lens[2];

	mem = open_memstream(&text, &size);
	proofs_write_inclusion(mem, 3, bytes, (size_t)len, (const merkle_hash *)proof,
			       proof_len, &cp);
	fclose(mem);
	CHECK(strncmp(text, "phitrail-proof 1\nrecord-id 3\nleaf-index 2\ntree-size 5\n", 52) == 0);
	CHECK_INT(verify_proof_text(text, key.public_key), 0);
	CHECK_INT(verify_proof_text(text, key2.public_key), 1);
	{
		char *p = strstr(text, "\nproof ") + 7;

		*p = *p == '0' ? '1' : '0';
		CHECK_INT(verify_proof_text(text, key.public_key), 1);
		*p = *p == '0' ? '1' : '0';
	}
	{
		size_t n = strlen(text);
		char *longer = malloc(n + 8);

		memcpy(longer, text, n);
		memcpy(longer + n, "extra\n", 7);
		CHECK_INT(verify_proof_text(longer, key.public_key), 1);
		free(longer);
	}
	free(text);
	checkpoint_key_wipe(&key);
	checkpoint_key_wipe(&key2);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/phitrail-unit-integrity.XXXXXX");
	if (mkdtemp(dir) == NULL || merkle_init() < 0 || checkpoint_init() < 0)
		return 1;
	RUN(test_schema_values);
	RUN(test_tree_in_step);
	RUN(test_proof_file);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
