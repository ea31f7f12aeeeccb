/*
 * test_codec.c - the audit record codec: the event vocabulary, a round trip
 * of every field, the exact key order, and decode refusing each kind of bad
 * input, with every size limit at the limit and one past it. Bad inputs are
 * written as raw msgpack bytes by a tiny writer here, independent of the
 * encoder under test.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "unit.h"

/* ---- a minimal independent msgpack writer for hostile input ---- */

struct raw {
	unsigned char b[RECORD_MAX_BYTES * 2];
	size_t n;
};

static void raw_byte(struct raw *w, unsigned v) { w->b[w->n++] = (unsigned char)v; }

static void raw_be(struct raw *w, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		raw_byte(w, (unsigned)(v >> (8 * bytes)) & 0xff);
}

static void raw_map(struct raw *w, uint32_t n)
{
	if (n < 16)
		raw_byte(w, 0x80 | n);
	else if (n < 65536) {
		raw_byte(w, 0xde);
		raw_be(w, n, 2);
	} else {
		raw_byte(w, 0xdf);
		raw_be(w, n, 4);
	}
}

static void raw_strn(struct raw *w, const char *s, size_t n)
{
	if (n < 32)
		raw_byte(w, 0xa0 | (unsigned)n);
	else if (n < 256) {
		raw_byte(w, 0xd9);
		raw_be(w, n, 1);
	} else {
		raw_byte(w, 0xda);
		raw_be(w, n, 2);
	}
	memcpy(w->b + w->n, s, n);
	w->n += n;
}

static void raw_str(struct raw *w, const char *s) { raw_strn(w, s, strlen(s)); }

static void raw_int(struct raw *w, int64_t v)
{
	if (v >= 0 && v < 128)
		raw_byte(w, (unsigned)v);
	else {
		raw_byte(w, 0xd3);
		raw_be(w, (uint64_t)v, 8);
	}
}

static void raw_ts(struct raw *w, uint32_t sec)
{
	raw_byte(w, 0xd6);
	raw_byte(w, 0xff);
	raw_be(w, sec, 4);
}

/* The six required keys; extra entries are the caller's (count them in n). */
static void raw_required(struct raw *w, uint32_t extra)
{
	raw_map(w, 6 + extra);
	raw_str(w, "workspace_id"); raw_str(w, "ws");
	raw_str(w, "actor_user_id"); raw_str(w, "alice");
	raw_str(w, "event_type"); raw_str(w, "PHI File Viewed");
	raw_str(w, "end_user_id"); raw_byte(w, 0xc0);
	raw_str(w, "timestamp"); raw_ts(w, 1700000000);
	raw_str(w, "v"); raw_int(w, 1);
}

static char arena[RECORD_ARENA_BYTES];

static int decode_raw(const struct raw *w, struct record *r, const char **why)
{
	return record_decode(w->b, w->n, r, arena, sizeof(arena), why);
}

/* ---- tests ---- */

static void test_event_names(void)
{
	int i;

	CHECK_STR(event_type_name(EVENT_FILE_VIEWED), "PHI File Viewed");
	CHECK_STR(event_type_name(EVENT_FILE_PERMISSIONS_CHANGED), "PHI File Permissions Changed");
	CHECK_STR(event_type_name(EVENT_DIRECTORY_LISTED), "PHI Directory Listed");
	CHECK_STR(event_type_name(EVENT_MESSAGE_RECEIVED), "PHI Message Received");
	CHECK_STR(event_type_name(EVENT_RECORDS_LOST), "Audit Records Lost");
	CHECK_STR(event_type_name(EVENT_SPOOL_TAMPERED), "Audit Spool Tampered");
	CHECK_STR(event_type_name(EVENT_TRAIL_QUERIED), "Audit Trail Queried");
	CHECK(event_type_name(EVENT_NONE) == NULL);
	CHECK(event_type_name(EVENT_COUNT) == NULL);
	CHECK(event_type_name((enum event_type)-1) == NULL);
	for (i = EVENT_NONE + 1; i < EVENT_COUNT; i++) {
		CHECK(event_type_name((enum event_type)i) != NULL);
		CHECK_INT(event_type_from_name(event_type_name((enum event_type)i)), i);
	}
	CHECK_INT(event_type_from_name("phi file viewed"), EVENT_NONE);
	CHECK_INT(event_type_from_name("PHI File Viewed "), EVENT_NONE);
	CHECK_INT(event_type_from_name(""), EVENT_NONE);
	CHECK_INT(event_type_from_name(NULL), EVENT_NONE);
}

static void fill_full(struct record *r)
{
	record_init(r);
	r->workspace_id = "ws_st_marys";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_RENAMED;
	r->end_user_id = "4711";
	r->timestamp_sec = 1795000000;
	r->timestamp_nsec = 123456789;
	r->host = "ehr01";
	r->pid = 4242;
	r->ppid = 1;
	r->exe = "/usr/bin/sed";
	r->uid = 1000;
	r->auid = 4294967295LL;
	r->session = 7;
	r->target = "/srv/ehr/patients/4711/chart.txt";
	r->target2 = "/srv/ehr/patients/4711/chart.txt.bak";
	r->rule = "charts";
	r->result = "ok";
	r->seq = 0;
	r->detail[0] = (struct record_detail){ "mode", "0600", 0 };
	r->detail[1] = (struct record_detail){ "bytes", NULL, -12345 };
	r->detail[2] = (struct record_detail){ "big", NULL, INT64_MAX };
	r->detail[3] = (struct record_detail){ "small", NULL, INT64_MIN };
	r->detail_count = 4;
	r->id = 99;
	r->received_sec = 1795000001;
	r->received_nsec = 5;
	r->identity = "verified";
}

static void test_round_trip_every_field(void)
{
	struct record in, out;
	unsigned char buf[RECORD_MAX_BYTES];
	const char *why = NULL;
	long n;

	fill_full(&in);
	n = record_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(record_decode(buf, (size_t)n, &out, arena, sizeof(arena), &why), 0);
	CHECK(why == NULL);
	CHECK_STR(out.workspace_id, "ws_st_marys");
	CHECK_STR(out.actor_user_id, "alice");
	CHECK_INT(out.event_type, EVENT_FILE_RENAMED);
	CHECK_STR(out.end_user_id, "4711");
	CHECK_INT(out.timestamp_sec, 1795000000);
	CHECK_INT(out.timestamp_nsec, 123456789);
	CHECK_INT(out.v, 1);
	CHECK_STR(out.host, "ehr01");
	CHECK_INT(out.pid, 4242);
	CHECK_INT(out.ppid, 1);
	CHECK_STR(out.exe, "/usr/bin/sed");
	CHECK_INT(out.uid, 1000);
	CHECK_INT(out.auid, 4294967295LL);
	CHECK_INT(out.session, 7);
	CHECK_STR(out.target, "/srv/ehr/patients/4711/chart.txt");
	CHECK_STR(out.target2, "/srv/ehr/patients/4711/chart.txt.bak");
	CHECK_STR(out.rule, "charts");
	CHECK_STR(out.result, "ok");
	CHECK_INT(out.seq, 0);
	CHECK_INT(out.detail_count, 4);
	CHECK_STR(out.detail[0].key, "mode");
	CHECK_STR(out.detail[0].str, "0600");
	CHECK_STR(out.detail[1].key, "bytes");
	CHECK(out.detail[1].str == NULL);
	CHECK_INT(out.detail[1].num, -12345);
	CHECK(out.detail[2].num == INT64_MAX);
	CHECK(out.detail[3].num == INT64_MIN);
	CHECK_INT(out.id, 99);
	CHECK_INT(out.received_sec, 1795000001);
	CHECK_INT(out.received_nsec, 5);
	CHECK_STR(out.identity, "verified");

	/* re-encoding the decoded record gives the same bytes */
	{
		unsigned char again[RECORD_MAX_BYTES];
		long m = record_encode(&out, again, sizeof(again));

		CHECK_INT(m, n);
		CHECK(m == n && memcmp(buf, again, (size_t)n) == 0);
	}
}

/* The keys in the order they are on the wire. */
static void test_key_order(void)
{
	static const char *const order[] = {
		"workspace_id", "actor_user_id", "event_type", "end_user_id",
		"timestamp", "v", "host", "pid", "ppid", "exe", "uid", "auid",
		"session", "target", "target2", "rule", "result", "seq", "detail",
		"id", "received_at", "identity",
	};
	struct record r;
	unsigned char buf[RECORD_MAX_BYTES];
	const unsigned char *p = buf, *end;
	long n;
	size_t i, found = 0;

	fill_full(&r);
	n = record_encode(&r, buf, sizeof(buf));
	CHECK(n > 0);
	end = buf + n;
	CHECK_INT(buf[0], 0xde);            /* map16: 22 keys */
	CHECK_INT(buf[1] << 8 | buf[2], 22);
	/* Find each key as a fixstr, in order, after the previous one. */
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		size_t len = strlen(order[i]);
		const unsigned char *q;

		for (q = p; q + 1 + len <= end; q++)
			if (*q == (0xa0 | len) && memcmp(q + 1, order[i], len) == 0)
				break;
		if (q + 1 + len <= end) {
			found++;
			p = q + 1 + len;
		} else {
			fprintf(stderr, "key %s not found in order\n", order[i]);
		}
	}
	CHECK_INT(found, sizeof(order) / sizeof(order[0]));
}

/*
 * The exact bytes of fill_full's record, as msgpack-c's ordinary packer (a
 * msgpack_packer with a write callback) produced them before the encoder
 * packed through its own inlined instantiation of the same template.
 */
static const unsigned char fill_full_bytes[] = {
	0xde, 0x00, 0x16, 0xac, 0x77, 0x6f, 0x72, 0x6b, 0x73, 0x70, 0x61, 0x63,
	0x65, 0x5f, 0x69, 0x64, 0xab, 0x77, 0x73, 0x5f, 0x73, 0x74, 0x5f, 0x6d,
	0x61, 0x72, 0x79, 0x73, 0xad, 0x61, 0x63, 0x74, 0x6f, 0x72, 0x5f, 0x75,
	0x73, 0x65, 0x72, 0x5f, 0x69, 0x64, 0xa5, 0x61, 0x6c, 0x69, 0x63, 0x65,
	0xaa, 0x65, 0x76, 0x65, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0xb0,
	0x50, 0x48, 0x49, 0x20, 0x46, 0x69, 0x6c, 0x65, 0x20, 0x52, 0x65, 0x6e,
	0x61, 0x6d, 0x65, 0x64, 0xab, 0x65, 0x6e, 0x64, 0x5f, 0x75, 0x73, 0x65,
	0x72, 0x5f, 0x69, 0x64, 0xa4, 0x34, 0x37, 0x31, 0x31, 0xa9, 0x74, 0x69,
	0x6d, 0x65, 0x73, 0x74, 0x61, 0x6d, 0x70, 0xd7, 0xff, 0x1d, 0x6f, 0x34,
	0x54, 0x6a, 0xfd, 0x86, 0xc0, 0xa1, 0x76, 0x01, 0xa4, 0x68, 0x6f, 0x73,
	0x74, 0xa5, 0x65, 0x68, 0x72, 0x30, 0x31, 0xa3, 0x70, 0x69, 0x64, 0xcd,
	0x10, 0x92, 0xa4, 0x70, 0x70, 0x69, 0x64, 0x01, 0xa3, 0x65, 0x78, 0x65,
	0xac, 0x2f, 0x75, 0x73, 0x72, 0x2f, 0x62, 0x69, 0x6e, 0x2f, 0x73, 0x65,
	0x64, 0xa3, 0x75, 0x69, 0x64, 0xcd, 0x03, 0xe8, 0xa4, 0x61, 0x75, 0x69,
	0x64, 0xce, 0xff, 0xff, 0xff, 0xff, 0xa7, 0x73, 0x65, 0x73, 0x73, 0x69,
	0x6f, 0x6e, 0x07, 0xa6, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74, 0xd9, 0x20,
	0x2f, 0x73, 0x72, 0x76, 0x2f, 0x65, 0x68, 0x72, 0x2f, 0x70, 0x61, 0x74,
	0x69, 0x65, 0x6e, 0x74, 0x73, 0x2f, 0x34, 0x37, 0x31, 0x31, 0x2f, 0x63,
	0x68, 0x61, 0x72, 0x74, 0x2e, 0x74, 0x78, 0x74, 0xa7, 0x74, 0x61, 0x72,
	0x67, 0x65, 0x74, 0x32, 0xd9, 0x24, 0x2f, 0x73, 0x72, 0x76, 0x2f, 0x65,
	0x68, 0x72, 0x2f, 0x70, 0x61, 0x74, 0x69, 0x65, 0x6e, 0x74, 0x73, 0x2f,
	0x34, 0x37, 0x31, 0x31, 0x2f, 0x63, 0x68, 0x61, 0x72, 0x74, 0x2e, 0x74,
	0x78, 0x74, 0x2e, 0x62, 0x61, 0x6b, 0xa4, 0x72, 0x75, 0x6c, 0x65, 0xa6,
	0x63, 0x68, 0x61, 0x72, 0x74, 0x73, 0xa6, 0x72, 0x65, 0x73, 0x75, 0x6c,
	0x74, 0xa2, 0x6f, 0x6b, 0xa3, 0x73, 0x65, 0x71, 0x00, 0xa6, 0x64, 0x65,
	0x74, 0x61, 0x69, 0x6c, 0x84, 0xa4, 0x6d, 0x6f, 0x64, 0x65, 0xa4, 0x30,
	0x36, 0x30, 0x30, 0xa5, 0x62, 0x79, 0x74, 0x65, 0x73, 0xd1, 0xcf, 0xc7,
	0xa3, 0x62, 0x69, 0x67, 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xa5, 0x73, 0x6d, 0x61, 0x6c, 0x6c, 0xd3, 0x80, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xa2, 0x69, 0x64, 0x63, 0xab, 0x72, 0x65, 0x63,
	0x65, 0x69, 0x76, 0x65, 0x64, 0x5f, 0x61, 0x74, 0xd7, 0xff, 0x00, 0x00,
	0x00, 0x14, 0x6a, 0xfd, 0x86, 0xc1, 0xa8, 0x69, 0x64, 0x65, 0x6e, 0x74,
	0x69, 0x74, 0x79, 0xa8, 0x76, 0x65, 0x72, 0x69, 0x66, 0x69, 0x65, 0x64,
};

static void test_encode_exact_bytes(void)
{
	struct record r;
	unsigned char buf[RECORD_MAX_BYTES];
	long n;

	fill_full(&r);
	n = record_encode(&r, buf, sizeof(buf));
	CHECK_INT(n, sizeof(fill_full_bytes));
	CHECK(n == (long)sizeof(fill_full_bytes) &&
	      memcmp(buf, fill_full_bytes, sizeof(fill_full_bytes)) == 0);
}

/* ---- encoding with a prefix ---- */

static uint64_t prng_state = 0x2545f4914f6cdd1dull;

static uint64_t prng(void)
{
	prng_state ^= prng_state << 13;
	prng_state ^= prng_state >> 7;
	prng_state ^= prng_state << 17;
	return prng_state;
}

/* A string of a length around msgpack's size classes, or NULL. */
static const char *random_string(char *space, size_t size)
{
	static const size_t lengths[] = { 0, 1, 5, 31, 32, 255, 256, 300,
					  RECORD_MAX_STRING, RECORD_MAX_STRING + 1 };
	size_t n, i;

	if (prng() % 4 == 0)
		return NULL;
	n = lengths[prng() % (sizeof(lengths) / sizeof(lengths[0]))];
	if (n == RECORD_MAX_STRING + 1 && prng() % 8 != 0)
		n = 17;          /* too long only now and then */
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		space[i] = (char)('a' + prng() % 26);
	space[n] = '\0';
	return space;
}

static int64_t random_int(void)
{
	static const int64_t values[] = {
		RECORD_ABSENT, 0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32,
		-33, -129, -32769, 4294967295LL, 4294967296LL, INT64_MAX,
		INT64_MIN + 1,
	};

	return values[prng() % (sizeof(values) / sizeof(values[0]))];
}

static char string_space[12][RECORD_MAX_STRING + 2];

static void random_record(struct record *r)
{
	size_t d;

	record_init(r);
	r->workspace_id = prng() % 16 ? "ws" : NULL;
	r->actor_user_id = random_string(string_space[0], sizeof(string_space[0]));
	r->event_type = (enum event_type)(prng() % 16 ? 1 + prng() % (EVENT_COUNT - 1) : 0);
	r->end_user_id = random_string(string_space[1], sizeof(string_space[1]));
	r->timestamp_sec = prng() % 4 ? (int64_t)(prng() % 20000000000ull) : random_int();
	r->timestamp_nsec = (uint32_t)(prng() % 1000000000u);
	r->v = prng() % 16 ? RECORD_SCHEMA_VERSION : random_int();
	r->host = random_string(string_space[2], sizeof(string_space[2]));
	r->pid = random_int();
	r->ppid = random_int();
	r->exe = random_string(string_space[3], sizeof(string_space[3]));
	r->uid = random_int();
	r->auid = random_int();
	r->session = random_int();
	r->target = random_string(string_space[4], sizeof(string_space[4]));
	r->target2 = prng() % 4 ? NULL : random_string(string_space[5], sizeof(string_space[5]));
	r->rule = random_string(string_space[6], sizeof(string_space[6]));
	r->result = prng() % 2 ? "ok" : "EACCES";
	r->seq = random_int();
	r->detail_count = prng() % 3 ? prng() % 3 : prng() % (RECORD_MAX_DETAIL + 2);
	for (d = 0; d < r->detail_count && d < RECORD_MAX_DETAIL; d++) {
		r->detail[d].key = d % 2 ? "bytes" : "type";
		r->detail[d].str = d % 3 ? NULL : random_string(string_space[7 + d % 4], 40);
		r->detail[d].num = random_int();
	}
	if (prng() % 4 == 0) {
		r->id = random_int();
		r->received_sec = (int64_t)(prng() % 5000000000ull);
		r->received_nsec = (uint32_t)(prng() % 1000000000u);
		r->identity = "verified";
	}
}

/*
 * For many records: the prefix made from a record, used with a copy whose
 * eight prefix fields are scrambled, gives exactly record_encode's bytes
 * (or its error) for the original, at every buffer size tried.
 */
static void test_encode_with_prefix_identical(void)
{
	static unsigned char want[RECORD_MAX_BYTES + 64], got[RECORD_MAX_BYTES + 64];
	static struct record_prefix prefix;
	struct record r, other;
	long n, m, p;
	int i, compared = 0, wrong = 0;

	for (i = 0; i < 3000; i++) {
		size_t cap = prng() % 8 == 0 ? prng() % 600 : sizeof(want);

		random_record(&r);
		p = record_encode_prefix(&r, &prefix);
		n = record_encode(&r, want, cap);
		if (p < 0) {
			/* an invalid prefix field: record_encode refuses too */
			if (p != -EINVAL || n != -EINVAL)
				wrong++;
			continue;
		}
		other = r;
		other.v = RECORD_ABSENT;
		other.host = prng() % 2 ? NULL : "scrambled-host";
		other.pid = other.ppid = RECORD_ABSENT;
		other.exe = "/scrambled";
		other.uid = -5;
		other.auid = RECORD_ABSENT;
		other.session = 123456;
		m = record_encode_with_prefix(&other, &prefix, got, cap);
		if (m != n || (n > 0 && memcmp(want, got, (size_t)n) != 0))
			wrong++;
		compared += n > 0;
	}
	CHECK_INT(wrong, 0);
	CHECK(compared > 1000);     /* most records were encodable */
}

/*
 * The shim's records (no collector fields) take the field-by-field path of
 * record_encode_with_prefix: the same bytes as record_encode at every
 * string header size (fixstr, str8, str16) and limit, with and without
 * patient, optional fields and detail; a string one past the limit is
 * refused the same way.
 */
static void test_encode_with_prefix_direct(void)
{
	static const size_t sizes[] = { 0, 1, 31, 32, 255, 256, 4095, 4096, 4097 };
	static unsigned char want[RECORD_MAX_BYTES], got[RECORD_MAX_BYTES];
	static struct record_prefix prefix;
	static char text[RECORD_MAX_STRING + 2];
	struct record r;
	long n, m;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int shape = 0; shape < 6; shape++) {
			fill_full(&r);
			r.id = RECORD_ABSENT;
			r.received_sec = RECORD_ABSENT;
			r.identity = NULL;
			memset(text, 'a' + shape, sizes[i]);
			text[sizes[i]] = '\0';
			CHECK(record_encode_prefix(&r, &prefix) > 0);
			switch (shape) {
			case 0: r.target = text; break;
			case 1: r.end_user_id = text; r.detail_count = 0; break;
			case 2: r.end_user_id = NULL; r.workspace_id = text; break;
			case 3: r.detail[0].str = text; r.target2 = NULL; break;
			case 4: r.rule = text; r.seq = RECORD_ABSENT; r.result = NULL; break;
			default: r.detail[1].key = text; r.event_type = EVENT_FILE_VIEWED;
			}
			n = record_encode(&r, want, sizeof(want));
			m = record_encode_with_prefix(&r, &prefix, got, sizeof(got));
			CHECK_INT(m, n);
			if (sizes[i] > RECORD_MAX_STRING)
				CHECK_INT(m, -EINVAL);
			else if (n > 0 && m == n)
				CHECK(memcmp(want, got, (size_t)n) == 0);
			if (n > 0) {
				CHECK_INT(record_encode_with_prefix(&r, &prefix, got,
							    (size_t)n - 1), -ENOSPC);
				CHECK_INT(record_encode_with_prefix(&r, &prefix, got,
							    (size_t)n), n);
			}
		}
	}
}

static void test_encode_prefix_errors(void)
{
	static struct record_prefix prefix;
	unsigned char buf[RECORD_MAX_BYTES];
	struct record r;
	long n, len;

	fill_full(&r);
	memset(&prefix, 0, sizeof(prefix));
	/* never filled: refused, not read */
	CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, sizeof(buf)), -EINVAL);
	len = record_encode_prefix(&r, &prefix);
	CHECK(len > 0);
	CHECK_INT(prefix.count, 8);
	CHECK_INT(prefix.len, len);
	n = record_encode(&r, buf, sizeof(buf));
	/* one byte short at every size */
	for (long cap = 0; cap < n; cap += 7)
		CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, (size_t)cap), -ENOSPC);
	CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, (size_t)n), n);
	CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, (size_t)n - 1), -ENOSPC);
	/* the rest of the record is still checked */
	r.workspace_id = NULL;
	CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, sizeof(buf)), -EINVAL);
	/* a prefix without v, or with an over-long host, is refused */
	fill_full(&r);
	r.v = RECORD_ABSENT;
	CHECK_INT(record_encode_prefix(&r, &prefix), -EINVAL);
	CHECK_INT(record_encode_with_prefix(&r, &prefix, buf, sizeof(buf)), -EINVAL);
	fill_full(&r);
	memset(string_space[0], 'h', RECORD_MAX_STRING + 1);
	string_space[0][RECORD_MAX_STRING + 1] = '\0';
	r.host = string_space[0];
	CHECK_INT(record_encode_prefix(&r, &prefix), -EINVAL);
	/* the largest prefix fits */
	string_space[0][RECORD_MAX_STRING] = '\0';
	memset(string_space[1], 'e', RECORD_MAX_STRING);
	string_space[1][RECORD_MAX_STRING] = '\0';
	r.exe = string_space[1];
	r.pid = r.ppid = r.uid = r.auid = r.session = r.v = INT64_MIN + 1;
	CHECK(record_encode_prefix(&r, &prefix) > 2 * RECORD_MAX_STRING);
}

static void test_minimal_and_nil(void)
{
	struct record in, out;
	unsigned char buf[256];
	long n;

	record_init(&in);
	CHECK(in.end_user_id == NULL && in.pid == RECORD_ABSENT);
	CHECK(in.received_sec == RECORD_ABSENT && in.v == 1);
	in.workspace_id = "ws";
	in.actor_user_id = "uid:1000";
	in.event_type = EVENT_COLLECTOR_STARTED;
	in.timestamp_sec = 0;
	n = record_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(buf[0], 0x86);            /* exactly six keys */
	CHECK_INT(record_decode(buf, (size_t)n, &out, arena, sizeof(arena), NULL), 0);
	CHECK(out.end_user_id == NULL);
	CHECK(out.host == NULL && out.target == NULL && out.identity == NULL);
	CHECK(out.pid == RECORD_ABSENT && out.id == RECORD_ABSENT);
	CHECK(out.received_sec == RECORD_ABSENT);
	CHECK_INT(out.detail_count, 0);
	CHECK_INT(out.event_type, EVENT_COLLECTOR_STARTED);
	/* negative and large timestamps use the 96-bit form */
	in.timestamp_sec = -5;
	in.timestamp_nsec = 999999999;
	n = record_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(record_decode(buf, (size_t)n, &out, arena, sizeof(arena), NULL), 0);
	CHECK_INT(out.timestamp_sec, -5);
	CHECK_INT(out.timestamp_nsec, 999999999);
}

static void test_encode_errors(void)
{
	struct record r;
	unsigned char buf[RECORD_MAX_BYTES];
	static char big[RECORD_MAX_STRING + 2];
	long n, i;

	record_init(&r);
	r.actor_user_id = "a";
	r.event_type = EVENT_FILE_VIEWED;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);   /* no workspace */
	r.workspace_id = "w";
	r.actor_user_id = NULL;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.actor_user_id = "a";
	r.event_type = EVENT_NONE;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.event_type = EVENT_COUNT;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.event_type = EVENT_FILE_VIEWED;
	r.timestamp_nsec = 1000000000;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.timestamp_nsec = 0;
	r.detail_count = RECORD_MAX_DETAIL + 1;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.detail_count = 1;
	r.detail[0].key = NULL;
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.detail_count = 0;

	/* strings: RECORD_MAX_STRING fits, one more does not */
	memset(big, 'x', RECORD_MAX_STRING);
	big[RECORD_MAX_STRING] = '\0';
	r.target = big;
	CHECK(record_encode(&r, buf, sizeof(buf)) > RECORD_MAX_STRING);
	big[RECORD_MAX_STRING] = 'x';
	big[RECORD_MAX_STRING + 1] = '\0';
	CHECK_INT(record_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.target = NULL;

	/* every buffer shorter than the record: -ENOSPC, never an overrun */
	n = record_encode(&r, buf, sizeof(buf));
	CHECK(n > 0);
	for (i = 0; i < n; i++) {
		unsigned char *small = malloc((size_t)i + 1);   /* ASan sees overruns */

		CHECK_INT(record_encode(&r, small, (size_t)i), -ENOSPC);
		free(small);
	}
	CHECK_INT(record_encode(&r, buf, (size_t)n), n);
}

static void test_decode_strings_at_limit(void)
{
	static char big[RECORD_MAX_STRING + 1];
	struct raw w;
	struct record r;
	const char *why;

	memset(big, 'y', sizeof(big));
	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "target");
	raw_strn(&w, big, RECORD_MAX_STRING);
	CHECK_INT(decode_raw(&w, &r, &why), 0);
	CHECK_INT(strlen(r.target), RECORD_MAX_STRING);

	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "target");
	raw_strn(&w, big, RECORD_MAX_STRING + 1);
	CHECK_INT(decode_raw(&w, &r, &why), -EMSGSIZE);
	CHECK_STR(why, "string too long");
}

static void test_decode_size_limit(void)
{
	static unsigned char buf[RECORD_MAX_BYTES + 1];
	static char pad[RECORD_MAX_BYTES];
	struct raw w;
	struct record r;
	const char *why;
	size_t fill;

	/* Build a record of exactly RECORD_MAX_BYTES with detail strings. */
	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "detail");
	raw_map(&w, 5);
	memset(pad, 'z', sizeof(pad));
	raw_str(&w, "a"); raw_strn(&w, pad, 4000);
	raw_str(&w, "b"); raw_strn(&w, pad, 4000);
	raw_str(&w, "c"); raw_strn(&w, pad, 4000);
	raw_str(&w, "d"); raw_strn(&w, pad, 3000);
	fill = RECORD_MAX_BYTES - w.n - 2;       /* key "e" */
	/* the string's own header is 1, 2 or 3 bytes, depending on its length */
	fill -= fill - 3 >= 256 ? 3 : fill - 2 >= 32 ? 2 : 1;
	raw_str(&w, "e"); raw_strn(&w, pad, fill);
	CHECK_INT(w.n, RECORD_MAX_BYTES);
	CHECK_INT(decode_raw(&w, &r, &why), 0);
	CHECK_INT(r.detail_count, 5);
	CHECK(r.detail_count == 5 && strlen(r.detail[4].str) == fill);

	memcpy(buf, w.b, w.n);
	buf[w.n] = 0xc0;
	CHECK_INT(record_decode(buf, RECORD_MAX_BYTES + 1, &r, arena, sizeof(arena), &why),
		  -EMSGSIZE);
}

static void test_decode_detail_limits(void)
{
	struct raw w;
	struct record r;
	const char *why;
	char key[16];
	int i;

	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "detail");
	raw_map(&w, RECORD_MAX_DETAIL);
	for (i = 0; i < RECORD_MAX_DETAIL; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		raw_str(&w, key);
		raw_int(&w, i);
	}
	CHECK_INT(decode_raw(&w, &r, &why), 0);
	CHECK_INT(r.detail_count, RECORD_MAX_DETAIL);
	CHECK_INT(r.detail[15].num, 15);

	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "detail");
	raw_map(&w, RECORD_MAX_DETAIL + 1);
	for (i = 0; i <= RECORD_MAX_DETAIL; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		raw_str(&w, key);
		raw_int(&w, i);
	}
	CHECK_INT(decode_raw(&w, &r, &why), -EMSGSIZE);
	CHECK_STR(why, "detail has more than RECORD_MAX_DETAIL entries");
}

/* A record with the required keys plus one extra key/value written by fn. */
typedef void (*raw_extra)(struct raw *w);

static int decode_with(raw_extra fn, const char **why)
{
	struct raw w;
	struct record r;

	w.n = 0;
	raw_required(&w, 1);
	fn(&w);
	return decode_raw(&w, &r, why);
}

static void extra_unknown_key(struct raw *w) { raw_str(w, "colour"); raw_str(w, "red"); }
static void extra_dup_key(struct raw *w) { raw_str(w, "v"); raw_int(w, 1); }
static void extra_pid_str(struct raw *w) { raw_str(w, "pid"); raw_str(w, "12"); }
static void extra_pid_min(struct raw *w) { raw_str(w, "pid"); raw_int(w, INT64_MIN); }
static void extra_pid_u64(struct raw *w) { raw_str(w, "pid"); raw_byte(w, 0xcf); raw_be(w, UINT64_MAX, 8); }
static void extra_host_nil(struct raw *w) { raw_str(w, "host"); raw_byte(w, 0xc0); }
static void extra_host_nul(struct raw *w) { raw_str(w, "host"); raw_strn(w, "a\0b", 3); }
static void extra_host_bin(struct raw *w) { raw_str(w, "host"); raw_byte(w, 0xc4); raw_byte(w, 1); raw_byte(w, 'a'); }
static void extra_detail_nested(struct raw *w)
{
	raw_str(w, "detail"); raw_map(w, 1); raw_str(w, "x"); raw_map(w, 0);
}
static void extra_detail_array(struct raw *w)
{
	raw_str(w, "detail"); raw_map(w, 1); raw_str(w, "x"); raw_byte(w, 0x90);
}
static void extra_detail_bool(struct raw *w)
{
	raw_str(w, "detail"); raw_map(w, 1); raw_str(w, "x"); raw_byte(w, 0xc3);
}
static void extra_detail_dup(struct raw *w)
{
	raw_str(w, "detail"); raw_map(w, 2); raw_str(w, "x"); raw_int(w, 1);
	raw_str(w, "x"); raw_int(w, 2);
}
static void extra_detail_intkey(struct raw *w)
{
	raw_str(w, "detail"); raw_map(w, 1); raw_int(w, 1); raw_int(w, 2);
}
static void extra_detail_not_map(struct raw *w) { raw_str(w, "detail"); raw_int(w, 1); }
static void extra_received_int(struct raw *w) { raw_str(w, "received_at"); raw_int(w, 5); }
static void extra_received_badns(struct raw *w)
{
	/* timestamp 96: nsec 1e9 is out of range */
	raw_str(w, "received_at");
	raw_byte(w, 0xc7); raw_byte(w, 12); raw_byte(w, 0xff);
	raw_be(w, 1000000000u, 4); raw_be(w, 1, 8);
}
static void extra_received_ext5(struct raw *w)
{
	raw_str(w, "received_at");
	raw_byte(w, 0xd6); raw_byte(w, 0x05); raw_be(w, 1, 4);   /* ext type 5 */
}
static void extra_int_key(struct raw *w) { raw_int(w, 3); raw_int(w, 3); }

static void test_decode_rejects(void)
{
	const char *why;

	CHECK_INT(decode_with(extra_unknown_key, &why), -EBADMSG);
	CHECK_STR(why, "unknown key in record");
	CHECK_INT(decode_with(extra_dup_key, &why), -EBADMSG);
	CHECK_STR(why, "duplicate key in record");
	CHECK_INT(decode_with(extra_pid_str, &why), -EBADMSG);
	CHECK_STR(why, "expected an integer");
	CHECK_INT(decode_with(extra_pid_min, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_pid_u64, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_host_nil, &why), -EBADMSG);
	CHECK_STR(why, "expected a string");
	CHECK_INT(decode_with(extra_host_nul, &why), -EBADMSG);
	CHECK_STR(why, "string holds a NUL byte");
	CHECK_INT(decode_with(extra_host_bin, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_detail_nested, &why), -EBADMSG);
	CHECK_STR(why, "detail values must be strings or integers");
	CHECK_INT(decode_with(extra_detail_array, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_detail_bool, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_detail_dup, &why), -EBADMSG);
	CHECK_STR(why, "duplicate detail key");
	CHECK_INT(decode_with(extra_detail_intkey, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_detail_not_map, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_received_int, &why), -EBADMSG);
	CHECK_STR(why, "expected a msgpack timestamp");
	CHECK_INT(decode_with(extra_received_badns, &why), -EBADMSG);
	CHECK_STR(why, "timestamp out of range");
	CHECK_INT(decode_with(extra_received_ext5, &why), -EBADMSG);
	CHECK_INT(decode_with(extra_int_key, &why), -EBADMSG);
	CHECK_STR(why, "record keys must be strings");
}

static void test_decode_missing_and_version(void)
{
	static const char *const required[] = {
		"workspace_id", "actor_user_id", "event_type", "end_user_id",
		"timestamp", "v",
	};
	struct raw w;
	struct record r;
	const char *why;
	size_t skip, k;

	/* drop each required key in turn */
	for (skip = 0; skip < 6; skip++) {
		w.n = 0;
		raw_map(&w, 5);
		for (k = 0; k < 6; k++) {
			if (k == skip)
				continue;
			raw_str(&w, required[k]);
			switch (k) {
			case 0: raw_str(&w, "ws"); break;
			case 1: raw_str(&w, "alice"); break;
			case 2: raw_str(&w, "PHI File Viewed"); break;
			case 3: raw_str(&w, "4711"); break;
			case 4: raw_ts(&w, 1); break;
			case 5: raw_int(&w, 1); break;
			}
		}
		CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
		CHECK(why != NULL && strstr(why, "required") != NULL);
	}

	/* v = 2 */
	w.n = 0;
	raw_map(&w, 6);
	raw_str(&w, "workspace_id"); raw_str(&w, "ws");
	raw_str(&w, "actor_user_id"); raw_str(&w, "alice");
	raw_str(&w, "event_type"); raw_str(&w, "PHI File Viewed");
	raw_str(&w, "end_user_id"); raw_byte(&w, 0xc0);
	raw_str(&w, "timestamp"); raw_ts(&w, 1);
	raw_str(&w, "v"); raw_int(&w, 2);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "unsupported record schema version");

	/* unknown event type name */
	w.n = 0;
	raw_map(&w, 6);
	raw_str(&w, "workspace_id"); raw_str(&w, "ws");
	raw_str(&w, "actor_user_id"); raw_str(&w, "alice");
	raw_str(&w, "event_type"); raw_str(&w, "PHI File Eaten");
	raw_str(&w, "end_user_id"); raw_byte(&w, 0xc0);
	raw_str(&w, "timestamp"); raw_ts(&w, 1);
	raw_str(&w, "v"); raw_int(&w, 1);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "unknown event_type");
}

static void test_decode_structure(void)
{
	struct raw w;
	struct record r;
	const char *why;
	size_t full, cut;
	int i;

	/* not a map */
	w.n = 0;
	raw_byte(&w, 0x90);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "record is not a map");
	/* empty */
	CHECK_INT(record_decode("", 0, &r, arena, sizeof(arena), &why), -EBADMSG);
	/* trailing bytes */
	w.n = 0;
	raw_required(&w, 0);
	raw_byte(&w, 0xc0);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "trailing bytes after the message");
	/* every truncation of a valid record */
	w.n = 0;
	raw_required(&w, 0);
	full = w.n;
	CHECK_INT(decode_raw(&w, &r, &why), 0);
	for (cut = 0; cut < full; cut++) {
		w.n = cut;
		CHECK(decode_raw(&w, &r, &why) < 0);
	}
	/* a container claiming four billion elements in a few bytes */
	w.n = 0;
	raw_byte(&w, 0xdf);
	raw_be(&w, 0xffffffffu, 4);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "message truncated");
	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "host");
	raw_byte(&w, 0xdd);
	raw_be(&w, 0xfffffff0u, 4);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	/* 0xc1 is never valid */
	w.n = 0;
	raw_byte(&w, 0xc1);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	/* keys: RECORD_MAX_KEYS + 1 entries */
	w.n = 0;
	raw_map(&w, RECORD_MAX_KEYS + 1);
	for (i = 0; i <= RECORD_MAX_KEYS; i++) {
		raw_str(&w, "v");
		raw_int(&w, 1);
	}
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
	CHECK_STR(why, "record has more than RECORD_MAX_KEYS keys");
	/* deep nesting is refused, not a crash */
	w.n = 0;
	raw_required(&w, 1);
	raw_str(&w, "host");
	for (i = 0; i < 2000; i++)
		raw_byte(&w, 0x91);
	raw_byte(&w, 0xc0);
	CHECK_INT(decode_raw(&w, &r, &why), -EBADMSG);
}

static void test_decode_arena(void)
{
	struct record in, out;
	unsigned char buf[512];
	char small[16];
	const char *why;
	long n;

	fill_full(&in);
	n = record_encode(&in, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(record_decode(buf, (size_t)n, &out, small, sizeof(small), &why),
		  -EMSGSIZE);
	CHECK_STR(why, "decode arena too small");
}

int main(void)
{
	RUN(test_event_names);
	RUN(test_round_trip_every_field);
	RUN(test_key_order);
	RUN(test_encode_exact_bytes);
	RUN(test_encode_with_prefix_identical);
	RUN(test_encode_with_prefix_direct);
	RUN(test_encode_prefix_errors);
	RUN(test_minimal_and_nil);
	RUN(test_encode_errors);
	RUN(test_decode_strings_at_limit);
	RUN(test_decode_size_limit);
	RUN(test_decode_detail_limits);
	RUN(test_decode_rejects);
	RUN(test_decode_missing_and_version);
	RUN(test_decode_structure);
	RUN(test_decode_arena);
	return unit_done();
}
