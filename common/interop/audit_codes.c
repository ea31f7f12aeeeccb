/*
 * audit_codes.c - the table from phitrail's event vocabulary to DICOM
 * PS3.15 event ids and action codes (see audit_codes.h).
 *
 * Owns: the one mapping both export formats use. One const table, indexed
 * by event type; no allocation, no output.
 * Must never: guess a patient, or give an event a code of another meaning
 * (an unknown event type gets "Application Activity" with action E).
 */
#include <string.h>

#include "audit_codes.h"

#define PATIENT_RECORD { "110110", "Patient Record" }
#define NO_SUBTYPE { NULL, NULL }

static const struct audit_event_codes event_codes[EVENT_COUNT] = {
	[EVENT_NONE] = { { "110100", "Application Activity" }, NO_SUBTYPE, 'E' },
	[EVENT_FILE_VIEWED] = { PATIENT_RECORD, NO_SUBTYPE, 'R' },
	[EVENT_FILE_MODIFIED] = { PATIENT_RECORD, NO_SUBTYPE, 'U' },
	[EVENT_FILE_CREATED] = { PATIENT_RECORD, NO_SUBTYPE, 'C' },
	[EVENT_FILE_DELETED] = { PATIENT_RECORD, NO_SUBTYPE, 'D' },
	[EVENT_FILE_RENAMED] = { PATIENT_RECORD, NO_SUBTYPE, 'U' },
	[EVENT_FILE_PERMISSIONS_CHANGED] = { PATIENT_RECORD, NO_SUBTYPE, 'U' },
	[EVENT_FILE_ACCESS_DENIED] = { PATIENT_RECORD, NO_SUBTYPE, 'R' },
	[EVENT_DIRECTORY_LISTED] = { PATIENT_RECORD, NO_SUBTYPE, 'R' },
	[EVENT_CONNECTION_OPENED] = { PATIENT_RECORD, NO_SUBTYPE, 'E' },
	[EVENT_CONNECTION_ACCEPTED] = { PATIENT_RECORD, NO_SUBTYPE, 'E' },
	[EVENT_MESSAGE_SENT] = { PATIENT_RECORD, NO_SUBTYPE, 'R' },
	[EVENT_MESSAGE_RECEIVED] = { PATIENT_RECORD, NO_SUBTYPE, 'C' },
	[EVENT_RECORDS_LOST] = { { "110113", "Security Alert" }, NO_SUBTYPE, 'E' },
	[EVENT_SPOOL_TAMPERED] = { { "110113", "Security Alert" }, NO_SUBTYPE, 'E' },
	[EVENT_FORWARDING_STALLED] = { { "110113", "Security Alert" }, NO_SUBTYPE, 'E' },
	[EVENT_COLLECTOR_STARTED] = { { "110100", "Application Activity" },
				      { "110120", "Application Start" }, 'E' },
	[EVENT_COLLECTOR_STOPPED] = { { "110100", "Application Activity" },
				      { "110121", "Application Stop" }, 'E' },
	[EVENT_TRAIL_QUERIED] = { { "110112", "Query" }, NO_SUBTYPE, 'E' },
};

/* The same events when the DICOM detector read the content. */
static const struct audit_event_codes dicom_codes[] = {
	{ { "110103", "DICOM Instances Accessed" }, NO_SUBTYPE, 'C' },
	{ { "110103", "DICOM Instances Accessed" }, NO_SUBTYPE, 'R' },
	{ { "110103", "DICOM Instances Accessed" }, NO_SUBTYPE, 'U' },
	{ { "110103", "DICOM Instances Accessed" }, NO_SUBTYPE, 'D' },
	{ { "110103", "DICOM Instances Accessed" }, NO_SUBTYPE, 'E' },
};

int
audit_is_dicom(const struct record *r, const struct config *cfg)
{
	if (cfg != NULL && r->rule != NULL)
		for (size_t i = 0; i < cfg->rule_count; i++)
			if (strcmp(cfg->rules[i].name, r->rule) == 0 &&
			    strcmp(cfg->rules[i].protocol, "dicom") == 0)
				return 1;
	for (size_t i = 0; i < r->detail_count && i < RECORD_MAX_DETAIL; i++)
		if (r->detail[i].key != NULL && r->detail[i].str != NULL &&
		    strcmp(r->detail[i].key, "protocol") == 0 &&
		    strcmp(r->detail[i].str, "dicom") == 0)
			return 1;
	return 0;
}

const struct audit_event_codes *
audit_event_codes(const struct record *r, int dicom)
{
	const struct audit_event_codes *c = &event_codes[EVENT_NONE];

	if (r->event_type > EVENT_NONE && r->event_type < EVENT_COUNT &&
	    event_codes[r->event_type].event_id.code != NULL)
		c = &event_codes[r->event_type];
	if (dicom && strcmp(c->event_id.code, "110110") == 0) {
		for (size_t i = 0; i < sizeof(dicom_codes) / sizeof(dicom_codes[0]); i++)
			if (dicom_codes[i].action == c->action)
				return &dicom_codes[i];
	}
	return c;
}

const char *
audit_outcome(const struct record *r)
{
	return r->result == NULL || strcmp(r->result, "ok") == 0 ? "0" : "4";
}
