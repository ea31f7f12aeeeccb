/*
 * query_server.c - the query socket and its clients.
 *
 * Owns the listening SOCK_STREAM socket and one request per connection:
 * who may ask (SO_PEERCRED: root, the collector's uid, or a member of the
 * configured auditors group via getgrnam and getgrouplist, checked when
 * the request is answered), and reading one frame of at most
 * QUERY_MAX_REQUEST bytes without blocking, as it arrives, whole within
 * QUERY_SERVER_READ_TIMEOUT_MS of the connect (at most
 * QUERY_SERVER_MAX_PENDING such connections, and QUERY_SERVER_MAX_PER_UID
 * of one uid: more are answered "busy" and closed, so held connections
 * never stall ingest or shut out another user). A whole request is handed
 * to query_answer.c, which answers it (and has it audited by
 * query_audit.c); the connection is closed after.
 * Must never read an unbounded length, nor block on a client before its
 * request is whole.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "loop.h"
#include "query.h"
#include "query_answer.h"
#include "query_audit.h"
#include "query_server.h"
#include "status_report.h"

/* A connection whose request is still arriving. */
struct pending_request {
	struct loop_watch watch;       /* watch.fd < 0: slot free */
	int64_t deadline_ms;
	uid_t uid;
	size_t have;                   /* bytes of buf read so far */
	unsigned char buf[4 + QUERY_MAX_REQUEST];
};

static struct {
	const struct config *cfg;
	struct pending_request pending[QUERY_SERVER_MAX_PENDING];
	struct loop_watch listener;
} Q = { .listener = { .fd = -1 } };

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

static void pending_close(struct pending_request *c)
{
	loop_close(&c->watch);
}

/* Reads what has arrived; a whole request is answered and c closed. */
static void pending_read(struct pending_request *c)
{
	for (;;) {
		size_t want = c->have < 4 ? 4 : 4 + ((uint32_t)c->buf[0] << 24 |
			(uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 | c->buf[3]);
		ssize_t n;

		if (c->have == 4 && (want == 4 || want > 4 + QUERY_MAX_REQUEST)) {
			query_answer_refuse(c->watch.fd, "bad request: frame length out of range");
			pending_close(c);
			return;
		}
		if (c->have >= 4 && c->have == want) {
			query_answer_request(c->watch.fd, c->buf + 4, (uint32_t)(want - 4));
			pending_close(c);
			return;
		}
		n = recv(c->watch.fd, c->buf + c->have, want - c->have, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;                    /* more later, or the deadline */
		if (n <= 0) {
			pending_close(c);
			return;
		}
		c->have += (size_t)n;
	}
}

static void on_pending(struct loop_watch *w, uint32_t events)
{
	(void)events;
	pending_read(w->context);
}

void query_server_tick(void)
{
	int64_t now = loop_now_ms();
	size_t i;

	for (i = 0; i < QUERY_SERVER_MAX_PENDING; i++) {
		struct pending_request *c = &Q.pending[i];

		if (c->watch.fd >= 0 && now >= c->deadline_ms) {
			query_answer_refuse(c->watch.fd, "bad request: no complete frame in time");
			pending_close(c);
		}
	}
}

/* A free slot for a connection of uid, or NULL (full, or uid holds its share). */
static struct pending_request *pending_slot(uid_t uid)
{
	struct pending_request *free_slot = NULL;
	size_t i, of_uid = 0;

	for (i = 0; i < QUERY_SERVER_MAX_PENDING; i++) {
		struct pending_request *c = &Q.pending[i];

		if (c->watch.fd < 0) {
			if (free_slot == NULL)
				free_slot = c;
		} else if (c->uid == uid) {
			of_uid++;
		}
	}
	return of_uid < QUERY_SERVER_MAX_PER_UID ? free_slot : NULL;
}

static void on_listener(struct loop_watch *w, uint32_t events)
{
	int fd, served = 0;

	(void)events;
	/* A few per round, so ingest is never starved. */
	while (served++ < QUERY_SERVER_MAX_PENDING &&
	       (fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct ucred cred = { .uid = (uid_t)-1 };
		socklen_t len = sizeof(cred);
		struct pending_request *c;

		(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
		c = pending_slot(cred.uid);
		if (c == NULL) {
			query_answer_refuse(fd, "busy: too many requests not yet whole; try again");
			close(fd);
			continue;
		}
		c->watch.fd = fd;
		c->watch.handler = on_pending;
		c->watch.context = c;
		c->deadline_ms = loop_now_ms() + QUERY_SERVER_READ_TIMEOUT_MS;
		c->uid = cred.uid;
		c->have = 0;
		if (loop_add(&c->watch, EPOLLIN | EPOLLRDHUP) < 0) {
			close(fd);
			c->watch.fd = -1;
			continue;
		}
		pending_read(c);      /* the request often comes with the connect */
	}
}

int query_server_start(const struct config *cfg, struct store *st)
{
	Q.cfg = cfg;
	status_report_start(cfg, st);
	query_answer_start(cfg, st);
	query_audit_start(cfg);
	for (size_t i = 0; i < QUERY_SERVER_MAX_PENDING; i++)
		Q.pending[i].watch.fd = -1;
	Q.listener.handler = on_listener;
	return loop_listen_unix(&Q.listener, cfg->query_socket_path, SOCK_STREAM, 64,
				"query socket");
}

void query_server_stop(void)
{
	if (Q.listener.fd < 0)
		return;
	for (size_t i = 0; i < QUERY_SERVER_MAX_PENDING; i++)
		pending_close(&Q.pending[i]);
	loop_close(&Q.listener);
	if (Q.cfg != NULL)
		(void)unlink(Q.cfg->query_socket_path);
}
