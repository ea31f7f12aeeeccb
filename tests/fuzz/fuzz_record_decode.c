/*
 * fuzz_record_decode.c - record_decode on arbitrary bytes. A record that
 * decodes must encode again, and the re-encoded bytes must decode to the
 * same record (decode -> encode -> decode is the identity).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "query.h"
#include "record.h"

static int str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int record_same(const struct record *a, const struct record *b)
{
	size_t i;

	if (!str_same(a->workspace_id, b->workspace_id) ||
	    !str_same(a->actor_user_id, b->actor_user_id) ||
	    a->event_type != b->event_type ||
	    !str_same(a->end_user_id, b->end_user_id) ||
	    a->timestamp_sec != b->timestamp_sec ||
	    a->timestamp_nsec != b->timestamp_nsec || a->v != b->v ||
	    !str_same(a->host, b->host) || a->pid != b->pid || a->ppid != b->ppid ||
	    !str_same(a->exe, b->exe) || a->uid != b->uid || a->auid != b->auid ||
	    a->session != b->session || !str_same(a->target, b->target) ||
	    !str_same(a->target2, b->target2) || !str_same(a->rule, b->rule) ||
	    !str_same(a->result, b->result) || a->seq != b->seq ||
	    a->detail_count != b->detail_count || a->id != b->id ||
	    a->received_sec != b->received_sec ||
	    (a->received_sec != RECORD_ABSENT && a->received_nsec != b->received_nsec) ||
	    !str_same(a->identity, b->identity))
		return 0;
	for (i = 0; i < a->detail_count; i++) {
		if (!str_same(a->detail[i].key, b->detail[i].key) ||
		    !str_same(a->detail[i].str, b->detail[i].str) ||
		    (a->detail[i].str == NULL && a->detail[i].num != b->detail[i].num))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char arena1[RECORD_ARENA_BYTES], arena2[RECORD_ARENA_BYTES];
	static unsigned char again[RECORD_MAX_BYTES];
	struct record r1, r2;
	const char *why = NULL;
	int64_t count;
	char message[64];
	long n;

	(void)query_response_kind(data, size, &count, message, sizeof(message));
	if (record_decode(data, size, &r1, arena1, sizeof(arena1), &why) != 0) {
		assert(why != NULL);
		return 0;
	}
	n = record_encode(&r1, again, sizeof(again));
	assert(n > 0);
	/* re-encoding never grows a record past what was accepted */
	assert((size_t)n <= size + 16);
	assert(record_decode(again, (size_t)n, &r2, arena2, sizeof(arena2), &why) == 0);
	assert(record_same(&r1, &r2));
	assert(query_response_kind(again, (size_t)n, &count, message, sizeof(message)) == 1);
	return 0;
}
