/*
 * byteorder.h - little-endian integers in byte buffers, the order of every
 * binary format phitrail defines (spool, hand-off, checkpoints, the
 * processes' frames). Byte by byte, so any alignment will do.
 */
#ifndef PHITRAIL_BYTEORDER_H
#define PHITRAIL_BYTEORDER_H

#include <stdint.h>

/* The low `bytes` bytes of v (at most 8) at p. */
static inline void le_put(unsigned char *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The `bytes` bytes (at most 8) at p. */
static inline uint64_t le_get(const unsigned char *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void le16_put(unsigned char *p, uint16_t v) { le_put(p, v, 2); }
static inline void le32_put(unsigned char *p, uint32_t v) { le_put(p, v, 4); }
static inline void le64_put(unsigned char *p, uint64_t v) { le_put(p, v, 8); }
static inline uint16_t le16_get(const unsigned char *p) { return (uint16_t)le_get(p, 2); }
static inline uint32_t le32_get(const unsigned char *p) { return (uint32_t)le_get(p, 4); }
static inline uint64_t le64_get(const unsigned char *p) { return le_get(p, 8); }

#endif
