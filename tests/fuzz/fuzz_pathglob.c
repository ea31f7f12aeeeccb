/*
 * fuzz_pathglob.c - the input is "pattern\npath\nbase": compile the pattern,
 * normalise the path against the base, match. Checks the promises: a
 * normalised path is absolute, has no "//", "." or ".." segment and no
 * trailing '/', and normalising it again changes nothing; a wildcard-free
 * pattern matches itself; matching never reads outside the path. The quick
 * paths agree with the full ones: pathglob_is_normal says 1 exactly when
 * normalising an absolute path gives it back unchanged, and the config
 * filter never says "no" for a path its pattern matches, nor for any
 * directory above such a path, nor for any absolute path that normalises
 * to it; the fast matcher agrees with the reference matcher.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pathglob.h"

/* Copies the next '\n'-terminated part of data into out (NUL-terminated). */
static const uint8_t *take(const uint8_t *p, const uint8_t *end, char *out,
			   size_t out_size)
{
	size_t n = 0;

	while (p < end && *p != '\n') {
		if (n + 1 < out_size && *p != '\0')
			out[n++] = (char)*p;
		p++;
	}
	out[n] = '\0';
	return p < end ? p + 1 : p;
}

/*
 * The quick test of config.h for a one-pattern configuration: wherever the
 * compiled pattern matches the path, neither the path nor any directory
 * above it may be answered "no".
 */
static void check_filter(const char *pattern, const char *path, size_t len,
			 const char *raw)
{
	static struct config cfg;
	static char text[1200];
	size_t i;

	if (strchr(pattern, ';') != NULL || strchr(pattern, '#') != NULL)
		return;             /* inline comments: not the pattern any more */
	snprintf(text, sizeof(text), "[rule r]\nfiles = %s\n", pattern);
	if (config_load_string(&cfg, "fuzz", text, strlen(text)) < 0 ||
	    cfg.pattern_count != 1)
		return;
	if (!pathglob_match(&cfg.patterns[0].glob, path, len, NULL))
		return;
	assert(config_could_match_path(&cfg, path, len) == 1);
	assert(config_could_match_raw(&cfg, path) == 1);
	if (raw[0] == '/')             /* raw normalises to path */
		assert(config_could_match_raw(&cfg, raw) == 1);
	assert(config_match_path(&cfg, path, NULL, 0) == 0);
	for (i = 1; i <= len; i++)
		if (i == len || path[i] == '/')
			assert(config_could_match_under(&cfg, path, i) == 1);
	assert(config_could_match_under(&cfg, "/", 1) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pattern[1024], path[4096], base[4096], out[4096], out2[4096];
	const uint8_t *p = data, *end = data + size;
	struct pathglob glob;
	struct pathglob_capture caps[PATHGLOB_MAX_CAPTURES];
	const char *why = NULL;
	long n, n2;
	int compiled, i;
	char *copy;

	p = take(p, end, pattern, sizeof(pattern));
	p = take(p, end, path, sizeof(path));
	take(p, end, base, sizeof(base));

	compiled = pathglob_compile(&glob, pattern, &why) == 0;
	if (!compiled)
		assert(why != NULL);
	else {
		assert(glob.literal_prefix <= strlen(glob.pattern));
		if (strpbrk(pattern, "*?{") == NULL)
			assert(pathglob_match(&glob, pattern, strlen(pattern), NULL) == 1);
	}

	if (path[0] == '/') {
		n = pathglob_normalise(NULL, path, out, sizeof(out));
		assert(pathglob_is_normal(path, strlen(path)) ==
		       (n >= 0 && strcmp(out, path) == 0));
	}
	n = pathglob_normalise(base[0] ? base : NULL, path, out, sizeof(out));
	if (n < 0) {
		assert(n == -EINVAL || n == -ENAMETOOLONG);
		return 0;
	}
	assert((size_t)n == strlen(out));
	assert(out[0] == '/');
	assert(strstr(out, "//") == NULL);
	assert(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL);
	assert(n == 1 || out[n - 1] != '/');
	assert(!(n >= 2 && strcmp(out + n - 2, "/.") == 0));
	assert(!(n >= 3 && strcmp(out + n - 3, "/..") == 0));
	n2 = pathglob_normalise(NULL, out, out2, sizeof(out2));
	assert(n2 == n && strcmp(out, out2) == 0);

	if (compiled) {
		/* an exact-size heap copy lets ASan see any read past the path */
		copy = malloc((size_t)n);
		if (copy == NULL)
			return 0;
		memcpy(copy, out, (size_t)n);
		assert(pathglob_match(&glob, copy, (size_t)n, NULL) ==
		       pathglob_match_reference(&glob, copy, (size_t)n, NULL));
		if (pathglob_match(&glob, copy, (size_t)n, caps)) {
			struct pathglob_capture ref[PATHGLOB_MAX_CAPTURES];

			assert(pathglob_match_reference(&glob, copy, (size_t)n, ref));
			for (i = 0; i < glob.capture_count; i++)
				assert(caps[i].offset == ref[i].offset &&
				       caps[i].length == ref[i].length);
			for (i = 0; i < glob.capture_count; i++) {
				assert(caps[i].offset + caps[i].length <= (size_t)n);
				assert(caps[i].length > 0);
				assert(memchr(copy + caps[i].offset, '/', caps[i].length) == NULL);
			}
		}
		free(copy);
		check_filter(pattern, out, (size_t)n,
			     path[0] == '/' ? path : "");
	}
	return 0;
}
