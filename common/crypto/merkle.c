/*
 * merkle.c - RFC 6962 Merkle tree hashing, the streaming root builder, and
 * inclusion and consistency proofs (generation per RFC 6962 2.1.1 / 2.1.2,
 * verification per RFC 9162 2.1.3.2 / 2.1.4.2).
 *
 * Owns the tree arithmetic and nothing else: where leaf hashes come from
 * (the store) and what a root is signed into (checkpoint.c) are the
 * callers' business. Generation walks the tree top-down with no recursion
 * and asks the source for at most MERKLE_MAX_PROOF disjoint subtree roots,
 * so it is O(n) hashing with leaf hashes alone and O(log n) memory.
 *
 * Must never allocate, keep state between calls, or accept a proof longer
 * than a tree of its size can have.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "sha256.h"

int merkle_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void merkle_leaf_hash(const void *bytes, size_t len, merkle_hash out)
{
	struct sha256 state;
	const unsigned char prefix = 0x00;

	/* sha256.c: libsodium's digests, with the CPU's SHA instructions */
	sha256_init(&state);
	sha256_update(&state, &prefix, 1);
	if (len > 0)
		sha256_update(&state, bytes, len);
	sha256_final(&state, out);
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right,
		      merkle_hash out)
{
	unsigned char message[1 + 2 * MERKLE_HASH_BYTES];
	struct sha256 state;

	message[0] = 0x01;
	memcpy(message + 1, left, MERKLE_HASH_BYTES);
	memcpy(message + 1 + MERKLE_HASH_BYTES, right, MERKLE_HASH_BYTES);
	sha256_init(&state);
	sha256_update(&state, message, sizeof(message));
	sha256_final(&state, out);
}

void merkle_empty_root(merkle_hash out)
{
	crypto_hash_sha256(out, NULL, 0);
}

/* The largest power of two smaller than n (n >= 2): RFC 6962's split. */
static uint64_t merkle_split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int merkle_same(const merkle_hash a, const merkle_hash b)
{
	return memcmp(a, b, MERKLE_HASH_BYTES) == 0;
}

void merkle_builder_init(struct merkle_builder *b)
{
	memset(b, 0, sizeof(*b));
}

int merkle_builder_append(struct merkle_builder *b, const merkle_hash leaf)
{
	merkle_hash carry;
	unsigned level = 0;

	if (b->size == UINT64_MAX)
		return -EOVERFLOW;
	memcpy(carry, leaf, MERKLE_HASH_BYTES);
	/* Like adding one in binary: each full level merges into the next. */
	while (b->size >> level & 1) {
		merkle_node_hash(b->subtree[level], carry, carry);
		level++;
	}
	assert(level < MERKLE_MAX_DEPTH);   /* size < UINT64_MAX */
	memcpy(b->subtree[level], carry, MERKLE_HASH_BYTES);
	b->size++;
	return 0;
}

void merkle_builder_root(const struct merkle_builder *b, merkle_hash out)
{
	unsigned level;

	if (b->size == 0) {
		merkle_empty_root(out);
		return;
	}
	/* The smallest (rightmost) subtree first, then each larger one to
	 * its left: MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])). */
	level = (unsigned)__builtin_ctzll(b->size);
	memcpy(out, b->subtree[level], MERKLE_HASH_BYTES);
	for (level++; level < MERKLE_MAX_DEPTH; level++)
		if (b->size >> level & 1)
			merkle_node_hash(b->subtree[level], out, out);
}

size_t merkle_builder_frontier(const struct merkle_builder *b,
			       merkle_hash out[MERKLE_MAX_DEPTH])
{
	size_t count = 0;
	int level;

	for (level = MERKLE_MAX_DEPTH - 1; level >= 0; level--)
		if (b->size >> level & 1)
			memcpy(out[count++], b->subtree[level], MERKLE_HASH_BYTES);
	return count;
}

int merkle_builder_resume(struct merkle_builder *b, uint64_t size,
			  const merkle_hash *frontier, size_t count)
{
	size_t i = 0;
	int level;

	if (count != (size_t)__builtin_popcountll(size))
		return -EINVAL;
	merkle_builder_init(b);
	for (level = MERKLE_MAX_DEPTH - 1; level >= 0; level--)
		if (size >> level & 1)
			memcpy(b->subtree[level], frontier[i++], MERKLE_HASH_BYTES);
	b->size = size;
	return 0;
}

int merkle_subtree_root(const struct merkle_source *src, uint64_t start,
			uint64_t end, merkle_hash out)
{
	struct merkle_builder b;
	merkle_hash leaf;
	uint64_t i;
	int rc;

	if (start >= end)
		return -EINVAL;
	if (src->subtree_root != NULL)
		return src->subtree_root(src->ctx, start, end, out);
	if (src->leaf_hash == NULL)
		return -EINVAL;
	merkle_builder_init(&b);
	for (i = start; i < end; i++) {
		rc = src->leaf_hash(src->ctx, i, leaf);
		if (rc < 0)
			return rc;
		rc = merkle_builder_append(&b, leaf);
		if (rc < 0)
			return rc;
	}
	merkle_builder_root(&b, out);
	return 0;
}

int merkle_frontier(const struct merkle_source *src, uint64_t size,
		    merkle_hash out[MERKLE_MAX_DEPTH], size_t *count)
{
	uint64_t start = 0, width;
	int level, rc;

	*count = 0;
	for (level = MERKLE_MAX_DEPTH - 1; level >= 0; level--) {
		if (!(size >> level & 1))
			continue;
		width = (uint64_t)1 << level;
		rc = merkle_subtree_root(src, start, start + width, out[*count]);
		if (rc < 0)
			return rc;
		(*count)++;
		start += width;
	}
	return 0;
}

/* A range of leaves [start, end) whose MTH goes into a proof. */
struct merkle_range {
	uint64_t start, end;
};

/* Fills proof from ranges listed top-down: RFC order is bottom-up. */
static int merkle_fill_proof(const struct merkle_source *src,
			     const struct merkle_range *ranges, size_t count,
			     merkle_hash proof[MERKLE_MAX_PROOF],
			     size_t *proof_len)
{
	size_t i;
	int rc;

	for (i = 0; i < count; i++) {
		const struct merkle_range *r = &ranges[count - 1 - i];

		rc = merkle_subtree_root(src, r->start, r->end, proof[i]);
		if (rc < 0)
			return rc;
	}
	*proof_len = count;
	return 0;
}

int merkle_inclusion_proof(const struct merkle_source *src, uint64_t index,
			   uint64_t size, merkle_hash proof[MERKLE_MAX_PROOF],
			   size_t *proof_len)
{
	struct merkle_range ranges[MERKLE_MAX_PROOF];
	uint64_t start = 0, end = size, k;
	size_t count = 0;

	*proof_len = 0;
	if (index >= size)
		return -EINVAL;
	/* PATH(m, D[n]): descend towards the leaf, keeping each sibling. */
	while (end - start > 1) {
		k = merkle_split(end - start);
		if (index < start + k) {
			ranges[count++] = (struct merkle_range){start + k, end};
			end = start + k;
		} else {
			ranges[count++] = (struct merkle_range){start, start + k};
			start += k;
		}
	}
	return merkle_fill_proof(src, ranges, count, proof, proof_len);
}

int merkle_consistency_proof(const struct merkle_source *src,
			     uint64_t old_size, uint64_t new_size,
			     merkle_hash proof[MERKLE_MAX_PROOF],
			     size_t *proof_len)
{
	struct merkle_range ranges[MERKLE_MAX_PROOF];
	uint64_t start = 0, end = new_size, k;
	size_t count = 0;
	int whole_old_tree = 1;    /* SUBPROOF's b */

	*proof_len = 0;
	if (old_size > new_size)
		return -EINVAL;
	if (old_size == 0 || old_size == new_size)
		return 0;
	/* SUBPROOF(m, D[n], b), unrolled: old_size is the absolute m. */
	for (;;) {
		if (old_size == end) {
			if (!whole_old_tree)
				ranges[count++] = (struct merkle_range){start, end};
			break;
		}
		k = merkle_split(end - start);
		if (old_size <= start + k) {
			ranges[count++] = (struct merkle_range){start + k, end};
			end = start + k;
		} else {
			ranges[count++] = (struct merkle_range){start, start + k};
			start += k;
			whole_old_tree = 0;
		}
	}
	return merkle_fill_proof(src, ranges, count, proof, proof_len);
}

/* fn and sn shifted right together while fn is even and not zero. */
static void merkle_shift_to_odd(uint64_t *fn, uint64_t *sn)
{
	while (*fn != 0 && !(*fn & 1)) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

int merkle_inclusion_verify(uint64_t index, uint64_t size,
			    const merkle_hash leaf, const merkle_hash *proof,
			    size_t proof_len, const merkle_hash root)
{
	merkle_hash r;
	uint64_t fn = index, sn;
	size_t i;

	if (index >= size)
		return -EINVAL;
	if (proof_len > MERKLE_MAX_PROOF)
		return -EBADMSG;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_BYTES);
	for (i = 0; i < proof_len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			if (!(fn & 1))
				merkle_shift_to_odd(&fn, &sn);
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !merkle_same(r, root))
		return -EBADMSG;
	return 0;
}

int merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
			      const merkle_hash old_root,
			      const merkle_hash new_root,
			      const merkle_hash *proof, size_t proof_len)
{
	merkle_hash empty, fr, sr;
	uint64_t fn, sn;
	size_t i = 0;

	if (old_size > new_size)
		return -EINVAL;
	if (old_size == new_size)
		return proof_len == 0 && merkle_same(old_root, new_root) ? 0 : -EBADMSG;
	if (old_size == 0) {
		merkle_empty_root(empty);
		return proof_len == 0 && merkle_same(old_root, empty) ? 0 : -EBADMSG;
	}
	if (proof_len == 0 || proof_len > MERKLE_MAX_PROOF)
		return -EBADMSG;
	/* An old tree that is a perfect subtree is not in the proof: the
	 * verifier starts from its root as if it were prepended. */
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_BYTES);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_BYTES);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_BYTES);
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < proof_len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				merkle_shift_to_odd(&fn, &sn);
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !merkle_same(fr, old_root) || !merkle_same(sr, new_root))
		return -EBADMSG;
	return 0;
}
