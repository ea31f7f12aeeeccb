/*
 * merkle.h - the RFC 6962 Merkle tree over stored records: hashing, a
 * streaming root builder, inclusion and consistency proofs. Implemented in
 * merkle.c (libsodium SHA-256); call merkle_init() once before anything else.
 *
 * Hashing (RFC 6962 section 2.1, exactly):
 *   leaf hash      SHA-256(0x00 || record bytes)
 *   node hash      SHA-256(0x01 || left || right)
 *   MTH({})        SHA-256("")  (the empty tree)
 *   MTH(D[n])      for n > 1: k = the largest power of two smaller than n,
 *                  node(MTH(D[0:k]), MTH(D[k:n]))
 * Leaves are numbered from 0 in insertion order; a tree of size n holds the
 * leaves 0..n-1. Sizes and indexes are uint64_t; every size up to
 * UINT64_MAX is handled (a tree is at most 64 levels deep).
 *
 * Proof generation asks a struct merkle_source for hashes it does not have.
 * The choice made here: a proof is built from at most MERKLE_MAX_PROOF
 * subtree roots MTH(D[start:end]) whose ranges do not overlap, so it costs
 * at most n leaf hashes plus n node hashes in total (O(n) per proof, O(log n)
 * memory) when only leaf_hash is given. A store that keeps roots of
 * subtrees can supply subtree_root and make proofs O(log n): every range
 * asked for is either a perfect, aligned subtree [j*2^h, (j+1)*2^h) or the
 * right edge of a tree [j*2^h, n) (which never changes once n is fixed).
 *
 * Proofs are arrays of 32-byte hashes in RFC 6962 order (the leaf's or the
 * old tree's nearest sibling first). Verification follows RFC 9162 sections
 * 2.1.3.2 and 2.1.4.2 and never calls a source.
 */
#ifndef PHITRAIL_MERKLE_H
#define PHITRAIL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_BYTES 32
#define MERKLE_MAX_DEPTH 64        /* levels of a tree of up to 2^64-1 leaves */
#define MERKLE_MAX_PROOF 65        /* hashes in the longest proof of either kind */

typedef unsigned char merkle_hash[MERKLE_HASH_BYTES];

/* 0, or -EIO when libsodium cannot start. Safe to call more than once. */
int merkle_init(void);

/* leaf = SHA-256(0x00 || bytes); bytes may be NULL when len is 0. */
void merkle_leaf_hash(const void *bytes, size_t len, merkle_hash out);

/* node = SHA-256(0x01 || left || right); out may alias left or right. */
void merkle_node_hash(const merkle_hash left, const merkle_hash right,
		      merkle_hash out);

/* MTH of the empty tree: SHA-256 of no bytes. */
void merkle_empty_root(merkle_hash out);

/*
 * The streaming builder: the root of every leaf appended so far, in
 * O(log n) memory. subtree[h] holds the root of a perfect subtree of 2^h
 * leaves whenever bit h of size is set; those subtrees, largest first, are
 * the "frontier" of the tree and cover leaves 0..size-1 left to right.
 * Plain data: copy it to keep a snapshot.
 */
struct merkle_builder {
	uint64_t size;
	merkle_hash subtree[MERKLE_MAX_DEPTH];
};

void merkle_builder_init(struct merkle_builder *b);

/* Appends one leaf hash: 0, or -EOVERFLOW when size is UINT64_MAX. */
int merkle_builder_append(struct merkle_builder *b, const merkle_hash leaf);

/* MTH of the leaves appended so far (the empty root for none). */
void merkle_builder_root(const struct merkle_builder *b, merkle_hash out);

/*
 * The frontier: popcount(size) hashes, largest (leftmost) subtree first,
 * written to out (room for MERKLE_MAX_DEPTH); returns how many.
 */
size_t merkle_builder_frontier(const struct merkle_builder *b,
			       merkle_hash out[MERKLE_MAX_DEPTH]);

/*
 * A builder standing at size, as if the leaves 0..size-1 had been appended,
 * from the frontier of that size (count must be popcount(size), hashes
 * largest first): 0 or -EINVAL. Appending the leaves from index size on
 * then gives the same roots as the full tree would, which is what lets a
 * store drop its oldest records (see checkpoint.h, "retention cut").
 */
int merkle_builder_resume(struct merkle_builder *b, uint64_t size,
			  const merkle_hash *frontier, size_t count);

/* Where proof generation gets the hashes of the tree; see the top. */
struct merkle_source {
	/* The leaf hash of index (< the tree size): 0 or a negative errno. */
	int (*leaf_hash)(void *ctx, uint64_t index, merkle_hash out);
	/* Optional (NULL: computed from leaf_hash): MTH(D[start:end]),
	 * start < end. 0 or a negative errno. */
	int (*subtree_root)(void *ctx, uint64_t start, uint64_t end,
			    merkle_hash out);
	void *ctx;
};

/* MTH(D[start:end]) through the source (start < end); 0 or its error. */
int merkle_subtree_root(const struct merkle_source *src, uint64_t start,
			uint64_t end, merkle_hash out);

/*
 * The frontier of the tree of size leaves, through the source (one subtree
 * root per set bit of size): writes popcount(size) hashes, sets *count.
 */
int merkle_frontier(const struct merkle_source *src, uint64_t size,
		    merkle_hash out[MERKLE_MAX_DEPTH], size_t *count);

/*
 * PATH(index, D[size]) of RFC 6962 2.1.1 into proof, its length into
 * *proof_len (0 for a tree of one leaf). -EINVAL when index >= size;
 * otherwise 0 or the source's error.
 */
int merkle_inclusion_proof(const struct merkle_source *src, uint64_t index,
			   uint64_t size, merkle_hash proof[MERKLE_MAX_PROOF],
			   size_t *proof_len);

/*
 * Whether leaf (the leaf hash at index) is in the tree of size leaves with
 * the given root: 0 when the proof holds, -EINVAL when index >= size,
 * -EBADMSG when the proof does not hold (wrong hashes or length).
 */
int merkle_inclusion_verify(uint64_t index, uint64_t size,
			    const merkle_hash leaf, const merkle_hash *proof,
			    size_t proof_len, const merkle_hash root);

/*
 * PROOF(old_size, D[new_size]) of RFC 6962 2.1.2: empty when old_size is 0
 * or equal to new_size. -EINVAL when old_size > new_size; otherwise 0 or
 * the source's error.
 */
int merkle_consistency_proof(const struct merkle_source *src,
			     uint64_t old_size, uint64_t new_size,
			     merkle_hash proof[MERKLE_MAX_PROOF],
			     size_t *proof_len);

/*
 * Whether the tree of new_size leaves with new_root extends the tree of
 * old_size leaves with old_root: 0 when it does, -EINVAL when old_size >
 * new_size, -EBADMSG when the proof does not hold. Equal sizes need an
 * empty proof and equal roots; old_size 0 needs an empty proof and old_root
 * equal to the empty root.
 */
int merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
			      const merkle_hash old_root,
			      const merkle_hash new_root,
			      const merkle_hash *proof, size_t proof_len);

#endif
