/*
 * privsep.h - the framed protocol between phitraild's processes: today the
 * collector and its signer (collector/signer.c), the only process that
 * holds the signing key. Implemented in privsep.c; the frames travel over
 * a SOCK_SEQPACKET socketpair, one frame per packet, so a read returns one
 * whole frame or nothing. All integers are little endian.
 *
 * FRAME, PRIVSEP_HEADER_BYTES (12) + n bytes:
 *     0   4  magic "PTPS"
 *     4   2  version, PRIVSEP_VERSION (1)
 *     6   2  type (below)
 *     8   4  n, the length of the body, 0..PRIVSEP_MAX_BODY (4096)
 *    12   n  the body
 * A reader rejects a packet shorter than 12 bytes (-EMSGSIZE), another
 * magic (-ENOMSG), another version (-EPROTONOSUPPORT), n over the limit
 * (-EMSGSIZE) and a packet that is not exactly 12 + n bytes long, short or
 * with trailing bytes (-EMSGSIZE).
 *
 * Types and their bodies:
 *   1  SIGN_CHECKPOINT  collector to signer: a checkpoint (checkpoint.h),
 *        exactly CHECKPOINT_BYTES (164), whose key id (bytes 92..99) and
 *        signature (100..163) are all zeros. The signer decodes it with
 *        checkpoint_decode (its magic, version, length and size-0 root),
 *        and refuses any other content with an ERROR.
 *   2  SIGN_CUT  collector to signer: a retention cut (checkpoint.h),
 *        CHECKPOINT_CUT_BYTES(F), key id and signature all zeros, decoded
 *        with checkpoint_cut_decode (its frontier must fold to its root).
 *   0x81  READY  signer to collector, once, before anything else: the
 *        32-byte Ed25519 public key the signer signs with.
 *   0x82  SIGNED  signer to collector, the answer to a SIGN_*: the body
 *        it was sent, of the same length, with the key id and the
 *        signature filled in. Nothing else in it differs.
 *   0xff  ERROR  either way: 4 bytes, a positive errno value saying why
 *        (EBADMSG: not a checkpoint or cut body; ETIME: its time is
 *        too far from the signer's clock; EPROTO: a type it does not take).
 * A request gets exactly one answer, SIGNED or ERROR, before the next is
 * read; the collector waits for it before sending another.
 */
#ifndef PHITRAIL_PRIVSEP_H
#define PHITRAIL_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

#define PRIVSEP_MAGIC "PTPS"
#define PRIVSEP_VERSION 1
#define PRIVSEP_HEADER_BYTES 12
#define PRIVSEP_MAX_BODY 4096
#define PRIVSEP_MAX_FRAME (PRIVSEP_HEADER_BYTES + PRIVSEP_MAX_BODY)

enum privsep_type {
	PRIVSEP_SIGN_CHECKPOINT = 1,
	PRIVSEP_SIGN_CUT = 2,
	PRIVSEP_READY = 0x81,
	PRIVSEP_SIGNED = 0x82,
	PRIVSEP_ERROR = 0xff,
};

/* A decoded frame: body points into the buffer it was decoded from. */
struct privsep_frame {
	uint16_t type;
	const unsigned char *body;
	size_t len;
};

/* A sign request, decoded: which of the two it is, and its content. */
struct privsep_sign_request {
	uint16_t type;                  /* PRIVSEP_SIGN_CHECKPOINT or _CUT */
	struct checkpoint checkpoint;   /* for a SIGN_CHECKPOINT */
	struct checkpoint_cut cut;      /* for a SIGN_CUT */
};

/* Writes a frame of type with len body bytes into out (room bytes) and
 * sets *out_len: 0, or -EMSGSIZE when len is over PRIVSEP_MAX_BODY or the
 * frame does not fit in room. */
int privsep_frame_encode(uint16_t type, const void *body, size_t len,
			 unsigned char *out, size_t room, size_t *out_len);

/* Parses exactly len bytes as one frame: 0 or the codes above. */
int privsep_frame_decode(const unsigned char *buf, size_t len, struct privsep_frame *f);

/* A frame's body as a sign request: 0, -EPROTO for another type, -EBADMSG
 * for a body that is not a checkpoint (or cut) body as described above. */
int privsep_sign_request_parse(const struct privsep_frame *f,
			       struct privsep_sign_request *req);

/* The 4-byte body of an ERROR frame from a positive errno value, and back:
 * privsep_error_code gives -EBADMSG for a body that is not 4 bytes, and
 * maps 0 (which is not an error) to -EPROTO. */
void privsep_error_body(int errno_value, unsigned char out[4]);
int privsep_error_code(const struct privsep_frame *f);

#endif
