/*
 * output_fhir.c - the "fhir" output format: the records as one FHIR R4
 * Bundle (type "collection") of AuditEvent resources, in the shape of IHE
 * Basic Audit Log Patterns (BALP): the person as the requesting agent, the
 * program as a second agent, the patient as an entity with role "Patient",
 * the file or peer as a second entity. README "FHIR AuditEvent and ATNA"
 * maps every record field.
 *
 * Owns: the AuditEvent layout. Codes (event id, action, outcome) come from
 * common/interop/audit_codes.c, strings go through output.c's one JSON escaper, so
 * any bytes a record holds still make valid JSON; empty strings, which FHIR
 * forbids, are left out.
 * Must never: print anything but the Bundle on its stream, or claim a BALP
 * profile (those are for RESTful operations; meta.profile stays empty).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit_codes.h"
#include "output.h"
#include "output_fhir.h"
#include "timefmt.h"

#define DCM "http://dicom.nema.org/resources/ontology/DCM"
#define EXT "urn:phitrail:fhir:"        /* our extensions' urls */

/* Writes ,"key": (or "key": for the first member of an object). */
static void
member(FILE *s, int *first, const char *key)
{
	if (!*first)
		fputc(',', s);
	*first = 0;
	cli_json_string(s, key);
	fputc(':', s);
}

/* "key":"value", when value is neither NULL nor empty. */
static void
member_string(FILE *s, int *first, const char *key, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	member(s, first, key);
	cli_json_string(s, value);
}

static void
coding(FILE *s, const char *system, const char *code, const char *display)
{
	int first = 1;

	fputc('{', s);
	member_string(s, &first, "system", system);
	member_string(s, &first, "code", code);
	member_string(s, &first, "display", display);
	fputc('}', s);
}

/* "who":{"identifier":{"system":..,"value":..},"display":..} */
static void
who(FILE *s, int *first, const char *key, const char *system, const char *value)
{
	int inner = 1;

	member(s, first, key);
	fputs("{\"identifier\":", s);
	fputc('{', s);
	member_string(s, &inner, "system", system);
	member_string(s, &inner, "value", value);
	fputs("},\"display\":", s);
	cli_json_string(s, value);
	fputc('}', s);
}

/* One extension {"url":EXT name, "valueString": text}, in an open array. */
static void
extension_string(FILE *s, int *first, const char *name, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	if (!*first)
		fputc(',', s);
	*first = 0;
	fprintf(s, "{\"url\":\"" EXT "%s\",\"valueString\":", name);
	cli_json_string(s, text);
	fputc('}', s);
}

static void
extension_integer(FILE *s, int *first, const char *name, int64_t value)
{
	char text[24];

	if (value == RECORD_ABSENT)
		return;
	snprintf(text, sizeof(text), "%" PRId64, value);
	extension_string(s, first, name, text);
}

/* "extension":[...] of the integers and strings given, when any is set. */
struct fhir_extension {
	const char *name;
	const char *text;               /* or NULL: */
	int64_t number;                 /* RECORD_ABSENT: absent */
};

static void
extensions(FILE *s, int *first, const struct fhir_extension *list, size_t n)
{
	int any = 0, inner = 1;

	for (size_t i = 0; i < n; i++)
		any |= (list[i].text && *list[i].text) ||
			(!list[i].text && list[i].number != RECORD_ABSENT);
	if (!any)
		return;
	member(s, first, "extension");
	fputc('[', s);
	for (size_t i = 0; i < n; i++) {
		if (list[i].text)
			extension_string(s, &inner, list[i].name, list[i].text);
		else
			extension_integer(s, &inner, list[i].name, list[i].number);
	}
	fputc(']', s);
}

static void
agent_person(FILE *s, const struct record *r)
{
	const struct fhir_extension ext[] = {
		{ "uid", NULL, r->uid }, { "auid", NULL, r->auid },
		{ "session", NULL, r->session }, { "identity", r->identity, 0 },
	};
	int first = 1;

	fputc('{', s);
	extensions(s, &first, ext, sizeof(ext) / sizeof(ext[0]));
	member(s, &first, "type");
	fputs("{\"coding\":[", s);
	coding(s, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
	       "IRCP", "information recipient");
	fputs("]}", s);
	who(s, &first, "who", "urn:phitrail:actor", r->actor_user_id);
	member(s, &first, "requestor");
	fputs("true}", s);
}

static void
agent_program(FILE *s, const struct record *r)
{
	const struct fhir_extension ext[] = { { "ppid", NULL, r->ppid } };
	char pid[24];
	int first = 1;

	fputc('{', s);
	extensions(s, &first, ext, 1);
	member(s, &first, "type");
	fputs("{\"coding\":[", s);
	coding(s, DCM, "110153", "Source Role ID");
	fputs("]}", s);
	if (r->exe != NULL && *r->exe)
		who(s, &first, "who", "urn:phitrail:exe", r->exe);
	if (r->pid != RECORD_ABSENT) {
		snprintf(pid, sizeof(pid), "%" PRId64, r->pid);
		member_string(s, &first, "altId", pid);
	}
	member(s, &first, "requestor");
	fputs("false", s);
	if (r->host != NULL && *r->host) {
		int inner = 1;
		member(s, &first, "network");
		fputc('{', s);
		member_string(s, &inner, "address", r->host);
		member_string(s, &inner, "type", "1");  /* machine name */
		fputc('}', s);
	}
	fputc('}', s);
}

static void
entity_patient(FILE *s, const struct record *r)
{
	int first = 1;

	fputc('{', s);
	who(s, &first, "what", "urn:phitrail:patient", r->end_user_id);
	member(s, &first, "type");
	coding(s, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "1",
	       "Person");
	member(s, &first, "role");
	coding(s, "http://terminology.hl7.org/CodeSystem/object-role", "1",
	       "Patient");
	fputc('}', s);
}

/* {"type":key,"valueString":text} in an open detail array. */
static void
entity_detail(FILE *s, int *first, const char *key, const char *text)
{
	if (key == NULL || *key == '\0' || text == NULL || *text == '\0')
		return;
	if (!*first)
		fputc(',', s);
	*first = 0;
	fputs("{\"type\":", s);
	cli_json_string(s, key);
	fputs(",\"valueString\":", s);
	cli_json_string(s, text);
	fputc('}', s);
}

/* The file or peer: target, with target2, rule and the detail map. */
static void
entity_target(FILE *s, const struct record *r)
{
	int first = 1, inner = 1;
	char number[24];

	fputc('{', s);
	who(s, &first, "what", "urn:phitrail:target", r->target);
	member(s, &first, "type");
	coding(s, "http://terminology.hl7.org/CodeSystem/audit-entity-type", "2",
	       "System Object");
	member(s, &first, "role");
	coding(s, "http://terminology.hl7.org/CodeSystem/object-role", "4",
	       "Domain Resource");
	member(s, &first, "detail");
	fputc('[', s);
	entity_detail(s, &inner, "target2", r->target2);
	entity_detail(s, &inner, "rule", r->rule);
	for (size_t i = 0; i < r->detail_count && i < RECORD_MAX_DETAIL; i++) {
		const struct record_detail *d = &r->detail[i];
		char key[80];
		if (d->key == NULL)
			continue;
		snprintf(key, sizeof(key), "detail.%s", d->key);
		if (d->str == NULL)
			snprintf(number, sizeof(number), "%" PRId64, d->num);
		entity_detail(s, &inner, key, d->str ? d->str : number);
	}
	if (inner)                      /* nothing else: FHIR forbids [] */
		entity_detail(s, &inner, "target", r->target);
	fputs("]}", s);
}

/* '{', the extensions, type, subtype and action. */
static void
audit_event_head(FILE *s, int *first, const struct record *r,
		 const struct audit_event_codes *codes)
{
	char received[CLI_TIME_TEXT_MAX] = "";
	const char *event = event_type_name(r->event_type);
	char action[2] = { codes->action, '\0' };

	if (r->received_sec != RECORD_ABSENT)
		(void)cli_time_format_rfc3339(r->received_sec, r->received_nsec,
					      received, sizeof(received));
	{
		const struct fhir_extension ext[] = {
			{ "record-id", NULL, r->id },
			{ "workspace-id", r->workspace_id, 0 },
			{ "seq", NULL, r->seq },
			{ "schema-version", NULL, r->v },
			{ "received-at", received, 0 },
		};
		fputc('{', s);
		member_string(s, first, "resourceType", "AuditEvent");
		extensions(s, first, ext, sizeof(ext) / sizeof(ext[0]));
	}
	member(s, first, "type");
	coding(s, DCM, codes->event_id.code, codes->event_id.display);
	member(s, first, "subtype");
	fputc('[', s);
	if (codes->event_type.code != NULL) {
		coding(s, DCM, codes->event_type.code, codes->event_type.display);
		fputc(',', s);
	}
	coding(s, "urn:phitrail:event-type", event ? event : "unknown",
	       event ? event : "unknown");
	fputc(']', s);
	member_string(s, first, "action", action);
}

/* "agent": the person, and the program when the record names one. */
static void
audit_event_agents(FILE *s, int *first, const struct record *r)
{
	member(s, first, "agent");
	fputc('[', s);
	agent_person(s, r);
	if ((r->exe != NULL && *r->exe) || r->pid != RECORD_ABSENT) {
		fputc(',', s);
		agent_program(s, r);
	}
	fputc(']', s);
}

/* "source": the workspace, and the host that observed the access. */
static void
audit_event_source(FILE *s, int *first, const struct record *r)
{
	int inner = 1;

	member(s, first, "source");
	fputc('{', s);
	member_string(s, &inner, "site", r->workspace_id);
	who(s, &inner, "observer", "urn:phitrail:host",
	    r->host && *r->host ? r->host : r->workspace_id);
	member(s, &inner, "type");
	fputc('[', s);
	coding(s, "http://terminology.hl7.org/CodeSystem/security-source-type",
	       "4", "Application Server");
	fputs("]}", s);
}

/* "entity": the patient and the file or peer, when there are any. */
static void
audit_event_entities(FILE *s, int *first, const struct record *r)
{
	int any = 0;

	if (!(r->end_user_id && *r->end_user_id) && !(r->target && *r->target))
		return;
	member(s, first, "entity");
	fputc('[', s);
	if (r->end_user_id && *r->end_user_id) {
		entity_patient(s, r);
		any = 1;
	}
	if (r->target && *r->target) {
		if (any)
			fputc(',', s);
		entity_target(s, r);
	}
	fputc(']', s);
}

int
cli_fhir_audit_event(FILE *s, const struct record *r, const struct config *cfg)
{
	const struct audit_event_codes *codes =
		audit_event_codes(r, audit_is_dicom(r, cfg));
	char recorded[CLI_TIME_TEXT_MAX];
	int first = 1;

	audit_event_head(s, &first, r, codes);
	if (r->timestamp_sec == RECORD_ABSENT ||
	    cli_time_format_rfc3339(r->timestamp_sec, r->timestamp_nsec, recorded,
				    sizeof(recorded)) < 0)
		return -EINVAL;         /* recorded is required */
	member_string(s, &first, "recorded", recorded);
	member_string(s, &first, "outcome", audit_outcome(r));
	if (strcmp(audit_outcome(r), "0") != 0)
		member_string(s, &first, "outcomeDesc", r->result);
	audit_event_agents(s, &first, r);
	audit_event_source(s, &first, r);
	audit_event_entities(s, &first, r);
	fputc('}', s);
	return ferror(s) ? -EIO : 0;
}

/* ---- the Bundle around them ------------------------------------------- */

static void
bundle_open(struct cli_output *out)
{
	if (out->header_done)
		return;
	out->header_done = 1;
	fputs("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[",
	      out->stream);
}

int
cli_fhir_write_record(struct cli_output *out, const struct record *r)
{
	int rc;

	bundle_open(out);
	fputs(out->records > 0 ? ",\n{\"resource\":" : "\n{\"resource\":", out->stream);
	rc = cli_fhir_audit_event(out->stream, r, out->config);
	fputc('}', out->stream);
	if (rc == 0)
		out->records++;
	return rc < 0 ? rc : (ferror(out->stream) ? -EIO : 0);
}

int
cli_fhir_flush(struct cli_output *out)
{
	return fflush(out->stream) == 0 ? 0 : -EIO;
}

int
cli_fhir_finish(struct cli_output *out)
{
	bundle_open(out);
	fputs("\n]}\n", out->stream);
	return cli_fhir_flush(out);
}
