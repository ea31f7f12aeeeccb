/*
 * test_pathglob.c - policy globs (compile, match, captures, literal prefix)
 * and lexical path normalisation, including every limit at the limit and one
 * past it.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "pathglob.h"
#include "unit.h"

/*
 * pathglob_match, checked against pathglob_match_reference: the same answer
 * and, on a match, the same captures.
 */
static int agreed_match(const struct pathglob *g, const char *path,
			struct pathglob_capture *caps)
{
	struct pathglob_capture fast[PATHGLOB_MAX_CAPTURES];
	struct pathglob_capture ref[PATHGLOB_MAX_CAPTURES];
	size_t len = strlen(path);
	int got, want;

	memset(fast, 0xa5, sizeof(fast));
	memset(ref, 0x5a, sizeof(ref));
	got = pathglob_match(g, path, len, fast);
	want = pathglob_match_reference(g, path, len, ref);
	CHECK_INT(got, want);
	CHECK_INT(pathglob_match(g, path, len, NULL), want);
	for (int i = 0; got && want && i < g->capture_count; i++) {
		CHECK_INT(fast[i].offset, ref[i].offset);
		CHECK_INT(fast[i].length, ref[i].length);
	}
	if (caps != NULL)
		memcpy(caps, fast, sizeof(fast));
	return got;
}

/* Compiles pattern (must succeed) and matches path; -1 on compile error. */
static int match(const char *pattern, const char *path)
{
	struct pathglob g;
	const char *why = NULL;

	if (pathglob_compile(&g, pattern, &why) != 0) {
		fprintf(stderr, "compile '%s' failed: %s\n", pattern, why);
		return -1;
	}
	return agreed_match(&g, path, NULL);
}

/* The capture named name after matching, "" when none, "NOMATCH". */
static const char *capture(const char *pattern, const char *path,
			   const char *name)
{
	static char out[256];
	struct pathglob g;
	struct pathglob_capture caps[PATHGLOB_MAX_CAPTURES];
	const char *why;
	int i;

	if (pathglob_compile(&g, pattern, &why) != 0)
		return "COMPILE";
	if (!agreed_match(&g, path, caps))
		return "NOMATCH";
	i = pathglob_capture_index(&g, name);
	if (i < 0)
		return "";
	memcpy(out, path + caps[i].offset, caps[i].length);
	out[caps[i].length] = '\0';
	return out;
}

/* The message of a failing compile, or "OK". */
static const char *compile_why(const char *pattern)
{
	struct pathglob g;
	const char *why = NULL;

	if (pathglob_compile(&g, pattern, &why) == 0)
		return "OK";
	return why ? why : "(null why)";
}

static void test_patient_capture(void)
{
	const char *p = "/srv/ehr/patients/{patient}/**";

	CHECK_STR(capture(p, "/srv/ehr/patients/4711/chart.txt", "patient"), "4711");
	CHECK_STR(capture(p, "/srv/ehr/patients/4711", "patient"), "4711");
	CHECK_STR(capture(p, "/srv/ehr/patients/4711/a/b/c/d.txt", "patient"), "4711");
	CHECK_STR(capture(p, "/srv/ehr/patients", "patient"), "NOMATCH");
	CHECK_STR(capture(p, "/srv/ehr/other/4711/x", "patient"), "NOMATCH");
	CHECK_STR(capture("/a/{x}/b/{y}", "/a/1/b/2", "x"), "1");
	CHECK_STR(capture("/a/{x}/b/{y}", "/a/1/b/2", "y"), "2");
	CHECK_STR(capture("/a/{x}/b/{y}", "/a/1/b/2", "z"), "");
	/* a capture after "**": the backtracking must leave the right one */
	CHECK_STR(capture("/**/p/{id}/x", "/a/p/q/p/7/x", "id"), "7");
	CHECK_STR(capture("/**/{id}", "/a/b/c", "id"), "c");
}

static void test_star(void)
{
	CHECK_INT(match("/srv/*.txt", "/srv/a.txt"), 1);
	CHECK_INT(match("/srv/*.txt", "/srv/.txt"), 1);
	CHECK_INT(match("/srv/*.txt", "/srv/a/b.txt"), 0);   /* '*' never crosses '/' */
	CHECK_INT(match("/srv/*", "/srv/a/b"), 0);
	CHECK_INT(match("/srv/*", "/srv"), 0);
	CHECK_INT(match("/srv/*", "/srv/x"), 1);
	CHECK_INT(match("/srv/a*b*c", "/srv/abxbyc"), 1);
	CHECK_INT(match("/srv/a*b*c", "/srv/abxbycd"), 0);
	CHECK_INT(match("/srv/f?o", "/srv/foo"), 1);
	CHECK_INT(match("/srv/f?o", "/srv/fo"), 0);
	CHECK_INT(match("/srv/f?o", "/srv/f/o"), 0);
	CHECK_INT(match("/*/x", "/a/x"), 1);
}

static void test_double_star(void)
{
	/* at the end: the directory itself and anything below */
	CHECK_INT(match("/srv/ehr/**", "/srv/ehr"), 1);
	CHECK_INT(match("/srv/ehr/**", "/srv/ehr/a"), 1);
	CHECK_INT(match("/srv/ehr/**", "/srv/ehr/a/b/c"), 1);
	CHECK_INT(match("/srv/ehr/**", "/srv/ehrx"), 0);
	CHECK_INT(match("/srv/ehr/**", "/srv"), 0);
	/* at the start */
	CHECK_INT(match("/**/chart.txt", "/chart.txt"), 1);
	CHECK_INT(match("/**/chart.txt", "/a/b/chart.txt"), 1);
	CHECK_INT(match("/**/chart.txt", "/a/b/chart.txtx"), 0);
	CHECK_INT(match("/**", "/"), 1);
	CHECK_INT(match("/**", "/anything/at/all"), 1);
	/* in the middle */
	CHECK_INT(match("/srv/**/x.dcm", "/srv/x.dcm"), 1);
	CHECK_INT(match("/srv/**/x.dcm", "/srv/a/b/x.dcm"), 1);
	CHECK_INT(match("/srv/**/x.dcm", "/srv/a/b/y.dcm"), 0);
	CHECK_INT(match("/srv/**/a/**/b", "/srv/a/b"), 1);
	CHECK_INT(match("/srv/**/a/**/b", "/srv/q/a/r/s/b"), 1);
	CHECK_INT(match("/srv/**/a/**/b", "/srv/q/b/r/s/a"), 0);
	CHECK_INT(match("/**/*.hl7", "/var/feed/in/msg1.hl7"), 1);
}

static void test_literal(void)
{
	CHECK_INT(match("/etc/passwd", "/etc/passwd"), 1);
	CHECK_INT(match("/etc/passwd", "/etc/passwdx"), 0);
	CHECK_INT(match("/etc/passwd", "/etc"), 0);
	CHECK_INT(match("/", "/"), 1);
	CHECK_INT(match("/", "/a"), 0);
	CHECK_INT(match("/a", "relative"), 0);
	CHECK_INT(match("/a", ""), 0);
}

static void test_literal_prefix(void)
{
	struct pathglob g;

	CHECK_INT(pathglob_compile(&g, "/srv/ehr/patients/{patient}/**", NULL), 0);
	CHECK_INT(g.literal_prefix, strlen("/srv/ehr/patients/"));
	CHECK_INT(g.capture_count, 1);
	CHECK_STR(g.capture_names[0], "patient");
	CHECK_INT(pathglob_compile(&g, "/srv/ehr/**", NULL), 0);
	CHECK_INT(g.literal_prefix, strlen("/srv/ehr"));
	CHECK_INT(pathglob_compile(&g, "/srv/a*.txt", NULL), 0);
	CHECK_INT(g.literal_prefix, strlen("/srv/a"));
	CHECK_INT(pathglob_compile(&g, "/etc/passwd", NULL), 0);
	CHECK_INT(g.literal_prefix, strlen("/etc/passwd"));
	CHECK_INT(pathglob_compile(&g, "/**", NULL), 0);
	CHECK_INT(g.literal_prefix, 0);
}

static void test_compile_errors(void)
{
	CHECK_STR(compile_why("srv/x"), "must be an absolute path");
	CHECK_STR(compile_why(""), "must be an absolute path");
	CHECK_STR(compile_why("/srv/{x"), "'{' without '}'");
	CHECK_STR(compile_why("/srv/x}"), "'}' without '{'");
	CHECK_STR(compile_why("/srv/a{x}"), "'{name}' must be a whole segment");
	CHECK_STR(compile_why("/srv/{x}a"), "'{name}' must be a whole segment");
	CHECK_STR(compile_why("/srv/{}"), "'{}' needs a capture name");
	CHECK_STR(compile_why("/srv/{a b}"), "capture names use only letters, digits, '_' and '-'");
	CHECK_STR(compile_why("/srv/{a}/{a}"), "capture name used twice");
	CHECK_STR(compile_why("/srv/a**"), "'**' must be a whole segment");
	CHECK_STR(compile_why("/srv/***"), "'**' must be a whole segment");
	CHECK_STR(compile_why("/srv//x"), "empty segment ('//')");
	CHECK_STR(compile_why("/srv/"), "must not end with '/' (use '/**' for a whole tree)");
	CHECK_STR(compile_why("/srv/./x"), "'.' segments never match a normalised path");
	CHECK_STR(compile_why("/srv/../x"), "'..' segments never match a normalised path");
	CHECK_STR(compile_why("/{a}/{b}/{c}/{d}"), "OK");
	CHECK_STR(compile_why("/{a}/{b}/{c}/{d}/{e}"), "more than 4 captures");
	CHECK_STR(compile_why("/{abcdefghijklmnopqrstuvwxyz01234}"), "OK");   /* 31 */
	CHECK_STR(compile_why("/{abcdefghijklmnopqrstuvwxyz012345}"),
		  "capture name longer than 31 bytes");
}

static void test_compile_limits(void)
{
	char pattern[PATHGLOB_MAX + 8];
	size_t i;

	/* 511 bytes: accepted; 512: refused */
	pattern[0] = '/';
	for (i = 1; i < PATHGLOB_MAX - 1; i++)
		pattern[i] = 'a';
	pattern[PATHGLOB_MAX - 1] = '\0';
	CHECK_STR(compile_why(pattern), "OK");
	CHECK_INT(match(pattern, pattern), 1);
	pattern[PATHGLOB_MAX - 1] = 'a';
	pattern[PATHGLOB_MAX] = '\0';
	CHECK_STR(compile_why(pattern), "pattern longer than 511 bytes");

	/* 64 segments: accepted; 65: refused */
	for (i = 0; i < PATHGLOB_MAX_SEGMENTS; i++) {
		pattern[2 * i] = '/';
		pattern[2 * i + 1] = 'x';
	}
	pattern[2 * PATHGLOB_MAX_SEGMENTS] = '\0';
	CHECK_STR(compile_why(pattern), "OK");
	strcat(pattern, "/x");
	CHECK_STR(compile_why(pattern), "more than 64 segments");
}

/* Many "**" against a long path: must stay fast (no exponential retry). */
static void test_double_star_cost(void)
{
	char pattern[PATHGLOB_MAX], path[4096];
	size_t i, n = 0;

	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(pattern + n, sizeof(pattern) - n, "/**/a");
	snprintf(pattern + n, sizeof(pattern) - n, "/b");
	n = 0;
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/a");
	CHECK_INT(match(pattern, path), 0);   /* no final "b": worst case */
	snprintf(path + n, sizeof(path) - n, "/b");
	CHECK_INT(match(pattern, path), 1);
}

static const char *norm(const char *base, const char *path)
{
	static char out[PATH_MAX];
	long n = pathglob_normalise(base, path, out, sizeof(out));

	if (n == -ENAMETOOLONG)
		return "ENAMETOOLONG";
	if (n == -EINVAL)
		return "EINVAL";
	if (n < 0)
		return "ERROR";
	if ((size_t)n != strlen(out))
		return "BADLEN";
	return out;
}

static void test_normalise(void)
{
	CHECK_STR(norm(NULL, "/a/b/c"), "/a/b/c");
	CHECK_STR(norm("/home/alice", "chart.txt"), "/home/alice/chart.txt");
	CHECK_STR(norm("/home/alice/", "./x/../y"), "/home/alice/y");
	CHECK_STR(norm("/home/alice", "../../../../etc/passwd"), "/etc/passwd");
	CHECK_STR(norm(NULL, "/../.."), "/");
	CHECK_STR(norm(NULL, "/.."), "/");
	CHECK_STR(norm(NULL, "//srv///ehr//x"), "/srv/ehr/x");
	CHECK_STR(norm(NULL, "/srv/ehr/"), "/srv/ehr");
	CHECK_STR(norm(NULL, "/srv/ehr/."), "/srv/ehr");
	CHECK_STR(norm(NULL, "/srv/ehr/.."), "/srv");
	CHECK_STR(norm(NULL, "/"), "/");
	CHECK_STR(norm("/", "."), "/");
	CHECK_STR(norm("/a", ""), "/a");
	CHECK_STR(norm(NULL, "/a/...b/..c"), "/a/...b/..c");
	CHECK_STR(norm("//x/./y/", "z"), "/x/y/z");
	CHECK_STR(norm(NULL, "relative"), "EINVAL");
	CHECK_STR(norm("also/relative", "x"), "EINVAL");
}

static void test_normalise_limits(void)
{
	char path[64], out[8];

	/* out of 8 bytes holds 7 characters and the NUL */
	CHECK_INT(pathglob_normalise(NULL, "/abcdef", out, sizeof(out)), 7);
	CHECK_STR(out, "/abcdef");
	CHECK_INT(pathglob_normalise(NULL, "/abcdefg", out, sizeof(out)), -ENAMETOOLONG);
	CHECK_INT(pathglob_normalise("/abc", "de", out, sizeof(out)), 7);
	CHECK_INT(pathglob_normalise("/abc", "def", out, sizeof(out)), -ENAMETOOLONG);
	/* ".." makes room again */
	CHECK_INT(pathglob_normalise(NULL, "/abcdef/../x", out, sizeof(out)), 2);
	CHECK_STR(out, "/x");
	CHECK_INT(pathglob_normalise(NULL, "/", out, 2), 1);
	CHECK_INT(pathglob_normalise(NULL, "/", out, 1), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "%s", "/a/b");
	CHECK_INT(pathglob_normalise(NULL, path, out, 4), -ENAMETOOLONG);
	CHECK_INT(pathglob_normalise(NULL, path, out, 5), 4);
}

/* pathglob_is_normal says 1 exactly where normalising changes nothing. */
static void test_is_normal(void)
{
	static const char *const paths[] = {
		"/", "/a", "/a/b", "/.a", "/a/.b/..c/c.", "/a/...", "/a/b.",
		"//", "//a", "/a//b", "/a/", "/.", "/..", "/a/.", "/a/..",
		"/a/./b", "/a/../b", "a", "", "./a", "/a/b/",
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		long n = pathglob_normalise(NULL, paths[i], out, sizeof(out));
		int same = paths[i][0] == '/' && n >= 0 && strcmp(out, paths[i]) == 0;

		CHECK_INT(pathglob_is_normal(paths[i], strlen(paths[i])), same);
	}
	CHECK_INT(pathglob_is_normal("/usr/lib/x", 10), 1);
	CHECK_INT(pathglob_is_normal("/usr/./lib", 10), 0);
	CHECK_INT(pathglob_is_normal(NULL, 0), 0);
}

/*
 * The same where pathglob_is_normal reads sixteen bytes at a time: each
 * abnormal piece at every offset of a path long enough for several
 * blocks, and at its end, against what normalising says.
 */
static void test_is_normal_blocks(void)
{
	static const char *const pieces[] = {
		"//", "/./", "/../", "/.", "/..", "/", "/...", "/.x", "/..x",
		"/x.", "/x",
	};
	char path[128], out[128];

	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		size_t plen = strlen(pieces[k]);

		for (size_t at = 1; at + plen + 1 < 70; at++) {
			for (int tail = 0; tail < 2; tail++) {
				size_t len;
				long n;
				int same;

				memset(path, 'a', sizeof(path));
				for (size_t j = 8; j < 70; j += 9)
					path[j] = '/';
				path[0] = '/';
				memcpy(path + at, pieces[k], plen);
				len = tail ? at + plen : 70;
				path[len] = '\0';
				n = pathglob_normalise(NULL, path, out, sizeof(out));
				same = n >= 0 && strcmp(out, path) == 0;
				CHECK_INT(pathglob_is_normal(path, len), same);
			}
		}
	}
}

/*
 * Where the walk starts (the last '/' of the literal prefix), and the cases
 * where starting there or ending at a trailing "**" could go wrong: a
 * prefix that ends mid-segment, "**" right after the prefix, captures
 * before a trailing "**", and paths that stop inside the prefix.
 */
static void test_match_start(void)
{
	static const struct { const char *pattern; unsigned start; } starts[] = {
		{ "/**", 0 }, { "/a/**", 0 }, { "/a/b", 2 }, { "/srv/ehr/p*", 8 },
		{ "/srv/ehr/{patient}/**", 8 }, { "/x/y/z/**/q", 4 },
		{ "/ab?", 0 },
	};
	static const char *const patterns[] = {
		"/**", "/a/**", "/a/b", "/a/b*", "/a/b*/**", "/a/{p}/**",
		"/a/{p}/**/{q}", "/a/{p}/{q}/**", "/a/**/b/**", "/a/*/b",
		"/a/b/**/c", "/a?/**", "/ab/**", "/a/{p}",
	};
	static const char *const paths[] = {
		"/", "/a", "/ab", "/a/b", "/a/bc", "/a/b/c", "/a/b/c/d",
		"/a/x/b", "/a/x/b/c", "/a/b/b/b", "/a/1/2/3/4", "/ab/c",
		"/a/b/c/b/c", "/b", "/a/b/x/c", "/a/", "/a//7", "/a//7/x",
		"/a/7//x", "/a/7/", "/a/./7", "/a/../x", "/a//",
	};
	struct pathglob g;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		CHECK(pathglob_compile(&g, starts[i].pattern, NULL) == 0);
		CHECK_INT(g.match_start, starts[i].start);
		CHECK_INT(g.length, strlen(starts[i].pattern));
	}
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		CHECK(pathglob_compile(&g, patterns[i], NULL) == 0);
		for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
			agreed_match(&g, paths[k], NULL);
	}
	CHECK(pathglob_compile(&g, "/a/{p}/**", NULL) == 0 && g.capture_tree);
	CHECK(pathglob_compile(&g, "/a/{p}/**/{q}", NULL) == 0 && !g.capture_tree);
	CHECK(pathglob_compile(&g, "/a/{p}", NULL) == 0 && !g.capture_tree);
	CHECK(pathglob_compile(&g, "/a/x{p}/**", NULL) != 0 || !g.capture_tree);
	CHECK_STR(capture("/a/{p}/**", "/a/7/x/y", "p"), "7");
	CHECK_STR(capture("/a/{p}/**", "/a//7", "p"), "7");
	CHECK_STR(capture("/a/{p}/{q}/**", "/a/7/8", "q"), "8");
	CHECK_STR(capture("/a/{p}/**/{q}", "/a/7/x/y", "q"), "y");
	CHECK_INT(match("/a/{p}/**", "/a"), 0);
	CHECK_INT(match("/a/b*/**", "/a/bcd"), 1);
}

int main(void)
{
	RUN(test_match_start);
	RUN(test_patient_capture);
	RUN(test_star);
	RUN(test_double_star);
	RUN(test_literal);
	RUN(test_literal_prefix);
	RUN(test_compile_errors);
	RUN(test_compile_limits);
	RUN(test_double_star_cost);
	RUN(test_normalise);
	RUN(test_normalise_limits);
	RUN(test_is_normal);
	RUN(test_is_normal_blocks);
	return unit_done();
}
