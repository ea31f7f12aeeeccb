/*
 * test_detect_hl7.c - the HL7 v2 detector: MLLP and unframed messages, the
 * separators a message declares, PID-3 identifiers, splits at every byte,
 * every limit at the limit and one past, and giving up on malformed input.
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "unit.h"

#define MSH "MSH|^~\\&|ADT1|HOSP|EHR|HOSP|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5\r"
#define PID "PID|1||4711^^^HOSP^MR~998877^^^SSA^SS||Doe^John||19700101|M\r"
#define ADT "\x0b" MSH "EVN|A01|20240101120000\r" PID "PV1|1|I\r\x1c\r"
#define ACK "\x0bMSH|^~\\&|EHR|HOSP|ADT1|HOSP|20240101120001||ACK|ACK1|P|2.5\rMSA|AA|MSG1\r\x1c\r"

static struct detect_message msgs[8];

static size_t feed_all(struct detect_stream *s, const char *data, size_t len)
{
	return detect_stream_feed(s, data, len, msgs, 8);
}

static void check_adt(const struct detect_message *m)
{
	CHECK_STR(m->message_type, "ADT^A01");
	CHECK_STR(m->patient, "4711");
	CHECK_STR(m->identifiers, "4711 (HOSP MR),998877 (SSA SS)");
	CHECK_INT(m->bytes, sizeof(ADT) - 1);
	CHECK_INT(m->flags, 0);
}

static void test_names(void)
{
	CHECK_INT(detect_protocol_from_name("hl7"), DETECT_HL7);
	CHECK_INT(detect_protocol_from_name("fhir"), DETECT_FHIR);
	CHECK_INT(detect_protocol_from_name("dicom"), DETECT_DICOM);
	CHECK_INT(detect_protocol_from_name("HL7"), DETECT_NONE);
	CHECK_INT(detect_protocol_from_name(""), DETECT_NONE);
	CHECK_INT(detect_protocol_from_name(NULL), DETECT_NONE);
	CHECK_STR(detect_protocol_name(DETECT_FHIR), "fhir");
	CHECK(detect_protocol_name(DETECT_NONE) == NULL);
	CHECK(sizeof(struct detect_stream) <= 8192);
}

static void test_mllp_one(void)
{
	struct detect_stream s;

	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, ADT, sizeof(ADT) - 1), 1);
	check_adt(&msgs[0]);
	CHECK(detect_stream_gave_up(&s) == NULL);
}

static void test_mllp_split_everywhere(void)
{
	const char *m = ADT;
	size_t n = sizeof(ADT) - 1;

	for (size_t cut = 0; cut <= n; cut++) {
		struct detect_stream s;
		size_t got;

		detect_stream_init(&s, DETECT_HL7);
		got = feed_all(&s, m, cut);
		got += detect_stream_feed(&s, m + cut, n - cut, msgs + got, 8 - got);
		CHECK_INT(got, 1);
		check_adt(&msgs[0]);
	}
}

static void test_mllp_byte_at_a_time(void)
{
	static const char two[] = ADT ACK ADT;
	struct detect_stream s;
	size_t got = 0;

	detect_stream_init(&s, DETECT_HL7);
	for (size_t i = 0; i < sizeof(two) - 1; i++)
		got += detect_stream_feed(&s, two + i, 1, msgs + got, 8 - got);
	CHECK_INT(got, 3);
	check_adt(&msgs[0]);
	CHECK_STR(msgs[1].message_type, "ACK");
	CHECK_STR(msgs[1].patient, "");
	CHECK_STR(msgs[1].identifiers, "");
	check_adt(&msgs[2]);
}

static void test_mllp_several_in_one_feed(void)
{
	static const char two[] = ADT "\r\n" ACK;
	struct detect_stream s;

	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, two, sizeof(two) - 1), 2);
	check_adt(&msgs[0]);
	CHECK_STR(msgs[1].message_type, "ACK");
	/* max 1: the second is counted as dropped */
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(detect_stream_feed(&s, two, sizeof(two) - 1, msgs, 1), 1);
	CHECK_INT(s.messages, 2);
	CHECK_INT(s.messages_dropped, 1);
}

static void test_custom_separators_and_escapes(void)
{
	static const char m[] = "\x0bMSH#$*@%#A#B#C#D#2024##ORU$R01#X#P#2.4\n"
	    "PID#1##47@F@11@S@2$$$LAB%ONE$PI*12345##X\n\x1c\r";
	struct detect_stream s;

	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, m, sizeof(m) - 1), 1);
	CHECK_STR(msgs[0].message_type, "ORU^R01");
	CHECK_STR(msgs[0].patient, "47#11$2");
	CHECK_STR(msgs[0].identifiers, "47#11$2 (LAB PI),12345");
}

static void test_pid2_fallback_and_many_pids(void)
{
	static const char m[] = "\x0b" MSH "PID|1|5555||Doe\rPID|2||6666^^^H\r\x1c\r";
	struct detect_stream s;

	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, m, sizeof(m) - 1), 1);
	CHECK_STR(msgs[0].patient, "5555");
	CHECK_STR(msgs[0].identifiers, "5555,6666 (H)");
}

static void test_unframed_file(void)
{
	static const char f[] = MSH PID "PV1|1\r" MSH "PID|1||1234\r";
	struct detect_stream s;

	for (size_t cut = 0; cut < sizeof(f); cut++) {
		size_t got;

		detect_stream_init(&s, DETECT_HL7);
		got = feed_all(&s, f, cut);
		got += detect_stream_feed(&s, f + cut, sizeof(f) - 1 - cut,
		    msgs + got, 8 - got);
		CHECK_INT(got, 1);
		got += detect_stream_end(&s, msgs + got, 8 - got);
		CHECK_INT(got, 2);
		CHECK_STR(msgs[0].patient, "4711");
		CHECK_INT(msgs[0].bytes, strlen(MSH PID "PV1|1\r"));
		CHECK_STR(msgs[1].patient, "1234");
		CHECK_INT(msgs[1].bytes, strlen(MSH "PID|1||1234\r"));
	}
	CHECK(detect_stream_gave_up(&s) == NULL);
	CHECK_INT(feed_all(&s, f, sizeof(f) - 1), 0);  /* ended */
}

static void test_giving_up(void)
{
	static const struct {
		const char *bytes;
		const char *why;
	} bad[] = {
		{ "\x0bPID|1||4711\r\x1c\r", "HL7: message does not start with MSH" },
		{ "\x0bMSH|^~\\&|A\r\x0b", "HL7: MLLP start block inside a frame" },
		{ "\x0bMSHA^~\\&|A\r\x1c\r", "HL7: bad MSH-1 field separator" },
		{ "\x0bMSH|^^\\&|A\r\x1c\r", "HL7: bad MSH-2 encoding characters" },
		{ "\x0bMSH|^~\\&#$|A\r\x1c\r", "HL7: bad MSH-2 encoding characters" },
		{ "\x0bMSH||A\r\x1c\r", "HL7: bad MSH-2 encoding characters" },
		{ "\x0b\x1c\r", "HL7: empty MLLP frame" },
		{ "GET / HTTP/1.1\r\n", "HL7: neither an MLLP frame nor MSH" },
		{ "MSX|\r", "HL7: message does not start with MSH" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct detect_stream s;

		detect_stream_init(&s, DETECT_HL7);
		CHECK_INT(feed_all(&s, bad[i].bytes, strlen(bad[i].bytes)), 0);
		CHECK_STR(detect_stream_gave_up(&s), bad[i].why);
		/* never looks again */
		CHECK_INT(feed_all(&s, ADT, sizeof(ADT) - 1), 0);
	}
}

static void test_message_before_giving_up_is_returned(void)
{
	static const char m[] = ADT "\x0bXYZ\r";
	struct detect_stream s;

	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, m, sizeof(m) - 1), 1);
	check_adt(&msgs[0]);
	CHECK(detect_stream_gave_up(&s) != NULL);
}

static void test_junk_limit(void)
{
	char *buf = malloc(2 * sizeof(ADT) + DETECT_HL7_JUNK_MAX + 2);
	size_t n = 0;
	struct detect_stream s;

	/* at the limit */
	memcpy(buf, ADT, sizeof(ADT) - 1);
	n = sizeof(ADT) - 1;
	memset(buf + n, ' ', DETECT_HL7_JUNK_MAX);
	n += DETECT_HL7_JUNK_MAX;
	memcpy(buf + n, ADT, sizeof(ADT) - 1);
	n += sizeof(ADT) - 1;
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 2);
	CHECK(detect_stream_gave_up(&s) == NULL);
	/* one past */
	n = sizeof(ADT) - 1;
	memset(buf + n, ' ', DETECT_HL7_JUNK_MAX + 1);
	n += DETECT_HL7_JUNK_MAX + 1;
	memcpy(buf + n, ADT, sizeof(ADT) - 1);
	n += sizeof(ADT) - 1;
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(detect_stream_gave_up(&s), "HL7: too many bytes between MLLP frames");
	free(buf);
}

/* A frame whose PID segment is exactly seg_len bytes, PID-3 last and
   "1111~2222..." (the second ID fills the segment). */
static size_t frame_with_pid(char *buf, size_t seg_len)
{
	static const char head[] = "PID|1||1111~";
	size_t n = 0;

	buf[n++] = 0x0b;
	memcpy(buf + n, MSH, sizeof(MSH) - 1);
	n += sizeof(MSH) - 1;
	memcpy(buf + n, head, sizeof(head) - 1);
	memset(buf + n + sizeof(head) - 1, '2', seg_len - (sizeof(head) - 1));
	n += seg_len;
	buf[n++] = '\r';
	buf[n++] = 0x1c;
	buf[n++] = '\r';
	return n;
}

static void test_segment_keep_limit(void)
{
	char *buf = malloc(DETECT_HL7_SEGMENT_KEEP + 256);
	struct detect_stream s;
	size_t n;

	/* IDs are at most 127 bytes: make the second one short enough by
	   putting it after a long first field. Here we only look at whether
	   the last repetition is complete. */
	n = frame_with_pid(buf, DETECT_HL7_SEGMENT_KEEP);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].patient, "1111");
	/* at the limit: the second repetition is complete (but too long to
	   be an id: flagged, not reported) */
	CHECK_STR(msgs[0].identifiers, "1111");
	CHECK_INT(msgs[0].flags, DETECT_FLAG_TRUNCATED);

	/* one past: the segment is cut, the last repetition dropped */
	n = frame_with_pid(buf, DETECT_HL7_SEGMENT_KEEP + 1);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].identifiers, "1111");
	CHECK_INT(msgs[0].flags, DETECT_FLAG_TRUNCATED);
	free(buf);
}

/* PID-3 "1111~22" ending exactly at the kept bytes, padded by PID-2. */
static size_t frame_with_pid3_at(char *buf, size_t seg_len, int cut)
{
	static const char tail[] = "|1111~22";
	size_t n = 0, pad;

	buf[n++] = 0x0b;
	memcpy(buf + n, MSH, sizeof(MSH) - 1);
	n += sizeof(MSH) - 1;
	memcpy(buf + n, "PID|1|", 6);
	pad = seg_len - 6 - (sizeof(tail) - 1);
	memset(buf + n + 6, 'x', pad);
	memcpy(buf + n + 6 + pad, tail, sizeof(tail) - 1);
	n += seg_len;
	if (cut)
		buf[n++] = '2';    /* one byte past the kept ones */
	buf[n++] = '\r';
	buf[n++] = 0x1c;
	buf[n++] = '\r';
	return n;
}

static void test_segment_keep_limit_exact_ids(void)
{
	char *buf = malloc(DETECT_HL7_SEGMENT_KEEP + 256);
	struct detect_stream s;
	size_t n;

	n = frame_with_pid3_at(buf, DETECT_HL7_SEGMENT_KEEP, 0);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].identifiers, "1111,22");
	CHECK_INT(msgs[0].flags, 0);

	n = frame_with_pid3_at(buf, DETECT_HL7_SEGMENT_KEEP, 1);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].identifiers, "1111");
	CHECK_INT(msgs[0].flags, DETECT_FLAG_TRUNCATED);
	free(buf);
}

/* A frame where the 'D' of "PID" is byte number at (counting 0x0B as 1). */
static size_t frame_with_pid_at(char *buf, size_t at)
{
	size_t n = 0, fill;

	buf[n++] = 0x0b;
	memcpy(buf + n, MSH, sizeof(MSH) - 1);
	n += sizeof(MSH) - 1;
	memcpy(buf + n, "ZZZ|", 4);
	n += 4;
	fill = at - 4 - n;      /* "PID" starts at index at - 3 */
	memset(buf + n, 'x', fill);
	n += fill;
	buf[n++] = '\r';
	memcpy(buf + n, "PID|1||4711\r\x1c\r", 14);
	return n + 14;
}

static void test_message_parse_limit(void)
{
	char *buf = malloc(DETECT_HL7_MESSAGE_PARSE_MAX + 256);
	struct detect_stream s;
	size_t n;

	n = frame_with_pid_at(buf, DETECT_HL7_MESSAGE_PARSE_MAX);
	CHECK(memcmp(buf + DETECT_HL7_MESSAGE_PARSE_MAX - 3, "PID", 3) == 0);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].patient, "4711");
	CHECK_INT(msgs[0].bytes, n);

	n = frame_with_pid_at(buf, DETECT_HL7_MESSAGE_PARSE_MAX + 1);
	CHECK(memcmp(buf + DETECT_HL7_MESSAGE_PARSE_MAX - 2, "PID", 3) == 0);
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, buf, n), 1);
	CHECK_STR(msgs[0].patient, "");
	CHECK_INT(msgs[0].flags, DETECT_FLAG_UNSCANNED);
	CHECK_INT(msgs[0].bytes, n);
	free(buf);
}

static void test_identifier_list_full(void)
{
	char m[2048];
	size_t n = 0;
	struct detect_stream s;

	n += (size_t)snprintf(m + n, sizeof(m) - n, "\x0b" MSH "PID|1||");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "%s%08d^^^AUTH", i ? "~" : "", i);
	n += (size_t)snprintf(m + n, sizeof(m) - n, "\r\x1c\r");
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, m, n), 1);
	CHECK_STR(msgs[0].patient, "00000000");
	CHECK(strlen(msgs[0].identifiers) < DETECT_IDENTIFIERS_MAX);
	CHECK(strncmp(msgs[0].identifiers, "00000000 (AUTH),00000001 (AUTH),", 32) == 0);
	CHECK_INT(msgs[0].flags, DETECT_FLAG_TRUNCATED);
	/* an id with a control byte is never reported */
	static const char ctl[] = "\x0b" MSH "PID|1||47\x01" "11\r\x1c\r";
	detect_stream_init(&s, DETECT_HL7);
	CHECK_INT(feed_all(&s, ctl, sizeof(ctl) - 1), 1);
	CHECK_STR(msgs[0].patient, "");
}

int main(void)
{
	RUN(test_names);
	RUN(test_mllp_one);
	RUN(test_mllp_split_everywhere);
	RUN(test_mllp_byte_at_a_time);
	RUN(test_mllp_several_in_one_feed);
	RUN(test_custom_separators_and_escapes);
	RUN(test_pid2_fallback_and_many_pids);
	RUN(test_unframed_file);
	RUN(test_giving_up);
	RUN(test_message_before_giving_up_is_returned);
	RUN(test_junk_limit);
	RUN(test_segment_keep_limit);
	RUN(test_segment_keep_limit_exact_ids);
	RUN(test_message_parse_limit);
	RUN(test_identifier_list_full);
	return unit_done();
}
