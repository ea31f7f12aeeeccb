/*
 * pathglob.c - policy path globs and lexical path normalisation.
 *
 * Owns the glob syntax of pathglob.h: checking a pattern once when the
 * configuration is loaded, and matching it against absolute, normalised
 * paths on every audited call inside the host program. Matching walks the
 * pattern and the path segment by segment; a "**" segment is handled like
 * the '*' of the classic wildcard matcher (remember the last one, retry one
 * segment further on a mismatch), so it needs no recursion and stays linear
 * in the number of "**" retries, whatever the pattern.
 *
 * Must never allocate, make a system call, or recurse: it runs inside every
 * host process, possibly in a signal handler.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pathglob.h"

/* A segment of a pattern or a path: [start, start + length). */
struct segment {
	const char *start;
	size_t length;
};

/* The next segment at or after *pos (skipping '/'); 0 when none is left. */
static int segment_next(const char *s, size_t len, size_t *pos,
			struct segment *seg)
{
	size_t i = *pos;

	while (i < len && s[i] == '/')
		i++;
	if (i >= len)
		return 0;
	seg->start = s + i;
	while (i < len && s[i] != '/')
		i++;
	seg->length = (size_t)(s + i - seg->start);
	*pos = i;
	return 1;
}

static int segment_is_any_depth(const struct segment *seg)
{
	return seg->length == 2 && seg->start[0] == '*' && seg->start[1] == '*';
}

static int segment_is_capture(const struct segment *seg)
{
	return seg->length >= 2 && seg->start[0] == '{';
}

static int capture_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Checks one segment of a pattern; *why is set on error. */
static int segment_check(struct pathglob *glob, const struct segment *seg,
			 const char **why)
{
	size_t i;

	if (seg->length == 1 && seg->start[0] == '.') {
		*why = "'.' segments never match a normalised path";
		return -EINVAL;
	}
	if (seg->length == 2 && seg->start[0] == '.' && seg->start[1] == '.') {
		*why = "'..' segments never match a normalised path";
		return -EINVAL;
	}
	if (segment_is_any_depth(seg))
		return 0;
	if (seg->start[0] == '{') {
		size_t name_len = seg->length - 2;
		unsigned k;

		if (memchr(seg->start, '}', seg->length) == NULL) {
			*why = "'{' without '}'";
			return -EINVAL;
		}
		if (seg->start[seg->length - 1] != '}' ||
		    memchr(seg->start + 1, '{', seg->length - 1) != NULL ||
		    memchr(seg->start, '}', seg->length - 1) != NULL) {
			*why = "'{name}' must be a whole segment";
			return -EINVAL;
		}
		if (name_len == 0) {
			*why = "'{}' needs a capture name";
			return -EINVAL;
		}
		if (name_len >= PATHGLOB_CAPTURE_NAME_MAX) {
			*why = "capture name longer than 31 bytes";
			return -EINVAL;
		}
		for (i = 1; i <= name_len; i++) {
			if (!capture_name_char(seg->start[i])) {
				*why = "capture names use only letters, digits, '_' and '-'";
				return -EINVAL;
			}
		}
		for (k = 0; k < glob->capture_count; k++) {
			if (strlen(glob->capture_names[k]) == name_len &&
			    memcmp(glob->capture_names[k], seg->start + 1, name_len) == 0) {
				*why = "capture name used twice";
				return -EINVAL;
			}
		}
		if (glob->capture_count >= PATHGLOB_MAX_CAPTURES) {
			*why = "more than 4 captures";
			return -EINVAL;
		}
		memcpy(glob->capture_names[glob->capture_count], seg->start + 1,
		       name_len);
		glob->capture_names[glob->capture_count][name_len] = '\0';
		glob->capture_count++;
		return 0;
	}
	for (i = 0; i < seg->length; i++) {
		char c = seg->start[i];

		if (c == '{') {
			*why = memchr(seg->start + i, '}', seg->length - i) ?
			    "'{name}' must be a whole segment" : "'{' without '}'";
			return -EINVAL;
		}
		if (c == '}') {
			*why = "'}' without '{'";
			return -EINVAL;
		}
		if (c == '*' && i + 1 < seg->length && seg->start[i + 1] == '*') {
			*why = "'**' must be a whole segment";
			return -EINVAL;
		}
	}
	return 0;
}

int pathglob_compile(struct pathglob *glob, const char *pattern,
		     const char **why)
{
	const char *dummy;
	struct segment seg;
	size_t len, pos = 0, prefix;
	unsigned segments = 0;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(glob, 0, sizeof(*glob));
	if (pattern == NULL || pattern[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	len = strnlen(pattern, PATHGLOB_MAX);
	if (len >= PATHGLOB_MAX) {
		*why = "pattern longer than 511 bytes";
		return -EINVAL;
	}
	if (strstr(pattern, "//") != NULL) {
		*why = "empty segment ('//')";
		return -EINVAL;
	}
	if (len > 1 && pattern[len - 1] == '/') {
		*why = "must not end with '/' (use '/**' for a whole tree)";
		return -EINVAL;
	}
	while (segment_next(pattern, len, &pos, &seg)) {
		if (++segments > PATHGLOB_MAX_SEGMENTS) {
			*why = "more than 64 segments";
			memset(glob, 0, sizeof(*glob));
			return -EINVAL;
		}
		rc = segment_check(glob, &seg, why);
		if (rc < 0) {
			memset(glob, 0, sizeof(*glob));
			return rc;
		}
	}
	memcpy(glob->pattern, pattern, len + 1);

	/*
	 * The literal prefix stops at the first wildcard. A "**" segment may
	 * match nothing (pattern "/a" then a "**" segment matches "/a"), so
	 * the '/' before it is not part of the prefix.
	 */
	prefix = strcspn(pattern, "*?{");
	if (prefix < len && pattern[prefix] == '*' && prefix + 1 < len &&
	    pattern[prefix + 1] == '*' && prefix > 0 && pattern[prefix - 1] == '/')
		prefix--;
	glob->literal_prefix = (unsigned short)prefix;
	glob->length = (unsigned short)len;
	/* the usual rule's shape, LITERAL/{name} then "**": a short way */
	if (prefix > 0 && pattern[prefix - 1] == '/' && pattern[prefix] == '{' &&
	    glob->capture_count == 1) {
		const char *close = strchr(pattern + prefix, '}');

		glob->capture_tree = close != NULL && strcmp(close, "}/**") == 0;
	}
	/* the last slash of the literal prefix ends a literal segment (0 for "/" then "**") */
	glob->match_start = prefix == 0 ? 0 :
		(unsigned short)((const char *)memrchr(pattern, '/', prefix) -
				 pattern);
	return 0;
}

/* Matches one path segment against one pattern segment of '*', '?' and literals. */
static int segment_match(const struct segment *pat, const struct segment *seg)
{
	size_t p = 0, s = 0, star_p = SIZE_MAX, star_s = 0;

	while (s < seg->length) {
		if (p < pat->length && pat->start[p] == '*') {
			star_p = p++;
			star_s = s;
		} else if (p < pat->length &&
		    (pat->start[p] == '?' || pat->start[p] == seg->start[s])) {
			p++;
			s++;
		} else if (star_p != SIZE_MAX) {
			p = star_p + 1;
			s = ++star_s;
		} else {
			return 0;
		}
	}
	while (p < pat->length && pat->start[p] == '*')
		p++;
	return p == pat->length;
}

/*
 * The walk shared by both matchers, from byte start of pattern and path
 * (the same offset: the caller has checked that they agree before it, and
 * start is 0 or a '/' that ends a literal segment). With trailing_any_depth
 * a "**" that is the pattern's last segment ends the walk at once: it
 * matches whatever is left, and the captures so far are the ones the full
 * walk would keep (it reaches that "**" in the same state and only ever
 * retries that last "**" from there).
 */
static inline int glob_walk(const char *pattern, size_t pattern_len,
			    const char *path, size_t path_len, size_t start,
			    int trailing_any_depth,
			    struct pathglob_capture *captures)
{
	size_t pp = start, sp = start;
	size_t star_pp = SIZE_MAX, star_sp = 0;
	unsigned capture = 0, star_capture = 0;
	struct segment pat = { NULL, 0 }, seg = { NULL, 0 };
	int have_pat, have_seg;

	for (;;) {
		have_pat = segment_next(pattern, pattern_len, &pp, &pat);
		if (have_pat && segment_is_any_depth(&pat)) {
			if (trailing_any_depth && pp == pattern_len)
				return 1;
			/* Try zero segments first; remember where to retry. */
			star_pp = pp;
			star_sp = sp;
			star_capture = capture;
			continue;
		}
		have_seg = segment_next(path, path_len, &sp, &seg);
		if (!have_pat && !have_seg)
			return 1;
		if (have_pat && have_seg) {
			if (segment_is_capture(&pat)) {
				if (captures != NULL && capture < PATHGLOB_MAX_CAPTURES) {
					captures[capture].offset = (size_t)(seg.start - path);
					captures[capture].length = seg.length;
				}
				capture++;
				continue;
			}
			if (segment_match(&pat, &seg))
				continue;
		}
		/* Mismatch: let the last "**" take one more segment. */
		if (star_pp == SIZE_MAX)
			return 0;
		sp = star_sp;
		if (!segment_next(path, path_len, &sp, &seg))
			return 0;
		star_sp = sp;
		pp = star_pp;
		capture = star_capture;
	}
}

/* 1 when path is absolute and starts with glob's literal prefix. */
static int glob_prefix_agrees(const struct pathglob *glob, const char *path,
			      size_t path_len)
{
	return path != NULL && path_len > 0 && path[0] == '/' &&
		glob->pattern[0] == '/' && path_len >= glob->literal_prefix &&
		memcmp(path, glob->pattern, glob->literal_prefix) == 0;
}

int pathglob_match_reference(const struct pathglob *glob, const char *path,
			     size_t path_len, struct pathglob_capture *captures)
{
	if (!glob_prefix_agrees(glob, path, path_len))
		return 0;
	return glob_walk(glob->pattern, strlen(glob->pattern), path, path_len,
			 0, 0, captures);
}

/*
 * The literal prefix is compared once; the literal segments before
 * match_start are then known to agree and are not walked again.
 */
/*
 * glob_walk's answer for LITERAL/{name} then "**" (the prefix agreed): the
 * capture is the path's next segment after the prefix's last '/', and the
 * trailing "**" takes whatever follows; no segment there, no match.
 */
static int glob_capture_tree(const struct pathglob *glob, const char *path,
			     size_t path_len, struct pathglob_capture *captures)
{
	size_t i = glob->match_start;
	const char *end;

	while (i < path_len && path[i] == '/')
		i++;
	if (i >= path_len)
		return 0;
	end = memchr(path + i, '/', path_len - i);
	if (captures != NULL) {
		captures[0].offset = i;
		captures[0].length = end != NULL ? (size_t)(end - path) - i : path_len - i;
	}
	return 1;
}

int pathglob_match(const struct pathglob *glob, const char *path,
		   size_t path_len, struct pathglob_capture *captures)
{
	if (!glob_prefix_agrees(glob, path, path_len))
		return 0;
	if (glob->capture_tree)
		return glob_capture_tree(glob, path, path_len, captures);
	return glob_walk(glob->pattern, glob->length, path, path_len,
			 glob->match_start, 1, captures);
}

int pathglob_capture_index(const struct pathglob *glob, const char *name)
{
	unsigned i;

	for (i = 0; i < glob->capture_count && i < PATHGLOB_MAX_CAPTURES; i++)
		if (strcmp(glob->capture_names[i], name) == 0)
			return (int)i;
	return -1;
}

#ifdef __SSE2__
/*
 * Bit j set when block[j] is '/' and what follows it is empty, "." or
 * "..", or a NUL: block[0..19) is readable and j + 3 is inside the path.
 */
static inline unsigned is_normal_bad16(const char *block)
{
	__m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)block);
	__m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(block + 1));
	__m128i b2 = _mm_loadu_si128((const __m128i *)(const void *)(block + 2));
	__m128i b3 = _mm_loadu_si128((const __m128i *)(const void *)(block + 3));
	__m128i slash = _mm_set1_epi8('/'), dot = _mm_set1_epi8('.');
	__m128i d1 = _mm_cmpeq_epi8(b1, dot);
	__m128i bad = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(b1, slash),
			     _mm_cmpeq_epi8(b1, _mm_setzero_si128())),
		_mm_and_si128(d1, _mm_or_si128(
			_mm_cmpeq_epi8(b2, slash),
			_mm_and_si128(_mm_cmpeq_epi8(b2, dot),
				      _mm_cmpeq_epi8(b3, slash)))));

	return (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(b0, slash),
							bad));
}
#endif

/*
 * One pass over the path, looking only at what follows each '/': an empty,
 * "." or ".." segment, or a trailing '/', is what normalising would change.
 * Sixteen bytes at a time while the three bytes after them are inside the
 * path (the last block overlapping the one before), then the last three
 * byte by byte.
 */
int pathglob_is_normal(const char *path, size_t len)
{
	const char *p, *end;
	size_t i = 0;

	if (path == NULL || len == 0 || path[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	if (path[len - 1] == '/')
		return 0;
#ifdef __SSE2__
	if (len >= 19) {
		for (; i + 19 <= len; i += 16)
			if (is_normal_bad16(path + i) != 0)
				return 0;
		/* the rest but the last three bytes: one block, again in part */
		if (i < len - 3 && is_normal_bad16(path + len - 19) != 0)
			return 0;
		i = len - 3;
	}
#endif
	end = path + len;
	for (p = path + i; p < end; p++) {
		const char *q = p + 1;   /* < end: the last byte is not '/' */

		if (*p != '/')
			continue;
		if (*q == '/' || *q == '\0')
			return 0;
		if (*q == '.' && (q + 1 == end || q[1] == '/' ||
		    (q[1] == '.' && (q + 2 == end || q[2] == '/'))))
			return 0;
	}
	return 1;
}

/* Applies the segments of s to out (length *len, "" meaning "/"). */
static int normalise_append(const char *s, char *out, size_t out_size,
			    size_t *len)
{
	size_t slen = strlen(s), pos = 0;
	struct segment seg;

	while (segment_next(s, slen, &pos, &seg)) {
		if (seg.length == 1 && seg.start[0] == '.')
			continue;
		if (seg.length == 2 && seg.start[0] == '.' && seg.start[1] == '.') {
			while (*len > 0 && out[*len - 1] != '/')
				(*len)--;
			if (*len > 0)
				(*len)--;        /* the '/' itself; never above "/" */
			continue;
		}
		if (*len + 1 + seg.length + 1 > out_size)
			return -ENAMETOOLONG;
		out[(*len)++] = '/';
		memcpy(out + *len, seg.start, seg.length);
		*len += seg.length;
	}
	return 0;
}

long pathglob_normalise(const char *base, const char *path, char *out,
			size_t out_size)
{
	size_t len = 0;
	int rc;

	if (path == NULL || out == NULL)
		return -EINVAL;
	if (out_size < 2)
		return -ENAMETOOLONG;
	if (path[0] != '/') {
		if (base == NULL || base[0] != '/')
			return -EINVAL;
		rc = normalise_append(base, out, out_size, &len);
		if (rc < 0)
			return rc;
	}
	rc = normalise_append(path, out, out_size, &len);
	if (rc < 0)
		return rc;
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return (long)len;
}

size_t pathglob_root(const struct pathglob *glob, char *out, size_t size)
{
	size_t n = glob->literal_prefix;

	while (n > 0 && glob->pattern[n - 1] != '/')
		n--;
	if (n > 1)
		n--;                       /* drop the '/', except for "/" */
	if (n == 0 || n >= size)
		return 0;
	memcpy(out, glob->pattern, n);
	out[n] = '\0';
	return n;
}
