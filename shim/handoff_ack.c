/*
 * handoff_ack.c - owns the claim's connection once the claim is sent
 * (handoff.c, handoff.h): kept, above HANDOFF_FD_FLOOR and close-on-exec,
 * until the collector's one-byte ack, and at a normal exit the bounded
 * wait for that ack.
 *
 * The collector reads the claimant's login uid and session from /proc
 * when it takes the claim; a process gone by then is stored without them.
 * So at exit (shim.c's destructor, after the program's atexit handlers;
 * not in a vfork child, never after _exit or a fatal signal) a process
 * whose claim is not acknowledged yet and whose login uid is set waits for
 * the ack, or the collector's close, at most HANDOFF_ACK_WAIT_MS. With the
 * login uid unset (4294967295) there is nothing to lose: no wait.
 * Must never close or poll a descriptor the program has taken over (the fd
 * wrappers tell us: handoff_ack_gone), and never wait beyond the bound.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "handoff.h"
#include "real.h"
#include "shim.h"

#define HANDOFF_LOGINUID_UNSET 4294967295ul

static int handoff_ack_fd = -1;             /* atomic: the claim's connection */

void handoff_ack_keep(int sock)
{
	int old;

	handoff_note_fd(sock);
	old = __atomic_exchange_n(&handoff_ack_fd, sock, __ATOMIC_ACQ_REL);

	if (old >= 0)
		REAL(close)(old);            /* an earlier claim's: let go */
}

void handoff_ack_gone(unsigned first, unsigned last)
{
	int fd = __atomic_load_n(&handoff_ack_fd, __ATOMIC_RELAXED);

	if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
		__atomic_compare_exchange_n(&handoff_ack_fd, &fd, -1, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void handoff_ack_atfork_child(void)
{
	int fd = handoff_ack_fd;

	handoff_ack_fd = -1;         /* the parent's claim: the parent waits */
	if (fd >= 0)
		REAL(close)(fd);
}

/* 1 when /proc/self/loginuid names a login uid (is not unset). */
static int handoff_loginuid_set(void)
{
	char buf[16];
	ssize_t n;
	int fd = REAL(open)("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = REAL(read)(fd, buf, sizeof(buf) - 1);
	REAL(close)(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoul(buf, NULL, 10) != HANDOFF_LOGINUID_UNSET;
}

void handoff_at_exit(void)
{
	int sock = __atomic_exchange_n(&handoff_ack_fd, -1, __ATOMIC_ACQ_REL);
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (sock < 0)
		return;
	/* Acknowledged (or refused: closed) already: no wait. */
	if (poll(&p, 1, 0) == 0 && handoff_loginuid_set())
		(void)handoff_wait_readable(sock, HANDOFF_ACK_WAIT_MS);
	REAL(close)(sock);
}
