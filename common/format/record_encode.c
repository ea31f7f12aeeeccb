/*
 * record_encode.c - encoding a struct record (record.h) as msgpack into the
 * caller's fixed buffer: record_encode walks the schema table
 * (record_schema.h); record_encode_prefix packs the fields that stay the
 * same for a whole process once; record_encode_with_prefix is the shim's
 * per-call path, written out field by field.
 *
 * Never allocates (the shim encodes on its stack inside a host program),
 * never keeps state; an invalid record is refused with -EINVAL, a buffer
 * too small with -ENOSPC.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "record.h"
#include "record_schema.h"

/*
 * The record encoder's packer: msgpack-c's own pack template instantiated a
 * second time, as static functions named fbpack_* whose write step is a
 * codec_buffer_append (codec.h), inlined, instead of a call through
 * msgpack_packer's function pointer for every few bytes. The template is the
 * one behind msgpack_pack_*, so the bytes are the same.
 */
#define msgpack_pack_inline_func(name) static inline int fbpack ## name
#define msgpack_pack_user struct codec_buffer *
#define msgpack_pack_append_buffer(user, buf, len) \
	return codec_buffer_append((user), (buf), (len))
#define msgpack_pack_ext fbpack_ext       /* the timestamp packer calls it */
#include <msgpack/pack_template.h>
#undef msgpack_pack_ext

/*
 * Whether field f of r is encoded at all; -EINVAL for an invalid value.
 * For a string field that is encoded, *len receives its length, so each
 * string is measured once.
 */
static int field_present(const struct record *r, const struct record_field *f,
			 size_t *len)
{
	switch (f->kind) {
	case FIELD_STR: {
		const char *s = *FIELD_CPTR(r, f, const char *);

		if (s == NULL)
			return f->required ? -EINVAL : 0;
		*len = strnlen(s, RECORD_MAX_STRING + 1);
		return *len > RECORD_MAX_STRING ? -EINVAL : 1;
	}
	case FIELD_STR_OR_NIL: {
		const char *s = *FIELD_CPTR(r, f, const char *);

		if (s != NULL) {
			*len = strnlen(s, RECORD_MAX_STRING + 1);
			if (*len > RECORD_MAX_STRING)
				return -EINVAL;
		}
		return 1;
	}
	case FIELD_EVENT: {
		const char *name = event_type_name(r->event_type);

		if (name == NULL)
			return -EINVAL;
		*len = strlen(name);
		return 1;
	}
	case FIELD_INT:
		if (*FIELD_CPTR(r, f, int64_t) == RECORD_ABSENT)
			return f->required ? -EINVAL : 0;
		return 1;
	case FIELD_TIMESTAMP:
		if (*FIELD_CPTR(r, f, int64_t) == RECORD_ABSENT)
			return f->required ? -EINVAL : 0;
		if (*(const uint32_t *)((const char *)r + f->nsec_offset) >= 1000000000u)
			return -EINVAL;
		return 1;
	case FIELD_DETAIL: {
		size_t i;

		if (r->detail_count == 0)
			return 0;
		if (r->detail_count > RECORD_MAX_DETAIL)
			return -EINVAL;
		for (i = 0; i < r->detail_count; i++) {
			const struct record_detail *d = &r->detail[i];

			if (d->key == NULL ||
			    strnlen(d->key, RECORD_MAX_STRING + 1) > RECORD_MAX_STRING)
				return -EINVAL;
			if (d->str != NULL &&
			    strnlen(d->str, RECORD_MAX_STRING + 1) > RECORD_MAX_STRING)
				return -EINVAL;
		}
		return 1;
	}
	}
	return -EINVAL;
}

static void fbpack_string(struct codec_buffer *fb, const char *s, size_t len)
{
	fbpack_str(fb, len);
	fbpack_str_body(fb, s, len);
}

/* The detail map of r (its keys and strings checked by the caller). */
static inline __attribute__((always_inline)) void
detail_pack(struct codec_buffer *fb, const struct record *r)
{
	size_t i;

	fbpack_map(fb, r->detail_count);
	for (i = 0; i < r->detail_count; i++) {
		const struct record_detail *d = &r->detail[i];

		fbpack_string(fb, d->key, strlen(d->key));
		if (d->str != NULL)
			fbpack_string(fb, d->str, strlen(d->str));
		else
			fbpack_int64(fb, d->num);
	}
}

/* Packs the key and value of field f of r; len is field_present's. */
static void field_pack(struct codec_buffer *fb, const struct record *r,
		       const struct record_field *f, size_t len)
{
	fbpack_string(fb, f->key, f->key_len);
	switch (f->kind) {
	case FIELD_STR:
		fbpack_string(fb, *FIELD_CPTR(r, f, const char *), len);
		break;
	case FIELD_STR_OR_NIL: {
		const char *s = *FIELD_CPTR(r, f, const char *);

		if (s == NULL)
			fbpack_nil(fb);
		else
			fbpack_string(fb, s, len);
		break;
	}
	case FIELD_EVENT:
		fbpack_string(fb, event_type_name(r->event_type), len);
		break;
	case FIELD_INT:
		fbpack_int64(fb, *FIELD_CPTR(r, f, int64_t));
		break;
	case FIELD_TIMESTAMP: {
		msgpack_timestamp ts;

		ts.tv_sec = *FIELD_CPTR(r, f, int64_t);
		ts.tv_nsec = *(const uint32_t *)((const char *)r + f->nsec_offset);
		fbpack_timestamp(fb, &ts);
		break;
	}
	case FIELD_DETAIL:
		detail_pack(fb, r);
		break;
	}
}

/*
 * Packs the fields [first, end) of r that are present, measuring them all
 * before writing anything. When prefix is not NULL its bytes stand for the
 * fields [RECORD_PREFIX_FIRST, RECORD_PREFIX_END), which must lie inside
 * [first, end), and its count is added to the map header. With map_header
 * false only the fields are written (a prefix's own bytes).
 */
static long fields_encode(const struct record *r, size_t first, size_t end,
			  const struct record_prefix *prefix, bool map_header,
			  void *buf, size_t cap, size_t *count_out)
{
	struct codec_buffer fb = { buf, cap, 0, false };
	size_t lens[RECORD_FIELD_COUNT];
	signed char present[RECORD_FIELD_COUNT];
	size_t i, count = 0;
	int rc;

	for (i = first; i < end; i++) {
		if (prefix != NULL && i >= RECORD_PREFIX_FIRST && i < RECORD_PREFIX_END)
			continue;
		lens[i] = 0;
		rc = field_present(r, &record_fields[i], &lens[i]);
		if (rc < 0)
			return rc;
		present[i] = (signed char)rc;
		count += (size_t)rc;
	}
	if (prefix != NULL)
		count += prefix->count;
	if (map_header)
		fbpack_map(&fb, count);
	for (i = first; i < end && !fb.overflow; i++) {
		if (prefix != NULL && i == RECORD_PREFIX_FIRST) {
			codec_buffer_append(&fb, prefix->bytes, prefix->len);
			i = RECORD_PREFIX_END - 1;
			continue;
		}
		if (present[i])
			field_pack(&fb, r, &record_fields[i], lens[i]);
	}
	if (count_out != NULL)
		*count_out = count;
	return codec_buffer_result(&fb);
}

long record_encode(const struct record *r, void *buf, size_t cap)
{
	return fields_encode(r, 0, RECORD_FIELD_COUNT, NULL, true, buf, cap, NULL);
}

long record_encode_prefix(const struct record *r, struct record_prefix *prefix)
{
	size_t count = 0;
	long len;

	prefix->count = 0;
	prefix->len = 0;
	len = fields_encode(r, RECORD_PREFIX_FIRST, RECORD_PREFIX_END, NULL, false,
			    prefix->bytes, sizeof(prefix->bytes), &count);
	if (len < 0)
		return len;
	prefix->count = (uint32_t)count;
	prefix->len = (uint32_t)len;
	return len;
}

/*
 * The per-record path of record_encode_with_prefix, written out field by
 * field in schema order instead of walking record_fields: each key is a
 * constant (its msgpack bytes known at compile time), each string measured
 * once. It takes the records the shim makes (the collector's fields id,
 * received_at and identity absent) and only valid ones: for anything else
 * it returns 1 and the caller uses fields_encode, so errors and unusual
 * records keep one code path. The bytes are fields_encode's (tested).
 */
#define PUT_KEY(fb, name) put_key((fb), (name), sizeof(name) - 1)

/* Inlined with a constant name, the copy is a few stores. */
static inline __attribute__((always_inline)) void
put_key(struct codec_buffer *fb, const char *name, size_t len)
{
	if (fb->overflow || len + 1 > fb->cap - fb->len) {
		fb->overflow = true;
		return;
	}
	fb->data[fb->len] = (char)(0xa0 | len);   /* fixstr: len < 32 */
	memcpy(fb->data + fb->len + 1, name, len);
	fb->len += len + 1;
}

/* strnlen bounded like field_present; SIZE_MAX when too long. */
static inline size_t string_length(const char *s)
{
	size_t n = strnlen(s, RECORD_MAX_STRING + 1);

	return n > RECORD_MAX_STRING ? SIZE_MAX : n;
}

/* The lengths record_encode_direct packs, each measured once. */
struct direct_lengths {
	size_t workspace, actor, user, event, optional[4];
	size_t count;            /* of the map's keys */
};

/*
 * Checks that r is a record the direct path takes and measures its
 * strings into n: 0, or 1 for anything else (record_encode_direct).
 */
static inline __attribute__((always_inline)) int
direct_measure(const struct record *r, const char *event,
	       const char *const optional[4], const struct record_prefix *prefix,
	       struct direct_lengths *n)
{
	size_t i;

	if (r->workspace_id == NULL || r->actor_user_id == NULL ||
	    event == NULL || r->timestamp_sec == RECORD_ABSENT ||
	    r->timestamp_nsec >= 1000000000u || r->id != RECORD_ABSENT ||
	    r->received_sec != RECORD_ABSENT || r->identity != NULL ||
	    r->detail_count > RECORD_MAX_DETAIL)
		return 1;
	n->workspace = string_length(r->workspace_id);
	n->actor = string_length(r->actor_user_id);
	n->user = 0;
	if (r->end_user_id != NULL)
		n->user = string_length(r->end_user_id);
	if ((n->workspace | n->actor | n->user) == SIZE_MAX)
		return 1;
	n->event = strlen(event);
	n->count = 5 + prefix->count + (r->seq != RECORD_ABSENT) +
		(r->detail_count > 0);
	for (i = 0; i < 4; i++) {
		n->optional[i] = 0;
		if (optional[i] == NULL)
			continue;
		n->optional[i] = string_length(optional[i]);
		if (n->optional[i] == SIZE_MAX)
			return 1;
		n->count++;
	}
	for (i = 0; i < r->detail_count; i++) {
		const struct record_detail *d = &r->detail[i];

		if (d->key == NULL || string_length(d->key) == SIZE_MAX ||
		    (d->str != NULL && string_length(d->str) == SIZE_MAX))
			return 1;
	}
	return 0;
}

static long record_encode_direct(const struct record *r,
				 const struct record_prefix *prefix,
				 void *buf, size_t cap)
{
	struct codec_buffer fb = { buf, cap, 0, false };
	const char *event = event_type_name(r->event_type);
	const char *optional[4] = { r->target, r->target2, r->rule, r->result };
	struct direct_lengths n;
	msgpack_timestamp ts;

	if (direct_measure(r, event, optional, prefix, &n) != 0)
		return 1;
	fbpack_map(&fb, n.count);
	PUT_KEY(&fb, "workspace_id");
	fbpack_string(&fb, r->workspace_id, n.workspace);
	PUT_KEY(&fb, "actor_user_id");
	fbpack_string(&fb, r->actor_user_id, n.actor);
	PUT_KEY(&fb, "event_type");
	fbpack_string(&fb, event, n.event);
	PUT_KEY(&fb, "end_user_id");
	if (r->end_user_id == NULL)
		fbpack_nil(&fb);
	else
		fbpack_string(&fb, r->end_user_id, n.user);
	PUT_KEY(&fb, "timestamp");
	ts.tv_sec = r->timestamp_sec;
	ts.tv_nsec = r->timestamp_nsec;
	fbpack_timestamp(&fb, &ts);
	codec_buffer_append(&fb, prefix->bytes, prefix->len);
	if (optional[0] != NULL) {
		PUT_KEY(&fb, "target");
		fbpack_string(&fb, optional[0], n.optional[0]);
	}
	if (optional[1] != NULL) {
		PUT_KEY(&fb, "target2");
		fbpack_string(&fb, optional[1], n.optional[1]);
	}
	if (optional[2] != NULL) {
		PUT_KEY(&fb, "rule");
		fbpack_string(&fb, optional[2], n.optional[2]);
	}
	if (optional[3] != NULL) {
		PUT_KEY(&fb, "result");
		fbpack_string(&fb, optional[3], n.optional[3]);
	}
	if (r->seq != RECORD_ABSENT) {
		PUT_KEY(&fb, "seq");
		fbpack_int64(&fb, r->seq);
	}
	if (r->detail_count > 0) {
		PUT_KEY(&fb, "detail");
		detail_pack(&fb, r);
	}
	return codec_buffer_result(&fb);
}

long record_encode_with_prefix(const struct record *r,
			       const struct record_prefix *prefix, void *buf,
			       size_t cap)
{
	long len;

	if (prefix->len > sizeof(prefix->bytes) ||
	    prefix->count > RECORD_PREFIX_END - RECORD_PREFIX_FIRST ||
	    prefix->count == 0)
		return -EINVAL;     /* never made by record_encode_prefix */
	len = record_encode_direct(r, prefix, buf, cap);
	if (len != 1)
		return len;         /* a record is never 1 byte long */
	return fields_encode(r, 0, RECORD_FIELD_COUNT, prefix, true, buf, cap,
			     NULL);
}

