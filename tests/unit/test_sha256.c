/*
 * test_sha256.c - common/crypto/sha256.c: FIPS 180-4 vectors, then both
 * compression paths (SHA extensions if present, portable C) against
 * libsodium over every length 0..1100 and every split of the input into
 * two updates, so block and padding edges (55, 56, 63, 64, 119, 120 bytes)
 * are all crossed.
 */
#include <stdlib.h>

#include <sodium.h>

#include "sha256.h"
#include "unit.h"

static void hex(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < SHA256_BYTES; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void digest_of(const void *p, size_t len, char *out)
{
	struct sha256 s;
	unsigned char d[SHA256_BYTES];

	sha256_init(&s);
	sha256_update(&s, p, len);
	sha256_final(&s, d);
	hex(d, out);
}

static void vectors(void)
{
	char got[65];

	digest_of("", 0, got);
	CHECK_STR(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_of("abc", 3, got);
	CHECK_STR(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, got);
	CHECK_STR(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void against_libsodium(void)
{
	static unsigned char data[1100];
	unsigned char want[SHA256_BYTES], got[SHA256_BYTES];
	size_t len, split, i;
	int mismatches = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (len = 0; len <= sizeof(data); len++) {
		crypto_hash_sha256(want, data, len);
		for (split = 0; split <= len; split += (len < 200 ? 1 : 37)) {
			struct sha256 s;

			sha256_init(&s);
			sha256_update(&s, data, split);
			sha256_update(&s, data + split, len - split);
			sha256_final(&s, got);
			mismatches += memcmp(got, want, sizeof(want)) != 0;
		}
	}
	CHECK_INT(mismatches, 0);
}

static void test_sha256_default_path(void)
{
	sha256_force_portable(0);
	printf("# sha256: %s\n", sha256_accelerated() ? "SHA extensions" : "portable");
	vectors();
	against_libsodium();
}

static void test_sha256_portable_path(void)
{
	sha256_force_portable(1);
	CHECK_INT(sha256_accelerated(), 0);
	vectors();
	against_libsodium();
	sha256_force_portable(0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_sha256_default_path);
	RUN(test_sha256_portable_path);
	return unit_done();
}
