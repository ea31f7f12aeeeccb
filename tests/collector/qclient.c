/*
 * qclient.c - a minimal client of the query socket for testing phitraild
 * without the CLI: one request, every answer frame printed as one line.
 *
 *   qclient SOCKET [count] [patient=P] [actor=A] [event=E]... [since=NS]
 *           [until=NS] [after=ID] [limit=N] [desc] [target=GLOB] [pid=N]
 *           [host=H] [exe=X] [rule=R] [result=R] [failed] [raw=HEX]
 * Prints "id|event|patient|actor|pid|seq|identity|target" per record and
 * "end N" or "error MESSAGE"; exits 0 on an end frame, 3 on an error frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "query.h"
#include "record.h"

static int read_exact(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct query_request q;
	static unsigned char buf[QUERY_MAX_FRAME];
	static char arena[RECORD_ARENA_BYTES];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	unsigned char head[4];
	long len = -1;
	int fd, i;

	if (argc < 2)
		return 2;
	query_request_init(&q);
	q.op = QUERY_OP_QUERY;
	for (i = 2; i < argc; i++) {
		char *a = argv[i], *v = strchr(a, '=');

		if (v)
			v++;
		if (!strcmp(a, "count")) q.op = QUERY_OP_COUNT;
		else if (!strcmp(a, "desc")) q.descending = 1;
		else if (!strcmp(a, "failed")) q.failed_only = 1;
		else if (!strncmp(a, "patient=", 8)) strlcpy(q.patient, v, sizeof(q.patient));
		else if (!strncmp(a, "actor=", 6)) strlcpy(q.actor, v, sizeof(q.actor));
		else if (!strncmp(a, "target=", 7)) strlcpy(q.target, v, sizeof(q.target));
		else if (!strncmp(a, "host=", 5)) strlcpy(q.host, v, sizeof(q.host));
		else if (!strncmp(a, "exe=", 4)) strlcpy(q.exe, v, sizeof(q.exe));
		else if (!strncmp(a, "rule=", 5)) strlcpy(q.rule, v, sizeof(q.rule));
		else if (!strncmp(a, "result=", 7)) strlcpy(q.result, v, sizeof(q.result));
		else if (!strncmp(a, "event=", 6)) strlcpy(q.events[q.event_count++], v, 64);
		else if (!strncmp(a, "since=", 6)) q.since_ns = atoll(v);
		else if (!strncmp(a, "until=", 6)) q.until_ns = atoll(v);
		else if (!strncmp(a, "after=", 6)) q.after_id = atoll(v);
		else if (!strncmp(a, "limit=", 6)) q.limit = atoll(v);
		else if (!strncmp(a, "pid=", 4)) q.pid = atoll(v);
		else if (!strncmp(a, "raw=", 4)) {
			for (len = 0; v[2 * len] && v[2 * len + 1]; len++)
				sscanf(v + 2 * len, "%2hhx", &buf[len]);
		} else {
			fprintf(stderr, "qclient: %s?\n", a);
			return 2;
		}
	}
	if (len < 0)
		len = query_request_encode(&q, buf, sizeof(buf));
	if (len < 0)
		return 2;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strlcpy(addr.sun_path, argv[1], sizeof(addr.sun_path));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("qclient: connect");
		return 1;
	}
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	if (write(fd, head, 4) != 4 || write(fd, buf, (size_t)len) != len)
		return 1;
	for (;;) {
		uint32_t n;
		int64_t count;
		char message[512];
		struct record r;
		const char *why;
		int kind;

		if (read_exact(fd, head, 4) < 0) {
			fprintf(stderr, "qclient: connection ended without end frame\n");
			return 1;
		}
		n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
		    (uint32_t)head[2] << 8 | head[3];
		if (n == 0 || n > QUERY_MAX_FRAME || read_exact(fd, buf, n) < 0)
			return 1;
		kind = query_response_kind(buf, n, &count, message, sizeof(message));
		if (kind == 0) {
			printf("end %lld\n", (long long)count);
			return 0;
		}
		if (kind == -1) {
			printf("error %s\n", message);
			return 3;
		}
		if (record_decode(buf, n, &r, arena, sizeof(arena), &why) < 0) {
			printf("undecodable record: %s\n", why);
			return 1;
		}
		printf("%lld|%s|%s|%s|%lld|%lld|%s|%s\n", (long long)r.id,
		       event_type_name(r.event_type), r.end_user_id ? r.end_user_id : "",
		       r.actor_user_id, (long long)r.pid, (long long)r.seq,
		       r.identity ? r.identity : "", r.target ? r.target : "");
	}
}
