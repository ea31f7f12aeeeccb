/*
 * wrap_open.c - owns the open family: open, open64, openat, openat64,
 * creat, creat64 and the fortified __open_2 family.
 *
 * A PHI path that opens reports Created (O_CREAT that made the file: O_EXCL,
 * or one fstatat before the call found nothing) and Modified (O_TRUNC of a
 * file that existed); a PHI path refused with EACCES/EPERM reports Access
 * Denied. The descriptor is remembered (fdstate) so reads and writes report
 * Viewed and Modified once. A path that is not PHI costs a lexical match
 * and nothing else, plus one statx of the new descriptor (O_PATH ones too)
 * while some rule root was found (alias.c: a symlink or another mount may
 * have led into a PHI tree). Same return value, same errno, same descriptor as libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <bsd/string.h>

#include "real.h"
#include "shim.h"
#include "netstate.h"

enum open_entry {
	OPEN_ENTRY_OPEN, OPEN_ENTRY_OPEN64, OPEN_ENTRY_OPENAT,
	OPEN_ENTRY_OPENAT64, OPEN_ENTRY_CREAT, OPEN_ENTRY_CREAT64,
	OPEN_ENTRY_OPEN_2, OPEN_ENTRY_OPEN64_2, OPEN_ENTRY_OPENAT_2,
	OPEN_ENTRY_OPENAT64_2,
};

static inline int open_real(enum open_entry entry, int dirfd, const char *path,
		     int flags, mode_t mode)
{
	switch (entry) {
	case OPEN_ENTRY_OPEN: return REAL(open)(path, flags, mode);
	case OPEN_ENTRY_OPEN64: return REAL(open64)(path, flags, mode);
	case OPEN_ENTRY_OPENAT: return REAL(openat)(dirfd, path, flags, mode);
	case OPEN_ENTRY_OPENAT64: return REAL(openat64)(dirfd, path, flags, mode);
	case OPEN_ENTRY_CREAT: return REAL(creat)(path, mode);
	case OPEN_ENTRY_CREAT64: return REAL(creat64)(path, mode);
	case OPEN_ENTRY_OPEN_2: return REAL(__open_2)(path, flags);
	case OPEN_ENTRY_OPEN64_2: return REAL(__open64_2)(path, flags);
	case OPEN_ENTRY_OPENAT_2: return REAL(__openat_2)(dirfd, path, flags);
	case OPEN_ENTRY_OPENAT64_2: return REAL(__openat64_2)(dirfd, path, flags);
	}
	errno = ENOSYS;
	return -1;
}

/* What a descriptor opened with flags may do to its file (FD_* bits). */
static unsigned open_may(int flags)
{
	if (flags & O_PATH)
		return 0;
	if (flags & O_DIRECTORY)
		return FD_REPORTED_LISTED;
	switch (flags & O_ACCMODE) {
	case O_RDONLY: return FD_REPORTED_VIEWED;
	case O_WRONLY: return FD_REPORTED_MODIFIED;
	default: return FD_REPORTED_VIEWED | FD_REPORTED_MODIFIED;
	}
}

/*
 * After an open whose path matched no rule: when the file opened is PHI all
 * the same (alias.c), it is tracked and reported as if matched, target the
 * path as written (normal: its normal form, or NULL to make it here) and
 * detail.real_path the kernel's. Returns fd, or -1 with errno EACCES
 * (fd closed) when deny mode cannot hand a record off.
 */
__attribute__((noinline)) int
open_alias_phi(int fd, const struct statx *sx, const char *path,
	       const char *normal, int flags)
{
	struct policy_match m;
	struct record_detail detail[1];
	char flag_text[160];
	unsigned reported = 0;
	int saved_errno = errno;

	if (!alias_match_fd(fd, sx, &m))
		return fd;
	if (!shim_enter())
		return fd;
	alias_name_as_written(&m, normal, path);
	if (shim_may_proceed() < 0) {
		REAL(close)(fd);
		shim_leave();
		errno = EACCES;
		return -1;
	}
	if ((flags & O_TRUNC) && !(flags & O_PATH) &&
	    (flags & O_TMPFILE) != O_TMPFILE) {
		reported |= FD_REPORTED_MODIFIED;
		detail[0] = (struct record_detail){
			.key = "flags",
			.str = emit_open_flags(flags, flag_text, sizeof(flag_text)),
		};
		emit_path_event(EVENT_FILE_MODIFIED, &m, NULL, 0, detail, 1);
	}
	fdstate_track(fd, &m, reported, open_may(flags));
	shim_leave();
	errno = saved_errno;
	return fd;
}

/* The part every open pays while a rule root is known: one statx (and,
 * on a rule root's filesystem, a look into alias_seen.c's table). */
static inline __attribute__((always_inline)) int
open_alias(int fd, const char *path, const char *normal, int flags)
{
	struct statx sx;

	if (!alias_fd_on_phi_fs(fd, &sx) || alias_seen_outside(&sx))
		return fd;
	return open_alias_phi(fd, &sx, path, normal, flags);
}

static __attribute__((noinline)) int
open_audited(enum open_entry entry, int dirfd, const char *path, int flags,
	     mode_t mode)
{
	struct policy_match m;
	struct record_detail detail[1];
	char flag_text[160];
	int fd, saved_errno, existed = 1;
	unsigned reported = 0;

	if (!shim_enter())
		return open_real(entry, dirfd, path, flags, mode);
	if (!policy_match_at(dirfd, path, &m)) {
		shim_leave();
		fd = open_real(entry, dirfd, path, flags, mode);
		if (fd >= 0) {
			fdstate_close(fd);      /* a new description */
			if (alias_active)
				fd = open_alias(fd, path, m.path, flags);
		}
		return fd;
	}
	if ((flags & O_CREAT) && !(flags & O_EXCL)) {
		struct stat st;

		saved_errno = errno;
		existed = !(fstatat(dirfd, path, &st,
				    (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) != 0 &&
			    errno == ENOENT);
		errno = saved_errno;
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	fd = open_real(entry, dirfd, path, flags, mode);
	saved_errno = errno;
	/* the flags are spelt out only for a record that carries them */
#define OPEN_FLAGS_DETAIL() (detail[0] = (struct record_detail){ \
		.key = "flags", \
		.str = emit_open_flags(flags, flag_text, sizeof(flag_text)), \
	}, detail)
	if (fd < 0) {
		if (saved_errno == EACCES || saved_errno == EPERM)
			emit_path_event(EVENT_FILE_ACCESS_DENIED, &m, NULL,
					saved_errno, OPEN_FLAGS_DETAIL(), 1);
		goto out;
	}
	filedetect_patient(fd, &m);     /* protocol rules: patient by content */
	if ((flags & O_CREAT) && ((flags & O_EXCL) || !existed)) {
		reported |= FD_CREATED | FD_REPORTED_MODIFIED;
		emit_path_event(EVENT_FILE_CREATED, &m, NULL, 0,
				OPEN_FLAGS_DETAIL(), 1);
	} else if ((flags & O_TRUNC) && (flags & O_TMPFILE) != O_TMPFILE) {
		reported |= FD_REPORTED_MODIFIED;
		emit_path_event(EVENT_FILE_MODIFIED, &m, NULL, 0,
				OPEN_FLAGS_DETAIL(), 1);
	}
#undef OPEN_FLAGS_DETAIL
	fdstate_track(fd, &m, reported, open_may(flags));
out:
	shim_leave();
	errno = saved_errno;
	return fd;
}

/*
 * Every entry point: a path no rule can match goes straight to libc, with
 * only the forgetting of what the new descriptor number was.
 */
static inline __attribute__((always_inline)) int
open_entry(enum open_entry entry, int dirfd, const char *path, int flags,
	   mode_t mode)
{
	int fd;

	if (!shim_path_passes(path))
		return open_audited(entry, dirfd, path, flags, mode);
	fd = open_real(entry, dirfd, path, flags, mode);
	if (fd >= 0) {
		fdstate_close(fd);      /* a new description */
		if (alias_active)
			fd = open_alias(fd, path, NULL, flags);
	}
	return fd;
}

#define OPEN_MODE_ARG(flags, mode) do { \
	if (__OPEN_NEEDS_MODE(flags)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	} \
} while (0)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_entry(OPEN_ENTRY_OPEN, AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_entry(OPEN_ENTRY_OPEN64, AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_entry(OPEN_ENTRY_OPENAT, dirfd, path, flags, mode);
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE_ARG(flags, mode);
	return open_entry(OPEN_ENTRY_OPENAT64, dirfd, path, flags, mode);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	return open_entry(OPEN_ENTRY_CREAT, AT_FDCWD, path,
			    O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	return open_entry(OPEN_ENTRY_CREAT64, AT_FDCWD, path,
			    O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
	return open_entry(OPEN_ENTRY_OPEN_2, AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	return open_entry(OPEN_ENTRY_OPEN64_2, AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return open_entry(OPEN_ENTRY_OPENAT_2, dirfd, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_entry(OPEN_ENTRY_OPENAT64_2, dirfd, path, flags, 0);
}
