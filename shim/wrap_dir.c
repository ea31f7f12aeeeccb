/*
 * wrap_dir.c - owns directory listings: opendir/fdopendir + readdir and
 * readdir64 (the stream's descriptor is tracked like a PHI file, and the
 * first entry read reports Directory Listed, once per open directory),
 * closedir (forgets it: its close is internal), and the listers that read
 * directories through libc's hidden internals: scandir, scandir64,
 * scandirat (one Listed when the call succeeds), nftw, nftw64, ftw, ftw64
 * (one Listed per PHI directory the walk reports) and glob, glob64 (one
 * Listed per PHI directory whose entries were matched).
 *
 * Patient ids are often directory names: a directory .../patients/4711
 * matches the rule .../patients/{patient} followed by a trailing "**",
 * which matches the directory itself. Non-PHI directories cost a lexical match at open
 * and, while a rule root is known, one statx (of the stream's descriptor
 * for opendir, of the path for the others: alias.c, alias_path.c); readdir
 * on them costs one table load. Same results, same errno.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <bsd/string.h>

#include "real.h"
#include "shim.h"

/*
 * libc declares these arguments nonnull, so the compiler would drop a plain
 * NULL test; libc itself copes with some NULLs, so the test is kept opaque.
 */
static inline int dir_null(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	__asm__("" : "+r"(v));
	return v == 0;
}

static void dir_report(const struct policy_match *m)
{
	emit_path_event(EVENT_DIRECTORY_LISTED, m, NULL, 0, NULL, 0);
}

/* ---- streams ---------------------------------------------------------- */

/*
 * After an opendir whose path matched no rule: when the directory is PHI
 * all the same (alias.c: one statx of its descriptor says whether it can
 * be), it is tracked as if matched. d, or NULL with errno EACCES (d
 * closed) when deny mode cannot hand a record off.
 */
static DIR *opendir_alias(DIR *d, const char *path, const char *normal)
{
	struct policy_match m;
	struct statx sx;
	int fd = dirfd(d), saved_errno = errno;

	if (!alias_fd_on_phi_fs(fd, &sx) || !alias_match_fd(fd, &sx, &m) ||
	    !shim_enter())
		return d;
	alias_name_as_written(&m, normal, path);
	if (shim_may_proceed() < 0) {
		shim_leave();
		REAL(closedir)(d);
		errno = EACCES;
		return NULL;
	}
	fdstate_track(fd, &m, 0, FD_REPORTED_LISTED);
	shim_leave();
	errno = saved_errno;
	return d;
}

SHIM_EXPORT DIR *opendir(const char *path)
{
	struct policy_match m;
	int saved_errno;
	DIR *d;

	if (!shim_enter())
		return REAL(opendir)(path);
	if (!policy_match_at(AT_FDCWD, path, &m)) {
		shim_leave();
		d = REAL(opendir)(path);
		if (d != NULL) {
			fdstate_close(dirfd(d));
			if (alias_active)
				d = opendir_alias(d, path, m.path);
		}
		return d;
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return NULL;
	}
	d = REAL(opendir)(path);
	saved_errno = errno;
	if (d == NULL && (saved_errno == EACCES || saved_errno == EPERM))
		emit_path_event(EVENT_FILE_ACCESS_DENIED, &m, NULL, saved_errno,
				NULL, 0);
	if (d != NULL)
		fdstate_track(dirfd(d), &m, 0, FD_REPORTED_LISTED);
	shim_leave();
	errno = saved_errno;
	return d;
}

#define DIR_READ(d, call) do { \
	struct phi_file *f_; \
	int saved_errno_ = errno; \
	__typeof__(call) ret_; \
	if (dir_null(d) || (f_ = fdstate_get(dirfd(d))) == NULL) \
		return call; \
	if (rw_before(f_, FD_REPORTED_LISTED) < 0) \
		return NULL; \
	errno = saved_errno_; \
	ret_ = call; \
	rw_after(f_, FD_REPORTED_LISTED, ret_ != NULL || errno == saved_errno_); \
	return ret_; \
} while (0)

SHIM_EXPORT struct dirent *readdir(DIR *d)
{
	DIR_READ(d, REAL(readdir)(d));
}

SHIM_EXPORT struct dirent64 *readdir64(DIR *d)
{
	DIR_READ(d, REAL(readdir64)(d));
}

SHIM_EXPORT int closedir(DIR *d)
{
	if (!dir_null(d))
		fdstate_close(dirfd(d));
	return REAL(closedir)(d);
}

/* ---- whole listings --------------------------------------------------- */

/* 1 with the guard held when path (relative to dirfd) is a PHI directory. */
static int dir_begin(int dirfd, const char *path, struct policy_match *m)
{
	if (!shim_enter())
		return 0;
	if (policy_match_real(dirfd, path, ALIAS_FILE, m))
		return 1;
	shim_leave();
	return 0;
}

static void dir_end(int listed, const struct policy_match *m)
{
	int saved_errno = errno;

	if (listed)
		dir_report(m);
	shim_leave();
	errno = saved_errno;
}

#define SCANDIR_WRAP(dirfd, path, call) do { \
	struct policy_match m_; \
	int ret_; \
	if (!dir_begin(dirfd, path, &m_)) \
		return call; \
	shim_leave(); \
	ret_ = call; \
	if (shim_enter()) \
		dir_end(ret_ >= 0, &m_); \
	return ret_; \
} while (0)

SHIM_EXPORT int scandir(const char *path, struct dirent ***list,
			int (*filter)(const struct dirent *),
			int (*compare)(const struct dirent **,
				       const struct dirent **))
{
	SCANDIR_WRAP(AT_FDCWD, path, REAL(scandir)(path, list, filter, compare));
}

SHIM_EXPORT int scandir64(const char *path, struct dirent64 ***list,
			  int (*filter)(const struct dirent64 *),
			  int (*compare)(const struct dirent64 **,
					 const struct dirent64 **))
{
	SCANDIR_WRAP(AT_FDCWD, path,
		     REAL(scandir64)(path, list, filter, compare));
}

SHIM_EXPORT int scandirat(int dirfd, const char *path, struct dirent ***list,
			  int (*filter)(const struct dirent *),
			  int (*compare)(const struct dirent **,
					 const struct dirent **))
{
	SCANDIR_WRAP(dirfd, path,
		     REAL(scandirat)(dirfd, path, list, filter, compare));
}

/*
 * The walks call the program's function for every entry; ours stands in
 * front of it and reports each PHI directory it is told about. The
 * program's function is kept per thread (a walk may start another walk
 * from inside its callback: the previous one is restored after).
 */
static __thread __nftw_func_t dir_nftw_user;
static __thread __nftw64_func_t dir_nftw64_user;
static __thread __ftw_func_t dir_ftw_user;
static __thread __ftw64_func_t dir_ftw64_user;

static void dir_walk_saw(const char *path, int flag)
{
	struct policy_match m;

	if ((flag == FTW_D || flag == FTW_DP) && dir_begin(AT_FDCWD, path, &m))
		dir_end(1, &m);
}

static int dir_nftw_visit(const char *path, const struct stat *st, int flag,
			  struct FTW *ftw)
{
	dir_walk_saw(path, flag);
	return dir_nftw_user(path, st, flag, ftw);
}

static int dir_nftw64_visit(const char *path, const struct stat64 *st,
			    int flag, struct FTW *ftw)
{
	dir_walk_saw(path, flag);
	return dir_nftw64_user(path, st, flag, ftw);
}

static int dir_ftw_visit(const char *path, const struct stat *st, int flag)
{
	dir_walk_saw(path, flag);
	return dir_ftw_user(path, st, flag);
}

static int dir_ftw64_visit(const char *path, const struct stat64 *st,
			   int flag)
{
	dir_walk_saw(path, flag);
	return dir_ftw64_user(path, st, flag);
}

#define WALK_WRAP(user_var, user_fn, call_plain, call_ours) do { \
	__typeof__(user_var) saved_ = user_var; \
	int ret_; \
	if (dir_null((const void *)user_fn) || !shim_enter()) \
		return call_plain; \
	shim_leave(); \
	user_var = user_fn; \
	ret_ = call_ours; \
	user_var = saved_; \
	return ret_; \
} while (0)

SHIM_EXPORT int nftw(const char *path, __nftw_func_t fn, int nopenfd,
		     int flags)
{
	WALK_WRAP(dir_nftw_user, fn, REAL(nftw)(path, fn, nopenfd, flags),
		  REAL(nftw)(path, dir_nftw_visit, nopenfd, flags));
}

SHIM_EXPORT int nftw64(const char *path, __nftw64_func_t fn, int nopenfd,
		       int flags)
{
	WALK_WRAP(dir_nftw64_user, fn, REAL(nftw64)(path, fn, nopenfd, flags),
		  REAL(nftw64)(path, dir_nftw64_visit, nopenfd, flags));
}

SHIM_EXPORT int ftw(const char *path, __ftw_func_t fn, int nopenfd)
{
	WALK_WRAP(dir_ftw_user, fn, REAL(ftw)(path, fn, nopenfd),
		  REAL(ftw)(path, dir_ftw_visit, nopenfd));
}

SHIM_EXPORT int ftw64(const char *path, __ftw64_func_t fn, int nopenfd)
{
	WALK_WRAP(dir_ftw64_user, fn, REAL(ftw64)(path, fn, nopenfd),
		  REAL(ftw64)(path, dir_ftw64_visit, nopenfd));
}

/*
 * glob lists the directory part of the pattern: when it has no wildcard
 * that directory is reported (matches or not); otherwise the distinct
 * PHI directories holding the matches are.
 */
static void glob_report(const char *pattern, size_t count, char **paths)
{
	struct policy_match m;
	char dir[PATH_MAX], last[PATH_MAX] = "";
	const char *slash = strrchr(pattern, '/');

	if (slash != NULL && (size_t)(slash - pattern) < sizeof(dir) &&
	    strpbrk(pattern, "*?[") > slash) {
		memcpy(dir, pattern, (size_t)(slash - pattern));
		dir[slash - pattern] = '\0';
		if (dir[0] == '\0')
			strlcpy(dir, "/", sizeof(dir));
		if (policy_match_real(AT_FDCWD, dir, ALIAS_FILE, &m))
			dir_report(&m);
		return;
	}
	if (slash == NULL) {
		if (policy_match_real(AT_FDCWD, ".", ALIAS_FILE, &m))
			dir_report(&m);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const char *s = strrchr(paths[i], '/');

		if (s == NULL || (size_t)(s - paths[i]) >= sizeof(dir))
			continue;
		memcpy(dir, paths[i], (size_t)(s - paths[i]));
		dir[s - paths[i]] = '\0';
		if (strcmp(dir, last) == 0)
			continue;
		strlcpy(last, dir, sizeof(last));
		if (policy_match_real(AT_FDCWD, dir, ALIAS_FILE, &m))
			dir_report(&m);
	}
}

#define GLOB_WRAP(g, call) do { \
	size_t before_ = (flags & GLOB_APPEND) ? (g)->gl_pathc : 0; \
	int ret_ = call; \
	int saved_errno_ = errno; \
	if ((ret_ == 0 || ret_ == GLOB_NOMATCH) && pattern != NULL && \
	    shim_enter()) { \
		glob_report(pattern, ret_ == 0 ? (g)->gl_pathc - before_ : 0, \
			    ret_ == 0 ? (g)->gl_pathv + (g)->gl_offs + before_ : \
			    NULL); \
		shim_leave(); \
	} \
	errno = saved_errno_; \
	return ret_; \
} while (0)

SHIM_EXPORT int glob(const char *pattern, int flags,
		     int (*errfunc)(const char *, int), glob_t *g)
{
	GLOB_WRAP(g, REAL(glob)(pattern, flags, errfunc, g));
}

SHIM_EXPORT int glob64(const char *pattern, int flags,
		       int (*errfunc)(const char *, int), glob64_t *g)
{
	GLOB_WRAP(g, REAL(glob64)(pattern, flags, errfunc, g));
}
