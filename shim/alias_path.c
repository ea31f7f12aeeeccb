/*
 * alias_path.c - owns knowing a PHI file by where it really is for the
 * calls that name a file without opening it (unlink, rename, chmod,
 * truncate, the ACL xattrs, link, scandir, nftw, glob...), when the path as
 * written matched no rule: the same answer alias.c gives an open.
 *
 * The cheap check, paid by every such call while a rule root is known: one
 * statx of the path (of the name itself when the call acts on the name: a
 * final symlink is the link, not its target). Only when that says the file
 * is on a filesystem a rule root is on is it opened O_PATH (no data, no
 * atime, no open event for fanotify), its kernel path read and matched by
 * alias.c, and closed. A name that may not exist yet (a rename's or a
 * link's new name) is placed by its directory: one statx of the directory,
 * and the directory's kernel path plus the name. Everything is done before
 * the real call, so a removed or renamed name is still there to be looked
 * at. Never allocates, never calls a wrapped function, keeps errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "pathglob.h"
#include "real.h"
#include "shim.h"

void alias_name_as_written(struct policy_match *m, const char *normal,
			   const char *path)
{
	if (normal != NULL && normal[0] != '\0') {
		if (normal != m->path)
			strlcpy(m->path, normal, sizeof(m->path));
	} else if (path[0] != '/' ||
		   pathglob_normalise(NULL, path, m->path, sizeof(m->path)) < 0) {
		strlcpy(m->path, path, sizeof(m->path));
	}
}

/* statx of path (relative to dirfd) with flags: 0, or -1 (errno set). */
static int alias_statx_path(int dirfd, const char *path, int flags,
			    struct statx *sx)
{
	return statx(dirfd, path, flags | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC,
		     ALIAS_STATX_MASK, sx);
}

/* path opened O_PATH (with open_flags) and matched by alias.c. */
static __attribute__((noinline)) int
alias_match_opened(int dirfd, const char *path, int open_flags,
			      const struct statx *sx, struct policy_match *m)
{
	int fd = REAL(openat)(dirfd, path, O_PATH | O_CLOEXEC | open_flags, 0);
	int hit;

	if (fd < 0)
		return 0;
	hit = alias_match_fd(fd, sx, m);
	REAL(close)(fd);
	return hit;
}

/*
 * A name that may not exist yet: its directory's kernel path and the
 * name (path's last part, trailing '/' dropped; "." and ".." are not names
 * to place). The directory is path up to that part ("." when none).
 */
static __attribute__((noinline)) int
alias_match_new_name(int dirfd, const char *path,
				struct policy_match *m)
{
	char dir[PATH_MAX], name[NAME_MAX + 1];
	size_t len = strlen(path), name_len, dir_len;
	const char *start;
	struct statx sx;
	int fd, hit;

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (start = path + len; start > path && start[-1] != '/'; start--)
		;
	name_len = (size_t)(path + len - start);
	dir_len = (size_t)(start - path);
	if (name_len == 0 || name_len > NAME_MAX || dir_len >= sizeof(dir))
		return 0;
	memcpy(name, start, name_len);
	name[name_len] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	memcpy(dir, path, dir_len);
	dir[dir_len] = '\0';
	if (dir_len == 0)
		strlcpy(dir, ".", sizeof(dir));
	if (alias_statx_path(dirfd, dir, 0, &sx) != 0 || !alias_on_phi_fs(&sx))
		return 0;
	fd = REAL(openat)(dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	hit = alias_match_in_dir(fd, &sx, name, m);
	REAL(close)(fd);
	return hit;
}

int alias_match_path(int dirfd, const char *path, enum alias_name how,
		     struct policy_match *m)
{
	struct statx sx;
	int saved_errno = errno, hit = 0;
	int nofollow = how == ALIAS_ENTRY;

	if (path == NULL || path[0] == '\0')
		return 0;
	if (how == ALIAS_NEW_NAME)
		hit = alias_match_new_name(dirfd, path, m);
	else if (alias_statx_path(dirfd, path,
				  nofollow ? AT_SYMLINK_NOFOLLOW : 0, &sx) == 0 &&
		 alias_on_phi_fs(&sx))
		hit = alias_match_opened(dirfd, path, nofollow ? O_NOFOLLOW : 0,
					 &sx, m);
	if (hit)
		alias_name_as_written(m, m->path, path);
	errno = saved_errno;
	return hit;
}

int policy_match_real(int dirfd, const char *path, enum alias_name how,
		      struct policy_match *m)
{
	if (policy_match_at(dirfd, path, m))
		return 1;
	return alias_active && alias_match_path(dirfd, path, how, m);
}
