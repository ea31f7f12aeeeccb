/*
 * detect_hl7.c - the HL7 v2 detector: MLLP frames or unframed messages (as
 * in files), cut into segments byte by byte, with the MSH and PID segments
 * kept (up to DETECT_HL7_SEGMENT_KEEP bytes) and parsed when they end.
 *
 * Owns the framing rules, the separators a message declares in MSH-1/MSH-2,
 * MSH-9 as the message type and PID-3 (PID-2 as a fallback) as the patient's
 * identifiers; the exact behaviour is written down in detect.h.
 *
 * Must never allocate, copy more than one segment, or look at a stream again
 * once it gave up; bytes fed are only read.
 */
#include <stddef.h>
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

enum hl7_mode { HL7_UNDECIDED = 0, HL7_MLLP, HL7_UNFRAMED };

#define HL7_START_BLOCK 0x0B
#define HL7_END_BLOCK 0x1C
#define HL7_ID_MAX DETECT_PATIENT_MAX

/* A run of bytes inside the kept segment. */
struct hl7_span {
	const char *p;
	size_t n;
};

void detect_hl7_init(struct detect_stream *s)
{
	struct detect_hl7_state *h = &s->u.hl7;

	h->mode = HL7_UNDECIDED;
}

static void hl7_message_start(struct detect_hl7_state *h)
{
	h->in_message = 1;
	h->segments = 0;
	h->pids = 0;
	h->message_bytes = 0;
	h->segment_length = 0;
	h->keep = 0;
	h->field = '|';
	h->component = '^';
	h->repetition = '~';
	h->escape = '\\';
	h->subcomponent = '&';
	detect_message_clear(&h->message);
}

static void hl7_message_emit(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_hl7_state *h = &s->u.hl7;

	if (h->message.message_type[0] == '\0')
		detect_type_append(&h->message, "HL7", 3);
	h->message.bytes = h->message_bytes;
	detect_emit(s, sink, &h->message);
	h->in_message = 0;
}

static int hl7_separator_ok(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x21 && u < 0x7f && !detect_is_alpha(u) &&
	    !detect_is_digit(u);
}

/* Splits span at the first sep: *head gets what is before it, span the rest
   (after sep). Returns 1 when sep was found. */
static int hl7_split(struct hl7_span *span, char sep, struct hl7_span *head)
{
	const char *at = sep ? memchr(span->p, sep, span->n) : NULL;

	head->p = span->p;
	if (at == NULL) {
		head->n = span->n;
		span->p += span->n;
		span->n = 0;
		return 0;
	}
	head->n = (size_t)(at - span->p);
	span->n -= head->n + 1;
	span->p = at + 1;
	return 1;
}

/* Field number index of a segment whose fields start after the 3-byte name
 * and the separator (index 1 is PID-1, or MSH-2 in MSH). complete: the field
 * ended inside the kept bytes, or the segment was not cut. */
static struct hl7_span hl7_field(const char *seg, size_t n, char fs,
				 unsigned index, int cut, int *complete)
{
	struct hl7_span rest = { seg + 4, n - 4 }, field = { seg + 4, 0 };
	int ended = 0;

	for (unsigned i = 1; i <= index; i++) {
		if (i > 1 && !ended) {          /* fewer fields than index */
			*complete = !cut;
			field.p = rest.p;
			field.n = 0;
			return field;
		}
		ended = hl7_split(&rest, fs, &field);
	}
	*complete = ended || !cut;
	return field;
}

/* Decodes the escapes \F\ \S\ \T\ \R\ \E\ of an ID into out (HL7_ID_MAX);
   returns the length, or HL7_ID_MAX when it does not fit. */
static size_t hl7_unescape(const struct detect_hl7_state *h,
			   struct hl7_span in, char *out)
{
	static const struct { char code; size_t offset; } escapes[] = {
		{ 'F', offsetof(struct detect_hl7_state, field) },
		{ 'S', offsetof(struct detect_hl7_state, component) },
		{ 'T', offsetof(struct detect_hl7_state, subcomponent) },
		{ 'R', offsetof(struct detect_hl7_state, repetition) },
		{ 'E', offsetof(struct detect_hl7_state, escape) },
	};
	size_t n = 0;

	for (size_t i = 0; i < in.n; i++) {
		char c = in.p[i];

		if (h->escape && c == h->escape && i + 2 < in.n &&
		    in.p[i + 2] == h->escape) {
			for (size_t e = 0; e < sizeof(escapes) / sizeof(escapes[0]); e++) {
				if (escapes[e].code == in.p[i + 1]) {
					c = *((const char *)h + escapes[e].offset);
					i += 2;
					break;
				}
			}
		}
		if (n + 1 >= HL7_ID_MAX)
			return HL7_ID_MAX;
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

/* Parses the kept MSH segment: separators and MSH-9. Returns 0 or -1 (gave
   up). */
static int hl7_parse_msh(struct detect_stream *s, size_t n, int cut)
{
	struct detect_hl7_state *h = &s->u.hl7;
	const char *seg = h->segment;
	char enc[5] = { 0 };
	size_t enc_n = 0;
	struct hl7_span type, comp1, comp2;
	int complete;

	if (n < 5 || !hl7_separator_ok(seg[3])) {
		detect_give_up(s, "HL7: bad MSH-1 field separator");
		return -1;
	}
	h->field = seg[3];
	for (size_t i = 4; i < n && seg[i] != h->field; i++) {
		if (enc_n == sizeof(enc) || !hl7_separator_ok(seg[i]) ||
		    memchr(enc, seg[i], enc_n) != NULL) {
			detect_give_up(s, "HL7: bad MSH-2 encoding characters");
			return -1;
		}
		enc[enc_n++] = seg[i];
	}
	if (enc_n == 0) {
		detect_give_up(s, "HL7: bad MSH-2 encoding characters");
		return -1;
	}
	h->component = enc[0];
	h->repetition = enc_n > 1 ? enc[1] : 0;
	h->escape = enc_n > 2 ? enc[2] : 0;
	h->subcomponent = enc_n > 3 ? enc[3] : 0;
	/* MSH-9 is the 8th field after MSH-1 (the separator itself). */
	type = hl7_field(seg, n, h->field, 8, cut, &complete);
	if (!complete)
		h->message.flags |= DETECT_FLAG_TRUNCATED;
	h->message.message_type[0] = '\0';
	if (type.n == 0)
		return 0;
	hl7_split(&type, h->component, &comp1);
	detect_type_append(&h->message, comp1.p, comp1.n);
	if (type.n) {
		hl7_split(&type, h->component, &comp2);
		if (comp2.n) {
			detect_type_append(&h->message, "^", 1);
			detect_type_append(&h->message, comp2.p, comp2.n);
		}
	}
	return 0;
}

/* One CX repetition: ID^check^scheme^authority^type -> an identifier. */
static void hl7_add_cx(struct detect_hl7_state *h, struct hl7_span cx)
{
	struct hl7_span comp[5], sub, rest;
	char id[HL7_ID_MAX], qualifier[DETECT_IDENTIFIERS_MAX];
	size_t id_n, q = 0;

	for (size_t i = 0; i < 5; i++)
		hl7_split(&cx, h->component, &comp[i]);
	rest = comp[0];
	hl7_split(&rest, h->subcomponent, &sub);
	id_n = hl7_unescape(h, sub, id);
	if (id_n >= HL7_ID_MAX) {
		h->message.flags |= DETECT_FLAG_TRUNCATED;
		return;
	}
	rest = comp[3];
	hl7_split(&rest, h->subcomponent, &sub);   /* HD.1 namespace id */
	if (sub.n && sub.n < sizeof(qualifier) / 2) {
		memcpy(qualifier, sub.p, sub.n);
		q = sub.n;
	}
	if (comp[4].n && q + 1 + comp[4].n < sizeof(qualifier)) {
		if (q)
			qualifier[q++] = ' ';
		memcpy(qualifier + q, comp[4].p, comp[4].n);
		q += comp[4].n;
	}
	detect_add_id(&h->message, id, id_n, qualifier, q);
}

/* Every repetition of an identifier field; the last one only when the field
   is complete. Returns how many repetitions were looked at. */
static size_t hl7_add_ids(struct detect_hl7_state *h, struct hl7_span field,
			  int complete)
{
	struct hl7_span rep;
	size_t count = 0;

	while (field.n) {
		int more = hl7_split(&field, h->repetition, &rep);

		if (!more && !complete) {
			h->message.flags |= DETECT_FLAG_TRUNCATED;
			break;
		}
		if (rep.n) {
			hl7_add_cx(h, rep);
			count++;
		}
	}
	return count;
}

static void hl7_parse_pid(struct detect_hl7_state *h, size_t n, int cut)
{
	struct hl7_span pid3, pid2;
	int complete3, complete2;
	size_t had = strlen(h->message.identifiers);

	if (n < 4 || h->segment[3] != h->field)
		return;
	pid3 = hl7_field(h->segment, n, h->field, 3, cut, &complete3);
	hl7_add_ids(h, pid3, complete3);
	if (strlen(h->message.identifiers) == had && h->pids == 0) {
		pid2 = hl7_field(h->segment, n, h->field, 2, cut, &complete2);
		hl7_add_ids(h, pid2, complete2);
	}
}

static int hl7_segment_is(const struct detect_hl7_state *h, const char *name)
{
	return h->segment_length >= 3 && memcmp(h->segment, name, 3) == 0;
}

/* The current segment ended (at a terminator, or at the frame's end). */
static void hl7_segment_end(struct detect_stream *s)
{
	struct detect_hl7_state *h = &s->u.hl7;
	size_t kept = h->segment_length < sizeof(h->segment) ?
	    h->segment_length : sizeof(h->segment);
	int cut = h->segment_length > sizeof(h->segment);

	if (h->segment_length == 0)
		return;
	if (h->segments == 0 && !hl7_segment_is(h, "MSH")) {
		detect_give_up(s, "HL7: message does not start with MSH");
		return;
	}
	if (h->keep && hl7_segment_is(h, "MSH") && h->segments == 0) {
		if (hl7_parse_msh(s, kept, cut) < 0)
			return;
	} else if (h->keep && hl7_segment_is(h, "PID")) {
		hl7_parse_pid(h, kept, cut);
		if (h->pids < 255)
			h->pids++;
	}
	if (h->segments < 255)
		h->segments++;
	h->segment_length = 0;
	h->keep = 0;
}

/* One byte of segment content (not a terminator). */
static void hl7_segment_byte(struct detect_stream *s, struct detect_sink *sink,
			     uint8_t c)
{
	struct detect_hl7_state *h = &s->u.hl7;

	if (h->segment_length < 3) {
		h->segment[h->segment_length++] = (char)c;
		if (h->segment_length < 3)
			return;
		if (hl7_segment_is(h, "MSH") && h->mode == HL7_UNFRAMED &&
		    h->segments > 0) {
			/* A new message: the three bytes belong to it. */
			h->message_bytes -= 3;
			hl7_message_emit(s, sink);
			hl7_message_start(h);
			h->message_bytes = 3;
			memcpy(h->segment, "MSH", 3);
			h->segment_length = 3;
		}
		if (h->segments == 0 && !hl7_segment_is(h, "MSH")) {
			detect_give_up(s, "HL7: message does not start with MSH");
			return;
		}
		if ((hl7_segment_is(h, "MSH") || hl7_segment_is(h, "PID")) &&
		    h->message_bytes <= DETECT_HL7_MESSAGE_PARSE_MAX)
			h->keep = 1;
		else if (hl7_segment_is(h, "PID"))
			h->message.flags |= DETECT_FLAG_UNSCANNED;
		return;
	}
	if (h->keep && h->segment_length < sizeof(h->segment))
		h->segment[h->segment_length] = (char)c;
	if (h->segment_length < UINT32_MAX)
		h->segment_length++;
}

/* A byte inside a message (framed or not), counted already. */
static void hl7_message_byte(struct detect_stream *s, struct detect_sink *sink,
			     uint8_t c)
{
	if (c == '\r' || c == '\n')
		hl7_segment_end(s);
	else
		hl7_segment_byte(s, sink, c);
}

static void hl7_feed_mllp(struct detect_stream *s, uint8_t c,
			  struct detect_sink *sink)
{
	struct detect_hl7_state *h = &s->u.hl7;

	if (!h->in_frame) {
		if (c == HL7_START_BLOCK) {
			hl7_message_start(h);
			h->in_frame = 1;
			h->after_frame = 0;
			h->junk = 0;
			h->message_bytes = 1;
		} else if (c == '\r' && h->after_frame) {
			h->after_frame = 0;   /* counted with the frame */
		} else {
			h->after_frame = 0;
			if (++h->junk > DETECT_HL7_JUNK_MAX)
				detect_give_up(s, "HL7: too many bytes between MLLP frames");
		}
		return;
	}
	if (c == HL7_START_BLOCK) {
		detect_give_up(s, "HL7: MLLP start block inside a frame");
		return;
	}
	if (c == HL7_END_BLOCK) {
		hl7_segment_end(s);
		if (s->gave_up)
			return;
		if (h->segments == 0) {
			detect_give_up(s, "HL7: empty MLLP frame");
			return;
		}
		h->message_bytes += 2;    /* 0x1C and the 0x0D after it */
		hl7_message_emit(s, sink);
		h->in_frame = 0;
		h->after_frame = 1;
		return;
	}
	h->message_bytes++;
	hl7_message_byte(s, sink, c);
}

static void hl7_feed_unframed(struct detect_stream *s, uint8_t c,
			      struct detect_sink *sink)
{
	struct detect_hl7_state *h = &s->u.hl7;

	if (!h->in_message)
		hl7_message_start(h);
	h->message_bytes++;
	hl7_message_byte(s, sink, c);
}

void detect_hl7_feed(struct detect_stream *s, const uint8_t *data, size_t len,
		     struct detect_sink *sink)
{
	struct detect_hl7_state *h = &s->u.hl7;

	for (size_t i = 0; i < len && s->gave_up == NULL; i++) {
		uint8_t c = data[i];

		if (h->mode == HL7_UNDECIDED) {
			if (c == HL7_START_BLOCK) {
				h->mode = HL7_MLLP;
			} else if (c == 'M') {
				h->mode = HL7_UNFRAMED;
			} else {
				detect_give_up(s, "HL7: neither an MLLP frame nor MSH");
				return;
			}
		}
		if (h->mode == HL7_MLLP)
			hl7_feed_mllp(s, c, sink);
		else
			hl7_feed_unframed(s, c, sink);
	}
}

void detect_hl7_end(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_hl7_state *h = &s->u.hl7;

	if (h->mode != HL7_UNFRAMED || !h->in_message)
		return;
	hl7_segment_end(s);
	if (s->gave_up == NULL && h->segments > 0)
		hl7_message_emit(s, sink);
}
