/*
 * wrap_fd.c - owns the calls that end or copy descriptors: close, dup, dup2,
 * dup3, fcntl(F_DUPFD*), close_range and closefrom.
 *
 * They keep the PHI descriptor table true (a dup shares its open file
 * description, so one Viewed covers both) and tell the hand-off when the
 * program closes or replaces the shim's spool descriptor, which is then
 * forgotten before the call so no record is ever written into a descriptor
 * the program owns. In a vfork child (which shares the parent's memory but
 * not its descriptors) they change nothing of the shim's. Never changes
 * what the call does or returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

SHIM_EXPORT int close(int fd)
{
	if (shim_vfork_child)
		return REAL(close)(fd);
	handoff_fd_gone_maybe(fd);
	fdstate_close(fd);
	return REAL(close)(fd);
}

SHIM_EXPORT int dup(int oldfd)
{
	int fd = REAL(dup)(oldfd);

	if (fd >= 0 && !shim_vfork_child && (fdstate_known(oldfd) || fdstate_known(fd)))
		fdstate_dup(oldfd, fd);
	return fd;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	int fd;

	if (shim_vfork_child)
		return REAL(dup2)(oldfd, newfd);
	if (oldfd != newfd)
		handoff_fd_gone_maybe(newfd);
	fd = REAL(dup2)(oldfd, newfd);
	if (fd >= 0 && (fdstate_known(oldfd) || fdstate_known(fd)))
		fdstate_dup(oldfd, fd);
	return fd;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int fd;

	if (shim_vfork_child)
		return REAL(dup3)(oldfd, newfd, flags);
	if (oldfd != newfd)
		handoff_fd_gone_maybe(newfd);
	fd = REAL(dup3)(oldfd, newfd, flags);
	if (fd >= 0 && (fdstate_known(oldfd) || fdstate_known(fd)))
		fdstate_dup(oldfd, fd);
	return fd;
}

static int fcntl_after(int fd, int cmd, int ret)
{
	if (ret >= 0 && !shim_vfork_child && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    (fdstate_known(fd) || fdstate_known(ret)))
		fdstate_dup(fd, ret);
	return ret;
}

/* The argument is passed on as glibc's own fcntl reads it: one word. */
SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_after(fd, cmd, REAL(fcntl)(fd, cmd, arg));
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_after(fd, cmd, REAL(fcntl64)(fd, cmd, arg));
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last &&
	    !shim_vfork_child) {
		handoff_range_gone(first, last);
		fdstate_close_range(first, last);
	}
	return REAL(close_range)(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0 && !shim_vfork_child) {
		handoff_range_gone((unsigned)lowfd, ~0u);
		fdstate_close_range((unsigned)lowfd, ~0u);
	}
	REAL(closefrom)(lowfd);
}
