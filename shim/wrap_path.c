/*
 * wrap_path.c - owns the calls that act on a path without opening it:
 * unlink, unlinkat, remove (Deleted), rename, renameat, renameat2 (Renamed:
 * target = old path, target2 = new path; PHI when either side matches,
 * patient and rule from the new side's match, else the old's), truncate,
 * truncate64 (Modified), the chmod and chown families and the ACL xattrs
 * (Permissions Changed, every time), link/linkat/symlink/symlinkat into or out of a PHI
 * path (Created for the new name, target2 = what it points at, detail
 * link = hard | symbolic), and chdir/fchdir, which only drop the cached
 * working directory.
 *
 * A path that matched no rule as written is PHI all the same when it
 * really is in a PHI tree (alias_path.c: one statx while a rule root is
 * known), decided before the call; "" with AT_EMPTY_PATH is the PHI file
 * open on the descriptor (an O_PATH one included).
 *
 * A PHI path refused with EACCES or EPERM reports Access Denied. In deny
 * mode a PHI call whose record cannot be handed off fails with EACCES
 * without being performed. Same return value and errno as libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bsd/string.h>
#include <time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

/*
 * What a call with these *at flags acts on: the name itself with
 * AT_SYMLINK_NOFOLLOW, else the file the path leads to.
 */
static enum alias_name path_how(int at_flags)
{
	return (at_flags & AT_SYMLINK_NOFOLLOW) ? ALIAS_ENTRY : ALIAS_FILE;
}

/*
 * Whether path (relative to dirfd; how: what the call acts on) is PHI:
 * as written, else by where it really is (alias_path.c), else, for ""
 * with AT_EMPTY_PATH, the PHI file open on dirfd (an O_PATH descriptor).
 */
static int path_match(int dirfd, const char *path, int at_flags,
		      enum alias_name how, struct policy_match *m)
{
	if (path != NULL && path[0] == '\0' && (at_flags & AT_EMPTY_PATH))
		return fdstate_describe(dirfd, m, NULL);
	return policy_match_real(dirfd, path, how, m);
}

/*
 * 1: a PHI path, to be audited (guard held); 0: pass through; -1: refused
 * in deny mode (errno EACCES). Decided before the call: a name removed or
 * renamed is gone after it.
 */
static int path_begin(int dirfd, const char *path, int at_flags,
		      enum alias_name how, struct policy_match *m)
{
	if (!shim_enter())
		return 0;
	if (!path_match(dirfd, path, at_flags, how, m)) {
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

/*
 * After the real call: reports (with detail, n entries), releases the
 * guard, keeps ret and errno.
 */
static int path_end_detail(int ret, enum event_type ok_event,
			   const struct policy_match *m,
			   const struct record_detail *detail, size_t n)
{
	int saved_errno = errno;

	if (ret == 0)
		emit_path_event(ok_event, m, NULL, 0, detail, n);
	else if (saved_errno == EACCES || saved_errno == EPERM)
		emit_path_event(EVENT_FILE_ACCESS_DENIED, m, NULL, saved_errno,
				detail, n);
	shim_leave();
	errno = saved_errno;
	return ret;
}

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

#define PATH_WRAP(dirfd, path, at_flags, how, event, call) do { \
	struct policy_match m_; \
	int rc_ = path_begin(dirfd, path, at_flags, how, &m_); \
	if (rc_ == 0) \
		return call; \
	if (rc_ < 0) \
		return -1; \
	return path_end(call, event, &m_); \
} while (0)

SHIM_EXPORT int unlink(const char *path)
{
	PATH_WRAP(AT_FDCWD, path, 0, ALIAS_ENTRY, EVENT_FILE_DELETED,
		  REAL(unlink)(path));
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	PATH_WRAP(dirfd, path, 0, ALIAS_ENTRY, EVENT_FILE_DELETED,
		  REAL(unlinkat)(dirfd, path, flags));
}

SHIM_EXPORT int remove(const char *path)
{
	PATH_WRAP(AT_FDCWD, path, 0, ALIAS_ENTRY, EVENT_FILE_DELETED,
		  REAL(remove)(path));
}

SHIM_EXPORT int truncate(const char *path, off_t length)
{
	PATH_WRAP(AT_FDCWD, path, 0, ALIAS_FILE, EVENT_FILE_MODIFIED,
		  REAL(truncate)(path, length));
}

SHIM_EXPORT int truncate64(const char *path, off64_t length)
{
	PATH_WRAP(AT_FDCWD, path, 0, ALIAS_FILE, EVENT_FILE_MODIFIED,
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
	old_hit = policy_match_real(olddirfd, oldpath, ALIAS_ENTRY, &old_match);
	new_hit = policy_match_real(newdirfd, newpath, ALIAS_NEW_NAME,
				    &new_match);
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
	if (ret == 0 || saved_errno == EACCES || saved_errno == EPERM)
		emit_pair_event(ret == 0 ? EVENT_FILE_RENAMED :
				EVENT_FILE_ACCESS_DENIED, &old_match, oldpath,
				&new_match, newpath, m,
				ret == 0 ? 0 : saved_errno, NULL, 0);
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

/*
 * ---- permissions and ownership: Permissions Changed, every time -------
 *
 * Also on a file the same process just created (gzip -k, tar x, sed -i,
 * SQLite's journal give a new file its mode and owner this way: a chart
 * made world-readable right after it was written is what an auditor looks
 * for). detail mode = the mode asked for ("0644"), owner and group = the
 * ids asked for (-1: unchanged).
 */

/* Detail entries for a mode: one "mode" string in octal (buf: 8 bytes). */
static size_t perm_mode_detail(struct record_detail *d, mode_t mode, char *buf)
{
	snprintf(buf, 8, "%04o", (unsigned)(mode & 07777));
	d[0] = (struct record_detail){ .key = "mode", .str = buf };
	return 1;
}

static size_t perm_owner_detail(struct record_detail *d, uid_t owner,
				gid_t group)
{
	d[0] = (struct record_detail){ .key = "owner",
		.num = owner == (uid_t)-1 ? -1 : (int64_t)owner };
	d[1] = (struct record_detail){ .key = "group",
		.num = group == (gid_t)-1 ? -1 : (int64_t)group };
	return 2;
}

#define PATH_WRAP_DETAIL(dirfd, path, at_flags, event, call, fill) do { \
	struct policy_match m_; \
	struct record_detail d_[2]; \
	char buf_[8]; \
	size_t n_; \
	int rc_ = path_begin(dirfd, path, at_flags, path_how(at_flags), &m_); \
	if (rc_ == 0) \
		return call; \
	if (rc_ < 0) \
		return -1; \
	(void)buf_; \
	n_ = fill; \
	return path_end_detail(call, event, &m_, d_, n_); \
} while (0)

SHIM_EXPORT int chmod(const char *path, mode_t mode)
{
	PATH_WRAP_DETAIL(AT_FDCWD, path, 0, EVENT_FILE_PERMISSIONS_CHANGED,
			 REAL(chmod)(path, mode),
			 perm_mode_detail(d_, mode, buf_));
}

SHIM_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	PATH_WRAP_DETAIL(dirfd, path, flags, EVENT_FILE_PERMISSIONS_CHANGED,
			 REAL(fchmodat)(dirfd, path, mode, flags),
			 perm_mode_detail(d_, mode, buf_));
}

SHIM_EXPORT int chown(const char *path, uid_t owner, gid_t group)
{
	PATH_WRAP_DETAIL(AT_FDCWD, path, 0, EVENT_FILE_PERMISSIONS_CHANGED,
			 REAL(chown)(path, owner, group),
			 perm_owner_detail(d_, owner, group));
}

SHIM_EXPORT int lchown(const char *path, uid_t owner, gid_t group)
{
	PATH_WRAP_DETAIL(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW,
			 EVENT_FILE_PERMISSIONS_CHANGED,
			 REAL(lchown)(path, owner, group),
			 perm_owner_detail(d_, owner, group));
}

SHIM_EXPORT int fchownat(int dirfd, const char *path, uid_t owner,
			 gid_t group, int flags)
{
	PATH_WRAP_DETAIL(dirfd, path, flags, EVENT_FILE_PERMISSIONS_CHANGED,
			 REAL(fchownat)(dirfd, path, owner, group, flags),
			 perm_owner_detail(d_, owner, group));
}

/*
 * The descriptor forms: the PHI file behind fd (fdstate), reported on
 * every successful change or refusal, a file this process just created
 * included. 1: audited (guard held, m filled); 0: pass through; -1:
 * refused in deny mode (errno EACCES).
 */
static int path_fd_begin(int fd, struct policy_match *m)
{
	if (!fdstate_known(fd) || shim_busy() ||
	    !fdstate_describe(fd, m, NULL))
		return 0;
	if (!shim_enter())
		return 0;
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	return 1;
}

#define PATH_FD_WRAP(fd, event, call, fill) do { \
	struct policy_match m_; \
	struct record_detail d_[2]; \
	char buf_[8]; \
	size_t n_; \
	int rc_ = path_fd_begin(fd, &m_); \
	if (rc_ == 0) \
		return call; \
	if (rc_ < 0) \
		return -1; \
	(void)buf_; \
	n_ = fill; \
	return path_end_detail(call, event, &m_, d_, n_); \
} while (0)

SHIM_EXPORT int fchmod(int fd, mode_t mode)
{
	PATH_FD_WRAP(fd, EVENT_FILE_PERMISSIONS_CHANGED, REAL(fchmod)(fd, mode),
		     perm_mode_detail(d_, mode, buf_));
}

SHIM_EXPORT int fchown(int fd, uid_t owner, gid_t group)
{
	PATH_FD_WRAP(fd, EVENT_FILE_PERMISSIONS_CHANGED,
		     REAL(fchown)(fd, owner, group),
		     perm_owner_detail(d_, owner, group));
}

/*
 * ---- ACLs: the xattrs that change who may read a file ----------------
 *
 * setxattr, lsetxattr, fsetxattr, removexattr, lremovexattr and
 * fremovexattr of system.posix_acl_access or system.posix_acl_default
 * (setfacl, cp -a, tar --acls) report Permissions Changed with detail
 * xattr = the name; every other attribute passes through untouched.
 */
static int perm_is_acl(const char *name)
{
	return name != NULL && strncmp(name, "system.posix_acl_", 17) == 0 &&
		(strcmp(name + 17, "access") == 0 ||
		 strcmp(name + 17, "default") == 0);
}

#define XATTR_PATH_WRAP(path, at_flags, name, call) do { \
	if (!perm_is_acl(name)) \
		return call; \
	PATH_WRAP_DETAIL(AT_FDCWD, path, at_flags, \
		EVENT_FILE_PERMISSIONS_CHANGED, call, \
		(d_[0] = (struct record_detail){ .key = "xattr", .str = name }, 1)); \
} while (0)

#define XATTR_FD_WRAP(fd, name, call) do { \
	if (!perm_is_acl(name)) \
		return call; \
	PATH_FD_WRAP(fd, EVENT_FILE_PERMISSIONS_CHANGED, call, \
		(d_[0] = (struct record_detail){ .key = "xattr", .str = name }, 1)); \
} while (0)

SHIM_EXPORT int setxattr(const char *path, const char *name, const void *value,
			 size_t size, int flags)
{
	XATTR_PATH_WRAP(path, 0, name,
			REAL(setxattr)(path, name, value, size, flags));
}

SHIM_EXPORT int lsetxattr(const char *path, const char *name, const void *value,
			  size_t size, int flags)
{
	XATTR_PATH_WRAP(path, AT_SYMLINK_NOFOLLOW, name,
			REAL(lsetxattr)(path, name, value, size, flags));
}

SHIM_EXPORT int fsetxattr(int fd, const char *name, const void *value,
			  size_t size, int flags)
{
	XATTR_FD_WRAP(fd, name, REAL(fsetxattr)(fd, name, value, size, flags));
}

SHIM_EXPORT int removexattr(const char *path, const char *name)
{
	XATTR_PATH_WRAP(path, 0, name, REAL(removexattr)(path, name));
}

SHIM_EXPORT int lremovexattr(const char *path, const char *name)
{
	XATTR_PATH_WRAP(path, AT_SYMLINK_NOFOLLOW, name,
			REAL(lremovexattr)(path, name));
}

SHIM_EXPORT int fremovexattr(int fd, const char *name)
{
	XATTR_FD_WRAP(fd, name, REAL(fremovexattr)(fd, name));
}

/* ---- links: Created for the new name, into or out of PHI paths -------- */

enum link_entry { LINK_ENTRY_LINK, LINK_ENTRY_LINKAT, LINK_ENTRY_SYMLINK,
		  LINK_ENTRY_SYMLINKAT };

static int link_real(enum link_entry entry, int olddirfd, const char *oldpath,
		     int newdirfd, const char *newpath, int flags)
{
	switch (entry) {
	case LINK_ENTRY_LINK: return REAL(link)(oldpath, newpath);
	case LINK_ENTRY_LINKAT:
		return REAL(linkat)(olddirfd, oldpath, newdirfd, newpath, flags);
	case LINK_ENTRY_SYMLINK: return REAL(symlink)(oldpath, newpath);
	case LINK_ENTRY_SYMLINKAT:
		return REAL(symlinkat)(oldpath, newdirfd, newpath);
	}
	errno = ENOSYS;
	return -1;
}

/*
 * What the new name will point at: for a hard link the old path (or, with
 * AT_EMPTY_PATH or /proc/self/fd/N, the PHI file open on that descriptor:
 * how an O_TMPFILE file is given a name); for a symbolic link its text,
 * relative to the new name's directory.
 */
static int link_match_old(enum link_entry entry, int olddirfd,
			  const char *oldpath, int flags,
			  const struct policy_match *new_match,
			  struct policy_match *m)
{
	if (entry == LINK_ENTRY_SYMLINK || entry == LINK_ENTRY_SYMLINKAT) {
		char joined[PATH_MAX];
		char *slash;

		if (oldpath == NULL || oldpath[0] == '/' ||
		    new_match->path[0] == '\0')
			return policy_match_real(AT_FDCWD, oldpath, ALIAS_FILE, m);
		strlcpy(joined, new_match->path, sizeof(joined));
		slash = strrchr(joined, '/');
		if (slash == NULL)
			return 0;
		slash[1] = '\0';
		if (strlcat(joined, oldpath, sizeof(joined)) >= sizeof(joined))
			return 0;
		return policy_match_real(AT_FDCWD, joined, ALIAS_FILE, m);
	}
	if (oldpath != NULL && ((oldpath[0] == '\0' && (flags & AT_EMPTY_PATH)) ||
				strncmp(oldpath, "/proc/self/fd/", 14) == 0)) {
		int fd = oldpath[0] == '\0' ? olddirfd : atoi(oldpath + 14);

		return fdstate_describe(fd, m, NULL);
	}
	return policy_match_real(olddirfd, oldpath,
				 (flags & AT_SYMLINK_FOLLOW) ? ALIAS_FILE :
				 ALIAS_ENTRY, m);
}

static int link_audited(enum link_entry entry, int olddirfd,
			const char *oldpath, int newdirfd, const char *newpath,
			int flags)
{
	struct policy_match old_match, new_match;
	const struct policy_match *m;
	struct record_detail detail[1];
	int ret, saved_errno, old_hit, new_hit;

	if (!shim_enter())
		return link_real(entry, olddirfd, oldpath, newdirfd, newpath,
				 flags);
	new_hit = policy_match_real(newdirfd, newpath, ALIAS_NEW_NAME,
				    &new_match);
	old_hit = link_match_old(entry, olddirfd, oldpath, flags, &new_match,
				 &old_match);
	if (!old_hit && !new_hit) {
		shim_leave();
		return link_real(entry, olddirfd, oldpath, newdirfd, newpath,
				 flags);
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	ret = link_real(entry, olddirfd, oldpath, newdirfd, newpath, flags);
	saved_errno = errno;
	m = new_hit ? &new_match : &old_match;
	detail[0] = (struct record_detail){
		.key = "link",
		.str = entry == LINK_ENTRY_SYMLINK || entry == LINK_ENTRY_SYMLINKAT ?
			"symbolic" : "hard",
	};
	if (ret == 0 || saved_errno == EACCES || saved_errno == EPERM)
		emit_pair_event(ret == 0 ? EVENT_FILE_CREATED :
				EVENT_FILE_ACCESS_DENIED, &new_match, newpath,
				&old_match, oldpath, m,
				ret == 0 ? 0 : saved_errno, detail, 1);
	shim_leave();
	errno = saved_errno;
	return ret;
}

SHIM_EXPORT int link(const char *oldpath, const char *newpath)
{
	return link_audited(LINK_ENTRY_LINK, AT_FDCWD, oldpath, AT_FDCWD,
			    newpath, 0);
}

SHIM_EXPORT int linkat(int olddirfd, const char *oldpath, int newdirfd,
		       const char *newpath, int flags)
{
	return link_audited(LINK_ENTRY_LINKAT, olddirfd, oldpath, newdirfd,
			    newpath, flags);
}

SHIM_EXPORT int symlink(const char *target, const char *linkpath)
{
	return link_audited(LINK_ENTRY_SYMLINK, AT_FDCWD, target, AT_FDCWD,
			    linkpath, 0);
}

SHIM_EXPORT int symlinkat(const char *target, int newdirfd,
			  const char *linkpath)
{
	return link_audited(LINK_ENTRY_SYMLINKAT, AT_FDCWD, target, newdirfd,
			    linkpath, 0);
}
