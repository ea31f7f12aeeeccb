/*
 * atna_message.h - one stored record as an IHE ATNA audit message: DICOM
 * PS3.15 A.5 XML in an RFC 5424 syslog message (atna_message.c).
 */
#ifndef PHITRAILD_ATNA_MESSAGE_H
#define PHITRAILD_ATNA_MESSAGE_H

#include <stddef.h>
#include <stdio.h>

#include "record.h"

#define ATNA_MSGID "IHE+RFC-3881"     /* RFC 5424 MSGID of IHE ITI-20 */
#define ATNA_SEVERITY 5               /* notice */
#define ATNA_APP_NAME_MAX 48          /* RFC 5424 APP-NAME */

/*
 * The AuditMessage of r (no XML declaration, one line, no newline).
 * dicom: audit_is_dicom(r, cfg). 0, -EINVAL (r has no timestamp), -EIO.
 */
int atna_xml(FILE *out, const struct record *r, int dicom);

/*
 * The whole RFC 5424 message (without the RFC 5425 octet count):
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME - IHE+RFC-3881 - <?xml ...?><AuditMessage>...
 * PRI = facility * 8 + 5; TIMESTAMP the record's, to the microsecond;
 * HOSTNAME the record's host (bytes outside '!'..'~' as '_', "-" when
 * none). *out is allocated (free it), *len its length. 0, -EINVAL (no
 * timestamp, facility over 23, app_name empty, too long or not printable
 * ASCII), -ENOMEM.
 */
int atna_syslog_message(const struct record *r, int dicom, const char *app_name,
			unsigned facility, char **out, size_t *len);

/*
 * Writes s as XML character data or attribute value: & < > " ' as
 * entities, tab/LF/CR as character references (so attribute value
 * normalisation keeps them), '\\' as "\\\\", and every byte XML cannot
 * carry (other control characters, bytes that are not valid UTF-8,
 * U+FFFE/U+FFFF) as "\xNN": the output is always well-formed XML and the
 * original bytes can be recovered from it. 0 or -EIO.
 */
int atna_xml_escape(FILE *out, const char *s);

#endif
