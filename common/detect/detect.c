/*
 * detect.c - the table of content detectors and what they share.
 *
 * Owns the protocol table ({name, protocol, init, feed, end}), the stream
 * entry points of detect.h that dispatch through it, the give-up rule (once
 * given up, a stream is never looked at again), the sink that hands complete
 * messages to the caller, and the helpers that put message types and patient
 * ids into a struct detect_message under detect.h's rules.
 *
 * Must never allocate, make a system call, keep changing globals, recurse or
 * modify the bytes it is fed: it runs inside every audited host program.
 */
#include <errno.h>
#include <string.h>

#include "detect.h"
#include "detect_impl.h"

struct detect_entry {
	const char *name;
	enum detect_protocol protocol;
	void (*init)(struct detect_stream *s);
	void (*feed)(struct detect_stream *s, const uint8_t *data, size_t len,
		     struct detect_sink *sink);
	void (*end)(struct detect_stream *s, struct detect_sink *sink);
};

static const struct detect_entry detect_table[] = {
	{ "hl7", DETECT_HL7, detect_hl7_init, detect_hl7_feed, detect_hl7_end },
	{ "fhir", DETECT_FHIR, detect_fhir_init, detect_fhir_feed,
	  detect_fhir_end },
	{ "dicom", DETECT_DICOM, detect_dicom_init, detect_dicom_feed,
	  detect_dicom_end },
};

#define DETECT_TABLE_SIZE (sizeof(detect_table) / sizeof(detect_table[0]))

static const struct detect_entry *detect_entry_of(enum detect_protocol p)
{
	for (size_t i = 0; i < DETECT_TABLE_SIZE; i++)
		if (detect_table[i].protocol == p)
			return &detect_table[i];
	return NULL;
}

enum detect_protocol detect_protocol_from_name(const char *name)
{
	if (name == NULL)
		return DETECT_NONE;
	for (size_t i = 0; i < DETECT_TABLE_SIZE; i++)
		if (strcmp(detect_table[i].name, name) == 0)
			return detect_table[i].protocol;
	return DETECT_NONE;
}

const char *detect_protocol_name(enum detect_protocol protocol)
{
	const struct detect_entry *e = detect_entry_of(protocol);

	return e ? e->name : NULL;
}

void detect_stream_init(struct detect_stream *s, enum detect_protocol protocol)
{
	const struct detect_entry *e = detect_entry_of(protocol);

	memset(s, 0, sizeof(*s));
	s->protocol = e ? protocol : DETECT_NONE;
	if (e)
		e->init(s);
}

size_t detect_stream_feed(struct detect_stream *s, const void *data,
			  size_t len, struct detect_message *out, size_t max)
{
	const struct detect_entry *e = detect_entry_of(s->protocol);
	struct detect_sink sink = { out, out ? max : 0, 0 };

	if (e == NULL || s->gave_up != NULL || s->ended || data == NULL ||
	    len == 0)
		return 0;
	s->bytes_fed += len;
	e->feed(s, data, len, &sink);
	return sink.count;
}

size_t detect_stream_end(struct detect_stream *s, struct detect_message *out,
			 size_t max)
{
	const struct detect_entry *e = detect_entry_of(s->protocol);
	struct detect_sink sink = { out, out ? max : 0, 0 };

	if (e == NULL || s->gave_up != NULL || s->ended)
		return 0;
	e->end(s, &sink);
	s->ended = 1;
	return sink.count;
}

const char *detect_stream_gave_up(const struct detect_stream *s)
{
	return s->gave_up;
}

void detect_give_up(struct detect_stream *s, const char *why)
{
	if (s->gave_up == NULL)
		s->gave_up = why;
}

void detect_emit(struct detect_stream *s, struct detect_sink *sink,
		 const struct detect_message *m)
{
	s->messages++;
	if (sink->count < sink->max)
		sink->out[sink->count++] = *m;
	else
		s->messages_dropped++;
}

void detect_message_clear(struct detect_message *m)
{
	memset(m, 0, sizeof(*m));
}

void detect_type_append(struct detect_message *m, const char *text,
			size_t len)
{
	size_t have = strnlen(m->message_type, sizeof(m->message_type));

	for (size_t i = 0; i < len && have + 1 < sizeof(m->message_type); i++) {
		unsigned char c = (unsigned char)text[i];

		m->message_type[have++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	m->message_type[have] = '\0';
}

static int detect_id_byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != ',';
}

/* 1 when entry (len bytes) is one of the ','-separated items of list. */
static int detect_list_has(const char *list, const char *entry, size_t len)
{
	const char *p = list;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t item = comma ? (size_t)(comma - p) : strlen(p);

		if (item == len && memcmp(p, entry, len) == 0)
			return 1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

int detect_add_id(struct detect_message *m, const char *id, size_t id_len,
		  const char *qualifier, size_t qualifier_len)
{
	char entry[DETECT_IDENTIFIERS_MAX];
	size_t n = 0, have;

	if (id_len == 0)
		return -EINVAL;
	for (size_t i = 0; i < id_len; i++)
		if (!detect_id_byte_ok((unsigned char)id[i]))
			return -EINVAL;
	if (id_len >= sizeof(m->patient)) {
		m->flags |= DETECT_FLAG_TRUNCATED;
		return -ENOSPC;
	}
	if (qualifier == NULL)
		qualifier_len = 0;
	for (size_t i = 0; i < qualifier_len; i++)
		if (!detect_id_byte_ok((unsigned char)qualifier[i]))
			qualifier_len = 0;   /* drop a bad qualifier, keep the id */
	if (m->patient[0] == '\0') {
		memcpy(m->patient, id, id_len);
		m->patient[id_len] = '\0';
	}
	if (id_len + qualifier_len + 3 >= sizeof(entry)) {
		qualifier_len = 0;
		m->flags |= DETECT_FLAG_TRUNCATED;
	}
	memcpy(entry, id, id_len);
	n = id_len;
	if (qualifier_len) {
		entry[n++] = ' ';
		entry[n++] = '(';
		memcpy(entry + n, qualifier, qualifier_len);
		n += qualifier_len;
		entry[n++] = ')';
	}
	if (detect_list_has(m->identifiers, entry, n))
		return 0;
	have = strnlen(m->identifiers, sizeof(m->identifiers));
	if (have + (have ? 1 : 0) + n >= sizeof(m->identifiers)) {
		m->flags |= DETECT_FLAG_TRUNCATED;
		return -ENOSPC;
	}
	if (have)
		m->identifiers[have++] = ',';
	memcpy(m->identifiers + have, entry, n);
	m->identifiers[have + n] = '\0';
	return 0;
}
