/*
 * wrap_map.c - owns the calls that reach a file's data without read or
 * write: mmap/mmap64 of a PHI descriptor (Viewed; Modified for a shared
 * writable mapping, whose stores reach the file) and reflink copies,
 * ioctl(FICLONE/FICLONERANGE) (Viewed on the source, Modified on the
 * destination), once per open file description like the data calls.
 *
 * ioctl is variadic and hot (terminals, sockets): its request number is
 * compared first and every other request costs that compare. Same result,
 * same errno as libc.
 */
#include <errno.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "real.h"
#include "shim.h"

static int map_reports(int prot, int flags)
{
	return (flags & MAP_TYPE) == MAP_SHARED && (prot & PROT_WRITE) ?
		FD_REPORTED_MODIFIED : FD_REPORTED_VIEWED;
}

#define MAP_WRAP(call) do { \
	struct phi_file *f_; \
	unsigned bit_; \
	void *ret_; \
	if ((flags & MAP_ANONYMOUS) || (f_ = fdstate_get(fd)) == NULL) \
		return call; \
	bit_ = (unsigned)map_reports(prot, flags); \
	if (rw_before(f_, bit_) < 0) \
		return MAP_FAILED; \
	ret_ = call; \
	rw_after(f_, bit_, ret_ != MAP_FAILED); \
	return ret_; \
} while (0)

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t offset)
{
	MAP_WRAP(REAL(mmap)(addr, len, prot, flags, fd, offset));
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
			 off64_t offset)
{
	MAP_WRAP(REAL(mmap64)(addr, len, prot, flags, fd, offset));
}

/* A reflink: the source is read, the destination written. */
static int map_clone(int dest_fd, unsigned long request, void *arg)
{
	int src_fd = -1;
	int ret;
	struct phi_file *in, *out;

	if (request == FICLONE)
		src_fd = (int)(long)arg;
	else if (arg != NULL)
		src_fd = (int)((struct file_clone_range *)arg)->src_fd;
	if (!fdstate_known(src_fd) && !fdstate_known(dest_fd))
		return REAL(ioctl)(dest_fd, request, arg);
	in = fdstate_get(src_fd);
	if (in != NULL && rw_before(in, FD_REPORTED_VIEWED) < 0)
		return -1;
	out = fdstate_get(dest_fd);
	if (out != NULL && rw_before(out, FD_REPORTED_MODIFIED) < 0) {
		if (in != NULL)
			fdstate_put(in);
		return -1;
	}
	ret = REAL(ioctl)(dest_fd, request, arg);
	if (in != NULL)
		rw_after(in, FD_REPORTED_VIEWED, ret == 0);
	if (out != NULL)
		rw_after(out, FD_REPORTED_MODIFIED, ret == 0);
	return ret;
}

/* The argument is passed on as glibc's own ioctl reads it: one word. */
SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (request != FICLONE && request != FICLONERANGE)
		return REAL(ioctl)(fd, request, arg);
	return map_clone(fd, request, arg);
}
