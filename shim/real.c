/*
 * real.c - owns the pointers to the real libc functions behind the
 * wrappers: the next definition of each name after the shim, as
 * dlsym(RTLD_NEXT, name) finds it.
 *
 * At start-up real_resolve_all() fills the table in one pass over the
 * loaded objects' symbol tables (real_elf.c) and asks dlsym only for the
 * names that pass leaves open (measured 2026-12-07: 25-40 us of a
 * process's start went to ~170 dlsym calls, 150k instructions).
 * Resolution is lazy, so a wrapper called by another library's constructor
 * before ours ran still works, and idempotent under races (every thread
 * finds the same pointer). If dlsym itself reaches one of our wrappers
 * while resolving (a malloc that opens a file), the basic calls fall back
 * to raw system calls instead of recursing. This file must never call a
 * wrapped function by its public name.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "real.h"
#include "real_elf.h"
#include "shim.h"

void *real_table[REAL_ID_COUNT];

#define REAL_NAME(name) #name,
static const char *const real_names[REAL_ID_COUNT] = {
	REAL_FUNCTIONS(REAL_NAME)
};
#undef REAL_NAME

static __thread int real_resolving;

/* Raw system call stand-ins, used only while dlsym is running. */
static int raw_open(const char *path, int flags, ...)
{
	va_list ap;
	unsigned mode;

	va_start(ap, flags);
	mode = va_arg(ap, unsigned);
	va_end(ap);
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static int raw_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	unsigned mode;

	va_start(ap, flags);
	mode = va_arg(ap, unsigned);
	va_end(ap);
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

static ssize_t raw_read(int fd, void *buf, size_t count)
{
	return syscall(SYS_read, fd, buf, count);
}

static ssize_t raw_write(int fd, const void *buf, size_t count)
{
	return syscall(SYS_write, fd, buf, count);
}

static int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static void *raw_fallback(enum real_id id)
{
	switch (id) {
	case REAL_ID_open:
	case REAL_ID_open64:
		return (void *)raw_open;
	case REAL_ID_openat:
	case REAL_ID_openat64:
		return (void *)raw_openat;
	case REAL_ID_read:
		return (void *)raw_read;
	case REAL_ID_write:
		return (void *)raw_write;
	case REAL_ID_close:
		return (void *)raw_close;
	default:
		return NULL;
	}
}

void *real_resolve(enum real_id id)
{
	void *p;
	int saved_errno = errno;

	if (real_resolving)
		return raw_fallback(id);
	real_resolving = 1;
	p = dlsym(RTLD_NEXT, real_names[id]);
	real_resolving = 0;
	if (p == NULL)
		p = raw_fallback(id);
	if (p != NULL)
		__atomic_store_n(&real_table[id], p, __ATOMIC_RELEASE);
	errno = saved_errno;
	return p;
}

void real_resolve_all(void)
{
	void *found[REAL_ID_COUNT];

	for (int id = 0; id < REAL_ID_COUNT; id++)
		found[id] = __atomic_load_n(&real_table[id], __ATOMIC_ACQUIRE);
	if (real_elf_lookup((const void *)real_resolve_all, real_names, found,
			    REAL_ID_COUNT) > 0) {
		for (int id = 0; id < REAL_ID_COUNT; id++) {
			void *none = NULL;

			if (found[id] != NULL)
				__atomic_compare_exchange_n(&real_table[id], &none,
							    found[id], 0,
							    __ATOMIC_RELEASE,
							    __ATOMIC_RELAXED);
		}
	}
	for (int id = 0; id < REAL_ID_COUNT; id++)
		(void)real_lookup((enum real_id)id);
}
