/*
 * atna_message.c - the formatter of the ATNA syslog sink: a record as a
 * DICOM PS3.15 (A.5.1) AuditMessage, framed as an RFC 5424 message.
 *
 *   EventIdentification      EventID 110110 Patient Record / 110103 DICOM
 *                            Instances Accessed / ..., action C/R/U/D/E and
 *                            outcome (common/interop/audit_codes.c, the table the
 *                            FHIR export uses), EventTypeCode = the
 *                            phitrail event type, EventOutcomeDescription
 *   ActiveParticipant        the person (UserIsRequestor true), then the
 *                            program (exe, pid, host; Source Role ID)
 *   AuditSourceIdentification AuditSourceID = host, site = workspace
 *   ParticipantObjectIdentification  the patient (type 1, role 1), the
 *                            file or peer (type 2, role 4), and the record
 *                            itself (its id, seq, ...) as base64 details
 *
 * Pure logic: no I/O but the caller's stream, no state. Every string of
 * the record goes through atna_xml_escape.
 * Must never: emit a byte that makes the XML ill-formed, or a header field
 * RFC 5424 does not allow.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "atna_message.h"
#include "audit_codes.h"
#include "utf8.h"

int
atna_xml_escape(FILE *out, const char *s)
{
	static const struct { char c; const char *as; } entities[] = {
		{ '&', "&amp;" }, { '<', "&lt;" }, { '>', "&gt;" },
		{ '"', "&quot;" }, { '\'', "&apos;" }, { '\t', "&#9;" },
		{ '\n', "&#10;" }, { '\r', "&#13;" }, { '\\', "\\\\" },
	};
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n, i;
		for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
			if (entities[i].c == (char)*p)
				break;
		if (i < sizeof(entities) / sizeof(entities[0])) {
			fputs(entities[i].as, out);
			p++;
			continue;
		}
		n = utf8_sequence(p);
		/* U+FFFE and U+FFFF (EF BF BE/BF) are not XML characters */
		if (*p < 0x20 || *p == 0x7f || n == 0 ||
		    (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe)) {
			fprintf(out, "\\x%02x", *p++);
			continue;
		}
		fwrite(p, 1, n, out);
		p += n;
	}
	return ferror(out) ? -EIO : 0;
}

/* name="value" with a leading space; nothing when value is NULL or "". */
static void
attribute(FILE *out, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	fprintf(out, " %s=\"", name);
	atna_xml_escape(out, value);
	fputc('"', out);
}

/* <TAG csd-code=".." codeSystemName=".." originalText=".."/> */
static void
coded(FILE *out, const char *tag, const char *code, const char *system,
      const char *text)
{
	fprintf(out, "<%s", tag);
	attribute(out, "csd-code", code);
	attribute(out, "codeSystemName", system);
	attribute(out, "originalText", text);
	fputs("/>", out);
}

/* <ParticipantObjectDetail type=".." value="base64"/>, when value is set. */
static void
detail(FILE *out, const char *type, const char *value)
{
	char encoded[sodium_base64_ENCODED_LEN(RECORD_MAX_STRING,
					       sodium_base64_VARIANT_ORIGINAL)];
	size_t len;

	if (value == NULL || *value == '\0' || type == NULL || *type == '\0')
		return;
	len = strlen(value);
	if (len > RECORD_MAX_STRING)
		len = RECORD_MAX_STRING;
	sodium_bin2base64(encoded, sizeof(encoded), (const unsigned char *)value,
			  len, sodium_base64_VARIANT_ORIGINAL);
	fputs("<ParticipantObjectDetail", out);
	attribute(out, "type", type);
	attribute(out, "value", encoded);
	fputs("/>", out);
}

static void
detail_number(FILE *out, const char *type, int64_t value)
{
	char text[24];

	if (value == RECORD_ABSENT)
		return;
	snprintf(text, sizeof(text), "%" PRId64, value);
	detail(out, type, text);
}

/* RFC 3339 UTC with digits fractional digits (6 or 9). */
static int
format_time(int64_t sec, uint32_t nsec, int digits, char *buf, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char whole[32];

	if (sec == RECORD_ABSENT || nsec >= 1000000000u || gmtime_r(&t, &tm) == NULL ||
	    strftime(whole, sizeof(whole), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return -EINVAL;
	if (digits == 6)
		snprintf(buf, size, "%s.%06uZ", whole, nsec / 1000);
	else
		snprintf(buf, size, "%s.%09uZ", whole, nsec);
	return 0;
}

static void
participants(FILE *out, const struct record *r)
{
	char ids[80] = "", pid[24];
	int used = 0;

	/* uid, auid and session as the person's alternative id */
	if (r->uid != RECORD_ABSENT)
		used += snprintf(ids + used, sizeof(ids) - (size_t)used, "uid=%" PRId64, r->uid);
	if (r->auid != RECORD_ABSENT)
		used += snprintf(ids + used, sizeof(ids) - (size_t)used, "%sauid=%" PRId64,
				 used ? " " : "", r->auid);
	if (r->session != RECORD_ABSENT)
		snprintf(ids + used, sizeof(ids) - (size_t)used, "%ssession=%" PRId64,
			 used ? " " : "", r->session);
	fputs("<ActiveParticipant", out);
	attribute(out, "UserID", r->actor_user_id ? r->actor_user_id : "-");
	attribute(out, "AlternativeUserID", ids);
	fputs(" UserIsRequestor=\"true\"/>", out);
	if ((r->exe == NULL || *r->exe == '\0') && r->pid == RECORD_ABSENT)
		return;
	snprintf(pid, sizeof(pid), "%" PRId64, r->pid);
	fputs("<ActiveParticipant", out);
	attribute(out, "UserID", r->exe && *r->exe ? r->exe : "-");
	attribute(out, "AlternativeUserID", r->pid != RECORD_ABSENT ? pid : NULL);
	fputs(" UserIsRequestor=\"false\"", out);
	if (r->host && *r->host) {
		attribute(out, "NetworkAccessPointID", r->host);
		fputs(" NetworkAccessPointTypeCode=\"1\"", out);  /* machine name */
	}
	fputc('>', out);
	coded(out, "RoleIDCode", "110153", "DCM", "Source Role ID");
	fputs("</ActiveParticipant>", out);
}

static void
objects(FILE *out, const struct record *r, const char *received)
{
	if (r->end_user_id && *r->end_user_id) {
		fputs("<ParticipantObjectIdentification", out);
		attribute(out, "ParticipantObjectID", r->end_user_id);
		fputs(" ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\">", out);
		coded(out, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
		fputs("</ParticipantObjectIdentification>", out);
	}
	if (r->target && *r->target) {
		fputs("<ParticipantObjectIdentification", out);
		attribute(out, "ParticipantObjectID", r->target);
		fputs(" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"4\">", out);
		coded(out, "ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI");
		detail(out, "target2", r->target2);
		detail(out, "rule", r->rule);
		for (size_t i = 0; i < r->detail_count && i < RECORD_MAX_DETAIL; i++) {
			const struct record_detail *d = &r->detail[i];
			char type[80];
			if (d->key == NULL)
				continue;
			snprintf(type, sizeof(type), "detail.%s", d->key);
			if (d->str != NULL)
				detail(out, type, d->str);
			else
				detail_number(out, type, d->num);
		}
		fputs("</ParticipantObjectIdentification>", out);
	}
	/* the audit record itself, so a receiver can find it in the store */
	if (r->id != RECORD_ABSENT) {
		char id[24];
		snprintf(id, sizeof(id), "%" PRId64, r->id);
		fputs("<ParticipantObjectIdentification", out);
		attribute(out, "ParticipantObjectID", id);
		fputs(" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"13\">", out);
		coded(out, "ParticipantObjectIDTypeCode", "phitrail-record", "phitrail",
		      "phitrail audit record id");
		detail(out, "workspace_id", r->workspace_id);
		detail_number(out, "seq", r->seq);
		detail_number(out, "v", r->v);
		detail_number(out, "ppid", r->ppid);
		detail(out, "identity", r->identity);
		detail(out, "received_at", received);
		fputs("</ParticipantObjectIdentification>", out);
	}
}

int
atna_xml(FILE *out, const struct record *r, int dicom)
{
	const struct audit_event_codes *codes = audit_event_codes(r, dicom);
	const char *event = event_type_name(r->event_type);
	char when[48], received[48] = "";
	char action[2] = { codes->action, '\0' };

	if (format_time(r->timestamp_sec, r->timestamp_nsec, 9, when, sizeof(when)) < 0)
		return -EINVAL;
	if (r->received_sec != RECORD_ABSENT)
		(void)format_time(r->received_sec, r->received_nsec, 9, received,
				  sizeof(received));
	fputs("<AuditMessage><EventIdentification", out);
	attribute(out, "EventActionCode", action);
	attribute(out, "EventDateTime", when);
	attribute(out, "EventOutcomeIndicator", audit_outcome(r));
	fputc('>', out);
	coded(out, "EventID", codes->event_id.code, "DCM", codes->event_id.display);
	if (codes->event_type.code != NULL)
		coded(out, "EventTypeCode", codes->event_type.code, "DCM",
		      codes->event_type.display);
	coded(out, "EventTypeCode", event ? event : "unknown", "phitrail",
	      event ? event : "unknown");
	if (strcmp(audit_outcome(r), "0") != 0 && r->result != NULL) {
		fputs("<EventOutcomeDescription>", out);
		atna_xml_escape(out, r->result);
		fputs("</EventOutcomeDescription>", out);
	}
	fputs("</EventIdentification>", out);
	participants(out, r);
	fputs("<AuditSourceIdentification", out);
	attribute(out, "AuditEnterpriseSiteID", r->workspace_id);
	attribute(out, "AuditSourceID", r->host && *r->host ? r->host : "-");
	fputc('>', out);
	coded(out, "AuditSourceTypeCode", "4", "DCM", "Application Server Process");
	fputs("</AuditSourceIdentification>", out);
	objects(out, r, received);
	fputs("</AuditMessage>", out);
	return ferror(out) ? -EIO : 0;
}

static int
printable_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (*s < '!' || *s > '~' || n >= max)
			return 0;
	return n > 0;
}

int
atna_syslog_message(const struct record *r, int dicom, const char *app_name,
		    unsigned facility, char **out, size_t *len)
{
	char when[48], host[256] = "-";
	FILE *mem;
	int rc;

	*out = NULL;
	*len = 0;
	if (facility > 23 || app_name == NULL ||
	    !printable_ascii(app_name, ATNA_APP_NAME_MAX) ||
	    format_time(r->timestamp_sec, r->timestamp_nsec, 6, when, sizeof(when)) < 0)
		return -EINVAL;
	if (r->host != NULL && *r->host) {
		size_t i;
		for (i = 0; r->host[i] && i < sizeof(host) - 1; i++)
			host[i] = r->host[i] >= '!' && r->host[i] <= '~' ? r->host[i] : '_';
		host[i] = '\0';
	}
	mem = open_memstream(out, len);
	if (mem == NULL)
		return -ENOMEM;
	fprintf(mem, "<%u>1 %s %s %s - " ATNA_MSGID " - "
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
		facility * 8 + ATNA_SEVERITY, when, host, app_name);
	rc = atna_xml(mem, r, dicom);
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}
