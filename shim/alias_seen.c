/*
 * alias_seen.c - owns remembering the files alias.c already found outside
 * every rule root, so that a file opened again costs its statx and not
 * another readlink of /proc/self/fd/N (about 3 us here, as much as the
 * open, read and close it follows).
 *
 * A file is remembered by what the kernel's statx says of it: device,
 * inode, mount and change time (ctime), and only while it has one name
 * (a regular file with nlink 1: a hard link is always looked up in the
 * collector's index). Whatever moves or renames the file itself, links or
 * unlinks it, or writes or chmods it changes its ctime, and a bind mount
 * or another mount namespace its mount id: the next open then misses and
 * looks again. What it does not see: a directory above the file moved
 * into a rule's tree by another process while the file itself is left
 * untouched, then the same file opened by a name outside the tree (a
 * symlink made after the move) in a process that had opened it before
 * the move (README, "Limits"). A file changed in the last
 * ALIAS_SEEN_SETTLE_NS is not remembered (coarse timestamps, below).
 *
 * A table of ALIAS_SEEN_SLOTS entries, two ways per file (its pair by a
 * hash of device and inode), each entry guarded by its own sequence count: lock-free, async-signal-safe (a writer interrupted
 * by a handler on its thread leaves the slot odd, which readers take as a
 * miss and writers skip), fork-safe (a child sees the same files), no
 * allocation, no system call.
 */
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "shim.h"

#define ALIAS_SEEN_BITS 10
#define ALIAS_SEEN_SLOTS (1u << ALIAS_SEEN_BITS)
#define ALIAS_SEEN_SETTLE_NS 100000000        /* 100 ms */

struct alias_seen {
	unsigned seq;                      /* atomic: odd while written */
	uint32_t ctime_nsec;
	uint64_t ino, dev, mnt_id;
	int64_t ctime_sec;
};

static struct alias_seen alias_seen_table[ALIAS_SEEN_SLOTS];

#define ALIAS_SEEN_MASK (STATX_TYPE | STATX_NLINK | STATX_INO | STATX_MNT_ID | \
			 STATX_CTIME)

/* stx_dev_major and stx_dev_minor as one word (the pair is adjacent). */
static inline uint64_t alias_seen_dev(const struct statx *sx)
{
	return (uint64_t)sx->stx_dev_major << 32 | sx->stx_dev_minor;
}

/* The first of the two entries a file may be kept in (index even). */
static inline struct alias_seen *alias_seen_pair(const struct statx *sx)
{
	uint64_t h = (sx->stx_ino ^ ((uint64_t)sx->stx_dev_minor << 40)) *
		0x9e3779b97f4a7c15ull;

	return &alias_seen_table[(h >> (64 - ALIAS_SEEN_BITS)) & ~1u];
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* 1 when e holds sx's file as it is now, read whole (not mid-write). */
static inline int alias_seen_holds(struct alias_seen *e, const struct statx *sx)
{
	unsigned seq = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
	int same;

	if (LOAD(e->ino) != sx->stx_ino || (seq & 1))
		return 0;                  /* the common miss: one compare */
	same = LOAD(e->ctime_nsec) == sx->stx_ctime.tv_nsec &&
		LOAD(e->ctime_sec) == sx->stx_ctime.tv_sec &&
		LOAD(e->mnt_id) == sx->stx_mnt_id &&
		LOAD(e->dev) == alias_seen_dev(sx);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return same && LOAD(e->seq) == seq;
}

int alias_seen_outside(const struct statx *sx)
{
	struct alias_seen *e = alias_seen_pair(sx);

	if ((sx->stx_mask & ALIAS_SEEN_MASK) != ALIAS_SEEN_MASK)
		return 0;
	return alias_seen_holds(&e[0], sx) || alias_seen_holds(&e[1], sx);
}

/*
 * 1 when the file's ctime is at least ALIAS_SEEN_SETTLE_NS old: a kernel
 * without fine-grained timestamps (before 6.13) stamps changes from a
 * clock that moves every few milliseconds, so a change made in the same
 * tick as the last one could leave ctime as it was. Read from the same
 * coarse clock (vDSO, no system call).
 */
static int alias_seen_settled(const struct statx *sx)
{
	struct timespec now;
	int64_t age;

	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) != 0)
		return 0;
	age = ((int64_t)now.tv_sec - sx->stx_ctime.tv_sec) * 1000000000 +
		((int64_t)now.tv_nsec - sx->stx_ctime.tv_nsec);
	return age >= ALIAS_SEEN_SETTLE_NS;
}

/* Where to keep sx's file: the entry of the pair that holds it (an older
 * ctime) or is empty, else one of the two by the ctime's low bit. */
static struct alias_seen *alias_seen_victim(struct alias_seen *pair,
					    const struct statx *sx)
{
	for (int i = 0; i < 2; i++)
		if (LOAD(pair[i].ino) == sx->stx_ino || LOAD(pair[i].seq) == 0)
			return &pair[i];
	return &pair[sx->stx_ctime.tv_nsec & 1];
}

void alias_seen_note(const struct statx *sx)
{
	struct alias_seen *e;
	unsigned seq;

	if ((sx->stx_mask & ALIAS_SEEN_MASK) != ALIAS_SEEN_MASK ||
	    !S_ISREG(sx->stx_mode) || sx->stx_nlink != 1 || sx->stx_ino == 0 ||
	    !alias_seen_settled(sx))
		return;
	e = alias_seen_victim(alias_seen_pair(sx), sx);
	seq = LOAD(e->seq);
	if ((seq & 1) || !__atomic_compare_exchange_n(&e->seq, &seq, seq + 1, 0,
						      __ATOMIC_ACQUIRE,
						      __ATOMIC_RELAXED))
		return;                    /* another writer has it: skip */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE(e->ino, sx->stx_ino);
	STORE(e->dev, alias_seen_dev(sx));
	STORE(e->mnt_id, sx->stx_mnt_id);
	STORE(e->ctime_sec, sx->stx_ctime.tv_sec);
	STORE(e->ctime_nsec, sx->stx_ctime.tv_nsec);
	__atomic_store_n(&e->seq, seq + 2, __ATOMIC_RELEASE);
}
