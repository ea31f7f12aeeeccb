/*
 * checkpoint.c - signed checkpoints and retention cuts of the record tree,
 * their byte layouts and text forms (formats in checkpoint.h). The
 * Ed25519 keys and key files that sign them are checkpoint_key.c's.
 *
 * Owns the bytes that get signed and the rules a reader applies to them:
 * exact lengths, magic, version, and the consistency of a cut's frontier
 * with its root. The tree itself is merkle.c's; when to sign and where the
 * results are kept is the collector's.
 *
 * Must never sign anything but the fixed layouts below, accept input that
 * is short, long or padded, or leave a secret key in memory it frees or in
 * a file others can read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "byteorder.h"
#include "checkpoint_private.h"

#define TEXT_FILE_MAX_BYTES 4096

/* Offsets shared by both layouts (checkpoint.h). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_SIZE = 12,
	OFF_ROOT = 20,
	OFF_TIME = 52,
	OFF_PREV = 60,
	OFF_KEY_ID = 92,
	OFF_END_COMMON = 100,
	OFF_CUT_COUNT = 100,
	OFF_CUT_FRONTIER = 101,
};

static const struct {
	int rc;
	const char *text;
} checkpoint_errors[] = {
	{ -EINVAL, "not in the expected text form" },
	{ -EMSGSIZE, "wrong length (truncated or trailing bytes)" },
	{ -ENOMSG, "not a phitrail checkpoint (bad magic)" },
	{ -EPROTONOSUPPORT, "unsupported format version" },
	{ -EBADMSG, "inconsistent content" },
	{ -ENOKEY, "signed by another key (key id differs)" },
	{ -EKEYREJECTED, "bad signature" },
	{ -EPERM, "secret key file is accessible to group or others" },
	{ -ENOBUFS, "output buffer too small" },
};

const char *checkpoint_strerror(int rc)
{
	size_t i;

	for (i = 0; i < sizeof(checkpoint_errors) / sizeof(checkpoint_errors[0]); i++)
		if (checkpoint_errors[i].rc == rc)
			return checkpoint_errors[i].text;
	return strerror(rc < 0 ? -rc : rc);
}

int checkpoint_init(void)
{
	return merkle_init();
}

/* ---- little helpers ---- */

static int same_bytes(const void *a, const void *b, size_t len)
{
	return memcmp(a, b, len) == 0;
}

/* ---- checkpoints ---- */

/* Bytes 0..99, the part both layouts share. */
static void encode_common(unsigned char *out, const char *magic, uint64_t size,
			  const merkle_hash root, uint64_t time_ns,
			  const unsigned char *prev_hash, const unsigned char *key_id)
{
	memcpy(out + OFF_MAGIC, magic, 8);
	le32_put(out + OFF_VERSION, CHECKPOINT_VERSION);
	le64_put(out + OFF_SIZE, size);
	memcpy(out + OFF_ROOT, root, MERKLE_HASH_BYTES);
	le64_put(out + OFF_TIME, time_ns);
	memcpy(out + OFF_PREV, prev_hash, MERKLE_HASH_BYTES);
	memcpy(out + OFF_KEY_ID, key_id, CHECKPOINT_KEY_ID_BYTES);
}

/* Checks magic and version of a buffer of at least OFF_END_COMMON bytes. */
static int decode_common(const unsigned char *buf, const char *magic, uint64_t *size,
			 merkle_hash root, uint64_t *time_ns,
			 unsigned char *prev_hash, unsigned char *key_id)
{
	if (memcmp(buf + OFF_MAGIC, magic, 8) != 0)
		return -ENOMSG;
	if (le32_get(buf + OFF_VERSION) != CHECKPOINT_VERSION)
		return -EPROTONOSUPPORT;
	*size = le64_get(buf + OFF_SIZE);
	memcpy(root, buf + OFF_ROOT, MERKLE_HASH_BYTES);
	*time_ns = le64_get(buf + OFF_TIME);
	memcpy(prev_hash, buf + OFF_PREV, MERKLE_HASH_BYTES);
	memcpy(key_id, buf + OFF_KEY_ID, CHECKPOINT_KEY_ID_BYTES);
	return 0;
}

/* A tree of no records has exactly one root. */
static int root_fits_size(uint64_t size, const merkle_hash root)
{
	merkle_hash empty;

	if (size != 0)
		return 1;
	merkle_empty_root(empty);
	return same_bytes(root, empty, MERKLE_HASH_BYTES);
}

static void encode_signed_part(const struct checkpoint *cp,
			       unsigned char out[CHECKPOINT_SIGNED_BYTES])
{
	encode_common(out, CHECKPOINT_MAGIC, cp->tree_size, cp->root, cp->time_ns,
		      cp->prev_hash, cp->key_id);
}

int checkpoint_sign(struct checkpoint *cp, const struct checkpoint_key *key)
{
	unsigned char body[CHECKPOINT_SIGNED_BYTES];

	if (!root_fits_size(cp->tree_size, cp->root))
		return -EINVAL;
	memcpy(cp->key_id, key->key_id, CHECKPOINT_KEY_ID_BYTES);
	encode_signed_part(cp, body);
	crypto_sign_detached(cp->signature, NULL, body, sizeof(body), key->secret_key);
	return 0;
}

void checkpoint_encode(const struct checkpoint *cp, unsigned char out[CHECKPOINT_BYTES])
{
	encode_signed_part(cp, out);
	memcpy(out + CHECKPOINT_SIGNED_BYTES, cp->signature, CHECKPOINT_SIGNATURE_BYTES);
}

int checkpoint_decode(const unsigned char *buf, size_t len, struct checkpoint *cp)
{
	int rc;

	if (len != CHECKPOINT_BYTES)
		return -EMSGSIZE;
	rc = decode_common(buf, CHECKPOINT_MAGIC, &cp->tree_size, cp->root,
			   &cp->time_ns, cp->prev_hash, cp->key_id);
	if (rc < 0)
		return rc;
	if (!root_fits_size(cp->tree_size, cp->root))
		return -EBADMSG;
	memcpy(cp->signature, buf + CHECKPOINT_SIGNED_BYTES, CHECKPOINT_SIGNATURE_BYTES);
	return 0;
}

/* Key id first, so that "another key" is told apart from "forged". */
static int verify_signature(const unsigned char *signed_bytes, size_t len,
			    const unsigned char *key_id, const unsigned char *signature,
			    const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	unsigned char want_id[CHECKPOINT_KEY_ID_BYTES];

	checkpoint_key_id(public_key, want_id);
	if (!same_bytes(want_id, key_id, CHECKPOINT_KEY_ID_BYTES))
		return -ENOKEY;
	if (crypto_sign_verify_detached(signature, signed_bytes, len, public_key) != 0)
		return -EKEYREJECTED;
	return 0;
}

int checkpoint_verify(const struct checkpoint *cp,
		      const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	unsigned char body[CHECKPOINT_SIGNED_BYTES];

	encode_signed_part(cp, body);
	return verify_signature(body, sizeof(body), cp->key_id, cp->signature, public_key);
}

void checkpoint_hash(const struct checkpoint *cp, unsigned char out[MERKLE_HASH_BYTES])
{
	unsigned char bytes[CHECKPOINT_BYTES];

	checkpoint_encode(cp, bytes);
	crypto_hash_sha256(out, bytes, sizeof(bytes));
}

void checkpoint_to_text(const struct checkpoint *cp, char out[CHECKPOINT_TEXT_BYTES])
{
	unsigned char bytes[CHECKPOINT_BYTES];

	checkpoint_encode(cp, bytes);
	sodium_bin2hex(out, CHECKPOINT_TEXT_BYTES, bytes, sizeof(bytes));
}

int checkpoint_from_text(const char *text, size_t len, struct checkpoint *cp)
{
	unsigned char bytes[CHECKPOINT_BYTES];
	size_t got = 0;
	int rc;

	len = checkpoint_without_newline(text, len);
	if (len == 0)
		return -EINVAL;
	rc = checkpoint_hex_decode(text, len, bytes, sizeof(bytes), &got);
	if (rc < 0)
		return rc;
	return checkpoint_decode(bytes, got, cp);
}

int checkpoint_load_text(const char *path, struct checkpoint *cp)
{
	char buf[TEXT_FILE_MAX_BYTES];
	size_t len = 0;
	mode_t mode;
	int rc;

	rc = checkpoint_read_small_file(path, buf, sizeof(buf), &len, &mode);
	if (rc < 0)
		return rc;
	return checkpoint_from_text(buf, len, cp);
}

/* ---- retention cuts ---- */

/* Whether the frontier has the right count and folds to the root. */
static int cut_is_consistent(const struct checkpoint_cut *cut)
{
	struct merkle_builder b;
	merkle_hash root;

	if (cut->cut_size == 0 ||
	    cut->frontier_count != (size_t)__builtin_popcountll(cut->cut_size))
		return 0;
	if (merkle_builder_resume(&b, cut->cut_size,
				  (const merkle_hash *)cut->frontier,
				  cut->frontier_count) < 0)
		return 0;
	merkle_builder_root(&b, root);
	return same_bytes(root, cut->root, MERKLE_HASH_BYTES);
}

/* The signed part of a cut into out (room enough): its length. */
static size_t encode_cut_signed_part(const struct checkpoint_cut *cut, unsigned char *out)
{
	size_t i;

	encode_common(out, CHECKPOINT_CUT_MAGIC, cut->cut_size, cut->root,
		      cut->time_ns, cut->prev_hash, cut->key_id);
	out[OFF_CUT_COUNT] = (unsigned char)cut->frontier_count;
	for (i = 0; i < cut->frontier_count; i++)
		memcpy(out + OFF_CUT_FRONTIER + i * MERKLE_HASH_BYTES, cut->frontier[i],
		       MERKLE_HASH_BYTES);
	return OFF_CUT_FRONTIER + cut->frontier_count * MERKLE_HASH_BYTES;
}

int checkpoint_cut_make(struct checkpoint_cut *cut, const struct merkle_builder *at_cut,
			uint64_t time_ns, const unsigned char prev_hash[MERKLE_HASH_BYTES],
			const struct checkpoint_key *key)
{
	if (at_cut->size == 0)
		return -EINVAL;
	memset(cut, 0, sizeof(*cut));
	cut->cut_size = at_cut->size;
	merkle_builder_root(at_cut, cut->root);
	cut->time_ns = time_ns;
	memcpy(cut->prev_hash, prev_hash, MERKLE_HASH_BYTES);
	cut->frontier_count = merkle_builder_frontier(at_cut, cut->frontier);
	return key != NULL ? checkpoint_cut_sign(cut, key) : 0;
}

int checkpoint_cut_sign(struct checkpoint_cut *cut, const struct checkpoint_key *key)
{
	unsigned char body[CHECKPOINT_CUT_MAX_BYTES];
	size_t len;

	if (!cut_is_consistent(cut))
		return -EINVAL;
	memcpy(cut->key_id, key->key_id, CHECKPOINT_KEY_ID_BYTES);
	len = encode_cut_signed_part(cut, body);
	crypto_sign_detached(cut->signature, NULL, body, len, key->secret_key);
	return 0;
}

int checkpoint_cut_encode(const struct checkpoint_cut *cut, unsigned char *out,
			  size_t room, size_t *len)
{
	size_t signed_len;

	if (cut->frontier_count != (size_t)__builtin_popcountll(cut->cut_size) ||
	    cut->cut_size == 0)
		return -EINVAL;
	if (room < CHECKPOINT_CUT_BYTES(cut->frontier_count))
		return -ENOBUFS;
	signed_len = encode_cut_signed_part(cut, out);
	memcpy(out + signed_len, cut->signature, CHECKPOINT_SIGNATURE_BYTES);
	*len = signed_len + CHECKPOINT_SIGNATURE_BYTES;
	return 0;
}

int checkpoint_cut_decode(const unsigned char *buf, size_t len, struct checkpoint_cut *cut)
{
	size_t count, i, signed_len;
	int rc;

	if (len < CHECKPOINT_CUT_BYTES(0))
		return -EMSGSIZE;
	memset(cut, 0, sizeof(*cut));
	rc = decode_common(buf, CHECKPOINT_CUT_MAGIC, &cut->cut_size, cut->root,
			   &cut->time_ns, cut->prev_hash, cut->key_id);
	if (rc < 0)
		return rc;
	count = buf[OFF_CUT_COUNT];
	if (count > MERKLE_MAX_DEPTH)
		return -EBADMSG;
	if (len != CHECKPOINT_CUT_BYTES(count))
		return -EMSGSIZE;
	cut->frontier_count = count;
	for (i = 0; i < count; i++)
		memcpy(cut->frontier[i], buf + OFF_CUT_FRONTIER + i * MERKLE_HASH_BYTES,
		       MERKLE_HASH_BYTES);
	signed_len = OFF_CUT_FRONTIER + count * MERKLE_HASH_BYTES;
	memcpy(cut->signature, buf + signed_len, CHECKPOINT_SIGNATURE_BYTES);
	if (!cut_is_consistent(cut))
		return -EBADMSG;
	return 0;
}

int checkpoint_cut_verify(const struct checkpoint_cut *cut,
			  const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES])
{
	unsigned char body[CHECKPOINT_CUT_MAX_BYTES];
	size_t len;

	if (cut->frontier_count > MERKLE_MAX_DEPTH)
		return -EBADMSG;
	len = encode_cut_signed_part(cut, body);
	return verify_signature(body, len, cut->key_id, cut->signature, public_key);
}

int checkpoint_cut_hash(const struct checkpoint_cut *cut, unsigned char out[MERKLE_HASH_BYTES])
{
	unsigned char bytes[CHECKPOINT_CUT_MAX_BYTES];
	size_t len = 0;
	int rc;

	rc = checkpoint_cut_encode(cut, bytes, sizeof(bytes), &len);
	if (rc < 0)
		return rc;
	crypto_hash_sha256(out, bytes, len);
	return 0;
}

int checkpoint_cut_resume(const struct checkpoint_cut *cut, struct merkle_builder *b)
{
	if (!cut_is_consistent(cut))
		return -EBADMSG;
	return merkle_builder_resume(b, cut->cut_size, (const merkle_hash *)cut->frontier,
				     cut->frontier_count);
}

