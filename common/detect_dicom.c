/*
 * detect_dicom.c - the DICOM detector: files (preamble, "DICM", file meta
 * group, dataset) and the upper layer protocol (PDUs, presentation contexts,
 * PDV fragments of DIMSE command sets and datasets), both read byte by byte
 * through one streaming element reader.
 *
 * Owns the little endian element encodings (explicit and implicit VR), the
 * skipping of sequences of undefined length, the values the detector keeps
 * (transfer syntax, command field, modality, patient ids), the PDU/PDV
 * framing, and detect_dicom_file(); the exact behaviour is in detect.h.
 *
 * Must never allocate, read past group 0010 of a dataset (never pixel data),
 * trust a length it has not checked against its container, or look at a
 * stream again once it gave up; bytes are only read.
 */
#include <errno.h>
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

#define UNDEFINED_LENGTH 0xFFFFFFFFu
#define PREAMBLE_BYTES 128

/* ---- transfer syntaxes ------------------------------------------------- */

enum syntax {
	SYNTAX_UNKNOWN = 0,
	SYNTAX_IMPLICIT,      /* implicit VR little endian */
	SYNTAX_EXPLICIT,      /* explicit VR little endian (and encapsulated) */
	SYNTAX_UNREADABLE,    /* big endian, deflated */
};

static const struct {
	const char *uid;
	enum syntax syntax;
	const char *why;
} dicom_syntaxes[] = {
	{ "1.2.840.10008.1.2", SYNTAX_IMPLICIT, NULL },
	{ "1.2.840.10008.1.2.1", SYNTAX_EXPLICIT, NULL },
	{ "1.2.840.10008.1.2.2", SYNTAX_UNREADABLE,
	  "DICOM: big endian transfer syntax is not read" },
	{ "1.2.840.10008.1.2.1.99", SYNTAX_UNREADABLE,
	  "DICOM: deflated transfer syntax is not read" },
};

/* Every other syntax encapsulates pixel data only: its elements are
   explicit VR little endian. */
static enum syntax dicom_syntax_of(const char *uid, const char **why)
{
	for (size_t i = 0; i < sizeof(dicom_syntaxes) / sizeof(dicom_syntaxes[0]); i++) {
		if (strcmp(uid, dicom_syntaxes[i].uid) == 0) {
			if (why)
				*why = dicom_syntaxes[i].why;
			return dicom_syntaxes[i].syntax;
		}
	}
	return uid[0] ? SYNTAX_EXPLICIT : SYNTAX_UNKNOWN;
}

/* ---- DIMSE command fields ---------------------------------------------- */

static const struct {
	uint16_t field;
	const char *name;
} dimse_commands[] = {
	{ 0x0001, "C-STORE-RQ" }, { 0x8001, "C-STORE-RSP" },
	{ 0x0010, "C-GET-RQ" }, { 0x8010, "C-GET-RSP" },
	{ 0x0020, "C-FIND-RQ" }, { 0x8020, "C-FIND-RSP" },
	{ 0x0021, "C-MOVE-RQ" }, { 0x8021, "C-MOVE-RSP" },
	{ 0x0030, "C-ECHO-RQ" }, { 0x8030, "C-ECHO-RSP" },
	{ 0x0FFF, "C-CANCEL-RQ" },
	{ 0x0100, "N-EVENT-REPORT-RQ" }, { 0x8100, "N-EVENT-REPORT-RSP" },
	{ 0x0110, "N-GET-RQ" }, { 0x8110, "N-GET-RSP" },
	{ 0x0120, "N-SET-RQ" }, { 0x8120, "N-SET-RSP" },
	{ 0x0130, "N-ACTION-RQ" }, { 0x8130, "N-ACTION-RSP" },
	{ 0x0140, "N-CREATE-RQ" }, { 0x8140, "N-CREATE-RSP" },
	{ 0x0150, "N-DELETE-RQ" }, { 0x8150, "N-DELETE-RSP" },
};

static void dimse_type(struct detect_message *m, uint16_t field)
{
	static const char hex[] = "0123456789ABCDEF";
	char text[sizeof("DIMSE 0x0000")];

	m->message_type[0] = '\0';
	for (size_t i = 0; i < sizeof(dimse_commands) / sizeof(dimse_commands[0]); i++) {
		if (dimse_commands[i].field == field) {
			detect_type_append(m, dimse_commands[i].name,
			    strlen(dimse_commands[i].name));
			return;
		}
	}
	memcpy(text, "DIMSE 0x", 8);
	for (int i = 0; i < 4; i++)
		text[8 + i] = hex[(field >> (12 - 4 * i)) & 0xf];
	detect_type_append(m, text, 12);
}

/* ---- the element reader ------------------------------------------------ */

enum element_state { ELEMENT_HEADER = 0, ELEMENT_VALUE, ELEMENT_DONE };

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

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Starts reading a dataset (or a file's meta group, or a command set).
 * syntax: SYNTAX_UNKNOWN to tell explicit from implicit by the first
 * element. stop_after_group: the reader is done at the first top-level
 * element of a higher group.
 */
static void elements_start(struct detect_dicom_elements *e, enum syntax syntax,
			   int meta, uint8_t stop_after_group)
{
	memset(e, 0, sizeof(*e));
	e->explicit_vr = meta || syntax == SYNTAX_EXPLICIT;
	e->sniff = !meta && syntax == SYNTAX_UNKNOWN;
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
			e->command_field = le16((const uint8_t *)e->value);
			e->have_command_field = 1;
		}
		break;
	case SLOT_DATA_SET_TYPE:
		if (e->value_length == 2) {
			e->data_set_type = le16((const uint8_t *)e->value);
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
	enum syntax syntax = dicom_syntax_of(e->transfer_syntax, &reason);

	e->meta = 0;
	switch (syntax) {
	case SYNTAX_IMPLICIT:
		e->explicit_vr = 0;
		return 0;
	case SYNTAX_EXPLICIT:
		e->explicit_vr = 1;
		return 0;
	case SYNTAX_UNREADABLE:
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
	uint16_t group = le16(h), element = le16(h + 2);
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
		length = le32(h + 4);
	else if (e->header_need == 12)
		length = le32(h + 8);
	else
		length = le16(h + 6);
	e->header_have = 0;
	e->header_need = 8;

	if (group != 0xFFFE && e->depth == 0 && !e->meta &&
	    group > e->stop_after_group) {
		e->state = ELEMENT_DONE;
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
				e->state = length ? ELEMENT_VALUE : ELEMENT_HEADER;
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
	e->state = ELEMENT_VALUE;
	return 0;
deeper:
	if (e->depth >= DETECT_DICOM_DEPTH_MAX) {
		*why = "DICOM: sequences nested too deep";
		return -EBADMSG;
	}
	e->depth++;
	return 0;
}

/* Reads n bytes of the element stream. Returns 0 (all read, more wanted),
   1 (done: the rest need not be fed) or a negative errno with *why. */
static int elements_feed(struct detect_dicom_elements *e, const uint8_t *p,
			 size_t n, const char **why)
{
	size_t i = 0;

	while (i < n) {
		if (e->state == ELEMENT_DONE)
			return 1;
		if (e->state == ELEMENT_HEADER) {
			int rc;

			e->header[e->header_have++] = p[i++];
			if (e->header_have < e->header_need)
				continue;
			rc = elements_header(e, why);
			if (rc != 0)
				return rc;
			continue;
		}
		/* ELEMENT_VALUE */
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
			e->state = ELEMENT_HEADER;
		}
	}
	return e->state == ELEMENT_DONE ? 1 : 0;
}

/* Patient ids kept by a dataset reader into m. */
static void elements_ids(const struct detect_dicom_elements *e,
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

/* ---- files ------------------------------------------------------------- */

enum file_phase { FILE_PREAMBLE = 0, FILE_MAGIC, FILE_ELEMENTS, FILE_DONE };

/* Reads n more bytes of a file. Returns 0 (more wanted), 1 (done: message
   ready), or a negative errno with *why. */
static int dicom_file_feed(struct detect_dicom_state *d, const uint8_t *p,
			   size_t n, const char **why)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		switch (d->phase) {
		case FILE_PREAMBLE: {
			size_t take = PREAMBLE_BYTES - d->file_bytes;

			if (take > n - i)
				take = n - i;
			d->file_bytes += take;
			i += take;
			if (d->file_bytes == PREAMBLE_BYTES)
				d->phase = FILE_MAGIC;
			break;
		}
		case FILE_MAGIC:
			if (p[i] != (uint8_t)"DICM"[d->file_bytes - PREAMBLE_BYTES]) {
				*why = "DICOM: no \"DICM\" at byte 128: not a DICOM file";
				return -ENOMSG;
			}
			d->file_bytes++;
			i++;
			if (d->file_bytes == PREAMBLE_BYTES + 4) {
				d->phase = FILE_ELEMENTS;
				elements_start(&d->elements, SYNTAX_EXPLICIT, 1, 0x10);
			}
			break;
		case FILE_ELEMENTS: {
			const struct detect_dicom_elements *e = &d->elements;
			uint32_t before = e->value_left;
			size_t take = n - i;

			/* Feed one byte of headers at a time so file_bytes
			   says where the reader stopped; values in bulk. */
			if (e->state == ELEMENT_HEADER)
				take = 1;
			else if (take > before)
				take = before;
			rc = elements_feed(&d->elements, p + i, take, why);
			if (rc < 0)
				return rc;
			d->file_bytes += take;
			i += take;
			if (rc == 1) {
				d->phase = FILE_DONE;
				return 1;
			}
			break;
		}
		default:
			return 1;
		}
	}
	return 0;
}

static void dicom_file_message(const struct detect_dicom_state *d,
			       struct detect_message *m)
{
	detect_message_clear(m);
	detect_type_append(m, "DICOM file", 10);
	if (d->elements.modality[0]) {
		detect_type_append(m, " (", 2);
		detect_type_append(m, d->elements.modality,
		    strlen(d->elements.modality));
		detect_type_append(m, ")", 1);
	}
	elements_ids(&d->elements, m);
	m->bytes = d->file_bytes;
}

int detect_dicom_file(const void *head, size_t len, struct detect_message *out,
		      const char **why)
{
	struct detect_dicom_state d;
	const char *reason = NULL;
	int rc;

	memset(&d, 0, sizeof(d));
	d.mode = 2;
	rc = dicom_file_feed(&d, head, len, &reason);
	if (rc == 0) {
		rc = -ENODATA;
		reason = "DICOM: file head ends before the patient";
	}
	if (rc < 0) {
		if (why)
			*why = reason;
		return rc;
	}
	dicom_file_message(&d, out);
	return 0;
}

/* ---- the upper layer protocol ------------------------------------------ */

enum net_phase {
	NET_PDU_HEADER = 0,   /* 6 bytes: type, reserved, length */
	NET_SKIP,             /* the rest of a PDU that is not read */
	NET_ASSOC_FIXED,      /* 68 fixed bytes of A-ASSOCIATE-RQ/AC */
	NET_ITEM_HEADER,      /* 4 bytes: type, reserved, length (BE16) */
	NET_ITEM_SKIP,
	NET_CONTEXT_HEADER,   /* 4 bytes: id, reserved, result, reserved */
	NET_SUB_HEADER,       /* 4 bytes: type, reserved, length (BE16) */
	NET_SUB_UID,          /* a transfer syntax UID */
	NET_SUB_SKIP,
	NET_PDV_HEADER,       /* 6 bytes: length (BE32), context, control */
	NET_PDV_DATA,
};

enum pdu_type {
	PDU_ASSOCIATE_RQ = 1, PDU_ASSOCIATE_AC, PDU_ASSOCIATE_RJ, PDU_DATA,
	PDU_RELEASE_RQ, PDU_RELEASE_RP, PDU_ABORT,
};

#define ITEM_CONTEXT_RQ 0x20
#define ITEM_CONTEXT_AC 0x21
#define SUB_TRANSFER_SYNTAX 0x40
#define PDV_COMMAND 0x01
#define PDV_LAST 0x02
#define DATA_SET_ABSENT 0x0101

void detect_dicom_init(struct detect_stream *s)
{
	(void)s;
}

static void net_message_emit(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;

	if (d->message.message_type[0] == '\0')
		detect_type_append(&d->message, "DIMSE", 5);
	d->message.bytes = d->message_bytes;
	detect_emit(s, sink, &d->message);
	d->message_open = 0;
	d->command_done = 0;
	d->expect_dataset = 0;
	d->dataset_started = 0;
}

/* A transfer syntax UID sub-item ended. */
static void net_syntax_done(struct detect_dicom_state *d)
{
	enum syntax syntax;

	d->uid[d->uid_length] = '\0';
	while (d->uid_length > 0 && (d->uid[d->uid_length - 1] == '\0' ||
	    d->uid[d->uid_length - 1] == ' '))
		d->uid[--d->uid_length] = '\0';
	syntax = dicom_syntax_of(d->uid, NULL);
	if (d->item_type == ITEM_CONTEXT_AC) {
		if (d->context_result == 0)
			d->context_syntax[d->context_id] = (uint8_t)syntax;
	} else if (++d->proposed == 1) {
		d->context_syntax[d->context_id] = (uint8_t)syntax;
	} else {
		d->context_syntax[d->context_id] = SYNTAX_UNKNOWN;
	}
}

/* A PDV header was read: open the message or dataset it belongs to. */
static void net_pdv_start(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	int command = d->fragment_control & PDV_COMMAND;
	enum syntax syntax;

	if (command) {
		if (d->message_open && d->command_done) {
			/* The dataset announced never came. */
			d->message.flags |= DETECT_FLAG_UNSCANNED;
			net_message_emit(s, sink);
		}
		if (!d->message_open) {
			d->message_open = 1;
			d->message_bytes = 0;
			detect_message_clear(&d->message);
			elements_start(&d->elements, SYNTAX_IMPLICIT, 0, 0x00);
		}
		d->reading = !d->command_done;
	} else if (d->message_open && d->command_done && d->expect_dataset) {
		if (!d->dataset_started) {
			d->dataset_started = 1;
			syntax = (enum syntax)d->context_syntax[d->context_id];
			elements_start(&d->elements, syntax, 0, 0x10);
			d->dataset_unreadable = syntax == SYNTAX_UNREADABLE;
			if (d->dataset_unreadable)
				d->message.flags |= DETECT_FLAG_UNSCANNED;
		}
		d->reading = !d->dataset_unreadable;
	} else {
		d->reading = 0;       /* a dataset without its command */
		return;
	}
	d->message_bytes += 4 + 2 + d->fragment_left;
}

/* The current PDV fragment ended. */
static void net_pdv_end(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	struct detect_dicom_elements *e = &d->elements;

	if (!(d->fragment_control & PDV_LAST) || !d->message_open)
		return;
	if (d->fragment_control & PDV_COMMAND) {
		if (d->command_done)
			return;
		d->command_done = 1;
		if (e->have_command_field)
			dimse_type(&d->message, e->command_field);
		d->expect_dataset = !e->have_data_set_type ||
		    e->data_set_type != DATA_SET_ABSENT;
		if (!d->expect_dataset)
			net_message_emit(s, sink);
		return;
	}
	if (!d->dataset_started)
		return;
	elements_ids(e, &d->message);
	net_message_emit(s, sink);
}

/* A complete 4- or 6-byte header of the current phase is in d->header. */
static void net_header(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	const uint8_t *h = d->header;
	uint32_t length;

	d->header_have = 0;
	switch (d->phase) {
	case NET_PDU_HEADER:
		d->pdu_type = h[0];
		d->pdu_left = be32(h + 2);
		if (h[0] < PDU_ASSOCIATE_RQ || h[0] > PDU_ABORT) {
			detect_give_up(s, "DICOM: unknown PDU type");
			return;
		}
		if (h[0] == PDU_ASSOCIATE_RQ || h[0] == PDU_ASSOCIATE_AC) {
			if (d->pdu_left > DETECT_DICOM_ASSOCIATE_MAX || d->pdu_left < 68) {
				detect_give_up(s, "DICOM: bad A-ASSOCIATE length");
				return;
			}
			memset(d->context_syntax, 0, sizeof(d->context_syntax));
			d->item_left = 68;
			d->phase = NET_ASSOC_FIXED;
		} else if (h[0] == PDU_DATA) {
			d->phase = NET_PDV_HEADER;
		} else {
			d->phase = NET_SKIP;
		}
		if (d->pdu_left == 0)
			d->phase = NET_PDU_HEADER;
		return;
	case NET_ITEM_HEADER:
		d->item_type = h[0];
		d->item_left = (uint32_t)(h[2] << 8 | h[3]);
		if (d->item_left > d->pdu_left) {
			detect_give_up(s, "DICOM: item longer than its PDU");
			return;
		}
		if ((h[0] == ITEM_CONTEXT_RQ || h[0] == ITEM_CONTEXT_AC) &&
		    d->item_left >= 4) {
			d->phase = NET_CONTEXT_HEADER;
		} else {
			d->phase = NET_ITEM_SKIP;
		}
		return;
	case NET_CONTEXT_HEADER:
		d->context_id = h[0];
		d->context_result = h[2];
		d->proposed = 0;
		d->item_left -= 4;
		d->phase = d->item_left ? NET_SUB_HEADER : NET_ITEM_HEADER;
		return;
	case NET_SUB_HEADER:
		length = (uint32_t)(h[2] << 8 | h[3]);
		if (length + 4 > d->item_left) {
			detect_give_up(s, "DICOM: sub-item longer than its item");
			return;
		}
		d->item_left -= 4;
		d->sub_left = length;
		d->uid_length = 0;
		d->phase = h[0] == SUB_TRANSFER_SYNTAX ? NET_SUB_UID : NET_SUB_SKIP;
		return;
	case NET_PDV_HEADER:
		length = be32(h);
		if (length < 2 || length > d->pdu_left + 2) {
			detect_give_up(s, "DICOM: bad PDV length");
			return;
		}
		d->context_id = h[4];
		d->fragment_control = h[5];
		d->fragment_left = length - 2;
		d->phase = NET_PDV_DATA;
		net_pdv_start(s, sink);
		if (d->fragment_left == 0) {
			net_pdv_end(s, sink);
			d->phase = NET_PDV_HEADER;
		}
		return;
	default:
		return;
	}
}

/* Bytes inside the current PDU (n <= pdu_left); pdu_left follows each
   byte read, so the checks of net_header() see what is left after it. */
static void net_pdu_bytes(struct detect_stream *s, struct detect_sink *sink,
			  const uint8_t *p, size_t n)
{
	struct detect_dicom_state *d = &s->u.dicom;
	size_t i = 0;

	while (i < n && s->gave_up == NULL) {
		size_t take, need;
		const char *why = NULL;

		switch (d->phase) {
		case NET_SKIP:
			d->pdu_left -= (uint32_t)(n - i);
			i = n;
			break;
		case NET_ITEM_HEADER:
		case NET_CONTEXT_HEADER:
		case NET_SUB_HEADER:
		case NET_PDV_HEADER:
			need = d->phase == NET_PDV_HEADER ? 6 : 4;
			d->header[d->header_have++] = p[i++];
			d->pdu_left--;
			if (d->header_have == need)
				net_header(s, sink);
			break;
		case NET_ASSOC_FIXED:
		case NET_ITEM_SKIP:
			take = n - i < d->item_left ? n - i : d->item_left;
			d->item_left -= (uint32_t)take;
			d->pdu_left -= (uint32_t)take;
			i += take;
			if (d->item_left == 0)
				d->phase = NET_ITEM_HEADER;
			break;
		case NET_SUB_UID:
		case NET_SUB_SKIP:
			take = n - i < d->sub_left ? n - i : d->sub_left;
			for (size_t k = 0; d->phase == NET_SUB_UID && k < take; k++)
				if (d->uid_length < sizeof(d->uid) - 1)
					d->uid[d->uid_length++] = (char)p[i + k];
			d->sub_left -= (uint32_t)take;
			d->item_left -= (uint32_t)take;
			d->pdu_left -= (uint32_t)take;
			i += take;
			if (d->sub_left)
				break;
			if (d->phase == NET_SUB_UID)
				net_syntax_done(d);
			d->phase = d->item_left ? NET_SUB_HEADER : NET_ITEM_HEADER;
			break;
		case NET_PDV_DATA:
			take = n - i < d->fragment_left ? n - i : d->fragment_left;
			if (d->reading && elements_feed(&d->elements, p + i, take, &why) < 0) {
				detect_give_up(s, why);
				return;
			}
			d->fragment_left -= (uint32_t)take;
			d->pdu_left -= (uint32_t)take;
			i += take;
			if (d->fragment_left == 0) {
				net_pdv_end(s, sink);
				d->phase = NET_PDV_HEADER;
			}
			break;
		default:
			detect_give_up(s, "DICOM: internal state");
			return;
		}
	}
}

static void dicom_feed_network(struct detect_stream *s, const uint8_t *p,
			       size_t n, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	size_t i = 0;

	while (i < n && s->gave_up == NULL) {
		size_t take;

		if (d->phase == NET_PDU_HEADER) {
			d->header[d->header_have++] = p[i++];
			if (d->header_have == 6)
				net_header(s, sink);
			continue;
		}
		take = n - i < d->pdu_left ? n - i : d->pdu_left;
		net_pdu_bytes(s, sink, p + i, take);   /* counts pdu_left down */
		i += take;
		if (d->pdu_left == 0 && s->gave_up == NULL) {
			if (d->header_have != 0 || (d->phase != NET_PDV_HEADER &&
			    d->phase != NET_ITEM_HEADER && d->phase != NET_SKIP)) {
				detect_give_up(s, "DICOM: PDU ends inside an item");
				return;
			}
			d->phase = NET_PDU_HEADER;
		}
	}
}

enum dicom_mode { MODE_UNDECIDED = 0, MODE_NETWORK, MODE_FILE };

void detect_dicom_feed(struct detect_stream *s, const uint8_t *data,
		       size_t len, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	const char *why = NULL;
	int rc;

	if (d->mode == MODE_UNDECIDED) {
		/* A PDU starts 0x01..0x07, 0x00; a file with its preamble. */
		if (d->header_have == 0 && data[0] >= PDU_ASSOCIATE_RQ &&
		    data[0] <= PDU_ABORT) {
			if (len == 1) {
				d->header[d->header_have++] = data[0];
				return;
			}
			d->mode = data[1] == 0 ? MODE_NETWORK : MODE_FILE;
		} else if (d->header_have == 1) {
			d->mode = data[0] == 0 ? MODE_NETWORK : MODE_FILE;
			if (d->mode == MODE_FILE) {
				d->file_bytes = 1;     /* the byte held back */
				d->header_have = 0;
			}
		} else {
			d->mode = MODE_FILE;
		}
	}
	if (d->mode == MODE_NETWORK) {
		dicom_feed_network(s, data, len, sink);
		return;
	}
	if (d->phase == FILE_DONE)
		return;
	rc = dicom_file_feed(d, data, len, &why);
	if (rc < 0) {
		detect_give_up(s, why);
		return;
	}
	if (rc == 1) {
		dicom_file_message(d, &d->message);
		detect_emit(s, sink, &d->message);
	}
}

void detect_dicom_end(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;

	if (d->mode == MODE_FILE && d->phase == FILE_ELEMENTS &&
	    !d->elements.meta) {
		dicom_file_message(d, &d->message);
		detect_emit(s, sink, &d->message);
		d->phase = FILE_DONE;
	}
}
