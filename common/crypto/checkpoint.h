/*
 * checkpoint.h - signed checkpoints and retention cuts: what makes the
 * store's Merkle tree (merkle.h) tamper-evident to someone who holds only
 * the public key. Implemented in checkpoint.c and checkpoint_key.c
 * (libsodium Ed25519, SHA-256).
 * Call checkpoint_init() once first. All integers are little endian.
 *
 * CHECKPOINT, CHECKPOINT_BYTES (164) bytes:
 *     0   8  magic "PHTCKPT1"
 *     8   4  format version, CHECKPOINT_VERSION (1)
 *    12   8  tree size: records 0..size-1 are covered
 *    20  32  root: MTH of those records (merkle.h); for size 0 it must be
 *            the empty root SHA-256("")
 *    52   8  time the checkpoint was signed, nanoseconds since the epoch (UTC)
 *    60  32  previous hash: the hash of the checkpoint or cut signed just
 *            before this one by the same store, all zeros for the first
 *    92   8  key id: the first 8 bytes of SHA-256(Ed25519 public key)
 *   100  64  Ed25519 signature (detached) over bytes 0..99
 * The hash of a checkpoint is SHA-256 over all 164 bytes. A reader rejects
 * any other length (-EMSGSIZE), another magic (-ENOMSG), another version
 * (-EPROTONOSUPPORT) and a size-0 checkpoint with another root (-EBADMSG).
 *
 * Text form (for `phitrail verify --since-checkpoint FILE`): the 164 bytes
 * as 328 hex digits on one line, written in lower case, optionally followed
 * by one "\n"; nothing else is accepted (-EINVAL when not hex, -EMSGSIZE
 * when hex of the wrong length, then the checks above).
 *
 * Keys. Secret key file: one line "PHITRAIL-SECRET-KEY-1 " followed by the
 * 32-byte Ed25519 seed as 64 hex digits and "\n"; created with O_EXCL and
 * mode 0600, refused on load when group or others may read it (-EPERM).
 * Public key text: the 32-byte public key as 64 hex digits; the public key
 * file holds that line and "\n" (mode 0644). A secret key file is never
 * taken for a public key: the prefix makes it fail to parse.
 *
 * RETENTION CUT. Records older than the retention period are removed, but
 * the tree is never restarted: record ids stay leaf indexes and every later
 * checkpoint stays a checkpoint of the one tree that began at record 0.
 * Before removing records 0..c-1 the collector signs a cut statement:
 *
 * CUT, CHECKPOINT_CUT_BYTES(F) = 165 + 32*F bytes, F = popcount(c):
 *     0   8  magic "PHTRCUT1"
 *     8   4  format version, CHECKPOINT_VERSION (1)
 *    12   8  cut size c >= 1: records 0..c-1 were removed
 *    20  32  root at the cut: MTH of records 0..c-1
 *    52   8  time of the cut, nanoseconds since the epoch (UTC)
 *    60  32  previous hash: the newest checkpoint or cut signed before it
 *    92   8  key id, as in a checkpoint
 *   100   1  F, the frontier count, 1..64; must equal popcount(c)
 *   101 32F  the frontier at c (merkle_builder_frontier): the roots of the
 *            perfect subtrees that make up records 0..c-1, largest first;
 *            folded right to left they must give the root at the cut
 *   101+32F 64 Ed25519 signature over all the bytes before it
 * The hash of a cut is SHA-256 over all its bytes. The distinct magic keeps
 * a cut's signature from ever being taken for a checkpoint's.
 *
 * How `phitrail verify` accepts a store whose oldest records were cut:
 *  1. The store keeps the newest cut statement C in place of the removed
 *     records. Verify checks C's signature and key id against the public
 *     key, and (decoding does it) that its frontier folds to C's root.
 *  2. merkle_builder_resume() starts a builder at size c from C's frontier;
 *     the records from id c on are streamed in id order and appended; at
 *     every stored checkpoint's size the root must equal the signed one.
 *     This is the same tree as before the cut, so checkpoints signed before
 *     the cut with sizes >= c still verify, and so does an exported one.
 *  3. The chain: every checkpoint's previous hash is the hash of the one
 *     signed before it; the first checkpoint after C names C, and C names
 *     the newest checkpoint before it. Checkpoints of sizes < c may be kept
 *     (they are small) so that an exported checkpoint E older than the cut
 *     can be found on the chain; E's records themselves can no longer be
 *     checked, and verify says that they were cut, when, and how many.
 *  4. Proofs for retained records (`phitrail prove ID`) still work: every
 *     subtree a proof needs is either inside the frontier (a frontier
 *     subtree is exactly such a sibling) or built from frontier subtrees and
 *     retained records.
 *  5. A later cut c2 > c is signed by the collector from the builder it
 *     keeps anyway (its frontier at c2) and replaces C; the removed
 *     range then grows, the tree stays one.
 * Removing records without a valid cut, or a cut that does not match the
 * following checkpoints, is found by step 1 or 2, naming the first record
 * (c) whose tree does not fit.
 */
#ifndef PHITRAIL_CHECKPOINT_H
#define PHITRAIL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define CHECKPOINT_MAGIC "PHTCKPT1"
#define CHECKPOINT_CUT_MAGIC "PHTRCUT1"
#define CHECKPOINT_VERSION 1
#define CHECKPOINT_SIGNED_BYTES 100
#define CHECKPOINT_SIGNATURE_BYTES 64
#define CHECKPOINT_BYTES 164
#define CHECKPOINT_TEXT_BYTES (2 * CHECKPOINT_BYTES + 1)   /* with the NUL */
#define CHECKPOINT_KEY_ID_BYTES 8
#define CHECKPOINT_PUBLIC_KEY_BYTES 32
#define CHECKPOINT_SECRET_KEY_BYTES 64   /* libsodium's: seed || public key */
#define CHECKPOINT_PUBLIC_KEY_TEXT_BYTES (2 * CHECKPOINT_PUBLIC_KEY_BYTES + 1)
#define CHECKPOINT_CUT_BYTES(frontier_count) (165 + 32 * (size_t)(frontier_count))
#define CHECKPOINT_CUT_MAX_BYTES CHECKPOINT_CUT_BYTES(MERKLE_MAX_DEPTH)

/* A signing key. Wipe it with checkpoint_key_wipe() when done. */
struct checkpoint_key {
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	unsigned char secret_key[CHECKPOINT_SECRET_KEY_BYTES];
	unsigned char key_id[CHECKPOINT_KEY_ID_BYTES];
};

struct checkpoint {
	uint64_t tree_size;
	merkle_hash root;
	uint64_t time_ns;
	unsigned char prev_hash[MERKLE_HASH_BYTES];
	unsigned char key_id[CHECKPOINT_KEY_ID_BYTES];
	unsigned char signature[CHECKPOINT_SIGNATURE_BYTES];
};

struct checkpoint_cut {
	uint64_t cut_size;
	merkle_hash root;
	uint64_t time_ns;
	unsigned char prev_hash[MERKLE_HASH_BYTES];
	unsigned char key_id[CHECKPOINT_KEY_ID_BYTES];
	size_t frontier_count;
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	unsigned char signature[CHECKPOINT_SIGNATURE_BYTES];
};

/* 0, or -EIO when libsodium cannot start. Safe to call more than once. */
int checkpoint_init(void);

/* What a negative code of this module means, for messages ("bad
 * signature"); unknown codes give strerror's text. */
const char *checkpoint_strerror(int rc);

/* ---- keys ---- */

/* A fresh random key pair: 0 or -EIO. */
int checkpoint_key_generate(struct checkpoint_key *key);

/* The key pair of a 32-byte seed (tests, key files): 0 or -EIO. */
int checkpoint_key_from_seed(struct checkpoint_key *key, const unsigned char seed[32]);

void checkpoint_key_wipe(struct checkpoint_key *key);

/* key id = first 8 bytes of SHA-256(public key) */
void checkpoint_key_id(const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
		       unsigned char out[CHECKPOINT_KEY_ID_BYTES]);

/* Creates path (O_EXCL, 0600; -EEXIST when it exists) with the secret key
 * line, synced; on failure nothing is left behind. 0 or -errno. */
int checkpoint_secret_key_save(const char *path, const struct checkpoint_key *key);

/* Reads a secret key file: 0, -EPERM when group/others have access to it,
 * -EINVAL when its content is not a secret key line, or -errno. */
int checkpoint_secret_key_load(const char *path, struct checkpoint_key *key);

/* Writes the public key text to out (CHECKPOINT_PUBLIC_KEY_TEXT_BYTES). */
void checkpoint_public_key_to_text(const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
				   char out[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES]);

/* Parses 64 hex digits, optionally followed by one "\n": 0 or -EINVAL. */
int checkpoint_public_key_from_text(const char *text, size_t len,
				    unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* Creates path (O_EXCL, 0644) with the public key line. 0 or -errno. */
int checkpoint_public_key_save(const char *path,
			       const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* Reads a public key file: 0, -EINVAL for any other content, or -errno. */
int checkpoint_public_key_load(const char *path,
			       unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* ---- checkpoints ---- */

/* Sets cp->key_id and cp->signature from the other fields: 0, or -EINVAL
 * for a size-0 checkpoint whose root is not the empty root. */
int checkpoint_sign(struct checkpoint *cp, const struct checkpoint_key *key);

/* The 164 bytes of a checkpoint, signature included. */
void checkpoint_encode(const struct checkpoint *cp, unsigned char out[CHECKPOINT_BYTES]);

/* Parses exactly len bytes; see the top for the codes. */
int checkpoint_decode(const unsigned char *buf, size_t len, struct checkpoint *cp);

/* 0 when public_key signed cp: -ENOKEY when the key id is another key's,
 * -EKEYREJECTED when the signature does not hold. */
int checkpoint_verify(const struct checkpoint *cp,
		      const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* SHA-256 of the encoded checkpoint: what the next one's prev_hash holds. */
void checkpoint_hash(const struct checkpoint *cp, unsigned char out[MERKLE_HASH_BYTES]);

/* The text form, NUL-terminated, no newline. */
void checkpoint_to_text(const struct checkpoint *cp, char out[CHECKPOINT_TEXT_BYTES]);

/* Parses the text form (len bytes, need not be NUL-terminated). */
int checkpoint_from_text(const char *text, size_t len, struct checkpoint *cp);

/* Reads a file holding the text form (at most 4 KiB): parse codes or -errno. */
int checkpoint_load_text(const char *path, struct checkpoint *cp);

/* ---- retention cuts ---- */

/* Fills and signs a cut at the builder's size (>= 1, else -EINVAL) from
 * its root and frontier: the builder that has seen records 0..c-1. With
 * key NULL the cut is left unsigned (key id and signature zeros), for the
 * process that holds the key to sign (checkpoint_cut_sign). */
int checkpoint_cut_make(struct checkpoint_cut *cut, const struct merkle_builder *at_cut,
			uint64_t time_ns, const unsigned char prev_hash[MERKLE_HASH_BYTES],
			const struct checkpoint_key *key);

/* Sets cut->key_id and cut->signature from the other fields: 0, or -EINVAL
 * for a cut whose frontier does not fold to its root. */
int checkpoint_cut_sign(struct checkpoint_cut *cut, const struct checkpoint_key *key);

/* Encodes into out (room bytes; CHECKPOINT_CUT_MAX_BYTES always do) and
 * sets *len: 0, -ENOBUFS when room is too small, -EINVAL for a cut whose
 * frontier count is not popcount(cut size). */
int checkpoint_cut_encode(const struct checkpoint_cut *cut, unsigned char *out,
			  size_t room, size_t *len);

/* Parses exactly len bytes: the checkpoint codes, and -EBADMSG for a cut
 * size of 0, a frontier count other than popcount(cut size), or a frontier
 * that does not fold to the root. */
int checkpoint_cut_decode(const unsigned char *buf, size_t len, struct checkpoint_cut *cut);

/* As checkpoint_verify, for a cut. */
int checkpoint_cut_verify(const struct checkpoint_cut *cut,
			  const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* SHA-256 of the encoded cut: 0, or -EINVAL for a cut that cannot be
 * encoded (see checkpoint_cut_encode). */
int checkpoint_cut_hash(const struct checkpoint_cut *cut, unsigned char out[MERKLE_HASH_BYTES]);

/* A builder at the cut size, ready for records from id cut_size on; 0 or
 * -EBADMSG when the frontier does not fold to the root. */
int checkpoint_cut_resume(const struct checkpoint_cut *cut, struct merkle_builder *b);

#endif
