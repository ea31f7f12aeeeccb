/*
 * fuzz_spool_frame.c - a spool file from arbitrary bytes: the header, then
 * frames walked to the end the way the collector reads them. A frame that
 * decodes re-encodes to the same 8 header bytes; a decoded header encodes to
 * the same 64 bytes.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "record.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char arena[RECORD_ARENA_BYTES];
	struct spool_header h;
	unsigned char again[SPOOL_HEADER_BYTES];
	size_t pos = 0;
	int rc;

	rc = spool_header_decode(data, size, &h);
	assert(rc == 0 || rc == -EAGAIN || rc == -EBADMSG);
	if (rc == 0) {
		spool_header_encode(&h, again);
		assert(memcmp(again, data, SPOOL_HEADER_BYTES) == 0);
		pos = SPOOL_HEADER_BYTES;
	}
	for (;;) {
		const unsigned char *payload = NULL;
		uint32_t len = 0;
		const char *why = NULL;
		unsigned char fh[SPOOL_FRAME_HEADER_BYTES];
		struct record r;
		long n;

		n = spool_frame_decode(data + pos, size - pos, &payload, &len, &why);
		if (n <= 0) {
			assert(n == 0 || n == -EAGAIN || n == -EBADMSG);
			assert(n != -EBADMSG || why != NULL);
			break;
		}
		assert((size_t)n == SPOOL_FRAME_HEADER_BYTES + len);
		assert((size_t)n <= size - pos);
		assert(payload == data + pos + SPOOL_FRAME_HEADER_BYTES);
		spool_frame_header_encode(payload, len, fh);
		assert(memcmp(fh, data + pos, sizeof(fh)) == 0);
		(void)record_decode(payload, len, &r, arena, sizeof(arena), &why);
		pos += (size_t)n;
	}
	return 0;
}
