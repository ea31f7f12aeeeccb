/*
 * fuzz_status_reply.c - status_reply_decode (the collector's status
 * answer, status.h) and handoff_notice_decode (the "runs unaudited"
 * notice, handoff.h) on arbitrary bytes. What decodes must encode again
 * and decode to the identical struct or texts.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "handoff.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct status_reply s1, s2;
	static unsigned char again[STATUS_MAX_REPLY * 2];
	unsigned char notice[HANDOFF_NOTICE_MAX_BYTES];
	char exe[HANDOFF_NOTICE_TEXT_MAX + 1], reason[HANDOFF_NOTICE_TEXT_MAX + 1];
	char exe2[HANDOFF_NOTICE_TEXT_MAX + 1], reason2[HANDOFF_NOTICE_TEXT_MAX + 1];
	const char *why = NULL;
	size_t n_notice;
	long n;

	if (handoff_notice_decode(data, size, exe, reason, &why) == 0) {
		assert(strlen(exe) <= HANDOFF_NOTICE_TEXT_MAX);
		assert(strlen(reason) >= 1);
		n_notice = handoff_notice_encode(exe, reason, notice);
		assert(n_notice == size && memcmp(notice, data, size) == 0);
		assert(handoff_notice_decode(notice, n_notice, exe2, reason2, &why) == 0);
		assert(strcmp(exe, exe2) == 0 && strcmp(reason, reason2) == 0);
	} else {
		assert(why != NULL);
	}

	if (status_reply_decode(data, size, &s1, &why) != 0) {
		assert(why != NULL);
		return 0;
	}
	assert(s1.unaudited_count <= STATUS_MAX_UNAUDITED);
	assert(s1.forwarder_count <= STATUS_MAX_FORWARDERS);
	n = status_reply_encode(&s1, again, sizeof(again));
	assert(n > 0);
	assert(status_reply_decode(again, (size_t)n, &s2, &why) == 0);
	assert(memcmp(&s1, &s2, sizeof(s1)) == 0);
	return 0;
}
