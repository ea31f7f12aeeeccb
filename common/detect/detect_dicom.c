/*
 * detect_dicom.c - the DICOM detector: files (preamble, "DICM", file meta
 * group, dataset) and the upper layer protocol (PDUs, presentation contexts,
 * PDV fragments of DIMSE command sets and datasets), both read byte by byte
 * through one streaming element reader.
 *
 * Owns file framing (preamble, magic, meta group then dataset), the PDU/PDV
 * framing, DIMSE command names and detect_dicom_file(); elements are read by
 * detect_dicom_elements.c. The exact behaviour is in detect.h.
 *
 * Must never allocate, read past group 0010 of a dataset (never pixel data),
 * trust a length it has not checked against its container, or look at a
 * stream again once it gave up; bytes are only read.
 */
#include <errno.h>
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

#define PREAMBLE_BYTES 128

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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
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
				detect_dicom_elements_start(&d->elements,
							    DICOM_SYNTAX_EXPLICIT, 1, 0x10);
			}
			break;
		case FILE_ELEMENTS: {
			const struct detect_dicom_elements *e = &d->elements;
			uint32_t before = e->value_left;
			size_t take = n - i;

			/* Feed one byte of headers at a time so file_bytes
			   says where the reader stopped; values in bulk. */
			if (e->state == DICOM_ELEMENT_HEADER)
				take = 1;
			else if (take > before)
				take = before;
			rc = detect_dicom_elements_feed(&d->elements, p + i, take, why);
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
	detect_dicom_elements_ids(&d->elements, m);
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
	enum detect_dicom_syntax syntax;

	d->uid[d->uid_length] = '\0';
	while (d->uid_length > 0 && (d->uid[d->uid_length - 1] == '\0' ||
	    d->uid[d->uid_length - 1] == ' '))
		d->uid[--d->uid_length] = '\0';
	syntax = detect_dicom_syntax_of(d->uid, NULL);
	if (d->item_type == ITEM_CONTEXT_AC) {
		if (d->context_result == 0)
			d->context_syntax[d->context_id] = (uint8_t)syntax;
	} else if (++d->proposed == 1) {
		d->context_syntax[d->context_id] = (uint8_t)syntax;
	} else {
		d->context_syntax[d->context_id] = DICOM_SYNTAX_UNKNOWN;
	}
}

/* A PDV header was read: open the message or dataset it belongs to. */
static void net_pdv_start(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_dicom_state *d = &s->u.dicom;
	int command = d->fragment_control & PDV_COMMAND;
	enum detect_dicom_syntax syntax;

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
			detect_dicom_elements_start(&d->elements, DICOM_SYNTAX_IMPLICIT, 0, 0x00);
		}
		d->reading = !d->command_done;
	} else if (d->message_open && d->command_done && d->expect_dataset) {
		if (!d->dataset_started) {
			d->dataset_started = 1;
			syntax = (enum detect_dicom_syntax)d->context_syntax[d->context_id];
			detect_dicom_elements_start(&d->elements, syntax, 0, 0x10);
			d->dataset_unreadable = syntax == DICOM_SYNTAX_UNREADABLE;
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
	detect_dicom_elements_ids(e, &d->message);
	net_message_emit(s, sink);
}

/* A PDU's 6-byte header: its type and length say what follows. */
static void net_pdu_header(struct detect_stream *s, const uint8_t *h)
{
	struct detect_dicom_state *d = &s->u.dicom;

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
		net_pdu_header(s, h);
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
			if (d->reading &&
			    detect_dicom_elements_feed(&d->elements, p + i, take,
						       &why) < 0) {
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
