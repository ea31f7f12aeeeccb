/*
 * record_schema.h - the record schema as the encoder (record_encode.c) and
 * the decoder (record_decode.c) both read it: one row per key, in encoding
 * order, with the struct record member it comes from. Private to
 * common/format: nothing else includes it.
 */
#ifndef PHITRAIL_RECORD_SCHEMA_H
#define PHITRAIL_RECORD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"

enum field_kind {
	FIELD_STR,          /* const char *, omitted when NULL */
	FIELD_STR_OR_NIL,   /* const char *, nil when NULL, always present */
	FIELD_EVENT,        /* enum event_type as its name */
	FIELD_INT,          /* int64_t, omitted when RECORD_ABSENT */
	FIELD_TIMESTAMP,    /* int64_t seconds + uint32_t ns; omitted when ABSENT */
	FIELD_DETAIL,       /* the detail map, omitted when empty */
};

struct record_field {
	const char *key;
	unsigned char key_len;  /* strlen(key) */
	enum field_kind kind;
	size_t offset;          /* of the value (seconds for timestamps) */
	size_t nsec_offset;     /* timestamps only */
	bool required;          /* a decoded record must have it */
};

#define RECORD_FIELD_COUNT 22

/* The schema, in encoding order (record_schema.c). */
extern const struct record_field record_fields[RECORD_FIELD_COUNT];

/*
 * The fields of struct record_prefix (record.h): record_fields[5] ("v")
 * up to, not including, record_fields[13] ("target").
 */
enum {
	RECORD_PREFIX_FIRST = 5,
	RECORD_PREFIX_END = 13,
};

#define FIELD_PTR(r, f, type) ((type *)((char *)(r) + (f)->offset))
#define FIELD_CPTR(r, f, type) ((type const *)((const char *)(r) + (f)->offset))

#endif
