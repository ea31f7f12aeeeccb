/*
 * test_checkpoint.c - signed checkpoints and retention cuts: the byte
 * layout at every offset, signatures against the RFC 8032 key vector,
 * every flipped bit refused, every length at the limit and one past it,
 * the text form and the key files, and the retention design played through
 * on a small store (cut, resume, checkpoints after the cut, a tampered
 * record found).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "unit.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Test data only: aborts on a malformed literal. */
static void from_hex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	if (strlen(hex) != 2 * n)
		abort();
	for (i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			abort();
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

/* RFC 8032 section 7.1, TEST 1: secret key (seed) and public key. */
static const char rfc8032_seed[] =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_public[] =
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static struct checkpoint_key key, other_key;
static char tmpdir[] = "/tmp/phitrail-test-checkpoint-XXXXXX";

static void sample_checkpoint(struct checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->tree_size = 0x0102030405060708ull;
	memset(cp->root, 0xab, sizeof(cp->root));
	cp->time_ns = 0x1122334455667788ull;
	memset(cp->prev_hash, 0xcd, sizeof(cp->prev_hash));
}

static void test_keys_from_seed(void)
{
	unsigned char want[32], digest[32];

	from_hex(rfc8032_public, want, sizeof(want));
	CHECK(memcmp(key.public_key, want, 32) == 0);
	crypto_hash_sha256(digest, key.public_key, 32);
	CHECK(memcmp(key.key_id, digest, CHECKPOINT_KEY_ID_BYTES) == 0);
	CHECK(memcmp(key.key_id, other_key.key_id, CHECKPOINT_KEY_ID_BYTES) != 0);
}

static void test_layout(void)
{
	struct checkpoint cp, back;
	unsigned char bytes[CHECKPOINT_BYTES], digest[32];
	static const unsigned char size_le[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	static const unsigned char time_le[8] = { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	size_t i;

	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	CHECK(memcmp(bytes, "PHTCKPT1", 8) == 0);
	CHECK(bytes[8] == 1 && bytes[9] == 0 && bytes[10] == 0 && bytes[11] == 0);
	CHECK(memcmp(bytes + 12, size_le, 8) == 0);
	for (i = 20; i < 52; i++)
		CHECK(bytes[i] == 0xab);
	CHECK(memcmp(bytes + 52, time_le, 8) == 0);
	for (i = 60; i < 92; i++)
		CHECK(bytes[i] == 0xcd);
	CHECK(memcmp(bytes + 92, key.key_id, 8) == 0);
	/* the signature covers exactly bytes 0..99, with the plain libsodium call */
	CHECK(crypto_sign_verify_detached(bytes + 100, bytes, 100, key.public_key) == 0);
	CHECK_INT(checkpoint_verify(&cp, key.public_key), 0);

	CHECK_INT(checkpoint_decode(bytes, sizeof(bytes), &back), 0);
	CHECK(back.tree_size == cp.tree_size && back.time_ns == cp.time_ns);
	CHECK(memcmp(&back.root, cp.root, 32) == 0);
	CHECK(memcmp(back.signature, cp.signature, 64) == 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);

	checkpoint_hash(&cp, digest);
	crypto_hash_sha256(back.root, bytes, sizeof(bytes));
	CHECK(memcmp(digest, back.root, 32) == 0);
}

/* Every single-bit change of the 164 bytes is refused by decode or verify. */
static void test_every_bit_refused(void)
{
	struct checkpoint cp, back;
	unsigned char bytes[CHECKPOINT_BYTES];
	size_t bit;
	int accepted = 0;

	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	for (bit = 0; bit < 8 * sizeof(bytes); bit++) {
		bytes[bit / 8] ^= (unsigned char)(1u << bit % 8);
		if (checkpoint_decode(bytes, sizeof(bytes), &back) == 0 &&
		    checkpoint_verify(&back, key.public_key) == 0)
			accepted++;
		bytes[bit / 8] ^= (unsigned char)(1u << bit % 8);
	}
	CHECK_INT(accepted, 0);
	CHECK_INT(checkpoint_decode(bytes, sizeof(bytes), &back), 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
}

static void test_wrong_key(void)
{
	struct checkpoint cp;

	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	CHECK_INT(checkpoint_verify(&cp, other_key.public_key), -ENOKEY);
	/* signed by the other key but claiming this key's id */
	CHECK_INT(checkpoint_sign(&cp, &other_key), 0);
	memcpy(cp.key_id, key.key_id, sizeof(cp.key_id));
	CHECK_INT(checkpoint_verify(&cp, key.public_key), -EKEYREJECTED);
}

static void test_decode_limits(void)
{
	struct checkpoint cp, back;
	unsigned char bytes[CHECKPOINT_BYTES + 1];

	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	bytes[CHECKPOINT_BYTES] = 0;
	CHECK_INT(checkpoint_decode(bytes, 0, &back), -EMSGSIZE);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES - 1, &back), -EMSGSIZE);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES + 1, &back), -EMSGSIZE);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), 0);

	bytes[7] = '2';
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), -ENOMSG);
	bytes[7] = '1';
	bytes[8] = 2;
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), -EPROTONOSUPPORT);
	bytes[8] = 0;
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), -EPROTONOSUPPORT);
	bytes[8] = 1;
	bytes[11] = 1;          /* version 0x01000001 */
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), -EPROTONOSUPPORT);
	bytes[11] = 0;

	/* size 0: only with the empty root */
	cp.tree_size = 0;
	CHECK_INT(checkpoint_sign(&cp, &key), -EINVAL);
	merkle_empty_root(cp.root);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
	bytes[20] ^= 1;
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), -EBADMSG);

	/* the largest size and time */
	sample_checkpoint(&cp);
	cp.tree_size = UINT64_MAX;
	cp.time_ns = UINT64_MAX;
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &back), 0);
	CHECK(back.tree_size == UINT64_MAX && back.time_ns == UINT64_MAX);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
}

static void test_text(void)
{
	struct checkpoint cp, back;
	char text[CHECKPOINT_TEXT_BYTES], buf[2 * CHECKPOINT_TEXT_BYTES];
	size_t n = CHECKPOINT_TEXT_BYTES - 1, i;

	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_to_text(&cp, text);
	CHECK_INT(strlen(text), n);
	CHECK(strncmp(text, "504854434b505431", 16) == 0);       /* "PHTCKPT1" */
	CHECK_INT(checkpoint_from_text(text, n, &back), 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
	CHECK(memcmp(back.signature, cp.signature, 64) == 0);

	memcpy(buf, text, n);
	buf[n] = '\n';
	CHECK_INT(checkpoint_from_text(buf, n + 1, &back), 0);
	buf[n + 1] = '\n';
	CHECK_INT(checkpoint_from_text(buf, n + 2, &back), -EINVAL);
	buf[n] = '\r';
	CHECK_INT(checkpoint_from_text(buf, n + 2, &back), -EINVAL);
	buf[n] = ' ';
	CHECK_INT(checkpoint_from_text(buf, n + 1, &back), -EINVAL);
	buf[n] = '0';
	buf[n + 1] = '0';
	CHECK_INT(checkpoint_from_text(buf, n + 2, &back), -EMSGSIZE);  /* a byte too many */
	CHECK_INT(checkpoint_from_text(buf, n + 1, &back), -EINVAL);    /* odd */
	CHECK_INT(checkpoint_from_text(text, n - 2, &back), -EMSGSIZE);  /* a byte short */
	CHECK_INT(checkpoint_from_text(text, n - 1, &back), -EINVAL);
	CHECK_INT(checkpoint_from_text(text, 0, &back), -EINVAL);
	CHECK_INT(checkpoint_from_text("\n", 1, &back), -EINVAL);

	/* upper case is read; any non-hex character anywhere is not */
	for (i = 0; i < n; i++)
		buf[i] = (char)(text[i] >= 'a' ? text[i] - 32 : text[i]);
	CHECK_INT(checkpoint_from_text(buf, n, &back), 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
	for (i = 0; i < n; i += 41) {
		memcpy(buf, text, n);
		buf[i] = 'g';
		CHECK_INT(checkpoint_from_text(buf, n, &back), -EINVAL);
	}
	buf[0] = ' ';
	CHECK_INT(checkpoint_from_text(buf, n, &back), -EINVAL);
	/* valid hex, wrong magic */
	memcpy(buf, text, n);
	buf[0] = '6';
	CHECK_INT(checkpoint_from_text(buf, n, &back), -ENOMSG);

	CHECK_STR(checkpoint_strerror(-EKEYREJECTED), "bad signature");
	CHECK_STR(checkpoint_strerror(-ENOMSG), "not a phitrail checkpoint (bad magic)");
	CHECK(checkpoint_strerror(-ENOENT) != NULL);
}

static void path_in_tmp(char *out, size_t room, const char *name)
{
	snprintf(out, room, "%s/%s", tmpdir, name);
}

static int write_file(const char *path, mode_t mode, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok && chmod(path, mode) == 0 ? 0 : -1;
}

static void test_key_files(void)
{
	char sec[512], pub[512], bad[512], link_path[512], text[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES];
	struct checkpoint_key loaded;
	unsigned char pk[32];
	struct stat st;
	mode_t old_umask;
	char big[300];

	path_in_tmp(sec, sizeof(sec), "signing.key");
	path_in_tmp(pub, sizeof(pub), "signing.pub");
	path_in_tmp(bad, sizeof(bad), "bad.key");
	path_in_tmp(link_path, sizeof(link_path), "link.key");

	/* the modes are exact whatever the umask */
	old_umask = umask(0277);
	CHECK_INT(checkpoint_secret_key_save(sec, &key), 0);
	umask(old_umask);
	CHECK(stat(sec, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(st.st_size == 87);
	CHECK_INT(checkpoint_secret_key_save(sec, &other_key), -EEXIST);
	memset(&loaded, 0, sizeof(loaded));
	CHECK_INT(checkpoint_secret_key_load(sec, &loaded), 0);
	CHECK(memcmp(&loaded, &key, sizeof(key)) == 0);

	CHECK(chmod(sec, 0640) == 0);
	CHECK_INT(checkpoint_secret_key_load(sec, &loaded), -EPERM);
	CHECK(chmod(sec, 0604) == 0);
	CHECK_INT(checkpoint_secret_key_load(sec, &loaded), -EPERM);
	CHECK(chmod(sec, 0400) == 0);
	CHECK_INT(checkpoint_secret_key_load(sec, &loaded), 0);

	CHECK(symlink(sec, link_path) == 0);
	CHECK_INT(checkpoint_secret_key_load(link_path, &loaded), -ELOOP);
	CHECK_INT(checkpoint_secret_key_save(link_path, &key), -EEXIST);
	CHECK_INT(checkpoint_secret_key_load(tmpdir, &loaded), -EINVAL);

	/* public key file and text */
	old_umask = umask(077);
	CHECK_INT(checkpoint_public_key_save(pub, key.public_key), 0);
	umask(old_umask);
	CHECK(stat(pub, &st) == 0 && st.st_size == 65 && (st.st_mode & 07777) == 0644);
	CHECK_INT(checkpoint_public_key_save(pub, key.public_key), -EEXIST);
	CHECK_INT(checkpoint_public_key_load(pub, pk), 0);
	CHECK(memcmp(pk, key.public_key, 32) == 0);
	checkpoint_public_key_to_text(key.public_key, text);
	CHECK_STR(text, rfc8032_public);
	CHECK_INT(checkpoint_public_key_from_text(text, 64, pk), 0);
	CHECK_INT(checkpoint_public_key_from_text(text, 63, pk), -EINVAL);
	CHECK_INT(checkpoint_public_key_from_text(text, 65, pk), -EINVAL);  /* the NUL */

	/* neither file is taken for the other */
	CHECK_INT(checkpoint_public_key_load(sec, pk), -EINVAL);
	CHECK(chmod(pub, 0600) == 0);
	CHECK_INT(checkpoint_secret_key_load(pub, &loaded), -EINVAL);

	/* damaged secret key files */
	CHECK(write_file(bad, 0600, "PHITRAIL-SECRET-KEY-1 00\n", 25) == 0);
	CHECK_INT(checkpoint_secret_key_load(bad, &loaded), -EINVAL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "PHITRAIL-SECRET-KEY-1 ", 22);
	CHECK(write_file(bad, 0600, big, sizeof(big)) == 0);
	CHECK_INT(checkpoint_secret_key_load(bad, &loaded), -EINVAL);
	CHECK(write_file(bad, 0600, big, 22 + 64) == 0);
	CHECK_INT(checkpoint_secret_key_load(bad, &loaded), 0);  /* no newline: fine */
	big[40] = 'x';
	CHECK(write_file(bad, 0600, big, 22 + 64) == 0);
	CHECK_INT(checkpoint_secret_key_load(bad, &loaded), -EINVAL);
	CHECK_INT(checkpoint_secret_key_load("/nonexistent/phitrail.key", &loaded), -ENOENT);

	checkpoint_key_wipe(&loaded);
	CHECK(loaded.secret_key[0] == 0 && loaded.secret_key[63] == 0);
	unlink(sec);
	unlink(pub);
	unlink(bad);
	unlink(link_path);
}

static void test_load_text(void)
{
	struct checkpoint cp, back;
	char path[512], text[CHECKPOINT_TEXT_BYTES + 1];
	static char big[5000];

	path_in_tmp(path, sizeof(path), "since.ckpt");
	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_to_text(&cp, text);
	strcat(text, "\n");
	CHECK(write_file(path, 0644, text, strlen(text)) == 0);
	CHECK_INT(checkpoint_load_text(path, &back), 0);
	CHECK_INT(checkpoint_verify(&back, key.public_key), 0);
	memset(big, '0', sizeof(big));
	CHECK(write_file(path, 0644, big, sizeof(big)) == 0);
	CHECK_INT(checkpoint_load_text(path, &back), -EMSGSIZE);
	CHECK(write_file(path, 0644, "hello\n", 6) == 0);
	CHECK_INT(checkpoint_load_text(path, &back), -EINVAL);
	unlink(path);
	CHECK_INT(checkpoint_load_text(path, &back), -ENOENT);
}

/* ---- retention cuts --------------------------------------------------- */

static void record_leaf(uint64_t id, const char *tamper, merkle_hash out)
{
	char bytes[64];
	int n = snprintf(bytes, sizeof(bytes), "record %llu%s",
			 (unsigned long long)id, tamper ? tamper : "");

	merkle_leaf_hash(bytes, (size_t)n, out);
}

static void test_cut_roundtrip(void)
{
	static const uint64_t sizes[] = { 1, 2, 3, 7, 8, 63, 64, 1000 };
	unsigned char bytes[CHECKPOINT_CUT_MAX_BYTES + 1], prev[32];
	struct merkle_builder full, at_cut, resumed;
	struct checkpoint_cut cut, back;
	merkle_hash leaf, want, got;
	size_t k, len, bit;
	uint64_t i;
	int accepted = 0;

	memset(prev, 0x5a, sizeof(prev));
	merkle_builder_init(&at_cut);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		merkle_builder_init(&full);
		for (i = 0; i < 1200; i++) {
			if (i == sizes[k])
				at_cut = full;
			record_leaf(i, NULL, leaf);
			merkle_builder_append(&full, leaf);
		}
		merkle_builder_root(&full, want);

		CHECK_INT(checkpoint_cut_make(&cut, &at_cut, 42, prev, &key), 0);
		CHECK_INT(cut.frontier_count, __builtin_popcountll(sizes[k]));
		CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), 0);
		CHECK_INT(len, CHECKPOINT_CUT_BYTES(cut.frontier_count));
		CHECK(memcmp(bytes, "PHTRCUT1", 8) == 0);
		CHECK_INT(bytes[100], cut.frontier_count);
		CHECK(crypto_sign_verify_detached(bytes + len - 64, bytes, len - 64,
						  key.public_key) == 0);
		CHECK_INT(checkpoint_cut_decode(bytes, len, &back), 0);
		CHECK_INT(checkpoint_cut_verify(&back, key.public_key), 0);
		CHECK_INT(checkpoint_cut_verify(&back, other_key.public_key), -ENOKEY);

		/* resumed at the cut, the retained records give the full root */
		CHECK_INT(checkpoint_cut_resume(&back, &resumed), 0);
		for (i = sizes[k]; i < 1200; i++) {
			record_leaf(i, NULL, leaf);
			merkle_builder_append(&resumed, leaf);
		}
		merkle_builder_root(&resumed, got);
		CHECK(memcmp(got, want, 32) == 0);

		/* lengths one off */
		CHECK_INT(checkpoint_cut_decode(bytes, len - 1, &back), -EMSGSIZE);
		bytes[len] = 0;
		CHECK_INT(checkpoint_cut_decode(bytes, len + 1, &back), -EMSGSIZE);
		CHECK_INT(checkpoint_cut_encode(&cut, bytes, len - 1, &len), -ENOBUFS);

		/* every bit of the small ones, one per byte of the larger */
		for (bit = 0; bit < 8 * len; bit += len < 400 ? 1 : 9) {
			bytes[bit / 8] ^= (unsigned char)(1u << bit % 8);
			if (checkpoint_cut_decode(bytes, len, &back) == 0 &&
			    checkpoint_cut_verify(&back, key.public_key) == 0)
				accepted++;
			bytes[bit / 8] ^= (unsigned char)(1u << bit % 8);
		}
	}
	CHECK_INT(accepted, 0);
}

static void test_cut_limits(void)
{
	unsigned char bytes[CHECKPOINT_CUT_MAX_BYTES], prev[32] = { 0 };
	struct checkpoint_cut cut, back;
	struct merkle_builder b;
	merkle_hash frontier[MERKLE_MAX_DEPTH];
	struct checkpoint cp;
	size_t len, i;

	/* nothing to cut */
	merkle_builder_init(&b);
	CHECK_INT(checkpoint_cut_make(&cut, &b, 1, prev, &key), -EINVAL);

	/* the largest cut: 2^64-1 records, 64 frontier hashes */
	for (i = 0; i < MERKLE_MAX_DEPTH; i++)
		record_leaf(i, NULL, frontier[i]);
	CHECK_INT(merkle_builder_resume(&b, UINT64_MAX, (const merkle_hash *)frontier, 64), 0);
	CHECK_INT(checkpoint_cut_make(&cut, &b, UINT64_MAX, prev, &key), 0);
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), 0);
	CHECK_INT(len, CHECKPOINT_CUT_MAX_BYTES);
	CHECK_INT(len, 165 + 64 * 32);
	CHECK_INT(checkpoint_cut_decode(bytes, len, &back), 0);
	CHECK_INT(checkpoint_cut_verify(&back, key.public_key), 0);
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, len - 1, &len), -ENOBUFS);

	/* a frontier count byte that lies */
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), 0);
	bytes[100] = 65;
	CHECK_INT(checkpoint_cut_decode(bytes, len, &back), -EBADMSG);
	bytes[100] = 255;
	CHECK_INT(checkpoint_cut_decode(bytes, len, &back), -EBADMSG);
	bytes[100] = 63;
	CHECK_INT(checkpoint_cut_decode(bytes, len - 32, &back), -EBADMSG);

	/* cut size 0, and a count that is not popcount(size) */
	cut.cut_size = 0;
	cut.frontier_count = 0;
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), -EINVAL);
	CHECK_INT(checkpoint_cut_hash(&cut, prev), -EINVAL);
	memcpy(bytes, "PHTRCUT1", 8);
	memset(bytes + 8, 0, 157);
	bytes[8] = 1;
	CHECK_INT(checkpoint_cut_decode(bytes, 165, &back), -EBADMSG);
	bytes[12] = 1;          /* size 1, count 0 */
	CHECK_INT(checkpoint_cut_decode(bytes, 165, &back), -EBADMSG);
	CHECK_INT(checkpoint_cut_decode(bytes, 164, &back), -EMSGSIZE);
	CHECK_INT(checkpoint_cut_decode(bytes, 0, &back), -EMSGSIZE);

	/* a frontier that does not fold to the root is refused even when the
	 * signature over it holds */
	merkle_builder_init(&b);
	for (i = 0; i < 5; i++)
		merkle_builder_append(&b, frontier[i]);
	CHECK_INT(checkpoint_cut_make(&cut, &b, 9, prev, &key), 0);
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), 0);
	CHECK_INT(checkpoint_cut_decode(bytes, len, &back), 0);
	bytes[20] ^= 1;                       /* the root */
	crypto_sign_detached(bytes + len - 64, NULL, bytes, len - 64, key.secret_key);
	CHECK_INT(checkpoint_cut_decode(bytes, len, &back), -EBADMSG);
	cut.root[0] ^= 1;
	CHECK_INT(checkpoint_cut_resume(&cut, &b), -EBADMSG);

	/* a checkpoint is never a cut, nor a cut a checkpoint */
	sample_checkpoint(&cp);
	CHECK_INT(checkpoint_sign(&cp, &key), 0);
	checkpoint_encode(&cp, bytes);
	bytes[164] = 0;
	CHECK_INT(checkpoint_cut_decode(bytes, 165, &back), -ENOMSG);
	merkle_builder_init(&b);
	merkle_builder_append(&b, frontier[0]);
	CHECK_INT(checkpoint_cut_make(&cut, &b, 7, prev, &key), 0);
	CHECK_INT(checkpoint_cut_encode(&cut, bytes, sizeof(bytes), &len), 0);
	CHECK_INT(checkpoint_decode(bytes, CHECKPOINT_BYTES, &cp), -ENOMSG);
}

/*
 * The retention design played through: 100 records, a checkpoint every 10,
 * chained; the oldest 37 removed under a cut. Verification resumes from the
 * cut and checks every later checkpoint; a record changed after the cut is
 * found at the first checkpoint that covers it.
 */
#define STORE_RECORDS 100
#define CUT_AT 37

struct signed_head {
	struct checkpoint cp;
	unsigned char hash[32];
};

static int verify_after_cut(const struct checkpoint_cut *cut,
			    const struct signed_head *heads, size_t count,
			    uint64_t tampered_id, uint64_t *bad_size)
{
	struct merkle_builder b;
	merkle_hash leaf, root;
	unsigned char cut_hash[32];
	uint64_t id;
	size_t h = 0;

	if (checkpoint_cut_verify(cut, key.public_key) != 0 ||
	    checkpoint_cut_resume(cut, &b) != 0 ||
	    checkpoint_cut_hash(cut, cut_hash) != 0)
		return -1;
	while (h < count && heads[h].cp.tree_size < cut->cut_size)
		h++;
	for (id = cut->cut_size; id < STORE_RECORDS; id++) {
		record_leaf(id, id == tampered_id ? " changed" : NULL, leaf);
		merkle_builder_append(&b, leaf);
		for (; h < count && heads[h].cp.tree_size == b.size; h++) {
			if (checkpoint_verify(&heads[h].cp, key.public_key) != 0)
				return -1;
			merkle_builder_root(&b, root);
			if (memcmp(root, heads[h].cp.root, 32) != 0) {
				*bad_size = b.size;
				return 1;
			}
		}
	}
	return 0;
}

static void test_retention_played_through(void)
{
	struct signed_head heads[STORE_RECORDS / 10 + 1];
	struct merkle_builder b, at_cut;
	struct checkpoint_cut cut;
	unsigned char zero[32] = { 0 }, cut_hash[32];
	merkle_hash leaf;
	size_t count = 0;
	uint64_t id, bad = 0;

	merkle_builder_init(&b);
	merkle_builder_init(&at_cut);
	for (id = 0; id < STORE_RECORDS; id++) {
		if (id == CUT_AT)
			at_cut = b;
		record_leaf(id, NULL, leaf);
		merkle_builder_append(&b, leaf);
		if (b.size % 10 == 0) {
			struct checkpoint *cp = &heads[count].cp;

			cp->tree_size = b.size;
			merkle_builder_root(&b, cp->root);
			cp->time_ns = 1000 + b.size;
			memcpy(cp->prev_hash, count ? heads[count - 1].hash : zero, 32);
			CHECK_INT(checkpoint_sign(cp, &key), 0);
			checkpoint_hash(cp, heads[count].hash);
			count++;
		}
	}
	/* the cut, made later from the builder state at 37, chains to the
	 * newest checkpoint at the time */
	CHECK_INT(checkpoint_cut_make(&cut, &at_cut, 5000, heads[count - 1].hash, &key), 0);
	CHECK_INT(checkpoint_cut_hash(&cut, cut_hash), 0);
	CHECK(memcmp(cut.prev_hash, heads[count - 1].hash, 32) == 0);

	CHECK_INT(verify_after_cut(&cut, heads, count, UINT64_MAX, &bad), 0);
	CHECK_INT(verify_after_cut(&cut, heads, count, 55, &bad), 1);
	CHECK_INT(bad, 60);
	CHECK_INT(verify_after_cut(&cut, heads, count, 37, &bad), 1);
	CHECK_INT(bad, 40);
	/* a cut signed by another key is refused */
	CHECK_INT(checkpoint_cut_make(&cut, &at_cut, 5000, heads[count - 1].hash, &other_key), 0);
	CHECK_INT(verify_after_cut(&cut, heads, count, UINT64_MAX, &bad), -1);
	/* the cut commits to the removed records: a cut over a rewritten
	 * past, even signed with the right key, fails the next checkpoint */
	merkle_builder_init(&at_cut);
	for (id = 0; id < CUT_AT; id++) {
		record_leaf(id, id == 12 ? " changed" : NULL, leaf);
		merkle_builder_append(&at_cut, leaf);
	}
	CHECK_INT(checkpoint_cut_make(&cut, &at_cut, 5000, heads[count - 1].hash, &key), 0);
	CHECK_INT(verify_after_cut(&cut, heads, count, UINT64_MAX, &bad), 1);
	CHECK_INT(bad, 40);
}

int main(void)
{
	unsigned char seed[32];

	if (checkpoint_init() < 0) {
		printf("FAIL checkpoint_init\n");
		return 1;
	}
	from_hex(rfc8032_seed, seed, sizeof(seed));
	if (checkpoint_key_from_seed(&key, seed) < 0 ||
	    checkpoint_key_generate(&other_key) < 0 ||
	    mkdtemp(tmpdir) == NULL) {
		printf("FAIL setup\n");
		return 1;
	}
	RUN(test_keys_from_seed);
	RUN(test_layout);
	RUN(test_every_bit_refused);
	RUN(test_wrong_key);
	RUN(test_decode_limits);
	RUN(test_text);
	RUN(test_key_files);
	RUN(test_load_text);
	RUN(test_cut_roundtrip);
	RUN(test_cut_limits);
	RUN(test_retention_played_through);
	rmdir(tmpdir);
	checkpoint_key_wipe(&key);
	checkpoint_key_wipe(&other_key);
	return unit_done();
}
