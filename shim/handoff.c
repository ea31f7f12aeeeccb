/*
 * handoff.c - owns the descriptor records are appended to (the spool fd)
 * and how it is obtained.
 *
 * On a process's first record (every process: a fresh exec as much as a
 * fork child) nothing is waited for: connect to the collector's ingest
 * socket (a Unix connect completes at once or fails), create our own spool
 * file in incoming/ and send a claim carrying it (handoff_claim; the
 * collector verifies us by SO_PEERCRED when it reads the claim), then
 * map that file itself (spoolmap_attach_own; no wake page: the collector
 * reads it at its next tick) or, where it cannot, append with write(). A
 * process that goes on writing asks, once its claimed file holds
 * HANDOFF_UPGRADE_RECORDS records, for the collector's mapped spool file
 * (with its wake page and eventfd) by the hello (non-blocking SOCK_SEQPACKET,
 * the bounded wait of HANDOFF_REPLY_TIMEOUT_MS for the reply carrying
 * the file by SCM_RIGHTS, handoff.h), whose descriptors go to spoolmap.c.
 * The claim's connection is kept until the collector acknowledges it
 * (handoff_ack.c: the bounded wait for the ack at a normal exit).
 * Where we cannot create a file in incoming/ (a read-only or private view
 * of the spool), the first record asks by the hello instead. If the
 * collector is not there and on_collector_down = spool, create our own
 * fallback spool file <spool>/incoming/<pid>.<start>.<random>.spool
 * (header flagged SPOOL_FLAG_FALLBACK) and keep it for the rest of the
 * process's life.
 * Either descriptor is moved to >= HANDOFF_FD_FLOOR, out of the program's
 * way. The program may close it or dup2 over it: the fd wrappers tell us
 * and we forget it (never closing what is no longer ours); the next record
 * gets a new spool file; the claim's connection, likewise. This file never
 * writes into a descriptor the program owns, never blocks beyond the two
 * bounded waits, and uses only
 * real functions or functions the shim does not wrap.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bsd/string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "handoff.h"
#include "byteorder.h"
#include "real.h"
#include "shim.h"
#include "spool.h"
#include "spoolmap.h"

#define HANDOFF_FD_FLOOR 512
#define HANDOFF_MAX_FDS 4                   /* cmsg room, to spot extras */
#define HANDOFF_UPGRADE_RECORDS 64          /* claimed file: then ask to map */

static int handoff_fd = -1;                 /* atomic */
int handoff_fd_low = INT_MAX;               /* atomic: see handoff_note_fd */
static int handoff_claimed_fd = -1;         /* atomic: handoff_fd, if claimed */
static unsigned handoff_claimed_records;    /* atomic: records it was given */
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * fd is about to be one of the shim's own (spool, claim connection, mapped
 * window, eventfd): lowers handoff_fd_low, so that a close of a descriptor
 * below every one the shim ever held needs no look at them (wrap_fd.c).
 * Called before fd is published; never raised again (a fork child keeps it).
 */
void handoff_note_fd(int fd)
{
	int low = __atomic_load_n(&handoff_fd_low, __ATOMIC_RELAXED);

	while (fd >= 0 && fd < low &&
	       !__atomic_compare_exchange_n(&handoff_fd_low, &low, fd, 1,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
}

/* Moves fd up out of the program's way; returns the descriptor to use. */
static int handoff_move_up(int fd)
{
	int high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, HANDOFF_FD_FLOOR);

	if (high < 0)
		return fd;
	REAL(close)(fd);
	return high;
}

static int64_t handoff_elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - since->tv_sec) * 1000 +
		(now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The reply's wait, and the ack's at exit (handoff_ack.c). */
int handoff_wait_readable(int sock, int limit_ms)
{
	struct timespec start;
	struct pollfd p = { .fd = sock, .events = POLLIN };

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int64_t left = limit_ms - handoff_elapsed_ms(&start);
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Receives the reply; returns the spool descriptor or a negative errno.
 * A mapped reply (only when asked) also gives *page_fd and *event_fd, else
 * they stay -1.
 */
static int handoff_receive(int sock, int asked_mapped, int *page_fd, int *event_fd)
{
	unsigned char reply[HANDOFF_MESSAGE_BYTES + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = reply, .iov_len = sizeof(reply) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	int fds[HANDOFF_MAX_FDS];
	size_t nfds = 0;
	ssize_t n;
	int rc = -EPROTO;

	memset(&control, 0, sizeof(control));
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count && nfds < HANDOFF_MAX_FDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
	}
	if (n != HANDOFF_MESSAGE_BYTES || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    memcmp(reply, HANDOFF_READY_MAGIC, 8) != 0 ||
	    le32_get(reply + 8) != HANDOFF_VERSION)
		goto out;
	if (le32_get(reply + 12) != 0) {
		rc = -(int)(le32_get(reply + 12) & 0xffff);
		goto out;
	}
	if (nfds == HANDOFF_MAPPED_FDS && asked_mapped) {
		/* spoolmap_attach checks all three */
		rc = fds[0];
		*page_fd = fds[1];
		*event_fd = fds[2];
		nfds = 0;
		goto out;
	}
	if (nfds != 1)
		goto out;
	{
		struct stat st;
		int fl = REAL(fcntl)(fds[0], F_GETFL);

		if (fstat(fds[0], &st) != 0 || !S_ISREG(st.st_mode) || fl < 0 ||
		    (fl & O_ACCMODE) == O_RDONLY || !(fl & O_APPEND))
			goto out;
	}
	rc = fds[0];
	nfds = 0;
out:
	for (size_t i = 0; i < nfds; i++)
		REAL(close)(fds[i]);
	return rc;
}

/* Asks the collector for a spool file: its descriptor or a negative errno
 * (and, for a mapped one, the wake descriptors: handoff_receive). */
static int handoff_connect(int *page_fd, int *event_fd)
{
	uint32_t flags = spoolmap_wanted() ? HANDOFF_FLAG_MAPPED : 0;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned char hello[HANDOFF_MESSAGE_BYTES];
	int sock, rc;

	if (shim_config.socket_path[0] == '\0' ||
	    strlcpy(addr.sun_path, shim_config.socket_path,
		    sizeof(addr.sun_path)) >= sizeof(addr.sun_path))
		return -EINVAL;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	memcpy(hello, HANDOFF_HELLO_MAGIC, 8);
	le32_put(hello + 8, HANDOFF_VERSION);
	le32_put(hello + 12, flags);
	if (send(sock, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello)) {
		rc = errno != 0 ? -errno : -EPROTO;
		goto out;
	}
	rc = handoff_wait_readable(sock, HANDOFF_REPLY_TIMEOUT_MS);
	if (rc == 0)
		rc = handoff_receive(sock, flags & HANDOFF_FLAG_MAPPED, page_fd,
				     event_fd);
out:
	REAL(close)(sock);
	return rc;
}

/*
 * The collector creates <spool>/incoming (mode 1733: anyone may create a
 * file, nobody may list) when it first starts. A collector that never ran
 * has not, so where this process may, it makes the directories itself, with
 * the same modes.
 */
static int handoff_make_incoming(void)
{
	char dir[PATH_MAX];

	if (mkdir(shim_config.spool, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(dir, sizeof(dir), "%s/%s", shim_config.spool,
		     SPOOL_DIR_INCOMING) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 01733) < 0) {
		if (errno == EEXIST)
			return 0;
		return -errno;
	}
	if (REAL(chmod)(dir, 01733) < 0)      /* the umask took bits away */
		return -errno;
	return 0;
}

/*
 * Creates our own spool file in incoming/, named <pid>.<start>.<random>
 * followed by suffix (".spool", or ".claim" for handoff_claim); its path
 * goes to path.
 */
static int handoff_create_own(const char *suffix, int access, char *path,
			      size_t path_size)
{
	const struct identity *id = identity_get();
	unsigned char header[SPOOL_HEADER_BYTES];
	struct spool_header h = { .version = SPOOL_FORMAT_VERSION,
				  .flags = SPOOL_FLAG_FALLBACK };
	uint64_t random_bits = 0;
	struct timespec now;
	ssize_t n;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	if (getrandom(&random_bits, sizeof(random_bits), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(random_bits))
		random_bits = (uint64_t)now.tv_nsec ^ (uint64_t)(uintptr_t)&h;
	if (snprintf(path, path_size, "%s/%s/%lld.%llu.%016llx%s",
		     shim_config.spool, SPOOL_DIR_INCOMING, (long long)id->pid,
		     (unsigned long long)id->start_ticks,
		     (unsigned long long)random_bits, suffix) >= (int)path_size)
		return -ENAMETOOLONG;
	fd = REAL(open)(path, access | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
			O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT && handoff_make_incoming() == 0)
		fd = REAL(open)(path, access | O_CREAT | O_EXCL | O_APPEND |
				O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	h.pid = (uint32_t)id->pid;
	h.uid = (uint32_t)geteuid();
	h.gid = (uint32_t)getegid();
	h.start_time_ticks = id->start_ticks;
	h.created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	spool_header_encode(&h, header);
	do {
		n = REAL(write)(fd, header, sizeof(header));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(header)) {
		int err = n < 0 ? -errno : -EIO;

		/* Ours (O_EXCL): no headerless file left for the collector to
		 * take for tampering (a full disk, typically). */
		REAL(unlink)(path);
		REAL(close)(fd);
		return err;
	}
	return fd;
}

/* Creates our own spool file while the collector is down. */
static int handoff_fallback(void)
{
	char path[PATH_MAX];

	return handoff_create_own(".spool", O_WRONLY, path, sizeof(path));
}

/*
 * A process's first record: no round trip it waits on. Connect (a Unix
 * connect completes at once or fails), create our own file as
 * <...>.claim in incoming/, and send the claim carrying its descriptor
 * (handoff.h); the collector verifies us by SO_PEERCRED and the header
 * when it reads the claim, while we already append. If the claim cannot
 * be sent, the file becomes an ordinary fallback file (".spool"). Returns
 * the descriptor (O_WRONLY | O_APPEND) or a negative errno: -ENOTCONN when
 * the collector is not there (the caller falls back as for any hello),
 * another when no file could be made (the caller asks by the hello).
 */
static int handoff_claim(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned char claim[HANDOFF_MESSAGE_BYTES];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = claim, .iov_len = sizeof(claim) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	char path[PATH_MAX], spool_path[PATH_MAX];
	int sock, fd;

	if (shim_config.socket_path[0] == '\0' ||
	    strlcpy(addr.sun_path, shim_config.socket_path,
		    sizeof(addr.sun_path)) >= sizeof(addr.sun_path))
		return -ENOTCONN;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -ENOTCONN;
	if (REAL(connect)(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		REAL(close)(sock);
		return -ENOTCONN;
	}
	fd = handoff_create_own(HANDOFF_CLAIM_SUFFIX, O_RDWR, path, sizeof(path));
	if (fd < 0) {
		REAL(close)(sock);
		return fd == -ENOTCONN ? -EIO : fd;
	}
	memcpy(claim, HANDOFF_CLAIM_MAGIC, 8);
	le32_put(claim + 8, HANDOFF_VERSION);
	le32_put(claim + 12, 0);
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (REAL(sendmsg)(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(claim)) {
		size_t n = strlen(path) - strlen(HANDOFF_CLAIM_SUFFIX);

		/* Unclaimed: adopted as a fallback file, identity from its owner. */
		if (snprintf(spool_path, sizeof(spool_path), "%.*s.spool", (int)n,
			     path) < (int)sizeof(spool_path))
			(void)REAL(rename)(path, spool_path);
		REAL(close)(sock);
	} else if ((sock = handoff_move_up(sock)) >= HANDOFF_FD_FLOOR) {
		handoff_ack_keep(sock);      /* until the ack: handoff_ack.c */
	} else {
		REAL(close)(sock);           /* never among the program's low fds */
	}
	return fd;
}

/* The hello's answer in place: moved up, mapped when it came mapped (else
 * appended to with write()). The descriptor, or a negative errno. */
static int handoff_take_reply(int fd, int page_fd, int event_fd)
{
	int fl;

	fd = handoff_move_up(fd);
	if (page_fd < 0 ||
	    spoolmap_attach(fd, page_fd, event_fd, HANDOFF_FD_FLOOR) >= 0)
		return fd;
	/* Not mappable here: append with write(), as ever. */
	fl = REAL(fcntl)(fd, F_GETFL);
	if (fl < 0 || REAL(fcntl)(fd, F_SETFL, fl | O_APPEND) < 0) {
		REAL(close)(fd);
		return -EIO;
	}
	return fd;
}

/* The first spool file of this process (or after the last was lost). */
static int handoff_first(void)
{
	int fd = handoff_claim(), page_fd = -1, event_fd = -1, claimed = fd >= 0;

	if (fd < 0 && fd != -ENOTCONN) {
		fd = handoff_connect(&page_fd, &event_fd);
		if (fd >= 0)
			return handoff_take_reply(fd, page_fd, event_fd);
	}
	if (fd < 0 && shim_config.on_collector_down == CONFIG_ON_DOWN_SPOOL)
		fd = handoff_fallback();
	if (fd < 0)
		return fd;
	fd = handoff_move_up(fd);
	/* Mapped from the first record: no system call per record, so a
	 * program that then denies itself writes cannot silence the trail;
	 * where it cannot be mapped, write() as for any file. */
	if (claimed && spoolmap_wanted())
		(void)spoolmap_attach_own(fd);
	__atomic_store_n(&handoff_claimed_records, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&handoff_claimed_fd, claimed ? fd : -1, __ATOMIC_RELEASE);
	return fd;
}

/*
 * The claimed file old has had HANDOFF_UPGRADE_RECORDS records: a process
 * that writes this much asks for a mapped spool file (the hello). Called
 * with emit.c's write lock held, so no other thread is between taking a
 * seq and writing it to old (the mapped window's seqs start where ours
 * are). The descriptor to use from now on: the mapped file's, or old.
 */
static int handoff_upgrade(int old)
{
	int fd, page_fd = -1, event_fd = -1;

	__atomic_store_n(&handoff_claimed_fd, -1, __ATOMIC_RELEASE);
	if (!spoolmap_wanted())
		return old;
	fd = handoff_connect(&page_fd, &event_fd);
	if (fd < 0)
		return old;
	if (page_fd < 0) {               /* a write() file as ours already is */
		REAL(close)(fd);
		return old;
	}
	fd = handoff_move_up(fd);
	if (spoolmap_attach(fd, page_fd, event_fd, HANDOFF_FD_FLOOR) < 0) {
		REAL(close)(fd);
		return old;
	}
	REAL(close)(old);        /* the collector reads it to its end and
				  * retires it with the process */
	return fd;
}

int handoff_upgrade_due(void)
{
	return __atomic_load_n(&handoff_claimed_fd, __ATOMIC_ACQUIRE) >= 0 &&
		spoolmap_own_frames() >= HANDOFF_UPGRADE_RECORDS;
}

void handoff_upgrade_mapped(void)
{
	int old, fd, page_fd = -1, event_fd = -1, masked;
	sigset_t all, before;

	pthread_mutex_lock(&handoff_lock);
	old = __atomic_load_n(&handoff_fd, __ATOMIC_ACQUIRE);
	if (old < 0 || __atomic_load_n(&handoff_claimed_fd, __ATOMIC_ACQUIRE) != old ||
	    spoolmap_own_frames() < HANDOFF_UPGRADE_RECORDS)
		goto out;
	__atomic_store_n(&handoff_claimed_fd, -1, __ATOMIC_RELEASE);
	if (!spoolmap_wanted())
		goto out;
	fd = handoff_connect(&page_fd, &event_fd);
	if (fd < 0)
		goto out;                /* our own mapped file serves on */
	if (page_fd < 0) {
		REAL(close)(fd);
		goto out;
	}
	/* Until the new window is there, a handler of this thread would
	 * write() past the old mapping's zeros: its signals wait. */
	sigfillset(&all);
	masked = pthread_sigmask(SIG_BLOCK, &all, &before) == 0;
	spoolmap_retire();               /* frames reserved in it are still written */
	fd = handoff_move_up(fd);
	if (spoolmap_attach(fd, page_fd, event_fd, HANDOFF_FD_FLOOR) < 0) {
		REAL(close)(fd);
		fd = -1;                 /* our window is closed: a fresh claim */
	}
	REAL(close)(old);
	handoff_note_fd(fd);
	__atomic_store_n(&handoff_fd, fd, __ATOMIC_RELEASE);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &before, NULL);
out:
	pthread_mutex_unlock(&handoff_lock);
}

int handoff_spool_fd(void)
{
	int fd = __atomic_load_n(&handoff_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0)
		return fd;
	if (shim_nested()) {
		/* a signal handler: the interrupted code may hold the lock */
		if (pthread_mutex_trylock(&handoff_lock) != 0)
			return -EAGAIN;
	} else {
		pthread_mutex_lock(&handoff_lock);
	}
	fd = __atomic_load_n(&handoff_fd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		goto out;
	spoolmap_retire();            /* its file is not ours any more */
	fd = handoff_first();
	if (fd >= 0) {
		handoff_note_fd(fd);
		__atomic_store_n(&handoff_fd, fd, __ATOMIC_RELEASE);
	}
out:
	pthread_mutex_unlock(&handoff_lock);
	return fd;
}

int handoff_record_fd(void)
{
	int fd = handoff_spool_fd();

	if (fd < 0 || __atomic_load_n(&handoff_claimed_fd, __ATOMIC_ACQUIRE) != fd ||
	    __atomic_add_fetch(&handoff_claimed_records, 1, __ATOMIC_RELAXED) <=
	    HANDOFF_UPGRADE_RECORDS)
		return fd;
	pthread_mutex_lock(&handoff_lock);
	fd = __atomic_load_n(&handoff_fd, __ATOMIC_ACQUIRE);
	if (fd >= 0 && __atomic_load_n(&handoff_claimed_fd, __ATOMIC_ACQUIRE) == fd) {
		fd = handoff_upgrade(fd);
		handoff_note_fd(fd);
		__atomic_store_n(&handoff_fd, fd, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&handoff_lock);
	return fd;
}

void handoff_fd_gone(int fd)
{
	int mine = fd;

	if (fd < 0)
		return;
	__atomic_compare_exchange_n(&handoff_fd, &mine, -1, 0,
				    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	mine = fd;
	__atomic_compare_exchange_n(&handoff_claimed_fd, &mine, -1, 0,
				    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	handoff_ack_gone((unsigned)fd, (unsigned)fd);
	spoolmap_fds_gone((unsigned)fd, (unsigned)fd);
}

void handoff_range_gone(unsigned first, unsigned last)
{
	int fd = __atomic_load_n(&handoff_fd, __ATOMIC_RELAXED);

	if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
		handoff_fd_gone(fd);
	handoff_ack_gone(first, last);
	spoolmap_fds_gone(first, last);
}

void handoff_abandon(int fd)
{
	int mine = fd;

	if (__atomic_compare_exchange_n(&handoff_fd, &mine, -1, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		REAL(close)(fd);
	mine = fd;
	__atomic_compare_exchange_n(&handoff_claimed_fd, &mine, -1, 0,
				    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void handoff_atfork_child(void)
{
	int fd = handoff_fd;

	handoff_fd = -1;
	handoff_claimed_fd = -1;
	pthread_mutex_init(&handoff_lock, NULL);
	if (fd >= 0)
		REAL(close)(fd);
	handoff_ack_atfork_child();
	spoolmap_atfork_child();
}
