/*
 * filedetect.c - owns finding the patient of a PHI file from its content:
 * for a rule with `protocol = dicom` (PatientID of the dataset) or
 * `protocol = hl7` (PID-3 of the first message), when the path names no
 * patient. Reads the file's head with pread at open time, so the program's
 * file offset never moves, in FILEDETECT_CHUNK pieces up to
 * FILEDETECT_HEAD_MAX bytes, stopping as soon as the detector answers
 * (one pread for an ordinary DICOM or HL7 file).
 *
 * Borrows a detector from the socket pool (netstate.c) for the duration;
 * when none is free the file is audited without a patient. Never
 * allocates; keeps errno.
 */
#include <errno.h>
#include <string.h>

#include <bsd/string.h>

#include "netstate.h"
#include "real.h"
#include "shim.h"

#define FILEDETECT_CHUNK 4096
#define FILEDETECT_HEAD_MAX (64u * 1024)

void filedetect_patient(int fd, struct policy_match *m)
{
	unsigned char buf[FILEDETECT_CHUNK];
	struct detect_message found[1];
	enum detect_protocol protocol;
	struct detect_stream *stream;
	int saved_errno = errno, index;
	size_t count = 0;
	off_t at = 0;

	if (m->patient[0] != '\0' || m->rule < 0 ||
	    (size_t)m->rule >= shim_config.rule_count)
		return;
	protocol = detect_protocol_from_name(shim_config.rules[m->rule].protocol);
	if (protocol != DETECT_DICOM && protocol != DETECT_HL7)
		return;
	index = netstate_detector_claim();
	if (index < 0)
		return;
	stream = netstate_detector_stream(index, 0);
	detect_stream_init(stream, protocol);
	while (at < (off_t)FILEDETECT_HEAD_MAX && count == 0 &&
	       detect_stream_gave_up(stream) == NULL) {
		ssize_t n = REAL(pread)(fd, buf, sizeof(buf), at);

		if (n <= 0)
			break;
		count = detect_stream_feed(stream, buf, (size_t)n, found, 1);
		at += n;
		if ((size_t)n < sizeof(buf))
			break;             /* the whole file was read */
	}
	if (count == 0)
		count = detect_stream_end(stream, found, 1);
	if (count > 0 && found[0].patient[0] != '\0')
		strlcpy(m->patient, found[0].patient, sizeof(m->patient));
	netstate_detector_release(index);
	errno = saved_errno;
}
