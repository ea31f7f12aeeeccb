/*
 * codec.c - the msgpack codec: audit records (record.h) and the query
 * protocol's request, end and error frames (query.h). Besides it, only
 * status_codec.c includes <msgpack.h>, and it unpacks through
 * codec_unpack_checked (codec.h), so the pre-scan below guards it too.
 *
 * Encoding packs into the caller's fixed buffer through a bounded write
 * callback and never allocates, so the shim can encode on its stack inside a
 * host program. Decoding is for untrusted bytes: the input size is bounded,
 * a raw pre-scan proves that every declared length and element count fits in
 * the bytes that are there (so msgpack-c never allocates for elements that
 * do not exist), and then every key, type and size is checked against the
 * schema tables below. Unknown keys, duplicate keys, missing required keys,
 * trailing bytes and truncated input are all rejected with a static reason.
 *
 * Must never keep state, print, or trust a length it has not checked.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "query.h"
#include "record.h"

/* ---- event vocabulary ---- */

static const char *const event_names[EVENT_COUNT] = {
	[EVENT_NONE] = NULL,
	[EVENT_FILE_VIEWED] = "PHI File Viewed",
	[EVENT_FILE_MODIFIED] = "PHI File Modified",
	[EVENT_FILE_CREATED] = "PHI File Created",
	[EVENT_FILE_DELETED] = "PHI File Deleted",
	[EVENT_FILE_RENAMED] = "PHI File Renamed",
	[EVENT_FILE_PERMISSIONS_CHANGED] = "PHI File Permissions Changed",
	[EVENT_FILE_ACCESS_DENIED] = "PHI File Access Denied",
	[EVENT_DIRECTORY_LISTED] = "PHI Directory Listed",
	[EVENT_CONNECTION_OPENED] = "PHI Connection Opened",
	[EVENT_CONNECTION_ACCEPTED] = "PHI Connection Accepted",
	[EVENT_MESSAGE_SENT] = "PHI Message Sent",
	[EVENT_MESSAGE_RECEIVED] = "PHI Message Received",
	[EVENT_RECORDS_LOST] = "Audit Records Lost",
	[EVENT_SPOOL_TAMPERED] = "Audit Spool Tampered",
	[EVENT_COLLECTOR_STARTED] = "Audit Collector Started",
	[EVENT_COLLECTOR_STOPPED] = "Audit Collector Stopped",
	[EVENT_TRAIL_QUERIED] = "Audit Trail Queried",
	[EVENT_FORWARDING_STALLED] = "Audit Forwarding Stalled",
};

const char *event_type_name(enum event_type type)
{
	if ((int)type <= EVENT_NONE || (int)type >= EVENT_COUNT)
		return NULL;
	return event_names[type];
}

enum event_type event_type_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return EVENT_NONE;
	for (i = EVENT_NONE + 1; i < EVENT_COUNT; i++)
		if (strcmp(event_names[i], name) == 0)
			return (enum event_type)i;
	return EVENT_NONE;
}

/* ---- packing into a fixed buffer ---- */

struct fixed_buffer {
	char *data;
	size_t cap, len;
	bool overflow;
};

static int fixed_buffer_write(void *data, const char *bytes, size_t len)
{
	struct fixed_buffer *fb = data;

	if (fb->overflow || len > fb->cap - fb->len) {
		fb->overflow = true;
		return -1;
	}
	memcpy(fb->data + fb->len, bytes, len);
	fb->len += len;
	return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_key(msgpack_packer *pk, const char *key)
{
	pack_cstr(pk, key);
}

static long fixed_buffer_result(const struct fixed_buffer *fb)
{
	if (fb->overflow)
		return -ENOSPC;
	return (long)fb->len;
}

/*
 * The record encoder's packer: msgpack-c's own pack template instantiated a
 * second time, as static functions named fbpack_* whose write step is a
 * bounded memcpy into a fixed_buffer, inlined, instead of a call through
 * msgpack_packer's function pointer for every few bytes. The template is the
 * one behind msgpack_pack_*, so the bytes are the same.
 */
static inline int fixed_buffer_append(struct fixed_buffer *fb,
				      const void *bytes, size_t len)
{
	if (len > fb->cap - fb->len) {
		fb->overflow = true;
		return -1;
	}
	memcpy(fb->data + fb->len, bytes, len);
	fb->len += len;
	return 0;
}

#define msgpack_pack_inline_func(name) static inline int fbpack ## name
#define msgpack_pack_user struct fixed_buffer *
#define msgpack_pack_append_buffer(user, buf, len) \
	return fixed_buffer_append((user), (buf), (len))
#define msgpack_pack_ext fbpack_ext       /* the timestamp packer calls it */
#include <msgpack/pack_template.h>
#undef msgpack_pack_ext

/* ---- the record schema, in encoding order ---- */

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

#define FIELD(name, kind, member, nsec, req) \
	{ name, sizeof(name) - 1, kind, offsetof(struct record, member), nsec, req }
#define STR_FIELD(name, req) FIELD(#name, FIELD_STR, name, 0, req)
#define INT_FIELD(name, req) FIELD(#name, FIELD_INT, name, 0, req)

static const struct record_field record_fields[] = {
	STR_FIELD(workspace_id, true),
	STR_FIELD(actor_user_id, true),
	FIELD("event_type", FIELD_EVENT, event_type, 0, true),
	FIELD("end_user_id", FIELD_STR_OR_NIL, end_user_id, 0, true),
	FIELD("timestamp", FIELD_TIMESTAMP, timestamp_sec,
	      offsetof(struct record, timestamp_nsec), true),
	INT_FIELD(v, true),                 /* RECORD_PREFIX_FIRST */
	STR_FIELD(host, false),
	INT_FIELD(pid, false),
	INT_FIELD(ppid, false),
	STR_FIELD(exe, false),
	INT_FIELD(uid, false),
	INT_FIELD(auid, false),
	INT_FIELD(session, false),
	STR_FIELD(target, false),           /* RECORD_PREFIX_END */
	STR_FIELD(target2, false),
	STR_FIELD(rule, false),
	STR_FIELD(result, false),
	INT_FIELD(seq, false),
	FIELD("detail", FIELD_DETAIL, detail, 0, false),
	INT_FIELD(id, false),
	FIELD("received_at", FIELD_TIMESTAMP, received_sec,
	      offsetof(struct record, received_nsec), false),
	STR_FIELD(identity, false),
};

#define RECORD_FIELD_COUNT (sizeof(record_fields) / sizeof(record_fields[0]))

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

void record_init(struct record *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < RECORD_FIELD_COUNT; i++) {
		const struct record_field *f = &record_fields[i];

		if (f->kind == FIELD_INT || f->kind == FIELD_TIMESTAMP)
			*FIELD_PTR(r, f, int64_t) = RECORD_ABSENT;
	}
	r->event_type = EVENT_NONE;
	r->v = RECORD_SCHEMA_VERSION;
	/* The call's time is always encoded; the collector's only when set. */
	r->timestamp_sec = 0;
}

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

static void fbpack_string(struct fixed_buffer *fb, const char *s, size_t len)
{
	fbpack_str(fb, len);
	fbpack_str_body(fb, s, len);
}

/* Packs the key and value of field f of r; len is field_present's. */
static void field_pack(struct fixed_buffer *fb, const struct record *r,
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
	case FIELD_DETAIL: {
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
		break;
	}
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
	struct fixed_buffer fb = { buf, cap, 0, false };
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
			fixed_buffer_append(&fb, prefix->bytes, prefix->len);
			i = RECORD_PREFIX_END - 1;
			continue;
		}
		if (present[i])
			field_pack(&fb, r, &record_fields[i], lens[i]);
	}
	if (count_out != NULL)
		*count_out = count;
	return fixed_buffer_result(&fb);
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
put_key(struct fixed_buffer *fb, const char *name, size_t len)
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

static long record_encode_direct(const struct record *r,
				 const struct record_prefix *prefix,
				 void *buf, size_t cap)
{
	struct fixed_buffer fb = { buf, cap, 0, false };
	const char *event = event_type_name(r->event_type);
	const char *optional[4] = { r->target, r->target2, r->rule, r->result };
	size_t ws_len, actor_len, user_len = 0, event_len, lens[4];
	size_t i, count;

	if (r->workspace_id == NULL || r->actor_user_id == NULL ||
	    event == NULL || r->timestamp_sec == RECORD_ABSENT ||
	    r->timestamp_nsec >= 1000000000u || r->id != RECORD_ABSENT ||
	    r->received_sec != RECORD_ABSENT || r->identity != NULL ||
	    r->detail_count > RECORD_MAX_DETAIL)
		return 1;
	ws_len = string_length(r->workspace_id);
	actor_len = string_length(r->actor_user_id);
	if (r->end_user_id != NULL)
		user_len = string_length(r->end_user_id);
	if ((ws_len | actor_len | user_len) == SIZE_MAX)
		return 1;
	event_len = strlen(event);
	count = 5 + prefix->count + (r->seq != RECORD_ABSENT) +
		(r->detail_count > 0);
	for (i = 0; i < 4; i++) {
		lens[i] = 0;
		if (optional[i] == NULL)
			continue;
		lens[i] = string_length(optional[i]);
		if (lens[i] == SIZE_MAX)
			return 1;
		count++;
	}
	for (i = 0; i < r->detail_count; i++) {
		const struct record_detail *d = &r->detail[i];

		if (d->key == NULL || string_length(d->key) == SIZE_MAX ||
		    (d->str != NULL && string_length(d->str) == SIZE_MAX))
			return 1;
	}

	fbpack_map(&fb, count);
	PUT_KEY(&fb, "workspace_id");
	fbpack_string(&fb, r->workspace_id, ws_len);
	PUT_KEY(&fb, "actor_user_id");
	fbpack_string(&fb, r->actor_user_id, actor_len);
	PUT_KEY(&fb, "event_type");
	fbpack_string(&fb, event, event_len);
	PUT_KEY(&fb, "end_user_id");
	if (r->end_user_id == NULL)
		fbpack_nil(&fb);
	else
		fbpack_string(&fb, r->end_user_id, user_len);
	PUT_KEY(&fb, "timestamp");
	{
		msgpack_timestamp ts = {
			.tv_sec = r->timestamp_sec,
			.tv_nsec = r->timestamp_nsec,
		};

		fbpack_timestamp(&fb, &ts);
	}
	fixed_buffer_append(&fb, prefix->bytes, prefix->len);
	if (optional[0] != NULL) {
		PUT_KEY(&fb, "target");
		fbpack_string(&fb, optional[0], lens[0]);
	}
	if (optional[1] != NULL) {
		PUT_KEY(&fb, "target2");
		fbpack_string(&fb, optional[1], lens[1]);
	}
	if (optional[2] != NULL) {
		PUT_KEY(&fb, "rule");
		fbpack_string(&fb, optional[2], lens[2]);
	}
	if (optional[3] != NULL) {
		PUT_KEY(&fb, "result");
		fbpack_string(&fb, optional[3], lens[3]);
	}
	if (r->seq != RECORD_ABSENT) {
		PUT_KEY(&fb, "seq");
		fbpack_int64(&fb, r->seq);
	}
	if (r->detail_count > 0) {
		PUT_KEY(&fb, "detail");
		fbpack_map(&fb, r->detail_count);
		for (i = 0; i < r->detail_count; i++) {
			const struct record_detail *d = &r->detail[i];

			fbpack_string(&fb, d->key, strlen(d->key));
			if (d->str != NULL)
				fbpack_string(&fb, d->str, strlen(d->str));
			else
				fbpack_int64(&fb, d->num);
		}
	}
	return fixed_buffer_result(&fb);
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

/* ---- decoding untrusted bytes ---- */

/*
 * Walks the raw msgpack bytes of one object without building anything,
 * proving that every declared string length fits in what is left and that
 * every container's element count could be backed by at least one byte per
 * element. msgpack-c allocates an array of objects as soon as it reads a
 * container header, so this is what keeps a 10-byte message from asking for
 * gigabytes. Returns 0 when exactly len bytes hold one object, -EBADMSG
 * with *why otherwise.
 */
static int msgpack_prescan(const unsigned char *p, size_t len, const char **why)
{
	uint64_t pending = 1;   /* objects still to read */
	size_t pos = 0;

	while (pending > 0) {
		uint64_t skip = 0, children = 0;
		size_t head;
		unsigned char b;

		if (pos >= len)
			goto truncated;
		b = p[pos];
		pending--;
		head = 1;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b >= 0x80 && b <= 0x8f) {
			children = (uint64_t)2 * (b & 0x0fu);
		} else if (b >= 0x90 && b <= 0x9f) {
			children = b & 0x0fu;
		} else if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1fu;
		} else {
			unsigned width = 0;     /* bytes of the length word */
			uint64_t n = 0;
			unsigned i;

			switch (b) {
			case 0xc1:
				*why = "reserved msgpack byte 0xc1";
				return -EBADMSG;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: case 0xca: skip = 4; break;
			case 0xcf: case 0xd3: case 0xcb: skip = 8; break;
			case 0xd4: skip = 2; break;     /* fixext 1: type + 1 */
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xc4: case 0xd9: case 0xc7: width = 1; break;
			case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: width = 2; break;
			case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: width = 4; break;
			default:
				*why = "unknown msgpack type byte";
				return -EBADMSG;
			}
			if (width > 0) {
				if (len - pos - 1 < width)
					goto truncated;
				for (i = 0; i < width; i++)
					n = n << 8 | p[pos + 1 + i];
				head += width;
				switch (b) {
				case 0xdc: case 0xdd: children = n; break;
				case 0xde: case 0xdf: children = 2 * n; break;
				case 0xc7: case 0xc8: case 0xc9: skip = n + 1; break;
				default: skip = n; break;
				}
			}
		}
		if (len - pos < head || len - pos - head < skip)
			goto truncated;
		pos += head + (size_t)skip;
		pending += children;
		if (pending > len - pos)
			goto truncated;
	}
	if (pos != len) {
		*why = "trailing bytes after the message";
		return -EBADMSG;
	}
	return 0;
truncated:
	*why = "message truncated";
	return -EBADMSG;
}

/* Unpacks exactly len bytes of one msgpack object into u (caller destroys u). */
static int unpack_one(const void *buf, size_t len, msgpack_unpacked *u,
		      const char **why)
{
	size_t off = 0;
	msgpack_unpack_return ret;
	int rc;

	rc = msgpack_prescan(buf, len, why);
	if (rc < 0)
		return rc;
	ret = msgpack_unpack_next(u, buf, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS) {
		*why = ret == MSGPACK_UNPACK_CONTINUE ? "message truncated" :
		    ret == MSGPACK_UNPACK_NOMEM_ERROR ? "message too large to unpack" :
		    "malformed msgpack";
		return -EBADMSG;
	}
	if (off != len) {
		*why = "trailing bytes after the message";
		return -EBADMSG;
	}
	return 0;
}

int codec_unpack_checked(const void *buf, size_t len, msgpack_unpacked *u,
			 const char **why)
{
	return unpack_one(buf, len, u, why);
}

static bool key_equals(const msgpack_object *key, const char *name)
{
	size_t n = strlen(name);

	return key->type == MSGPACK_OBJECT_STR && key->via.str.size == n &&
	    memcmp(key->via.str.ptr, name, n) == 0;
}

/* key_equals for a key already known to be a string, without measuring
 * name past the key's size. */
static bool string_key_is(const msgpack_object *key, const char *name)
{
	size_t n = key->via.str.size;

	return strnlen(name, n + 1) == n && memcmp(key->via.str.ptr, name, n) == 0;
}

/*
 * The schema field named by a string key, or RECORD_FIELD_COUNT. Keys are
 * written in schema order (record_encode), so the field after the previous
 * key's is tried first: one comparison per key for any record phitrail
 * wrote, the whole table for any other order.
 */
static size_t record_field_find(const msgpack_object *key, size_t expected)
{
	size_t k;

	if (expected < RECORD_FIELD_COUNT &&
	    string_key_is(key, record_fields[expected].key))
		return expected;
	for (k = 0; k < RECORD_FIELD_COUNT; k++)
		if (k != expected && string_key_is(key, record_fields[k].key))
			return k;
	return RECORD_FIELD_COUNT;
}

/* A signed integer that is not the absent marker. */
static int object_int64(const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return -EBADMSG;
		*out = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		if (o->via.i64 == INT64_MIN)
			return -EBADMSG;
		*out = o->via.i64;
		return 0;
	}
	return -EBADMSG;
}

struct arena {
	char *data;
	size_t size, used;
};

/* Copies a msgpack string, NUL-terminated, into the arena. */
static int arena_copy(struct arena *a, const msgpack_object *o, size_t max,
		      const char **out, const char **why)
{
	size_t n;

	if (o->type != MSGPACK_OBJECT_STR) {
		*why = "expected a string";
		return -EBADMSG;
	}
	n = o->via.str.size;
	if (n > max) {
		*why = "string too long";
		return -EMSGSIZE;
	}
	if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL) {
		*why = "string holds a NUL byte";
		return -EBADMSG;
	}
	if (a->size - a->used < n + 1) {
		*why = "decode arena too small";
		return -EMSGSIZE;
	}
	if (n > 0)
		memcpy(a->data + a->used, o->via.str.ptr, n);
	a->data[a->used + n] = '\0';
	*out = a->data + a->used;
	a->used += n + 1;
	return 0;
}

static int decode_timestamp(const msgpack_object *o, int64_t *sec,
			    uint32_t *nsec, const char **why)
{
	msgpack_timestamp ts;

	if (!msgpack_object_to_timestamp(o, &ts)) {
		*why = "expected a msgpack timestamp";
		return -EBADMSG;
	}
	if (ts.tv_nsec >= 1000000000u || ts.tv_sec == INT64_MIN) {
		*why = "timestamp out of range";
		return -EBADMSG;
	}
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
	return 0;
}

static int decode_detail(const msgpack_object *o, struct record *r,
			 struct arena *a, const char **why)
{
	uint32_t i, j;
	int rc;

	if (o->type != MSGPACK_OBJECT_MAP) {
		*why = "detail must be a map";
		return -EBADMSG;
	}
	if (o->via.map.size > RECORD_MAX_DETAIL) {
		*why = "detail has more than RECORD_MAX_DETAIL entries";
		return -EMSGSIZE;
	}
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		struct record_detail *d = &r->detail[i];

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			*why = "detail keys must be strings";
			return -EBADMSG;
		}
		for (j = 0; j < i; j++) {
			const msgpack_object *prev = &o->via.map.ptr[j].key;

			if (prev->via.str.size == kv->key.via.str.size &&
			    memcmp(prev->via.str.ptr, kv->key.via.str.ptr,
				   kv->key.via.str.size) == 0) {
				*why = "duplicate detail key";
				return -EBADMSG;
			}
		}
		rc = arena_copy(a, &kv->key, RECORD_MAX_STRING, &d->key, why);
		if (rc < 0)
			return rc;
		d->str = NULL;
		d->num = 0;
		if (kv->val.type == MSGPACK_OBJECT_STR) {
			rc = arena_copy(a, &kv->val, RECORD_MAX_STRING, &d->str, why);
			if (rc < 0)
				return rc;
		} else if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    kv->val.via.u64 <= (uint64_t)INT64_MAX) {
			d->num = (int64_t)kv->val.via.u64;
		} else if (kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			d->num = kv->val.via.i64;
		} else {
			*why = "detail values must be strings or integers";
			return -EBADMSG;
		}
	}
	r->detail_count = o->via.map.size;
	return 0;
}

static int decode_field(const struct record_field *f, const msgpack_object *val,
			struct record *r, struct arena *a, const char **why)
{
	switch (f->kind) {
	case FIELD_STR:
		return arena_copy(a, val, RECORD_MAX_STRING,
				  FIELD_PTR(r, f, const char *), why);
	case FIELD_STR_OR_NIL:
		if (val->type == MSGPACK_OBJECT_NIL) {
			*FIELD_PTR(r, f, const char *) = NULL;
			return 0;
		}
		return arena_copy(a, val, RECORD_MAX_STRING,
				  FIELD_PTR(r, f, const char *), why);
	case FIELD_EVENT: {
		char name[64];
		int i;

		if (val->type != MSGPACK_OBJECT_STR || val->via.str.size >= sizeof(name)) {
			*why = "unknown event_type";
			return -EBADMSG;
		}
		memcpy(name, val->via.str.ptr, val->via.str.size);
		name[val->via.str.size] = '\0';
		i = event_type_from_name(name);
		if (i == EVENT_NONE || strlen(name) != val->via.str.size) {
			*why = "unknown event_type";
			return -EBADMSG;
		}
		r->event_type = (enum event_type)i;
		return 0;
	}
	case FIELD_INT:
		if (object_int64(val, FIELD_PTR(r, f, int64_t)) < 0) {
			*why = "expected an integer";
			return -EBADMSG;
		}
		return 0;
	case FIELD_TIMESTAMP:
		return decode_timestamp(val, FIELD_PTR(r, f, int64_t),
					(uint32_t *)((char *)r + f->nsec_offset), why);
	case FIELD_DETAIL:
		return decode_detail(val, r, a, why);
	}
	*why = "internal: unknown field kind";
	return -EBADMSG;
}

int record_decode(const void *buf, size_t len, struct record *out,
		  char *arena, size_t arena_size, const char **why)
{
	const char *dummy;
	msgpack_unpacked u;
	const msgpack_object *root;
	struct arena a = { arena, arena_size, 0 };
	uint32_t seen = 0, i;
	size_t k, expected = 0;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	record_init(out);
	if (len > RECORD_MAX_BYTES) {
		*why = "record larger than RECORD_MAX_BYTES";
		return -EMSGSIZE;
	}
	if (len == 0) {
		*why = "empty record";
		return -EBADMSG;
	}
	msgpack_unpacked_init(&u);
	rc = unpack_one(buf, len, &u, why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	if (root->type != MSGPACK_OBJECT_MAP) {
		*why = "record is not a map";
		goto out;
	}
	if (root->via.map.size > RECORD_MAX_KEYS) {
		*why = "record has more than RECORD_MAX_KEYS keys";
		goto out;
	}
	for (i = 0; i < root->via.map.size; i++) {
		const msgpack_object_kv *kv = &root->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			*why = "record keys must be strings";
			goto out;
		}
		k = record_field_find(&kv->key, expected);
		expected = k + 1;
		if (k == RECORD_FIELD_COUNT) {
			*why = "unknown key in record";
			goto out;
		}
		if (seen & (1u << k)) {
			*why = "duplicate key in record";
			goto out;
		}
		seen |= 1u << k;
		rc = decode_field(&record_fields[k], &kv->val, out, &a, why);
		if (rc < 0)
			goto out;
		rc = -EBADMSG;
	}
	for (k = 0; k < RECORD_FIELD_COUNT; k++) {
		if (record_fields[k].required && !(seen & (1u << k))) {
			*why = "record lacks a required key (workspace_id, "
			    "actor_user_id, event_type, end_user_id, timestamp, v)";
			goto out;
		}
	}
	if (out->v != RECORD_SCHEMA_VERSION) {
		*why = "unsupported record schema version";
		goto out;
	}
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0) {
		record_init(out);
		out->v = RECORD_ABSENT;
	}
	return rc;
}

/* ---- query requests ---- */

void query_request_init(struct query_request *q)
{
	memset(q, 0, sizeof(*q));
	q->op = QUERY_OP_QUERY;
	q->since_ns = QUERY_ABSENT;
	q->until_ns = QUERY_ABSENT;
	q->after_id = QUERY_ABSENT;
	q->pid = QUERY_ABSENT;
	q->limit = 0;
}

enum query_field_kind {
	QF_VERSION, QF_OP, QF_STR, QF_EVENTS, QF_INT, QF_LIMIT, QF_ORDER, QF_FAILED,
	QF_BY,
};

struct query_field {
	const char *key;
	enum query_field_kind kind;
	size_t offset;
};

#define QSTR(name) { #name, QF_STR, offsetof(struct query_request, name) }
static const struct query_field query_fields[] = {
	{ "v", QF_VERSION, 0 },
	{ "op", QF_OP, offsetof(struct query_request, op) },
	QSTR(patient),
	QSTR(actor),
	{ "event", QF_EVENTS, offsetof(struct query_request, events) },
	{ "since_ns", QF_INT, offsetof(struct query_request, since_ns) },
	{ "until_ns", QF_INT, offsetof(struct query_request, until_ns) },
	{ "after_id", QF_INT, offsetof(struct query_request, after_id) },
	{ "limit", QF_LIMIT, offsetof(struct query_request, limit) },
	{ "order", QF_ORDER, offsetof(struct query_request, descending) },
	QSTR(target),
	QSTR(host),
	{ "pid", QF_INT, offsetof(struct query_request, pid) },
	QSTR(exe),
	QSTR(rule),
	QSTR(result),
	{ "failed", QF_FAILED, offsetof(struct query_request, failed_only) },
	{ "by", QF_BY, offsetof(struct query_request, by) },
};
#define QUERY_FIELD_COUNT (sizeof(query_fields) / sizeof(query_fields[0]))

#define QFIELD(q, f, type) ((type *)((char *)(q) + (f)->offset))
#define QFIELD_C(q, f, type) ((type const *)((const char *)(q) + (f)->offset))

static const char *query_op_name(enum query_op op)
{
	switch (op) {
	case QUERY_OP_QUERY: return "query";
	case QUERY_OP_COUNT: return "count";
	case QUERY_OP_STATS: return "stats";
	case QUERY_OP_STATUS: return "status";
	case QUERY_OP_CHECKPOINT: return "checkpoint";
	}
	return NULL;
}

/* What "stats" may group by (query.h). */
static const char *const stats_by_names[] = {
	"actor", "patient", "event", "exe", "hour", "day",
};

int query_stats_by_valid(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(stats_by_names) / sizeof(stats_by_names[0]); i++)
		if (strcmp(name, stats_by_names[i]) == 0)
			return 1;
	return 0;
}

/* 1 when field f of q is encoded, 0 when not, -EINVAL when invalid. */
static int query_field_present(const struct query_request *q,
			       const struct query_field *f)
{
	switch (f->kind) {
	case QF_VERSION:
		return 1;
	case QF_OP:
		return query_op_name(q->op) ? 1 : -EINVAL;
	case QF_STR: {
		const char *s = QFIELD_C(q, f, char);

		if (strnlen(s, QUERY_MAX_STRING) >= QUERY_MAX_STRING)
			return -EINVAL;
		return s[0] != '\0';
	}
	case QF_EVENTS: {
		size_t i;

		if (q->event_count > QUERY_MAX_EVENTS)
			return -EINVAL;
		for (i = 0; i < q->event_count; i++)
			if (strnlen(q->events[i], sizeof(q->events[i])) >=
			    sizeof(q->events[i]))
				return -EINVAL;
		return q->event_count > 0;
	}
	case QF_INT:
		return *QFIELD_C(q, f, int64_t) != QUERY_ABSENT;
	case QF_LIMIT:
		if (q->limit < 0)
			return -EINVAL;
		return q->limit != 0;
	case QF_ORDER:
		return q->descending != 0;
	case QF_FAILED:
		return q->failed_only != 0;
	case QF_BY:
		if (q->by[0] == '\0')
			return 0;
		if (q->op != QUERY_OP_STATS ||
		    strnlen(q->by, sizeof(q->by)) >= sizeof(q->by) ||
		    !query_stats_by_valid(q->by))
			return -EINVAL;
		return 1;
	}
	return -EINVAL;
}

long query_request_encode(const struct query_request *q, void *buf, size_t cap)
{
	struct fixed_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t i, j, count = 0;
	int present;

	for (i = 0; i < QUERY_FIELD_COUNT; i++) {
		present = query_field_present(q, &query_fields[i]);
		if (present < 0)
			return present;
		count += (size_t)present;
	}
	msgpack_packer_init(&pk, &fb, fixed_buffer_write);
	msgpack_pack_map(&pk, count);
	for (i = 0; i < QUERY_FIELD_COUNT; i++) {
		const struct query_field *f = &query_fields[i];

		if (query_field_present(q, f) <= 0)
			continue;
		pack_key(&pk, f->key);
		switch (f->kind) {
		case QF_VERSION:
			msgpack_pack_int64(&pk, QUERY_VERSION);
			break;
		case QF_OP:
			pack_cstr(&pk, query_op_name(q->op));
			break;
		case QF_STR:
			pack_cstr(&pk, QFIELD_C(q, f, char));
			break;
		case QF_EVENTS:
			msgpack_pack_array(&pk, q->event_count);
			for (j = 0; j < q->event_count; j++)
				pack_cstr(&pk, q->events[j]);
			break;
		case QF_INT:
		case QF_LIMIT:
			msgpack_pack_int64(&pk, *QFIELD_C(q, f, int64_t));
			break;
		case QF_ORDER:
			pack_cstr(&pk, "desc");
			break;
		case QF_FAILED:
			msgpack_pack_true(&pk);
			break;
		case QF_BY:
			pack_cstr(&pk, q->by);
			break;
		}
	}
	if (fb.len > QUERY_MAX_REQUEST && !fb.overflow)
		return -ENOSPC;
	return fixed_buffer_result(&fb);
}

/* Copies a string object into a fixed char array of size bytes. */
static int copy_fixed(const msgpack_object *o, char *dst, size_t size,
		      const char **why)
{
	if (o->type != MSGPACK_OBJECT_STR) {
		*why = "expected a string";
		return -EBADMSG;
	}
	if (o->via.str.size >= size) {
		*why = "string too long";
		return -EMSGSIZE;
	}
	if (o->via.str.size > 0 && memchr(o->via.str.ptr, '\0', o->via.str.size)) {
		*why = "string holds a NUL byte";
		return -EBADMSG;
	}
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = '\0';
	return 0;
}

static bool str_equals(const msgpack_object *o, const char *s)
{
	return key_equals(o, s);
}

static int query_field_decode(const struct query_field *f,
			      const msgpack_object *val, struct query_request *q,
			      const char **why)
{
	int64_t n;
	uint32_t i;
	int rc;

	switch (f->kind) {
	case QF_VERSION:
		if (object_int64(val, &n) < 0 || n != QUERY_VERSION) {
			*why = "unsupported query protocol version";
			return -EBADMSG;
		}
		return 0;
	case QF_OP:
		if (str_equals(val, "query"))
			q->op = QUERY_OP_QUERY;
		else if (str_equals(val, "count"))
			q->op = QUERY_OP_COUNT;
		else if (str_equals(val, "stats"))
			q->op = QUERY_OP_STATS;
		else if (str_equals(val, "status"))
			q->op = QUERY_OP_STATUS;
		else if (str_equals(val, "checkpoint"))
			q->op = QUERY_OP_CHECKPOINT;
		else {
			*why = "op must be \"query\", \"count\", \"stats\", "
			       "\"status\" or \"checkpoint\"";
			return -EBADMSG;
		}
		return 0;
	case QF_STR:
		return copy_fixed(val, QFIELD(q, f, char), QUERY_MAX_STRING, why);
	case QF_EVENTS:
		if (val->type != MSGPACK_OBJECT_ARRAY) {
			*why = "event must be an array of strings";
			return -EBADMSG;
		}
		if (val->via.array.size > QUERY_MAX_EVENTS) {
			*why = "more than QUERY_MAX_EVENTS events";
			return -EMSGSIZE;
		}
		for (i = 0; i < val->via.array.size; i++) {
			rc = copy_fixed(&val->via.array.ptr[i], q->events[i],
					sizeof(q->events[i]), why);
			if (rc < 0)
				return rc;
			if (event_type_from_name(q->events[i]) == EVENT_NONE) {
				*why = "unknown event type in event";
				return -EBADMSG;
			}
		}
		q->event_count = val->via.array.size;
		return 0;
	case QF_INT:
		if (object_int64(val, QFIELD(q, f, int64_t)) < 0) {
			*why = "expected an integer";
			return -EBADMSG;
		}
		return 0;
	case QF_LIMIT:
		if (object_int64(val, &n) < 0 || n < 0) {
			*why = "limit must be an integer >= 0";
			return -EBADMSG;
		}
		q->limit = n;
		return 0;
	case QF_ORDER:
		if (str_equals(val, "asc"))
			q->descending = 0;
		else if (str_equals(val, "desc"))
			q->descending = 1;
		else {
			*why = "order must be \"asc\" or \"desc\"";
			return -EBADMSG;
		}
		return 0;
	case QF_FAILED:
		if (val->type != MSGPACK_OBJECT_BOOLEAN) {
			*why = "failed must be a boolean";
			return -EBADMSG;
		}
		q->failed_only = val->via.boolean ? 1 : 0;
		return 0;
	case QF_BY:
		rc = copy_fixed(val, q->by, sizeof(q->by), why);
		if (rc < 0)
			return rc;
		if (!query_stats_by_valid(q->by)) {
			*why = "by must be actor, patient, event, exe, hour or day";
			return -EBADMSG;
		}
		return 0;
	}
	*why = "internal: unknown query field kind";
	return -EBADMSG;
}

int query_request_decode(const void *buf, size_t len, struct query_request *q,
			 const char **why)
{
	const char *dummy;
	msgpack_unpacked u;
	const msgpack_object *root;
	uint32_t seen = 0, i;
	size_t k;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	query_request_init(q);
	if (len > QUERY_MAX_REQUEST) {
		*why = "request larger than QUERY_MAX_REQUEST";
		return -EMSGSIZE;
	}
	if (len == 0) {
		*why = "empty request";
		return -EBADMSG;
	}
	msgpack_unpacked_init(&u);
	rc = unpack_one(buf, len, &u, why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	if (root->type != MSGPACK_OBJECT_MAP) {
		*why = "request is not a map";
		goto out;
	}
	for (i = 0; i < root->via.map.size; i++) {
		const msgpack_object_kv *kv = &root->via.map.ptr[i];

		for (k = 0; k < QUERY_FIELD_COUNT; k++)
			if (key_equals(&kv->key, query_fields[k].key))
				break;
		if (k == QUERY_FIELD_COUNT) {
			*why = "unknown key in request";
			goto out;
		}
		if (seen & (1u << k)) {
			*why = "duplicate key in request";
			goto out;
		}
		seen |= 1u << k;
		rc = query_field_decode(&query_fields[k], &kv->val, q, why);
		if (rc < 0)
			goto out;
		rc = -EBADMSG;
	}
	if (!(seen & 1u) || !(seen & 2u)) {
		*why = "request lacks v or op";
		goto out;
	}
	if (q->by[0] != '\0' && q->op != QUERY_OP_STATS) {
		*why = "by is for op \"stats\" only";
		goto out;
	}
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		query_request_init(q);
	return rc;
}

/* ---- response frames ---- */

long query_end_encode(int64_t count, void *buf, size_t cap)
{
	struct fixed_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;

	if (count < 0)
		return -EINVAL;
	msgpack_packer_init(&pk, &fb, fixed_buffer_write);
	msgpack_pack_map(&pk, 2);
	pack_key(&pk, "end");
	msgpack_pack_true(&pk);
	pack_key(&pk, "count");
	msgpack_pack_int64(&pk, count);
	return fixed_buffer_result(&fb);
}

long query_error_encode(const char *message, void *buf, size_t cap)
{
	struct fixed_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t n;

	if (message == NULL)
		message = "";
	n = strnlen(message, QUERY_MAX_STRING - 1);  /* longer messages are cut */
	msgpack_packer_init(&pk, &fb, fixed_buffer_write);
	msgpack_pack_map(&pk, 1);
	pack_key(&pk, "error");
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, message, n);
	return fixed_buffer_result(&fb);
}

int query_response_kind(const void *buf, size_t len, int64_t *count,
			char *message, size_t message_size)
{
	const char *why = NULL;
	msgpack_unpacked u;
	const msgpack_object *root;
	int rc;

	if (len == 0 || len > QUERY_MAX_FRAME)
		return -EBADMSG;
	msgpack_unpacked_init(&u);
	rc = unpack_one(buf, len, &u, &why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	if (root->type != MSGPACK_OBJECT_MAP || root->via.map.size == 0)
		goto out;
	if (root->via.map.size == 2 && key_equals(&root->via.map.ptr[0].key, "end")) {
		const msgpack_object_kv *kv = root->via.map.ptr;
		int64_t n;

		if (kv[0].val.type != MSGPACK_OBJECT_BOOLEAN || !kv[0].val.via.boolean ||
		    !key_equals(&kv[1].key, "count") ||
		    object_int64(&kv[1].val, &n) < 0 || n < 0)
			goto out;
		if (count != NULL)
			*count = n;
		rc = 0;
	} else if (root->via.map.size == 1 &&
		   key_equals(&root->via.map.ptr[0].key, "error")) {
		const msgpack_object *m = &root->via.map.ptr[0].val;
		size_t n;

		if (m->type != MSGPACK_OBJECT_STR ||
		    (m->via.str.size > 0 && memchr(m->via.str.ptr, '\0', m->via.str.size)))
			goto out;
		if (message != NULL && message_size > 0) {
			n = m->via.str.size < message_size - 1 ?
			    m->via.str.size : message_size - 1;
			if (n > 0)
				memcpy(message, m->via.str.ptr, n);
			message[n] = '\0';
		}
		rc = -1;
	} else if (key_equals(&root->via.map.ptr[0].key, "workspace_id")) {
		rc = 1;
	}
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* ---- stats rows ---- */

long query_stats_row_encode(const char *key, int64_t count, void *buf,
			    size_t cap)
{
	struct fixed_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t n;

	if (count < 1)
		return -EINVAL;
	msgpack_packer_init(&pk, &fb, fixed_buffer_write);
	msgpack_pack_map(&pk, 2);
	pack_key(&pk, "key");
	if (key == NULL) {
		msgpack_pack_nil(&pk);
	} else {
		n = strnlen(key, QUERY_MAX_STRING - 1);
		msgpack_pack_str(&pk, n);
		msgpack_pack_str_body(&pk, key, n);
	}
	pack_key(&pk, "count");
	msgpack_pack_int64(&pk, count);
	return fixed_buffer_result(&fb);
}

int query_stats_row_decode(const void *buf, size_t len, char *key,
			   size_t key_size, int *key_is_nil, int64_t *count)
{
	const char *why = NULL;
	const msgpack_object_kv *kv;
	msgpack_unpacked u;
	int64_t n;
	int rc;

	if (len == 0 || len > QUERY_MAX_FRAME || key_size == 0)
		return -EBADMSG;
	msgpack_unpacked_init(&u);
	rc = unpack_one(buf, len, &u, &why);
	if (rc < 0)
		goto out;
	rc = -EBADMSG;
	if (u.data.type != MSGPACK_OBJECT_MAP || u.data.via.map.size != 2)
		goto out;
	kv = u.data.via.map.ptr;
	if (!key_equals(&kv[0].key, "key") || !key_equals(&kv[1].key, "count"))
		goto out;
	if (object_int64(&kv[1].val, &n) < 0 || n < 1)
		goto out;
	if (kv[0].val.type == MSGPACK_OBJECT_NIL) {
		key[0] = '\0';
		*key_is_nil = 1;
	} else {
		if (copy_fixed(&kv[0].val, key, key_size, &why) < 0)
			goto out;
		*key_is_nil = 0;
	}
	*count = n;
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}
