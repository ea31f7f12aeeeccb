/*
 * wrap_rw.c - owns the data calls on descriptors: the read family (read,
 * __read_chk, pread, pread64, their fortified forms, readv, preadv,
 * preadv2), the
 * write family (write, pwrite, pwrite64, writev, pwritev, pwritev2),
 * ftruncate, and the copies that move data without read/write
 * (copy_file_range, sendfile: how cp and cat copy; splice).
 *
 * A descriptor that is not an open PHI file (nor a PHI socket) costs one
 * table load. For a PHI
 * file the first successful read reports Viewed and the first successful
 * write or truncation reports Modified, once per open file description
 * (never Modified for a file this description created). In deny mode the
 * hand-off is made sure of before a call that would need a record.
 */
#include <errno.h>
#include <time.h>

#include "real.h"
#include "shim.h"
#include "netstate.h"

/*
 * Before the real call on PHI file f: 0 to go on, -EACCES to refuse (deny
 * mode and no hand-off) after releasing f.
 */
int rw_before(struct phi_file *f, unsigned bit)
{
	int rc = 0;

	if (__atomic_load_n(&f->reported, __ATOMIC_ACQUIRE) & bit)
		return 0;
	if (!shim_enter())
		return 0;
	rc = shim_may_proceed();
	shim_leave();
	if (rc < 0) {
		fdstate_put(f);
		errno = EACCES;
	}
	return rc;
}

static enum event_type rw_event_of_bit(unsigned bit)
{
	switch (bit) {
	case FD_REPORTED_VIEWED: return EVENT_FILE_VIEWED;
	case FD_REPORTED_LISTED: return EVENT_DIRECTORY_LISTED;
	default: return EVENT_FILE_MODIFIED;
	}
}

/* After the real call: reports once if it succeeded, releases f. */
void rw_after(struct phi_file *f, unsigned bit, int succeeded)
{
	int saved_errno = errno;

	if (succeeded && !(__atomic_load_n(&f->reported, __ATOMIC_ACQUIRE) & bit) &&
	    shim_enter()) {
		if (fdstate_mark(f, bit))
			emit_file_event(rw_event_of_bit(bit), f);
		shim_leave();
	}
	fdstate_put(f);
	errno = saved_errno;
}

/* The body shared by every wrapper: look up, check, call, report. */
#define RW_WRAP(fd, bit, type, call, success) do { \
	struct phi_file *f_ = fdstate_get(fd); \
	type ret_; \
	if (f_ == NULL) \
		return call; \
	if (rw_before(f_, bit) < 0) \
		return (type)-1; \
	ret_ = call; \
	rw_after(f_, bit, success(ret_)); \
	return ret_; \
} while (0)

#define RW_READ_OK(n) ((n) >= 0)
#define RW_WRITE_OK(n) ((n) > 0)
#define RW_ZERO_OK(n) ((n) == 0)

/*
 * read, __read_chk and write run on every descriptor of every program: the
 * untracked case is two loads and a tail call to libc (no stack frame); a
 * PHI file or socket, or libc's function not resolved yet, goes on in a
 * function of its own.
 */
static __attribute__((noinline)) ssize_t
read_tracked(int fd, void *buf, size_t count)
{
	if (!fdstate_known(fd))
		return REAL(read)(fd, buf, count);
	if (netstate_is_socket(fd))
		return net_read(fd, buf, count);
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t, REAL(read)(fd, buf, count),
		RW_READ_OK);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	__typeof__(&read) real = REAL_IF_RESOLVED(read);

	if (__builtin_expect(real != NULL && !fdstate_known(fd), 1))
		return real(fd, buf, count);       /* neither a PHI file nor socket */
	return read_tracked(fd, buf, count);
}

static __attribute__((noinline)) ssize_t
read_chk_tracked(int fd, void *buf, size_t count, size_t buf_size)
{
	if (!fdstate_known(fd))
		return REAL(__read_chk)(fd, buf, count, buf_size);
	if (netstate_is_socket(fd))
		return net_read_chk(fd, buf, count, buf_size);
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(__read_chk)(fd, buf, count, buf_size), RW_READ_OK);
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buf_size)
{
	__typeof__(&__read_chk) real = REAL_IF_RESOLVED(__read_chk);

	if (__builtin_expect(real != NULL && !fdstate_known(fd), 1))
		return real(fd, buf, count, buf_size);       /* neither a PHI file nor socket */
	return read_chk_tracked(fd, buf, count, buf_size);
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(pread)(fd, buf, count, offset), RW_READ_OK);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t count, off64_t offset)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(pread64)(fd, buf, count, offset), RW_READ_OK);
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t count, off_t offset,
				size_t buf_size)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(__pread_chk)(fd, buf, count, offset, buf_size), RW_READ_OK);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t count,
				  off64_t offset, size_t buf_size)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(__pread64_chk)(fd, buf, count, offset, buf_size),
		RW_READ_OK);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	if (!fdstate_known(fd))          /* neither a PHI file nor socket */
		return REAL(readv)(fd, iov, iovcnt);
	if (netstate_is_socket(fd))
		return net_readv(fd, iov, iovcnt);
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t, REAL(readv)(fd, iov, iovcnt),
		RW_READ_OK);
}

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int iovcnt,
			   off_t offset)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(preadv)(fd, iov, iovcnt, offset), RW_READ_OK);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int iovcnt,
			     off64_t offset)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(preadv64)(fd, iov, iovcnt, offset), RW_READ_OK);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt,
			    off_t offset, int flags)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(preadv2)(fd, iov, iovcnt, offset, flags), RW_READ_OK);
}

SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt,
			       off64_t offset, int flags)
{
	RW_WRAP(fd, FD_REPORTED_VIEWED, ssize_t,
		REAL(preadv64v2)(fd, iov, iovcnt, offset, flags), RW_READ_OK);
}

static __attribute__((noinline)) ssize_t
write_tracked(int fd, const void *buf, size_t count)
{
	if (!fdstate_known(fd))
		return REAL(write)(fd, buf, count);
	if (netstate_is_socket(fd))
		return net_write(fd, buf, count);
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t, REAL(write)(fd, buf, count),
		RW_WRITE_OK);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	__typeof__(&write) real = REAL_IF_RESOLVED(write);

	if (__builtin_expect(real != NULL && !fdstate_known(fd), 1))
		return real(fd, buf, count);       /* neither a PHI file nor socket */
	return write_tracked(fd, buf, count);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwrite)(fd, buf, count, offset), RW_WRITE_OK);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count,
			     off64_t offset)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwrite64)(fd, buf, count, offset), RW_WRITE_OK);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	if (!fdstate_known(fd))          /* neither a PHI file nor socket */
		return REAL(writev)(fd, iov, iovcnt);
	if (netstate_is_socket(fd))
		return net_writev(fd, iov, iovcnt);
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t, REAL(writev)(fd, iov, iovcnt),
		RW_WRITE_OK);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt,
			    off_t offset)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwritev)(fd, iov, iovcnt, offset), RW_WRITE_OK);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt,
			      off64_t offset)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwritev64)(fd, iov, iovcnt, offset), RW_WRITE_OK);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt,
			     off_t offset, int flags)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwritev2)(fd, iov, iovcnt, offset, flags), RW_WRITE_OK);
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt,
				off64_t offset, int flags)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, ssize_t,
		REAL(pwritev64v2)(fd, iov, iovcnt, offset, flags), RW_WRITE_OK);
}

SHIM_EXPORT int ftruncate(int fd, off_t length)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, int, REAL(ftruncate)(fd, length),
		RW_ZERO_OK);
}

SHIM_EXPORT int ftruncate64(int fd, off64_t length)
{
	RW_WRAP(fd, FD_REPORTED_MODIFIED, int, REAL(ftruncate64)(fd, length),
		RW_ZERO_OK);
}

/*
 * Two descriptors: the source is read (Viewed), the destination written
 * (Modified). Each side is checked and reported on its own.
 */
static ssize_t rw_copy_after(int in_fd, int out_fd, ssize_t n)
{
	struct phi_file *in = fdstate_get(in_fd);
	struct phi_file *out = fdstate_get(out_fd);

	if (in != NULL)
		rw_after(in, FD_REPORTED_VIEWED, n > 0);
	if (out != NULL)
		rw_after(out, FD_REPORTED_MODIFIED, n > 0);
	return n;
}

/* Deny mode: both sides must be able to report before the copy. */
static int rw_copy_before(int in_fd, int out_fd)
{
	struct phi_file *in = fdstate_get(in_fd), *out;

	if (in != NULL) {
		if (rw_before(in, FD_REPORTED_VIEWED) < 0)
			return -1;
		fdstate_put(in);
	}
	out = fdstate_get(out_fd);
	if (out != NULL) {
		if (rw_before(out, FD_REPORTED_MODIFIED) < 0)
			return -1;
		fdstate_put(out);
	}
	return 0;
}

SHIM_EXPORT ssize_t copy_file_range(int in_fd, off64_t *in_off, int out_fd,
				    off64_t *out_off, size_t len,
				    unsigned int flags)
{
	if (!fdstate_known(in_fd) && !fdstate_known(out_fd))
		return REAL(copy_file_range)(in_fd, in_off, out_fd, out_off,
					     len, flags);
	if (rw_copy_before(in_fd, out_fd) < 0)
		return -1;
	return rw_copy_after(in_fd, out_fd,
			     REAL(copy_file_range)(in_fd, in_off, out_fd,
						   out_off, len, flags));
}

SHIM_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ssize_t n;

	if (!fdstate_known(in_fd) && !fdstate_known(out_fd))
		return REAL(sendfile)(out_fd, in_fd, offset, count);
	if (rw_copy_before(in_fd, out_fd) < 0)
		return -1;
	n = rw_copy_after(in_fd, out_fd,
			  REAL(sendfile)(out_fd, in_fd, offset, count));
	return net_sendfile_after(out_fd, in_fd, offset ? *offset : -1, n);
}

SHIM_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset,
			       size_t count)
{
	ssize_t n;

	if (!fdstate_known(in_fd) && !fdstate_known(out_fd))
		return REAL(sendfile64)(out_fd, in_fd, offset, count);
	if (rw_copy_before(in_fd, out_fd) < 0)
		return -1;
	n = rw_copy_after(in_fd, out_fd,
			  REAL(sendfile64)(out_fd, in_fd, offset, count));
	return net_sendfile_after(out_fd, in_fd, offset ? *offset : -1, n);
}

SHIM_EXPORT ssize_t splice(int fd_in, off64_t *off_in, int fd_out,
			   off64_t *off_out, size_t len, unsigned int flags)
{
	if (!fdstate_known(fd_in) && !fdstate_known(fd_out))
		return REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
	if (rw_copy_before(fd_in, fd_out) < 0)
		return -1;
	return rw_copy_after(fd_in, fd_out,
			     REAL(splice)(fd_in, off_in, fd_out, off_out, len,
					  flags));
}
