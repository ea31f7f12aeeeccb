/*
 * query_server.c - the query socket: access control and streaming answers.
 *
 * Owns the listening SOCK_STREAM socket and one request per connection:
 * the peer's uid is checked (SO_PEERCRED: root, the collector's uid, or a
 * member of the configured auditors group via getgrnam and getgrouplist),
 * one frame of at most QUERY_MAX_REQUEST bytes is read without blocking, as
 * it arrives, and must be whole within QUERY_SERVER_READ_TIMEOUT_MS of the
 * connect (at most QUERY_SERVER_MAX_PENDING such connections, and
 * QUERY_SERVER_MAX_PER_UID of one uid: more are answered "busy" and
 * closed, so held connections never stall ingest or shut out another
 * user), decoded with query_request_decode, run by store_query, and
 * answered with one frame per record and the end frame. Sending is
 * bounded by QUERY_SERVER_SEND_TIMEOUT_MS of waiting in send() for the
 * whole answer: a client
 * that stops reading loses its answer, ingest only waits that long (its
 * data is safe in the spool files).
 * "stats" requests are answered by store_stats, one row frame per group;
 * "status" by status_report.c, "checkpoint" by checkpointer_sign.
 * Every decoded request, answered or refused, is itself audited: an
 * "Audit Trail Queried" record of the asking user (kernel credentials and
 * /proc, like any writer) with the filters, appended with group_append like
 * every other record, so it is hashed and sequenced the same way. It is
 * committed before the end frame is sent, unless a group of spool records
 * is open (then it commits with that group); a group that fails to commit
 * keeps it for the next one (group_commit.c). The same user asking the
 * same filters again within QUERY_AUDIT_REPEAT_MS (tail's polls, paging,
 * a script's retry loop) is recorded once.
 * Must never read an unbounded length, and never build SQL itself.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "checkpointer.h"
#include "group_commit.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "own_record.h"
#include "query.h"
#include "query_server.h"
#include "status.h"
#include "status_report.h"

#define SEND_BUFFER_BYTES 65536
#define AUDIT_FILTERS_MAX 3072         /* bytes of the filters text kept */
#define AUDIT_RECENT 32                /* remembered (user, filters) pairs */

struct audit_recent {
	uint64_t hash;                 /* FNV-1a of uid and normalized request */
	int64_t at_ms;                 /* monotonic; 0 = empty slot */
};

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
	int64_t send_waited_ns;        /* blocked in send() for this answer */
	int64_t send_bytes;            /* sent of this answer */
	struct store *store;
	struct loop_watch listener;
	struct query_server_counters counters;
	char host[256];
	char target[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct audit_recent recent[AUDIT_RECENT];
	size_t recent_next;
} Q = { .listener = { .fd = -1 } };

/* Answer frames are gathered here and sent in large writes. */
struct answer {
	int sock;
	int failed;
	size_t used;
	unsigned char buf[SEND_BUFFER_BYTES];
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * SO_SNDTIMEO bounds one call; the time spent blocked in send() for the
 * whole answer is bounded too: QUERY_SERVER_SEND_TIMEOUT_MS, plus one
 * second for every QUERY_SERVER_SEND_MIN_RATE bytes the client took. A
 * client that reads slower than that holds the collector at most a few
 * seconds; a large answer to a client that reads is never cut (the time
 * spent reading the store and encoding is not counted).
 */
static int send_all(int sock, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n;
		int64_t before;

		if (Q.send_waited_ns > (int64_t)QUERY_SERVER_SEND_TIMEOUT_MS * 1000000 +
		    Q.send_bytes * 1000000000 / QUERY_SERVER_SEND_MIN_RATE)
			return -ETIMEDOUT;
		before = monotonic_ns();
		n = send(sock, p, len, MSG_NOSIGNAL);
		Q.send_waited_ns += monotonic_ns() - before;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		Q.send_bytes += n;
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

static int emit_stats_row(void *context, const char *key, int64_t count)
{
	unsigned char buf[QUERY_MAX_STRING + 64];
	long len = query_stats_row_encode(key, count, buf, sizeof(buf));

	if (len < 0)
		return -EIO;
	return answer_frame(context, buf, (size_t)len) < 0 ? -EPIPE : 0;
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

static void set_timeout(int sock, int option, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };

	(void)setsockopt(sock, SOL_SOCKET, option, &tv, sizeof(tv));
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len-- > 0) {
		hash ^= *p++;
		hash *= UINT64_C(0x100000001b3);
	}
	return hash;
}

/*
 * 1 when this user asked these filters (paging and order aside) within
 * QUERY_AUDIT_REPEAT_MS and it was recorded then; else remembers it and 0.
 */
static int audit_is_repeat(uid_t uid, const struct query_request *q,
			   const char *result)
{
	static struct query_request normal;
	static unsigned char bytes[QUERY_MAX_REQUEST];
	uint64_t hash = UINT64_C(0xcbf29ce484222325);
	int64_t now = monotonic_ms();
	long len = -1;
	size_t i;

	if (q != NULL) {
		normal = *q;
		normal.after_id = QUERY_ABSENT;
		normal.limit = 0;
		normal.descending = 0;
		len = query_request_encode(&normal, bytes, sizeof(bytes));
	}
	hash = fnv1a(hash, &uid, sizeof(uid));
	hash = fnv1a(hash, result, strlen(result));
	if (len > 0)
		hash = fnv1a(hash, bytes, (size_t)len);
	for (i = 0; i < AUDIT_RECENT; i++)
		if (Q.recent[i].at_ms != 0 && Q.recent[i].hash == hash &&
		    now - Q.recent[i].at_ms < QUERY_AUDIT_REPEAT_MS)
			return 1;
	Q.recent[Q.recent_next].hash = hash;
	Q.recent[Q.recent_next].at_ms = now;
	Q.recent_next = (Q.recent_next + 1) % AUDIT_RECENT;
	return 0;
}

/* Appends "name=value; " to text (size bytes), cut when it does not fit. */
static void filters_add(char *text, size_t size, const char *name,
			const char *value)
{
	if (text[0] != '\0')
		strlcat(text, "; ", size);
	strlcat(text, name, size);
	strlcat(text, "=", size);
	strlcat(text, value, size);
}

static void filters_add_time(char *text, size_t size, const char *name,
			     int64_t ns)
{
	char value[64];
	struct tm tm;
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(value, sizeof(value), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(value, sizeof(value), "%lld ns", (long long)ns);
	else
		snprintf(value + strlen(value), sizeof(value) - strlen(value),
			 ".%09ldZ", frac);
	filters_add(text, size, name, value);
}

/* The request's filters as text for people: "patient=4711; actor=alice". */
static void filters_text(const struct query_request *q, char *text, size_t size)
{
	static const struct {
		const char *name;
		size_t offset;
	} strings[] = {
		{ "patient", offsetof(struct query_request, patient) },
		{ "actor", offsetof(struct query_request, actor) },
		{ "target", offsetof(struct query_request, target) },
		{ "host", offsetof(struct query_request, host) },
		{ "exe", offsetof(struct query_request, exe) },
		{ "rule", offsetof(struct query_request, rule) },
		{ "result", offsetof(struct query_request, result) },
		{ "by", offsetof(struct query_request, by) },
	};
	char number[32];
	size_t i;

	text[0] = '\0';
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		const char *value = (const char *)q + strings[i].offset;

		if (value[0] != '\0')
			filters_add(text, size, strings[i].name, value);
	}
	for (i = 0; i < q->event_count; i++)
		filters_add(text, size, "event", q->events[i]);
	if (q->since_ns != QUERY_ABSENT)
		filters_add_time(text, size, "since", q->since_ns);
	if (q->until_ns != QUERY_ABSENT)
		filters_add_time(text, size, "until", q->until_ns);
	if (q->pid != QUERY_ABSENT) {
		snprintf(number, sizeof(number), "%lld", (long long)q->pid);
		filters_add(text, size, "pid", number);
	}
	if (q->failed_only)
		filters_add(text, size, "failed", "true");
	if (text[0] == '\0')
		strlcpy(text, "none (every record)", size);
}

static const char *op_name(const struct query_request *q)
{
	static const char *const names[] = {
		[QUERY_OP_QUERY] = "query", [QUERY_OP_COUNT] = "count",
		[QUERY_OP_STATS] = "stats", [QUERY_OP_STATUS] = "status",
		[QUERY_OP_CHECKPOINT] = "checkpoint",
	};

	if (q == NULL)
		return "unknown";
	if ((size_t)q->op < sizeof(names) / sizeof(names[0]) && names[q->op])
		return names[q->op];
	return "unknown";
}

/*
 * Records that peer asked q (NULL: undecodable) with this result ("ok",
 * "EACCES"); count < 0 when nothing was answered.
 */
static void audit_query(const struct ucred *peer, const struct query_request *q,
			const char *result, int64_t count)
{
	static struct writer_identity who;
	static char filters[AUDIT_FILTERS_MAX];
	struct record r;
	int was_open = group_open();
	size_t details = 0;
	int rc;

	if (audit_is_repeat(peer->uid, q, result))
		return;
	identity_clear(&who);
	who.pid = peer->pid;
	who.uid = peer->uid;
	who.gid = peer->gid;
	(void)identity_read_proc(&who);     /* gone already: uid alone */
	identity_resolve_actor(&who);
	strlcpy(who.kind, IDENTITY_VERIFIED, sizeof(who.kind));
	if (q != NULL)
		filters_text(q, filters, sizeof(filters));
	else
		strlcpy(filters, "undecodable request", sizeof(filters));

	own_record_start(&r, Q.cfg->workspace_id, EVENT_TRAIL_QUERIED, Q.host, &who);
	r.target = Q.target;
	r.result = result;
	r.detail[details].key = "op";
	r.detail[details++].str = op_name(q);
	r.detail[details].key = "filters";
	r.detail[details++].str = filters;
	if (count >= 0) {
		r.detail[details].key = "matched";
		r.detail[details++].num = count;
	}
	r.detail_count = details;
	rc = group_append(&r, GROUP_OWN);
	if (rc == 0 && !was_open)
		rc = group_commit();
	else if (rc < 0)
		group_rollback();
	if (rc < 0) {
		Q.counters.audit_failed++;
		daemon_error("cannot commit the query of %s (uid %u) now (%s): "
			     "kept, stored with the next group", who.actor,
			     (unsigned)peer->uid, strerror(-rc));
		return;
	}
	Q.counters.audited++;
}

/*
 * "status" and "checkpoint": they read no record, so they are not audited
 * (query.h). A checkpoint cannot be signed inside an open group commit:
 * the client is told to ask again.
 */
static void serve_control(struct answer *a, const struct query_request *q)
{
	static unsigned char reply[STATUS_MAX_REPLY];
	unsigned char end[64];
	uint64_t size = 0;
	int64_t time_ns;
	long len, end_len;
	int rc;

	if (q->op == QUERY_OP_STATUS) {
		len = collector_status_encode(reply, sizeof(reply));
		if (len < 0) {
			Q.counters.failed++;
			answer_error(a, "status failed: the answer does not fit");
			return;
		}
		(void)answer_frame(a, reply, (size_t)len);
	} else {
		rc = checkpointer_sign();
		if (rc == -EBUSY) {
			answer_error(a, "busy: a group commit is open; ask again");
			return;
		}
		if (rc < 0 || checkpointer_last(&time_ns, &size) < 0) {
			Q.counters.failed++;
			answer_error(a, rc == -EPERM ? "checkpoint failed: no signing key "
				     "or no tree (see the collector's log)" :
				     "checkpoint failed: cannot write it to the store");
			return;
		}
	}
	end_len = query_end_encode((int64_t)size, end, sizeof(end));
	if (end_len > 0)
		(void)answer_frame(a, end, (size_t)end_len);
	if (answer_flush(a) == 0)
		Q.counters.served++;
}

/* Answers one whole request (len bytes) on sock, now blocking for sends. */
static void serve(int sock, const unsigned char *request, uint32_t len)
{
	static struct answer a;
	static struct query_request q;
	unsigned char end[64];
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	const char *why = NULL;
	char message[256];
	int64_t count = 0;
	long end_len;
	int rc;

	a.sock = sock;
	a.failed = 0;
	a.used = 0;
	(void)fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	set_timeout(sock, SO_SNDTIMEO, QUERY_SERVER_SEND_TIMEOUT_MS);
	Q.send_waited_ns = 0;
	Q.send_bytes = 0;
	/* Checked after the request is read, so the client sees the answer. */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
		Q.counters.denied++;
		answer_error(&a, "permission denied: the kernel gave no peer credentials");
		return;
	}
	if (!query_server_allowed(cred.uid, cred.gid, Q.cfg->auditors)) {
		Q.counters.denied++;
		rc = query_request_decode(request, len, &q, &why);
		audit_query(&cred, rc == 0 ? &q : NULL, "EACCES", -1);
		snprintf(message, sizeof(message),
			 "permission denied: uid %u may not read the audit trail "
			 "(allowed: root, the collector's user%s%s%s)",
			 (unsigned)cred.uid, Q.cfg->auditors[0] ? ", group " : "",
			 Q.cfg->auditors, Q.cfg->auditors[0] ?
			 "; an administrator can add you to that group" :
			 "; set 'auditors = GROUP' in the configuration to allow a group");
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
	if (q.op == QUERY_OP_STATUS || q.op == QUERY_OP_CHECKPOINT) {
		serve_control(&a, &q);
		return;
	}
	if (q.op == QUERY_OP_STATS)
		rc = store_stats(Q.store, &q, emit_stats_row, &a, &count, &why);
	else
		rc = store_query(Q.store, &q, emit_record, &a, &count, &why);
	audit_query(&cred, &q, rc < 0 && rc != -EPIPE ? "EINVAL" : "ok",
		    rc < 0 && rc != -EPIPE ? -1 : count);
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
}

/* A short error on a connection still non-blocking (it fits the buffer). */
static void refuse(int sock, const char *message)
{
	static struct answer a;

	a.sock = sock;
	a.failed = 0;
	a.used = 0;
	Q.send_waited_ns = 0;
	Q.send_bytes = 0;
	answer_error(&a, message);
}

static void pending_close(struct pending_request *c)
{
	if (c->watch.fd < 0)
		return;
	loop_remove(&c->watch);
	close(c->watch.fd);
	c->watch.fd = -1;
}

/* Reads what has arrived; a whole request is answered and c closed. */
static void pending_read(struct pending_request *c)
{
	for (;;) {
		size_t want = c->have < 4 ? 4 : 4 + ((uint32_t)c->buf[0] << 24 |
			(uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 | c->buf[3]);
		ssize_t n;

		if (c->have == 4 && (want == 4 || want > 4 + QUERY_MAX_REQUEST)) {
			Q.counters.bad_request++;
			refuse(c->watch.fd, "bad request: frame length out of range");
			pending_close(c);
			return;
		}
		if (c->have >= 4 && c->have == want) {
			serve(c->watch.fd, c->buf + 4, (uint32_t)(want - 4));
			pending_close(c);
			return;
		}
		n = recv(c->watch.fd, c->buf + c->have, want - c->have, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;                    /* more later, or the deadline */
		if (n <= 0) {
			Q.counters.bad_request++;  /* gone before a whole request */
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
			Q.counters.bad_request++;
			refuse(c->watch.fd, "bad request: no complete frame in time");
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
			Q.counters.busy++;
			refuse(fd, "busy: too many requests not yet whole; try again");
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
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, rc;

	Q.cfg = cfg;
	Q.store = st;
	collector_status_start(cfg, st);
	for (size_t i = 0; i < QUERY_SERVER_MAX_PENDING; i++)
		Q.pending[i].watch.fd = -1;
	if (gethostname(Q.host, sizeof(Q.host) - 1) < 0)
		strlcpy(Q.host, "localhost", sizeof(Q.host));
	snprintf(Q.target, sizeof(Q.target), "unix:%s", cfg->query_socket_path);
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
	for (size_t i = 0; i < QUERY_SERVER_MAX_PENDING; i++)
		pending_close(&Q.pending[i]);
	loop_remove(&Q.listener);
	close(Q.listener.fd);
	Q.listener.fd = -1;
	if (Q.cfg != NULL)
		(void)unlink(Q.cfg->query_socket_path);
}
