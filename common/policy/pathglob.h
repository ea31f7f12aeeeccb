/*
 * pathglob.h - path globs of policy rules and path normalisation
 * (implemented in pathglob.c; pure logic, no I/O, no allocation).
 *
 * A glob is an absolute path pattern matched segment by segment:
 *   *       any run of characters within one segment (not '/')
 *   **      as a whole segment: zero or more segments, any depth
 *   {name}  as a whole segment: exactly one segment, captured under name
 *   ?       one character other than '/'
 * Anything else matches itself. A trailing "**" segment also matches the directory
 * itself. Matching never recurses more than PATHGLOB_MAX_SEGMENTS deep.
 */
#ifndef PHITRAIL_PATHGLOB_H
#define PHITRAIL_PATHGLOB_H

#include <stddef.h>

#define PATHGLOB_MAX 512              /* longest pattern, bytes with NUL */
#define PATHGLOB_MAX_SEGMENTS 64
#define PATHGLOB_MAX_CAPTURES 4
#define PATHGLOB_CAPTURE_NAME_MAX 32

struct pathglob {
	char pattern[PATHGLOB_MAX];
	unsigned short literal_prefix;    /* bytes before the first wildcard */
	unsigned short length;            /* strlen(pattern) */
	unsigned short match_start;       /* the last '/' before literal_prefix */
	unsigned char capture_count;
	unsigned char capture_tree;       /* the pattern is PREFIX/{name} then a trailing any-depth segment */
	char capture_names[PATHGLOB_MAX_CAPTURES][PATHGLOB_CAPTURE_NAME_MAX];
};

/* A capture found by a match: offset and length into the matched path. */
struct pathglob_capture {
	size_t offset, length;
};

/*
 * Checks and compiles pattern. Returns 0, or -EINVAL with *why set to a
 * static message ("must be an absolute path", "'{' without '}'",
 * "'**' must be a whole segment", "pattern longer than 511 bytes", ...).
 */
int pathglob_compile(struct pathglob *glob, const char *pattern,
		     const char **why);

/*
 * 1 when path (absolute, normalised, length path_len) matches, else 0.
 * captures (may be NULL) receives glob->capture_count entries in order.
 */
int pathglob_match(const struct pathglob *glob, const char *path,
		   size_t path_len, struct pathglob_capture *captures);

/*
 * The same answer and captures as pathglob_match, the plain way: walks the
 * whole pattern from its first byte on every call. Kept as the reference
 * the faster pathglob_match is tested against (unit tests, fuzz target).
 */
int pathglob_match_reference(const struct pathglob *glob, const char *path,
			     size_t path_len, struct pathglob_capture *captures);

/* Index of the capture named name, or -1. */
int pathglob_capture_index(const struct pathglob *glob, const char *name);

/*
 * The directory a glob's files live under: the bytes of its literal prefix
 * up to its last '/' (without that '/', except for "/"), written to out as
 * a string. Its length, or 0 when there is none or it does not fit in size.
 */
size_t pathglob_root(const struct pathglob *glob, char *out, size_t size);

/*
 * Makes an absolute, normalised path from path: relative paths are joined to
 * base (the working directory, or a directory descriptor's path), "." and
 * ".." segments and repeated '/' are resolved lexically (no symlinks are
 * followed, no system call is made). Writes to out (out_size bytes).
 * Returns the length, or -ENAMETOOLONG, or -EINVAL when path is relative
 * and base is NULL or not absolute.
 */
long pathglob_normalise(const char *base, const char *path, char *out,
			size_t out_size);

/*
 * 1 when path (a string, len == strlen(path)) is absolute and already
 * normalised, so that pathglob_normalise(NULL, path, ...) would give back
 * the same bytes: no empty, "." or ".." segment, no trailing '/' (except "/"
 * itself). One scan, no copy: lets a caller match a path as it is.
 */
int pathglob_is_normal(const char *path, size_t len);

#endif
