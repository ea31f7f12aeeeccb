/*
 * real.h - the libc functions the shim wraps, reached through pointers
 * resolved with dlsym(RTLD_NEXT, ...) (real.c).
 *
 * REAL(name) is the next definition of name after the shim, typed like the
 * libc prototype. Resolution is lazy and safe before the shim's constructor
 * ran; shim_init() resolves everything up front so later calls (signal
 * handlers included) never enter dlsym.
 */
#ifndef PHITRAIL_SHIM_REAL_H
#define PHITRAIL_SHIM_REAL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Fortified entry points: declared by glibc only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buf_size);
ssize_t __pread_chk(int fd, void *buf, size_t count, off_t offset,
		    size_t buf_size);
ssize_t __pread64_chk(int fd, void *buf, size_t count, off64_t offset,
		      size_t buf_size);

#define REAL_FUNCTIONS(X) \
	X(open) X(open64) X(openat) X(openat64) X(creat) X(creat64) \
	X(__open_2) X(__open64_2) X(__openat_2) X(__openat64_2) \
	X(fopen) X(fopen64) X(freopen) X(freopen64) X(fclose) \
	X(mkstemp) X(mkstemp64) X(mkostemp) X(mkostemp64) \
	X(mkstemps) X(mkstemps64) X(mkostemps) X(mkostemps64) \
	X(read) X(__read_chk) X(pread) X(pread64) X(__pread_chk) \
	X(__pread64_chk) X(readv) X(preadv) X(preadv64) \
	X(write) X(pwrite) X(pwrite64) X(writev) X(pwritev) X(pwritev64) \
	X(copy_file_range) X(sendfile) X(sendfile64) \
	X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) \
	X(close_range) X(closefrom) \
	X(unlink) X(unlinkat) X(remove) X(rename) X(renameat) X(renameat2) \
	X(truncate) X(truncate64) X(ftruncate) X(ftruncate64) \
	X(chdir) X(fchdir)

#define REAL_ENUM(name) REAL_ID_##name,
enum real_id { REAL_FUNCTIONS(REAL_ENUM) REAL_ID_COUNT };
#undef REAL_ENUM

extern void *real_table[REAL_ID_COUNT];

/* Looks the function up (once); never NULL for the functions used. */
void *real_resolve(enum real_id id);

/* Resolves every entry; called from shim_init(). */
void real_resolve_all(void);

static inline void *real_lookup(enum real_id id)
{
	void *p = __atomic_load_n(&real_table[id], __ATOMIC_ACQUIRE);

	return p != NULL ? p : real_resolve(id);
}

#define REAL(name) ((__typeof__(&name))real_lookup(REAL_ID_##name))

#endif
