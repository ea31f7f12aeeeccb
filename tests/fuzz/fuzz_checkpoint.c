/*
 * fuzz_checkpoint.c - checkpoints, retention cuts, their text form and the
 * public key text from arbitrary bytes, as `phitrail verify` reads them
 * from a store or a --since-checkpoint file. Every reader returns one of its
 * documented codes; whatever decodes re-encodes to exactly the input (the
 * layouts have no slack), and verifying it never does more than say yes or
 * no. The seed corpus holds inputs signed by the key below.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"

static struct checkpoint_key fuzz_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char seed[32];

	(void)argc;
	(void)argv;
	memset(seed, 0x42, sizeof(seed));
	if (checkpoint_init() < 0 || checkpoint_key_from_seed(&fuzz_key, seed) < 0)
		assert(!"libsodium did not start");
	return 0;
}

static int is_decode_code(int rc)
{
	return rc == 0 || rc == -EMSGSIZE || rc == -ENOMSG ||
	       rc == -EPROTONOSUPPORT || rc == -EBADMSG;
}

static int is_verify_code(int rc)
{
	return rc == 0 || rc == -ENOKEY || rc == -EKEYREJECTED;
}

static void fuzz_binary(const uint8_t *data, size_t size)
{
	struct checkpoint cp, again;
	char text[CHECKPOINT_TEXT_BYTES];
	unsigned char bytes[CHECKPOINT_BYTES];
	int rc;

	rc = checkpoint_decode(data, size, &cp);
	assert(is_decode_code(rc));
	if (rc != 0)
		return;
	checkpoint_encode(&cp, bytes);
	assert(size == CHECKPOINT_BYTES && memcmp(bytes, data, size) == 0);
	assert(is_verify_code(checkpoint_verify(&cp, fuzz_key.public_key)));
	checkpoint_to_text(&cp, text);
	assert(strlen(text) == CHECKPOINT_TEXT_BYTES - 1);
	assert(checkpoint_from_text(text, strlen(text), &again) == 0);
	checkpoint_encode(&again, bytes);
	assert(memcmp(bytes, data, size) == 0);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	struct checkpoint cp;
	char text[CHECKPOINT_TEXT_BYTES];
	size_t i, n = size;
	int rc;

	rc = checkpoint_from_text((const char *)data, size, &cp);
	assert(rc == -EINVAL || is_decode_code(rc));
	if (rc != 0)
		return;
	if (n > 0 && data[n - 1] == '\n')
		n--;
	assert(n == CHECKPOINT_TEXT_BYTES - 1);
	checkpoint_to_text(&cp, text);
	for (i = 0; i < n; i++)
		assert(text[i] == tolower(data[i]));
	assert(is_verify_code(checkpoint_verify(&cp, fuzz_key.public_key)));
}

static void fuzz_cut(const uint8_t *data, size_t size)
{
	static unsigned char bytes[CHECKPOINT_CUT_MAX_BYTES];
	struct checkpoint_cut cut;
	struct merkle_builder b;
	unsigned char hash[MERKLE_HASH_BYTES];
	merkle_hash root;
	size_t len = 0;
	int rc;

	rc = checkpoint_cut_decode(data, size, &cut);
	assert(is_decode_code(rc));
	if (rc != 0)
		return;
	assert(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len) == 0);
	assert(len == size && memcmp(bytes, data, size) == 0);
	assert(checkpoint_cut_hash(&cut, hash) == 0);
	assert(is_verify_code(checkpoint_cut_verify(&cut, fuzz_key.public_key)));
	assert(checkpoint_cut_resume(&cut, &b) == 0);
	assert(b.size == cut.cut_size);
	merkle_builder_root(&b, root);
	assert(memcmp(root, cut.root, sizeof(root)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	int rc;

	fuzz_binary(data, size);
	fuzz_text(data, size);
	fuzz_cut(data, size);
	rc = checkpoint_public_key_from_text((const char *)data, size, public_key);
	assert(rc == 0 || rc == -EINVAL);
	return 0;
}
