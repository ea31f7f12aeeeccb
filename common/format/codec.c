/*
 * codec.c - the msgpack codec of audit records (record.h), and the bounded
 * packing and checked unpacking (codec.h) that the other msgpack codecs
 * (protocol/query_codec.c, protocol/status_codec.c) build on: every file
 * that includes <msgpack.h> unpacks through codec_unpack_checked, so the
 * pre-scan below guards them all.
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

int codec_buffer_write(void *data, const char *bytes, size_t len)
{
	struct codec_buffer *fb = data;

	if (fb->overflow || len > fb->cap - fb->len) {
		fb->overflow = true;
		return -1;
	}
	memcpy(fb->data + fb->len, bytes, len);
	fb->len += len;
	return 0;
}

void codec_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void codec_pack_key(msgpack_packer *pk, const char *key)
{
	codec_pack_cstr(pk, key);
}

long codec_buffer_result(const struct codec_buffer *fb)
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
static inline int fixed_buffer_append(struct codec_buffer *fb,
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
#define msgpack_pack_user struct codec_buffer *
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

static void fbpack_string(struct codec_buffer *fb, const char *s, size_t len)
{
	fbpack_str(fb, len);
	fbpack_str_body(fb, s, len);
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
			fixed_buffer_append(&fb, prefix->bytes, prefix->len);
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

/*
 * fbpack_string's bytes (msgpack-c's fixstr, str8, str16 or str32 header,
 * then the string) with one room check and one copy, for the direct path.
 */
static inline __attribute__((always_inline)) void
put_string(struct codec_buffer *fb, const char *s, size_t len)
{
	unsigned char head[5];
	size_t n;

	if (len < 32) {
		head[0] = (unsigned char)(0xa0 | len);
		n = 1;
	} else if (len < 256) {
		head[0] = 0xd9;
		head[1] = (unsigned char)len;
		n = 2;
	} else if (len < 65536) {
		head[0] = 0xda;
		head[1] = (unsigned char)(len >> 8);
		head[2] = (unsigned char)len;
		n = 3;
	} else {
		head[0] = 0xdb;
		head[1] = (unsigned char)(len >> 24);
		head[2] = (unsigned char)(len >> 16);
		head[3] = (unsigned char)(len >> 8);
		head[4] = (unsigned char)len;
		n = 5;
	}
	if (fb->overflow || len + n > fb->cap - fb->len) {
		fb->overflow = true;
		return;
	}
	memcpy(fb->data + fb->len, head, n);
	memcpy(fb->data + fb->len + n, s, len);
	fb->len += n + len;
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
	struct codec_buffer fb = { buf, cap, 0, false };
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
	put_string(&fb, r->workspace_id, ws_len);
	PUT_KEY(&fb, "actor_user_id");
	put_string(&fb, r->actor_user_id, actor_len);
	PUT_KEY(&fb, "event_type");
	put_string(&fb, event, event_len);
	PUT_KEY(&fb, "end_user_id");
	if (r->end_user_id == NULL)
		fbpack_nil(&fb);
	else
		put_string(&fb, r->end_user_id, user_len);
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
		put_string(&fb, optional[0], lens[0]);
	}
	if (optional[1] != NULL) {
		PUT_KEY(&fb, "target2");
		put_string(&fb, optional[1], lens[1]);
	}
	if (optional[2] != NULL) {
		PUT_KEY(&fb, "rule");
		put_string(&fb, optional[2], lens[2]);
	}
	if (optional[3] != NULL) {
		PUT_KEY(&fb, "result");
		put_string(&fb, optional[3], lens[3]);
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

			put_string(&fb, d->key, strlen(d->key));
			if (d->str != NULL)
				put_string(&fb, d->str, strlen(d->str));
			else
				fbpack_int64(&fb, d->num);
		}
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

int codec_unpack_checked(const void *buf, size_t len, msgpack_unpacked *u,
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

int codec_unpack_map(const void *buf, size_t len,
		     const struct codec_map_rules *rules, msgpack_unpacked *u,
		     const char **why)
{
	int rc;

	if (len > rules->max_bytes) {
		*why = rules->too_large;
		return -EMSGSIZE;
	}
	if (len == 0) {
		*why = rules->empty;
		return -EBADMSG;
	}
	rc = codec_unpack_checked(buf, len, u, why);
	if (rc < 0)
		return rc;
	if (u->data.type != MSGPACK_OBJECT_MAP) {
		*why = rules->not_map;
		return -EBADMSG;
	}
	return 0;
}


bool codec_key_equals(const msgpack_object *key, const char *name)
{
	size_t n = strlen(name);

	return key->type == MSGPACK_OBJECT_STR && key->via.str.size == n &&
	    memcmp(key->via.str.ptr, name, n) == 0;
}

/* codec_key_equals for a key already known to be a string, without measuring
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
int codec_object_int64(const msgpack_object *o, int64_t *out)
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
		if (codec_object_int64(val, FIELD_PTR(r, f, int64_t)) < 0) {
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

static const struct codec_map_rules record_map_rules = {
	RECORD_MAX_BYTES, "record larger than RECORD_MAX_BYTES", "empty record",
	"record is not a map",
};

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
	msgpack_unpacked_init(&u);
	rc = codec_unpack_map(buf, len, &record_map_rules, &u, why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
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

