/*
 * test_status_codec.c - the status answer (status.h) and the ingest
 * socket's "runs unaudited" notice (handoff.h): round trips, each
 * rejection, and every limit at the limit and one past it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "handoff.h"
#include "status.h"
#include "unit.h"

static unsigned char buf[STATUS_MAX_REPLY * 2];

static void fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static void full_reply(struct status_reply *s)
{
	size_t i;

	status_reply_init(s);
	strcpy(s->version, "0.1.0");
	s->now_ns = INT64_C(1796000000000000000);
	s->started_ns = s->now_ns - 5;
	s->records = 42;
	s->stored_since_start = 7;
	s->lost_since_start = 1;
	s->tampered_since_start = 2;
	s->spool_files = 3;
	s->spool_bytes = 4096;
	s->spool_oldest_ns = -1;               /* negative but not "none" */
	s->checkpoint_ns = STATUS_NONE;
	s->checkpoint_size = 0;
	s->checkpoint_interval_s = 60;
	s->store_bytes = INT64_MAX;
	s->disk_free_bytes = 1;
	s->disk_total_bytes = 2;
	strcpy(s->config, "/etc/phitrail/phitrail.conf");
	s->config_errors = 1;
	strcpy(s->config_error, "/etc/phitrail/phitrail.conf:3: unknown key");
	s->unaudited_count = STATUS_MAX_UNAUDITED;
	for (i = 0; i < STATUS_MAX_UNAUDITED; i++) {
		fill(s->unaudited[i].exe, STATUS_TEXT_MAX - 1, (char)('a' + i));
		fill(s->unaudited[i].reason, STATUS_TEXT_MAX - 1, 'r');
		s->unaudited[i].pid = (int64_t)i + 100;
		s->unaudited[i].uid = 1000;
		s->unaudited[i].count = 2;
		s->unaudited[i].last_ns = s->now_ns;
	}
	s->forwarder_count = STATUS_MAX_FORWARDERS;
	for (i = 0; i < STATUS_MAX_FORWARDERS; i++) {
		fill(s->forwarders[i].name, STATUS_NAME_MAX - 1, (char)('A' + i));
		s->forwarders[i].backlog = (int64_t)i;
		s->forwarders[i].lag_ms = INT64_MIN + 1;
	}
	strcpy(s->kernel_net, "on (fanotify, 3 directories marked)");
	s->kernel_marks = 3;
	s->kernel_events = INT64_MAX;
	s->kernel_merged = 5;
	s->kernel_stored = 6;
	s->kernel_overflows = 1;
}

static void test_round_trip_at_limits(void)
{
	static struct status_reply in, out;
	const char *why = NULL;
	long n;

	full_reply(&in);
	fill(in.config, STATUS_PATH_MAX - 1, '/');
	fill(in.config_error, STATUS_ERROR_MAX - 1, 'e');
	fill(in.kernel_net, STATUS_TEXT_MAX - 1, 'k');
	n = status_reply_encode(&in, buf, sizeof(buf));
	CHECK(n > 0 && n <= STATUS_MAX_REPLY);
	CHECK_INT(status_reply_decode(buf, (size_t)n, &out, &why), 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);
	CHECK_INT(out.checkpoint_ns, STATUS_NONE);
	CHECK_INT(out.spool_oldest_ns, -1);
	/* a buffer one byte short */
	CHECK_INT(status_reply_encode(&in, buf, (size_t)n - 1), -ENOSPC);
	/* trailing bytes, truncation */
	buf[n] = 0xc0;
	CHECK_INT(status_reply_decode(buf, (size_t)n + 1, &out, &why), -EBADMSG);
	CHECK_INT(status_reply_decode(buf, (size_t)n - 1, &out, &why), -EBADMSG);
	CHECK_INT(status_reply_decode(buf, 0, &out, &why), -EMSGSIZE);
}

static void test_past_limits(void)
{
	static struct status_reply in, out;
	const char *why = NULL;
	long n;

	/* one past each limit is refused by the encoder */
	full_reply(&in);
	in.unaudited_count = STATUS_MAX_UNAUDITED + 1;
	CHECK_INT(status_reply_encode(&in, buf, sizeof(buf)), -EINVAL);
	full_reply(&in);
	in.forwarder_count = STATUS_MAX_FORWARDERS + 1;
	CHECK_INT(status_reply_encode(&in, buf, sizeof(buf)), -EINVAL);
	full_reply(&in);
	memset(in.version, 'v', sizeof(in.version));   /* no NUL */
	CHECK_INT(status_reply_encode(&in, buf, sizeof(buf)), -EINVAL);

	/* ... and by the decoder: a string one byte too long */
	status_reply_init(&in);
	fill(in.unaudited[0].exe, STATUS_TEXT_MAX - 1, 'x');
	strcpy(in.unaudited[0].reason, "r");
	in.unaudited_count = 1;
	n = status_reply_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	{
		/* the exe's str8 header: 0xd9, length 255; make it 256 by
		 * widening into a str16 in a rebuilt copy */
		static unsigned char wide[STATUS_MAX_REPLY];
		unsigned char *p = memmem(buf, (size_t)n, "\xa3" "exe\xd9\xff", 6);
		size_t head, rest;

		CHECK(p != NULL);
		if (p != NULL) {
			head = (size_t)(p - buf) + 4;
			rest = (size_t)n - head - 2 - 255;
			memcpy(wide, buf, head);
			wide[head] = 0xda;
			wide[head + 1] = 0x01;
			wide[head + 2] = 0x00;
			memset(wide + head + 3, 'x', 256);
			memcpy(wide + head + 3 + 256, p + 6 + 255, rest);
			CHECK_INT(status_reply_decode(wide, head + 3 + 256 + rest, &out,
						      &why), -EMSGSIZE);
			CHECK_STR(why, "string too long");
		}
	}
	/* lists of empty maps: sixteen are taken, seventeen are not */
	{
		static const char head[] = "\x82\xa8status_v\x01\xaa" "forwarders\xdc\x00";
		size_t h = sizeof(head) - 1, k;

		for (k = STATUS_MAX_FORWARDERS; k <= STATUS_MAX_FORWARDERS + 1; k++) {
			memcpy(buf, head, h);
			buf[h] = (unsigned char)k;
			memset(buf + h + 1, 0x80, k);
			CHECK_INT(status_reply_decode(buf, h + 1 + k, &out, &why),
				  k == STATUS_MAX_FORWARDERS ? 0 : -EMSGSIZE);
		}
		CHECK_INT(out.forwarder_count, 0);      /* cleared on failure */
	}
	/* seventeen unaudited entries claimed where sixteen were encoded */
	full_reply(&in);
	n = status_reply_encode(&in, buf, sizeof(buf));
	{
		unsigned char *p = memmem(buf, (size_t)n, "\xa9unaudited\xdc\x00\x10", 13);

		CHECK(p != NULL);
		if (p != NULL) {
			p[12] = 0x11;         /* the array claims 17 */
			CHECK(status_reply_decode(buf, (size_t)n, &out, &why) < 0);
		}
	}
}

static void test_rejects_and_tolerates(void)
{
	static struct status_reply out;
	const char *why = NULL;
#define D(lit) status_reply_decode(lit, sizeof(lit) - 1, &out, &why)

	/* {"status_v":1} alone: every other key keeps its "none" */
	CHECK_INT(D("\x81\xa8status_v\x01"), 0);
	CHECK_INT(out.checkpoint_ns, STATUS_NONE);
	CHECK_INT(out.unaudited_count, 0);
	/* version 2, status_v not first, not a map */
	CHECK_INT(D("\x81\xa8status_v\x02"), -EBADMSG);
	CHECK_STR(why, "unsupported status version");
	CHECK_INT(D("\x82\xa7records\x01\xa8status_v\x01"), -EBADMSG);
	CHECK_STR(why, "not a status answer");
	CHECK_INT(D("\x91\x01"), -EBADMSG);
	/* an unknown key is skipped (a newer collector), a duplicate is not */
	CHECK_INT(D("\x83\xa8status_v\x01\xa3new\x05\xa7records\x09"), 0);
	CHECK_INT(out.records, 9);
	CHECK_INT(D("\x83\xa8status_v\x01\xa7records\x09\xa7records\x09"), -EBADMSG);
	CHECK_STR(why, "duplicate key");
	/* wrong types: a string for an int, nil where no nil is allowed, an
	 * int for a string, a map for the list, NUL inside a string */
	CHECK_INT(D("\x82\xa8status_v\x01\xa7records\xa1x"), -EBADMSG);
	CHECK_INT(D("\x82\xa8status_v\x01\xa7records\xc0"), -EBADMSG);
	CHECK_INT(D("\x82\xa8status_v\x01\xa7version\x01"), -EBADMSG);
	CHECK_INT(D("\x82\xa8status_v\x01\xa9unaudited\x80"), -EBADMSG);
	CHECK_INT(D("\x82\xa8status_v\x01\xa7version\xa3" "a\0b"), -EBADMSG);
	/* nil is "none" for the times */
	CHECK_INT(D("\x82\xa8status_v\x01\xad" "checkpoint_ns\xc0"), 0);
	CHECK_INT(out.checkpoint_ns, STATUS_NONE);
	/* a huge declared array in few bytes */
	CHECK(D("\x82\xa8status_v\x01\xa9unaudited\xdd\xff\xff\xff\xff") < 0);
#undef D
}

static void test_notice(void)
{
	unsigned char msg[HANDOFF_NOTICE_MAX_BYTES + 8];
	char exe[HANDOFF_NOTICE_TEXT_MAX + 1], reason[HANDOFF_NOTICE_TEXT_MAX + 1];
	char longer[HANDOFF_NOTICE_TEXT_MAX + 2];
	const char *why = NULL;
	size_t n;

	n = handoff_notice_encode("/usr/bin/cat", "x.conf:3: bad", msg);
	CHECK_INT(n, 16 + 12 + 13);
	CHECK(memcmp(msg, "PHTUNAUD\x01\0\0\0\x0c\0\x0d\0", 16) == 0);
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), 0);
	CHECK_STR(exe, "/usr/bin/cat");
	CHECK_STR(reason, "x.conf:3: bad");
	/* texts at the limit round trip; one longer is cut to it */
	fill(longer, HANDOFF_NOTICE_TEXT_MAX + 1, 'e');
	n = handoff_notice_encode(longer, longer, msg);
	CHECK_INT(n, HANDOFF_NOTICE_MAX_BYTES);
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), 0);
	CHECK_INT(strlen(exe), HANDOFF_NOTICE_TEXT_MAX);
	CHECK_INT(strlen(reason), HANDOFF_NOTICE_TEXT_MAX);
	/* a length word one past the limit */
	msg[12] = 0x00;
	msg[13] = 0x01;                 /* E = 256 */
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), -EBADMSG);
	CHECK_STR(why, "text length out of range");
	/* no exe is fine, no reason is not */
	n = handoff_notice_encode(NULL, "r", msg);
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), 0);
	CHECK_STR(exe, "");
	n = handoff_notice_encode("e", "", msg);
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), -EBADMSG);
	/* short, long, wrong magic and version, NUL inside */
	n = handoff_notice_encode("e", "r", msg);
	CHECK_INT(handoff_notice_decode(msg, 15, exe, reason, &why), -EBADMSG);
	CHECK_INT(handoff_notice_decode(msg, n - 1, exe, reason, &why), -EBADMSG);
	CHECK_INT(handoff_notice_decode(msg, n + 1, exe, reason, &why), -EBADMSG);
	CHECK_STR(why, "length does not match the texts");
	msg[16] = '\0';
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), -EBADMSG);
	CHECK_STR(why, "text holds a NUL byte");
	n = handoff_notice_encode("e", "r", msg);
	msg[8] = 2;
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), -EBADMSG);
	CHECK_STR(why, "unsupported protocol version");
	memcpy(msg, "PHTHELLO", 8);
	CHECK_INT(handoff_notice_decode(msg, n, exe, reason, &why), -EBADMSG);
	CHECK_STR(why, "wrong magic");
}

int main(void)
{
	RUN(test_round_trip_at_limits);
	RUN(test_past_limits);
	RUN(test_rejects_and_tolerates);
	RUN(test_notice);
	return unit_done();
}
