/*
 * test_spool.c - the spool file byte layout: CRC-32C check values, header
 * encode/decode and each way a header is refused, frames (whole, partial,
 * zero length word, bad length, bad checksum) and walking a run of frames.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "spool.h"
#include "unit.h"

static void test_crc32c(void)
{
	unsigned char zeros[32] = { 0 }, ones[32];

	/* Check values from RFC 3720 (iSCSI), appendix B.4. */
	memset(ones, 0xff, sizeof(ones));
	CHECK(spool_crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(spool_crc32c(0, zeros, sizeof(zeros)) == 0x8a9136aau);
	CHECK(spool_crc32c(0, ones, sizeof(ones)) == 0x62a8ab43u);
	CHECK(spool_crc32c(0, "", 0) == 0);
	/* incremental == one shot */
	CHECK(spool_crc32c(spool_crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
}

/* Bit at a time, straight from the definition: the reference for both ways. */
static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/*
 * Every length 0..300 at every start offset 0..7 (unaligned loads), random
 * bytes and random starting CRCs: the table way, the dispatching entry (the
 * SSE4.2 way on a CPU that has it) and the reference agree.
 */
static void test_crc32c_ways_agree(void)
{
	static unsigned char buf[300 + 8];
	uint64_t state = 0x9e3779b97f4a7c15ull;
	size_t len, start, i;
	int wrong = 0;

	printf("     crc32c: %s way\n",
	       spool_crc32c_hardware() ? "SSE4.2 and table" : "table only (no SSE4.2)");
	for (len = 0; len <= 300; len++) {
		for (start = 0; start < 8; start++) {
			uint32_t seed, want;

			for (i = 0; i < sizeof(buf); i++) {
				state ^= state << 13;
				state ^= state >> 7;
				state ^= state << 17;
				buf[i] = (unsigned char)state;
			}
			seed = (start & 1) ? (uint32_t)(state >> 32) : 0;
			want = crc32c_bitwise(seed, buf + start, len);
			if (spool_crc32c_table(seed, buf + start, len) != want ||
			    spool_crc32c(seed, buf + start, len) != want)
				wrong++;
		}
	}
	CHECK_INT(wrong, 0);
	/* the known answer, and chaining across the 8-byte steps */
	CHECK(spool_crc32c_table(0, "123456789", 9) == 0xe3069283u);
	CHECK(spool_crc32c(spool_crc32c(0, "123456789abcdef", 15), "0", 1) ==
	      crc32c_bitwise(0, (const unsigned char *)"123456789abcdef0", 16));
}

static void test_header_round_trip(void)
{
	struct spool_header in = { 0, SPOOL_FLAG_COLLECTOR, 4242, 1000, 100,
				   123456789012ull, 1795000000123456789ull };
	struct spool_header out;
	unsigned char b[SPOOL_HEADER_BYTES];

	spool_header_encode(&in, b);
	CHECK(memcmp(b, "PHTSPOOL", 8) == 0);
	CHECK_INT(b[8], 1);                         /* version, little endian */
	CHECK_INT(b[12], 64);                       /* header size */
	CHECK_INT(b[20] | b[21] << 8, 4242);        /* pid */
	CHECK_INT(spool_header_decode(b, sizeof(b), &out), 0);
	CHECK_INT(out.version, SPOOL_FORMAT_VERSION);
	CHECK_INT(out.flags, SPOOL_FLAG_COLLECTOR);
	CHECK_INT(out.pid, 4242);
	CHECK_INT(out.uid, 1000);
	CHECK_INT(out.gid, 100);
	CHECK(out.start_time_ticks == 123456789012ull);
	CHECK(out.created_ns == 1795000000123456789ull);
	/* more bytes after the header are the frames: fine */
	CHECK_INT(spool_header_decode(b, sizeof(b) + 0, &out), 0);
}

static void test_header_rejects(void)
{
	struct spool_header in = { 0, SPOOL_FLAG_FALLBACK, 1, 2, 3, 4, 5 };
	struct spool_header out;
	unsigned char b[SPOOL_HEADER_BYTES], bad[SPOOL_HEADER_BYTES];
	size_t i;

	spool_header_encode(&in, b);
	CHECK_INT(spool_header_decode(b, SPOOL_HEADER_BYTES - 1, &out), -EAGAIN);
	CHECK_INT(spool_header_decode(b, 0, &out), -EAGAIN);
	/* flipping any single bit of the 64 bytes is caught */
	for (i = 0; i < SPOOL_HEADER_BYTES * 8; i++) {
		memcpy(bad, b, sizeof(bad));
		bad[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (spool_header_decode(bad, sizeof(bad), &out) != -EBADMSG) {
			fprintf(stderr, "bit %zu not caught\n", i);
			CHECK(0);
		}
	}
	/* a correct checksum over a wrong version, size, flag or reserved byte */
	{
		static const size_t offsets[] = { 8, 12, 16, 48, 59 };
		uint32_t crc;

		for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			memcpy(bad, b, sizeof(bad));
			bad[offsets[i]] ^= 0x40;
			crc = spool_crc32c(0, bad, 60);
			bad[60] = (unsigned char)crc;
			bad[61] = (unsigned char)(crc >> 8);
			bad[62] = (unsigned char)(crc >> 16);
			bad[63] = (unsigned char)(crc >> 24);
			CHECK_INT(spool_header_decode(bad, sizeof(bad), &out), -EBADMSG);
		}
	}
}

static void test_frame_round_trip(void)
{
	unsigned char b[64];
	const unsigned char *payload = NULL;
	uint32_t len = 0;
	const char *why = "unset";

	spool_frame_header_encode("\x81\xa1v\x01", 4, b);
	memcpy(b + 8, "\x81\xa1v\x01", 4);
	CHECK_INT(b[0], 4);
	CHECK_INT(spool_frame_decode(b, 12, &payload, &len, &why), 12);
	CHECK(payload == b + 8);
	CHECK_INT(len, 4);
	CHECK(why == NULL);
	/* more data after the frame is the next frame */
	memset(b + 12, 0, 8);
	CHECK_INT(spool_frame_decode(b, 20, &payload, &len, &why), 12);
}

static void test_frame_states(void)
{
	unsigned char b[SPOOL_FRAME_HEADER_BYTES + SPOOL_MAX_PAYLOAD + 1];
	const unsigned char *payload;
	uint32_t len;
	const char *why;
	size_t i;

	memset(b, 0, sizeof(b));
	/* nothing written: fewer than 4 bytes, or a zero length word */
	CHECK_INT(spool_frame_decode(b, 0, &payload, &len, &why), 0);
	CHECK_INT(spool_frame_decode(b, 3, &payload, &len, &why), 0);
	CHECK_INT(spool_frame_decode(b, 100, &payload, &len, &why), 0);
	/* partial: every cut of a whole frame waits */
	memset(b + 8, 'x', 10);
	spool_frame_header_encode(b + 8, 10, b);
	for (i = 4; i < 18; i++)
		CHECK_INT(spool_frame_decode(b, i, &payload, &len, &why), -EAGAIN);
	CHECK_INT(spool_frame_decode(b, 18, &payload, &len, &why), 18);
	/* bad checksum */
	b[12] ^= 1;
	CHECK_INT(spool_frame_decode(b, 18, &payload, &len, &why), -EBADMSG);
	CHECK_STR(why, "frame checksum does not match its payload");
	b[12] ^= 1;
	b[4] ^= 0x80;
	CHECK_INT(spool_frame_decode(b, 18, &payload, &len, &why), -EBADMSG);
	/* length at the limit and one past */
	memset(b + 8, 'y', SPOOL_MAX_PAYLOAD);
	spool_frame_header_encode(b + 8, SPOOL_MAX_PAYLOAD, b);
	CHECK_INT(spool_frame_decode(b, 8 + SPOOL_MAX_PAYLOAD, &payload, &len, &why),
		  8 + SPOOL_MAX_PAYLOAD);
	spool_frame_header_encode(b + 8, SPOOL_MAX_PAYLOAD + 1, b);
	CHECK_INT(spool_frame_decode(b, sizeof(b), &payload, &len, &why), -EBADMSG);
	CHECK_STR(why, "frame length over the largest record");
	/* a huge length word is refused at once, not waited for */
	b[0] = b[1] = b[2] = b[3] = 0xff;
	CHECK_INT(spool_frame_decode(b, 8, &payload, &len, &why), -EBADMSG);
}

/* Three frames back to back, then zeros: a reader walks to the end and stops. */
static void test_frame_walk(void)
{
	unsigned char file[256];
	const char *payloads[] = { "\x90", "\x91\x01", "\x92\x01\x02" };
	const unsigned char *payload;
	uint32_t len;
	const char *why;
	size_t pos = 0, i;
	long n;

	memset(file, 0, sizeof(file));
	for (i = 0; i < 3; i++) {
		uint32_t plen = (uint32_t)strlen(payloads[i]);

		spool_frame_header_encode(payloads[i], plen, file + pos);
		memcpy(file + pos + 8, payloads[i], plen);
		pos += 8 + plen;
	}
	pos = 0;
	for (i = 0; i < 3; i++) {
		n = spool_frame_decode(file + pos, sizeof(file) - pos, &payload, &len, &why);
		CHECK_INT(n, 8 + (long)strlen(payloads[i]));
		if (n <= 0)
			return;
		CHECK(memcmp(payload, payloads[i], len) == 0);
		pos += (size_t)n;
	}
	CHECK_INT(spool_frame_decode(file + pos, sizeof(file) - pos, &payload, &len, &why), 0);
}

int main(void)
{
	RUN(test_crc32c);
	RUN(test_crc32c_ways_agree);
	RUN(test_header_round_trip);
	RUN(test_header_rejects);
	RUN(test_frame_round_trip);
	RUN(test_frame_states);
	RUN(test_frame_walk);
	return unit_done();
}
