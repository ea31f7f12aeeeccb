/*
 * spool.c - the byte layout of spool files (spool.h): the 64-byte header,
 * the length + CRC-32C framing of records, and the CRC-32C itself.
 *
 * Owns only bytes in memory: the shim encodes headers and frames before it
 * writes them, the collector checks what it read. Decoding treats every byte
 * as untrusted (the file may have been cut short or tampered with): lengths
 * are checked before use, and nothing here reads past the given length.
 *
 * Must never do I/O, allocate, or keep state beyond the one word that says
 * which CRC-32C way this CPU takes; the CRC tables are constant.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "crc32c_tables.h"
#include "record.h"
#include "spool.h"

_Static_assert(SPOOL_MAX_PAYLOAD == RECORD_MAX_BYTES,
	       "a spool frame holds exactly one largest record");

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78). Two ways to the same
 * result: the SSE4.2 crc32 instruction, eight bytes per instruction, where
 * the CPU has it; else constant tables, eight bytes per step (slice-by-8).
 * The way is chosen on the first call (cpuid, no system call, no allocation,
 * safe in a signal handler and before any constructor has run) and kept in
 * one word; two threads racing to choose store the same value.
 */
enum crc32c_way {
	CRC32C_UNCHOSEN = 0,
	CRC32C_TABLE,
	CRC32C_SSE42,
};

static int crc32c_way;              /* enum crc32c_way, accessed atomically */

uint32_t spool_crc32c_table(uint32_t crc, const void *data, size_t len)
{
	const uint32_t (*t)[256] = crc32c_tables;
	const unsigned char *p = data;
	uint32_t lo, hi;

	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		lo = crc ^ get32(p);
		hi = get32(p + 4);
		crc = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^
		    t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
		    t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^
		    t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
	}
	while (len-- > 0)
		crc = t[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned long long c = ~crc;
	unsigned long long word;
	uint32_t half;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&word, p, 8);          /* unaligned starts are fine */
		c = __builtin_ia32_crc32di(c, word);
	}
	if (len >= 4) {
		memcpy(&half, p, 4);
		c = __builtin_ia32_crc32si((uint32_t)c, half);
		p += 4;
		len -= 4;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

static int crc32c_choose(void)
{
	int way = CRC32C_TABLE;

#if defined(__x86_64__)
	__builtin_cpu_init();     /* may run before libgcc's constructor did */
	if (__builtin_cpu_supports("sse4.2"))
		way = CRC32C_SSE42;
#endif
	__atomic_store_n(&crc32c_way, way, __ATOMIC_RELAXED);
	return way;
}

int spool_crc32c_hardware(void)
{
	int way = __atomic_load_n(&crc32c_way, __ATOMIC_RELAXED);

	if (way == CRC32C_UNCHOSEN)
		way = crc32c_choose();
	return way == CRC32C_SSE42;
}

uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len)
{
	int way = __atomic_load_n(&crc32c_way, __ATOMIC_RELAXED);

	if (__builtin_expect(way == CRC32C_UNCHOSEN, 0))
		way = crc32c_choose();
#if defined(__x86_64__)
	if (way == CRC32C_SSE42)
		return crc32c_sse42(crc, data, len);
#endif
	return spool_crc32c_table(crc, data, len);
}

/* Header field offsets, as in spool.h. */
enum {
	HDR_MAGIC = 0,
	HDR_VERSION = 8,
	HDR_SIZE = 12,
	HDR_FLAGS = 16,
	HDR_PID = 20,
	HDR_UID = 24,
	HDR_GID = 28,
	HDR_START_TIME = 32,
	HDR_CREATED = 40,
	HDR_RESERVED = 48,
	HDR_RESERVED_BYTES = 12,
	HDR_CRC = 60,
};

#define SPOOL_KNOWN_FLAGS (SPOOL_FLAG_COLLECTOR | SPOOL_FLAG_FALLBACK)

/* Always writes the current format version, whatever h->version says. */
void spool_header_encode(const struct spool_header *h,
			 unsigned char out[SPOOL_HEADER_BYTES])
{
	memset(out, 0, SPOOL_HEADER_BYTES);
	/* 8 bytes, no NUL, by design */
	memcpy(out + HDR_MAGIC, SPOOL_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result) */
	put32(out + HDR_VERSION, SPOOL_FORMAT_VERSION);
	put32(out + HDR_SIZE, SPOOL_HEADER_BYTES);
	put32(out + HDR_FLAGS, h->flags);
	put32(out + HDR_PID, h->pid);
	put32(out + HDR_UID, h->uid);
	put32(out + HDR_GID, h->gid);
	put64(out + HDR_START_TIME, h->start_time_ticks);
	put64(out + HDR_CREATED, h->created_ns);
	put32(out + HDR_CRC, spool_crc32c(0, out, HDR_CRC));
}

int spool_header_decode(const unsigned char *buf, size_t len,
			struct spool_header *h)
{
	static const unsigned char zero[HDR_RESERVED_BYTES];
	uint32_t flags;

	if (len < SPOOL_HEADER_BYTES)
		return -EAGAIN;
	if (memcmp(buf + HDR_MAGIC, SPOOL_MAGIC, 8) != 0)
		return -EBADMSG;
	if (get32(buf + HDR_CRC) != spool_crc32c(0, buf, HDR_CRC))
		return -EBADMSG;
	if (get32(buf + HDR_VERSION) != SPOOL_FORMAT_VERSION ||
	    get32(buf + HDR_SIZE) != SPOOL_HEADER_BYTES)
		return -EBADMSG;
	flags = get32(buf + HDR_FLAGS);
	if ((flags & ~SPOOL_KNOWN_FLAGS) != 0 ||
	    memcmp(buf + HDR_RESERVED, zero, sizeof(zero)) != 0)
		return -EBADMSG;
	h->version = SPOOL_FORMAT_VERSION;
	h->flags = flags;
	h->pid = get32(buf + HDR_PID);
	h->uid = get32(buf + HDR_UID);
	h->gid = get32(buf + HDR_GID);
	h->start_time_ticks = get64(buf + HDR_START_TIME);
	h->created_ns = get64(buf + HDR_CREATED);
	return 0;
}

void spool_frame_header_encode(const void *payload, uint32_t payload_len,
			       unsigned char out[SPOOL_FRAME_HEADER_BYTES])
{
	put32(out, payload_len);
	put32(out + 4, spool_crc32c(0, payload, payload_len));
}

long spool_frame_decode(const unsigned char *buf, size_t len,
			const unsigned char **payload, uint32_t *payload_len,
			const char **why)
{
	const char *dummy;
	uint32_t n;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (len < 4)
		return 0;
	n = get32(buf);
	if (n == 0)
		return 0;
	if (n > SPOOL_MAX_PAYLOAD) {
		*why = "frame length over the largest record";
		return -EBADMSG;
	}
	if (len < SPOOL_FRAME_HEADER_BYTES + (size_t)n) {
		*why = "frame not complete";
		return -EAGAIN;
	}
	if (get32(buf + 4) != spool_crc32c(0, buf + SPOOL_FRAME_HEADER_BYTES, n)) {
		*why = "frame checksum does not match its payload";
		return -EBADMSG;
	}
	*payload = buf + SPOOL_FRAME_HEADER_BYTES;
	*payload_len = n;
	return (long)(SPOOL_FRAME_HEADER_BYTES + (size_t)n);
}
