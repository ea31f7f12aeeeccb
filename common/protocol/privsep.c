/*
 * privsep.c - frames of the protocol between phitraild's processes, and
 * the one body the signer takes, a checkpoint or cut to sign (privsep.h
 * has the byte layout).
 * Owns encoding and strict decoding: every length checked before it is
 * used, short input and trailing bytes refused. Must never sign, hold a
 * key or do I/O: the processes do that (collector/signer.c).
 */
#include <errno.h>
#include <string.h>

#include "privsep.h"
#include "byteorder.h"

#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_TYPE 6
#define OFF_LEN 8

/* Key id and signature: where a body to sign must hold zeros. */
#define UNSIGNED_FROM (CHECKPOINT_SIGNED_BYTES - CHECKPOINT_KEY_ID_BYTES)

int privsep_frame_encode(uint16_t type, const void *body, size_t len,
			 unsigned char *out, size_t room, size_t *out_len)
{
	if (len > PRIVSEP_MAX_BODY || room < PRIVSEP_HEADER_BYTES + len)
		return -EMSGSIZE;
	memcpy(out + OFF_MAGIC, PRIVSEP_MAGIC, 4);
	le16_put(out + OFF_VERSION, PRIVSEP_VERSION);
	le16_put(out + OFF_TYPE, type);
	le32_put(out + OFF_LEN, (uint32_t)len);
	if (len > 0)
		memcpy(out + PRIVSEP_HEADER_BYTES, body, len);
	*out_len = PRIVSEP_HEADER_BYTES + len;
	return 0;
}

int privsep_frame_decode(const unsigned char *buf, size_t len, struct privsep_frame *f)
{
	uint32_t body_len;

	if (len < PRIVSEP_HEADER_BYTES)
		return -EMSGSIZE;
	if (memcmp(buf + OFF_MAGIC, PRIVSEP_MAGIC, 4) != 0)
		return -ENOMSG;
	if (le16_get(buf + OFF_VERSION) != PRIVSEP_VERSION)
		return -EPROTONOSUPPORT;
	body_len = le32_get(buf + OFF_LEN);
	if (body_len > PRIVSEP_MAX_BODY || len - PRIVSEP_HEADER_BYTES != body_len)
		return -EMSGSIZE;
	f->type = le16_get(buf + OFF_TYPE);
	f->body = buf + PRIVSEP_HEADER_BYTES;
	f->len = body_len;
	return 0;
}

/* Whether bytes from..len of body are all zeros (key id and signature). */
static int unsigned_tail(const unsigned char *body, size_t from, size_t len)
{
	unsigned char any = 0;
	size_t i;

	for (i = from; i < len; i++)
		any |= body[i];
	return any == 0;
}

int privsep_sign_request_parse(const struct privsep_frame *f,
			       struct privsep_sign_request *req)
{
	memset(req, 0, sizeof(*req));
	req->type = f->type;
	switch (f->type) {
	case PRIVSEP_SIGN_CHECKPOINT:
		if (checkpoint_decode(f->body, f->len, &req->checkpoint) < 0 ||
		    !unsigned_tail(f->body, UNSIGNED_FROM, f->len))
			return -EBADMSG;
		return 0;
	case PRIVSEP_SIGN_CUT:
		if (checkpoint_cut_decode(f->body, f->len, &req->cut) < 0)
			return -EBADMSG;
		/* key id at 92..99, signature: the last 64 bytes */
		if (!unsigned_tail(f->body, UNSIGNED_FROM, UNSIGNED_FROM +
				   CHECKPOINT_KEY_ID_BYTES) ||
		    !unsigned_tail(f->body, f->len - CHECKPOINT_SIGNATURE_BYTES, f->len))
			return -EBADMSG;
		return 0;
	default:
		return -EPROTO;
	}
}

void privsep_error_body(int errno_value, unsigned char out[4])
{
	le32_put(out, (uint32_t)errno_value);
}

int privsep_error_code(const struct privsep_frame *f)
{
	uint32_t v;

	if (f->type != PRIVSEP_ERROR || f->len != 4)
		return -EBADMSG;
	v = le32_get(f->body);
	if (v == 0 || v > 4095)
		return -EPROTO;
	return -(int)v;
}
