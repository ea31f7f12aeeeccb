/*
 * test_tools_output.c - the CLI's writers: JSON escaping of every awkward
 * byte (controls, quotes, every kind of invalid UTF-8), a whole record as
 * JSON in schema order, RFC 4180 quoting, and the table's shortening of
 * long targets to the terminal's width.
 */
#include <stdlib.h>

#include "unit.h"
#include "output.h"

/* What fn writes for s, as a string (freed by the caller). */
static char *
capture(int (*fn)(FILE *, const char *), const char *s, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	*rc = fn(mem, s);
	fclose(mem);
	return text;
}

static void
check_json(const char *input, const char *expected)
{
	int rc;
	char *got = capture(cli_json_string, input, &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(got, expected);
	free(got);
}

static void
check_csv(const char *input, const char *expected)
{
	int rc;
	char *got = capture(cli_csv_field, input, &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(got, expected);
	free(got);
}

static void
test_json_plain_and_quotes(void)
{
	check_json("", "\"\"");
	check_json("/srv/ehr/patients/4711", "\"/srv/ehr/patients/4711\"");
	check_json("a\"b", "\"a\\\"b\"");
	check_json("a\\b", "\"a\\\\b\"");
	check_json("/", "\"/\"");       /* '/' needs no escape */
}

static void
test_json_every_control_byte(void)
{
	char input[2] = { 0, 0 }, expected[16];

	for (int c = 1; c < 0x20; c++) {
		input[0] = (char)c;
		snprintf(expected, sizeof(expected), "\"\\u%04x\"", c);
		check_json(input, expected);
	}
	check_json("\x7f", "\"\\u007f\"");
	check_json("a\nb\tc\r", "\"a\\u000ab\\u0009c\\u000d\"");
}

static void
test_json_every_high_byte_alone(void)
{
	/* No byte 0x80..0xff is valid UTF-8 on its own. */
	char input[2] = { 0, 0 }, expected[16];

	for (int c = 0x80; c <= 0xff; c++) {
		input[0] = (char)c;
		snprintf(expected, sizeof(expected), "\"\\u%04x\"", c);
		check_json(input, expected);
	}
}

static void
test_json_valid_utf8_kept(void)
{
	check_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");                   /* é */
	check_json("\xe2\x82\xac", "\"\xe2\x82\xac\"");                 /* € */
	check_json("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");                 /* U+FFFF */
	check_json("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");         /* emoji */
	check_json("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");         /* U+10FFFF */
	check_json("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");                 /* U+D7FF */
	check_json("\xc2\x80", "\"\xc2\x80\"");                         /* U+0080 */
}

static void
test_json_invalid_utf8_escaped(void)
{
	/* overlong forms */
	check_json("\xc0\xaf", "\"\\u00c0\\u00af\"");
	check_json("\xc1\xbf", "\"\\u00c1\\u00bf\"");
	check_json("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
	check_json("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"");
	/* UTF-16 surrogates */
	check_json("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	check_json("\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"");
	/* past U+10FFFF, and bytes that never start a sequence */
	check_json("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
	check_json("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"");
	/* truncated sequences, at the end and before ASCII */
	check_json("a\xe2\x82", "\"a\\u00e2\\u0082\"");
	check_json("\xe2\x82z", "\"\\u00e2\\u0082z\"");
	check_json("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"");
	check_json("\xc3", "\"\\u00c3\"");
	/* a stray continuation byte between valid characters */
	check_json("\xc3\xa9\x80\xc3\xa9", "\"\xc3\xa9\\u0080\xc3\xa9\"");
}

static void
test_csv_quoting(void)
{
	check_csv("", "");
	check_csv("plain text", "plain text");
	check_csv("a,b", "\"a,b\"");
	check_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
	check_csv("\"", "\"\"\"\"");
	check_csv("two\nlines", "two\\x0alines");
	check_csv("cr\r", "cr\\x0d");
	check_csv("tab\there", "tab\\x09here");
	check_csv("back\\slash", "back\\\\slash");
}

/* OWASP CSV injection: a formula start becomes text ('-prefixed, quoted). */
static void
test_csv_formula_starts(void)
{
	check_csv("=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"");
	check_csv("+1+1", "\"'+1+1\"");
	check_csv("-2+3", "\"'-2+3\"");
	check_csv("@SUM(A1)", "\"'@SUM(A1)\"");
	check_csv("\tx", "\"'\\x09x\"");
	check_csv("\rx", "\"'\\x0dx\"");
	check_csv("=a,\"b\"", "\"'=a,\"\"b\"\"\"");
	check_csv("a=b", "a=b");                /* only the first byte counts */
	check_csv("4711", "4711");
}

/* Terminal escapes: C0, DEL, C1 and bad UTF-8 bytes as \xHH, never raw. */
static void
test_csv_control_bytes(void)
{
	check_csv("\x1b]0;owned\x07", "\\x1b]0;owned\\x07");
	check_csv("a\x1b[31mred", "a\\x1b[31mred");
	check_csv("del\x7f", "del\\x7f");
	check_csv("csi\xc2\x9b" "2J", "csi\\xc2\\x9b2J");
	check_csv("bad\xff", "bad\\xff");
	check_csv("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");   /* UTF-8 kept */
	check_csv("\x01\x1f", "\\x01\\x1f");
}

static void
fill_record(struct record *r)
{
	record_init(r);
	r->id = 42;
	r->workspace_id = "ws_st_marys";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_VIEWED;
	r->end_user_id = "4711";
	r->timestamp_sec = 1795877246;
	r->timestamp_nsec = 123456789;
	r->host = "ehr1";
	r->pid = 100;
	r->ppid = 1;
	r->exe = "/usr/bin/cat";
	r->uid = 1000;
	r->auid = 1000;
	r->session = 3;
	r->target = "/srv/ehr/patients/4711/chart.txt";
	r->rule = "charts";
	r->result = "ok";
	r->seq = 0;
	r->detail[0].key = "mode";
	r->detail[0].num = 0;
	r->detail[1].key = "msg";
	r->detail[1].str = "ADT^A01";
	r->detail_count = 2;
	r->received_sec = 1795877246;
	r->received_nsec = 5;
	r->identity = "verified";
}

static char *
json_record_text(const struct record *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	CHECK_INT(cli_json_record(mem, r), 0);
	fclose(mem);
	return text;
}

static void
test_json_record_schema_order(void)
{
	struct record r;
	char *got;

	fill_record(&r);
	got = json_record_text(&r);
	CHECK_STR(got, "{\"id\":42,\"workspace_id\":\"ws_st_marys\","
		  "\"actor_user_id\":\"alice\",\"event_type\":\"PHI File Viewed\","
		  "\"end_user_id\":\"4711\","
		  "\"timestamp\":\"2026-11-28T14:47:26.123456789Z\",\"v\":1,"
		  "\"host\":\"ehr1\",\"pid\":100,\"ppid\":1,"
		  "\"exe\":\"/usr/bin/cat\",\"uid\":1000,\"auid\":1000,"
		  "\"session\":3,\"target\":\"/srv/ehr/patients/4711/chart.txt\","
		  "\"target2\":null,\"rule\":\"charts\",\"result\":\"ok\","
		  "\"seq\":0,\"detail\":{\"mode\":0,\"msg\":\"ADT^A01\"},"
		  "\"received_at\":\"2026-11-28T14:47:26.000000005Z\","
		  "\"identity\":\"verified\"}");
	free(got);
}

static void
test_json_record_nil_and_awkward(void)
{
	struct record r;
	char *got;

	fill_record(&r);
	r.end_user_id = NULL;
	r.target = "/tmp/\"x\"\n\xff";
	r.detail_count = 0;
	r.received_sec = RECORD_ABSENT;
	got = json_record_text(&r);
	CHECK(strstr(got, "\"end_user_id\":null,") != NULL);
	CHECK(strstr(got, "\"target\":\"/tmp/\\\"x\\\"\\u000a\\u00ff\"") != NULL);
	CHECK(strstr(got, "\"detail\":{}") != NULL);
	CHECK(strstr(got, "\"received_at\":null") != NULL);
	free(got);
}

static char *
write_all(const char *format, size_t columns, struct record *records,
	  size_t count)
{
	struct cli_output out;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	cli_output_init(&out, cli_output_find(format), mem, columns);
	for (size_t i = 0; i < count; i++)
		CHECK_INT(out.format->record(&out, &records[i]), 0);
	CHECK_INT(out.format->finish(&out), 0);
	cli_output_free(&out);
	fclose(mem);
	return text;
}

static void
test_csv_record(void)
{
	struct record r[2];
	char *got;

	fill_record(&r[0]);
	fill_record(&r[1]);
	r[1].id = 43;
	r[1].target = "/srv/a,b \"c\"";
	r[1].end_user_id = NULL;
	got = write_all("csv", 0, r, 2);
	CHECK(strncmp(got, "id,workspace_id,actor_user_id,event_type,"
		      "end_user_id,timestamp,v,host,pid,ppid,exe,uid,auid,"
		      "session,target,target2,rule,result,seq,detail,"
		      "received_at,identity\r\n42,ws_st_marys,alice,"
		      "PHI File Viewed,4711,2026-11-28T14:47:26.123456789Z,1,",
		      strlen("id,workspace_id,actor_user_id,event_type,"
			     "end_user_id,timestamp,v,host,pid,ppid,exe,uid,"
			     "auid,session,target,target2,rule,result,seq,"
			     "detail,received_at,identity\r\n42,ws_st_marys,"
			     "alice,PHI File Viewed,4711,"
			     "2026-11-28T14:47:26.123456789Z,1,")) == 0);
	CHECK(strstr(got, ",\"{\"\"mode\"\":0,\"\"msg\"\":\"\"ADT^A01\"\"}\",") != NULL);
	CHECK(strstr(got, "\r\n43,ws_st_marys,alice,PHI File Viewed,,") != NULL);
	CHECK(strstr(got, ",\"/srv/a,b \"\"c\"\"\",,charts,") != NULL);
	free(got);

	/* No records: the header alone. */
	got = write_all("csv", 0, r, 0);
	CHECK(strncmp(got, "id,", 3) == 0);
	CHECK(strchr(got, '\n') == got + strlen(got) - 1);
	free(got);
}

static void
test_shorten_left(void)
{
	char out[64];

	cli_shorten_left("/srv/ehr/patients/4711/chart.pdf", 10, out, sizeof(out));
	CHECK_STR(out, "\xe2\x80\xa6" "chart.pdf");
	CHECK_INT(cli_display_width(out), 10);
	cli_shorten_left("short", 5, out, sizeof(out));
	CHECK_STR(out, "short");
	cli_shorten_left("short!", 5, out, sizeof(out));
	CHECK_STR(out, "\xe2\x80\xa6" "ort!");
	cli_shorten_left("abc", 1, out, sizeof(out));
	CHECK_STR(out, "\xe2\x80\xa6");
	/* multibyte characters are kept whole */
	cli_shorten_left("/a/\xc3\xa9\xc3\xa9", 3, out, sizeof(out));
	CHECK_STR(out, "\xe2\x80\xa6\xc3\xa9\xc3\xa9");
	CHECK_INT(cli_display_width("\xc3\xa9\xe2\x82\xac\xff"), 3);
}

static void
test_printable(void)
{
	char *s = cli_printable_dup("a\x1b[31mb\xc2\x9b\xff\xc3\xa9\n");

	CHECK_STR(s, "a?[31mb??\xc3\xa9?");
	free(s);
}

static void
test_table(void)
{
	struct record r[2];
	char *got, *got2, *line, *cursor;
	int lines = 0, shortened = 0;

	fill_record(&r[0]);
	fill_record(&r[1]);
	r[1].id = 1234567;
	r[1].target = "/srv/ehr/patients/4711/a/very/long/path/that/will/not/fit/in/the/terminal/report.pdf";
	r[1].end_user_id = NULL;
	r[1].result = "EACCES";

	/* 120 columns leave 37 for TARGET: the first fits, the second not */
	got = write_all("table", 120, r, 2);
	cursor = got;
	while ((line = strsep(&cursor, "\n")) != NULL && *line) {
		lines++;
		CHECK(cli_display_width(line) <= 120);
		if (strstr(line, "\xe2\x80\xa6") &&
		    strstr(line, "/terminal/report.pdf  cat "))
			shortened++;
	}
	CHECK_INT(lines, 4);            /* header, 2 rows, count */
	CHECK_INT(shortened, 1);

	/* narrower: TARGET never shrinks below 12 columns */
	got2 = write_all("table", 40, r, 2);
	CHECK(strstr(got2, "  \xe2\x80\xa6" "/report.pdf  cat ") != NULL);
	free(got2);
	free(got);

	got = write_all("table", 0, r, 2);
	CHECK(strncmp(got, "TIME ", 5) == 0);
	CHECK(strstr(got, "2026-11-28 14:47:26Z  alice") != NULL);
	CHECK(strstr(got, "/not/fit/in/the/terminal/report.pdf") != NULL);
	CHECK(strstr(got, "  cat  ") != NULL);          /* exe basename */
	CHECK(strstr(got, "\n2 records\n") != NULL);
	free(got);

	got = write_all("table", 0, r, 0);
	CHECK_STR(got, "0 records\n");
	free(got);
}

static void
test_formats_table(void)
{
	CHECK(cli_output_find("table") != NULL);
	CHECK(cli_output_find("json") != NULL);
	CHECK(cli_output_find("csv") != NULL);
	CHECK(cli_output_find("xml") == NULL);
}

int
main(void)
{
	RUN(test_json_plain_and_quotes);
	RUN(test_json_every_control_byte);
	RUN(test_json_every_high_byte_alone);
	RUN(test_json_valid_utf8_kept);
	RUN(test_json_invalid_utf8_escaped);
	RUN(test_csv_quoting);
	RUN(test_csv_formula_starts);
	RUN(test_csv_control_bytes);
	RUN(test_json_record_schema_order);
	RUN(test_json_record_nil_and_awkward);
	RUN(test_csv_record);
	RUN(test_shorten_left);
	RUN(test_printable);
	RUN(test_table);
	RUN(test_formats_table);
	return unit_done();
}
