/*
 * test_merkle.c - the RFC 6962 tree of merkle.c against the Certificate
 * Transparency reference vectors, against a second, recursive rendering of
 * the RFC's definitions, exhaustively for every tree of up to 64 leaves
 * (every index, every old size, flipped bits), at one million leaves,
 * and at the 2^64-1 limit.
 *
 * Every bit of every proof hash is flipped for trees of up to 16 leaves and
 * one bit of every byte for larger ones; each must make the proof fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "merkle.h"
#include "unit.h"

/* ---- helpers ---------------------------------------------------------- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Test data only: aborts on a malformed literal. */
static size_t from_hex(const char *hex, unsigned char *out, size_t room)
{
	size_t n = strlen(hex) / 2, i;

	if (strlen(hex) % 2 || n > room)
		abort();
	for (i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			abort();
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return n;
}

static int same_hex(const merkle_hash h, const char *hex)
{
	merkle_hash want;

	from_hex(hex, want, sizeof(want));
	return memcmp(h, want, MERKLE_HASH_BYTES) == 0;
}

/* A source over an array of leaf hashes, counting what it is asked. */
struct array_source {
	const merkle_hash *leaves;
	uint64_t count;
	uint64_t leaf_calls;
	int fail_at;              /* leaf index that fails with -EIO, or -1 */
};

static int array_leaf(void *ctx, uint64_t index, merkle_hash out)
{
	struct array_source *a = ctx;

	if (index >= a->count)
		return -ERANGE;
	if (a->fail_at >= 0 && index == (uint64_t)a->fail_at)
		return -EIO;
	a->leaf_calls++;
	memcpy(out, a->leaves[index], MERKLE_HASH_BYTES);
	return 0;
}

static struct merkle_source source_of(struct array_source *a)
{
	return (struct merkle_source){ .leaf_hash = array_leaf, .ctx = a };
}

/* The RFC's definitions, recursively, over an array: the reference. */
static void ref_mth(const merkle_hash *d, uint64_t n, merkle_hash out)
{
	merkle_hash l, r;
	uint64_t k = 1;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], MERKLE_HASH_BYTES);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	merkle_node_hash(l, r, out);
}

static void ref_path(uint64_t m, const merkle_hash *d, uint64_t n,
		     merkle_hash *out, size_t *len)
{
	uint64_t k = 1;

	if (n == 1)
		return;
	while (k * 2 < n)
		k *= 2;
	if (m < k) {
		ref_path(m, d, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void ref_subproof(uint64_t m, const merkle_hash *d, uint64_t n, int b,
			 merkle_hash *out, size_t *len)
{
	uint64_t k = 1;

	if (m == n) {
		if (!b)
			ref_mth(d, n, out[(*len)++]);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	if (m <= k) {
		ref_subproof(m, d, k, b, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, 0, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

/* ---- the CT reference tree -------------------------------------------- */

/* Leaves of the 8-leaf test tree of the Certificate Transparency reference
 * implementation, and MTH of its first 1..8 leaves. */
static const char *const ct_leaves[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
static const char ct_empty_root[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct ct_proof {
	uint64_t a, b;            /* index and size, or old and new size */
	size_t len;
	const char *hashes[3];
};

static const struct ct_proof ct_inclusion[] = {
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 0, 1, 0, { NULL } },
};

static const struct ct_proof ct_consistency[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

static merkle_hash ct_leaf_hashes[8];

static void ct_setup(void)
{
	unsigned char bytes[16];
	size_t i, n;

	for (i = 0; i < 8; i++) {
		n = from_hex(ct_leaves[i], bytes, sizeof(bytes));
		merkle_leaf_hash(n ? bytes : NULL, n, ct_leaf_hashes[i]);
	}
}

static void test_ct_roots(void)
{
	struct merkle_builder b;
	merkle_hash root;
	size_t i;

	merkle_builder_init(&b);
	merkle_builder_root(&b, root);
	CHECK(same_hex(root, ct_empty_root));
	for (i = 0; i < 8; i++) {
		CHECK_INT(merkle_builder_append(&b, ct_leaf_hashes[i]), 0);
		merkle_builder_root(&b, root);
		CHECK(same_hex(root, ct_roots[i]));
		ref_mth(ct_leaf_hashes, i + 1, root);
		CHECK(same_hex(root, ct_roots[i]));
	}
	CHECK_INT(b.size, 8);
}

static void test_ct_inclusion(void)
{
	struct array_source a = { ct_leaf_hashes, 8, 0, -1 };
	struct merkle_source src = source_of(&a);
	merkle_hash proof[MERKLE_MAX_PROOF], root;
	size_t i, j, len;

	for (i = 0; i < sizeof(ct_inclusion) / sizeof(ct_inclusion[0]); i++) {
		const struct ct_proof *v = &ct_inclusion[i];

		a.count = v->b;
		CHECK_INT(merkle_inclusion_proof(&src, v->a, v->b, proof, &len), 0);
		CHECK_INT(len, v->len);
		for (j = 0; j < v->len && j < len; j++)
			CHECK(same_hex(proof[j], v->hashes[j]));
		from_hex(ct_roots[v->b - 1], root, sizeof(root));
		CHECK_INT(merkle_inclusion_verify(v->a, v->b, ct_leaf_hashes[v->a],
						  (const merkle_hash *)proof, len, root), 0);
	}
}

static void test_ct_consistency(void)
{
	struct array_source a = { ct_leaf_hashes, 8, 0, -1 };
	struct merkle_source src = source_of(&a);
	merkle_hash proof[MERKLE_MAX_PROOF], old_root, new_root;
	size_t i, j, len;

	for (i = 0; i < sizeof(ct_consistency) / sizeof(ct_consistency[0]); i++) {
		const struct ct_proof *v = &ct_consistency[i];

		CHECK_INT(merkle_consistency_proof(&src, v->a, v->b, proof, &len), 0);
		CHECK_INT(len, v->len);
		for (j = 0; j < v->len && j < len; j++)
			CHECK(same_hex(proof[j], v->hashes[j]));
		from_hex(ct_roots[v->a - 1], old_root, sizeof(old_root));
		from_hex(ct_roots[v->b - 1], new_root, sizeof(new_root));
		CHECK_INT(merkle_consistency_verify(v->a, v->b, old_root, new_root,
						    (const merkle_hash *)proof, len), 0);
		/* the roots swapped never verify */
		if (v->a != v->b)
			CHECK_INT(merkle_consistency_verify(v->a, v->b, new_root, old_root,
							    (const merkle_hash *)proof, len), -EBADMSG);
	}
}

/* ---- exhaustive small trees ------------------------------------------- */

#define SMALL_MAX 64
#define HASH_BITS ((size_t)8 * MERKLE_HASH_BYTES)
#define ALL_BITS_MAX 16     /* trees this small: every bit of every hash flipped */

/* The next bit to flip: all 256 in small trees, in larger ones one bit of
 * every byte (a different bit in each), to keep the test within seconds. */
static size_t next_bit(uint64_t n, size_t bit)
{
	if (n <= ALL_BITS_MAX)
		return bit + 1;
	return (bit / 8 + 1) * 8 + (bit / 8 + 1) % 8;
}

static merkle_hash small_leaves[SMALL_MAX];

static void small_setup(void)
{
	unsigned char bytes[4];
	size_t i;

	for (i = 0; i < SMALL_MAX; i++) {
		memcpy(bytes, &(uint32_t){(uint32_t)i * 2654435761u}, 4);
		merkle_leaf_hash(bytes, sizeof(bytes), small_leaves[i]);
	}
}

/* Every single-bit change of every proof hash must be refused. */
static int inclusion_bitflips_refused(uint64_t index, uint64_t size,
				      merkle_hash *proof, size_t len,
				      const merkle_hash root)
{
	size_t i, bit;
	int bad = 0;

	for (i = 0; i < len; i++) {
		for (bit = 0; bit < HASH_BITS; bit = next_bit(size, bit)) {
			proof[i][bit / 8] ^= (unsigned char)(1u << bit % 8);
			if (merkle_inclusion_verify(index, size, small_leaves[index],
						    (const merkle_hash *)proof, len,
						    root) != -EBADMSG)
				bad++;
			proof[i][bit / 8] ^= (unsigned char)(1u << bit % 8);
		}
	}
	return bad;
}

static void test_inclusion_exhaustive(void)
{
	struct array_source a = { small_leaves, 0, 0, -1 };
	struct merkle_source src = source_of(&a);
	merkle_hash proof[MERKLE_MAX_PROOF + 1], ref[MERKLE_MAX_PROOF], root, other;
	uint64_t n, m;
	size_t len, ref_len;
	int bad_flips = 0;

	for (n = 1; n <= SMALL_MAX; n++) {
		a.count = n;
		ref_mth(small_leaves, n, root);
		for (m = 0; m < n; m++) {
			CHECK_INT(merkle_inclusion_proof(&src, m, n, proof, &len), 0);
			ref_len = 0;
			ref_path(m, small_leaves, n, ref, &ref_len);
			CHECK_INT(len, ref_len);
			CHECK(memcmp(proof, ref, len * MERKLE_HASH_BYTES) == 0);
			CHECK_INT(merkle_inclusion_verify(m, n, small_leaves[m],
				(const merkle_hash *)proof, len, root), 0);
			bad_flips += inclusion_bitflips_refused(m, n, proof, len, root);
			/* another leaf, index or root; a proof one short or long.
			 * (A proof does not bind the tree size: trees of sizes
			 * with the same shape above the leaf verify alike. The
			 * size is bound by the signed checkpoint that holds the
			 * root, so no size probe here.) */
			CHECK_INT(merkle_inclusion_verify(m, n, small_leaves[(m + 1) % SMALL_MAX],
				(const merkle_hash *)proof, len, root), -EBADMSG);
			if (n > 1)
				CHECK_INT(merkle_inclusion_verify((m + 1) % n, n, small_leaves[m],
					(const merkle_hash *)proof, len, root), -EBADMSG);
			/* ... except where the proof ends below the top: for a
			 * perfect tree of n, the same path in a tree of 2n ends at
			 * the left subtree's root, which must not be taken for the
			 * root of the tree of 2n. */
			if ((n & (n - 1)) == 0)
				CHECK_INT(merkle_inclusion_verify(m, 2 * n, small_leaves[m],
					(const merkle_hash *)proof, len, root), -EBADMSG);
			memcpy(other, root, sizeof(other));
			other[31] ^= 1;
			CHECK_INT(merkle_inclusion_verify(m, n, small_leaves[m],
				(const merkle_hash *)proof, len, other), -EBADMSG);
			if (len > 0)
				CHECK_INT(merkle_inclusion_verify(m, n, small_leaves[m],
					(const merkle_hash *)proof, len - 1, root), -EBADMSG);
			memcpy(proof[len], root, MERKLE_HASH_BYTES);
			CHECK_INT(merkle_inclusion_verify(m, n, small_leaves[m],
				(const merkle_hash *)proof, len + 1, root), -EBADMSG);
		}
		CHECK_INT(merkle_inclusion_proof(&src, n, n, proof, &len), -EINVAL);
		CHECK_INT(merkle_inclusion_verify(n, n, small_leaves[0],
			(const merkle_hash *)proof, 0, root), -EINVAL);
	}
	CHECK_INT(bad_flips, 0);
}

static void test_consistency_exhaustive(void)
{
	struct array_source a = { small_leaves, SMALL_MAX, 0, -1 };
	struct merkle_source src = source_of(&a);
	merkle_hash proof[MERKLE_MAX_PROOF + 1], ref[MERKLE_MAX_PROOF];
	merkle_hash old_root, new_root, other;
	uint64_t n, m;
	size_t len, ref_len, i, bit;
	int bad_flips = 0;

	for (n = 0; n <= SMALL_MAX; n++) {
		ref_mth(small_leaves, n, new_root);
		for (m = 0; m <= n; m++) {
			ref_mth(small_leaves, m, old_root);
			CHECK_INT(merkle_consistency_proof(&src, m, n, proof, &len), 0);
			ref_len = 0;
			if (m > 0 && m < n)
				ref_subproof(m, small_leaves, n, 1, ref, &ref_len);
			CHECK_INT(len, ref_len);
			CHECK(memcmp(proof, ref, len * MERKLE_HASH_BYTES) == 0);
			CHECK_INT(merkle_consistency_verify(m, n, old_root, new_root,
				(const merkle_hash *)proof, len), 0);
			for (i = 0; i < len; i++) {
				for (bit = 0; bit < HASH_BITS; bit = next_bit(n, bit)) {
					proof[i][bit / 8] ^= (unsigned char)(1u << bit % 8);
					if (merkle_consistency_verify(m, n, old_root, new_root,
						(const merkle_hash *)proof, len) != -EBADMSG)
						bad_flips++;
					proof[i][bit / 8] ^= (unsigned char)(1u << bit % 8);
				}
			}
			/* any other root, a wrong old size, one hash short or long */
			memcpy(other, old_root, sizeof(other));
			other[0] ^= 0x80;
			CHECK_INT(merkle_consistency_verify(m, n, other, new_root,
				(const merkle_hash *)proof, len), -EBADMSG);
			memcpy(other, new_root, sizeof(other));
			other[0] ^= 0x80;
			/* (an empty old tree is consistent with every new root) */
			CHECK_INT(merkle_consistency_verify(m, n, old_root, other,
				(const merkle_hash *)proof, len), m == 0 && n > 0 ? 0 : -EBADMSG);
			if (m > 0 && m < n) {
				CHECK(merkle_consistency_verify(m - 1, n, old_root, new_root,
					(const merkle_hash *)proof, len) < 0);
				CHECK(merkle_consistency_verify(m + 1, n, old_root, new_root,
					(const merkle_hash *)proof, len) < 0);
				CHECK_INT(merkle_consistency_verify(m, n, old_root, new_root,
					(const merkle_hash *)proof, len - 1), -EBADMSG);
			}
			memcpy(proof[len], new_root, MERKLE_HASH_BYTES);
			CHECK_INT(merkle_consistency_verify(m, n, old_root, new_root,
				(const merkle_hash *)proof, len + 1), -EBADMSG);
		}
		CHECK_INT(merkle_consistency_proof(&src, n + 1, n, proof, &len), -EINVAL);
		CHECK_INT(merkle_consistency_verify(n + 1, n, new_root, new_root,
			(const merkle_hash *)proof, 0), -EINVAL);
	}
	CHECK_INT(bad_flips, 0);
}

/* Trees of equal size: equal roots and no proof; the empty old tree: its
 * root must be the empty root. */
static void test_consistency_trivial(void)
{
	merkle_hash empty, some, proof[1];

	merkle_empty_root(empty);
	memcpy(some, small_leaves[3], sizeof(some));
	memcpy(proof[0], empty, sizeof(empty));
	CHECK_INT(merkle_consistency_verify(0, 0, empty, empty, NULL, 0), 0);
	CHECK_INT(merkle_consistency_verify(0, 0, empty, some, NULL, 0), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(0, 5, empty, some, NULL, 0), 0);
	CHECK_INT(merkle_consistency_verify(0, 5, some, some, NULL, 0), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(0, 5, empty, some,
		(const merkle_hash *)proof, 1), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(7, 7, some, some, NULL, 0), 0);
	CHECK_INT(merkle_consistency_verify(7, 7, some, some,
		(const merkle_hash *)proof, 1), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(7, 7, some, empty, NULL, 0), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(1, 2, some, some, NULL, 0), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(3, 5, some, some, NULL, 0), -EBADMSG);
	CHECK_INT(merkle_consistency_verify(3, 5, some, some,
		(const merkle_hash *)proof, 0), -EBADMSG);
}

/* The builder agrees with the reference at every size, and a builder
 * resumed from the frontier at any cut reaches the same roots. */
static void test_builder_and_resume(void)
{
	struct array_source a = { small_leaves, SMALL_MAX, 0, -1 };
	struct merkle_source src = source_of(&a);
	struct merkle_builder full, resumed;
	merkle_hash frontier[MERKLE_MAX_DEPTH], frontier2[MERKLE_MAX_DEPTH];
	merkle_hash got, want;
	uint64_t cut, n;
	size_t count, count2;

	merkle_builder_init(&full);
	for (cut = 0; cut <= SMALL_MAX; cut++) {
		merkle_builder_root(&full, got);
		ref_mth(small_leaves, cut, want);
		CHECK(memcmp(got, want, sizeof(got)) == 0);

		count = merkle_builder_frontier(&full, frontier);
		CHECK_INT(count, __builtin_popcountll(cut));
		CHECK_INT(merkle_frontier(&src, cut, frontier2, &count2), 0);
		CHECK_INT(count2, count);
		CHECK(memcmp(frontier, frontier2, count * MERKLE_HASH_BYTES) == 0);

		CHECK_INT(merkle_builder_resume(&resumed, cut,
			(const merkle_hash *)frontier, count), 0);
		for (n = cut; n < SMALL_MAX; n++)
			CHECK_INT(merkle_builder_append(&resumed, small_leaves[n]), 0);
		merkle_builder_root(&resumed, got);
		ref_mth(small_leaves, SMALL_MAX, want);
		CHECK(memcmp(got, want, sizeof(got)) == 0);
		if (count > 0)
			CHECK_INT(merkle_builder_resume(&resumed, cut,
				(const merkle_hash *)frontier, count - 1), -EINVAL);
		CHECK_INT(merkle_builder_resume(&resumed, cut,
			(const merkle_hash *)frontier, count + 1), -EINVAL);

		if (cut < SMALL_MAX)
			CHECK_INT(merkle_builder_append(&full, small_leaves[cut]), 0);
	}
}

/* A failing source: its error comes back, nothing is claimed. */
static void test_source_errors(void)
{
	struct array_source a = { small_leaves, 20, 0, 7 };
	struct merkle_source src = source_of(&a);
	struct merkle_source none = { NULL, NULL, NULL };
	merkle_hash proof[MERKLE_MAX_PROOF], root, frontier[MERKLE_MAX_DEPTH];
	size_t len = 99, count;

	CHECK_INT(merkle_inclusion_proof(&src, 0, 20, proof, &len), -EIO);
	CHECK_INT(merkle_consistency_proof(&src, 3, 20, proof, &len), -EIO);
	CHECK_INT(merkle_frontier(&src, 20, frontier, &count), -EIO);
	CHECK_INT(merkle_subtree_root(&src, 5, 5, root), -EINVAL);
	CHECK_INT(merkle_subtree_root(&none, 0, 1, root), -EINVAL);
	a.fail_at = -1;
	CHECK_INT(merkle_subtree_root(&src, 8, 16, root), 0);
	ref_mth(small_leaves + 8, 8, proof[0]);
	CHECK(memcmp(root, proof[0], sizeof(root)) == 0);
}

/* ---- one million leaves ----------------------------------------------- */

#define MILLION 1000000u
#define MILLION_LEVELS 21         /* 2^20 > 10^6 */

/* A source that keeps every level of the tree, as a store that caches
 * subtree roots would: perfect aligned subtrees are one lookup, the right
 * edge of a tree is folded from them. */
struct level_source {
	merkle_hash *level[MILLION_LEVELS];
	uint64_t width[MILLION_LEVELS];
	uint64_t calls;
};

static int level_subtree(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct level_source *ls = ctx;
	uint64_t n = end - start, k;
	merkle_hash left, right;
	int h, rc;

	ls->calls++;
	if ((n & (n - 1)) == 0 && start % n == 0) {
		h = __builtin_ctzll(n);
		if (h >= MILLION_LEVELS || (start >> h) >= ls->width[h])
			return -ERANGE;
		memcpy(out, ls->level[h][start >> h], MERKLE_HASH_BYTES);
		return 0;
	}
	k = (uint64_t)1 << (63 - __builtin_clzll(n - 1));
	if ((rc = level_subtree(ctx, start, start + k, left)) < 0 ||
	    (rc = level_subtree(ctx, start + k, end, right)) < 0)
		return rc;
	ls->calls -= 2;           /* count only the calls merkle.c makes */
	merkle_node_hash(left, right, out);
	return 0;
}

static void test_million(void)
{
	struct level_source ls = { { NULL }, { 0 }, 0 };
	struct array_source a;
	struct merkle_source leaf_src, level_src = { NULL, level_subtree, &ls };
	struct merkle_builder b, at_half;
	merkle_hash proof[MERKLE_MAX_PROOF], root, half_root, level_root;
	static const uint64_t indexes[] = { 0, 1, 524287, 524288, MILLION - 2, MILLION - 1 };
	static const uint64_t old_sizes[] = { 1, 3, 524288, 524289, MILLION - 1 };
	uint64_t i, j;
	size_t k, len;
	int h;
	clock_t t0 = clock();

	ls.width[0] = MILLION;
	ls.level[0] = calloc(MILLION, sizeof(merkle_hash));
	CHECK(ls.level[0] != NULL);
	if (ls.level[0] == NULL)
		return;
	merkle_builder_init(&b);
	for (i = 0; i < MILLION; i++) {
		uint32_t v = (uint32_t)i;

		merkle_leaf_hash(&v, sizeof(v), ls.level[0][i]);
		CHECK(merkle_builder_append(&b, ls.level[0][i]) == 0);
		if (i + 1 == MILLION / 2)
			at_half = b;
	}
	merkle_builder_root(&b, root);
	merkle_builder_root(&at_half, half_root);
	for (h = 1; h < MILLION_LEVELS; h++) {
		ls.width[h] = ls.width[h - 1] / 2;
		ls.level[h] = calloc(ls.width[h] ? ls.width[h] : 1, sizeof(merkle_hash));
		CHECK(ls.level[h] != NULL);
		if (ls.level[h] == NULL)
			goto out;
		for (j = 0; j < ls.width[h]; j++)
			merkle_node_hash(ls.level[h - 1][2 * j], ls.level[h - 1][2 * j + 1],
					 ls.level[h][j]);
	}
	CHECK_INT(merkle_subtree_root(&level_src, 0, MILLION, level_root), 0);
	CHECK(memcmp(level_root, root, sizeof(root)) == 0);

	/* leaf hashes alone: O(n) per proof, each leaf asked once at most */
	a = (struct array_source){ (const merkle_hash *)ls.level[0], MILLION, 0, -1 };
	leaf_src = source_of(&a);
	CHECK_INT(merkle_inclusion_proof(&leaf_src, 777777, MILLION, proof, &len), 0);
	CHECK(a.leaf_calls <= MILLION - 1);
	CHECK_INT(merkle_inclusion_verify(777777, MILLION, ls.level[0][777777],
		(const merkle_hash *)proof, len, root), 0);
	a.leaf_calls = 0;
	CHECK_INT(merkle_consistency_proof(&leaf_src, MILLION / 2, MILLION, proof, &len), 0);
	CHECK(a.leaf_calls <= MILLION);
	CHECK_INT(merkle_consistency_verify(MILLION / 2, MILLION, half_root, root,
		(const merkle_hash *)proof, len), 0);

	/* cached subtree roots: O(log n) per proof */
	for (k = 0; k < sizeof(indexes) / sizeof(indexes[0]); k++) {
		ls.calls = 0;
		CHECK_INT(merkle_inclusion_proof(&level_src, indexes[k], MILLION, proof, &len), 0);
		CHECK(len <= 20);
		CHECK(ls.calls == len);
		CHECK_INT(merkle_inclusion_verify(indexes[k], MILLION, ls.level[0][indexes[k]],
			(const merkle_hash *)proof, len, root), 0);
		CHECK_INT(merkle_inclusion_verify(indexes[k], MILLION,
			ls.level[0][(indexes[k] + 1) % MILLION],
			(const merkle_hash *)proof, len, root), -EBADMSG);
	}
	for (k = 0; k < sizeof(old_sizes) / sizeof(old_sizes[0]); k++) {
		merkle_hash old_root;

		CHECK_INT(merkle_subtree_root(&level_src, 0, old_sizes[k], old_root), 0);
		ls.calls = 0;
		CHECK_INT(merkle_consistency_proof(&level_src, old_sizes[k], MILLION, proof, &len), 0);
		CHECK(ls.calls == len && len <= 21);
		CHECK_INT(merkle_consistency_verify(old_sizes[k], MILLION, old_root, root,
			(const merkle_hash *)proof, len), 0);
		old_root[5] ^= 4;
		CHECK_INT(merkle_consistency_verify(old_sizes[k], MILLION, old_root, root,
			(const merkle_hash *)proof, len), -EBADMSG);
	}
out:
	for (h = 0; h < MILLION_LEVELS; h++)
		free(ls.level[h]);
	fprintf(stderr, "test_million: %.2f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* ---- the 2^64-1 limit ------------------------------------------------- */

/* A virtual tree whose leaves all hash to the same value: the root of any
 * range depends only on its width, so trees of 2^64-1 leaves are cheap. */
static merkle_hash uniform_level[MERKLE_MAX_DEPTH];

static void uniform_root(uint64_t width, merkle_hash out)
{
	merkle_hash right;
	uint64_t k;

	if ((width & (width - 1)) == 0) {
		memcpy(out, uniform_level[__builtin_ctzll(width)], MERKLE_HASH_BYTES);
		return;
	}
	k = (uint64_t)1 << (63 - __builtin_clzll(width - 1));
	uniform_root(width - k, right);
	merkle_node_hash(uniform_level[__builtin_ctzll(k)], right, out);
}

static int uniform_subtree(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	(void)ctx;
	uniform_root(end - start, out);
	return 0;
}

static void test_limits(void)
{
	struct merkle_source src = { NULL, uniform_subtree, NULL };
	struct merkle_builder b;
	merkle_hash proof[MERKLE_MAX_PROOF], root, old_root, got;
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	const uint64_t max = UINT64_MAX;
	size_t len, count;
	int h;

	merkle_leaf_hash("x", 1, uniform_level[0]);
	for (h = 1; h < MERKLE_MAX_DEPTH; h++)
		merkle_node_hash(uniform_level[h - 1], uniform_level[h - 1], uniform_level[h]);
	uniform_root(max, root);

	/* the builder reaches 2^64-1 leaves and refuses one more */
	CHECK_INT(merkle_frontier(&src, max - 1, frontier, &count), 0);
	CHECK_INT(count, 63);
	CHECK_INT(merkle_builder_resume(&b, max - 1, (const merkle_hash *)frontier, count), 0);
	CHECK_INT(merkle_builder_append(&b, uniform_level[0]), 0);
	CHECK(b.size == max);
	merkle_builder_root(&b, got);
	CHECK(memcmp(got, root, sizeof(got)) == 0);
	CHECK_INT(merkle_builder_append(&b, uniform_level[0]), -EOVERFLOW);
	CHECK(b.size == max);

	/* the deepest paths: 64 hashes for the first leaf, 63 for the last */
	CHECK_INT(merkle_inclusion_proof(&src, 0, max, proof, &len), 0);
	CHECK_INT(len, 64);
	CHECK_INT(merkle_inclusion_verify(0, max, uniform_level[0],
		(const merkle_hash *)proof, len, root), 0);
	CHECK_INT(merkle_inclusion_proof(&src, max - 1, max, proof, &len), 0);
	CHECK_INT(len, 63);
	CHECK_INT(merkle_inclusion_verify(max - 1, max, uniform_level[0],
		(const merkle_hash *)proof, len, root), 0);
	CHECK_INT(merkle_inclusion_verify(max, max, uniform_level[0],
		(const merkle_hash *)proof, len, root), -EINVAL);
	CHECK_INT(merkle_inclusion_verify(0, max, uniform_level[0],
		(const merkle_hash *)proof, MERKLE_MAX_PROOF + 1, root), -EBADMSG);

	/* the longest consistency proofs */
	CHECK_INT(merkle_consistency_proof(&src, max - 1, max, proof, &len), 0);
	CHECK(len <= MERKLE_MAX_PROOF);
	uniform_root(max - 1, old_root);
	CHECK_INT(merkle_consistency_verify(max - 1, max, old_root, root,
		(const merkle_hash *)proof, len), 0);
	CHECK_INT(merkle_consistency_proof(&src, 3, max, proof, &len), 0);
	CHECK_INT(len, 65);
	uniform_root(3, old_root);
	CHECK_INT(merkle_consistency_verify(3, max, old_root, root,
		(const merkle_hash *)proof, len), 0);
	CHECK_INT(merkle_consistency_verify(3, max, old_root, root,
		(const merkle_hash *)proof, MERKLE_MAX_PROOF + 1), -EBADMSG);
	CHECK_INT(merkle_consistency_proof(&src, (uint64_t)1 << 63, max, proof, &len), 0);
	uniform_root((uint64_t)1 << 63, old_root);
	CHECK_INT(merkle_consistency_verify((uint64_t)1 << 63, max, old_root, root,
		(const merkle_hash *)proof, len), 0);
}

int main(void)
{
	if (merkle_init() < 0) {
		printf("FAIL merkle_init\n");
		return 1;
	}
	ct_setup();
	small_setup();
	RUN(test_ct_roots);
	RUN(test_ct_inclusion);
	RUN(test_ct_consistency);
	RUN(test_inclusion_exhaustive);
	RUN(test_consistency_exhaustive);
	RUN(test_consistency_trivial);
	RUN(test_builder_and_resume);
	RUN(test_source_errors);
	RUN(test_million);
	RUN(test_limits);
	return unit_done();
}
