/*
 * fuzz_phi_inodes.c - the hard-link index as the shim maps it, from
 * arbitrary bytes: phi_inodes_valid accepts only whole, well-formed files,
 * and a lookup in an accepted one returns an entry inside it that has the
 * identity asked for, or NULL.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "phi_inodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t dev = 0, ino = 0;
	const struct phi_inode *e;
	/* aligned copy, as a mapping is */
	static uint64_t buf[(16 + 24 * 4096) / 8];

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (size >= 32) {
		memcpy(&dev, data + size - 16, 8);
		memcpy(&ino, data + size - 8, 8);
	}
	e = phi_inodes_find(buf, size, dev, ino);
	if (!phi_inodes_valid(buf, size)) {
		assert(e == NULL);
		return 0;
	}
	if (e != NULL) {
		assert((const char *)e >= (const char *)buf + 16);
		assert((const char *)(e + 1) <= (const char *)buf + size);
		assert(e->dev == dev && e->ino == ino);
	}
	return 0;
}
