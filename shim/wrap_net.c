/*
 * wrap_net.c - owns the socket calls: connect, accept, accept4, the send
 * family (send, sendto, sendmsg, sendmmsg), the receive family (recv,
 * __recv_chk, recvfrom, __recvfrom_chk, recvmsg, recvmmsg), shutdown, and
 * the socket side of read, readv, write, writev and sendfile (wrap_rw.c
 * hands those over when the descriptor is a PHI socket).
 *
 * connect matches the address the program passed; PHI Connection Opened
 * is reported when connect returns 0 or fails with EINPROGRESS (a
 * non-blocking connect: the record says "in_progress"; whether it later
 * succeeds is not followed), or with the errno of any other failure.
 * accept matches the local address of the new connection (getsockname,
 * made only when the policy has accept or unix rules) and reports PHI
 * Connection Accepted with the peer as target: from accept's own result,
 * getpeername only when the program passed no address. Data calls on a
 * socket that is not PHI cost one table load; on a PHI socket the bytes
 * that moved are counted and fed to its detector (netstate.c).
 *
 * Same return values, errno and descriptors as libc, always; never
 * blocks; MSG_PEEK data is not counted (it will be read again).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "netstate.h"
#include "real.h"
#include "shim.h"

#define NET_CHUNK 4096        /* bytes read back per pread after sendfile */
#define NET_SENDFILE_MAX (16u << 20)  /* bytes read back per sendfile call */

/* "tcp" or "udp" ... for an internet socket (one getsockopt, PHI only). */
static const char *net_transport(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return "ip";
	switch (type) {
	case SOCK_STREAM: return "tcp";
	case SOCK_DGRAM: return "udp";
	case SOCK_SEQPACKET: return "sctp";
	default: return "ip";
	}
}

static size_t net_protocol_detail(int rule, struct record_detail *d)
{
	const char *protocol = shim_config.rules[rule].protocol;

	if (protocol[0] == '\0')
		return 0;
	*d = (struct record_detail){ .key = "protocol", .str = protocol };
	return 1;
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	char target[NETADDR_TEXT_MAX];
	struct record_detail detail[3];
	size_t count;
	int rule, ret, saved_errno, already;

	if (!shim_enter())
		return REAL(connect)(fd, addr, len);
	if (shim_nested() ||
	    (rule = config_match_address(&shim_config, CONFIG_ADDRESS_CONNECT,
					 addr, len)) < 0) {
		shim_leave();
		return REAL(connect)(fd, addr, len);
	}
	if (shim_may_proceed() < 0) {
		shim_leave();
		errno = EACCES;
		return -1;
	}
	already = netstate_is_socket(fd);
	ret = REAL(connect)(fd, addr, len);
	saved_errno = errno;
	/* a repeated connect on a socket already reported says nothing new */
	if (already)
		goto out;
	if (addr->sa_family == AF_UNIX)
		netaddr_format(addr, len, "unix", target, sizeof(target));
	else
		netaddr_format(addr, len, net_transport(fd), target, sizeof(target));
	count = net_protocol_detail(rule, detail);
	if (ret == 0 || saved_errno == EINPROGRESS) {
		if (ret != 0)
			detail[count++] = (struct record_detail){
				.key = "in_progress", .num = 1 };
		if (netstate_open(fd, rule, target) < 0)
			detail[count++] = (struct record_detail){ .key = "note",
				.str = "too many PHI sockets open: later data not audited" };
		emit_net_event(EVENT_CONNECTION_OPENED, target, rule, NULL, 0,
			       detail, count);
	} else {
		emit_net_event(EVENT_CONNECTION_OPENED, target, rule, NULL,
			       saved_errno, detail, count);
	}
out:
	shim_leave();
	errno = saved_errno;
	return ret;
}

/* Bit (1 << kind) of each address kind in the policy; read after enter. */
static unsigned net_kinds(void)
{
	static unsigned kinds_plus_one;      /* 0: not computed yet */
	unsigned k = __atomic_load_n(&kinds_plus_one, __ATOMIC_RELAXED);

	if (k == 0) {
		k = config_address_kinds(&shim_config) + 1;
		__atomic_store_n(&kinds_plus_one, k, __ATOMIC_RELAXED);
	}
	return k - 1;
}

/*
 * A connection was accepted as fd. addr/addr_len are what the program
 * passed (addr_capacity: *addr_len before the call).
 */
static void net_accepted(int fd, const struct sockaddr *addr,
			 const socklen_t *addr_len, socklen_t addr_capacity)
{
	struct sockaddr_storage local, peer;
	socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
	char target[NETADDR_TEXT_MAX], local_text[NETADDR_TEXT_MAX];
	struct record_detail detail[3];
	size_t count;
	int rule, saved_errno = errno;

	if (fdstate_known(fd))
		fdstate_close(fd);             /* a new socket: nothing of old */
	if (!shim_enter())
		goto out;
	if (shim_nested() ||
	    !(net_kinds() & ((1u << CONFIG_ADDRESS_ACCEPT) | (1u << CONFIG_ADDRESS_UNIX))))
		goto leave;
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0)
		goto leave;
	if (local_len > sizeof(local))
		local_len = sizeof(local);
	rule = config_match_address(&shim_config, CONFIG_ADDRESS_ACCEPT,
				    (struct sockaddr *)&local, local_len);
	if (rule < 0)
		goto leave;
	if (local.ss_family == AF_UNIX) {
		/* the peer of a Unix socket is usually unnamed: name the path */
		netaddr_format((struct sockaddr *)&local, local_len, "unix",
			       target, sizeof(target));
		local_text[0] = '\0';
	} else {
		if (addr != NULL && addr_len != NULL) {
			peer_len = *addr_len < addr_capacity ? *addr_len : addr_capacity;
			if (peer_len > sizeof(peer))
				peer_len = sizeof(peer);
			memcpy(&peer, addr, peer_len);
		} else if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0) {
			peer_len = 0;
		}
		if (peer_len > sizeof(peer))
			peer_len = sizeof(peer);
		netaddr_format((struct sockaddr *)&peer, peer_len, "tcp", target,
			       sizeof(target));
		netaddr_format((struct sockaddr *)&local, local_len, "tcp",
			       local_text, sizeof(local_text));
	}
	count = net_protocol_detail(rule, detail);
	if (local_text[0] != '\0')
		detail[count++] = (struct record_detail){ .key = "local",
			.str = local_text };
	if (netstate_open(fd, rule, target) < 0)
		detail[count++] = (struct record_detail){ .key = "note",
			.str = "too many PHI sockets open: later data not audited" };
	emit_net_event(EVENT_CONNECTION_ACCEPTED, target, rule, NULL, 0, detail,
		       count);
leave:
	shim_leave();
out:
	errno = saved_errno;
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addr_len)
{
	socklen_t capacity = addr != NULL && addr_len != NULL ? *addr_len : 0;
	int ret = REAL(accept)(fd, addr, addr_len);

	if (ret >= 0)
		net_accepted(ret, addr, addr_len, capacity);
	return ret;
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len,
			int flags)
{
	socklen_t capacity = addr != NULL && addr_len != NULL ? *addr_len : 0;
	int ret = REAL(accept4)(fd, addr, addr_len, flags);

	if (ret >= 0)
		net_accepted(ret, addr, addr_len, capacity);
	return ret;
}

/* ---- data ---- */

/* After a receive: feed, or end the direction on EOF. */
static void net_received(struct phi_socket *s, const struct iovec *iov,
			 int iovcnt, ssize_t ret, size_t asked, int flags)
{
	if (flags & MSG_PEEK)
		return;
	if (ret > 0 && (flags & MSG_TRUNC)) {
		/* stream data discarded unseen: the detector cannot follow */
		netstate_data(s, NET_RECEIVED, iov, 0, (size_t)ret);
		if (s->stopped[NET_RECEIVED] == NULL)
			s->stopped[NET_RECEIVED] = "bytes discarded unread (MSG_TRUNC)";
	} else if (ret > 0) {
		netstate_data(s, NET_RECEIVED, iov, iovcnt, (size_t)ret);
	} else if (ret == 0 && asked > 0) {
		netstate_end(s, NET_RECEIVED);
	}
}

/* The body of every one-buffer data wrapper. */
#define NET_IO(fd, call, after) do { \
	struct phi_socket *s_ = netstate_get(fd); \
	ssize_t ret_; \
	int errno_; \
	if (s_ == NULL) \
		return call; \
	ret_ = call; \
	errno_ = errno; \
	after; \
	netstate_put(s_); \
	errno = errno_; \
	return ret_; \
} while (0)

static size_t net_iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

ssize_t net_read(int fd, void *buf, size_t count)
{
	struct iovec iov = { .iov_base = buf, .iov_len = count };

	NET_IO(fd, REAL(read)(fd, buf, count),
	       net_received(s_, &iov, 1, ret_, count, 0));
}

ssize_t net_read_chk(int fd, void *buf, size_t count, size_t buf_size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = count };

	NET_IO(fd, REAL(__read_chk)(fd, buf, count, buf_size),
	       net_received(s_, &iov, 1, ret_, count, 0));
}

ssize_t net_readv(int fd, const struct iovec *iov, int iovcnt)
{
	NET_IO(fd, REAL(readv)(fd, iov, iovcnt),
	       net_received(s_, iov, iovcnt, ret_, net_iov_total(iov, iovcnt), 0));
}

ssize_t net_write(int fd, const void *buf, size_t count)
{
	NET_IO(fd, REAL(write)(fd, buf, count),
	       if (ret_ > 0) netstate_data_buffer(s_, NET_SENT, buf, (size_t)ret_));
}

ssize_t net_writev(int fd, const struct iovec *iov, int iovcnt)
{
	NET_IO(fd, REAL(writev)(fd, iov, iovcnt),
	       if (ret_ > 0) netstate_data(s_, NET_SENT, iov, iovcnt, (size_t)ret_));
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	NET_IO(fd, REAL(send)(fd, buf, len, flags),
	       if (ret_ > 0) netstate_data_buffer(s_, NET_SENT, buf, (size_t)ret_));
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *addr, socklen_t addr_len)
{
	NET_IO(fd, REAL(sendto)(fd, buf, len, flags, addr, addr_len),
	       if (ret_ > 0) netstate_data_buffer(s_, NET_SENT, buf, (size_t)ret_));
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	NET_IO(fd, REAL(sendmsg)(fd, msg, flags),
	       if (ret_ > 0) netstate_data(s_, NET_SENT, msg->msg_iov,
					   (int)msg->msg_iovlen, (size_t)ret_));
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	NET_IO(fd, REAL(recv)(fd, buf, len, flags),
	       net_received(s_, &iov, 1, ret_, len, flags));
}

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buf_len,
			       int flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	NET_IO(fd, REAL(__recv_chk)(fd, buf, len, buf_len, flags),
	       net_received(s_, &iov, 1, ret_, len, flags));
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			     struct sockaddr *addr, socklen_t *addr_len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	NET_IO(fd, REAL(recvfrom)(fd, buf, len, flags, addr, addr_len),
	       net_received(s_, &iov, 1, ret_, len, flags));
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len,
				   size_t buf_len, int flags,
				   struct sockaddr *addr, socklen_t *addr_len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	NET_IO(fd, REAL(__recvfrom_chk)(fd, buf, len, buf_len, flags, addr,
					addr_len),
	       net_received(s_, &iov, 1, ret_, len, flags));
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	NET_IO(fd, REAL(recvmsg)(fd, msg, flags),
	       net_received(s_, msg->msg_iov, (int)msg->msg_iovlen, ret_,
			    net_iov_total(msg->msg_iov, (int)msg->msg_iovlen),
			    flags));
}

SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen,
			 int flags)
{
	struct phi_socket *s = netstate_get(fd);
	int ret, saved_errno;

	if (s == NULL)
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	ret = REAL(sendmmsg)(fd, vec, vlen, flags);
	saved_errno = errno;
	for (int i = 0; i < ret; i++)
		netstate_data(s, NET_SENT, vec[i].msg_hdr.msg_iov,
			      (int)vec[i].msg_hdr.msg_iovlen, vec[i].msg_len);
	netstate_put(s);
	errno = saved_errno;
	return ret;
}

SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen,
			 int flags, struct timespec *timeout)
{
	struct phi_socket *s = netstate_get(fd);
	int ret, saved_errno;

	if (s == NULL)
		return REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	ret = REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	saved_errno = errno;
	for (int i = 0; i < ret && !(flags & MSG_PEEK); i++)
		netstate_data(s, NET_RECEIVED, vec[i].msg_hdr.msg_iov,
			      (int)vec[i].msg_hdr.msg_iovlen, vec[i].msg_len);
	netstate_put(s);
	errno = saved_errno;
	return ret;
}

SHIM_EXPORT int shutdown(int fd, int how)
{
	struct phi_socket *s = netstate_get(fd);
	int ret, saved_errno;

	if (s == NULL)
		return REAL(shutdown)(fd, how);
	ret = REAL(shutdown)(fd, how);
	saved_errno = errno;
	if (ret == 0 && (how == SHUT_WR || how == SHUT_RDWR))
		netstate_end(s, NET_SENT);
	if (ret == 0 && (how == SHUT_RD || how == SHUT_RDWR))
		netstate_end(s, NET_RECEIVED);
	netstate_put(s);
	errno = saved_errno;
	return ret;
}

ssize_t net_sendfile_after(int out_fd, int in_fd, int64_t offset_after,
			   ssize_t n)
{
	unsigned char buf[NET_CHUNK];
	struct phi_socket *s;
	int saved_errno = errno;
	off_t at;
	size_t left;

	if (n <= 0 || (s = netstate_get(out_fd)) == NULL)
		return n;
	if (offset_after < 0)
		offset_after = lseek(in_fd, 0, SEEK_CUR);
	at = (off_t)offset_after - n;
	left = (size_t)n;
	if (s->detector < 0 || offset_after < 0 || at < 0 || left > NET_SENDFILE_MAX) {
		netstate_data(s, NET_SENT, NULL, 0, left);
		if (s->detector >= 0 && s->stopped[NET_SENT] == NULL)
			s->stopped[NET_SENT] = "sendfile bytes could not be read back";
		goto out;
	}
	while (left > 0) {
		ssize_t got = REAL(pread)(in_fd, buf, left < sizeof(buf) ? left : sizeof(buf), at);

		if (got <= 0) {
			netstate_data(s, NET_SENT, NULL, 0, left);
			if (s->stopped[NET_SENT] == NULL)
				s->stopped[NET_SENT] = "sendfile bytes could not be read back";
			break;
		}
		netstate_data_buffer(s, NET_SENT, buf, (size_t)got);
		at += got;
		left -= (size_t)got;
	}
out:
	netstate_put(s);
	errno = saved_errno;
	return n;
}
