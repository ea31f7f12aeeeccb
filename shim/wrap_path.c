/*
 * wrap_path.c - owns the calls that act on a path without opening it:
 * unlink, unlinkat, remove (Deleted), rename, renameat, renameat2 (Renamed:
 * target = old path, target2 = new path; PHI when either side matches,
 * patient and rule from the new side's match, else the old's), truncate,
 * truncate64 (Modified), and chdir/fchdir, which only drop the cached
 * working directory.
 *
 * A PHI path refused with EACCES or EPERM reports Access Denied. In deny
 * mode a PHI call whose record cannot be handed off fails with EACCES
 * without being performed. Same return value and errno as libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

/*
 * 1: a PHI path, to be audited (guard held); 0: pass through; -1: refused
 * in deny mode (errno EACCES).
 */
static int path_begin(int dirfd, const char *path, struct policy_match *m)
{
	if (!shim_enter())
		return 0;
	if (!policy_match_at(dirfd, path, m)) {
		shim_leave();
		return 0;
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	return 1;
}

/* After the real call: reports, releases the guard, keeps ret and errno. */
static int path_end(int ret, enum event_type ok_event,
		    const struct policy_match *m)
{
	int saved_errno = errno;

	if (ret == 0)
		emit_path_event(ok_event, m, NULL, 0, NULL, 0);
	else if (saved_errno == EACCES || saved_errno == EPERM)
		emit_path_event(EVENT_FILE_ACCESS_DENIED, m, NULL, saved_errno,
				NULL, 0);
	shim_leave();
	errno = saved_errno;
	return ret;
}

#define PATH_WRAP(dirfd, path, event, call) do { \
	struct policy_match m_; \
	int rc_ = path_begin(dirfd, path, &m_); \
	if (rc_ == 0) \
		return call; \
	if (rc_ < 0) \
		return -1; \
	return path_end(call, event, &m_); \
} while (0)

SHIM_EXPORT int unlink(const char *path)
{
	PATH_WRAP(AT_FDCWD, path, EVENT_FILE_DELETED, REAL(unlink)(path));
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	PATH_WRAP(dirfd, path, EVENT_FILE_DELETED,
		  REAL(unlinkat)(dirfd, path, flags));
}

SHIM_EXPORT int remove(const char *path)
{
	PATH_WRAP(AT_FDCWD, path, EVENT_FILE_DELETED, REAL(remove)(path));
}

SHIM_EXPORT int truncate(const char *path, off_t length)
{
	PATH_WRAP(AT_FDCWD, path, EVENT_FILE_MODIFIED,
		  REAL(truncate)(path, length));
}

SHIM_EXPORT int truncate64(const char *path, off64_t length)
{
	PATH_WRAP(AT_FDCWD, path, EVENT_FILE_MODIFIED,
		  REAL(truncate64)(path, length));
}

enum rename_entry { RENAME_ENTRY_RENAME, RENAME_ENTRY_RENAMEAT,
		    RENAME_ENTRY_RENAMEAT2 };

static int rename_real(enum rename_entry entry, int olddirfd,
		       const char *oldpath, int newdirfd, const char *newpath,
		       unsigned flags)
{
	switch (entry) {
	case RENAME_ENTRY_RENAME:
		return REAL(rename)(oldpath, newpath);
	case RENAME_ENTRY_RENAMEAT:
		return REAL(renameat)(olddirfd, oldpath, newdirfd, newpath);
	case RENAME_ENTRY_RENAMEAT2:
		return REAL(renameat2)(olddirfd, oldpath, newdirfd, newpath,
				       flags);
	}
	errno = ENOSYS;
	return -1;
}

static int rename_audited(enum rename_entry entry, int olddirfd,
			  const char *oldpath, int newdirfd,
			  const char *newpath, unsigned flags)
{
	struct policy_match old_match, new_match;
	const struct policy_match *m;
	int ret, saved_errno, old_hit, new_hit;

	if (!shim_enter())
		return rename_real(entry, olddirfd, oldpath, newdirfd, newpath,
				   flags);
	old_hit = policy_match_at(olddirfd, oldpath, &old_match);
	new_hit = policy_match_at(newdirfd, newpath, &new_match);
	if (!old_hit && !new_hit) {
		shim_leave();
		return rename_real(entry, olddirfd, oldpath, newdirfd, newpath,
				   flags);
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	ret = rename_real(entry, olddirfd, oldpath, newdirfd, newpath, flags);
	saved_errno = errno;
	m = new_hit ? &new_match : &old_match;
	if (ret == 0 || saved_errno == EACCES || saved_errno == EPERM) {
		struct emit_event ev = {
			.type = ret == 0 ? EVENT_FILE_RENAMED :
				EVENT_FILE_ACCESS_DENIED,
			.target = old_match.path[0] ? old_match.path : oldpath,
			.target2 = new_match.path[0] ? new_match.path : newpath,
			.rule = m->rule,
			.patient = m->patient,
			.error = ret == 0 ? 0 : saved_errno,
		};

		clock_gettime(CLOCK_REALTIME, &ev.when);
		emit_record(&ev);
	}
	shim_leave();
	errno = saved_errno;
	return ret;
}

SHIM_EXPORT int rename(const char *oldpath, const char *newpath)
{
	return rename_audited(RENAME_ENTRY_RENAME, AT_FDCWD, oldpath, AT_FDCWD,
			      newpath, 0);
}

SHIM_EXPORT int renameat(int olddirfd, const char *oldpath, int newdirfd,
			 const char *newpath)
{
	return rename_audited(RENAME_ENTRY_RENAMEAT, olddirfd, oldpath,
			      newdirfd, newpath, 0);
}

SHIM_EXPORT int renameat2(int olddirfd, const char *oldpath, int newdirfd,
			  const char *newpath, unsigned int flags)
{
	return rename_audited(RENAME_ENTRY_RENAMEAT2, olddirfd, oldpath,
			      newdirfd, newpath, flags);
}

SHIM_EXPORT int chdir(const char *path)
{
	int ret = REAL(chdir)(path);

	if (ret == 0)
		policy_cwd_invalidate();
	return ret;
}

SHIM_EXPORT int fchdir(int fd)
{
	int ret = REAL(fchdir)(fd);

	if (ret == 0)
		policy_cwd_invalidate();
	return ret;
}
