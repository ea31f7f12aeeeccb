/*
 * wrap_tmp.c - owns the mkstemp family (mkstemp, mkostemp, mkstemps,
 * mkostemps and their 64 names). glibc creates the file with an internal
 * open that never reaches the open wrappers, so a temporary file created
 * at a PHI path reports Created here (how GNU sed -i's temp file is seen),
 * and its descriptor is remembered as created by this description (no
 * Modified for what is written into it). tmpfile and tmpfile64 are
 * tracked when the directory glibc put them in is PHI. Same descriptor,
 * same stream, same errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

enum tmp_entry {
	TMP_ENTRY_MKSTEMP, TMP_ENTRY_MKSTEMP64, TMP_ENTRY_MKOSTEMP,
	TMP_ENTRY_MKOSTEMP64, TMP_ENTRY_MKSTEMPS, TMP_ENTRY_MKSTEMPS64,
	TMP_ENTRY_MKOSTEMPS, TMP_ENTRY_MKOSTEMPS64,
};

static int tmp_real(enum tmp_entry entry, char *template, int suffix_len,
		    int flags)
{
	switch (entry) {
	case TMP_ENTRY_MKSTEMP: return REAL(mkstemp)(template);
	case TMP_ENTRY_MKSTEMP64: return REAL(mkstemp64)(template);
	case TMP_ENTRY_MKOSTEMP: return REAL(mkostemp)(template, flags);
	case TMP_ENTRY_MKOSTEMP64: return REAL(mkostemp64)(template, flags);
	case TMP_ENTRY_MKSTEMPS: return REAL(mkstemps)(template, suffix_len);
	case TMP_ENTRY_MKSTEMPS64: return REAL(mkstemps64)(template, suffix_len);
	case TMP_ENTRY_MKOSTEMPS:
		return REAL(mkostemps)(template, suffix_len, flags);
	case TMP_ENTRY_MKOSTEMPS64:
		return REAL(mkostemps64)(template, suffix_len, flags);
	}
	errno = ENOSYS;
	return -1;
}

static int tmp_audited(enum tmp_entry entry, char *template, int suffix_len,
		       int flags)
{
	struct policy_match m;
	int fd, saved_errno;

	if (!shim_enter())
		return tmp_real(entry, template, suffix_len, flags);
	if (shim_config.on_collector_down == CONFIG_ON_DOWN_DENY &&
	    policy_match_at(AT_FDCWD, template, &m) && shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	fd = tmp_real(entry, template, suffix_len, flags);
	saved_errno = errno;
	if (fd >= 0) {
		if (policy_match_at(AT_FDCWD, template, &m)) {
			emit_path_event(EVENT_FILE_CREATED, &m, NULL, 0, NULL, 0);
			fdstate_track(fd, &m, FD_CREATED | FD_REPORTED_MODIFIED,
				      FD_REPORTED_VIEWED | FD_REPORTED_MODIFIED);
		} else {
			fdstate_close(fd);
		}
	} else if ((saved_errno == EACCES || saved_errno == EPERM) &&
		   policy_match_at(AT_FDCWD, template, &m)) {
		emit_path_event(EVENT_FILE_ACCESS_DENIED, &m, NULL, saved_errno,
				NULL, 0);
	}
	shim_leave();
	errno = saved_errno;
	return fd;
}

SHIM_EXPORT int mkstemp(char *template)
{
	return tmp_audited(TMP_ENTRY_MKSTEMP, template, 0, 0);
}

SHIM_EXPORT int mkstemp64(char *template)
{
	return tmp_audited(TMP_ENTRY_MKSTEMP64, template, 0, 0);
}

SHIM_EXPORT int mkostemp(char *template, int flags)
{
	return tmp_audited(TMP_ENTRY_MKOSTEMP, template, 0, flags);
}

SHIM_EXPORT int mkostemp64(char *template, int flags)
{
	return tmp_audited(TMP_ENTRY_MKOSTEMP64, template, 0, flags);
}

SHIM_EXPORT int mkstemps(char *template, int suffix_len)
{
	return tmp_audited(TMP_ENTRY_MKSTEMPS, template, suffix_len, 0);
}

SHIM_EXPORT int mkstemps64(char *template, int suffix_len)
{
	return tmp_audited(TMP_ENTRY_MKSTEMPS64, template, suffix_len, 0);
}

SHIM_EXPORT int mkostemps(char *template, int suffix_len, int flags)
{
	return tmp_audited(TMP_ENTRY_MKOSTEMPS, template, suffix_len, flags);
}

SHIM_EXPORT int mkostemps64(char *template, int suffix_len, int flags)
{
	return tmp_audited(TMP_ENTRY_MKOSTEMPS64, template, suffix_len, flags);
}

/*
 * tmpfile: glibc makes an unnamed file (O_TMPFILE) in /tmp through its
 * internals, whatever TMPDIR says. The directory it landed in is read back
 * from /proc/self/fd; when that directory is PHI the stream is tracked
 * like any PHI file (target: the directory), so reads and writes through
 * it are reported. One readlink per tmpfile call, only when auditing.
 */
static FILE *tmp_stream_audited(FILE *fp)
{
	struct policy_match m;
	char link[32], target[PATH_MAX];
	ssize_t n;
	char *slash;
	int fd, saved_errno = errno;

	if (fp == NULL || (fd = fileno(fp)) < 0)
		goto out;
	fdstate_close(fd);
	if (!shim_enter())
		goto out;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0 && (size_t)n < sizeof(target) - 1 && target[0] == '/') {
		target[n] = '\0';
		slash = strrchr(target, '/');
		if (slash != NULL && slash != target)
			*slash = '\0';
		if (policy_match_at(AT_FDCWD, target, &m))
			fdstate_track(fd, &m, FD_CREATED,
				      FD_REPORTED_VIEWED | FD_REPORTED_MODIFIED);
	}
	shim_leave();
out:
	errno = saved_errno;
	return fp;
}

SHIM_EXPORT FILE *tmpfile(void)
{
	return tmp_stream_audited(REAL(tmpfile)());
}

SHIM_EXPORT FILE *tmpfile64(void)
{
	return tmp_stream_audited(REAL(tmpfile64)());
}
