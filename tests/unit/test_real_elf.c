/*
 * test_real_elf.c - the shim's one-pass lookup of its real functions
 * (shim/real_elf.c) against dlsym(RTLD_NEXT, ...): for every function the
 * shim wraps (shim/real.h), the pointer found is the one dlsym returns, or
 * NULL where the lookup leaves it to dlsym; never another. This binary
 * plays the shim's part (the asking object is the executable). Built with
 * ASan, libasan sits between it and the C library and defines many of the
 * same names first, as another preloaded library would: those must come
 * from libasan, as dlsym says. IFUNCs, data and unknown names stay NULL.
 */
#include <dlfcn.h>
#include <string.h>

#include "real.h"
#include "real_elf.h"
#include "unit.h"

#define NAME(name) #name,
static const char *const names[] = { REAL_FUNCTIONS(NAME) };
#undef NAME
#define COUNT (sizeof(names) / sizeof(names[0]))

static int in_libc(void *p)
{
	Dl_info info;

	return p != NULL && dladdr(p, &info) != 0 && info.dli_fname != NULL &&
		strstr(info.dli_fname, "/libc.so") != NULL;
}

static void test_every_wrapped_function_as_dlsym(void)
{
	void *found[COUNT] = { 0 };
	size_t got = real_elf_lookup((const void *)test_every_wrapped_function_as_dlsym,
				     names, found, COUNT);
	size_t libc = 0, elsewhere = 0, elsewhere_found = 0;

	CHECK(got > 0);
	for (size_t i = 0; i < COUNT; i++) {
		void *want = dlsym(RTLD_NEXT, names[i]);

		if (found[i] != NULL && found[i] != want)
			fprintf(stderr, "%s: %p, dlsym says %p\n", names[i],
				found[i], want);
		CHECK(found[i] == NULL || found[i] == want);
		if (in_libc(want)) {
			libc++;
			if (found[i] == NULL)
				fprintf(stderr, "%s: left to dlsym\n", names[i]);
			CHECK(found[i] == want);    /* plain libc: always found */
		} else if (want != NULL) {
			elsewhere++;
			elsewhere_found += found[i] != NULL;
		}
	}
	printf("# %zu names: %zu from the C library, %zu defined first by "
	       "another object (%zu of those found)\n", COUNT, libc, elsewhere,
	       elsewhere_found);
	CHECK(libc + elsewhere == COUNT);
	CHECK_INT(got, libc + elsewhere_found);
}

static void test_versioned_ifunc_data_unknown(void)
{
	const char *const odd[] = {
		"posix_spawn",            /* @GLIBC_2.2.5 and @@GLIBC_2.15 */
		"strlen",                 /* an IFUNC: dlsym runs its resolver */
		"environ",                /* data */
		"phitrail_no_such_function",
		"",
	};
	void *found[5] = { 0 };

	(void)real_elf_lookup((const void *)test_versioned_ifunc_data_unknown,
			      odd, found, 5);
	CHECK(found[0] != NULL);
	CHECK(found[0] == dlsym(RTLD_NEXT, "posix_spawn"));
	CHECK(found[0] != dlvsym(RTLD_NEXT, "posix_spawn", "GLIBC_2.2.5"));
	/* libasan defines a plain strlen first; libc's own is an IFUNC */
	CHECK(in_libc(dlsym(RTLD_NEXT, "strlen")) ? found[1] == NULL :
	      found[1] == dlsym(RTLD_NEXT, "strlen"));
	CHECK(found[2] == NULL);
	CHECK(found[3] == NULL);
	CHECK(found[4] == NULL);
}

static void test_keeps_what_is_known(void)
{
	const char *const one[] = { "read", "write" };
	void *found[2] = { (void *)test_keeps_what_is_known, NULL };

	CHECK_INT(real_elf_lookup((const void *)test_keeps_what_is_known, one,
				  found, 2), 1);
	CHECK(found[0] == (void *)test_keeps_what_is_known);
	CHECK(found[1] == dlsym(RTLD_NEXT, "write"));
}

int main(void)
{
	RUN(test_every_wrapped_function_as_dlsym);
	RUN(test_versioned_ifunc_data_unknown);
	RUN(test_keeps_what_is_known);
	return unit_done();
}
