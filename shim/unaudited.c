/*
 * unaudited.c - owns saying, once per process image, that the shim audits
 * nothing in this program (its configuration is missing, broken or has no
 * rule), where a sysadmin looks and never where the program's user does:
 *   1. to the collector: one "runs unaudited" notice (handoff.h) on the
 *      configured ingest socket (the default one when the file could not
 *      be read), non-blocking, no answer awaited;
 *   2. when no collector takes it: one message to the system log, written
 *      straight to /dev/log (a non-blocking datagram, RFC 3164 form
 *      "<PRI>phitrail[PID]: ..." with the time left to the log daemon),
 *      facility LOG_AUTH, level LOG_WARNING.
 * Not syslog(3): it would change the program's own openlog() ident and
 * options, may block on a full log socket and, with LOG_CONS, write to the
 * console. A fork keeps the parent's silence; an exec says it anew.
 * Must never write to the program's descriptors, block, keep a descriptor,
 * leave errno changed, or fail the program: a notice nobody takes is
 * dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <bsd/string.h>

#include "handoff.h"
#include "real.h"
#include "shim.h"

#define UNAUDITED_SYSLOG_PATH "/dev/log"

static int unaudited_said;             /* this process image said it */

/* Sends one message on a new non-blocking socket of type to path. 0 or -1. */
static int unaudited_send(int type, const char *path, const void *bytes,
			  size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	ssize_t sent;
	int fd;

	if (strlcpy(addr.sun_path, path, sizeof(addr.sun_path)) >=
	    sizeof(addr.sun_path))
		return -1;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (type == SOCK_DGRAM) {
		sent = REAL(sendto)(fd, bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL,
				    (struct sockaddr *)&addr, sizeof(addr));
	} else if (REAL(connect)(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		sent = -1;
	} else {
		sent = REAL(send)(fd, bytes, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	REAL(close)(fd);
	return sent == (ssize_t)len ? 0 : -1;
}

void unaudited_say(const struct config *cfg, const char *reason)
{
	unsigned char notice[HANDOFF_NOTICE_MAX_BYTES];
	char exe[HANDOFF_NOTICE_TEXT_MAX + 1] = "", line[1024];
	int saved_errno = errno, n;
	ssize_t len;
	size_t size;

	if (unaudited_said)
		return;
	unaudited_said = 1;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	size = handoff_notice_encode(exe, reason, notice);
	if (unaudited_send(SOCK_SEQPACKET, cfg->socket_path, notice, size) == 0)
		goto out;
	n = snprintf(line, sizeof(line), "<%d>phitrail[%d]: program %s (pid %d, "
		     "uid %u) runs unaudited: %s (the collector at %s did not "
		     "take this notice)", LOG_AUTH | LOG_WARNING, (int)getpid(),
		     exe[0] ? exe : "unknown", (int)getpid(), (unsigned)getuid(),
		     reason, cfg->socket_path);
	if (n > 0)
		(void)unaudited_send(SOCK_DGRAM, UNAUDITED_SYSLOG_PATH, line,
				     (size_t)n < sizeof(line) ? (size_t)n :
				     sizeof(line) - 1);
out:
	errno = saved_errno;
}
