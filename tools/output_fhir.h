/*
 * output_fhir.h - the "fhir" output format (output_fhir.c): a FHIR R4
 * Bundle of AuditEvent resources, one per record.
 */
#ifndef PHITRAIL_OUTPUT_FHIR_H
#define PHITRAIL_OUTPUT_FHIR_H

#include <stdio.h>

#include "output.h"

/*
 * One record as an AuditEvent resource (one JSON object, no newline); cfg
 * (may be NULL) tells which rules are DICOM rules (audit_is_dicom).
 * Returns 0, -EINVAL when r has no timestamp (recorded is required), or
 * -EIO when the stream failed.
 */
int cli_fhir_audit_event(FILE *stream, const struct record *r,
			 const struct config *cfg);

/* The cli_output_format operations of "fhir" (output.c's table). */
int cli_fhir_write_record(struct cli_output *out, const struct record *r);
int cli_fhir_flush(struct cli_output *out);
int cli_fhir_finish(struct cli_output *out);

#endif
