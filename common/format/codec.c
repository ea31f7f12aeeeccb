/*
 * codec.c - the bounded packing and checked unpacking (codec.h) that every
 * msgpack codec builds on: the record's (record_encode.c, record_decode.c),
 * the query and status protocols' (protocol/query_codec.c,
 * protocol/status_codec.c). Every file that includes <msgpack.h> unpacks
 * through codec_unpack_checked, so the pre-scan below guards them all.
 *
 * Packing writes into the caller's fixed buffer through a bounded write
 * callback and never allocates. Unpacking is for untrusted bytes: a raw
 * pre-scan proves that every declared length and element count fits in the
 * bytes that are there, so msgpack-c never allocates for elements that do
 * not exist.
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

/* ---- packing into a fixed buffer ---- */

int codec_buffer_write(void *data, const char *bytes, size_t len)
{
	struct codec_buffer *fb = data;

	if (fb->overflow)
		return -1;
	return codec_buffer_append(fb, bytes, len);
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

/* A signed integer that is not the absent marker (INT64_MIN). */
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

