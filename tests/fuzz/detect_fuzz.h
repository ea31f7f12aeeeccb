/*
 * detect_fuzz.h - the one libFuzzer body the content detectors share.
 *
 * The first two input bytes seed the split points, the rest is the stream.
 * The stream is fed once whole and once cut at pseudo-random points; both
 * must find exactly the same messages and give up for the same reason (a
 * detector must not depend on how the bytes arrive), and every message must
 * keep detect.h's promises: NUL-terminated strings, no control bytes.
 */
#ifndef PHITRAIL_DETECT_FUZZ_H
#define PHITRAIL_DETECT_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

#define FUZZ_MAX_MESSAGES 64

static void fuzz_check_string(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();               /* not NUL-terminated */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void fuzz_check_message(const struct detect_message *m)
{
	fuzz_check_string(m->message_type, sizeof(m->message_type));
	fuzz_check_string(m->patient, sizeof(m->patient));
	fuzz_check_string(m->identifiers, sizeof(m->identifiers));
	if (m->patient[0] && strncmp(m->identifiers, m->patient, strlen(m->patient)) != 0)
		abort();               /* the patient is the first identifier */
}

static int fuzz_same(const struct detect_message *a, const struct detect_message *b)
{
	return strcmp(a->message_type, b->message_type) == 0 &&
	    strcmp(a->patient, b->patient) == 0 &&
	    strcmp(a->identifiers, b->identifiers) == 0 &&
	    a->bytes == b->bytes && a->flags == b->flags;
}

static size_t fuzz_run(enum detect_protocol p, const uint8_t *data, size_t len,
		       uint32_t seed, struct detect_message *out,
		       struct detect_stream *s)
{
	size_t got = 0, i = 0;

	detect_stream_init(s, p);
	while (i < len) {
		size_t n = len - i;

		if (seed) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = 1 + seed % 37;
			if (n > len - i)
				n = len - i;
		}
		got += detect_stream_feed(s, data + i, n, out + got,
		    FUZZ_MAX_MESSAGES - got);
		i += n;
	}
	got += detect_stream_end(s, out + got, FUZZ_MAX_MESSAGES - got);
	return got;
}

static int fuzz_detector(enum detect_protocol p, const uint8_t *data, size_t size)
{
	static struct detect_stream whole, split;
	static struct detect_message a[FUZZ_MAX_MESSAGES], b[FUZZ_MAX_MESSAGES];
	uint32_t seed;
	size_t na, nb;

	if (size < 2)
		return 0;
	seed = (uint32_t)(data[0] | data[1] << 8) | 0x10000u;
	data += 2;
	size -= 2;
	na = fuzz_run(p, data, size, 0, a, &whole);
	nb = fuzz_run(p, data, size, seed, b, &split);
	if (na > FUZZ_MAX_MESSAGES || nb > FUZZ_MAX_MESSAGES)
		abort();
	if (whole.messages != split.messages)
		abort();
	if (na != nb)
		abort();
	for (size_t i = 0; i < na; i++) {
		fuzz_check_message(&a[i]);
		if (!fuzz_same(&a[i], &b[i]))
			abort();
	}
	if ((whole.gave_up == NULL) != (split.gave_up == NULL) ||
	    (whole.gave_up && strcmp(whole.gave_up, split.gave_up) != 0))
		abort();
	return 0;
}

#endif
