/*
 * query_codec.c - the query protocol's codec (query.h): requests, end and
 * error frames, stats rows, and telling a response frame's kind.
 *
 * Requests come from any local user, so decoding treats them as untrusted:
 * the bytes go through codec_unpack_checked's pre-scan first, then every key,
 * type and size is checked against the field table below; unknown keys,
 * duplicates, wrong types and oversized values are rejected with a static
 * reason. Encoding packs into the caller's fixed buffer and never allocates.
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
	struct codec_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t i, j, count = 0;
	int present;

	for (i = 0; i < QUERY_FIELD_COUNT; i++) {
		present = query_field_present(q, &query_fields[i]);
		if (present < 0)
			return present;
		count += (size_t)present;
	}
	msgpack_packer_init(&pk, &fb, codec_buffer_write);
	msgpack_pack_map(&pk, count);
	for (i = 0; i < QUERY_FIELD_COUNT; i++) {
		const struct query_field *f = &query_fields[i];

		if (query_field_present(q, f) <= 0)
			continue;
		codec_pack_key(&pk, f->key);
		switch (f->kind) {
		case QF_VERSION:
			msgpack_pack_int64(&pk, QUERY_VERSION);
			break;
		case QF_OP:
			codec_pack_cstr(&pk, query_op_name(q->op));
			break;
		case QF_STR:
			codec_pack_cstr(&pk, QFIELD_C(q, f, char));
			break;
		case QF_EVENTS:
			msgpack_pack_array(&pk, q->event_count);
			for (j = 0; j < q->event_count; j++)
				codec_pack_cstr(&pk, q->events[j]);
			break;
		case QF_INT:
		case QF_LIMIT:
			msgpack_pack_int64(&pk, *QFIELD_C(q, f, int64_t));
			break;
		case QF_ORDER:
			codec_pack_cstr(&pk, "desc");
			break;
		case QF_FAILED:
			msgpack_pack_true(&pk);
			break;
		case QF_BY:
			codec_pack_cstr(&pk, q->by);
			break;
		}
	}
	if (fb.len > QUERY_MAX_REQUEST && !fb.overflow)
		return -ENOSPC;
	return codec_buffer_result(&fb);
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
	return codec_key_equals(o, s);
}

/* "op": one of query_op_name's names. */
static int query_op_decode(const msgpack_object *val, struct query_request *q,
			   const char **why)
{
	enum query_op op;

	for (op = QUERY_OP_QUERY; op <= QUERY_OP_CHECKPOINT; op++) {
		if (str_equals(val, query_op_name(op))) {
			q->op = op;
			return 0;
		}
	}
	*why = "op must be \"query\", \"count\", \"stats\", "
	       "\"status\" or \"checkpoint\"";
	return -EBADMSG;
}

/* "event": an array of at most QUERY_MAX_EVENTS known event type names. */
static int query_events_decode(const msgpack_object *val,
			       struct query_request *q, const char **why)
{
	uint32_t i;
	int rc;

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
}

static int query_field_decode(const struct query_field *f,
			      const msgpack_object *val, struct query_request *q,
			      const char **why)
{
	int64_t n;
	int rc;

	switch (f->kind) {
	case QF_VERSION:
		if (codec_object_int64(val, &n) < 0 || n != QUERY_VERSION) {
			*why = "unsupported query protocol version";
			return -EBADMSG;
		}
		return 0;
	case QF_OP:
		return query_op_decode(val, q, why);
	case QF_STR:
		return copy_fixed(val, QFIELD(q, f, char), QUERY_MAX_STRING, why);
	case QF_EVENTS:
		return query_events_decode(val, q, why);
	case QF_INT:
		if (codec_object_int64(val, QFIELD(q, f, int64_t)) < 0) {
			*why = "expected an integer";
			return -EBADMSG;
		}
		return 0;
	case QF_LIMIT:
		if (codec_object_int64(val, &n) < 0 || n < 0) {
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

static const struct codec_map_rules request_map_rules = {
	QUERY_MAX_REQUEST, "request larger than QUERY_MAX_REQUEST", "empty request",
	"request is not a map",
};

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
	msgpack_unpacked_init(&u);
	rc = codec_unpack_map(buf, len, &request_map_rules, &u, why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	for (i = 0; i < root->via.map.size; i++) {
		const msgpack_object_kv *kv = &root->via.map.ptr[i];

		for (k = 0; k < QUERY_FIELD_COUNT; k++)
			if (codec_key_equals(&kv->key, query_fields[k].key))
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
	struct codec_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;

	if (count < 0)
		return -EINVAL;
	msgpack_packer_init(&pk, &fb, codec_buffer_write);
	msgpack_pack_map(&pk, 2);
	codec_pack_key(&pk, "end");
	msgpack_pack_true(&pk);
	codec_pack_key(&pk, "count");
	msgpack_pack_int64(&pk, count);
	return codec_buffer_result(&fb);
}

long query_error_encode(const char *message, void *buf, size_t cap)
{
	struct codec_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t n;

	if (message == NULL)
		message = "";
	n = strnlen(message, QUERY_MAX_STRING - 1);  /* longer messages are cut */
	msgpack_packer_init(&pk, &fb, codec_buffer_write);
	msgpack_pack_map(&pk, 1);
	codec_pack_key(&pk, "error");
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, message, n);
	return codec_buffer_result(&fb);
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
	rc = codec_unpack_checked(buf, len, &u, &why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	if (root->type != MSGPACK_OBJECT_MAP || root->via.map.size == 0)
		goto out;
	if (root->via.map.size == 2 && codec_key_equals(&root->via.map.ptr[0].key, "end")) {
		const msgpack_object_kv *kv = root->via.map.ptr;
		int64_t n;

		if (kv[0].val.type != MSGPACK_OBJECT_BOOLEAN || !kv[0].val.via.boolean ||
		    !codec_key_equals(&kv[1].key, "count") ||
		    codec_object_int64(&kv[1].val, &n) < 0 || n < 0)
			goto out;
		if (count != NULL)
			*count = n;
		rc = 0;
	} else if (root->via.map.size == 1 &&
		   codec_key_equals(&root->via.map.ptr[0].key, "error")) {
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
	} else if (codec_key_equals(&root->via.map.ptr[0].key, "workspace_id")) {
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
	struct codec_buffer fb = { buf, cap, 0, false };
	msgpack_packer pk;
	size_t n;

	if (count < 1)
		return -EINVAL;
	msgpack_packer_init(&pk, &fb, codec_buffer_write);
	msgpack_pack_map(&pk, 2);
	codec_pack_key(&pk, "key");
	if (key == NULL) {
		msgpack_pack_nil(&pk);
	} else {
		n = strnlen(key, QUERY_MAX_STRING - 1);
		msgpack_pack_str(&pk, n);
		msgpack_pack_str_body(&pk, key, n);
	}
	codec_pack_key(&pk, "count");
	msgpack_pack_int64(&pk, count);
	return codec_buffer_result(&fb);
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
	rc = codec_unpack_checked(buf, len, &u, &why);
	if (rc < 0)
		goto out;
	rc = -EBADMSG;
	if (u.data.type != MSGPACK_OBJECT_MAP || u.data.via.map.size != 2)
		goto out;
	kv = u.data.via.map.ptr;
	if (!codec_key_equals(&kv[0].key, "key") || !codec_key_equals(&kv[1].key, "count"))
		goto out;
	if (codec_object_int64(&kv[1].val, &n) < 0 || n < 1)
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
