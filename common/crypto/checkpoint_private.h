/*
 * checkpoint_private.h - what checkpoint.c (checkpoints and cuts) and
 * checkpoint_key.c (keys and their files) share; nothing else includes it.
 */
#ifndef PHITRAIL_CHECKPOINT_PRIVATE_H
#define PHITRAIL_CHECKPOINT_PRIVATE_H

#include <stddef.h>
#include <sys/types.h>

/* Strict hex: every character a digit, an even count, at most room bytes
 * out. 0 and *out_len, -EINVAL for anything not hex, -EMSGSIZE when the
 * decoded length exceeds room. */
int checkpoint_hex_decode(const char *text, size_t len, unsigned char *out,
			  size_t room, size_t *out_len);

/* The length without one trailing "\n". */
size_t checkpoint_without_newline(const char *text, size_t len);

/* Reads a small regular file whole: -EMSGSIZE when it holds more than
 * room bytes. *mode gets its permission bits. */
int checkpoint_read_small_file(const char *path, char *buf, size_t room,
			       size_t *len, mode_t *mode);

#endif
