/*
 * status_codec.c - the codec of the collector's status answer (status.h).
 *
 * Three tables of {key, kind, offset, size} - the answer, one unaudited
 * program, one forwarder - drive both directions, so a key is named once.
 * Encoding packs into the caller's buffer and fails on overflow; decoding
 * is for bytes from a socket: codec_unpack_checked pre-scans them, then
 * every type, string size and array length is checked against the tables
 * before anything is copied. Like query_codec.c it packs and unpacks
 * through format/codec.h: never without codec.c's pre-scan.
 * Must never keep state, print, or copy a string it has not measured.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "status.h"

enum status_kind {
	SK_VERSION,          /* "status_v": STATUS_VERSION */
	SK_INT,              /* int64 */
	SK_TIME,             /* int64 or nil (STATUS_NONE) */
	SK_STR,              /* char[size] */
	SK_UNAUDITED,        /* array of unaudited_fields maps */
	SK_FORWARDERS,       /* array of forwarder_fields maps */
};

struct status_field {
	const char *key;
	enum status_kind kind;
	size_t offset, size;
};

#define SINT(s, name) { #name, SK_INT, offsetof(struct s, name), 0 }
#define STIME(s, name) { #name, SK_TIME, offsetof(struct s, name), 0 }
#define SSTR(s, name) { #name, SK_STR, offsetof(struct s, name), \
	sizeof(((struct s *)0)->name) }

static const struct status_field reply_fields[] = {
	{ "status_v", SK_VERSION, 0, 0 },
	SSTR(status_reply, version),
	SINT(status_reply, now_ns),
	SINT(status_reply, started_ns),
	SINT(status_reply, records),
	SINT(status_reply, stored_since_start),
	SINT(status_reply, lost_since_start),
	SINT(status_reply, tampered_since_start),
	SINT(status_reply, spool_files),
	SINT(status_reply, spool_bytes),
	STIME(status_reply, spool_oldest_ns),
	STIME(status_reply, checkpoint_ns),
	SINT(status_reply, checkpoint_size),
	SINT(status_reply, checkpoint_interval_s),
	SINT(status_reply, store_bytes),
	SINT(status_reply, disk_free_bytes),
	SINT(status_reply, disk_total_bytes),
	SSTR(status_reply, config),
	SINT(status_reply, config_errors),
	SSTR(status_reply, config_error),
	{ "unaudited", SK_UNAUDITED, offsetof(struct status_reply, unaudited), 0 },
	{ "forwarders", SK_FORWARDERS, offsetof(struct status_reply, forwarders), 0 },
	SSTR(status_reply, kernel_net),
	SINT(status_reply, kernel_marks),
	SINT(status_reply, kernel_events),
	SINT(status_reply, kernel_merged),
	SINT(status_reply, kernel_stored),
	SINT(status_reply, kernel_overflows),
};

static const struct status_field unaudited_fields[] = {
	SSTR(status_unaudited, exe),
	SINT(status_unaudited, pid),
	SINT(status_unaudited, uid),
	SSTR(status_unaudited, reason),
	SINT(status_unaudited, count),
	SINT(status_unaudited, last_ns),
};

static const struct status_field forwarder_fields[] = {
	SSTR(status_forwarder, name),
	SINT(status_forwarder, backlog),
	SINT(status_forwarder, lag_ms),
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(base, f, type) ((type *)((char *)(base) + (f)->offset))
#define FIELD_C(base, f, type) ((const type *)((const char *)(base) + (f)->offset))

void status_reply_init(struct status_reply *s)
{
	memset(s, 0, sizeof(*s));
	s->spool_oldest_ns = STATUS_NONE;
	s->checkpoint_ns = STATUS_NONE;
}

/* ---- encoding ---- */

static void pack_text(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static int pack_fields(msgpack_packer *pk, const void *base,
		       const struct status_field *fields, size_t count);

static int pack_list(msgpack_packer *pk, const void *first, size_t n,
		     size_t max, size_t stride, const struct status_field *fields,
		     size_t field_count)
{
	size_t i;
	int rc;

	if (n > max)
		return -EINVAL;
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		rc = pack_fields(pk, (const char *)first + i * stride, fields,
				 field_count);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int pack_fields(msgpack_packer *pk, const void *base,
		       const struct status_field *fields, size_t count)
{
	const struct status_reply *s = base;
	size_t i, n;
	int64_t v;
	int rc = 0;

	msgpack_pack_map(pk, count);
	for (i = 0; i < count && rc == 0; i++) {
		const struct status_field *f = &fields[i];

		pack_text(pk, f->key, strlen(f->key));
		switch (f->kind) {
		case SK_VERSION:
			msgpack_pack_int64(pk, STATUS_VERSION);
			break;
		case SK_INT:
			msgpack_pack_int64(pk, *FIELD_C(base, f, int64_t));
			break;
		case SK_TIME:
			v = *FIELD_C(base, f, int64_t);
			if (v == STATUS_NONE)
				msgpack_pack_nil(pk);
			else
				msgpack_pack_int64(pk, v);
			break;
		case SK_STR:
			n = strnlen(FIELD_C(base, f, char), f->size);
			if (n >= f->size)
				return -EINVAL;
			pack_text(pk, FIELD_C(base, f, char), n);
			break;
		case SK_UNAUDITED:
			rc = pack_list(pk, s->unaudited, s->unaudited_count,
				       STATUS_MAX_UNAUDITED, sizeof(s->unaudited[0]),
				       unaudited_fields, COUNT_OF(unaudited_fields));
			break;
		case SK_FORWARDERS:
			rc = pack_list(pk, s->forwarders, s->forwarder_count,
				       STATUS_MAX_FORWARDERS, sizeof(s->forwarders[0]),
				       forwarder_fields, COUNT_OF(forwarder_fields));
			break;
		}
	}
	return rc;
}

long status_reply_encode(const struct status_reply *s, void *buf, size_t cap)
{
	struct codec_buffer ob = { buf, cap, 0, false };
	msgpack_packer pk;
	int rc;

	msgpack_packer_init(&pk, &ob, codec_buffer_write);
	rc = pack_fields(&pk, s, reply_fields, COUNT_OF(reply_fields));
	if (rc < 0)
		return rc;
	return codec_buffer_result(&ob);
}

/* ---- decoding ---- */

static int fail(const char **why, const char *message, int rc)
{
	*why = message;
	return rc;
}

static int decode_map(const msgpack_object *o, void *base,
		      const struct status_field *fields, size_t count,
		      const char **why);

static int decode_list(const msgpack_object *o, void *first, size_t *n,
		       size_t max, size_t stride,
		       const struct status_field *fields, size_t field_count,
		       const char **why)
{
	uint32_t i;
	int rc;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(why, "expected an array", -EBADMSG);
	if (o->via.array.size > max)
		return fail(why, "too many entries in a list", -EMSGSIZE);
	for (i = 0; i < o->via.array.size; i++) {
		rc = decode_map(&o->via.array.ptr[i], (char *)first + i * stride,
				fields, field_count, why);
		if (rc < 0)
			return rc;
	}
	*n = o->via.array.size;
	return 0;
}

static int decode_value(const struct status_field *f, const msgpack_object *v,
			void *base, const char **why)
{
	struct status_reply *s = base;
	int64_t n;

	switch (f->kind) {
	case SK_VERSION:
		if (codec_object_int64(v, &n) < 0 || n != STATUS_VERSION)
			return fail(why, "unsupported status version", -EBADMSG);
		return 0;
	case SK_TIME:
		if (v->type == MSGPACK_OBJECT_NIL) {
			*FIELD(base, f, int64_t) = STATUS_NONE;
			return 0;
		}
		/* fall through */
	case SK_INT:
		if (codec_object_int64(v, FIELD(base, f, int64_t)) < 0)
			return fail(why, "expected an integer", -EBADMSG);
		return 0;
	case SK_STR:
		if (v->type != MSGPACK_OBJECT_STR)
			return fail(why, "expected a string", -EBADMSG);
		if (v->via.str.size >= f->size)
			return fail(why, "string too long", -EMSGSIZE);
		if (v->via.str.size > 0 &&
		    memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL)
			return fail(why, "string holds a NUL byte", -EBADMSG);
		if (v->via.str.size > 0)
			memcpy(FIELD(base, f, char), v->via.str.ptr, v->via.str.size);
		FIELD(base, f, char)[v->via.str.size] = '\0';
		return 0;
	case SK_UNAUDITED:
		return decode_list(v, s->unaudited, &s->unaudited_count,
				   STATUS_MAX_UNAUDITED, sizeof(s->unaudited[0]),
				   unaudited_fields, COUNT_OF(unaudited_fields), why);
	case SK_FORWARDERS:
		return decode_list(v, s->forwarders, &s->forwarder_count,
				   STATUS_MAX_FORWARDERS, sizeof(s->forwarders[0]),
				   forwarder_fields, COUNT_OF(forwarder_fields), why);
	}
	return fail(why, "internal: unknown status field kind", -EBADMSG);
}

static int decode_map(const msgpack_object *o, void *base,
		      const struct status_field *fields, size_t count,
		      const char **why)
{
	uint32_t i, seen = 0;
	size_t k;
	int rc;

	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(why, "expected a map", -EBADMSG);
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return fail(why, "a key is not a string", -EBADMSG);
		for (k = 0; k < count; k++)
			if (codec_key_equals(&kv->key, fields[k].key))
				break;
		if (k == count)
			continue;           /* a newer collector's key */
		if (seen & (1u << k))
			return fail(why, "duplicate key", -EBADMSG);
		seen |= 1u << k;
		rc = decode_value(&fields[k], &kv->val, base, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int status_reply_decode(const void *buf, size_t len, struct status_reply *s,
			const char **why)
{
	const char *dummy;
	msgpack_unpacked u;
	const msgpack_object *root;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	status_reply_init(s);
	if (len == 0 || len > STATUS_MAX_REPLY)
		return fail(why, "status answer empty or too large", -EMSGSIZE);
	msgpack_unpacked_init(&u);
	rc = codec_unpack_checked(buf, len, &u, why);
	if (rc < 0)
		goto out;
	root = &u.data;
	rc = -EBADMSG;
	if (root->type != MSGPACK_OBJECT_MAP || root->via.map.size == 0 ||
	    !codec_key_equals(&root->via.map.ptr[0].key, "status_v")) {
		*why = "not a status answer";
		goto out;
	}
	rc = decode_map(root, s, reply_fields, COUNT_OF(reply_fields), why);
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		status_reply_init(s);
	return rc;
}
