/*
 * sha256.c - SHA-256 (FIPS 180-4): init/update/final over a 64-byte block
 * compression function, chosen once per process: the x86 SHA extensions
 * (SHA-NI, with SSSE3 and SSE4.1) when CPUID reports them, else portable C.
 * The collector hashes every stored record (a Merkle leaf) and about one
 * interior node per record; this is where that time goes.
 *
 * Owns the hash arithmetic only: what is hashed (RFC 6962 prefixes) is
 * merkle.c's business. Must never allocate, keep state outside the caller's
 * struct sha256 (except the one-time CPU check), or give a digest different
 * from the standard one: tests/unit/test_sha256.c checks both paths against
 * FIPS vectors and libsodium.
 */
#include <string.h>

#include "sha256.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_HAVE_X86 1
#endif

static const uint32_t round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void compress_portable(uint32_t state[8], const unsigned char *data,
			      size_t blocks)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (; blocks > 0; blocks--, data += 64) {
		for (i = 0; i < 16; i++)
			w[i] = load_be32(data + 4 * i);
		for (i = 16; i < 64; i++) {
			uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^
				      (w[i - 15] >> 3);
			uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^
				      (w[i - 2] >> 10);

			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		a = state[0]; b = state[1]; c = state[2]; d = state[3];
		e = state[4]; f = state[5]; g = state[6]; h = state[7];
		for (i = 0; i < 64; i++) {
			t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
			     ((e & f) ^ (~e & g)) + round_constants[i] + w[i];
			t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
			     ((a & b) ^ (a & c) ^ (b & c));
			h = g; g = f; f = e; e = d + t1;
			d = c; c = b; b = a; a = t1 + t2;
		}
		state[0] += a; state[1] += b; state[2] += c; state[3] += d;
		state[4] += e; state[5] += f; state[6] += g; state[7] += h;
	}
}

#ifdef SHA256_HAVE_X86
/*
 * The SHA-NI form: the state as two vectors ABEF and CDGH, four rounds per
 * message vector (two sha256rnds2), the schedule W[i] = msg2(msg1(W[i-4],
 * W[i-3]) + W[i-1]:W[i-2] shifted one word, W[i-1]).
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_sha_ni(uint32_t state[8], const unsigned char *data,
			    size_t blocks)
{
	const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
						 0x0405060700010203ULL);
	__m128i state0, state1, tmp, msg, w[4], abef_saved, cdgh_saved;
	int i;

	tmp = _mm_loadu_si128((const __m128i *)&state[0]);     /* DCBA */
	state1 = _mm_loadu_si128((const __m128i *)&state[4]);  /* HGFE */
	tmp = _mm_shuffle_epi32(tmp, 0xB1);                     /* CDAB */
	state1 = _mm_shuffle_epi32(state1, 0x1B);               /* EFGH */
	state0 = _mm_alignr_epi8(tmp, state1, 8);               /* ABEF */
	state1 = _mm_blend_epi16(state1, tmp, 0xF0);            /* CDGH */

	for (; blocks > 0; blocks--, data += 64) {
		abef_saved = state0;
		cdgh_saved = state1;
		for (i = 0; i < 16; i++) {
			__m128i *cur = &w[i & 3];

			if (i < 4) {
				*cur = _mm_shuffle_epi8(_mm_loadu_si128(
					(const __m128i *)(data + 16 * i)), byte_swap);
			} else {
				/* cur holds W[i-4]; the others W[i-3..i-1] */
				__m128i prev1 = w[(i - 1) & 3], prev2 = w[(i - 2) & 3];
				__m128i x = _mm_sha256msg1_epu32(*cur, w[(i - 3) & 3]);

				x = _mm_add_epi32(x, _mm_alignr_epi8(prev1, prev2, 4));
				*cur = _mm_sha256msg2_epu32(x, prev1);
			}
			msg = _mm_add_epi32(*cur, _mm_loadu_si128(
				(const __m128i *)&round_constants[4 * i]));
			state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
		}
		state0 = _mm_add_epi32(state0, abef_saved);
		state1 = _mm_add_epi32(state1, cdgh_saved);
	}

	tmp = _mm_shuffle_epi32(state0, 0x1B);                  /* FEBA */
	state1 = _mm_shuffle_epi32(state1, 0xB1);               /* DCHG */
	state0 = _mm_blend_epi16(tmp, state1, 0xF0);            /* DCBA */
	state1 = _mm_alignr_epi8(state1, tmp, 8);               /* HGFE */
	_mm_storeu_si128((__m128i *)&state[0], state0);
	_mm_storeu_si128((__m128i *)&state[4], state1);
}

static int cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 29)) != 0;          /* CPUID.7.0:EBX.SHA */
}
#endif

typedef void compress_fn(uint32_t state[8], const unsigned char *data,
			 size_t blocks);

static compress_fn *chosen;
static int portable_forced;

static compress_fn *compressor(void)
{
	if (chosen == NULL) {
		compress_fn *pick = compress_portable;
#ifdef SHA256_HAVE_X86
		if (!portable_forced && cpu_has_sha_ni())
			pick = compress_sha_ni;
#endif
		/* Racing threads pick the same function: a benign store. */
		__atomic_store_n(&chosen, pick, __ATOMIC_RELAXED);
	}
	return chosen;
}

int sha256_accelerated(void)
{
#ifdef SHA256_HAVE_X86
	return compressor() == compress_sha_ni;
#else
	return 0;
#endif
}

void sha256_force_portable(int portable)
{
	portable_forced = portable;
	chosen = NULL;
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->state, initial, sizeof(initial));
	s->total_bytes = 0;
	s->buffered = 0;
}

void sha256_update(struct sha256 *s, const void *bytes, size_t len)
{
	const unsigned char *p = bytes;
	compress_fn *compress = compressor();
	size_t take;

	s->total_bytes += len;
	if (s->buffered > 0) {
		take = 64 - s->buffered;
		if (take > len)
			take = len;
		memcpy(s->buffer + s->buffered, p, take);
		s->buffered += take;
		p += take;
		len -= take;
		if (s->buffered < 64)
			return;
		compress(s->state, s->buffer, 1);
		s->buffered = 0;
	}
	if (len >= 64) {
		compress(s->state, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	if (len > 0) {
		memcpy(s->buffer, p, len);
		s->buffered = len;
	}
}

void sha256_final(struct sha256 *s, unsigned char out[SHA256_BYTES])
{
	uint64_t bits = s->total_bytes * 8;
	compress_fn *compress = compressor();
	int i;

	s->buffer[s->buffered++] = 0x80;
	if (s->buffered > 56) {
		memset(s->buffer + s->buffered, 0, 64 - s->buffered);
		compress(s->state, s->buffer, 1);
		s->buffered = 0;
	}
	memset(s->buffer + s->buffered, 0, 56 - s->buffered);
	for (i = 0; i < 8; i++)
		s->buffer[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	compress(s->state, s->buffer, 1);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->state[i]);
	memset(s, 0, sizeof(*s));
}
