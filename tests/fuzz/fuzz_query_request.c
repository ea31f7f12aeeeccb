/*
 * fuzz_query_request.c - query_request_decode, query_response_kind and
 * query_stats_row_decode on arbitrary bytes. A request that decodes must
 * encode again and decode to the identical struct; so must a stats row.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct query_request q1, q2;
	static unsigned char again[QUERY_MAX_REQUEST * 2];
	static char key[QUERY_MAX_STRING], key2[QUERY_MAX_STRING];
	static unsigned char row[QUERY_MAX_STRING + 64];
	int64_t rows, rows2;
	int nil, nil2;
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

	if (query_stats_row_decode(data, size, key, sizeof(key), &nil, &rows) == 0) {
		assert(rows >= 1);
		assert(!nil || key[0] == '\0');
		n = query_stats_row_encode(nil ? NULL : key, rows, row, sizeof(row));
		assert(n > 0);
		assert(query_stats_row_decode(row, (size_t)n, key2, sizeof(key2),
					      &nil2, &rows2) == 0);
		assert(nil == nil2 && rows == rows2 && strcmp(key, key2) == 0);
	}

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
