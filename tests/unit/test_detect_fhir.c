/*
 * test_detect_fhir.c - the FHIR detector: request targets and search
 * parameters, responses with Content-Length, chunked and to-the-end bodies,
 * the JSON scan (Patient ids, subject/patient references, Bundles),
 * keep-alive sequences, splits at every byte, limits, giving up.
 */
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "unit.h"

static struct detect_message msgs[8];

static size_t feed_str(struct detect_stream *s, const char *text)
{
	return detect_stream_feed(s, text, strlen(text), msgs, 8);
}

/* One request line with headers and no body: type and patient. */
static void check_request(const char *target, const char *type,
			  const char *patient, const char *ids)
{
	char req[1024];
	struct detect_stream s;
	int n = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: ehr\r\nAccept: application/fhir+json\r\n\r\n",
	    target);

	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, req), 1);
	CHECK_STR(msgs[0].message_type, type);
	CHECK_STR(msgs[0].patient, patient);
	CHECK_STR(msgs[0].identifiers, ids);
	CHECK_INT(msgs[0].bytes, n);
	CHECK(detect_stream_gave_up(&s) == NULL);
}

static void test_request_targets(void)
{
	check_request("/fhir/Patient/4711", "GET Patient", "4711", "4711");
	check_request("/Patient/4711/_history/2", "GET Patient", "4711", "4711");
	check_request("/api/FHIR/R4/Patient/a-1.b", "GET Patient", "a-1.b", "a-1.b");
	check_request("/baseR4/Observation?patient=4711&code=8867-4",
	    "GET Observation", "4711", "4711");
	check_request("/Observation?subject=Patient/4711", "GET Observation",
	    "4711", "4711");
	check_request("/Observation?subject=Patient%2F4711", "GET Observation",
	    "4711", "4711");
	check_request("/Observation?patient=Patient/4711,Patient/12",
	    "GET Observation", "4711", "4711,12");
	check_request("/Observation?subject:Patient=99", "GET Observation", "99", "99");
	check_request("/Observation?subject=Group/7", "GET Observation", "", "");
	check_request("/Observation?subject=7", "GET Observation", "", "");
	check_request("/Patient?_id=4711", "GET Patient", "4711", "4711");
	check_request("/Observation?_id=4711", "GET Observation", "", "");
	check_request("/Patient/4711/Observation?code=x", "GET Observation",
	    "4711", "4711");
	check_request("/Patient/4711/$everything", "GET Patient", "4711", "4711");
	check_request("/Patient/$match", "GET Patient", "", "");
	check_request("/Observation/123", "GET Observation", "", "");
	check_request("http://ehr.example:8080/fhir/Patient/4711#x", "GET Patient",
	    "4711", "4711");
	check_request("/metadata", "GET", "", "");
	check_request("/fhir/Patient/47%311", "GET Patient", "4711", "4711");
	check_request("/Patient/bad_id!", "GET Patient", "", "");
	check_request("/Observation?patient=http://x/fhir/Patient/5/_history/1",
	    "GET Observation", "5", "5");
}

static const char patient_body[] =
    "{\"resourceType\":\"Patient\",\"id\":\"4711\",\"identifier\":[{\"system\":"
    "\"urn:mrn\",\"value\":\"MRN1\"}],\"name\":[{\"family\":\"Doe\"}],"
    "\"managingOrganization\":{\"reference\":\"Organization/1\"}}";

static void test_response_content_length(void)
{
	char r[1024];
	struct detect_stream s;
	int n = snprintf(r, sizeof(r), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/fhir+json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(patient_body), patient_body);

	for (int cut = 0; cut <= n; cut++) {
		size_t got;

		detect_stream_init(&s, DETECT_FHIR);
		got = detect_stream_feed(&s, r, (size_t)cut, msgs, 8);
		got += detect_stream_feed(&s, r + cut, (size_t)(n - cut), msgs + got, 8 - got);
		CHECK_INT(got, 1);
		CHECK_STR(msgs[0].message_type, "200 Patient");
		CHECK_STR(msgs[0].patient, "4711");
		CHECK_STR(msgs[0].identifiers, "4711");
		CHECK_INT(msgs[0].bytes, n);
	}
}

static const char *bundle_pieces[] = {
	"{\"resourceType\":\"Bundle\",",
	"\"type\":\"searchset\",\"entry\":[{\"resource\":{\"resourceType\":\"Observation\",",
	"\"id\":\"o1\",\"subject\":{\"reference\":\"Patient/4711\",\"display\":\"x\\\"y\"}}},",
	"{\"resource\":{\"id\":\"12\",\"resourceType\":\"Patient\",\"link\":[{\"other\":"
	"{\"reference\":\"Patient/9\"}}]}}]}",
};

static char bundle_chunked[2048];

static void make_bundle_chunked(void)
{
	size_t n = (size_t)snprintf(bundle_chunked, sizeof(bundle_chunked),
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");

	for (size_t i = 0; i < sizeof(bundle_pieces) / sizeof(bundle_pieces[0]); i++)
		n += (size_t)snprintf(bundle_chunked + n, sizeof(bundle_chunked) - n,
		    "%zx%s\r\n%s\r\n", strlen(bundle_pieces[i]), i == 2 ? "; ext=1" : "",
		    bundle_pieces[i]);
	snprintf(bundle_chunked + n, sizeof(bundle_chunked) - n,
	    "0\r\nX-Trailer: 1\r\n\r\n");
}

static void test_chunked_bundle_every_split(void)
{
	size_t n;

	make_bundle_chunked();
	n = strlen(bundle_chunked);
	for (size_t cut = 0; cut <= n; cut++) {
		struct detect_stream s;
		size_t got;

		detect_stream_init(&s, DETECT_FHIR);
		got = detect_stream_feed(&s, bundle_chunked, cut, msgs, 8);
		got += detect_stream_feed(&s, bundle_chunked + cut, n - cut,
		    msgs + got, 8 - got);
		CHECK_INT(got, 1);
		CHECK_STR(msgs[0].message_type, "200 Bundle");
		CHECK_STR(msgs[0].patient, "4711");
		CHECK_STR(msgs[0].identifiers, "4711,12");
		CHECK_INT(msgs[0].bytes, n);
		CHECK(detect_stream_gave_up(&s) == NULL);
	}
}

static void test_keep_alive_byte_at_a_time(void)
{
	char all[4096];
	struct detect_stream s;
	size_t got = 0;
	int n = snprintf(all, sizeof(all),
	    "GET /fhir/Patient/1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /fhir/Observation HTTP/1.1\r\ncontent-length: 60\r\n\r\n"
	    "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/2\"}}"
	    "\r\n"
	    "PUT /fhir/Patient/3 HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(patient_body), patient_body);

	/* the POST body is 66 bytes: make the Content-Length right */
	char *cl = strstr(all, "content-length: 60");
	memcpy(cl + 16, "66", 2);
	detect_stream_init(&s, DETECT_FHIR);
	for (int i = 0; i < n; i++)
		got += detect_stream_feed(&s, all + i, 1, msgs + got, 8 - got);
	CHECK_INT(got, 3);
	CHECK_STR(msgs[0].message_type, "GET Patient");
	CHECK_STR(msgs[0].patient, "1");
	CHECK_STR(msgs[1].message_type, "POST Observation");
	CHECK_STR(msgs[1].patient, "2");
	CHECK_STR(msgs[2].message_type, "PUT Patient");
	CHECK_STR(msgs[2].patient, "3");             /* the path comes first */
	CHECK_STR(msgs[2].identifiers, "3,4711");
	CHECK(detect_stream_gave_up(&s) == NULL);
	/* the same in one call */
	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(detect_stream_feed(&s, all, (size_t)n, msgs, 8), 3);
	CHECK_STR(msgs[1].patient, "2");
}

static void test_responses_without_length(void)
{
	struct detect_stream s;

	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 201 Created\r\nLocation: http://h/fhir/Patient/77/_history/1\r\n"
	    "Content-Length: 0\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.0 200 OK\r\n\r\n{\"resourceType\":\"Patient\",\"id\":\"5\"}"), 2);
	CHECK_STR(msgs[0].message_type, "201");
	CHECK_STR(msgs[0].patient, "77");
	CHECK_STR(msgs[1].message_type, "204");
	CHECK_INT(detect_stream_end(&s, msgs, 8), 1);
	CHECK_STR(msgs[0].message_type, "200 Patient");
	CHECK_STR(msgs[0].patient, "5");
	CHECK_INT(msgs[0].bytes, strlen("HTTP/1.0 200 OK\r\n\r\n{\"resourceType\":\"Patient\",\"id\":\"5\"}"));
}

static void test_non_json_body_counted(void)
{
	struct detect_stream s;

	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"
	    "<Patient><id value=\"4711\"/></Patient>..."), 1);
	CHECK_STR(msgs[0].message_type, "200");
	CHECK_STR(msgs[0].patient, "");
	CHECK_INT(msgs[0].flags, DETECT_FLAG_UNSCANNED);
}

static void test_giving_up(void)
{
	static const struct {
		const char *bytes;
		const char *why;
	} bad[] = {
		{ "\x16\x03\x01\x02\x05\x01", "FHIR: control byte in a start line" },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "FHIR: HTTP/2 is not read" },
		{ "GET /x HTTP/2\r\n", "FHIR: not an HTTP/1.x request line" },
		{ "get /x HTTP/1.1\r\n", "FHIR: not an HTTP/1.x request line" },
		{ "HTTP/1.1 20 OK\r\n", "FHIR: not an HTTP/1.x status line" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n", "FHIR: bad Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n",
		  "FHIR: conflicting Content-Length" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  "FHIR: bad chunk size line" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab",
		  "FHIR: chunk data not followed by CRLF" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		  "FHIR: protocol switched (101)" },
		{ "CONNECT ehr:443 HTTP/1.1\r\n", "FHIR: CONNECT tunnels are not read" },
		{ "GET / HTTP/1.1\r\nno colon here\r\n", "FHIR: malformed header line" },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n",
		  "FHIR: request Transfer-Encoding without chunked" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct detect_stream s;

		detect_stream_init(&s, DETECT_FHIR);
		CHECK_INT(feed_str(&s, bad[i].bytes), 0);
		CHECK_STR(detect_stream_gave_up(&s), bad[i].why);
		CHECK_INT(feed_str(&s, "GET /Patient/1 HTTP/1.1\r\n\r\n"), 0);
	}
}

/* A request whose header block (start line to the blank line) is size. */
static char *request_of_header_size(size_t size)
{
	static const char start[] = "GET /Patient/1 HTTP/1.1\r\n";
	char *r = malloc(size + 1);
	size_t n = sizeof(start) - 1, left = size - n - 2;

	memcpy(r, start, n);
	while (left > 0) {        /* lines "X: vvv\r\n", 6 to 1000 bytes */
		size_t line = left;

		if (line > 1000)
			line = left - 1000 >= 6 ? 1000 : left - 6;
		memcpy(r + n, "X: ", 3);
		memset(r + n + 3, 'v', line - 5);
		memcpy(r + n + line - 2, "\r\n", 2);
		n += line;
		left -= line;
	}
	memcpy(r + n, "\r\n", 2);
	r[n + 2] = '\0';
	return r;
}

static void test_header_block_limit(void)
{
	struct detect_stream s;
	char *r = request_of_header_size(DETECT_FHIR_HEADER_MAX);

	CHECK_INT(strlen(r), DETECT_FHIR_HEADER_MAX);
	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, r), 1);
	CHECK_STR(msgs[0].patient, "1");
	free(r);
	r = request_of_header_size(DETECT_FHIR_HEADER_MAX + 1);
	CHECK_INT(strlen(r), DETECT_FHIR_HEADER_MAX + 1);
	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, r), 0);
	CHECK_STR(detect_stream_gave_up(&s), "FHIR: header block too long");
	free(r);
}

static void test_start_line_limit(void)
{
	char *r = malloc(DETECT_FHIR_LINE_KEEP + 64);
	struct detect_stream s;
	/* "GET /Patient/1?q=vvv HTTP/1.1\r" is exactly the kept bytes */
	size_t fixed = strlen("GET /Patient/1?q= HTTP/1.1\r");

	for (int extra = 0; extra <= 1; extra++) {
		size_t v = DETECT_FHIR_LINE_KEEP - fixed + (size_t)extra;
		size_t n = 0;

		memcpy(r, "GET /Patient/1?q=", 17);
		n = 17;
		memset(r + n, 'v', v);
		n += v;
		memcpy(r + n, " HTTP/1.1\r\n\r\n", 14);
		detect_stream_init(&s, DETECT_FHIR);
		if (!extra) {
			CHECK_INT(feed_str(&s, r), 1);
			CHECK_STR(msgs[0].patient, "1");
		} else {
			CHECK_INT(feed_str(&s, r), 0);
			CHECK_STR(detect_stream_gave_up(&s), "FHIR: start line too long");
		}
	}
	free(r);
}

/* A Patient body whose closing '}' is body byte number close_at. */
static void check_body_scan(size_t close_at, int found)
{
	static const char head[] = "{\"resourceType\":\"Patient\",\"id\":\"4711\"";
	char hdr[128];
	char *body = malloc(close_at);
	struct detect_stream s;
	size_t got;

	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, ' ', close_at - 1 - (sizeof(head) - 1));
	body[close_at - 1] = '}';
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
	    close_at + 10);
	detect_stream_init(&s, DETECT_FHIR);
	got = feed_str(&s, hdr);
	got += detect_stream_feed(&s, body, close_at, msgs, 8);
	got += detect_stream_feed(&s, "          ", 10, msgs, 8);
	CHECK_INT(got, 1);
	CHECK_STR(msgs[0].patient, found ? "4711" : "");
	CHECK_INT(msgs[0].flags, found ? 0 : DETECT_FLAG_UNSCANNED);
	CHECK_INT(msgs[0].bytes, strlen(hdr) + close_at + 10);
	free(body);
}

static void test_body_scan_limit(void)
{
	check_body_scan(DETECT_FHIR_BODY_SCAN_MAX, 1);
	check_body_scan(DETECT_FHIR_BODY_SCAN_MAX + 1, 0);
}

static void check_depth(int arrays, int found)
{
	char body[512];
	char r[1024];
	struct detect_stream s;
	size_t n = 0;

	n += (size_t)snprintf(body, sizeof(body), "{\"resourceType\":\"Patient\",\"x\":");
	for (int i = 0; i < arrays; i++)
		body[n++] = '[';
	for (int i = 0; i < arrays; i++)
		body[n++] = ']';
	n += (size_t)snprintf(body + n, sizeof(body) - n, ",\"id\":\"4711\"}");
	snprintf(r, sizeof(r), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", n, body);
	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, r), 1);
	CHECK_STR(msgs[0].patient, found ? "4711" : "");
}

static void test_json_depth_limit(void)
{
	check_depth(DETECT_FHIR_JSON_DEPTH_MAX - 1, 1);   /* depth = the limit */
	check_depth(DETECT_FHIR_JSON_DEPTH_MAX, 0);
}

static void test_json_strings(void)
{
	struct detect_stream s;
	static const char body[] =
	    "{\"resourceType\":\"Enc\\u006funter\",\"note\":\"a}]{[\\\\\",\"subject\":"
	    "{\"reference\":\"Patient\\/8\"},\"patient\":[{\"reference\":\"#c1\"}],"
	    "\"x\":{\"subject\":{\"reference\":\"Patient/9\"}},\"n\":-1.5e3,\"t\":true}";
	char r[1024];

	snprintf(r, sizeof(r), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	detect_stream_init(&s, DETECT_FHIR);
	CHECK_INT(feed_str(&s, r), 1);
	CHECK_STR(msgs[0].message_type, "200 Encounter");
	CHECK_STR(msgs[0].identifiers, "8,9");
}

int main(void)
{
	RUN(test_request_targets);
	RUN(test_response_content_length);
	RUN(test_chunked_bundle_every_split);
	RUN(test_keep_alive_byte_at_a_time);
	RUN(test_responses_without_length);
	RUN(test_non_json_body_counted);
	RUN(test_giving_up);
	RUN(test_header_block_limit);
	RUN(test_start_line_limit);
	RUN(test_body_scan_limit);
	RUN(test_json_depth_limit);
	RUN(test_json_strings);
	return unit_done();
}
