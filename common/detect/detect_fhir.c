/*
 * detect_fhir.c - the FHIR detector: HTTP/1.1 messages (requests or
 * responses, one after another on one direction of a stream) read byte by
 * byte, with a bounded JSON tokenizer over their bodies.
 *
 * Owns HTTP framing (start line, headers, Content-Length, chunked transfer
 * coding, bodies running to the end of the stream); request targets go to
 * detect_fhir_target.c (resource type, id, patient search parameters) and
 * bodies to the JSON scan in detect_fhir_json.c. The exact behaviour is
 * written down in detect.h.
 *
 * Must never allocate, build a tree, keep more than one line or one JSON
 * string, or look at a stream again once it gave up; bytes are only read.
 */
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

enum fhir_phase {
	PHASE_START = 0,      /* before or inside a start line */
	PHASE_HEADER,         /* header lines */
	PHASE_BODY,           /* Content-Length body: body_left bytes */
	PHASE_BODY_TO_END,    /* response body running to the end */
	PHASE_CHUNK_SIZE,     /* chunk-size [; ext] CRLF */
	PHASE_CHUNK_DATA,     /* body_left bytes of chunk data */
	PHASE_CHUNK_CRLF,     /* the CRLF after chunk data */
	PHASE_TRAILER,        /* trailer lines after the last chunk */
};

enum fhir_body { BODY_NONE = 0, BODY_LENGTH, BODY_CHUNKED, BODY_TO_END };

/* ---- HTTP framing ------------------------------------------------------ */

void detect_fhir_init(struct detect_stream *s)
{
	s->u.fhir.phase = PHASE_START;
}

static void fhir_message_reset(struct detect_fhir_state *f)
{
	f->phase = PHASE_START;
	f->is_response = 0;
	f->body_kind = BODY_NONE;
	f->line_overflow = 0;
	f->seen_length = 0;
	f->status = 0;
	f->header_bytes = 0;
	f->line_length = 0;
	f->content_length = 0;
	f->body_left = 0;
	f->body_scanned = 0;
	f->message_bytes = 0;
	f->method[0] = '\0';
	f->type_from_path[0] = '\0';
	detect_fhir_json_reset(&f->json);
	detect_message_clear(&f->message);
}

static void fhir_message_done(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_fhir_state *f = &s->u.fhir;
	const char *type = f->type_from_path[0] ? f->type_from_path :
	    f->json.resource_type;
	char status[4];

	f->message.message_type[0] = '\0';
	if (f->is_response) {
		status[0] = (char)('0' + f->status / 100);
		status[1] = (char)('0' + f->status / 10 % 10);
		status[2] = (char)('0' + f->status % 10);
		detect_type_append(&f->message, status, 3);
		type = f->json.resource_type;
	} else {
		detect_type_append(&f->message, f->method, strlen(f->method));
	}
	if (type[0]) {
		detect_type_append(&f->message, " ", 1);
		detect_type_append(&f->message, type, strlen(type));
	}
	f->message.bytes = f->message_bytes;
	detect_emit(s, sink, &f->message);
	fhir_message_reset(f);
}

static int fhir_parse_status_line(struct detect_fhir_state *f, const char *l,
				  size_t n)
{
	/* "HTTP/1.x SP DDD [SP reason]" */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || !detect_is_digit((unsigned char)l[7]) ||
	    l[8] != ' ' || !detect_is_digit((unsigned char)l[9]) ||
	    !detect_is_digit((unsigned char)l[10]) || !detect_is_digit((unsigned char)l[11]) ||
	    (n > 12 && l[12] != ' '))
		return -1;
	f->is_response = 1;
	f->status = (uint16_t)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	return 0;
}

static int fhir_parse_request_line(struct detect_stream *s, const char *l,
				   size_t n)
{
	struct detect_fhir_state *f = &s->u.fhir;
	size_t m = 0, t, t_end;

	while (m < n && detect_is_upper((unsigned char)l[m]))
		m++;
	if (m == 0 || m >= sizeof(f->method) || m >= n || l[m] != ' ')
		return -1;
	t = m + 1;
	for (t_end = t; t_end < n && l[t_end] != ' '; t_end++)
		;
	if (t_end == t || n - t_end != 9 || memcmp(l + t_end, " HTTP/1.", 8) != 0 ||
	    !detect_is_digit((unsigned char)l[n - 1]))
		return -1;
	memcpy(f->method, l, m);
	f->method[m] = '\0';
	if (strcmp(f->method, "CONNECT") == 0) {
		detect_give_up(s, "FHIR: CONNECT tunnels are not read");
		return 0;
	}
	detect_fhir_read_target(f, l + t, t_end - t, 1);
	return 0;
}

static void fhir_start_line(struct detect_stream *s, const char *l, size_t n)
{
	struct detect_fhir_state *f = &s->u.fhir;

	if (f->line_overflow) {
		detect_give_up(s, "FHIR: start line too long");
		return;
	}
	if (n >= 5 && memcmp(l, "HTTP/", 5) == 0) {
		if (fhir_parse_status_line(f, l, n) < 0)
			detect_give_up(s, "FHIR: not an HTTP/1.x status line");
	} else if (n >= 14 && memcmp(l, "PRI * HTTP/2.0", 14) == 0) {
		detect_give_up(s, "FHIR: HTTP/2 is not read");
	} else if (fhir_parse_request_line(s, l, n) < 0) {
		detect_give_up(s, "FHIR: not an HTTP/1.x request line");
	}
	if (s->gave_up == NULL)
		f->phase = PHASE_HEADER;
}

static int fhir_header_is(const char *l, size_t name_n, const char *name)
{
	if (strlen(name) != name_n)
		return 0;
	for (size_t i = 0; i < name_n; i++)
		if (detect_to_lower((unsigned char)l[i]) != name[i])
			return 0;
	return 1;
}

enum header_kind { HEADER_LENGTH, HEADER_TRANSFER, HEADER_LOCATION };

static const struct {
	const char *name;     /* lower case */
	enum header_kind kind;
} fhir_headers[] = {
	{ "content-length", HEADER_LENGTH },
	{ "transfer-encoding", HEADER_TRANSFER },
	{ "location", HEADER_LOCATION },
	{ "content-location", HEADER_LOCATION },
};

static void fhir_header_value(struct detect_stream *s, enum header_kind kind,
			      const char *v, size_t n)
{
	struct detect_fhir_state *f = &s->u.fhir;
	uint64_t length = 0;

	switch (kind) {
	case HEADER_LENGTH:
		if (n == 0 || n > 19) {
			detect_give_up(s, "FHIR: bad Content-Length");
			return;
		}
		for (size_t i = 0; i < n; i++) {
			if (!detect_is_digit((unsigned char)v[i])) {
				detect_give_up(s, "FHIR: bad Content-Length");
				return;
			}
			length = length * 10 + (uint64_t)(v[i] - '0');
		}
		if (f->seen_length && length != f->content_length) {
			detect_give_up(s, "FHIR: conflicting Content-Length");
			return;
		}
		f->seen_length = 1;
		f->content_length = length;
		break;
	case HEADER_TRANSFER:
		/* chunked must be the last coding */
		if (n >= 7 && fhir_header_is(v + n - 7, 7, "chunked") &&
		    (n == 7 || v[n - 8] == ' ' || v[n - 8] == ','))
			f->body_kind = BODY_CHUNKED;
		else if (!f->is_response)
			detect_give_up(s, "FHIR: request Transfer-Encoding without chunked");
		else
			f->body_kind = BODY_TO_END;
		break;
	case HEADER_LOCATION:
		if (f->is_response)
			detect_fhir_read_target(f, v, n, 0);
		break;
	}
}

static void fhir_header_line(struct detect_stream *s, const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n);
	size_t name_n, v, v_end;

	if (colon == NULL || colon == l) {
		detect_give_up(s, "FHIR: malformed header line");
		return;
	}
	name_n = (size_t)(colon - l);
	for (size_t h = 0; h < sizeof(fhir_headers) / sizeof(fhir_headers[0]); h++) {
		if (!fhir_header_is(l, name_n, fhir_headers[h].name))
			continue;
		if (s->u.fhir.line_overflow && fhir_headers[h].kind != HEADER_LOCATION) {
			detect_give_up(s, "FHIR: framing header too long");
			return;
		}
		v = name_n + 1;
		while (v < n && (l[v] == ' ' || l[v] == '\t'))
			v++;
		v_end = n;
		while (v_end > v && (l[v_end - 1] == ' ' || l[v_end - 1] == '\t'))
			v_end--;
		fhir_header_value(s, fhir_headers[h].kind, l + v, v_end - v);
		return;
	}
}

/* The empty line after the headers: how the body is framed. */
static void fhir_headers_end(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_fhir_state *f = &s->u.fhir;

	if (f->is_response && f->status == 101) {
		detect_give_up(s, "FHIR: protocol switched (101)");
		return;
	}
	if (f->is_response && f->status >= 100 && f->status < 200) {
		fhir_message_reset(f);   /* interim response: no message */
		return;
	}
	if (f->body_kind == BODY_CHUNKED) {
		f->phase = PHASE_CHUNK_SIZE;
	} else if (f->seen_length && f->body_kind == BODY_NONE) {
		f->body_kind = BODY_LENGTH;
		f->body_left = f->content_length;
		f->phase = PHASE_BODY;
		if (f->body_left == 0)
			fhir_message_done(s, sink);
	} else if (!f->is_response || f->status == 204 || f->status == 304) {
		fhir_message_done(s, sink);
	} else {
		f->body_kind = BODY_TO_END;
		f->phase = PHASE_BODY_TO_END;
	}
}

static void fhir_chunk_size_line(struct detect_stream *s, const char *l,
				 size_t n)
{
	struct detect_fhir_state *f = &s->u.fhir;
	uint64_t size = 0;
	size_t i = 0;

	while (i < n && detect_hex_digit((unsigned char)l[i]) >= 0) {
		if (i >= 15) {
			detect_give_up(s, "FHIR: chunk size too large");
			return;
		}
		size = size * 16 + (uint64_t)detect_hex_digit((unsigned char)l[i]);
		i++;
	}
	if (i == 0 || f->line_overflow ||
	    (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t')) {
		detect_give_up(s, "FHIR: bad chunk size line");
		return;
	}
	f->body_left = size;
	f->phase = size ? PHASE_CHUNK_DATA : PHASE_TRAILER;
	f->header_bytes = 0;
}

static void fhir_body_byte(struct detect_fhir_state *f, uint8_t c)
{
	if (f->json.stopped)
		return;
	if (++f->body_scanned > DETECT_FHIR_BODY_SCAN_MAX) {
		detect_fhir_json_stop(f);
		return;
	}
	detect_fhir_json_byte(f, c);
}

/* A complete line (without CR LF) in a line phase. */
static void fhir_line(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_fhir_state *f = &s->u.fhir;
	size_t n = f->line_length < sizeof(f->line) ? f->line_length : sizeof(f->line);

	if (n > 0 && f->line[n - 1] == '\r' && !f->line_overflow)
		n--;
	switch (f->phase) {
	case PHASE_START:
		fhir_start_line(s, f->line, n);
		break;
	case PHASE_HEADER:
		if (n == 0)
			fhir_headers_end(s, sink);
		else
			fhir_header_line(s, f->line, n);
		break;
	case PHASE_CHUNK_SIZE:
		fhir_chunk_size_line(s, f->line, n);
		break;
	case PHASE_TRAILER:
		if (n == 0)
			fhir_message_done(s, sink);
		break;
	default:
		break;
	}
	f->line_length = 0;
	f->line_overflow = 0;
}

/* Bytes of a line phase: start line, headers, chunk sizes, trailers. */
static void fhir_line_byte(struct detect_stream *s, struct detect_sink *sink,
			   uint8_t c)
{
	struct detect_fhir_state *f = &s->u.fhir;

	if (f->phase == PHASE_START && f->line_length == 0 &&
	    (c == '\r' || c == '\n'))
		return;           /* blank lines between messages */
	if (f->phase == PHASE_START && c != '\r' && c != '\n' &&
	    c != '\t' && (c < 0x20 || c == 0x7f)) {
		detect_give_up(s, "FHIR: control byte in a start line");
		return;
	}
	f->message_bytes++;
	if (++f->header_bytes > DETECT_FHIR_HEADER_MAX) {
		detect_give_up(s, f->phase == PHASE_TRAILER || f->phase == PHASE_CHUNK_SIZE ?
		    "FHIR: chunk line or trailer too long" :
		    "FHIR: header block too long");
		return;
	}
	if (c == '\n') {
		fhir_line(s, sink);
		return;
	}
	if (f->line_length < sizeof(f->line))
		f->line[f->line_length++] = (char)c;
	else
		f->line_overflow = 1;
}

void detect_fhir_feed(struct detect_stream *s, const uint8_t *data, size_t len,
		      struct detect_sink *sink)
{
	struct detect_fhir_state *f = &s->u.fhir;
	size_t i = 0;

	while (i < len && s->gave_up == NULL) {
		uint8_t c = data[i];

		switch (f->phase) {
		case PHASE_BODY:
		case PHASE_CHUNK_DATA:
			if (f->json.stopped) {   /* count without looking */
				size_t n = len - i < f->body_left ? len - i :
				    (size_t)f->body_left;

				f->message_bytes += n;
				f->body_left -= n;
				i += n;
			} else {
				f->message_bytes++;
				fhir_body_byte(f, c);
				f->body_left--;
				i++;
			}
			if (f->body_left == 0) {
				if (f->phase == PHASE_BODY)
					fhir_message_done(s, sink);
				else
					f->phase = PHASE_CHUNK_CRLF;
			}
			continue;
		case PHASE_BODY_TO_END:
			if (f->json.stopped) {
				f->message_bytes += len - i;
				i = len;
				continue;
			}
			f->message_bytes++;
			fhir_body_byte(f, c);
			i++;
			continue;
		case PHASE_CHUNK_CRLF:
			f->message_bytes++;
			i++;
			if (c == '\n')
				f->phase = PHASE_CHUNK_SIZE;
			else if (c != '\r')
				detect_give_up(s, "FHIR: chunk data not followed by CRLF");
			continue;
		default:
			fhir_line_byte(s, sink, c);
			i++;
			continue;
		}
	}
}

void detect_fhir_end(struct detect_stream *s, struct detect_sink *sink)
{
	struct detect_fhir_state *f = &s->u.fhir;

	if (f->phase == PHASE_BODY_TO_END)
		fhir_message_done(s, sink);
}

