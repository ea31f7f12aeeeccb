/*
 * fdstate.c - owns the table of descriptors that are open PHI files.
 *
 * Two static arrays, no malloc: fdstate_slot_of_fd[fd] is 0 or 1 + the
 * index of a phi_file, and each phi_file (one open file description, shared
 * by dup'ed descriptors) has a reference count, 0 when free. Lookups for
 * descriptors that are not PHI cost one relaxed load; everything else is
 * lock-free atomics, so two threads reading one descriptor report one
 * Viewed between them. Descriptors above FDSTATE_MAX_FDS and PHI files
 * beyond FDSTATE_MAX_FILES open at once are not tracked (fdstate_track
 * then has the opening reported at once).
 * This file never makes a system call except at start-up
 * (fdstate_adopt_inherited) and in fdstate_track's rare report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"
#include "netstate.h"

uint16_t fdstate_slot_of_fd[FDSTATE_MAX_FDS];
unsigned fdstate_high;
static unsigned fdstate_refs[FDSTATE_MAX_FILES];
static struct phi_file fdstate_files[FDSTATE_MAX_FILES];

/* strlcpy for a string that usually fits: one strnlen, one memcpy. */
static inline void fdstate_copy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (src[0] == '\0') {           /* real and inode mostly: no calls */
		dst[0] = '\0';
		return;
	}
	n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void fdstate_unref(unsigned slot)
{
	if (slot == 0)
		return;
	if (slot & NETSTATE_SLOT_SOCKET) {
		netstate_unref(slot);          /* a PHI socket (netstate.c) */
		return;
	}
	__atomic_sub_fetch(&fdstate_refs[slot - 1], 1, __ATOMIC_ACQ_REL);
}

/* Takes a reference on slot (1-based) unless it is free. */
static int fdstate_ref(unsigned slot)
{
	unsigned *refs, n;

	if (slot & NETSTATE_SLOT_SOCKET)
		return netstate_ref(slot);
	refs = &fdstate_refs[slot - 1];
	n = __atomic_load_n(refs, __ATOMIC_ACQUIRE);

	while (n != 0) {
		if (__atomic_compare_exchange_n(refs, &n, n + 1, 1,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

/* Installs slot (with a reference already taken for fd) as fd's state. */
static void fdstate_install(int fd, unsigned slot)
{
	unsigned high = __atomic_load_n(&fdstate_high, __ATOMIC_RELAXED);

	while (slot != 0 && (unsigned)fd >= high &&
	       !__atomic_compare_exchange_n(&fdstate_high, &high, (unsigned)fd + 1,
					    1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	unsigned old = __atomic_exchange_n(&fdstate_slot_of_fd[fd],
					   (uint16_t)slot, __ATOMIC_ACQ_REL);

	fdstate_unref(old);
}

void fdstate_set_slot(int fd, unsigned slot)
{
	if (fd >= 0 && fd < FDSTATE_MAX_FDS)
		fdstate_install(fd, slot);
}

int fdstate_open(int fd, const struct policy_match *m, unsigned reported)
{
	if (fd < 0 || fd >= FDSTATE_MAX_FDS)
		return -EBADF;
	for (unsigned i = 0; i < FDSTATE_MAX_FILES; i++) {
		unsigned zero = 0;
		struct phi_file *f = &fdstate_files[i];

		if (__atomic_load_n(&fdstate_refs[i], __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&fdstate_refs[i], &zero, 1, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		f->rule = m->rule;
		fdstate_copy(f->path, m->path, sizeof(f->path));
		fdstate_copy(f->patient, m->patient, sizeof(f->patient));
		fdstate_copy(f->real, m->real, sizeof(f->real));
		fdstate_copy(f->inode, m->inode, sizeof(f->inode));
		__atomic_store_n(&f->reported, reported, __ATOMIC_RELEASE);
		fdstate_install(fd, i + 1);
		return 0;
	}
	fdstate_close(fd);
	return -ENOSPC;
}

struct phi_file *fdstate_get_slow(int fd)
{
	unsigned slot;

	if (shim_busy())
		return NULL;
	for (;;) {
		slot = __atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_ACQUIRE);
		if (slot == 0 || (slot & NETSTATE_SLOT_SOCKET) ||
		    !fdstate_ref(slot))
			return NULL;
		if (__atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_ACQUIRE) ==
		    slot)
			return &fdstate_files[slot - 1];
		fdstate_unref(slot);     /* replaced meanwhile: look again */
	}
}

int fdstate_describe(int fd, struct policy_match *m, unsigned *reported)
{
	unsigned slot;
	const struct phi_file *f;

	m->rule = -1;
	m->path[0] = '\0';
	m->patient[0] = '\0';
	m->real[0] = '\0';
	m->inode[0] = '\0';
	if ((unsigned)fd >= FDSTATE_MAX_FDS)
		return 0;
	slot = __atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_ACQUIRE);
	if (slot == 0 || slot > FDSTATE_MAX_FILES || !fdstate_ref(slot))
		return 0;                  /* not a file (a socket's slot) */
	f = &fdstate_files[slot - 1];
	m->rule = f->rule;
	fdstate_copy(m->path, f->path, sizeof(m->path));
	fdstate_copy(m->patient, f->patient, sizeof(m->patient));
	fdstate_copy(m->real, f->real, sizeof(m->real));
	fdstate_copy(m->inode, f->inode, sizeof(m->inode));
	if (reported != NULL)
		*reported = __atomic_load_n(&f->reported, __ATOMIC_ACQUIRE);
	fdstate_unref(slot);
	return 1;
}

void fdstate_put(struct phi_file *f)
{
	if (f != NULL)
		fdstate_unref((unsigned)(f - fdstate_files) + 1);
}

int fdstate_mark(struct phi_file *f, unsigned bit)
{
	return !(__atomic_fetch_or(&f->reported, bit, __ATOMIC_ACQ_REL) & bit);
}

void fdstate_close_slow(int fd)
{
	fdstate_install(fd, 0);
}

void fdstate_dup(int oldfd, int newfd)
{
	unsigned slot = 0;

	if (newfd < 0 || newfd >= FDSTATE_MAX_FDS || oldfd == newfd)
		return;
	if (oldfd >= 0 && oldfd < FDSTATE_MAX_FDS) {
		slot = __atomic_load_n(&fdstate_slot_of_fd[oldfd],
				       __ATOMIC_ACQUIRE);
		if (slot != 0 && !fdstate_ref(slot))
			slot = 0;
	}
	fdstate_install(newfd, slot);
}

void fdstate_close_range(unsigned first, unsigned last)
{
	unsigned high = __atomic_load_n(&fdstate_high, __ATOMIC_RELAXED);

	if (high == 0)
		return;
	if (last >= high)
		last = high - 1;
	for (unsigned fd = first; fd <= last && first < FDSTATE_MAX_FDS; fd++)
		if (__atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_RELAXED))
			fdstate_install((int)fd, 0);
}

/*
 * A shell opens a redirect target, then execs the program: the program
 * reads or writes a PHI file it never opened. Looks at each inherited
 * descriptor once at start-up (raw getdents64, no allocation).
 */
void fdstate_adopt_inherited(void)
{
	char buf[4096];
	int dir;
	long n;

	dir = REAL(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			struct policy_match m;
			char target[PATH_MAX];
			ssize_t len;
			char *end;
			long fd;

			off += d->d_reclen;
			fd = strtol(d->d_name, &end, 10);
			if (*end != '\0' || end == d->d_name || fd == dir ||
			    fd < 0 || fd >= FDSTATE_MAX_FDS)
				continue;
			/* relative to the directory: no walk through
			 * /proc/self per descriptor (7-8 -> 5 us each here) */
			len = readlinkat(dir, d->d_name, target,
					 sizeof(target) - 1);
			if (len <= 0 || (size_t)len >= sizeof(target) - 1 ||
			    target[0] != '/')
				continue;
			target[len] = '\0';
			if (policy_match_at(AT_FDCWD, target, &m))
				(void)fdstate_open((int)fd, &m, 0);
		}
	}
	REAL(close)(dir);
}

void fdstate_track(int fd, const struct policy_match *m, unsigned reported,
		   unsigned may)
{
	static const struct { unsigned bit; enum event_type type; } reports[] = {
		{ FD_REPORTED_VIEWED, EVENT_FILE_VIEWED },
		{ FD_REPORTED_MODIFIED, EVENT_FILE_MODIFIED },
		{ FD_REPORTED_LISTED, EVENT_DIRECTORY_LISTED },
	};
	struct record_detail detail[1] = { {
		.key = "untracked",
		.str = fd >= FDSTATE_MAX_FDS ? "descriptor beyond the shim's table" :
			"too many PHI files open at once",
	} };

	if (fd < 0 || fdstate_open(fd, m, reported) == 0)
		return;
	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if ((may & reports[i].bit) && !(reported & reports[i].bit))
			emit_path_event(reports[i].type, m, NULL, 0, detail, 1);
}
