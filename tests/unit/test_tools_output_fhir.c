/*
 * test_tools_output_fhir.c - the "fhir" writer: an AuditEvent's elements
 * where the mapping puts them (type, action, recorded, outcome, the two
 * agents, source, the patient and target entities, the extensions), no
 * empty string or array (FHIR forbids them), hostile strings kept inside
 * their JSON strings, and the Bundle around none, one and two records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "output.h"
#include "output_fhir.h"

static void
sample(struct record *r)
{
	record_init(r);
	r->workspace_id = "ws_st_marys";
	r->actor_user_id = "alice";
	r->event_type = EVENT_FILE_VIEWED;
	r->end_user_id = "4711";
	r->timestamp_sec = 1796222846;
	r->timestamp_nsec = 5;
	r->host = "ward3";
	r->pid = 4242;
	r->ppid = 1;
	r->exe = "/usr/bin/cat";
	r->uid = 1000;
	r->target = "/srv/ehr/patients/4711/chart.txt";
	r->rule = "charts";
	r->result = "ok";
	r->seq = 0;
	r->id = 99;
}

static char *
event(const struct record *r, const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	CHECK_INT(cli_fhir_audit_event(mem, r, cfg), 0);
	fclose(mem);
	return text;
}

/* Braces and brackets balance outside strings; strings end; no "" or []. */
static int
json_shape_ok(const char *s)
{
	int depth = 0, in_string = 0;

	if (strstr(s, "\"\"") != NULL || strstr(s, "[]") != NULL)
		return 0;
	for (; *s; s++) {
		if (in_string) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_string = 0;
			else if ((unsigned char)*s < 0x20)
				return 0;
		} else if (*s == '"') {
			in_string = 1;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if (*s == '}' || *s == ']') {
			if (--depth < 0)
				return 0;
		}
	}
	return depth == 0 && !in_string;
}

static void
test_mapping(void)
{
	struct record r;
	char *e;

	sample(&r);
	e = event(&r, NULL);
	CHECK(json_shape_ok(e));
	CHECK(strncmp(e, "{\"resourceType\":\"AuditEvent\",\"extension\":[{\"url\":"
		      "\"urn:phitrail:fhir:record-id\",\"valueString\":\"99\"}", 92) == 0);
	CHECK(strstr(e, "\"type\":{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\","
		     "\"code\":\"110110\",\"display\":\"Patient Record\"}") != NULL);
	CHECK(strstr(e, "\"action\":\"R\",\"recorded\":\"2026-12-02T14:47:26.000000005Z\","
		     "\"outcome\":\"0\",\"agent\":[") != NULL);
	CHECK(strstr(e, "\"who\":{\"identifier\":{\"system\":\"urn:phitrail:actor\","
		     "\"value\":\"alice\"},\"display\":\"alice\"},\"requestor\":true}") != NULL);
	CHECK(strstr(e, "\"altId\":\"4242\",\"requestor\":false,\"network\":{\"address\":"
		     "\"ward3\",\"type\":\"1\"}") != NULL);
	CHECK(strstr(e, "\"source\":{\"site\":\"ws_st_marys\",\"observer\":{\"identifier\":"
		     "{\"system\":\"urn:phitrail:host\",\"value\":\"ward3\"}") != NULL);
	CHECK(strstr(e, "\"what\":{\"identifier\":{\"system\":\"urn:phitrail:patient\","
		     "\"value\":\"4711\"}") != NULL);
	CHECK(strstr(e, "\"role\":{\"system\":\"http://terminology.hl7.org/CodeSystem/"
		     "object-role\",\"code\":\"1\",\"display\":\"Patient\"}") != NULL);
	CHECK(strstr(e, "{\"type\":\"rule\",\"valueString\":\"charts\"}") != NULL);
	CHECK(strstr(e, "outcomeDesc") == NULL);
	free(e);

	/* refused, deleted, DICOM by the rule of the configuration */
	{
		static struct config cfg;
		const char *text = "[rule charts]\nfiles = /srv/**\nprotocol = dicom\n";
		CHECK_INT(config_load_string(&cfg, "c", text, strlen(text)), 0);
		r.event_type = EVENT_FILE_DELETED;
		r.result = "EACCES";
		e = event(&r, &cfg);
		CHECK(strstr(e, "\"code\":\"110103\"") != NULL);
		CHECK(strstr(e, "\"action\":\"D\"") != NULL);
		CHECK(strstr(e, "\"outcome\":\"4\",\"outcomeDesc\":\"EACCES\"") != NULL);
		free(e);
	}

	/* the collector's own event: no patient, no target, no empty array */
	sample(&r);
	r.event_type = EVENT_COLLECTOR_STARTED;
	r.end_user_id = NULL;
	r.target = NULL;
	r.rule = NULL;
	r.seq = RECORD_ABSENT;
	e = event(&r, NULL);
	CHECK(json_shape_ok(e));
	CHECK(strstr(e, "\"entity\"") == NULL);
	CHECK(strstr(e, "\"action\":\"E\"") != NULL);
	CHECK(strstr(e, "\"code\":\"110120\"") != NULL);
	CHECK(strstr(e, "urn:phitrail:fhir:seq") == NULL);
	free(e);

	/* a target without rule or detail still has a detail entry */
	sample(&r);
	r.rule = NULL;
	e = event(&r, NULL);
	CHECK(json_shape_ok(e));
	free(e);

	/* no timestamp: recorded is required */
	r.timestamp_sec = RECORD_ABSENT;
	{
		FILE *null = fopen("/dev/null", "w");
		CHECK_INT(cli_fhir_audit_event(null, &r, NULL), -EINVAL);
		fclose(null);
	}
}

static void
test_hostile_and_empty(void)
{
	struct record r;
	char *e;

	sample(&r);
	r.end_user_id = "47\"11},{\"x\":[";
	r.target = "/a\\b\n\x01\xff";
	r.exe = "";
	r.host = "";
	r.actor_user_id = "]}";
	e = event(&r, NULL);
	CHECK(json_shape_ok(e));
	CHECK(strstr(e, "\"value\":\"47\\\"11},{\\\"x\\\":[\"") != NULL);
	CHECK(strstr(e, "\"value\":\"/a\\\\b\\u000a\\u0001\\u00ff\"") != NULL);
	CHECK(strstr(e, "urn:phitrail:exe") == NULL);   /* empty exe left out */
	CHECK(strstr(e, "\"network\"") == NULL);
	/* without a host the observer is the workspace */
	CHECK(strstr(e, "\"observer\":{\"identifier\":{\"system\":\"urn:phitrail:host\","
		     "\"value\":\"ws_st_marys\"}") != NULL);
	free(e);
}

static void
test_bundle(void)
{
	struct cli_output out;
	struct record r;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	mem = open_memstream(&text, &len);
	cli_output_init(&out, cli_output_find("fhir"), mem, 0);
	CHECK_INT(out.format->finish(&out), 0);
	fclose(mem);
	CHECK_STR(text, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n]}\n");
	free(text);

	sample(&r);
	mem = open_memstream(&text, &len);
	cli_output_init(&out, cli_output_find("fhir"), mem, 0);
	CHECK_INT(out.format->record(&out, &r), 0);
	CHECK_INT(out.format->flush(&out), 0);
	CHECK_INT(out.format->record(&out, &r), 0);
	CHECK_INT(out.format->finish(&out), 0);
	fclose(mem);
	CHECK(out.records == 2);
	CHECK(json_shape_ok(text));
	CHECK(strncmp(text, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n"
		      "{\"resource\":{\"resourceType\":\"AuditEvent\"", 78) == 0);
	CHECK(strstr(text, "}},\n{\"resource\":{") != NULL);
	free(text);
}

int
main(void)
{
	RUN(test_mapping);
	RUN(test_hostile_and_empty);
	RUN(test_bundle);
	return unit_done();
}
