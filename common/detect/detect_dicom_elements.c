/*
 * detect_dicom_elements.c - the DICOM detector's streaming element reader,
 * shared by files and the network side (detect_dicom.c): the transfer
 * syntaxes it can read, the little endian element encodings (explicit and
 * implicit VR), the skipping of sequences of undefined length, and the
 * values it keeps (transfer syntax, command field, modality, patient ids).
 *
 * Must never allocate, read past the group it was told to stop after (never
 * pixel data), or trust a length it has not checked against its container;
 * bytes are only read.
 */
#include <errno.h>
#include <string.h>

#include "detect.h"
#include "byteorder.h"
#include "detect_impl.h"

#define UNDEFINED_LENGTH 0xFFFFFFFFu

/* ---- transfer syntaxes ------------------------------------------------- */

static const struct {
	const char *uid;
	enum detect_dicom_syntax syntax;
	const char *why;
} dicom_syntaxes[] = {
	{ "1.2.840.10008.1.2", DICOM_SYNTAX_IMPLICIT, NULL },
	{ "1.2.840.10008.1.2.1", DICOM_SYNTAX_EXPLICIT, NULL },
	{ "1.2.840.10008.1.2.2", DICOM_SYNTAX_UNREADABLE,
	  "DICOM: big endian transfer syntax is not read" },
	{ "1.2.840.10008.1.2.1.99", DICOM_SYNTAX_UNREADABLE,
	  "DICOM: deflated transfer syntax is not read" },
};

enum detect_dicom_syntax detect_dicom_syntax_of(const char *uid,
						const char **why)
{
	for (size_t i = 0; i < sizeof(dicom_syntaxes) / sizeof(dicom_syntaxes[0]); i++) {
		if (strcmp(uid, dicom_syntaxes[i].uid) == 0) {
			if (why)
				*why = dicom_syntaxes[i].why;
			return dicom_syntaxes[i].syntax;
		}
	}
	return uid[0] ? DICOM_SYNTAX_EXPLICIT : DICOM_SYNTAX_UNKNOWN;
}

/* ---- the element reader ------------------------------------------------ */

enum slot {
	SLOT_NONE = 0,
	SLOT_COMMAND_FIELD,
	SLOT_DATA_SET_TYPE,
	SLOT_TRANSFER_SYNTAX,
	SLOT_MODALITY,
	SLOT_PATIENT_ID,
	SLOT_ISSUER,
	SLOT_OTHER_IDS,
};

static const struct {
	uint16_t group, element;
	enum slot slot;
} dicom_kept[] = {
	{ 0x0000, 0x0100, SLOT_COMMAND_FIELD },
	{ 0x0000, 0x0800, SLOT_DATA_SET_TYPE },
	{ 0x0002, 0x0010, SLOT_TRANSFER_SYNTAX },
	{ 0x0008, 0x0060, SLOT_MODALITY },
	{ 0x0010, 0x0020, SLOT_PATIENT_ID },
	{ 0x0010, 0x0021, SLOT_ISSUER },
	{ 0x0010, 0x1000, SLOT_OTHER_IDS },
};

/* VRs with a 2-byte reserved field and a 4-byte length in explicit VR. */
static const char long_vrs[][2] = {
	{ 'O', 'B' }, { 'O', 'D' }, { 'O', 'F' }, { 'O', 'L' }, { 'O', 'V' },
	{ 'O', 'W' }, { 'S', 'Q' }, { 'S', 'V' }, { 'U', 'C' }, { 'U', 'N' },
	{ 'U', 'R' }, { 'U', 'T' }, { 'U', 'V' },
};

static int vr_is_long(const uint8_t *vr)
{
	for (size_t i = 0; i < sizeof(long_vrs) / sizeof(long_vrs[0]); i++)
		if (vr[0] == (uint8_t)long_vrs[i][0] && vr[1] == (uint8_t)long_vrs[i][1])
			return 1;
	return 0;
}

static int vr_is_valid(const uint8_t *vr)
{
	return detect_is_upper(vr[0]) && detect_is_upper(vr[1]);
}

void detect_dicom_elements_start(struct detect_dicom_elements *e,
				 enum detect_dicom_syntax syntax, int meta,
				 uint8_t stop_after_group)
{
	memset(e, 0, sizeof(*e));
	e->explicit_vr = meta || syntax == DICOM_SYNTAX_EXPLICIT;
	e->sniff = !meta && syntax == DICOM_SYNTAX_UNKNOWN;
	e->meta = (uint8_t)meta;
	e->stop_after_group = stop_after_group;
	e->header_need = 8;
}

/* Copies the kept value to a string slot: leading spaces and trailing
   spaces/NULs trimmed; a value that does not fit is not kept. */
static void elements_keep_string(struct detect_dicom_elements *e, char *dst,
				 size_t cap)
{
	size_t start = 0, n = e->value_length;

	if (n > sizeof(e->value)) {
		e->truncated = 1;
		return;
	}
	while (start < n && e->value[start] == ' ')
		start++;
	while (n > start && (e->value[n - 1] == ' ' || e->value[n - 1] == '\0'))
		n--;
	if (n - start >= cap) {
		e->truncated = 1;
		return;
	}
	memcpy(dst, e->value + start, n - start);
	dst[n - start] = '\0';
}

static void elements_value_done(struct detect_dicom_elements *e)
{
	switch ((enum slot)e->capture_slot) {
	case SLOT_COMMAND_FIELD:
		if (e->value_length == 2) {
			e->command_field = le16_get((const uint8_t *)e->value);
			e->have_command_field = 1;
		}
		break;
	case SLOT_DATA_SET_TYPE:
		if (e->value_length == 2) {
			e->data_set_type = le16_get((const uint8_t *)e->value);
			e->have_data_set_type = 1;
		}
		break;
	case SLOT_TRANSFER_SYNTAX:
		elements_keep_string(e, e->transfer_syntax, sizeof(e->transfer_syntax));
		break;
	case SLOT_MODALITY:
		elements_keep_string(e, e->modality, sizeof(e->modality));
		break;
	case SLOT_PATIENT_ID:
		elements_keep_string(e, e->patient_id, sizeof(e->patient_id));
		break;
	case SLOT_ISSUER:
		elements_keep_string(e, e->issuer, sizeof(e->issuer));
		break;
	case SLOT_OTHER_IDS:
		elements_keep_string(e, e->other_ids, sizeof(e->other_ids));
		break;
	default:
		break;
	}
	e->capture_slot = SLOT_NONE;
}

static enum slot elements_slot_of(uint16_t group, uint16_t element)
{
	for (size_t i = 0; i < sizeof(dicom_kept) / sizeof(dicom_kept[0]); i++)
		if (dicom_kept[i].group == group && dicom_kept[i].element == element)
			return dicom_kept[i].slot;
	return SLOT_NONE;
}

/* The meta group ended: the dataset's syntax from (0002,0010). */
static int elements_meta_end(struct detect_dicom_elements *e, const char **why)
{
	const char *reason = NULL;
	enum detect_dicom_syntax syntax =
		detect_dicom_syntax_of(e->transfer_syntax, &reason);

	e->meta = 0;
	switch (syntax) {
	case DICOM_SYNTAX_IMPLICIT:
		e->explicit_vr = 0;
		return 0;
	case DICOM_SYNTAX_EXPLICIT:
		e->explicit_vr = 1;
		return 0;
	case DICOM_SYNTAX_UNREADABLE:
		*why = reason;
		return -EPROTONOSUPPORT;
	default:
		*why = "DICOM: file meta group names no transfer syntax";
		return -EBADMSG;
	}
}

/* A complete element header. Returns 0, 1 (done) or a negative errno. */
static int elements_header(struct detect_dicom_elements *e, const char **why)
{
	const uint8_t *h = e->header;
	uint16_t group = le16_get(h), element = le16_get(h + 2);
	uint32_t length;
	int rc;

	if (e->header_have == 8) {
		if (e->meta && group != 0x0002 && (rc = elements_meta_end(e, why)) < 0)
			return rc;
		if (e->sniff) {
			e->explicit_vr = vr_is_valid(h + 4) && group != 0xFFFE;
			e->sniff = 0;
		}
		if (group != 0xFFFE && e->explicit_vr) {
			if (!vr_is_valid(h + 4)) {
				*why = "DICOM: bad explicit VR";
				return -EBADMSG;
			}
			if (vr_is_long(h + 4)) {
				e->header_need = 12;
				return 0;   /* 4 more bytes: the 32-bit length */
			}
		}
	}
	if (group == 0xFFFE || !e->explicit_vr)
		length = le32_get(h + 4);
	else if (e->header_need == 12)
		length = le32_get(h + 8);
	else
		length = le16_get(h + 6);
	e->header_have = 0;
	e->header_need = 8;

	if (group != 0xFFFE && e->depth == 0 && !e->meta &&
	    group > e->stop_after_group) {
		e->state = DICOM_ELEMENT_DONE;
		return 1;
	}
	if (++e->elements > DETECT_DICOM_ELEMENTS_MAX) {
		*why = "DICOM: too many elements before the patient";
		return -EBADMSG;
	}
	if (group == 0xFFFE) {                  /* items and delimiters */
		if (element == 0xE000 && e->depth > 0) {
			if (length != UNDEFINED_LENGTH) {
				e->value_left = length;
				e->state = length ? DICOM_ELEMENT_VALUE : DICOM_ELEMENT_HEADER;
				return 0;
			}
			goto deeper;
		}
		if ((element == 0xE00D || element == 0xE0DD) && e->depth > 0) {
			e->depth--;
			return 0;
		}
		*why = "DICOM: item or delimiter out of place";
		return -EBADMSG;
	}
	if (length == UNDEFINED_LENGTH)
		goto deeper;
	e->value_left = length;
	e->value_length = length;
	e->capture_slot = e->depth == 0 ? (uint8_t)elements_slot_of(group, element) :
	    SLOT_NONE;
	if (length == 0) {
		elements_value_done(e);
		return 0;
	}
	e->state = DICOM_ELEMENT_VALUE;
	return 0;
deeper:
	if (e->depth >= DETECT_DICOM_DEPTH_MAX) {
		*why = "DICOM: sequences nested too deep";
		return -EBADMSG;
	}
	e->depth++;
	return 0;
}

int detect_dicom_elements_feed(struct detect_dicom_elements *e,
			       const uint8_t *p, size_t n, const char **why)
{
	size_t i = 0;

	while (i < n) {
		if (e->state == DICOM_ELEMENT_DONE)
			return 1;
		if (e->state == DICOM_ELEMENT_HEADER) {
			int rc;

			e->header[e->header_have++] = p[i++];
			if (e->header_have < e->header_need)
				continue;
			rc = elements_header(e, why);
			if (rc != 0)
				return rc;
			continue;
		}
		/* DICOM_ELEMENT_VALUE */
		size_t take = n - i < e->value_left ? n - i : e->value_left;

		if (e->capture_slot != SLOT_NONE) {
			uint32_t at = e->value_length - e->value_left;

			for (size_t k = 0; k < take && at + k < sizeof(e->value); k++)
				e->value[at + k] = (char)p[i + k];
		}
		e->value_left -= (uint32_t)take;
		i += take;
		if (e->value_left == 0) {
			elements_value_done(e);
			e->state = DICOM_ELEMENT_HEADER;
		}
	}
	return e->state == DICOM_ELEMENT_DONE ? 1 : 0;
}

void detect_dicom_elements_ids(const struct detect_dicom_elements *e,
			       struct detect_message *m)
{
	const char *p = e->other_ids;

	if (e->patient_id[0] && strpbrk(e->patient_id, "*?") == NULL)
		detect_add_id(m, e->patient_id, strlen(e->patient_id), e->issuer,
		    strlen(e->issuer));
	while (*p) {                   /* values separated by '\' */
		const char *end = strchr(p, '\\');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t a = 0;

		while (a < n && p[a] == ' ')
			a++;
		while (n > a && p[n - 1] == ' ')
			n--;
		if (n > a && memchr(p + a, '*', n - a) == NULL &&
		    memchr(p + a, '?', n - a) == NULL)
			detect_add_id(m, p + a, n - a, NULL, 0);
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (e->truncated)
		m->flags |= DETECT_FLAG_TRUNCATED;
}
