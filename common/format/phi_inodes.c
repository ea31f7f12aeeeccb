/*
 * phi_inodes.c - owns the byte layout of the hard-link index (see
 * phi_inodes.h): checking a mapped file and finding an identity in it.
 * Pure logic on caller's bytes: never allocates, never does I/O, never
 * trusts a count the size does not back.
 */
#include <string.h>

#include "phi_inodes.h"

_Static_assert(sizeof(struct phi_inodes_header) == 16, "header is 16 bytes");
_Static_assert(sizeof(struct phi_inode) == 24, "entry is 24 bytes");

int phi_inodes_valid(const void *map, size_t size)
{
	struct phi_inodes_header h;

	if (map == NULL || size < sizeof(h))
		return 0;
	memcpy(&h, map, sizeof(h));
	return memcmp(h.magic, PHI_INODES_MAGIC, sizeof(h.magic)) == 0 &&
		h.zero == 0 && h.count <= PHI_INODES_MAX &&
		size == sizeof(h) + (size_t)h.count * sizeof(struct phi_inode);
}

int phi_inodes_compare(const void *a, const void *b)
{
	const struct phi_inode *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

const struct phi_inode *phi_inodes_find(const void *map, size_t size,
					uint64_t dev, uint64_t ino)
{
	const struct phi_inode *e;
	struct phi_inode key = { .dev = dev, .ino = ino };
	size_t lo = 0, hi;

	if (!phi_inodes_valid(map, size))
		return NULL;
	e = (const struct phi_inode *)((const char *)map +
				       sizeof(struct phi_inodes_header));
	hi = (size - sizeof(struct phi_inodes_header)) / sizeof(*e);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = phi_inodes_compare(&e[mid], &key);

		if (c == 0)
			return &e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
