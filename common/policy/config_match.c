/*
 * config_match.c - matching a path against phitrail.conf's rules: the quick
 * tests that reject most paths by their first bytes (config.h: the prefix
 * filter built here when the file is loaded, and the test on a path as the
 * program wrote it), then pathglob_match over each rule's patterns and the
 * {patient} capture.
 *
 * The single owner of the question "could this path be PHI" before a glob
 * is walked; pathglob.c owns walking one glob. Runs on every audited call:
 * never allocates, no system call.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config_private.h"

/*
 * The quick test (config.h). Each pattern contributes the part of its literal
 * prefix up to and including the '/' that ends its first segment (or the
 * whole literal prefix when shorter, cut to CONFIG_FILTER_PREFIX_MAX - 1):
 * a path the pattern matches starts with its literal prefix, so with that
 * part. A part that starts with another is left out (the shorter one says
 * "maybe" for both). A pattern with less than "/x" as its literal prefix
 * (a wildcard right after the first '/'), or more distinct parts than
 * fit, leaves the filter unbuilt: every path "maybe".
 */
void config_path_filter_build(struct config *cfg)
{
	struct config_path_filter *f = &cfg->path_filter;
	size_t i, k, len;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < cfg->pattern_count; i++) {
		const struct pathglob *g = &cfg->patterns[i].glob;
		const char *slash;

		len = g->literal_prefix;
		slash = len > 1 ? memchr(g->pattern + 1, '/', len - 1) : NULL;
		if (slash != NULL)
			len = (size_t)(slash - g->pattern) + 1;
		if (len >= CONFIG_FILTER_PREFIX_MAX)
			len = CONFIG_FILTER_PREFIX_MAX - 1;
		if (len < 2)
			goto unbuilt;
		for (k = 0; k < f->count; k++) {
			size_t n = f->length[k] < len ? f->length[k] : len;

			if (memcmp(f->prefix[k], g->pattern, n) != 0)
				continue;
			if (len < f->length[k])
				f->length[k] = (unsigned short)len;  /* keep the shorter */
			break;
		}
		if (k < f->count)
			continue;
		if (f->count >= CONFIG_FILTER_PREFIXES)
			goto unbuilt;
		memcpy(f->prefix[f->count], g->pattern, len);
		f->length[f->count++] = (unsigned short)len;
	}
	for (k = 0; k < f->count; k++) {
		unsigned char c = (unsigned char)f->prefix[k][1];

		f->second_byte[c >> 3] |= (unsigned char)(1u << (c & 7));
	}
	f->built = 1;
	return;
unbuilt:
	memset(f, 0, sizeof(*f));
}

int config_could_match_path(const struct config *cfg, const char *path,
			    size_t len)
{
	const struct config_path_filter *f = &cfg->path_filter;
	unsigned char c;
	size_t k;

	if (!f->built)
		return 1;
	if (len < 2)
		return 0;           /* "/": every prefix is longer */
	c = (unsigned char)path[1];
	if (!(f->second_byte[c >> 3] & (1u << (c & 7))))
		return 0;
	for (k = 0; k < f->count; k++)
		if (f->length[k] <= len &&
		    memcmp(path, f->prefix[k], f->length[k]) == 0)
			return 1;
	return 0;
}

int config_could_match_under(const struct config *cfg, const char *dir,
			     size_t len)
{
	const struct config_path_filter *f = &cfg->path_filter;
	size_t k, n;

	if (!f->built)
		return 1;
	if (len <= 1)
		return f->count > 0;  /* "/": every absolute path is below it */
	for (k = 0; k < f->count; k++) {
		n = f->length[k];
		if (n <= len) {
			/* the prefix is a prefix of dir, so of all below it */
			if (memcmp(dir, f->prefix[k], n) == 0)
				return 1;
		} else if (memcmp(dir, f->prefix[k], len) == 0 &&
		    f->prefix[k][len] == '/') {
			return 1;   /* a path below dir can start with it */
		}
	}
	return 0;
}

/*
 * The quick test for a path as the program wrote it (config.h). For each
 * pattern, let k be the first byte where path and the pattern's literal
 * prefix differ (path matching the whole prefix: "maybe"). Normalising
 * only drops empty and "." segments and resolves ".." ones; so when path
 * has no ".." segment and the segments up to the one holding byte k are
 * kept as they are (the bytes before k are the prefix's, whose segments
 * are literal; that segment is non-empty and does not start with '.'),
 * the normal form has the same bytes up to k, or ends there, and misses
 * the prefix too. Anything else is "maybe".
 *
 * The ".." search need not look at the bytes before the segment holding
 * k, the same for every pattern: a ".." segment there would be whole
 * inside a literal prefix, and compiled patterns have none. So it starts
 * at the '/' before the earliest such segment, found with the prefixes.
 * One strlen, then 16 bytes per step where SSE2 is there; no load reaches
 * past the path's NUL.
 */
#ifdef __SSE2__
#include <emmintrin.h>

/* Bit i set when a[i] == b[i], for the 16 bytes at a and b. */
static inline unsigned config_equal16(const char *a, const char *b)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)a);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)b);

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));
}

/* Bit i set when p[i] == '/' and p[i + 1] == '.' (p + 16 readable). */
static inline unsigned config_slash_dot16(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('/'))) &
		(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_set1_epi8('.')));
}
#endif

/* The first n bytes of a and b are readable: where they first differ, or n. */
static size_t config_first_difference(const char *a, const char *b, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	unsigned same;

	for (; i + 16 <= n; i += 16)
		if ((same = config_equal16(a + i, b + i)) != 0xffff)
			return i + (size_t)__builtin_ctz(~same);
	if (i == n)
		return n;
	if (n >= 16) {                 /* the last 16 bytes, again in part */
		i = n - 16;
		same = config_equal16(a + i, b + i);
		return same == 0xffff ? n : i + (size_t)__builtin_ctz(~same);
	}
#endif
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(x ^ y) / 8;
#else
			return i + (size_t)__builtin_clzll(x ^ y) / 8;
#endif
		}
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* 1 when p (a '/' followed by '.') starts a ".." segment. */
static inline int config_dot_dot_at(const char *p)
{
	return p[2] == '.' && (p[3] == '/' || p[3] == '\0');
}

/*
 * 1 when path (len bytes and its NUL) has a ".." segment whose '/' is at
 * from or after it.
 */
static int config_has_dot_dot(const char *path, size_t from, size_t len)
{
	size_t i = from;

#ifdef __SSE2__
	unsigned m;

	for (; i + 16 <= len; i += 16)     /* reads up to path[i + 16] */
		for (m = config_slash_dot16(path + i); m != 0; m &= m - 1)
			if (config_dot_dot_at(path + i + __builtin_ctz(m)))
				return 1;
	if (i == len)
		return 0;
	if (len >= 16 && len - 16 >= from) {   /* the tail, again in part */
		i = len - 16;
		for (m = config_slash_dot16(path + i); m != 0; m &= m - 1)
			if (config_dot_dot_at(path + i + __builtin_ctz(m)))
				return 1;
		return 0;
	}
#endif
	for (; i < len; i++)
		if (path[i] == '/' && path[i + 1] == '.' &&
		    config_dot_dot_at(path + i))
			return 1;
	return 0;
}

int config_could_match_raw(const struct config *cfg, const char *path)
{
	const struct config_path_filter *f = &cfg->path_filter;
	unsigned char c;
	size_t i, k, s, from, len;

	if (!f->built || path[0] != '/')
		return 1;
	c = (unsigned char)path[1];
	len = strlen(path);
	from = 0;
	if (f->second_byte[c >> 3] & (1u << (c & 7))) {
		from = len;
		for (i = 0; i < cfg->pattern_count; i++) {
			const struct pathglob *g = &cfg->patterns[i].glob;
			size_t n = g->literal_prefix;

			k = config_first_difference(path, g->pattern,
						    len < n ? len : n);
			if (k == n)
				return 1;
			for (s = k; g->pattern[s - 1] != '/'; s--)
				;
			if (path[s] == '.' || path[s] == '/')
				return 1;
			if (s - 1 < from)
				from = s - 1;
		}
	} else if (c == '.' || c == '/') {
		return 1;              /* byte 1 differs from every prefix's */
	}
	return config_has_dot_dot(path, from, len);
}

/* Whether capture name is "patient", without a call. */
static int config_capture_is_patient(const char *name)
{
	static const char patient[8] = "patient";   /* with its NUL */

	return memcmp(name, patient, sizeof(patient)) == 0;
}

int config_match_path(const struct config *cfg, const char *path,
		      char *patient, size_t patient_size)
{
	size_t len;

	if (patient != NULL && patient_size > 0)
		patient[0] = '\0';
	if (path == NULL)
		return -1;
	len = strlen(path);
	if (!config_could_match_path(cfg, path, len))
		return -1;
	return config_match_normal(cfg, path, len, patient, patient_size);
}

int config_match_normal(const struct config *cfg, const char *path,
			size_t len, char *patient, size_t patient_size)
{
	struct pathglob_capture captures[PATHGLOB_MAX_CAPTURES];
	size_t i;

	if (patient != NULL && patient_size > 0)
		patient[0] = '\0';
	for (i = 0; i < cfg->pattern_count; i++) {
		const struct config_pattern *pat = &cfg->patterns[i];
		const struct pathglob *g = &pat->glob;

		if (!pathglob_match(g, path, len, captures))
			continue;
		for (unsigned c = 0; c < g->capture_count &&
		     patient != NULL && patient_size > 0; c++) {
			size_t n = captures[c].length;

			if (!config_capture_is_patient(g->capture_names[c]))
				continue;
			if (n >= patient_size)
				n = patient_size - 1;
			memcpy(patient, path + captures[c].offset, n);
			patient[n] = '\0';
			break;
		}
		return (int)pat->rule;
	}
	return -1;
}

