/*
 * export_fhir.h - `phitrail export --format fhir` (export_fhir.c).
 */
#ifndef PHITRAIL_EXPORT_FHIR_H
#define PHITRAIL_EXPORT_FHIR_H

#include <sqlite3.h>
#include <stdint.h>

/*
 * Writes the stored records with ids first..last, in id order, as one FHIR
 * R4 Bundle of AuditEvent resources to output ("-": stdout); cfg (may be
 * NULL) tells which rules are DICOM rules. Returns
 * CLI_EXIT_OK, or CLI_EXIT_FAILURE after saying why on stderr (and leaving
 * no partial output file behind).
 */
struct config;
int cli_export_fhir(sqlite3 *db, int64_t first, int64_t last, const char *output,
		    const struct config *cfg);

#endif
