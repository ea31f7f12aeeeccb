/*
 * codec.h - what codec.c lends the few other msgpack codecs
 * (protocol/query_codec.c, protocol/status_codec.c): packing into a
 * caller's fixed buffer without allocating, and unpacking one untrusted
 * object behind codec.c's pre-scan, so msgpack-c never allocates for
 * elements that are not there. Only files that already include
 * <msgpack.h> include this header.
 */
#ifndef PHITRAIL_CODEC_H
#define PHITRAIL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

/*
 * A caller's fixed buffer that a msgpack_packer writes into: set it up as
 * { buf, cap, 0, false } and msgpack_packer_init(&pk, &b, codec_buffer_write).
 * A write that does not fit sets overflow and every later one is refused.
 */
struct codec_buffer {
	char *data;
	size_t cap, len;
	bool overflow;
};

/*
 * Appends len bytes to b, or sets overflow and returns -1 when they do not
 * fit. Inline: the record encoder's own packer (record_encode.c) writes
 * through it directly.
 */
static inline int codec_buffer_append(struct codec_buffer *b,
				      const void *bytes, size_t len)
{
	if (len > b->cap - b->len) {
		b->overflow = true;
		return -1;
	}
	memcpy(b->data + b->len, bytes, len);
	b->len += len;
	return 0;
}

/* msgpack_packer's write callback: codec_buffer_append, refused after an
 * overflow. */
int codec_buffer_write(void *data, const char *bytes, size_t len);
/* The bytes packed, or -ENOSPC when anything did not fit. */
long codec_buffer_result(const struct codec_buffer *b);
void codec_pack_cstr(msgpack_packer *pk, const char *s);
void codec_pack_key(msgpack_packer *pk, const char *key);

/* A string key equal to name. */
bool codec_key_equals(const msgpack_object *key, const char *name);
/* A signed integer that fits int64_t (not INT64_MIN): 0, else -EBADMSG. */
int codec_object_int64(const msgpack_object *o, int64_t *out);

/*
 * Unpacks exactly len bytes (one object, no trailing bytes) into u, which
 * the caller initialised and destroys. 0 or -EBADMSG with *why.
 */
int codec_unpack_checked(const void *buf, size_t len, msgpack_unpacked *u,
			 const char **why);

/*
 * How one kind of message is bounded and named in its errors: at most
 * max_bytes, and the static reasons for a message too large, an empty one
 * and one that is not a map.
 */
struct codec_map_rules {
	size_t max_bytes;
	const char *too_large, *empty, *not_map;
};

/*
 * The opening every decoder of a msgpack map shares: checks len against
 * the rules, then unpacks behind the pre-scan (codec_unpack_checked) into
 * u, which the caller initialised and destroys, and checks the root is a
 * map. 0 with u->data the map; -EMSGSIZE or -EBADMSG with *why.
 */
int codec_unpack_map(const void *buf, size_t len,
		     const struct codec_map_rules *rules, msgpack_unpacked *u,
		     const char **why);

#endif
