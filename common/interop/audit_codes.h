/*
 * audit_codes.h - what each phitrail event means in the hospital's audit
 * vocabularies (audit_codes.c): the DICOM PS3.15 / IHE ATNA event id, the
 * C/R/U/D/E action code and the outcome, shared by the FHIR AuditEvent
 * writer (tools/output_fhir.c) and the ATNA syslog message
 * (collector/atna_message.c) so that both formats always say the same.
 */
#ifndef PHITRAIL_AUDIT_CODES_H
#define PHITRAIL_AUDIT_CODES_H

#include "config.h"
#include "record.h"

/* A code of the DICOM "DCM" coding scheme (PS3.16), with its meaning. */
struct audit_code {
	const char *code;
	const char *display;
};

struct audit_event_codes {
	struct audit_code event_id;     /* EventID / AuditEvent.type */
	struct audit_code event_type;   /* EventTypeCode / subtype; code NULL: none */
	char action;                    /* 'C', 'R', 'U', 'D' or 'E' */
};

/*
 * The codes of r's event. A PHI access of DICOM content is "DICOM Instances
 * Accessed" (110103), other PHI accesses "Patient Record" (110110); the
 * collector's own events are application activity, security alerts and
 * queries. dicom: audit_is_dicom(). Never NULL.
 */
const struct audit_event_codes *audit_event_codes(const struct record *r,
						  int dicom);

/*
 * The outcome of r as DICOM EventOutcomeIndicator / FHIR AuditEvent.outcome:
 * "0" (success) when result is "ok" or absent, "4" (minor failure: the
 * attempt was refused, result holds the errno name) otherwise.
 */
const char *audit_outcome(const struct record *r);

/*
 * 1 when r's content is DICOM: the DICOM detector said so in the record
 * (detail "protocol" = "dicom", as network records carry), or r's rule is a
 * `protocol = dicom` rule of cfg (the detector reads such files; cfg may be
 * NULL when no configuration is at hand).
 */
int audit_is_dicom(const struct record *r, const struct config *cfg);

#endif
