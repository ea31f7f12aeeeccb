/*
 * ingest.c - the ingest socket (handoff.h) and the birth of spool files.
 *
 * Owns the listening SOCK_SEQPACKET socket, the short life of each
 * connection (one 16-byte hello within INGEST_HELLO_TIMEOUT_MS, anything
 * else closes it and is counted; at most INGEST_MAX_PENDING wait for their
 * hello, INGEST_MAX_PER_UID of one uid, more are closed at once and their
 * writers use the fallback spool), the verified identity of the peer
 * (SO_PEERCRED, then /proc: start time, loginuid, session, exe, checked
 * against the live connection and the peer's uid), and the creation of its
 * spool file in active/: O_EXCL, 0600, header with SPOOL_FLAG_COLLECTOR,
 * progress row committed (by the store process, broker.c) BEFORE the
 * O_WRONLY|O_APPEND descriptor is sent
 * (or, when the hello asks for a mapped spool file and wake.c is ready, the
 * O_RDWR descriptor with the wake page and eventfd: handoff.h); a
 * claim (a message carrying one descriptor) goes to claim.c, answered by
 * one byte (the ack, sent by claim.c once it has read the peer's /proc).
 * A "runs unaudited" notice instead of a hello goes to unaudited.c.
 * Must never block (every socket is non-blocking), never believe anything
 * the peer says beyond the hello's magic and version, and never keep a
 * connection after the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "claim.h"
#include "byteorder.h"
#include "broker.h"
#include "follow.h"
#include "handoff.h"
#include "identity.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"
#include "spool.h"
#include "unaudited.h"
#include "wake.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

struct pending_connection {
	struct loop_watch watch;       /* watch.fd < 0: slot free */
	int64_t deadline_ms;
	uid_t uid;
};

static struct {
	const struct config *cfg;
	struct loop_watch listener;
	struct pending_connection pending[INGEST_MAX_PENDING];
	struct ingest_counters counters;
} I = { .listener = { .fd = -1 } };

static void connection_close(struct pending_connection *c)
{
	if (c->watch.fd < 0)
		return;
	loop_remove(&c->watch);
	close(c->watch.fd);
	c->watch.fd = -1;
}

/* The PHTREADY reply, with the descriptors (nfds) when status is 0. */
static int send_reply(int sock, uint32_t status, const int *fds, size_t nfds)
{
	unsigned char msg[HANDOFF_MESSAGE_BYTES];
	union {
		char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAPPED_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memcpy(msg, HANDOFF_READY_MAGIC, 8);
	le32_put(msg + 8, HANDOFF_VERSION);
	le32_put(msg + 12, status);
	if (status == 0) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		if (nfds < 1 || nfds > HANDOFF_MAPPED_FDS)
			return -EINVAL;
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(msg))
		return -errno;
	return 0;
}

/* 1 while the peer still holds its end of the connection. */
static int peer_connected(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };

	if (poll(&p, 1, 0) < 0)
		return 0;
	return !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Who is on the other end, from the kernel only. 0 or a positive errno. */
static int verify_peer(int sock, struct writer_identity *who)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int64_t proc_uid = -1;

	identity_clear(who);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred) || cred.pid <= 0)
		return EPROTO;
	who->pid = cred.pid;
	who->uid = cred.uid;
	who->gid = cred.gid;
	if (identity_read_proc(who) < 0)
		return ESRCH;
	/* The pid read from /proc is still the peer: same uid, still connected. */
	if (identity_proc_uid(cred.pid, &proc_uid) < 0 || proc_uid != (int64_t)cred.uid ||
	    !peer_connected(sock))
		return ESRCH;
	strlcpy(who->kind, IDENTITY_VERIFIED, sizeof(who->kind));
	identity_resolve_actor(who);
	return 0;
}

/*
 * Creates the spool file for who in active/: *read_fd (kept by the
 * collector) and *write_fd (for the writer: O_WRONLY|O_APPEND, or O_RDWR
 * when mapped). 0 or a positive errno.
 */
static int create_spool_file(const struct writer_identity *who, char *base,
			     size_t base_size, int mapped, int *read_fd,
			     int *write_fd)
{
	unsigned char header[SPOOL_HEADER_BYTES];
	struct spool_header h = { 0 };
	struct timespec now;
	int dirfd = broker_active_dirfd(), tries, fd = -1, err;

	*read_fd = *write_fd = -1;
	for (tries = 0; tries < 8 && fd < 0; tries++) {
		snprintf(base, base_size, "%" PRId64 "-%" PRIu64 "-%08x.spool",
			 who->pid, who->start_time_ticks, arc4random());
		fd = openat(dirfd, base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return errno ? errno : EEXIST;
	clock_gettime(CLOCK_REALTIME, &now);
	h.version = SPOOL_FORMAT_VERSION;
	h.flags = SPOOL_FLAG_COLLECTOR;
	h.pid = (uint32_t)who->pid;
	h.uid = (uint32_t)who->uid;
	h.gid = (uint32_t)who->gid;
	h.start_time_ticks = who->start_time_ticks;
	h.created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	spool_header_encode(&h, header);
	if (pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header))
		goto fail;
	*write_fd = openat(dirfd, base, (mapped ? O_RDWR : O_WRONLY | O_APPEND) |
			   O_NOFOLLOW | O_CLOEXEC);
	if (*write_fd < 0)
		goto fail;
	*read_fd = fd;
	return 0;
fail:
	err = errno ? errno : EIO;
	close(fd);
	(void)unlinkat(dirfd, base, 0);
	return err;
}

/*
 * Says why a connection was closed, with the peer the kernel names; at most
 * INGEST_LOG_PER_SECOND lines a second so a flood cannot fill the log (the
 * counters still count every one).
 */
#define INGEST_LOG_PER_SECOND 10
static void log_rejected(int sock, const char *why)
{
	static int64_t window;
	static unsigned lines, suppressed;
	int64_t now = loop_now_ms() / 1000;
	struct ucred cred = { .pid = 0 };
	socklen_t len = sizeof(cred);

	if (now != window) {
		if (suppressed > 0)
			daemon_warn("ingest: %u more connection(s) closed for bad "
				    "input in the last second (not logged one by one)",
				    suppressed);
		window = now;
		lines = suppressed = 0;
	}
	if (lines >= INGEST_LOG_PER_SECOND) {
		suppressed++;
		return;
	}
	lines++;
	(void)getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	daemon_warn("ingest: connection from pid %d uid %u closed: %s", (int)cred.pid,
		    (unsigned)cred.uid, why);
}

/*
 * Receives one message into msg (size bytes); *fd gets the one descriptor
 * it carried (else -1). More than one, or a truncated list, are closed and
 * make it a bad message: -1 with errno EBADMSG.
 */
static ssize_t receive_message(int sock, unsigned char *msg, size_t size, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} control;
	struct iovec iov = { .iov_base = msg, .iov_len = size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cm;
	int fds[2], nfds = 0, bad = 0;
	ssize_t n;

	*fd = -1;
	memset(&control, 0, sizeof(control));
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count && nfds < 2; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	if (nfds > 1 || (mh.msg_flags & MSG_CTRUNC))
		bad = 1;
	if (bad) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = EBADMSG;
		return -1;
	}
	if (nfds == 1)
		*fd = fds[0];
	return n;
}

/* A claim (handoff.h) arrived on c with descriptor fd: take it (claim.c
 * acks it), close. */
static void handle_claim(struct pending_connection *c, int fd)
{
	const char *why = "";
	int rc = claim_take(c->watch.fd, fd, &why);

	if (rc < 0) {
		I.counters.refused++;
		log_rejected(c->watch.fd, why);
	} else {
		I.counters.claimed++;
	}
	connection_close(c);
}

/* Not a hello (wrong length, magic or version; n <= 0: the peer left):
 * counted and logged. */
static void reject_hello(int sock, const unsigned char *msg, ssize_t n)
{
	char why[96];

	if (n > 0) {
		I.counters.bad_hello++;
		snprintf(why, sizeof(why), "bad hello: %s",
			 n != HANDOFF_MESSAGE_BYTES ? "wrong length" :
			 memcmp(msg, HANDOFF_HELLO_MAGIC, 8) != 0 ?
			 "wrong magic" : "unsupported protocol version");
		if (n != HANDOFF_MESSAGE_BYTES)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " (%zd bytes, expected %d)", n, HANDOFF_MESSAGE_BYTES);
		log_rejected(sock, why);
	} else {
		struct ucred cred = { .pid = 0 };
		socklen_t len = sizeof(cred);

		(void)getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len);
		daemon_debug("ingest: pid %d left before its hello (%s)",
			     (int)cred.pid, n < 0 ? strerror(errno) : "closed");
	}
}

/* A valid hello (msg): a spool file for the verified peer, handed to the
 * store process, then its descriptor (and the wake objects) to the peer. */
static void answer_hello(int sock, const unsigned char *msg)
{
	struct writer_identity who;
	char base[128];
	int read_fd = -1, write_fd = -1, err, rc, mapped;

	/* Unknown flag bits are ignored: the reply says what was granted. */
	mapped = (le32_get(msg + 12) & HANDOFF_FLAG_MAPPED) && wake_ready();
	err = verify_peer(sock, &who);
	if (err == 0)
		err = create_spool_file(&who, base, sizeof(base), mapped, &read_fd,
					&write_fd);
	if (err == 0) {
		rc = broker_adopt(PRIVSEP_WHERE_ACTIVE, base, read_fd, &who,
				 SPOOL_FLAG_COLLECTOR);
		if (rc < 0)
			err = -rc;
	}
	if (err != 0) {
		I.counters.refused++;
		daemon_warn("ingest: no spool file for pid %" PRId64 ": %s", who.pid,
			    strerror(err));
		(void)send_reply(sock, (uint32_t)err, NULL, 0);
	} else if (send_reply(sock, 0, (const int[]){ write_fd, wake_page_fd(),
						     wake_event_fd() },
			      mapped ? HANDOFF_MAPPED_FDS : 1) < 0) {
		daemon_warn("ingest: pid %" PRId64 " left before its spool file was sent",
			    who.pid);
	} else {
		I.counters.handed_out++;
		daemon_debug("ingest: active/%s for pid %" PRId64 " uid %" PRId64
			     "%s", base, who.pid, who.uid, mapped ? " (mapped)" : "");
	}
	if (write_fd >= 0)
		close(write_fd);
}

/* A whole message arrived on c: a claim, a notice or a hello; answered,
 * then c is closed. */
static void handle_hello(struct pending_connection *c)
{
	unsigned char msg[HANDOFF_NOTICE_MAX_BYTES + 1];
	const char *notice_why = NULL;
	ssize_t n;
	int sock = c->watch.fd, fd;

	n = receive_message(sock, msg, sizeof(msg), &fd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0 && errno == EBADMSG) {
		I.counters.bad_hello++;
		log_rejected(sock, "bad hello: more than one descriptor");
		connection_close(c);
		return;
	}
	if (n == HANDOFF_MESSAGE_BYTES && fd >= 0 &&
	    memcmp(msg, HANDOFF_CLAIM_MAGIC, 8) == 0 &&
	    le32_get(msg + 8) == HANDOFF_VERSION) {
		handle_claim(c, fd);
		return;
	}
	if (fd >= 0) {
		close(fd);         /* only a claim carries a descriptor */
		I.counters.bad_hello++;
		log_rejected(sock, "bad hello: unexpected descriptor");
	} else if (n >= 8 && memcmp(msg, HANDOFF_NOTICE_MAGIC, 8) == 0) {
		if (unaudited_receive(sock, msg, (size_t)n, &notice_why) < 0) {
			I.counters.bad_hello++;
			log_rejected(sock, notice_why);
		}
	} else if (n != HANDOFF_MESSAGE_BYTES || memcmp(msg, HANDOFF_HELLO_MAGIC, 8) != 0 ||
		   le32_get(msg + 8) != HANDOFF_VERSION) {
		reject_hello(sock, msg, n);
	} else {
		answer_hello(sock, msg);
	}
	connection_close(c);
}

static void on_connection(struct loop_watch *w, uint32_t events)
{
	(void)events;
	handle_hello(w->context);
}

static void on_listener(struct loop_watch *w, uint32_t events)
{
	int fd;
	size_t i;

	(void)events;
	while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct pending_connection *c = NULL;

		struct ucred cred = { .uid = (uid_t)-1 };
		socklen_t len = sizeof(cred);
		size_t of_uid = 0;

		I.counters.accepted++;
		/* One user holding connections never shuts out another. */
		(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
		for (i = 0; i < INGEST_MAX_PENDING; i++) {
			if (I.pending[i].watch.fd < 0) {
				if (c == NULL)
					c = &I.pending[i];
			} else if (I.pending[i].uid == cred.uid) {
				of_uid++;
			}
		}
		if (c == NULL || of_uid >= INGEST_MAX_PER_UID) {
			I.counters.refused++;
			close(fd);
			continue;
		}
		c->watch.fd = fd;
		c->watch.handler = on_connection;
		c->watch.context = c;
		c->deadline_ms = loop_now_ms() + INGEST_HELLO_TIMEOUT_MS;
		c->uid = cred.uid;
		if (loop_add(&c->watch, EPOLLIN | EPOLLRDHUP) < 0) {
			close(fd);
			c->watch.fd = -1;
			continue;
		}
		handle_hello(c);      /* the hello often comes with the connect */
	}
}

void ingest_poll(void)
{
	if (I.listener.fd >= 0)
		on_listener(&I.listener, 0);
}

void ingest_tick(void)
{
	int64_t now = loop_now_ms();
	size_t i;

	for (i = 0; i < INGEST_MAX_PENDING; i++) {
		struct pending_connection *c = &I.pending[i];

		if (c->watch.fd >= 0 && now >= c->deadline_ms) {
			I.counters.timed_out++;
			log_rejected(c->watch.fd, "no hello within "
				     STRINGIFY(INGEST_HELLO_TIMEOUT_MS) " ms");
			connection_close(c);
		}
	}
}

int ingest_start(const struct config *cfg)
{
	size_t i;

	I.cfg = cfg;
	for (i = 0; i < INGEST_MAX_PENDING; i++)
		I.pending[i].watch.fd = -1;
	I.listener.handler = on_listener;
	return loop_listen_unix(&I.listener, cfg->socket_path, SOCK_SEQPACKET, INGEST_BACKLOG,
				"socket");
}

void ingest_stop(void)
{
	size_t i;

	for (i = 0; i < INGEST_MAX_PENDING; i++)
		connection_close(&I.pending[i]);
	if (I.listener.fd >= 0) {
		loop_remove(&I.listener);
		close(I.listener.fd);
		I.listener.fd = -1;
		if (I.cfg != NULL)
			(void)unlink(I.cfg->socket_path);
	}
}
