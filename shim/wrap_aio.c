/*
 * wrap_aio.c - owns POSIX asynchronous I/O on PHI files: aio_read,
 * aio_read64 (Viewed) and aio_write, aio_write64 (Modified). glibc runs
 * the transfer later on its own helper thread through hidden internal
 * calls, so the request is reported when it is accepted (the call returned
 * 0): what the program asked for, not yet what the kernel did - an
 * attempt that later fails is still in the trail. Once per open file
 * description like the data calls; a descriptor that is not PHI costs one
 * table load. lio_listio is not wrapped (README, limits).
 */
#include <aio.h>
#include <errno.h>

#include "real.h"
#include "shim.h"

#define AIO_WRAP(cb, bit, call) do { \
	struct phi_file *f_ = fdstate_get((cb)->aio_fildes); \
	int ret_; \
	if (f_ == NULL) \
		return call; \
	if (rw_before(f_, bit) < 0) \
		return -1; \
	ret_ = call; \
	rw_after(f_, bit, ret_ == 0); \
	return ret_; \
} while (0)

SHIM_EXPORT int aio_read(struct aiocb *cb)
{
	AIO_WRAP(cb, FD_REPORTED_VIEWED, REAL(aio_read)(cb));
}

SHIM_EXPORT int aio_read64(struct aiocb64 *cb)
{
	AIO_WRAP(cb, FD_REPORTED_VIEWED, REAL(aio_read64)(cb));
}

SHIM_EXPORT int aio_write(struct aiocb *cb)
{
	AIO_WRAP(cb, FD_REPORTED_MODIFIED, REAL(aio_write)(cb));
}

SHIM_EXPORT int aio_write64(struct aiocb64 *cb)
{
	AIO_WRAP(cb, FD_REPORTED_MODIFIED, REAL(aio_write64)(cb));
}
