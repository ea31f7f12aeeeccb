/*
 * net_mmsg.c - two connected UDP sockets on loopback exchange datagrams
 * with sendmmsg and recvmmsg: a sends 3 datagrams (10, 20, 30 bytes, the
 * last one in two iovecs) in one sendmmsg, b receives them with one
 * recvmmsg (waiting for all), then b sends 2 (5, 7 bytes) back the same
 * way. Prints "ports A B" first; exits 0 when every byte arrived intact.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int udp_bound(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) != 0)
		return -1;
	return fd;
}

/* Sends n datagrams of sizes[i] bytes of fill+i; the last split in two. */
static int send_some(int fd, const int *sizes, int n, char fill)
{
	static char buf[8][64];
	struct iovec iov[8][2];
	struct mmsghdr vec[8];

	memset(vec, 0, sizeof(vec));
	for (int i = 0; i < n; i++) {
		int half = i == n - 1 ? sizes[i] / 2 : sizes[i];

		memset(buf[i], fill + i, (size_t)sizes[i]);
		iov[i][0] = (struct iovec){ buf[i], (size_t)half };
		iov[i][1] = (struct iovec){ buf[i] + half, (size_t)(sizes[i] - half) };
		vec[i].msg_hdr.msg_iov = iov[i];
		vec[i].msg_hdr.msg_iovlen = half == sizes[i] ? 1 : 2;
	}
	return sendmmsg(fd, vec, (unsigned)n, 0) == n ? 0 : -1;
}

static int receive_some(int fd, const int *sizes, int n, char fill)
{
	static char buf[8][64];
	struct iovec iov[8];
	struct mmsghdr vec[8];

	memset(vec, 0, sizeof(vec));
	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		vec[i].msg_hdr.msg_iov = &iov[i];
		vec[i].msg_hdr.msg_iovlen = 1;
	}
	if (recvmmsg(fd, vec, (unsigned)n, MSG_WAITFORONE, NULL) < 1)
		return -1;
	/* MSG_WAITFORONE may return early: take the rest one call at a time */
	for (int i = 0; i < n; i++) {
		if (vec[i].msg_len == 0 &&
		    recvmmsg(fd, &vec[i], 1, 0, NULL) != 1)
			return -1;
		if ((int)vec[i].msg_len != sizes[i])
			return -1;
		for (int j = 0; j < sizes[i]; j++)
			if (buf[i][j] != fill + i)
				return -1;
	}
	return 0;
}

int main(void)
{
	static const int ab[] = { 10, 20, 30 }, ba[] = { 5, 7 };
	struct sockaddr_in sa, sb;
	int a = udp_bound(&sa), b = udp_bound(&sb);

	if (a < 0 || b < 0)
		return 2;
	printf("ports %d %d\n", ntohs(sa.sin_port), ntohs(sb.sin_port));
	fflush(stdout);
	if (connect(a, (struct sockaddr *)&sb, sizeof(sb)) != 0 ||
	    connect(b, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 3;
	if (send_some(a, ab, 3, 'a') != 0 || receive_some(b, ab, 3, 'a') != 0)
		return 4;
	if (send_some(b, ba, 2, 'x') != 0 || receive_some(a, ba, 2, 'x') != 0)
		return 5;
	close(a);
	close(b);
	return 0;
}
