/*
 * query_audit.c - the audit of every question asked on the query socket.
 *
 * Every decoded request, answered or refused, is itself audited: an
 * "Audit Trail Queried" record of the asking user (kernel credentials and
 * /proc, like any writer) with the operation, the filters as text for
 * people and how many records matched, appended with group_append like
 * every other record, so it is hashed and sequenced the same way. It is
 * committed before the end frame is sent, unless a group of spool records
 * is open (then it commits with that group); a group that fails to commit
 * keeps it for the next one (group_commit.c). The same user asking the
 * same filters again within QUERY_AUDIT_REPEAT_MS (tail's polls, paging,
 * a script's retry loop) is recorded once.
 * Must never answer the client: query_answer.c does, after this returns.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "group_commit.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "own_record.h"
#include "query_audit.h"
#include "query_server.h"

#define AUDIT_FILTERS_MAX 3072         /* bytes of the filters text kept */
#define AUDIT_RECENT 32                /* remembered (user, filters) pairs */

struct audit_recent {
	uint64_t hash;                 /* FNV-1a of uid and normalized request */
	int64_t at_ms;                 /* monotonic; 0 = empty slot */
};

static struct {
	const char *workspace_id;
	char host[256];
	char target[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct audit_recent recent[AUDIT_RECENT];
	size_t recent_next;
} A;

void query_audit_start(const struct config *cfg)
{
	A.workspace_id = cfg->workspace_id;
	if (gethostname(A.host, sizeof(A.host) - 1) < 0)
		strlcpy(A.host, "localhost", sizeof(A.host));
	snprintf(A.target, sizeof(A.target), "unix:%s", cfg->query_socket_path);
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
	int64_t now = loop_now_ms();
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
		if (A.recent[i].at_ms != 0 && A.recent[i].hash == hash &&
		    now - A.recent[i].at_ms < QUERY_AUDIT_REPEAT_MS)
			return 1;
	A.recent[A.recent_next].hash = hash;
	A.recent[A.recent_next].at_ms = now;
	A.recent_next = (A.recent_next + 1) % AUDIT_RECENT;
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

void query_audit_question(const struct ucred *peer,
			  const struct query_request *q, const char *result,
			  int64_t count)
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

	own_record_start(&r, A.workspace_id, EVENT_TRAIL_QUERIED, A.host, &who);
	r.target = A.target;
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
	if (rc < 0)
		daemon_error("cannot commit the query of %s (uid %u) now (%s): "
			     "kept, stored with the next group", who.actor,
			     (unsigned)peer->uid, strerror(-rc));
}
