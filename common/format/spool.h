/*
 * spool.h - the spool file format shared by the shim (writer) and the
 * collector (reader); implemented in spool.c. Pure byte layout: no I/O.
 *
 * A spool file holds the records of one process image, in the order the
 * process wrote them. All integers are little endian.
 *
 * Header, SPOOL_HEADER_BYTES (64) bytes:
 *   0   8  magic "PHTSPOOL"
 *   8   4  format version (SPOOL_FORMAT_VERSION = 1)
 *   12  4  header size in bytes (64)
 *   16  4  flags: SPOOL_FLAG_COLLECTOR (created by the collector for a peer
 *          whose identity it took from the kernel) or SPOOL_FLAG_FALLBACK
 *          (created by the shim itself while the collector was down)
 *   20  4  pid of the writer
 *   24  4  uid of the writer
 *   28  4  gid of the writer
 *   32  8  start time of the writer, clock ticks after boot (/proc/PID/stat
 *          field 22), so a reused pid is never mistaken for the writer
 *   40  8  creation time, nanoseconds since the epoch (UTC)
 *   48  12 reserved, zero
 *   60  4  CRC-32C of bytes 0..59
 *
 * Then frames, back to back:
 *   0   4  payload length N, 1..SPOOL_MAX_PAYLOAD
 *   4   4  CRC-32C of the payload
 *   8   N  payload: one msgpack record (record.h)
 * A frame whose length word is 0 has not been written yet (the end of the
 * data so far); a reader stops there and comes back later. A frame that is
 * cut short is either still being written or was cut: the reader waits while
 * the writer lives and reports the rest as lost once it is gone. A bad
 * length or checksum means the file was damaged or tampered with.
 */
#ifndef PHITRAIL_SPOOL_H
#define PHITRAIL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC "PHTSPOOL"
#define SPOOL_FORMAT_VERSION 1
#define SPOOL_HEADER_BYTES 64
#define SPOOL_FRAME_HEADER_BYTES 8
#define SPOOL_MAX_PAYLOAD 16384          /* one largest record: spool.c */

#define SPOOL_FLAG_COLLECTOR 0x1u
#define SPOOL_FLAG_FALLBACK 0x2u

struct spool_header {
	uint32_t version;
	uint32_t flags;
	uint32_t pid, uid, gid;
	uint64_t start_time_ticks;
	uint64_t created_ns;
};

/* Writes the 64-byte header for h into out. */
void spool_header_encode(const struct spool_header *h,
			 unsigned char out[SPOOL_HEADER_BYTES]);

/*
 * Parses a header. Returns 0, -EAGAIN when len < 64 (not written yet),
 * -EBADMSG for a wrong magic, version, size or checksum.
 */
int spool_header_decode(const unsigned char *buf, size_t len,
			struct spool_header *h);

/* Writes the 8-byte frame header for payload into out. */
void spool_frame_header_encode(const void *payload, uint32_t payload_len,
			       unsigned char out[SPOOL_FRAME_HEADER_BYTES]);

/*
 * Looks at the bytes at one frame position (buf, len bytes available).
 * Returns:
 *   > 0      a whole, valid frame: the number of bytes it takes (8 + N);
 *            *payload and *payload_len point into buf
 *   0        nothing written here yet (length word 0, or fewer than 4 bytes)
 *   -EAGAIN  a frame whose bytes are not all there yet
 *   -EBADMSG bad length or checksum (*why says which)
 */
long spool_frame_decode(const unsigned char *buf, size_t len,
			const unsigned char **payload, uint32_t *payload_len,
			const char **why);

/*
 * CRC-32C (Castagnoli), as used by the header and frames. crc is 0 to start,
 * or the result over the bytes before data to continue. Uses the SSE4.2
 * crc32 instruction when the CPU has it (chosen once, on the first call;
 * no system call, no allocation), else spool_crc32c_table: same results.
 */
uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len);

/* The table-driven (slice-by-8) CRC-32C that works on every CPU. */
uint32_t spool_crc32c_table(uint32_t crc, const void *data, size_t len);

/* 1 when spool_crc32c uses the SSE4.2 instruction on this CPU, else 0. */
int spool_crc32c_hardware(void);

#endif
