/*
 * test_privsep_adopt.c - the frames between phitraild's privileged parent
 * and its store process (common/protocol/privsep.h, privsep_adopt.c;
 * collector/broker.c): ADOPT, OPEN, RESOLVE, EXE and UNAUDITED bodies at every limit and
 * one past it, names that would leave their directory, short and trailing
 * bodies, another type; then real frames over a SOCK_SEQPACKET pair with
 * and without a descriptor, and a frame carrying two descriptors refused
 * with both closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "privsep.h"
#include "unit.h"

static struct privsep_adopt full_adopt(void)
{
	struct privsep_adopt a;

	memset(&a, 0, sizeof(a));
	a.where = PRIVSEP_WHERE_INCOMING;
	a.flags = 0x11;
	a.pid = 4242;
	a.ppid = 1;
	a.uid = 1000;
	a.gid = 1000;
	a.auid = INT64_MIN;
	a.session = -1;
	a.start_time_ticks = 123456789012345ull;
	memset(a.name, 'n', PRIVSEP_MAX_NAME);
	a.exe[0] = '/';
	memset(a.exe + 1, 'e', PRIVSEP_MAX_EXE - 1);
	memset(a.actor, 'a', PRIVSEP_MAX_ACTOR);
	memset(a.kind, 'k', PRIVSEP_MAX_KIND);
	return a;
}

static int decode_adopt(const unsigned char *body, size_t len, struct privsep_adopt *out)
{
	struct privsep_frame f = { .type = PRIVSEP_ADOPT, .body = body, .len = len };

	return privsep_adopt_decode(&f, out);
}

static void test_adopt_limits(void)
{
	static struct privsep_adopt a, back;
	static unsigned char body[PRIVSEP_MAX_BODY + 1];
	int len;

	a = full_adopt();
	len = privsep_adopt_encode(&a, body, sizeof(body));
	CHECK_INT(len, PRIVSEP_ADOPT_FIXED + PRIVSEP_MAX_NAME + PRIVSEP_MAX_EXE +
		  PRIVSEP_MAX_ACTOR + PRIVSEP_MAX_KIND);
	CHECK(len <= PRIVSEP_MAX_BODY);
	CHECK_INT(decode_adopt(body, (size_t)len, &back), 0);
	CHECK(memcmp(&a, &back, sizeof(a)) == 0);
	CHECK_INT(decode_adopt(body, (size_t)len - 1, &back), -EBADMSG);   /* short */
	CHECK_INT(decode_adopt(body, (size_t)len + 1, &back), -EBADMSG);   /* trailing */
	CHECK_INT(decode_adopt(body, PRIVSEP_ADOPT_FIXED - 1, &back), -EBADMSG);
	CHECK_INT(privsep_adopt_encode(&a, body, (size_t)len - 1), -EMSGSIZE);

	/* one past each string's limit */
	a.exe[PRIVSEP_MAX_EXE] = 'e';
	CHECK_INT(privsep_adopt_encode(&a, body, sizeof(body)), -ENAMETOOLONG);
	a = full_adopt();
	len = privsep_adopt_encode(&a, body, sizeof(body));
	body[62] = (PRIVSEP_MAX_EXE + 1) & 0xff;        /* E one past, the byte there */
	body[63] = (PRIVSEP_MAX_EXE + 1) >> 8;
	CHECK_INT(decode_adopt(body, (size_t)len + 1, &back), -EBADMSG);
	a = full_adopt();
	len = privsep_adopt_encode(&a, body, sizeof(body));
	body[64] = PRIVSEP_MAX_ACTOR + 1;
	CHECK_INT(decode_adopt(body, (size_t)len + 1, &back), -EBADMSG);
	body[64] = PRIVSEP_MAX_ACTOR;
	body[65] = PRIVSEP_MAX_KIND + 1;
	CHECK_INT(decode_adopt(body, (size_t)len + 1, &back), -EBADMSG);
	body[65] = 0;                                   /* a kind is required */
	CHECK_INT(decode_adopt(body, (size_t)len - PRIVSEP_MAX_KIND, &back), -EBADMSG);
	body[65] = PRIVSEP_MAX_KIND;
	body[0] = 2;                                    /* neither folder */
	CHECK_INT(decode_adopt(body, (size_t)len, &back), -EBADMSG);
}

static void test_adopt_names(void)
{
	static const char *const bad[] = { ".", "..", "a/b", "/etc" };
	static struct privsep_adopt a, back;
	static unsigned char body[PRIVSEP_MAX_BODY];
	struct privsep_frame f;
	size_t i;
	int len;

	a = full_adopt();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(a.name, bad[i]);
		CHECK_INT(privsep_adopt_encode(&a, body, sizeof(body)), -EINVAL);
	}
	strcpy(a.name, "x.spool");
	len = privsep_adopt_encode(&a, body, sizeof(body));
	CHECK(len > 0);
	body[PRIVSEP_ADOPT_FIXED + 1] = '/';            /* "x/spool" on the wire */
	CHECK_INT(decode_adopt(body, (size_t)len, &back), -EBADMSG);
	body[PRIVSEP_ADOPT_FIXED + 1] = '\0';
	CHECK_INT(decode_adopt(body, (size_t)len, &back), -EBADMSG);
	body[PRIVSEP_ADOPT_FIXED + 1] = '.';
	CHECK_INT(decode_adopt(body, (size_t)len, &back), 0);
	CHECK_STR(back.name, "x.spool");
	body[1] = 0;                                    /* an empty name */
	CHECK_INT(decode_adopt(body, (size_t)len - 7, &back), -EBADMSG);
	f.type = PRIVSEP_OPEN;
	f.body = body;
	f.len = (size_t)len;
	CHECK_INT(privsep_adopt_decode(&f, &back), -EPROTO);
}

static void test_open_limits(void)
{
	char name[PRIVSEP_MAX_NAME + 2], back[PRIVSEP_MAX_NAME + 1];
	unsigned char body[PRIVSEP_MAX_NAME + 2];
	struct privsep_frame f = { .type = PRIVSEP_OPEN, .body = body };
	uint8_t where = 9;
	int len;

	memset(name, 'o', PRIVSEP_MAX_NAME);
	name[PRIVSEP_MAX_NAME] = '\0';
	len = privsep_open_encode(PRIVSEP_WHERE_ACTIVE, name, body, sizeof(body));
	CHECK_INT(len, 1 + PRIVSEP_MAX_NAME);
	f.len = (size_t)len;
	CHECK_INT(privsep_open_decode(&f, &where, back), 0);
	CHECK_INT(where, PRIVSEP_WHERE_ACTIVE);
	CHECK_STR(back, name);
	name[PRIVSEP_MAX_NAME] = 'o';                   /* one past */
	name[PRIVSEP_MAX_NAME + 1] = '\0';
	CHECK_INT(privsep_open_encode(0, name, body, sizeof(body)), -EINVAL);
	body[PRIVSEP_MAX_NAME + 1] = 'o';
	f.len = PRIVSEP_MAX_NAME + 2;
	CHECK_INT(privsep_open_decode(&f, &where, back), -EBADMSG);
	CHECK_INT(privsep_open_encode(0, "..", body, sizeof(body)), -EINVAL);
	memcpy(body, "\001..", 3);
	f.len = 3;
	CHECK_INT(privsep_open_decode(&f, &where, back), -EBADMSG);
	memcpy(body, "\002ab", 3);
	CHECK_INT(privsep_open_decode(&f, &where, back), -EBADMSG);
	f.len = 1;
	CHECK_INT(privsep_open_decode(&f, &where, back), -EBADMSG);
}

static void test_unaudited_limits(void)
{
	static struct privsep_unaudited u, back;
	static unsigned char body[PRIVSEP_MAX_BODY];
	struct privsep_frame f = { .type = PRIVSEP_UNAUDITED, .body = body };
	int len;

	memset(&u, 0, sizeof(u));
	u.uid = 1000;
	u.pid = 77;
	u.count = 3;
	u.last_ns = 1700000000000000000;
	memset(u.exe, 'x', PRIVSEP_MAX_TEXT);
	memset(u.reason, 'r', PRIVSEP_MAX_TEXT);
	len = privsep_unaudited_encode(&u, body, sizeof(body));
	CHECK_INT(len, PRIVSEP_UNAUDITED_FIXED + 2 * PRIVSEP_MAX_TEXT);
	f.len = (size_t)len;
	CHECK_INT(privsep_unaudited_decode(&f, &back), 0);
	CHECK(memcmp(&u, &back, sizeof(u)) == 0);
	f.len = (size_t)len + 1;
	CHECK_INT(privsep_unaudited_decode(&f, &back), -EBADMSG);
	body[32] = 0;                                   /* E = 256: one past */
	body[33] = 1;
	f.len = (size_t)len + 1;
	CHECK_INT(privsep_unaudited_decode(&f, &back), -EBADMSG);
	u.exe[PRIVSEP_MAX_TEXT] = 'x';
	CHECK_INT(privsep_unaudited_encode(&u, body, sizeof(body)), -EINVAL);
	u.exe[0] = '\0';
	CHECK_INT(privsep_unaudited_encode(&u, body, sizeof(body)), -EINVAL);
}

static void test_resolve_and_exe_limits(void)
{
	unsigned char handle[PRIVSEP_MAX_HANDLE + 1], body[PRIVSEP_RESOLVE_FIXED +
							   PRIVSEP_MAX_HANDLE + 1];
	struct privsep_frame f = { .type = PRIVSEP_RESOLVE, .body = body };
	const unsigned char *back;
	uint64_t start = 0;
	int32_t type = 0, pid = 0;
	size_t n = 0;
	int len;

	memset(handle, 0xab, sizeof(handle));
	len = privsep_resolve_encode(-3, handle, PRIVSEP_MAX_HANDLE, body, sizeof(body));
	CHECK_INT(len, PRIVSEP_RESOLVE_FIXED + PRIVSEP_MAX_HANDLE);
	f.len = (size_t)len;
	CHECK_INT(privsep_resolve_decode(&f, &type, &back, &n), 0);
	CHECK_INT(type, -3);
	CHECK_INT(n, PRIVSEP_MAX_HANDLE);
	CHECK(back == body + PRIVSEP_RESOLVE_FIXED);
	CHECK_INT(privsep_resolve_encode(1, handle, PRIVSEP_MAX_HANDLE + 1, body,
					 sizeof(body)), -EINVAL);
	CHECK_INT(privsep_resolve_encode(1, handle, 0, body, sizeof(body)), -EINVAL);
	body[4] = PRIVSEP_MAX_HANDLE + 1;               /* n one past, the byte there */
	f.len = PRIVSEP_RESOLVE_FIXED + PRIVSEP_MAX_HANDLE + 1;
	CHECK_INT(privsep_resolve_decode(&f, &type, &back, &n), -EBADMSG);
	body[4] = PRIVSEP_MAX_HANDLE;
	CHECK_INT(privsep_resolve_decode(&f, &type, &back, &n), -EBADMSG);   /* trailing */

	f.type = PRIVSEP_EXE;
	privsep_exe_encode(4242, 99, body);
	f.len = PRIVSEP_EXE_BYTES;
	CHECK_INT(privsep_exe_decode(&f, &pid, &start), 0);
	CHECK_INT(pid, 4242);
	CHECK_INT(start, 99);
	f.len = PRIVSEP_EXE_BYTES - 1;
	CHECK_INT(privsep_exe_decode(&f, &pid, &start), -EBADMSG);
	f.len = PRIVSEP_EXE_BYTES + 1;
	CHECK_INT(privsep_exe_decode(&f, &pid, &start), -EBADMSG);
	privsep_exe_encode(0, 99, body);                /* no pid 0 */
	f.len = PRIVSEP_EXE_BYTES;
	CHECK_INT(privsep_exe_decode(&f, &pid, &start), -EBADMSG);
	f.type = PRIVSEP_OPEN;
	CHECK_INT(privsep_exe_decode(&f, &pid, &start), -EPROTO);
}

static void test_descriptors(void)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} control;
	unsigned char frame[PRIVSEP_MAX_FRAME];
	struct iovec iov = { .iov_base = frame };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct privsep_frame f;
	struct cmsghdr *c;
	int sv[2], fds[2], fd = -1;
	size_t n = 0;

	CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_INT(broker_recv(sv[1], 0, buf, &f, &fd), -ETIMEDOUT);
	CHECK_INT(broker_send(sv[0], PRIVSEP_DONE, NULL, 0, -1), 0);
	CHECK_INT(broker_recv(sv[1], 1000, buf, &f, &fd), 0);
	CHECK_INT(f.type, PRIVSEP_DONE);
	CHECK_INT(fd, -1);
	CHECK_INT(broker_send(sv[0], PRIVSEP_OPENED, NULL, 0, 0), 0);   /* stdin */
	CHECK_INT(broker_recv(sv[1], 1000, buf, &f, &fd), 0);
	CHECK(fd > 2 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
	close(fd);

	/* Two descriptors in one frame: refused, neither kept. */
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(privsep_frame_encode(PRIVSEP_OPENED, NULL, 0, frame, sizeof(frame), &n),
		  0);
	iov.iov_len = n;
	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	CHECK_INT(sendmsg(sv[0], &msg, 0), (ssize_t)n);
	close(fds[0]);
	CHECK_INT(broker_recv(sv[1], 1000, buf, &f, &fd), -EBADMSG);
	CHECK_INT(fd, -1);
	/* Both copies closed: the pipe's read end is gone, writing fails. */
	CHECK(write(fds[1], "x", 1) < 0 && errno == EPIPE);
	close(fds[1]);

	close(sv[0]);
	CHECK_INT(broker_recv(sv[1], 1000, buf, &f, &fd), -EPIPE);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_adopt_limits);
	RUN(test_adopt_names);
	RUN(test_open_limits);
	RUN(test_unaudited_limits);
	RUN(test_resolve_and_exe_limits);
	RUN(test_descriptors);
	return unit_done();
}
