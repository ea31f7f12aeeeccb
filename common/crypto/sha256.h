/*
 * sha256.h - SHA-256 (FIPS 180-4) for the Merkle tree's hot path.
 *
 * The same digests as libsodium's crypto_hash_sha256, faster: the x86 SHA
 * extensions when the CPU has them (checked once, at the first call), a
 * portable C compression function otherwise.
 */
#ifndef PHITRAIL_SHA256_H
#define PHITRAIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256 {
	uint32_t state[8];
	uint64_t total_bytes;
	size_t buffered;
	unsigned char buffer[64];
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *bytes, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_BYTES]);
/* 1 when the SHA extensions are used, 0 for the portable code. */
int sha256_accelerated(void);
/* Forces the portable code (1) or lets the CPU decide (0); for tests. */
void sha256_force_portable(int portable);

#endif
