/*
 * handoff_notice.c - the "runs unaudited" notice of the ingest socket
 * (byte layout in handoff.h): written by a shim that audits nothing, read
 * by the collector.
 *
 * Pure bytes: no allocation, no system call, nothing kept. The decoder is
 * for bytes from any local process: every length is checked against the
 * message's size before a byte is copied, and a text holding NUL is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "handoff.h"

static size_t text_length(const char *s)
{
	return s == NULL ? 0 : strnlen(s, HANDOFF_NOTICE_TEXT_MAX);
}

size_t handoff_notice_encode(const char *exe, const char *reason,
			     unsigned char out[HANDOFF_NOTICE_MAX_BYTES])
{
	size_t e = text_length(exe), r = text_length(reason);

	memcpy(out, HANDOFF_NOTICE_MAGIC, 8);
	out[8] = HANDOFF_VERSION;
	out[9] = out[10] = out[11] = 0;
	out[12] = (unsigned char)e;
	out[13] = (unsigned char)(e >> 8);
	out[14] = (unsigned char)r;
	out[15] = (unsigned char)(r >> 8);
	if (e > 0)
		memcpy(out + HANDOFF_NOTICE_HEAD_BYTES, exe, e);
	if (r > 0)
		memcpy(out + HANDOFF_NOTICE_HEAD_BYTES + e, reason, r);
	return HANDOFF_NOTICE_HEAD_BYTES + e + r;
}

static int fail(const char **why, const char *message)
{
	if (why != NULL)
		*why = message;
	return -EBADMSG;
}

int handoff_notice_decode(const unsigned char *buf, size_t len, char *exe,
			  char *reason, const char **why)
{
	size_t e, r;
	uint32_t version;

	exe[0] = reason[0] = '\0';
	if (len < HANDOFF_NOTICE_HEAD_BYTES)
		return fail(why, "notice shorter than its header");
	if (memcmp(buf, HANDOFF_NOTICE_MAGIC, 8) != 0)
		return fail(why, "wrong magic");
	version = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 |
		(uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
	if (version != HANDOFF_VERSION)
		return fail(why, "unsupported protocol version");
	e = (size_t)buf[12] | (size_t)buf[13] << 8;
	r = (size_t)buf[14] | (size_t)buf[15] << 8;
	if (e > HANDOFF_NOTICE_TEXT_MAX || r > HANDOFF_NOTICE_TEXT_MAX || r == 0)
		return fail(why, "text length out of range");
	if (len != HANDOFF_NOTICE_HEAD_BYTES + e + r)
		return fail(why, "length does not match the texts");
	buf += HANDOFF_NOTICE_HEAD_BYTES;
	if (memchr(buf, '\0', e + r) != NULL)
		return fail(why, "text holds a NUL byte");
	memcpy(exe, buf, e);
	exe[e] = '\0';
	memcpy(reason, buf + e, r);
	reason[r] = '\0';
	return 0;
}
