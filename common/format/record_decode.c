/*
 * record_decode.c - decoding one record from untrusted bytes: the input
 * size is bounded, codec_unpack_map's pre-scan (codec.c) proves every
 * declared length and count fits in the bytes that are there, and then
 * every key, type and size is checked against the schema table
 * (record_schema.h). Unknown keys, duplicate keys, missing required keys,
 * trailing bytes and truncated input are all rejected with a static
 * reason. Strings are copied into the caller's arena; nothing allocates.
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


