/*
 * utf8.h - UTF-8 validity (utf8.c).
 */
#ifndef PHITRAIL_UTF8_H
#define PHITRAIL_UTF8_H

#include <stddef.h>

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one.
 * s is NUL-terminated; NUL itself is a sequence of 1.
 */
size_t utf8_sequence(const unsigned char *s);

#endif
