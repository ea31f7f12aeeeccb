/*
 * query_answer.c - answering one whole request on the query socket.
 *
 * The peer's uid is checked once the request is read, so that a refused
 * client sees why (query_server_allowed); the request is decoded with
 * query_request_decode and run: "query" and "count" by store_query,
 * answered with one frame per record and the end frame; "stats" by
 * store_stats, one row frame per group; "status" by status_report.c and
 * "checkpoint" by checkpointer_sign (those two read no record and are not
 * audited). Every other decoded question, answered or refused, is audited
 * (query_audit.c) before the end frame is sent.
 * Frames are gathered in a buffer and sent in large writes; sending is
 * bounded by QUERY_SERVER_SEND_TIMEOUT_MS of waiting in send() for the
 * whole answer (plus a second per QUERY_SERVER_SEND_MIN_RATE bytes taken):
 * a client that stops reading loses its answer, ingest only waits that
 * long (its data is safe in the spool files).
 * Must never build SQL itself, and never send the end frame of a
 * question before its audit record is appended.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "checkpointer.h"
#include "loop.h"
#include "query.h"
#include "query_answer.h"
#include "query_audit.h"
#include "query_server.h"
#include "status.h"
#include "status_report.h"

#define SEND_BUFFER_BYTES 65536

static struct {
	const struct config *cfg;
	struct store *store;
	int64_t send_waited_ns;        /* blocked in send() for this answer */
	int64_t send_bytes;            /* sent of this answer */
} R;

/* Answer frames are gathered here and sent in large writes. */
struct answer {
	int sock;
	int failed;
	size_t used;
	unsigned char buf[SEND_BUFFER_BYTES];
};

void query_answer_start(const struct config *cfg, struct store *st)
{
	R.cfg = cfg;
	R.store = st;
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

		if (R.send_waited_ns > (int64_t)QUERY_SERVER_SEND_TIMEOUT_MS * 1000000 +
		    R.send_bytes * 1000000000 / QUERY_SERVER_SEND_MIN_RATE)
			return -ETIMEDOUT;
		before = loop_monotonic_ns();
		n = send(sock, p, len, MSG_NOSIGNAL);
		R.send_waited_ns += loop_monotonic_ns() - before;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		R.send_bytes += n;
	}
	return 0;
}

/* Starts an answer on sock (its time in send() counted from here). */
static void answer_begin(struct answer *a, int sock)
{
	a->sock = sock;
	a->failed = 0;
	a->used = 0;
	R.send_waited_ns = 0;
	R.send_bytes = 0;
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

static void set_timeout(int sock, int option, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };

	(void)setsockopt(sock, SOL_SOCKET, option, &tv, sizeof(tv));
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
		len = status_report_encode(reply, sizeof(reply));
		if (len < 0) {
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
			answer_error(a, rc == -EPERM ? "checkpoint failed: no signing key "
				     "or no tree (see the collector's log)" :
				     "checkpoint failed: cannot write it to the store");
			return;
		}
	}
	end_len = query_end_encode((int64_t)size, end, sizeof(end));
	if (end_len > 0)
		(void)answer_frame(a, end, (size_t)end_len);
	(void)answer_flush(a);
}

void query_answer_request(int sock, const unsigned char *request, uint32_t len)
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

	answer_begin(&a, sock);
	(void)fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	set_timeout(sock, SO_SNDTIMEO, QUERY_SERVER_SEND_TIMEOUT_MS);
	/* Checked after the request is read, so the client sees the answer. */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0) {
		answer_error(&a, "permission denied: the kernel gave no peer credentials");
		return;
	}
	if (!query_server_allowed(cred.uid, cred.gid, R.cfg->auditors)) {
		rc = query_request_decode(request, len, &q, &why);
		query_audit_question(&cred, rc == 0 ? &q : NULL, "EACCES", -1);
		snprintf(message, sizeof(message),
			 "permission denied: uid %u may not read the audit trail "
			 "(allowed: root, the collector's user%s%s%s)",
			 (unsigned)cred.uid, R.cfg->auditors[0] ? ", group " : "",
			 R.cfg->auditors, R.cfg->auditors[0] ?
			 "; an administrator can add you to that group" :
			 "; set 'auditors = GROUP' in the configuration to allow a group");
		answer_error(&a, message);
		return;
	}
	if (query_request_decode(request, len, &q, &why) < 0) {
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
		rc = store_stats(R.store, &q, emit_stats_row, &a, &count, &why);
	else
		rc = store_query(R.store, &q, emit_record, &a, &count, &why);
	query_audit_question(&cred, &q, rc < 0 && rc != -EPIPE ? "EINVAL" : "ok",
			     rc < 0 && rc != -EPIPE ? -1 : count);
	if (rc == -EPIPE || a.failed)
		return;               /* the client went away or stopped reading */
	if (rc < 0) {
		snprintf(message, sizeof(message), "query failed: %s",
			 why ? why : strerror(-rc));
		answer_error(&a, message);
		return;
	}
	end_len = query_end_encode(count, end, sizeof(end));
	if (end_len > 0)
		(void)answer_frame(&a, end, (size_t)end_len);
	(void)answer_flush(&a);
}

void query_answer_refuse(int sock, const char *message)
{
	static struct answer a;

	answer_begin(&a, sock);
	answer_error(&a, message);
}
