/*
 * fuzz_query_request.c - query_request_decode and query_response_kind on
 * arbitrary bytes. A request that decodes must encode again and decode to
 * the identical struct.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct query_request q1, q2;
	static unsigned char again[QUERY_MAX_REQUEST * 2];
	const char *why = NULL;
	char message[32];
	int64_t count;
	long n;
	int kind;

	kind = query_response_kind(data, size, &count, message, sizeof(message));
	assert(kind == 1 || kind == 0 || kind == -1 || kind < -1);
	if (kind == 0)
		assert(count >= 0);
	if (kind == -1)
		assert(strlen(message) < sizeof(message));

	if (query_request_decode(data, size, &q1, &why) != 0) {
		assert(why != NULL);
		return 0;
	}
	n = query_request_encode(&q1, again, sizeof(again));
	assert(n > 0);
	assert(query_request_decode(again, (size_t)n, &q2, &why) == 0);
	assert(memcmp(&q1, &q2, sizeof(q1)) == 0);
	return 0;
}
