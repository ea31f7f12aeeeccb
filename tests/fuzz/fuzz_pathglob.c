/*
 * fuzz_pathglob.c - the input is "pattern\npath\nbase": compile the pattern,
 * normalise the path against the base, match. Checks the promises: a
 * normalised path is absolute, has no "//", "." or ".." segment and no
 * trailing '/', and normalising it again changes nothing; a wildcard-free
 * pattern matches itself; matching never reads outside the path.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
		if (pathglob_match(&glob, copy, (size_t)n, caps)) {
			for (i = 0; i < glob.capture_count; i++) {
				assert(caps[i].offset + caps[i].length <= (size_t)n);
				assert(caps[i].length > 0);
				assert(memchr(copy + caps[i].offset, '/', caps[i].length) == NULL);
			}
		}
		free(copy);
	}
	return 0;
}
