/*
 * test_atna_message.c - the ATNA sink's formatter: XML escaping of every
 * awkward byte (entities, controls, bad UTF-8, U+FFFE), the RFC 5424 header
 * and its limits (APP-NAME 48 bytes, facility 23), and the DICOM PS3.15
 * message of records with hostile paths and ids: event id, action, outcome,
 * participants and objects where the mapping says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "atna_message.h"

static char *
escape(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	CHECK_INT(atna_xml_escape(mem, s), 0);
	fclose(mem);
	return text;
}

static void
check_escape(const char *input, const char *expected)
{
	char *got = escape(input);

	CHECK_STR(got, expected);
	free(got);
}

static void
test_escape(void)
{
	check_escape("/srv/ehr/4711", "/srv/ehr/4711");
	check_escape("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	check_escape("t\tn\nr\r", "t&#9;n&#10;r&#13;");
	check_escape("back\\slash", "back\\\\slash");
	check_escape("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_escape("bad\xff\xc3(", "bad\\xff\\xc3(");
	check_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
	check_escape("\xc0\xaf", "\\xc0\\xaf");                   /* overlong */
	check_escape("x\xef\xbf\xbey\xef\xbf\xbf", "x\\xef\\xbf\\xbey\\xef\\xbf\\xbf");
	check_escape("\xef\xbf\xbd", "\xef\xbf\xbd");             /* U+FFFD is fine */
	/* a literal "\x01" stays distinct from the byte 0x01 */
	check_escape("\\x01", "\\\\x01");
}

/* Every byte XML 1.0 allows, and attribute values without '<', '&' alone. */
static int
well_formed_enough(const char *xml)
{
	const unsigned char *p = (const unsigned char *)xml;
	int in_tag = 0, in_value = 0;

	for (; *p; p++) {
		if (*p < 0x20)
			return 0;
		if (in_value) {
			if (*p == '<')
				return 0;
			if (*p == '"')
				in_value = 0;
		} else if (in_tag) {
			if (*p == '"')
				in_value = 1;
			else if (*p == '>')
				in_tag = 0;
			else if (*p == '<')
				return 0;
		} else if (*p == '<') {
			in_tag = 1;
		} else if (*p == '>') {
			return 0;
		}
		if (*p == '&' && strncmp((const char *)p, "&amp;", 5) != 0 &&
		    strncmp((const char *)p, "&lt;", 4) != 0 &&
		    strncmp((const char *)p, "&gt;", 4) != 0 &&
		    strncmp((const char *)p, "&quot;", 6) != 0 &&
		    strncmp((const char *)p, "&apos;", 6) != 0 &&
		    strncmp((const char *)p, "&#", 2) != 0)
			return 0;
	}
	return !in_tag && !in_value;
}

static void
sample(struct record *r)
{
	record_init(r);
	r->workspace_id = "ws_st_marys";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_VIEWED;
	r->end_user_id = "4711";
	r->timestamp_sec = 1796222846;          /* 2026-12-02T14:47:26Z */
	r->timestamp_nsec = 123456789;
	r->host = "ward3";
	r->pid = 4242;
	r->ppid = 1;
	r->exe = "/usr/bin/cat";
	r->uid = 1000;
	r->auid = 1000;
	r->session = 7;
	r->target = "/srv/ehr/patients/4711/chart.txt";
	r->rule = "charts";
	r->result = "ok";
	r->seq = 3;
	r->id = 99;
	r->identity = "verified";
}

static char *
message(const struct record *r, int dicom, size_t *len)
{
	char *out = NULL;

	CHECK_INT(atna_syslog_message(r, dicom, "phitraild", 10, &out, len), 0);
	CHECK(out != NULL && strlen(out) == *len);
	return out;
}

static void
test_header_and_mapping(void)
{
	struct record r;
	size_t len;
	char *m;

	sample(&r);
	m = message(&r, 0, &len);
	CHECK(strncmp(m, "<85>1 2026-12-02T14:47:26.123456Z ward3 phitraild - "
		      "IHE+RFC-3881 - <?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		      "<AuditMessage><EventIdentification EventActionCode=\"R\" "
		      "EventDateTime=\"2026-12-02T14:47:26.123456789Z\" "
		      "EventOutcomeIndicator=\"0\"><EventID csd-code=\"110110\" "
		      "codeSystemName=\"DCM\" originalText=\"Patient Record\"/>",
		      strlen("<85>1 2026-12-02T14:47:26.123456Z ward3 phitraild - "
			     "IHE+RFC-3881 - <?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			     "<AuditMessage><EventIdentification EventActionCode=\"R\" "
			     "EventDateTime=\"2026-12-02T14:47:26.123456789Z\" "
			     "EventOutcomeIndicator=\"0\"><EventID csd-code=\"110110\" "
			     "codeSystemName=\"DCM\" originalText=\"Patient Record\"/>")) == 0);
	CHECK(strstr(m, "<EventTypeCode csd-code=\"PHI File Viewed\" codeSystemName=\"phitrail\"") != NULL);
	CHECK(strstr(m, "<ActiveParticipant UserID=\"alice\" AlternativeUserID=\"uid=1000 "
		     "auid=1000 session=7\" UserIsRequestor=\"true\"/>") != NULL);
	CHECK(strstr(m, "<ActiveParticipant UserID=\"/usr/bin/cat\" AlternativeUserID=\"4242\" "
		     "UserIsRequestor=\"false\" NetworkAccessPointID=\"ward3\" "
		     "NetworkAccessPointTypeCode=\"1\"><RoleIDCode csd-code=\"110153\"") != NULL);
	CHECK(strstr(m, "<AuditSourceIdentification AuditEnterpriseSiteID=\"ws_st_marys\" "
		     "AuditSourceID=\"ward3\">") != NULL);
	CHECK(strstr(m, "<ParticipantObjectIdentification ParticipantObjectID=\"4711\" "
		     "ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">") != NULL);
	CHECK(strstr(m, "ParticipantObjectID=\"/srv/ehr/patients/4711/chart.txt\" "
		     "ParticipantObjectTypeCode=\"2\"") != NULL);
	/* base64("charts") and base64("99") */
	CHECK(strstr(m, "<ParticipantObjectDetail type=\"rule\" value=\"Y2hhcnRz\"/>") != NULL);
	CHECK(strstr(m, "ParticipantObjectID=\"99\"") != NULL);
	CHECK(strstr(m, "EventOutcomeDescription") == NULL);
	CHECK(well_formed_enough(strchr(m, '<') + 1 + strcspn(strchr(m, '<') + 1, "<")));
	CHECK(m[len - 1] == '>');
	free(m);

	/* DICOM content, a refused write, a deletion */
	r.event_type = EVENT_FILE_MODIFIED;
	r.result = "EACCES";
	m = message(&r, 1, &len);
	CHECK(strstr(m, "EventActionCode=\"U\"") != NULL);
	CHECK(strstr(m, "EventOutcomeIndicator=\"4\"") != NULL);
	CHECK(strstr(m, "<EventID csd-code=\"110103\" codeSystemName=\"DCM\" "
		     "originalText=\"DICOM Instances Accessed\"/>") != NULL);
	CHECK(strstr(m, "<EventOutcomeDescription>EACCES</EventOutcomeDescription>") != NULL);
	free(m);
	r.event_type = EVENT_FILE_DELETED;
	r.result = "ok";
	m = message(&r, 0, &len);
	CHECK(strstr(m, "EventActionCode=\"D\"") != NULL);
	free(m);
	r.event_type = EVENT_FILE_CREATED;
	m = message(&r, 0, &len);
	CHECK(strstr(m, "EventActionCode=\"C\"") != NULL);
	free(m);
	r.event_type = EVENT_COLLECTOR_STARTED;
	r.end_user_id = NULL;
	r.target = NULL;
	m = message(&r, 0, &len);
	CHECK(strstr(m, "EventActionCode=\"E\"") != NULL);
	CHECK(strstr(m, "csd-code=\"110100\"") != NULL);
	CHECK(strstr(m, "csd-code=\"110120\"") != NULL);
	CHECK(strstr(m, "ParticipantObjectTypeCodeRole=\"1\"") == NULL);
	free(m);
}

static void
test_hostile_fields(void)
{
	struct record r;
	size_t len;
	char *m, *xml;

	sample(&r);
	r.end_user_id = "4711\"/><ParticipantObjectIdentification ParticipantObjectID=\"evil";
	r.target = "/srv/ehr/a\"b'c<d>&e\\f\x01g\n\xffh]]>";
	r.actor_user_id = "<root>";
	r.exe = "/tmp/&amp;";
	r.host = "bad host\x01name";
	r.workspace_id = "ws\"";
	m = message(&r, 0, &len);
	/* the HOSTNAME field holds only '!'..'~' */
	CHECK(strncmp(m, "<85>1 2026-12-02T14:47:26.123456Z bad_host_name phitraild ", 58) == 0);
	xml = strstr(m, "<AuditMessage>");
	CHECK(xml != NULL);
	CHECK(well_formed_enough(xml));
	CHECK(strstr(m, "ParticipantObjectID=\"4711&quot;/&gt;&lt;ParticipantObjectIdentification "
		     "ParticipantObjectID=&quot;evil\"") != NULL);
	CHECK(strstr(m, "ParticipantObjectID=\"/srv/ehr/a&quot;b&apos;c&lt;d&gt;&amp;e\\\\f"
		     "\\x01g&#10;\\xffh]]&gt;\"") != NULL);
	CHECK(strstr(m, "UserID=\"&lt;root&gt;\"") != NULL);
	CHECK(strstr(m, "UserID=\"/tmp/&amp;amp;\"") != NULL);
	CHECK(strstr(m, "AuditSourceID=\"bad host\\x01name\"") != NULL);
	free(m);
}

static void
test_limits(void)
{
	struct record r;
	char name[ATNA_APP_NAME_MAX + 2], *out = (char *)1;
	size_t len = 1;

	sample(&r);
	memset(name, 'a', sizeof(name));
	name[ATNA_APP_NAME_MAX] = '\0';                 /* 48: the limit */
	CHECK_INT(atna_syslog_message(&r, 0, name, 23, &out, &len), 0);
	CHECK(strncmp(out, "<189>1 ", 7) == 0);        /* 23 * 8 + 5 */
	free(out);
	name[ATNA_APP_NAME_MAX] = 'a';
	name[ATNA_APP_NAME_MAX + 1] = '\0';             /* 49: one past */
	CHECK_INT(atna_syslog_message(&r, 0, name, 10, &out, &len), -EINVAL);
	CHECK(out == NULL && len == 0);
	CHECK_INT(atna_syslog_message(&r, 0, "phitraild", 24, &out, &len), -EINVAL);
	CHECK_INT(atna_syslog_message(&r, 0, "", 10, &out, &len), -EINVAL);
	CHECK_INT(atna_syslog_message(&r, 0, "has space", 10, &out, &len), -EINVAL);
	CHECK_INT(atna_syslog_message(&r, 0, "phitraild", 0, &out, &len), 0);
	CHECK(strncmp(out, "<5>1 ", 5) == 0);
	free(out);
	r.timestamp_sec = RECORD_ABSENT;
	CHECK_INT(atna_syslog_message(&r, 0, "phitraild", 10, &out, &len), -EINVAL);
	/* no host: HOSTNAME and AuditSourceID are "-" */
	sample(&r);
	r.host = NULL;
	CHECK_INT(atna_syslog_message(&r, 0, "phitraild", 10, &out, &len), 0);
	CHECK(strstr(out, "Z - phitraild - IHE+RFC-3881 - <?xml") != NULL);
	CHECK(strstr(out, "AuditSourceID=\"-\"") != NULL);
	free(out);
}

int
main(void)
{
	RUN(test_escape);
	RUN(test_header_and_mapping);
	RUN(test_hostile_fields);
	RUN(test_limits);
	return unit_done();
}
