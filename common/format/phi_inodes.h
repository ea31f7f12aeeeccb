/*
 * phi_inodes.h - the index of PHI files that have more than one name (hard
 * links), so that a file reached by a link outside the tree is still known
 * as PHI by its identity (device, inode), not its name. The collector
 * writes it into its spool directory (phi_inodes.c: encode); the shim maps
 * it read-only and looks identities up. It holds no names and no patients
 * (every program may read it): the collector, which keeps the names, adds
 * the patient and the real path to the record.
 *
 * Bytes, host byte order (the file never leaves the host):
 *    0   8  magic "PHTINO1\0"
 *    8   4  count: entries that follow
 *   12   4  0
 *   16  24  x count: dev (8: major << 32 | minor), ino (8), rule (4: index
 *           into the configuration's rules), 0 (4)
 * Entries are sorted by dev, then ino; the file is exactly 16 + 24 x count
 * bytes. Anything else is not an index (phi_inodes_find answers NULL).
 */
#ifndef PHITRAIL_PHI_INODES_H
#define PHITRAIL_PHI_INODES_H

#include <stddef.h>
#include <stdint.h>

#define PHI_INODES_NAME "phi-inodes"
#define PHI_INODES_MAGIC "PHTINO1"        /* 8 bytes with its NUL */
#define PHI_INODES_MAX (1u << 22)         /* entries: 96 MiB at most */

struct phi_inodes_header {
	char magic[8];
	uint32_t count, zero;
};

struct phi_inode {
	uint64_t dev, ino;
	uint32_t rule, zero;
};

/* 1 when map (size bytes) is a whole, well-formed index, else 0. */
int phi_inodes_valid(const void *map, size_t size);

/*
 * The entry for (dev, ino) in an index phi_inodes_valid accepted, or NULL.
 * A binary search: no allocation, no system call.
 */
const struct phi_inode *phi_inodes_find(const void *map, size_t size,
					uint64_t dev, uint64_t ino);

/* qsort order of entries: dev, then ino. */
int phi_inodes_compare(const void *a, const void *b);

#endif
