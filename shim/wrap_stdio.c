/*
 * wrap_stdio.c - owns fopen, fopen64, freopen, freopen64 and fclose.
 *
 * glibc's stdio opens with a hidden internal open that never reaches the
 * open wrappers, so the open itself is judged here: "w" and "a" report
 * Created when the file did not exist (one stat before the call), "w" of
 * an existing file Modified (it was truncated). The stream's descriptor is
 * remembered as a PHI file, so the first read through the stream
 * (wrap_stdio_rw.c) or its descriptor reports Viewed and the first write
 * Modified; it is forgotten by fclose (whose close is internal too). A
 * refusal with EACCES/EPERM reports Access Denied. Same stream, same errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "real.h"
#include "shim.h"
#include "netstate.h"

enum stdio_entry { STDIO_ENTRY_FOPEN, STDIO_ENTRY_FOPEN64,
		   STDIO_ENTRY_FREOPEN, STDIO_ENTRY_FREOPEN64 };

static FILE *stdio_real(enum stdio_entry entry, const char *path,
			const char *mode, FILE *stream)
{
	switch (entry) {
	case STDIO_ENTRY_FOPEN: return REAL(fopen)(path, mode);
	case STDIO_ENTRY_FOPEN64: return REAL(fopen64)(path, mode);
	case STDIO_ENTRY_FREOPEN: return REAL(freopen)(path, mode, stream);
	case STDIO_ENTRY_FREOPEN64: return REAL(freopen64)(path, mode, stream);
	}
	errno = ENOSYS;
	return NULL;
}

/* What a mode string asks for; flags only before a ",ccs=" suffix. */
struct stdio_mode {
	int reads, writes, truncates, exclusive;
};

static int stdio_parse_mode(const char *mode, struct stdio_mode *out)
{
	if (mode == NULL)
		return -EINVAL;
	out->reads = mode[0] == 'r';
	out->writes = mode[0] == 'w' || mode[0] == 'a';
	out->truncates = mode[0] == 'w';
	out->exclusive = 0;
	if (!out->reads && !out->writes)
		return -EINVAL;
	for (const char *p = mode + 1; *p != '\0' && *p != ','; p++) {
		if (*p == '+')
			out->reads = 1;
		else if (*p == 'x')
			out->exclusive = 1;
	}
	return 0;
}

/*
 * A stream whose path matched no rule but whose file is PHI all the same
 * (alias.c): tracked like one opened by a matching path. In deny mode,
 * when no record can be handed off, it is closed underneath and its first
 * call fails (stdio has no way to refuse it at fopen).
 */
static void stdio_alias(FILE *fp, const char *path, const char *normal,
			const char *mode)
{
	struct stdio_mode how;
	struct statx sx;
	int fd = fileno(fp), flags;

	if (stdio_parse_mode(mode, &how) < 0 || !alias_fd_on_phi_fs(fd, &sx))
		return;
	flags = how.reads && how.writes ? O_RDWR : how.writes ? O_WRONLY : O_RDONLY;
	if (how.truncates)
		flags |= O_TRUNC;
	(void)open_alias_phi(fd, &sx, path, normal, flags);
}

static FILE *stdio_audited(enum stdio_entry entry, const char *path,
			   const char *mode, FILE *stream)
{
	struct policy_match m;
	struct stdio_mode how;
	struct record_detail detail[1];
	unsigned reported = 0;
	int existed = 1, saved_errno, fd;
	FILE *fp;

	if (path == NULL || !shim_enter())
		return stdio_real(entry, path, mode, stream);
	if (stream != NULL)
		fdstate_close(fileno(stream));  /* freopen closes it */
	if (!policy_match_at(AT_FDCWD, path, &m) ||
	    stdio_parse_mode(mode, &how) < 0) {
		shim_leave();
		fp = stdio_real(entry, path, mode, stream);
		if (fp != NULL) {
			fdstate_close(fileno(fp));
			if (alias_active)
				stdio_alias(fp, path, m.path, mode);
		}
		return fp;
	}
	if (how.writes && !how.exclusive) {
		struct stat st;

		saved_errno = errno;
		existed = !(stat(path, &st) != 0 && errno == ENOENT);
		errno = saved_errno;
	} else if (how.writes) {
		existed = 0;
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return NULL;
	}
	fp = stdio_real(entry, path, mode, stream);
	saved_errno = errno;
	detail[0] = (struct record_detail){ .key = "mode", .str = mode };
	if (fp == NULL) {
		if (saved_errno == EACCES || saved_errno == EPERM)
			emit_path_event(EVENT_FILE_ACCESS_DENIED, &m, NULL,
					saved_errno, detail, 1);
		goto out;
	}
	if (how.writes && !existed) {
		reported |= FD_CREATED | FD_REPORTED_MODIFIED;
		emit_path_event(EVENT_FILE_CREATED, &m, NULL, 0, detail, 1);
	} else if (how.truncates) {
		reported |= FD_REPORTED_MODIFIED;
		emit_path_event(EVENT_FILE_MODIFIED, &m, NULL, 0, detail, 1);
	}
	fd = fileno(fp);
	filedetect_patient(fd, &m);     /* protocol rules: patient by content */
	fdstate_track(fd, &m, reported,
		      (how.reads ? FD_REPORTED_VIEWED : 0) |
		      (how.writes ? FD_REPORTED_MODIFIED : 0));
out:
	shim_leave();
	errno = saved_errno;
	return fp;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return stdio_audited(STDIO_ENTRY_FOPEN, path, mode, NULL);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return stdio_audited(STDIO_ENTRY_FOPEN64, path, mode, NULL);
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	return stdio_audited(STDIO_ENTRY_FREOPEN, path, mode, stream);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	return stdio_audited(STDIO_ENTRY_FREOPEN64, path, mode, stream);
}

SHIM_EXPORT int fclose(FILE *stream)
{
	if (stream != NULL) {
		int fd = fileno(stream);

		if (fd >= 0)
			fdstate_close(fd);
	}
	return REAL(fclose)(stream);
}
