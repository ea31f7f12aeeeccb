/*
 * utf8.c - is this a valid UTF-8 sequence? The one check every writer of
 * outside bytes uses (the CLI's JSON and table output, the collector's
 * ATNA XML) to tell a character it may copy from a byte it must escape.
 *
 * Owns the definition of valid: no overlong forms, no surrogates, nothing
 * over U+10FFFF, no truncated sequence. Never reads past a NUL (a
 * continuation byte is never 0). No allocation, no state.
 */
#include "utf8.h"

static int
is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t
utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return is_continuation(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* E0 needs A0..BF (no overlongs); ED needs 80..9F (no surrogates) */
		unsigned char low = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char high = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < low || s[1] > high || !is_continuation(s[2]))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* F0 needs 90..BF (no overlongs); F4 needs 80..8F (<= U+10FFFF) */
		unsigned char low = c == 0xf0 ? 0x90 : 0x80;
		unsigned char high = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < low || s[1] > high || !is_continuation(s[2]) ||
		    !is_continuation(s[3]))
			return 0;
		return 4;
	}
	return 0;
}

