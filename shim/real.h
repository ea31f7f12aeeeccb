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
#include <aio.h>
#include <dirent.h>
#include <ftw.h>
#include <glob.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <wchar.h>

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
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buf_len, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buf_len,
		       int flags, struct sockaddr *addr, socklen_t *addr_len);

/* stdio's internal entry points and fortified names, exported by glibc. */
int _IO_getc(FILE *fp);
int _IO_putc(int c, FILE *fp);
int __uflow(FILE *fp);
int __underflow(FILE *fp);
int __overflow(FILE *fp, int c);
ssize_t __getdelim(char **line, size_t *n, int delim, FILE *fp);
size_t __fread_chk(void *ptr, size_t ptrlen, size_t size, size_t n, FILE *fp);
size_t __fread_unlocked_chk(void *ptr, size_t ptrlen, size_t size, size_t n,
			    FILE *fp);
char *__fgets_chk(char *s, size_t size, int n, FILE *fp);
char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp);
int __isoc99_fscanf(FILE *fp, const char *format, ...);
int __isoc99_scanf(const char *format, ...);
int __isoc99_vfscanf(FILE *fp, const char *format, __gnuc_va_list ap);
int __isoc99_vscanf(const char *format, __gnuc_va_list ap);
int __fprintf_chk(FILE *fp, int flag, const char *format, ...);
int __printf_chk(int flag, const char *format, ...);
int __vfprintf_chk(FILE *fp, int flag, const char *format, __gnuc_va_list ap);
int __vprintf_chk(int flag, const char *format, __gnuc_va_list ap);
int __dprintf_chk(int fd, int flag, const char *format, ...);
int __vdprintf_chk(int fd, int flag, const char *format, __gnuc_va_list ap);

#define REAL_STDIO_FUNCTIONS(X) \
	X(fread) X(fread_unlocked) X(__fread_chk) X(__fread_unlocked_chk) \
	X(fgets) X(fgets_unlocked) X(__fgets_chk) X(__fgets_unlocked_chk) \
	X(getline) X(getdelim) X(__getdelim) \
	X(fgetc) X(getc) X(_IO_getc) X(fgetc_unlocked) X(getc_unlocked) \
	X(__uflow) X(__underflow) X(getchar) X(getchar_unlocked) \
	X(fgetwc) X(getwc) X(fgetws) X(vfscanf) X(__isoc99_vfscanf) \
	X(fwrite) X(fwrite_unlocked) X(fputs) X(fputs_unlocked) X(puts) \
	X(fputc) X(putc) X(_IO_putc) X(fputc_unlocked) X(putc_unlocked) \
	X(__overflow) X(putchar) X(putchar_unlocked) \
	X(fputwc) X(putwc) X(fputws) \
	X(vfprintf) X(__vfprintf_chk) X(vdprintf) X(__vdprintf_chk)

#define REAL_FUNCTIONS(X) \
	REAL_STDIO_FUNCTIONS(X) \
	X(open) X(open64) X(openat) X(openat64) X(creat) X(creat64) \
	X(__open_2) X(__open64_2) X(__openat_2) X(__openat64_2) \
	X(fopen) X(fopen64) X(freopen) X(freopen64) X(fclose) \
	X(mkstemp) X(mkstemp64) X(mkostemp) X(mkostemp64) \
	X(mkstemps) X(mkstemps64) X(mkostemps) X(mkostemps64) \
	X(tmpfile) X(tmpfile64) \
	X(aio_read) X(aio_read64) X(aio_write) X(aio_write64) \
	X(read) X(__read_chk) X(pread) X(pread64) X(__pread_chk) \
	X(__pread64_chk) X(readv) X(preadv) X(preadv64) X(preadv2) X(preadv64v2) \
	X(pwritev2) X(pwritev64v2) X(splice) X(mmap) X(mmap64) X(ioctl) \
	X(chmod) X(fchmod) X(fchmodat) X(chown) X(fchown) X(lchown) \
	X(fchownat) X(setxattr) X(lsetxattr) X(fsetxattr) X(removexattr) \
	X(lremovexattr) X(fremovexattr) X(link) X(linkat) X(symlink) X(symlinkat) \
	X(opendir) X(closedir) X(readdir) X(readdir64) X(scandir) \
	X(scandir64) X(scandirat) X(nftw) X(nftw64) X(ftw) X(ftw64) \
	X(glob) X(glob64) \
	X(write) X(pwrite) X(pwrite64) X(writev) X(pwritev) X(pwritev64) \
	X(copy_file_range) X(sendfile) X(sendfile64) \
	X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) \
	X(close_range) X(closefrom) \
	X(unlink) X(unlinkat) X(remove) X(rename) X(renameat) X(renameat2) \
	X(truncate) X(truncate64) X(ftruncate) X(ftruncate64) \
	X(chdir) X(fchdir) \
	X(execve) X(execvpe) X(fexecve) X(execveat) X(posix_spawn) \
	X(posix_spawnp) X(_Fork) \
	X(connect) X(accept) X(accept4) X(shutdown) \
	X(send) X(sendto) X(sendmsg) X(sendmmsg) \
	X(recv) X(__recv_chk) X(recvfrom) X(__recvfrom_chk) X(recvmsg) \
	X(recvmmsg)

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

/*
 * The next definition of name if it is resolved already, else NULL: for a
 * wrapper's fast path that tail-calls libc without a stack frame and
 * leaves the (rare) unresolved case to its slow path, which uses REAL.
 */
#define REAL_IF_RESOLVED(name) ((__typeof__(&name))__atomic_load_n( \
		&real_table[REAL_ID_##name], __ATOMIC_ACQUIRE))

#endif
