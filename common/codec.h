/*
 * codec.h - what codec.c lends the few other files that read msgpack
 * (status_codec.c): unpacking one untrusted object behind codec.c's
 * pre-scan, so msgpack-c never allocates for elements that are not there.
 * Only files that already include <msgpack.h> include this header.
 */
#ifndef PHITRAIL_CODEC_H
#define PHITRAIL_CODEC_H

#include <stddef.h>

#include <msgpack.h>

/*
 * Unpacks exactly len bytes (one object, no trailing bytes) into u, which
 * the caller initialised and destroys. 0 or -EBADMSG with *why.
 */
int codec_unpack_checked(const void *buf, size_t len, msgpack_unpacked *u,
			 const char **why);

#endif
