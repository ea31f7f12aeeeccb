/*
 * wrap_stdio_rw.c - owns reads and writes through a FILE*: the fread,
 * fgets, getline/getdelim, getc families (with the __uflow/__underflow
 * targets of the inlined getc macros and the fortified __*_chk names), the
 * scanf family, the fwrite, fputs, putc, puts families (with __overflow),
 * the printf family on streams and dprintf on descriptors, and the wide
 * character forms programs use to read text.
 *
 * glibc's stdio reaches the kernel through hidden internal calls that never
 * pass the read/write wrappers, so the stream's descriptor (fp->_fileno,
 * read without a lock or a call) is looked up in the PHI table here: a
 * stream on a file that is not PHI (and every memory stream, fileno -1)
 * costs that one load. For a PHI file the first successful read reports
 * Viewed and the first successful write Modified, once per open file
 * description, shared with the descriptor calls. Never changes what the
 * call does, returns or leaves in errno, never locks the stream.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#include "real.h"
#include "shim.h"

/* With optimisation glibc's headers make some of these macros. */
#undef fread_unlocked
#undef fwrite_unlocked
#undef fgetc_unlocked
#undef getc_unlocked
#undef getchar_unlocked
#undef fputc_unlocked
#undef putc_unlocked
#undef putchar_unlocked

/* The PHI file behind a stream, with a reference held, or NULL. */
static inline struct phi_file *stdio_phi(FILE *fp)
{
	return fp != NULL ? fdstate_get(fp->_fileno) : NULL;
}

/* A read that returned nothing still read the file when it ended at EOF. */
static int stdio_clean_eof(FILE *fp)
{
	return (fp->_flags & (_IO_EOF_SEEN | _IO_ERR_SEEN)) == _IO_EOF_SEEN;
}

/*
 * The body of every wrapper: look up (one load when not PHI), check deny
 * mode, call, report once. failed is what the call returns on failure.
 */
#define STDIO_WRAP(fp, bit, type, call, ok, failed) do { \
	FILE *fp_ = (fp); \
	struct phi_file *f_ = stdio_phi(fp_); \
	type ret_; \
	if (f_ == NULL) \
		return call; \
	if (rw_before(f_, bit) < 0) \
		return failed; \
	ret_ = call; \
	rw_after(f_, bit, (ok) || ((bit) == FD_REPORTED_VIEWED && \
				 stdio_clean_eof(fp_))); \
	return ret_; \
} while (0)

#define STDIO_READ(fp, type, call, ok, failed) \
	STDIO_WRAP(fp, FD_REPORTED_VIEWED, type, call, ok, failed)
#define STDIO_WRITE(fp, type, call, ok, failed) \
	STDIO_WRAP(fp, FD_REPORTED_MODIFIED, type, call, ok, failed)

/* ---- reads ------------------------------------------------------------ */

SHIM_EXPORT size_t fread(void *ptr, size_t size, size_t n, FILE *fp)
{
	STDIO_READ(fp, size_t, REAL(fread)(ptr, size, n, fp), ret_ > 0, 0);
}

SHIM_EXPORT size_t fread_unlocked(void *ptr, size_t size, size_t n, FILE *fp)
{
	STDIO_READ(fp, size_t, REAL(fread_unlocked)(ptr, size, n, fp),
		   ret_ > 0, 0);
}

SHIM_EXPORT size_t __fread_chk(void *ptr, size_t ptrlen, size_t size,
			       size_t n, FILE *fp)
{
	STDIO_READ(fp, size_t, REAL(__fread_chk)(ptr, ptrlen, size, n, fp),
		   ret_ > 0, 0);
}

SHIM_EXPORT size_t __fread_unlocked_chk(void *ptr, size_t ptrlen, size_t size,
					size_t n, FILE *fp)
{
	STDIO_READ(fp, size_t,
		   REAL(__fread_unlocked_chk)(ptr, ptrlen, size, n, fp),
		   ret_ > 0, 0);
}

SHIM_EXPORT char *fgets(char *s, int n, FILE *fp)
{
	STDIO_READ(fp, char *, REAL(fgets)(s, n, fp), ret_ != NULL, NULL);
}

SHIM_EXPORT char *fgets_unlocked(char *s, int n, FILE *fp)
{
	STDIO_READ(fp, char *, REAL(fgets_unlocked)(s, n, fp), ret_ != NULL,
		   NULL);
}

SHIM_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *fp)
{
	STDIO_READ(fp, char *, REAL(__fgets_chk)(s, size, n, fp),
		   ret_ != NULL, NULL);
}

SHIM_EXPORT char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp)
{
	STDIO_READ(fp, char *, REAL(__fgets_unlocked_chk)(s, size, n, fp),
		   ret_ != NULL, NULL);
}

SHIM_EXPORT ssize_t getline(char **line, size_t *n, FILE *fp)
{
	STDIO_READ(fp, ssize_t, REAL(getline)(line, n, fp), ret_ >= 0, -1);
}

SHIM_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *fp)
{
	STDIO_READ(fp, ssize_t, REAL(getdelim)(line, n, delim, fp), ret_ >= 0,
		   -1);
}

SHIM_EXPORT ssize_t __getdelim(char **line, size_t *n, int delim, FILE *fp)
{
	STDIO_READ(fp, ssize_t, REAL(__getdelim)(line, n, delim, fp),
		   ret_ >= 0, -1);
}

#define STDIO_GETC(name) \
SHIM_EXPORT int name(FILE *fp) \
{ \
	STDIO_READ(fp, int, REAL(name)(fp), ret_ != EOF, EOF); \
}

STDIO_GETC(fgetc)
STDIO_GETC(getc)
STDIO_GETC(_IO_getc)
STDIO_GETC(fgetc_unlocked)
STDIO_GETC(getc_unlocked)
STDIO_GETC(__uflow)
STDIO_GETC(__underflow)

SHIM_EXPORT int getchar(void)
{
	STDIO_READ(stdin, int, REAL(getchar)(), ret_ != EOF, EOF);
}

SHIM_EXPORT int getchar_unlocked(void)
{
	STDIO_READ(stdin, int, REAL(getchar_unlocked)(), ret_ != EOF, EOF);
}

SHIM_EXPORT wint_t fgetwc(FILE *fp)
{
	STDIO_READ(fp, wint_t, REAL(fgetwc)(fp), ret_ != WEOF, WEOF);
}

SHIM_EXPORT wint_t getwc(FILE *fp)
{
	STDIO_READ(fp, wint_t, REAL(getwc)(fp), ret_ != WEOF, WEOF);
}

SHIM_EXPORT wchar_t *fgetws(wchar_t *s, int n, FILE *fp)
{
	STDIO_READ(fp, wchar_t *, REAL(fgetws)(s, n, fp), ret_ != NULL, NULL);
}

/*
 * scanf: a conversion that matched nothing may still have read. glibc
 * exports the GNU forms under the plain names and the C99 forms as
 * __isoc99_*; the headers redirect the plain C names to the latter, so the
 * GNU forms are defined here under their symbol names.
 */
typedef int stdio_vfscanf_fn(FILE *fp, const char *format, va_list ap);

SHIM_EXPORT int stdio_gnu_vfscanf(FILE *fp, const char *format, va_list ap)
	__asm__("vfscanf");
SHIM_EXPORT int stdio_gnu_vscanf(const char *format, va_list ap)
	__asm__("vscanf");
SHIM_EXPORT int stdio_gnu_fscanf(FILE *fp, const char *format, ...)
	__asm__("fscanf");
SHIM_EXPORT int stdio_gnu_scanf(const char *format, ...) __asm__("scanf");

SHIM_EXPORT int stdio_gnu_vfscanf(FILE *fp, const char *format, va_list ap)
{
	STDIO_READ(fp, int,
		   ((stdio_vfscanf_fn *)real_lookup(REAL_ID_vfscanf))(fp, format, ap),
		   ret_ != EOF, EOF);
}

SHIM_EXPORT int __isoc99_vfscanf(FILE *fp, const char *format, va_list ap)
{
	STDIO_READ(fp, int, REAL(__isoc99_vfscanf)(fp, format, ap),
		   ret_ != EOF, EOF);
}

SHIM_EXPORT int stdio_gnu_vscanf(const char *format, va_list ap)
{
	return stdio_gnu_vfscanf(stdin, format, ap);
}

SHIM_EXPORT int __isoc99_vscanf(const char *format, va_list ap)
{
	return __isoc99_vfscanf(stdin, format, ap);
}

#define STDIO_VARIADIC(call) do { \
	va_list ap; \
	int ret; \
	va_start(ap, format); \
	ret = call; \
	va_end(ap); \
	return ret; \
} while (0)

SHIM_EXPORT int stdio_gnu_fscanf(FILE *fp, const char *format, ...)
{
	STDIO_VARIADIC(stdio_gnu_vfscanf(fp, format, ap));
}

SHIM_EXPORT int __isoc99_fscanf(FILE *fp, const char *format, ...)
{
	STDIO_VARIADIC(__isoc99_vfscanf(fp, format, ap));
}

SHIM_EXPORT int stdio_gnu_scanf(const char *format, ...)
{
	STDIO_VARIADIC(stdio_gnu_vfscanf(stdin, format, ap));
}

SHIM_EXPORT int __isoc99_scanf(const char *format, ...)
{
	STDIO_VARIADIC(__isoc99_vfscanf(stdin, format, ap));
}

/* ---- writes ----------------------------------------------------------- */

SHIM_EXPORT size_t fwrite(const void *ptr, size_t size, size_t n, FILE *fp)
{
	STDIO_WRITE(fp, size_t, REAL(fwrite)(ptr, size, n, fp), ret_ > 0, 0);
}

SHIM_EXPORT size_t fwrite_unlocked(const void *ptr, size_t size, size_t n,
				   FILE *fp)
{
	STDIO_WRITE(fp, size_t, REAL(fwrite_unlocked)(ptr, size, n, fp),
		    ret_ > 0, 0);
}

SHIM_EXPORT int fputs(const char *s, FILE *fp)
{
	STDIO_WRITE(fp, int, REAL(fputs)(s, fp), ret_ != EOF && s[0] != '\0',
		    EOF);
}

SHIM_EXPORT int fputs_unlocked(const char *s, FILE *fp)
{
	STDIO_WRITE(fp, int, REAL(fputs_unlocked)(s, fp),
		    ret_ != EOF && s[0] != '\0', EOF);
}

SHIM_EXPORT int puts(const char *s)
{
	STDIO_WRITE(stdout, int, REAL(puts)(s), ret_ != EOF, EOF);
}

#define STDIO_PUTC(name) \
SHIM_EXPORT int name(int c, FILE *fp) \
{ \
	STDIO_WRITE(fp, int, REAL(name)(c, fp), ret_ != EOF, EOF); \
}

STDIO_PUTC(fputc)
STDIO_PUTC(putc)
STDIO_PUTC(_IO_putc)
STDIO_PUTC(fputc_unlocked)
STDIO_PUTC(putc_unlocked)

SHIM_EXPORT int __overflow(FILE *fp, int c)
{
	STDIO_WRITE(fp, int, REAL(__overflow)(fp, c), ret_ != EOF, EOF);
}

SHIM_EXPORT int putchar(int c)
{
	STDIO_WRITE(stdout, int, REAL(putchar)(c), ret_ != EOF, EOF);
}

SHIM_EXPORT int putchar_unlocked(int c)
{
	STDIO_WRITE(stdout, int, REAL(putchar_unlocked)(c), ret_ != EOF, EOF);
}

SHIM_EXPORT wint_t fputwc(wchar_t c, FILE *fp)
{
	STDIO_WRITE(fp, wint_t, REAL(fputwc)(c, fp), ret_ != WEOF, WEOF);
}

SHIM_EXPORT wint_t putwc(wchar_t c, FILE *fp)
{
	STDIO_WRITE(fp, wint_t, REAL(putwc)(c, fp), ret_ != WEOF, WEOF);
}

SHIM_EXPORT int fputws(const wchar_t *s, FILE *fp)
{
	STDIO_WRITE(fp, int, REAL(fputws)(s, fp), ret_ >= 0 && s[0] != 0, -1);
}

SHIM_EXPORT int vfprintf(FILE *fp, const char *format, va_list ap)
{
	STDIO_WRITE(fp, int, REAL(vfprintf)(fp, format, ap), ret_ > 0, -1);
}

SHIM_EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *format,
			       va_list ap)
{
	STDIO_WRITE(fp, int, REAL(__vfprintf_chk)(fp, flag, format, ap),
		    ret_ > 0, -1);
}

SHIM_EXPORT int vprintf(const char *format, va_list ap)
{
	return vfprintf(stdout, format, ap);
}

SHIM_EXPORT int __vprintf_chk(int flag, const char *format, va_list ap)
{
	return __vfprintf_chk(stdout, flag, format, ap);
}

SHIM_EXPORT int fprintf(FILE *fp, const char *format, ...)
{
	STDIO_VARIADIC(vfprintf(fp, format, ap));
}

SHIM_EXPORT int __fprintf_chk(FILE *fp, int flag, const char *format, ...)
{
	STDIO_VARIADIC(__vfprintf_chk(fp, flag, format, ap));
}

SHIM_EXPORT int printf(const char *format, ...)
{
	STDIO_VARIADIC(vfprintf(stdout, format, ap));
}

SHIM_EXPORT int __printf_chk(int flag, const char *format, ...)
{
	STDIO_VARIADIC(__vfprintf_chk(stdout, flag, format, ap));
}

/* dprintf writes to a descriptor through stdio's internals. */
#define STDIO_FD_WRITE(fd, call) do { \
	struct phi_file *f_ = fdstate_get(fd); \
	int ret_; \
	if (f_ == NULL) \
		return call; \
	if (rw_before(f_, FD_REPORTED_MODIFIED) < 0) \
		return -1; \
	ret_ = call; \
	rw_after(f_, FD_REPORTED_MODIFIED, ret_ > 0); \
	return ret_; \
} while (0)

SHIM_EXPORT int vdprintf(int fd, const char *format, va_list ap)
{
	STDIO_FD_WRITE(fd, REAL(vdprintf)(fd, format, ap));
}

SHIM_EXPORT int __vdprintf_chk(int fd, int flag, const char *format,
			       va_list ap)
{
	STDIO_FD_WRITE(fd, REAL(__vdprintf_chk)(fd, flag, format, ap));
}

SHIM_EXPORT int dprintf(int fd, const char *format, ...)
{
	STDIO_VARIADIC(vdprintf(fd, format, ap));
}

SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *format, ...)
{
	STDIO_VARIADIC(__vdprintf_chk(fd, flag, format, ap));
}
