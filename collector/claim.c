/*
 * claim.c - a forked child's claim of the spool file it made itself.
 *
 * Owns the checks that turn <spool>/incoming/<...>.claim into a followed
 * file with a verified writer (handoff.h): the peer's pid, uid and gid come
 * from SO_PEERCRED (taken by the kernel at connect, true even after the
 * child exited), the descriptor passed must be that very file (same inode,
 * one link, owned by the peer's uid), and its header must name the same pid
 * and uid; /proc adds start time, loginuid, session and exe only while the
 * process with that pid and start time still runs. Then the file is renamed
 * to .spool and followed by the store process (broker.c; progress row
 * with the next group commit). As soon as /proc has been read (or found gone), one byte, the
 * ack, goes back: a process that exits normally with a login uid set waits
 * for it (at most HANDOFF_ACK_WAIT_MS), so that its loginuid and session
 * were read while it ran; the caller then closes the connection.
 * Must never believe the peer beyond what the kernel confirms, never follow
 * a file twice, and never rename a file that is not the peer's claim.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "claim.h"
#include "broker.h"
#include "handoff.h"
#include "identity.h"
#include "spool.h"

/* The base name of fd in incoming/, checked against the inode; 0 or -errno. */
static int claim_base(int fd, const struct stat *st, char *base, size_t size)
{
	char link[64], path[PATH_MAX];
	const char *slash;
	struct stat named;
	ssize_t n;
	size_t len, k = strlen(HANDOFF_CLAIM_SUFFIX);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return -EINVAL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL || strlcpy(base, slash + 1, size) >= size)
		return -ENAMETOOLONG;
	len = strlen(base);
	if (len <= k || strcmp(base + len - k, HANDOFF_CLAIM_SUFFIX) != 0)
		return -EINVAL;
	if (fstatat(broker_incoming_dirfd(), base, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
	    named.st_dev != st->st_dev || named.st_ino != st->st_ino)
		return -ENOENT;
	return 0;
}

/* incoming/<...>.claim -> <...>.spool (never over another file). */
static int claim_rename(const char *base, char *spool_base, size_t size)
{
	size_t stem = strlen(base) - strlen(HANDOFF_CLAIM_SUFFIX);
	int dirfd = broker_incoming_dirfd();

	if ((size_t)snprintf(spool_base, size, "%.*s.spool", (int)stem, base) >= size)
		return -ENAMETOOLONG;
	if (renameat2(dirfd, base, dirfd, spool_base, RENAME_NOREPLACE) < 0)
		return -errno;
	return 0;
}

/* The peer's identity: SO_PEERCRED, then /proc while it is the same process. */
static int claim_identity(int sock, const struct spool_header *h,
			  struct writer_identity *who, const char **why)
{
	struct writer_identity proc;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int64_t proc_uid = -1;
	int rc;

	identity_clear(who);
	*why = "no peer credentials";
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred) || cred.pid <= 0)
		return -EPROTO;
	*why = "the header's pid or uid is not the peer's";
	if (h->pid != (uint32_t)cred.pid || h->uid != (uint32_t)cred.uid)
		return -EPERM;
	who->pid = cred.pid;
	who->uid = cred.uid;
	who->gid = cred.gid;
	who->start_time_ticks = h->start_time_ticks;
	proc = *who;
	if (identity_read_proc(&proc) == 0) {
		/* A process with the pid runs: the peer, or the header lies
		 * (a file whose start time is wrong would be retired while its
		 * writer still writes: an ordinary fallback file instead). */
		*why = "a process with the peer's pid runs, started at another time";
		if (proc.start_time_ticks != h->start_time_ticks)
			return -EPERM;
		/* The peer may be reaped between the two reads: what was read
		 * while its start time matched stays, the uid is the kernel's. */
		*why = "a process with the peer's pid runs, with another uid";
		rc = identity_proc_uid(cred.pid, &proc_uid);
		if (rc == 0 && proc_uid != (int64_t)cred.uid)
			return -EPERM;
		if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
			return -EPERM;
		*who = proc;          /* it ran: its /proc details too */
	}
	strlcpy(who->kind, IDENTITY_VERIFIED, sizeof(who->kind));
	identity_resolve_actor(who);
	return 0;
}

int claim_take(int sock, int fd, const char **why)
{
	unsigned char buf[SPOOL_HEADER_BYTES];
	char base[NAME_MAX + 1], spool_base[NAME_MAX + 1];
	struct writer_identity who;
	struct spool_header h;
	struct stat st, rst;
	int rfd = -1, rc;

	*why = "not a spool file in incoming/";
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (rc = claim_base(fd, &st, base, sizeof(base))) < 0) {
		close(fd);
		return -EINVAL;
	}
	close(fd);
	rfd = openat(broker_incoming_dirfd(), base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		     O_CLOEXEC);
	rc = -EINVAL;
	*why = "file changed";
	if (rfd < 0 || fstat(rfd, &rst) < 0 || rst.st_dev != st.st_dev ||
	    rst.st_ino != st.st_ino)
		goto refuse;
	*why = "bad header";
	if (pread(rfd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    spool_header_decode(buf, sizeof(buf), &h) < 0 ||
	    !(h.flags & SPOOL_FLAG_FALLBACK) || (h.flags & SPOOL_FLAG_COLLECTOR))
		goto refuse;
	rc = claim_identity(sock, &h, &who, why);
	/* /proc is read: the peer, waiting at its exit, may go. */
	(void)send(sock, "", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (rc < 0)
		goto refuse;
	*why = "the file's owner is not the peer";
	if ((int64_t)st.st_uid != who.uid)
		goto refuse;
	/* The store process renames it to .spool and follows it in one step,
	 * so that it never adopts the new name as a plain fallback file first;
	 * a file it cannot rename stays .claim, adopted after the grace time. */
	*why = "cannot rename or follow";
	return broker_adopt(PRIVSEP_WHERE_INCOMING, base, rfd, &who, h.flags);
refuse:
	if (rfd >= 0)
		close(rfd);
	(void)claim_rename(base, spool_base, sizeof(spool_base));
	return rc < 0 ? rc : -EINVAL;
}
