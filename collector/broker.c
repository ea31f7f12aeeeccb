/*
 * broker.c - the frames between the privileged parent and the store
 * process (broker.h, privsep.h), and the parent's side (the store's is
 * broker_store.c): ADOPT (a spool file the parent made or a
 * claim it verified, with the writer's identity, handed over with
 * SCM_RIGHTS), OPEN (a spool file the store process has no right to
 * open), SPAWN_SIGNER (a signer to replace one that died).
 * Owns both ends' I/O and the parent's descriptors of the spool
 * directories. Must never trust a request: a name is decoded strictly
 * (privsep_adopt.c), opened relative to the spool directory, without
 * following a link, for reading only, and only a regular file is passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "broker.h"
#include "log.h"
#include "loop.h"
#include "signer.h"
#include "handoff.h"
#include "spool.h"
#include "unaudited.h"

#define BROKER_MAX_SIGNERS 16

static struct {
	int adopt_sock, request_sock;
	int active_fd, incoming_fd;        /* parent: its own descriptors */
	uid_t owner_uid;
	gid_t owner_gid;
	unsigned stale;                    /* parent: answers owed after a timeout */
	pid_t signers[BROKER_MAX_SIGNERS]; /* parent: started for the store */
} B = { .adopt_sock = -1, .request_sock = -1, .active_fd = -1, .incoming_fd = -1,
	.owner_uid = (uid_t)-1, .owner_gid = (gid_t)-1};

int broker_send(int sock, uint16_t type, const void *body, size_t len, int fd)
{
	unsigned char frame[PRIVSEP_MAX_FRAME];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = frame };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t n = 0;
	ssize_t sent;
	int rc;

	rc = privsep_frame_encode(type, body, len, frame, sizeof(frame), &n);
	if (rc < 0)
		return rc;
	iov.iov_len = n;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (sent < 0 && errno == EINTR);
	return sent == (ssize_t)n ? 0 : -EPIPE;
}

/* Every descriptor a message carried: the first into *fd, the count back. */
static int take_fds(struct msghdr *msg, int *fd)
{
	struct cmsghdr *c;
	int count = 0;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count++ == 0)
				*fd = one;
			else
				close(one);
		}
	}
	return count;
}

int broker_recv(int sock, int timeout_ms, unsigned char *buf, struct privsep_frame *f,
		int *fd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = PRIVSEP_MAX_FRAME + 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int rc;

	*fd = -1;
	do {
		rc = poll(&p, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return rc == 0 ? -ETIMEDOUT : -errno;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return -ETIMEDOUT;
	if (n <= 0)
		return -EPIPE;
	rc = 0;
	if (take_fds(&msg, fd) > 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    privsep_frame_decode(buf, (size_t)n, f) < 0)
		rc = -EBADMSG;
	if (rc < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int broker_send_error(int sock, int errno_value)
{
	unsigned char body[4];

	privsep_error_body(errno_value, body);
	return broker_send(sock, PRIVSEP_ERROR, body, sizeof(body), -1);
}

/* ---- the parent ---- */

void broker_parent_init(int adopt_sock, int request_sock, const char *spool)
{
	char path[PATH_MAX + 16];

	B.adopt_sock = adopt_sock;
	B.request_sock = request_sock;
	snprintf(path, sizeof(path), "%s/" SPOOL_DIR_ACTIVE, spool);
	B.active_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/" SPOOL_DIR_INCOMING, spool);
	B.incoming_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int broker_active_dirfd(void)
{
	return B.active_fd;
}

int broker_incoming_dirfd(void)
{
	return B.incoming_fd;
}

int broker_request_fd(void)
{
	return B.request_sock;
}

void broker_set_owner(uid_t uid, gid_t gid)
{
	B.owner_uid = uid;
	B.owner_gid = gid;
}

/* OPENED with fd (taken) when it is of the file type wanted, else ERROR
 * (errno of the failed open, or otherwise). */
static void answer_opened(int fd, mode_t type, int otherwise)
{
	struct stat st;
	int rc = fd < 0 ? errno : 0;

	if (fd >= 0 && (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != type))
		rc = otherwise;
	if (rc != 0)
		(void)broker_send_error(B.request_sock, rc);
	else
		(void)broker_send(B.request_sock, PRIVSEP_OPENED, NULL, 0, fd);
	if (fd >= 0)
		close(fd);
}

static void serve_open(const struct privsep_frame *f)
{
	char name[PRIVSEP_MAX_NAME + 1];
	uint8_t where;
	int fd, rc;

	rc = privsep_open_decode(f, &where, name);
	if (rc < 0) {
		(void)broker_send_error(B.request_sock, -rc);
		return;
	}
	fd = openat(where == PRIVSEP_WHERE_ACTIVE ? B.active_fd : B.incoming_fd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	answer_opened(fd, S_IFREG, EINVAL);
}

static void serve_spawn_signer(void)
{
	unsigned char body[4];
	pid_t pid = 0;
	int fd = -1, rc;
	size_t i;

	rc = signer_fork(&fd, &pid);
	if (rc < 0) {
		(void)broker_send_error(B.request_sock, -rc);
		return;
	}
	for (i = 0; i < BROKER_MAX_SIGNERS; i++)
		if (B.signers[i] == 0) {
			B.signers[i] = pid;
			break;
		}
	body[0] = (unsigned char)pid;
	body[1] = (unsigned char)(pid >> 8);
	body[2] = (unsigned char)(pid >> 16);
	body[3] = (unsigned char)(pid >> 24);
	(void)broker_send(B.request_sock, PRIVSEP_SIGNER, body, sizeof(body), fd);
	close(fd);
}

static void serve_resolve(const struct privsep_frame *f, int mount_fd)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[PRIVSEP_MAX_HANDLE];
	} h;
	const unsigned char *handle;
	int32_t type;
	size_t n;
	int fd, rc;

	rc = mount_fd < 0 ? -EBADMSG : privsep_resolve_decode(f, &type, &handle, &n);
	if (rc < 0) {
		(void)broker_send_error(B.request_sock, -rc);
		return;
	}
	h.fh.handle_bytes = (unsigned)n;
	h.fh.handle_type = type;
	memcpy(h.fh.f_handle, handle, n);
	fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	answer_opened(fd, S_IFDIR, ENOTDIR);          /* directories only */
}

static void serve_exe(const struct privsep_frame *f)
{
	static struct writer_identity who;
	uint64_t start = 0;
	int32_t pid;
	int rc;

	rc = privsep_exe_decode(f, &pid, &start);
	if (rc == 0) {
		identity_clear(&who);
		who.pid = pid;
		rc = identity_read_proc(&who);
	}
	if (rc == 0 && (who.start_time_ticks != start || who.exe[0] == '\0'))
		rc = -ESRCH;               /* another process now, or no link */
	if (rc < 0)
		(void)broker_send_error(B.request_sock, -rc);
	else
		(void)broker_send(B.request_sock, PRIVSEP_EXE_PATH, who.exe,
				  strnlen(who.exe, PRIVSEP_MAX_BODY), -1);
}

int broker_forget_signer(pid_t pid)
{
	size_t i;

	for (i = 0; i < BROKER_MAX_SIGNERS; i++)
		if (B.signers[i] == pid) {
			B.signers[i] = 0;
			return 1;
		}
	return 0;
}

void broker_serve(void)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	struct privsep_frame f;
	int fd;

	while (broker_recv(B.request_sock, 0, buf, &f, &fd) == 0) {
		if (f.type == PRIVSEP_RESOLVE) {
			serve_resolve(&f, fd);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (fd >= 0)
			close(fd);          /* other requests carry none */
		if (f.type == PRIVSEP_OPEN && fd < 0)
			serve_open(&f);
		else if (f.type == PRIVSEP_EXE && fd < 0)
			serve_exe(&f);
		else if (f.type == PRIVSEP_SPAWN_SIGNER && f.len == 0 && fd < 0)
			serve_spawn_signer();
		else
			(void)broker_send_error(B.request_sock, EPROTO);
	}
}

/* The store's next answer on the adopt socket (requests served meanwhile):
 * 0 for a frame of type want, else a negative errno. */
static int await(uint16_t want, int timeout_ms)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	int64_t deadline = loop_now_ms() + timeout_ms;
	struct privsep_frame f;
	int fd, rc;

	for (;;) {
		struct pollfd p[2] = { { .fd = B.adopt_sock, .events = POLLIN },
				       { .fd = B.request_sock, .events = POLLIN } };
		int64_t left = deadline - loop_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			broker_serve();
		if (!p[0].revents)
			continue;
		rc = broker_recv(B.adopt_sock, 0, buf, &f, &fd);
		if (fd >= 0)
			close(fd);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc < 0)
			return rc;
		if (B.stale > 0 && (f.type == PRIVSEP_DONE || f.type == PRIVSEP_ERROR)) {
			B.stale--;              /* the answer to an ADOPT given up on */
			continue;
		}
		if (f.type == want && f.len == 0)
			return 0;
		return f.type == PRIVSEP_ERROR ? privsep_error_code(&f) : -EPROTO;
	}
}

int broker_wait_ready(int timeout_ms)
{
	return await(PRIVSEP_READY, timeout_ms);
}

int broker_adopt(uint8_t where, const char *base, int fd,
		 const struct writer_identity *who, uint32_t flags)
{
	static struct privsep_adopt a;
	unsigned char body[PRIVSEP_MAX_BODY];
	int len, rc;

	memset(&a, 0, sizeof(a));
	a.where = where;
	a.flags = flags;
	a.pid = who->pid;
	a.ppid = who->ppid;
	a.uid = who->uid;
	a.gid = who->gid;
	a.auid = who->auid;
	a.session = who->session;
	a.start_time_ticks = who->start_time_ticks;
	strlcpy(a.name, base, sizeof(a.name));
	if (strlen(who->exe) <= PRIVSEP_MAX_EXE)   /* longer: unknown */
		strlcpy(a.exe, who->exe, sizeof(a.exe));
	strlcpy(a.actor, who->actor, sizeof(a.actor));
	strlcpy(a.kind, who->kind, sizeof(a.kind));
	if (where == PRIVSEP_WHERE_ACTIVE && B.owner_uid != (uid_t)-1 &&
	    fchown(fd, B.owner_uid, B.owner_gid) < 0)
		daemon_warn("cannot give active/%s to the store's user: %s", base,
			    strerror(errno));
	len = privsep_adopt_encode(&a, body, sizeof(body));
	rc = len < 0 ? len :
	     broker_send(B.adopt_sock, PRIVSEP_ADOPT, body, (size_t)len, fd);
	close(fd);
	if (rc == 0)
		rc = await(PRIVSEP_DONE, BROKER_TIMEOUT_MS);
	if (rc == -ETIMEDOUT)
		B.stale++;
	return rc;
}

void broker_unaudited(const struct status_unaudited *e)
{
	static struct privsep_unaudited u;
	unsigned char body[PRIVSEP_MAX_BODY];
	int len;

	memset(&u, 0, sizeof(u));
	u.uid = e->uid;
	u.pid = e->pid;
	u.count = e->count;
	u.last_ns = e->last_ns;
	strlcpy(u.exe, e->exe, sizeof(u.exe));
	strlcpy(u.reason, e->reason, sizeof(u.reason));
	len = privsep_unaudited_encode(&u, body, sizeof(body));
	if (len > 0)
		(void)broker_send(B.adopt_sock, PRIVSEP_UNAUDITED, body, (size_t)len, -1);
}
