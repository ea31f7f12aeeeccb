/*
 * test_query_codec.c - the query protocol's request codec (every field, each
 * rejection, limits at the limit and one past) and the end/error frames with
 * query_response_kind.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "query.h"
#include "record.h"
#include "unit.h"

static unsigned char buf[QUERY_MAX_REQUEST * 2];

static void test_request_round_trip(void)
{
	struct query_request in, out;
	const char *why = NULL;
	long n;

	query_request_init(&in);
	in.op = QUERY_OP_COUNT;
	strcpy(in.patient, "4711");
	strcpy(in.actor, "alice");
	strcpy(in.target, "/srv/ehr/**");
	strcpy(in.host, "ehr01");
	strcpy(in.exe, "/usr/bin/sed");
	strcpy(in.rule, "charts");
	strcpy(in.result, "EACCES");
	strcpy(in.events[0], "PHI File Viewed");
	strcpy(in.events[1], "Audit Trail Queried");
	in.event_count = 2;
	in.since_ns = -1;
	in.until_ns = INT64_MAX;
	in.after_id = 0;
	in.pid = 4242;
	in.limit = 10;
	in.descending = 1;
	in.failed_only = 1;
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_request_decode(buf, (size_t)n, &out, &why), 0);
	CHECK(why == NULL);
	CHECK_INT(out.op, QUERY_OP_COUNT);
	CHECK_STR(out.patient, "4711");
	CHECK_STR(out.actor, "alice");
	CHECK_STR(out.target, "/srv/ehr/**");
	CHECK_STR(out.host, "ehr01");
	CHECK_STR(out.exe, "/usr/bin/sed");
	CHECK_STR(out.rule, "charts");
	CHECK_STR(out.result, "EACCES");
	CHECK_INT(out.event_count, 2);
	CHECK_STR(out.events[0], "PHI File Viewed");
	CHECK_STR(out.events[1], "Audit Trail Queried");
	CHECK_INT(out.since_ns, -1);
	CHECK(out.until_ns == INT64_MAX);
	CHECK_INT(out.after_id, 0);
	CHECK_INT(out.pid, 4242);
	CHECK_INT(out.limit, 10);
	CHECK_INT(out.descending, 1);
	CHECK_INT(out.failed_only, 1);
}

static void test_request_defaults(void)
{
	struct query_request in, out;
	long n;

	query_request_init(&in);
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(buf[0], 0x82);   /* only v and op */
	CHECK_INT(query_request_decode(buf, (size_t)n, &out, NULL), 0);
	CHECK_INT(out.op, QUERY_OP_QUERY);
	CHECK(out.since_ns == QUERY_ABSENT && out.until_ns == QUERY_ABSENT);
	CHECK(out.after_id == QUERY_ABSENT && out.pid == QUERY_ABSENT);
	CHECK_INT(out.limit, 0);
	CHECK_INT(out.descending, 0);
	CHECK_INT(out.event_count, 0);
	CHECK_STR(out.patient, "");
}

/* Raw request bytes: map header + the given pairs already packed. */
static int decode_bytes(const char *bytes, size_t n, const char **why)
{
	struct query_request q;

	return query_request_decode(bytes, n, &q, why);
}

#define V1_OP "\xa1v\x01\xa2op\xa5query"
/* decode a string literal, all of its bytes (NULs included) */
#define DECODE(lit) decode_bytes(lit, sizeof(lit) - 1, &why)

static void test_request_rejects(void)
{
	const char *why;

	CHECK_INT(DECODE("\x82" V1_OP), 0);
	/* missing op / v */
	CHECK_INT(DECODE("\x81\xa1v\x01"), -EBADMSG);
	CHECK_STR(why, "request lacks v or op");
	CHECK_INT(DECODE("\x81\xa2op\xa5query"), -EBADMSG);
	/* version 2 */
	CHECK_INT(DECODE("\x82\xa1v\x02\xa2op\xa5query"), -EBADMSG);
	CHECK_STR(why, "unsupported query protocol version");
	/* bad op */
	CHECK_INT(DECODE("\x82\xa1v\x01\xa2op\xa5qu3ry"), -EBADMSG);
	/* unknown key */
	CHECK_INT(DECODE("\x83" V1_OP "\xa1x\x01"), -EBADMSG);
	CHECK_STR(why, "unknown key in request");
	/* duplicate key */
	CHECK_INT(DECODE("\x83" V1_OP "\xa1v\x01"), -EBADMSG);
	CHECK_STR(why, "duplicate key in request");
	/* wrong types */
	CHECK_INT(DECODE("\x83" V1_OP "\xa7patient\x01"), -EBADMSG);
	CHECK_INT(DECODE("\x83" V1_OP "\xa3pid\xa1" "1"), -EBADMSG);
	CHECK_INT(DECODE("\x83" V1_OP "\xa6" "failed\x01"), -EBADMSG);
	CHECK_STR(why, "failed must be a boolean");
	CHECK_INT(DECODE("\x83" V1_OP "\xa5limit\xff"), -EBADMSG);
	CHECK_STR(why, "limit must be an integer >= 0");
	CHECK_INT(DECODE("\x83" V1_OP "\xa5order\xa2up"), -EBADMSG);
	CHECK_INT(DECODE("\x83" V1_OP "\xa5" "event\xa1x"), -EBADMSG);
	CHECK_INT(DECODE("\x83" V1_OP "\xa5" "event\x91\xa1x"), -EBADMSG);
	CHECK_STR(why, "unknown event type in event");
	/* NUL inside a string */
	CHECK_INT(DECODE("\x83" V1_OP "\xa4host\xa3" "a\0b"), -EBADMSG);
	/* not a map, trailing, truncated, empty */
	CHECK_INT(DECODE("\x91\x01"), -EBADMSG);
	CHECK_INT(DECODE("\x82" V1_OP "\xc0"), -EBADMSG);
	CHECK_INT(DECODE("\x82\xa1v\x01\xa2op\xa5quer"), -EBADMSG);
	CHECK_INT(DECODE(""), -EBADMSG);
	/* huge declared sizes in few bytes */
	CHECK_INT(DECODE("\xdf\xff\xff\xff\xff"), -EBADMSG);
}

static void test_request_limits(void)
{
	struct query_request in, out;
	const char *why;
	long n;
	int i;

	/* strings: 1023 bytes fit, 1024 do not (encoder and decoder) */
	query_request_init(&in);
	memset(in.patient, 'p', QUERY_MAX_STRING - 1);
	in.patient[QUERY_MAX_STRING - 1] = '\0';
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_request_decode(buf, (size_t)n, &out, &why), 0);
	CHECK_INT(strlen(out.patient), QUERY_MAX_STRING - 1);
	/* make it 1024 on the wire by hand: str16 length word follows the key */
	{
		unsigned char *p = memmem(buf, (size_t)n, "\xa7patient\xda\x03\xff", 11);

		CHECK(p != NULL);
		if (p != NULL) {
			memmove(p + 11 + 1024, p + 11 + 1023, (size_t)(buf + n - (p + 11 + 1023)));
			p[9] = 0x04;
			p[10] = 0x00;
			p[11 + 1023] = 'p';
			CHECK_INT(query_request_decode(buf, (size_t)n + 1, &out, &why), -EMSGSIZE);
			CHECK_STR(why, "string too long");
		}
	}
	in.patient[QUERY_MAX_STRING - 1] = 'p';   /* no NUL inside the field */
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);

	/* events: 16 fit, 17 do not */
	query_request_init(&in);
	for (i = 0; i < QUERY_MAX_EVENTS; i++)
		strcpy(in.events[i], "PHI File Viewed");
	in.event_count = QUERY_MAX_EVENTS;
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_request_decode(buf, (size_t)n, &out, &why), 0);
	CHECK_INT(out.event_count, QUERY_MAX_EVENTS);
	in.event_count = QUERY_MAX_EVENTS + 1;
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
	{
		unsigned char *p = memmem(buf, (size_t)n, "\xa5" "event\xdc\x00\x10", 9);

		CHECK(p != NULL);
		if (p != NULL) {
			p[8] = 0x11;       /* claims 17, holds 16: refused either way */
			CHECK(query_request_decode(buf, (size_t)n, &out, &why) < 0);
		}
	}
	/* 17 real events on the wire */
	{
		unsigned char raw[1024];
		size_t k = 0;

		memcpy(raw, "\x83" V1_OP "\xa5" "event\xdc\x00\x11", 22);
		k = 22;
		for (i = 0; i < QUERY_MAX_EVENTS + 1; i++) {
			raw[k++] = 0xaf;
			memcpy(raw + k, "PHI File Viewed", 15);
			k += 15;
		}
		CHECK_INT(query_request_decode(raw, k, &out, &why), -EMSGSIZE);
		CHECK_STR(why, "more than QUERY_MAX_EVENTS events");
	}
	/* request size: over QUERY_MAX_REQUEST refused before parsing */
	CHECK_INT(query_request_decode(buf, QUERY_MAX_REQUEST + 1, &out, &why), -EMSGSIZE);
	/* encoder: every short buffer is -ENOSPC */
	query_request_init(&in);
	strcpy(in.actor, "alice");
	n = query_request_encode(&in, buf, sizeof(buf));
	for (i = 0; i < n; i++)
		CHECK_INT(query_request_encode(&in, buf, (size_t)i), -ENOSPC);
	in.limit = -1;
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
}

static void test_response_frames(void)
{
	char message[16];
	int64_t count = -1;
	long n;

	n = query_end_encode(42, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_response_kind(buf, (size_t)n, &count, message, sizeof(message)), 0);
	CHECK_INT(count, 42);
	CHECK_INT(query_end_encode(-1, buf, sizeof(buf)), -EINVAL);
	CHECK_INT(query_end_encode(1, buf, 3), -ENOSPC);

	n = query_error_encode("permission denied: not in group auditors", buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_response_kind(buf, (size_t)n, &count, message, sizeof(message)), -1);
	CHECK_STR(message, "permission deni");     /* cut to the buffer */
	CHECK_INT(query_error_encode("x", buf, 5), -ENOSPC);

	/* a record frame */
	{
		struct record r;

		record_init(&r);
		r.workspace_id = "ws";
		r.actor_user_id = "alice";
		r.event_type = EVENT_FILE_VIEWED;
		n = record_encode(&r, buf, sizeof(buf));
		CHECK(n > 0);
		CHECK_INT(query_response_kind(buf, (size_t)n, &count, message, sizeof(message)), 1);
	}
	/* neither */
	CHECK_INT(query_response_kind("\x80", 1, &count, message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x81\xa3" "end\xc3", 6, &count, message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x82\xa3" "end\xc2\xa5" "count\x01", 13, &count,
				      message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x82\xa3" "end\xc3\xa5" "count\xff", 13, &count,
				      message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x81\xa5" "error\x01", 8, &count, message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x91\x01", 2, &count, message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("", 0, &count, message, sizeof(message)), -EBADMSG);
	CHECK_INT(query_response_kind("\x82\xa3" "end\xc3\xa5" "count\x01\x00", 14, &count,
				      message, sizeof(message)), -EBADMSG);
}

static void test_stats(void)
{
	static const unsigned char row_nil[] = {
		0x82, 0xa3, 'k', 'e', 'y', 0xc0, 0xa5, 'c', 'o', 'u', 'n', 't', 0x07,
	};
	struct query_request in, out;
	const char *why = NULL;
	char key[QUERY_MAX_STRING], longkey[QUERY_MAX_STRING + 10];
	int64_t count = 0;
	int nil = 0;
	long n;

	query_request_init(&in);
	in.op = QUERY_OP_STATS;
	strcpy(in.by, "hour");
	strcpy(in.patient, "4711");
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_request_decode(buf, (size_t)n, &out, &why), 0);
	CHECK_INT(out.op, QUERY_OP_STATS);
	CHECK_STR(out.by, "hour");
	/* "by" with another op, or an unknown "by": refused both ways */
	in.op = QUERY_OP_QUERY;
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
	in.op = QUERY_OP_STATS;
	strcpy(in.by, "week");
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
	{
		/* {"v":1,"op":"query","by":"day"} */
		static const unsigned char bad[] = {
			0x83, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa5, 'q', 'u', 'e',
			'r', 'y', 0xa2, 'b', 'y', 0xa3, 'd', 'a', 'y',
		};
		CHECK_INT(query_request_decode(bad, sizeof(bad), &out, &why), -EBADMSG);
		CHECK_STR(why, "by is for op \"stats\" only");
	}
	/* rows: exact bytes, nil keys, counts >= 1, cut keys, trailing bytes */
	n = query_stats_row_encode(NULL, 7, buf, sizeof(buf));
	CHECK_INT(n, sizeof(row_nil));
	CHECK(memcmp(buf, row_nil, sizeof(row_nil)) == 0);
	CHECK_INT(query_stats_row_decode(row_nil, sizeof(row_nil), key, sizeof(key),
					 &nil, &count), 0);
	CHECK_INT(nil, 1);
	CHECK_INT(count, 7);
	CHECK_INT(query_stats_row_decode(row_nil, sizeof(row_nil) - 1, key,
					 sizeof(key), &nil, &count), -EBADMSG);
	CHECK_INT(query_stats_row_encode("x", 0, buf, sizeof(buf)), -EINVAL);
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	n = query_stats_row_encode(longkey, 2, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(query_stats_row_decode(buf, (size_t)n, key, sizeof(key), &nil,
					 &count), 0);
	CHECK_INT(strlen(key), QUERY_MAX_STRING - 1);
	CHECK_INT(nil, 0);
	/* an end frame is not a row */
	n = query_end_encode(3, buf, sizeof(buf));
	CHECK_INT(query_stats_row_decode(buf, (size_t)n, key, sizeof(key), &nil,
					 &count), -EBADMSG);
}

/* "status" and "checkpoint": round trip, exact bytes, a near miss refused. */
static void test_control_ops(void)
{
	static const unsigned char status_bytes[] = {
		0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa6, 's', 't', 'a', 't', 'u', 's',
	};
	static const unsigned char checkpoint_bytes[] = {
		0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xaa, 'c', 'h', 'e', 'c', 'k',
		'p', 'o', 'i', 'n', 't',
	};
	static const unsigned char statu[] = {
		0x82, 0xa1, 'v', 0x01, 0xa2, 'o', 'p', 0xa5, 's', 't', 'a', 't', 'u',
	};
	struct query_request in, out;
	const char *why = NULL;
	long n;

	query_request_init(&in);
	in.op = QUERY_OP_STATUS;
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK_INT(n, sizeof(status_bytes));
	CHECK(memcmp(buf, status_bytes, sizeof(status_bytes)) == 0);
	CHECK_INT(query_request_decode(status_bytes, sizeof(status_bytes), &out, &why), 0);
	CHECK_INT(out.op, QUERY_OP_STATUS);
	in.op = QUERY_OP_CHECKPOINT;
	n = query_request_encode(&in, buf, sizeof(buf));
	CHECK_INT(n, sizeof(checkpoint_bytes));
	CHECK(memcmp(buf, checkpoint_bytes, sizeof(checkpoint_bytes)) == 0);
	CHECK_INT(query_request_decode(checkpoint_bytes, sizeof(checkpoint_bytes),
				       &out, &why), 0);
	CHECK_INT(out.op, QUERY_OP_CHECKPOINT);
	CHECK_INT(query_request_decode(statu, sizeof(statu), &out, &why), -EBADMSG);
	CHECK(why != NULL && strstr(why, "\"status\"") != NULL);
	/* one op past the last is not encodable */
	in.op = QUERY_OP_CHECKPOINT + 1;
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
	/* "by" stays for stats only */
	in.op = QUERY_OP_STATUS;
	strcpy(in.by, "day");
	CHECK_INT(query_request_encode(&in, buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	RUN(test_request_round_trip);
	RUN(test_request_defaults);
	RUN(test_request_rejects);
	RUN(test_request_limits);
	RUN(test_response_frames);
	RUN(test_stats);
	RUN(test_control_ops);
	return unit_done();
}
