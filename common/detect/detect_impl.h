/*
 * detect_impl.h - what detect.c shares with the protocol detectors
 * (detect_hl7.c, detect_fhir.c + detect_fhir_json.c, detect_dicom.c +
 * detect_dicom_elements.c) and nobody else: the per-protocol entry points
 * that detect.c's table names, the sink that collects complete messages,
 * the helpers that fill a detect_message under the rules of detect.h
 * (sanitised types, checked ids, no repeats), and what each two-file
 * detector's halves share.
 */
#ifndef PHITRAIL_DETECT_IMPL_H
#define PHITRAIL_DETECT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"

/* Where a feed puts complete messages. */
struct detect_sink {
	struct detect_message *out;
	size_t max;
	size_t count;
};

void detect_hl7_init(struct detect_stream *s);
void detect_hl7_feed(struct detect_stream *s, const uint8_t *data, size_t len,
		     struct detect_sink *sink);
void detect_hl7_end(struct detect_stream *s, struct detect_sink *sink);

void detect_fhir_init(struct detect_stream *s);
void detect_fhir_feed(struct detect_stream *s, const uint8_t *data, size_t len,
		      struct detect_sink *sink);
void detect_fhir_end(struct detect_stream *s, struct detect_sink *sink);

/* FHIR's JSON body scan (detect_fhir_json.c), fed by detect_fhir.c. */
void detect_fhir_json_reset(struct detect_fhir_json *j);
/* Gives up scanning this body (marks the message DETECT_FLAG_UNSCANNED). */
void detect_fhir_json_stop(struct detect_fhir_state *f);
void detect_fhir_json_byte(struct detect_fhir_state *f, uint8_t c);
/* Adds id as a patient of f's message when it is a valid FHIR id. */
void detect_fhir_add_patient(struct detect_fhir_state *f, const char *id,
			     size_t n);
/* Reads a request target [scheme://authority]path[?query][#fragment]
   (detect_fhir_target.c): its patients into f's message, its resource
   type too when set_type. */
void detect_fhir_read_target(struct detect_fhir_state *f, const char *t,
			     size_t n, int set_type);
/* The id of a reference "Patient/ID", ".../Patient/ID[/_history/N]": 1 and
   *id, *id_n set, or 0 when the reference names no patient. */
int detect_fhir_reference_patient(const char *s, size_t n, const char **id,
				  size_t *id_n);

void detect_dicom_init(struct detect_stream *s);
void detect_dicom_feed(struct detect_stream *s, const uint8_t *data,
		       size_t len, struct detect_sink *sink);
void detect_dicom_end(struct detect_stream *s, struct detect_sink *sink);

/* DICOM's element reader (detect_dicom_elements.c). */
enum detect_dicom_syntax {
	DICOM_SYNTAX_UNKNOWN = 0,
	DICOM_SYNTAX_IMPLICIT,      /* implicit VR little endian */
	DICOM_SYNTAX_EXPLICIT,      /* explicit VR little endian (and encapsulated) */
	DICOM_SYNTAX_UNREADABLE,    /* big endian, deflated */
};
/* The syntax a transfer syntax UID names; *why (when not NULL) says why an
   unreadable one is not read. Unknown UIDs encapsulate pixel data only:
   their elements are explicit VR little endian. */
enum detect_dicom_syntax detect_dicom_syntax_of(const char *uid,
						const char **why);
/* Where an element reader is (detect_dicom_elements.state). */
enum detect_dicom_element_state {
	DICOM_ELEMENT_HEADER = 0,
	DICOM_ELEMENT_VALUE,
	DICOM_ELEMENT_DONE,
};
/*
 * Starts reading a dataset (or a file's meta group, or a command set).
 * syntax: DICOM_SYNTAX_UNKNOWN to tell explicit from implicit by the first
 * element. stop_after_group: the reader is done at the first top-level
 * element of a higher group.
 */
void detect_dicom_elements_start(struct detect_dicom_elements *e,
				 enum detect_dicom_syntax syntax, int meta,
				 uint8_t stop_after_group);
/* Reads n bytes of the element stream. Returns 0 (all read, more wanted),
   1 (done: the rest need not be fed) or a negative errno with *why. */
int detect_dicom_elements_feed(struct detect_dicom_elements *e,
			       const uint8_t *p, size_t n, const char **why);
/* Patient ids kept by a dataset reader, added to m. */
void detect_dicom_elements_ids(const struct detect_dicom_elements *e,
			       struct detect_message *m);

/* Marks s as given up with a static reason (the first reason stays). */
void detect_give_up(struct detect_stream *s, const char *why);

/* Hands a complete message to the sink (or counts it dropped). */
void detect_emit(struct detect_stream *s, struct detect_sink *sink,
		 const struct detect_message *m);

/* Empties m. */
void detect_message_clear(struct detect_message *m);

/* Appends len bytes of text to m->message_type, control bytes as '?',
   stopping silently when full. */
void detect_type_append(struct detect_message *m, const char *text,
			size_t len);

/*
 * Adds an id: patient when it is still empty, and "ID" or "ID (QUALIFIER)"
 * to identifiers unless already listed. qualifier may be NULL or empty.
 * An id that is empty, holds a byte below 0x20, 0x7F or ',' is ignored
 * (returns -EINVAL); one too long for patient, or a list entry that does not
 * fit, sets DETECT_FLAG_TRUNCATED (returns -ENOSPC). Returns 0 when added or
 * already there.
 */
int detect_add_id(struct detect_message *m, const char *id, size_t id_len,
		  const char *qualifier, size_t qualifier_len);

/* ASCII helpers (no locale). detect_hex_digit: 0..15, or -1. */
int detect_hex_digit(int c);
static inline int detect_is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static inline int detect_is_lower(int c) { return c >= 'a' && c <= 'z'; }
static inline int detect_is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int detect_is_alpha(int c)
{
	return detect_is_upper(c) || detect_is_lower(c);
}
static inline int detect_to_lower(int c)
{
	return detect_is_upper(c) ? c - 'A' + 'a' : c;
}

#endif
