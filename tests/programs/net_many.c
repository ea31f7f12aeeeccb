/*
 * net_many.c N - holds N TCP connections to its own loopback listener
 * open at once, and sends on connection i one MLLP-framed HL7 message
 * whose PID-3 is 1000+i; then closes them all (in order) and checks that
 * the listener's side of each received its message intact. Prints the
 * listener's port first. Exits 77 when the descriptor limit cannot hold
 * 2N+8 descriptors, 0 when every message arrived.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int message(char *buf, size_t size, int i)
{
	return snprintf(buf, size,
			"\013MSH|^~\\&|A|B|C|D|202611281447||ADT^A08|M%d|P|2.5\r"
			"PID|1||%d^^^HOSP^MR||DOE^JANE\r\034\r", i, 1000 + i);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct rlimit rl;
	int listener, *client, *server;
	char buf[256], got[256];

	if (n <= 0)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	if (rl.rlim_cur < (rlim_t)(2 * n + 8)) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur < (rlim_t)(2 * n + 8) || setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 77;
	}
	client = calloc((size_t)n, sizeof(int));
	server = calloc((size_t)n, sizeof(int));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (client == NULL || server == NULL || listener < 0 ||
	    bind(listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(listener, 64) != 0 ||
	    getsockname(listener, (struct sockaddr *)&sa, &len) != 0)
		return 3;
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int m = message(buf, sizeof(buf), i);

		client[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (client[i] < 0 ||
		    connect(client[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    (server[i] = accept(listener, NULL, NULL)) < 0 ||
		    send(client[i], buf, (size_t)m, 0) != m)
			return 4;
	}
	for (int i = 0; i < n; i++)
		close(client[i]);
	for (int i = 0; i < n; i++) {
		int m = message(buf, sizeof(buf), i);
		ssize_t r = recv(server[i], got, sizeof(got), MSG_WAITALL);

		if (r != m || memcmp(buf, got, (size_t)m) != 0)
			return 5;
		close(server[i]);
	}
	return 0;
}
