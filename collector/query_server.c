/*
 * query_server.c - the query socket: access control and streaming answers.
 *
 * Owns the listening SOCK_STREAM socket and one request per connection:
 * the peer's uid is checked (SO_PEERCRED: root, the collector's uid, or a
 * member of the configured auditors group via getgrnam and getgrouplist),
 * one frame of at most QUERY_MAX_REQUEST bytes is read within
 * QUERY_SERVER_READ_TIMEOUT_MS, decoded with query_request_decode, run by
 * store_query, and answered with one frame per record and the end frame.
 * Sending is bounded by SO_SNDTIMEO: a client that stops reading loses its
 * answer, ingest only waits (its data is safe in the spool files).
 * Must never read an unbounded length, and never build SQL itself.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "loop.h"
#include "query.h"
#include "query_server.h"

#define SEND_BUFFER_BYTES 65536

static struct {
	const struct config *cfg;
	struct store *store;
	struct loop_watch listener;
	struct query_server_counters counters;
} Q = { .listener = { .fd = -1 } };

/* Answer frames are gathered here and sent in large writes. */
struct answer {
	int sock;
	int failed;
	size_t used;
	unsigned char buf[SEND_BUFFER_BYTES];
};

static int send_all(int sock, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int answer_flush(struct answer *a)
{
	int rc = 0;

	if (!a->failed && a->used > 0)
		rc = send_all(a->sock, a->buf, a->used);
	if (rc < 0)
		a->failed = 1;
	a->used = 0;
	return rc;
}

static int answer_frame(struct answer *a, const void *bytes, size_t len)
{
	unsigned char head[4];

	if (len == 0 || len > QUERY_MAX_FRAME)
		return -EMSGSIZE;
	head[0] = (unsigned char)(len >> 24);
	head[1] = (unsigned char)(len >> 16);
	head[2] = (unsigned char)(len >> 8);
	head[3] = (unsigned char)len;
	if (a->used + 4 + len > sizeof(a->buf) && answer_flush(a) < 0)
		return -EPIPE;
	if (4 + len > sizeof(a->buf)) {
		if (send_all(a->sock, head, 4) < 0 || send_all(a->sock, bytes, len) < 0) {
			a->failed = 1;
			return -EPIPE;
		}
		return 0;
	}
	memcpy(a->buf + a->used, head, 4);
	memcpy(a->buf + a->used + 4, bytes, len);
	a->used += 4 + len;
	return 0;
}

static int emit_record(void *context, const void *bytes, size_t len)
{
	return answer_frame(context, bytes, len) < 0 ? -EPIPE : 0;
}

static void answer_error(struct answer *a, const char *message)
{
	unsigned char buf[1024];
	long len = query_error_encode(message, buf, sizeof(buf));

	if (len > 0)
		(void)answer_frame(a, buf, (size_t)len);
	(void)answer_flush(a);
}

int query_server_allowed(uid_t uid, gid_t gid, const char *group)
{
	struct group *gr;
	struct passwd *pw;
	gid_t groups[256];
	int count = (int)(sizeof(groups) / sizeof(groups[0])), i;

	if (uid == 0 || uid == getuid())
		return 1;
	if (group == NULL || group[0] == '\0')
		return 0;
	gr = getgrnam(group);
	if (gr == NULL)
		return 0;
	if (gid == gr->gr_gid)
		return 1;
	pw = getpwuid(uid);
	if (pw == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &count) < 0)
		count = (int)(sizeof(groups) / sizeof(groups[0]));
	for (i = 0; i < count; i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* Reads exactly len bytes (the socket has a receive timeout). */
static int read_exact(int sock, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = recv(sock, p, len, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_timeout(int sock, int option, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };

	(void)setsockopt(sock, SOL_SOCKET, option, &tv, sizeof(tv));
}

static void serve(int sock)
{
	static struct answer a;
	static struct query_request q;
	unsigned char head[4], request[QUERY_MAX_REQUEST], end[64];
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	const char *why = NULL;
	char message[256];
	uint32_t len;
	int64_t count = 0;
	long end_len;
	int rc;

	a.sock = sock;
	a.failed = 0;
	a.used = 0;
	set_timeout(sock, SO_RCVTIMEO, QUERY_SERVER_READ_TIMEOUT_MS);
	set_timeout(sock, SO_SNDTIMEO, QUERY_SERVER_SEND_TIMEOUT_MS);
	if (read_exact(sock, head, 4) < 0)
		goto bad;
	len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
	      (uint32_t)head[2] << 8 | head[3];
	if (len == 0 || len > QUERY_MAX_REQUEST) {
		Q.counters.bad_request++;
		answer_error(&a, "bad request: frame length out of range");
		return;
	}
	if (read_exact(sock, request, len) < 0)
		goto bad;
	/* Checked after the request is read, so the client sees the answer. */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
	    !query_server_allowed(cred.uid, cred.gid, Q.cfg->auditors)) {
		Q.counters.denied++;
		snprintf(message, sizeof(message),
			 "permission denied: uid %u may not read the audit trail "
			 "(allowed: root, the collector's user%s%s)",
			 (unsigned)cred.uid, Q.cfg->auditors[0] ? ", group " : "",
			 Q.cfg->auditors);
		answer_error(&a, message);
		return;
	}
	if (query_request_decode(request, len, &q, &why) < 0) {
		Q.counters.bad_request++;
		snprintf(message, sizeof(message), "bad request: %s",
			 why ? why : "undecodable");
		answer_error(&a, message);
		return;
	}
	rc = store_query(Q.store, &q, emit_record, &a, &count, &why);
	if (rc == -EPIPE || a.failed) {
		Q.counters.failed++;
		return;               /* the client went away or stopped reading */
	}
	if (rc < 0) {
		Q.counters.failed++;
		snprintf(message, sizeof(message), "query failed: %s",
			 why ? why : strerror(-rc));
		answer_error(&a, message);
		return;
	}
	end_len = query_end_encode(count, end, sizeof(end));
	if (end_len > 0)
		(void)answer_frame(&a, end, (size_t)end_len);
	if (answer_flush(&a) == 0)
		Q.counters.served++;
	return;
bad:
	Q.counters.bad_request++;
	answer_error(&a, "bad request: no complete frame in time");
}

static void on_listener(struct loop_watch *w, uint32_t events)
{
	int fd, served = 0;

	(void)events;
	/* A few per round, so ingest is never starved. */
	while (served++ < 8 && (fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve(fd);
		close(fd);
	}
}

int query_server_start(const struct config *cfg, struct store *st)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, rc;

	Q.cfg = cfg;
	Q.store = st;
	if (strlcpy(addr.sun_path, cfg->query_socket_path, sizeof(addr.sun_path)) >=
	    sizeof(addr.sun_path)) {
		daemon_error("query socket path %s is too long", cfg->query_socket_path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(cfg->query_socket_path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(cfg->query_socket_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(cfg->query_socket_path, 0666) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		daemon_error("cannot listen on %s: %s", cfg->query_socket_path,
			     strerror(errno));
		close(fd);
		return rc;
	}
	Q.listener.fd = fd;
	Q.listener.handler = on_listener;
	rc = loop_add(&Q.listener, EPOLLIN);
	if (rc < 0) {
		close(fd);
		Q.listener.fd = -1;
	}
	return rc;
}

void query_server_stop(void)
{
	if (Q.listener.fd < 0)
		return;
	loop_remove(&Q.listener);
	close(Q.listener.fd);
	Q.listener.fd = -1;
	if (Q.cfg != NULL)
		(void)unlink(Q.cfg->query_socket_path);
}

const struct query_server_counters *query_server_counters(void)
{
	return &Q.counters;
}
