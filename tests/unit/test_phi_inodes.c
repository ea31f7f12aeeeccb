/*
 * test_phi_inodes.c - the hard-link index's layout (phi_inodes.h): whole
 * files accepted, a byte short or one past refused, the count at its limit
 * and one past it, lookups of present and absent identities.
 */
#include <stdlib.h>
#include <string.h>

#include "phi_inodes.h"
#include "unit.h"

/* An index of n entries (dev 7, ino 10, 20, 30 ...) in a fresh buffer. */
static void *make_index(uint32_t n, size_t *size)
{
	struct phi_inodes_header h = { .count = n };
	char *buf;

	*size = sizeof(h) + (size_t)n * sizeof(struct phi_inode);
	buf = calloc(1, *size + 1);
	memcpy(h.magic, PHI_INODES_MAGIC, sizeof(h.magic));
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < n; i++) {
		struct phi_inode e = { .dev = 7, .ino = 10 * (uint64_t)(i + 1) };

		memcpy(buf + sizeof(h) + i * sizeof(e), &e, sizeof(e));
	}
	return buf;
}

static void test_lookup(void)
{
	size_t size;
	void *idx = make_index(5, &size);
	const struct phi_inode *e;

	CHECK_INT(phi_inodes_valid(idx, size), 1);
	e = phi_inodes_find(idx, size, 7, 30);
	CHECK_INT(e != NULL, 1);
	CHECK_INT(e != NULL && e->ino == 30, 1);
	CHECK_INT(phi_inodes_find(idx, size, 7, 10) != NULL, 1);
	CHECK_INT(phi_inodes_find(idx, size, 7, 50) != NULL, 1);
	CHECK_INT(phi_inodes_find(idx, size, 7, 35) == NULL, 1);
	CHECK_INT(phi_inodes_find(idx, size, 8, 30) == NULL, 1);
	free(idx);
}

static void test_sizes(void)
{
	size_t size;
	void *idx = make_index(3, &size);

	CHECK_INT(phi_inodes_valid(idx, size - 1), 0);     /* a byte short */
	CHECK_INT(phi_inodes_valid(idx, size + 1), 0);     /* one past */
	CHECK_INT(phi_inodes_find(idx, size + 1, 7, 10) == NULL, 1);
	CHECK_INT(phi_inodes_valid(idx, 15), 0);           /* no whole header */
	memcpy(idx, "PHTINO2", 8);
	CHECK_INT(phi_inodes_valid(idx, size), 0);         /* another magic */
	free(idx);
	idx = make_index(0, &size);
	CHECK_INT(phi_inodes_valid(idx, size), 1);         /* empty is fine */
	CHECK_INT(phi_inodes_find(idx, size, 7, 10) == NULL, 1);
	free(idx);
}

static void test_count_limit(void)
{
	struct phi_inodes_header h = { .count = PHI_INODES_MAX };
	size_t size = sizeof(h) + (size_t)PHI_INODES_MAX * sizeof(struct phi_inode);
	char *buf = calloc(1, size + sizeof(struct phi_inode));

	memcpy(h.magic, PHI_INODES_MAGIC, sizeof(h.magic));
	memcpy(buf, &h, sizeof(h));
	CHECK_INT(phi_inodes_valid(buf, size), 1);         /* at the limit */
	h.count = PHI_INODES_MAX + 1;
	memcpy(buf, &h, sizeof(h));
	CHECK_INT(phi_inodes_valid(buf, size + sizeof(struct phi_inode)), 0);
	free(buf);
}

int main(void)
{
	RUN(test_lookup);
	RUN(test_sizes);
	RUN(test_count_limit);
	return unit_done();
}
