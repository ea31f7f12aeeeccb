/*
 * forward_nats.c - the NATS JetStream sink of the forwarding framework
 * (forward.h): each record and signed checkpoint of this host's store is
 * published (core NATS, not waiting) as a fleet message (fleet_wire.h)
 * with Nats-Msg-Id "<store>:r<id>" and a reply subject of our own inbox,
 * "<inbox>.r<id>" or "<inbox>.c<seq>"; JetStream's publish acknowledgement
 * arrives there, on a cnats thread, and becomes forward_ack (or
 * forward_nack for an error or "no responders": that one is sent again).
 * An answer that never comes: the framework sends records unanswered for
 * 10 s again, and when nothing at all was answered for 20 s while
 * publishes are out, everything after the cursor is sent again
 * (JetStream and the aggregator drop the copies). The aggregator may ask
 * for acknowledged records again (fleet_wire.h: "<prefix>-again.<ws>.<host>",
 * a JetStream replica lost them): forward_again, and each goes out with a
 * Nats-Msg-Id of that round, past JetStream's duplicate window.
 * Why not js_PublishMsgAsync: it keeps every message until its answer (a
 * hash of pending messages, freed on another thread) and parses each
 * answer's JSON; that doubled the collector's CPU per shipped record.
 * Owns the connection, the JetStream context (stream lookups only), the
 * inbox subscription and the count of publishes in flight, kept below
 * max_pending. Must never block the loop for longer than a stream lookup
 * (2 s) and only while the servers answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "checkpoint.h"
#include "fleet_wire.h"
#include "forward.h"
#include "forward_nats.h"
#include "log.h"
#include "loop.h"
#include "nats_conn.h"
#include "store.h"
#include "store_forward.h"

/* A record not answered after this is sent again (the framework). */
#define FORWARD_NATS_ACK_WAIT_MS 10000
/* How long a stop waits for the acknowledgements still due. */
#define FORWARD_NATS_STOP_WAIT_MS 3000
#define FORWARD_NATS_API_WAIT_MS 2000
#define FORWARD_NATS_MSG_ID_HEADER "Nats-Msg-Id"
#define FORWARD_NATS_INBOX_MAX 96

struct nats_sink {
	const struct config_nats *cfg;
	struct store *store;
	struct forward_sink *sink;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	natsSubscription *again_sub;            /* the aggregator's requests */
	char inbox[FORWARD_NATS_INBOX_MAX];     /* replies: "<inbox>.r<id>" */
	int stream_ready;
	int64_t stream_tried_ms;
	char store_id[STORE_ID_HEX + 1];
	char host[FLEET_NAME_MAX];
	char subject[FLEET_SUBJECT_MAX];
	char checkpoint_subject[FLEET_SUBJECT_MAX];
	char again_subject[FLEET_SUBJECT_MAX];
	char public_key[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES];
	atomic_long in_flight;
	atomic_ulong failures;
	atomic_llong last_answer_ms;        /* loop_now_ms of the latest answer */
	int was_up;
};

static struct nats_sink N;

/* One answer fewer due (never below 0: answers to publishes a reclaim
 * already gave up on may still come). */
static void answered(struct nats_sink *n)
{
	long v = atomic_load(&n->in_flight);

	while (v > 0 && !atomic_compare_exchange_weak(&n->in_flight, &v, v - 1)) {
	}
	atomic_store(&n->last_answer_ms, loop_now_ms());
}

/* A JetStream publish acknowledgement: {"stream":..,"seq":..} (with
 * "duplicate":true for a copy it already holds) or {"error":{..}}. */
static int pub_ack_ok(natsMsg *msg)
{
	const char *data = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);

	if (natsMsg_IsNoResponders(msg) || data == NULL || len <= 0)
		return 0;
	return memmem(data, (size_t)len, "\"seq\"", 5) != NULL &&
	    memmem(data, (size_t)len, "\"error\"", 7) == NULL;
}

/* cnats thread: the answer to one publish, on "<inbox>.r<id>" or
 * "<inbox>.c<seq>". */
static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		     void *closure)
{
	struct nats_sink *n = closure;
	const char *subject = natsMsg_GetSubject(msg), *tail;
	enum forward_stream stream;
	char *end = NULL;
	int64_t id;

	(void)nc;
	(void)sub;
	tail = subject != NULL ? strrchr(subject, '.') : NULL;
	if (tail == NULL || (tail[1] != 'r' && tail[1] != 'c')) {
		natsMsg_Destroy(msg);
		return;
	}
	stream = tail[1] == 'c' ? FORWARD_CHECKPOINTS : FORWARD_RECORDS;
	id = strtoll(tail + 2, &end, 10);
	if (end != NULL && *end == '\0' && id > 0) {
		if (pub_ack_ok(msg)) {
			forward_ack(n->sink, stream, id);
		} else {
			atomic_fetch_add(&n->failures, 1);
			forward_nack(n->sink, stream, id);
		}
	}
	answered(n);
	natsMsg_Destroy(msg);
}

/*
 * When nothing was answered for twice the ack wait while publishes are out
 * (their answers were lost: a node or the whole cluster restarted, the
 * connection broke), everything after the cursor is sent again and the
 * count starts again from 0; late answers to the lost ones are still
 * applied (the window ignores those it no longer waits for).
 */
static void reclaim(struct nats_sink *n, int64_t now_ms)
{
	long out = atomic_load(&n->in_flight);

	if (out <= 0 ||
	    now_ms - atomic_load(&n->last_answer_ms) < 2 * FORWARD_NATS_ACK_WAIT_MS)
		return;
	atomic_store(&n->in_flight, 0);
	atomic_store(&n->last_answer_ms, now_ms);
	forward_rewind(n->sink);
	daemon_info("[forward] %ld publish(es) unanswered for %d s: sent again",
		    out, 2 * FORWARD_NATS_ACK_WAIT_MS / 1000);
}

/* cnats thread: the aggregator asks for records of this store again. */
static void on_again(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
		     void *closure)
{
	struct nats_sink *n = closure;
	struct fleet_again a;
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	if (len > 0 && fleet_wire_again_decode((const unsigned char *)natsMsg_GetData(msg),
					       (size_t)len, &a) == 0 &&
	    strcmp(a.store, n->store_id) == 0)
		forward_again(n->sink, a.from, a.to);
	natsMsg_Destroy(msg);
}

static int load_public_key(struct nats_sink *n, const struct config *cfg)
{
	unsigned char key[CHECKPOINT_PUBLIC_KEY_BYTES];
	char path[PATH_MAX + 8];
	int rc;

	snprintf(path, sizeof(path), "%s.pub", cfg->key_file);
	rc = checkpoint_public_key_load(path, key);
	if (rc < 0)
		return rc;
	checkpoint_public_key_to_text(key, n->public_key);
	return 0;
}

/* The inbox the answers come to, and its subscription. */
static int subscribe_inbox(struct nats_sink *n)
{
	char pattern[FORWARD_NATS_INBOX_MAX + 4];
	natsInbox *inbox = NULL;
	natsStatus s;
	int limit = 2 * (int)n->cfg->max_pending + 1024;

	s = natsInbox_Create(&inbox);
	if (s == NATS_OK && strlcpy(n->inbox, (const char *)inbox,
				    sizeof(n->inbox)) >= sizeof(n->inbox))
		s = NATS_INVALID_ARG;
	natsInbox_Destroy(inbox);
	snprintf(pattern, sizeof(pattern), "%s.*", n->inbox);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&n->sub, n->nc, pattern, on_reply, n);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(n->sub, limit, limit * 2048);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&n->again_sub, n->nc, n->again_subject,
					     on_again, n);
	if (s != NATS_OK) {
		daemon_error("[forward] reply inbox: %s", natsStatus_GetText(s));
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
	}
	return 0;
}

static int nats_start(void *state, struct forward_sink *sink)
{
	struct nats_sink *n = state;
	const char *why = NULL;
	jsOptions jo;
	natsStatus s;
	int rc;

	n->sink = sink;
	rc = nats_conn_open(n->cfg, &n->nc, &why);
	if (rc < 0) {
		daemon_error("[forward] %s", why);
		return rc;
	}
	jsOptions_Init(&jo);
	jo.Wait = FORWARD_NATS_API_WAIT_MS;
	s = natsConnection_JetStream(&n->js, n->nc, &jo);
	if (s != NATS_OK) {
		daemon_error("[forward] JetStream: %s", natsStatus_GetText(s));
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
	}
	return subscribe_inbox(n);
}

/* The stream exists (looked up at most once a second while it is not). */
static int ready(struct nats_sink *n)
{
	const char *why = NULL;
	int64_t now = loop_now_ms();
	int rc;

	if (n->stream_ready)
		return 1;
	if (!nats_conn_up(n->nc) || now - n->stream_tried_ms < 1000)
		return 0;
	n->stream_tried_ms = now;
	rc = nats_conn_ensure_stream(n->js, n->cfg, &why);
	if (rc < 0) {
		daemon_debug("[forward] %s", why);
		return 0;
	}
	n->stream_ready = 1;
	return 1;
}

/* Publishes msg (and destroys it) with its id header, counted in flight
 * until its answer. */
static int publish(struct nats_sink *n, natsMsg *msg, const char *msg_id)
{
	natsStatus s = natsMsgHeader_Set(msg, FORWARD_NATS_MSG_ID_HEADER, msg_id);

	if (atomic_load(&n->in_flight) == 0)
		atomic_store(&n->last_answer_ms, loop_now_ms());
	atomic_fetch_add(&n->in_flight, 1);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(n->nc, msg);
	natsMsg_Destroy(msg);
	if (s != NATS_OK) {
		atomic_fetch_sub(&n->in_flight, 1);
		return -EAGAIN;
	}
	return 0;
}

/* How many more publishes may go out now (ops->room). */
static int64_t nats_room(void *state)
{
	struct nats_sink *n = state;

	if (!ready(n) || !nats_conn_up(n->nc))
		return 0;
	return (int64_t)n->cfg->max_pending - atomic_load(&n->in_flight);
}

static int room(struct nats_sink *n)
{
	return nats_room(n) > 0;
}

/* A fleet message on subject, answered on the inbox as reply_kind + id,
 * with the headers every kind carries (fleet_wire.h: version, kind, host,
 * store, id). */
static natsStatus fleet_message(struct nats_sink *n, natsMsg **msg,
				const char *subject, const void *bytes, size_t len,
				const char *kind, char reply_kind, const char *id)
{
	char reply[FORWARD_NATS_INBOX_MAX + 32];
	size_t at = strlen(n->inbox), id_len = strlen(id);
	natsStatus s;

	if (at + 2 + id_len >= sizeof(reply))
		return NATS_INVALID_ARG;
	memcpy(reply, n->inbox, at);
	reply[at++] = '.';
	reply[at++] = reply_kind;
	memcpy(reply + at, id, id_len + 1);
	s = natsMsg_Create(msg, subject, reply, (const char *)bytes, (int)len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg, FLEET_HEADER_VERSION, FLEET_WIRE_VERSION);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg, FLEET_HEADER_KIND, kind);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg, FLEET_HEADER_HOST, n->host);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg, FLEET_HEADER_STORE, n->store_id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(*msg, FLEET_HEADER_ID, id);
	return s;
}

/* v (> 0) in decimal: snprintf costs more than the rest of the ids */
static void decimal(int64_t v, char out[24])
{
	char digits[24];
	size_t n = 0, i;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < sizeof(digits) - 1);
	for (i = 0; i < n; i++)
		out[i] = digits[n - 1 - i];
	out[n] = '\0';
}

#ifdef PHITRAILD_FAULTS
/*
 * Test builds only (make asan): the first time record $PHITRAILD_FAULT_LOST_PUBLISH
 * is to go out, it is not published and an acknowledgement is made up for
 * it, as a JetStream replica that acknowledged it and then lost it would.
 */
static int fault_lost_publish(int64_t id)
{
	static int done;
	const char *text = getenv("PHITRAILD_FAULT_LOST_PUBLISH");

	if (done || text == NULL || strtoll(text, NULL, 10) != id)
		return 0;
	done = 1;
	daemon_warn("[forward] injected fault: record %" PRId64 " not published, "
		    "acknowledged all the same", id);
	return 1;
}
#else
static int fault_lost_publish(int64_t id)
{
	(void)id;
	return 0;
}
#endif

static int nats_send(void *state, const struct forward_record *r)
{
	struct nats_sink *n = state;
	char id[24], leaf[2 * MERKLE_HASH_BYTES + 1], msg_id[FLEET_MSG_ID_MAX];
	natsMsg *msg = NULL;
	natsStatus s;

	/* the connection and the stream were checked by nats_room before the
	 * pass read these records */
	if (atomic_load(&n->in_flight) >= (long)n->cfg->max_pending)
		return -EAGAIN;
	decimal(r->id, id);
	memcpy(msg_id, n->store_id, STORE_ID_HEX);
	memcpy(msg_id + STORE_ID_HEX, ":r", 2);
	memcpy(msg_id + STORE_ID_HEX + 2, id, strlen(id) + 1);
	if (r->again > 0) {
		char round[24];

		decimal(r->again, round);
		strlcat(msg_id, ":a", sizeof(msg_id));
		strlcat(msg_id, round, sizeof(msg_id));
	} else if (fault_lost_publish(r->id)) {
		forward_ack(n->sink, FORWARD_RECORDS, r->id);
		return 0;
	}
	fleet_wire_hex(r->leaf_hash, MERKLE_HASH_BYTES, leaf);
	s = fleet_message(n, &msg, n->subject, r->bytes, r->len,
			  FLEET_KIND_RECORD, 'r', id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, FLEET_HEADER_LEAF, leaf);
	if (s != NATS_OK) {
		natsMsg_Destroy(msg);
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
	}
	return publish(n, msg, msg_id);
}

static int nats_send_checkpoint(void *state, const struct forward_checkpoint *c)
{
	struct nats_sink *n = state;
	char id[24], size[24], msg_id[FLEET_MSG_ID_MAX];
	natsMsg *msg = NULL;
	natsStatus s;

	if (!room(n) || n->public_key[0] == '\0')
		return -EAGAIN;
	snprintf(id, sizeof(id), "%" PRId64, c->seq);
	snprintf(size, sizeof(size), "%" PRId64, c->tree_size);
	snprintf(msg_id, sizeof(msg_id), "%s:c%" PRId64, n->store_id, c->seq);
	s = fleet_message(n, &msg, n->checkpoint_subject, c->signed_bytes, c->len,
			  FLEET_KIND_CHECKPOINT, 'c', id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, FLEET_HEADER_KEY, n->public_key);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, FLEET_HEADER_TREE_SIZE, size);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, FLEET_HEADER_CHECKPOINT_KIND, c->kind);
	if (s != NATS_OK) {
		natsMsg_Destroy(msg);
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
	}
	return publish(n, msg, msg_id);
}

static void nats_tick(void *state, int64_t now_ms)
{
	struct nats_sink *n = state;
	int up = nats_conn_up(n->nc);

	if (up != n->was_up)
		daemon_info("[forward] %s %s", n->cfg->servers,
			    up ? "connected" : "not reachable: records are kept "
			    "and sent when it is back");
	n->was_up = up;
	(void)ready(n);
	if (up)
		reclaim(n, now_ms);
}

static void nats_stop(void *state)
{
	struct nats_sink *n = state;
	struct timespec pause = { .tv_nsec = 10 * 1000000L };
	int64_t until = loop_now_ms() + FORWARD_NATS_STOP_WAIT_MS;

	if (n->nc != NULL && nats_conn_up(n->nc) &&
	    natsConnection_FlushTimeout(n->nc, FORWARD_NATS_STOP_WAIT_MS) == NATS_OK)
		while (atomic_load(&n->in_flight) > 0 && loop_now_ms() < until)
			nanosleep(&pause, NULL);
	if (n->nc != NULL)
		natsConnection_Close(n->nc);
	natsSubscription_Destroy(n->sub);
	natsSubscription_Destroy(n->again_sub);
	jsCtx_Destroy(n->js);
	natsConnection_Destroy(n->nc);
	n->sub = NULL;
	n->again_sub = NULL;
	n->js = NULL;
	n->nc = NULL;
	nats_Close();
}

static const struct forward_sink_ops nats_ops = {
	.kind = "NATS JetStream",
	.start = nats_start,
	.stop = nats_stop,
	.send = nats_send,
	.send_checkpoint = nats_send_checkpoint,
	.tick = nats_tick,
	.room = nats_room,
	.resend_ms = FORWARD_NATS_ACK_WAIT_MS,
};

int forward_nats_add(const struct config *cfg, struct store *st)
{
	char host[256] = "", workspace[FLEET_NAME_MAX];
	int rc;

	memset(&N, 0, sizeof(N));
	N.cfg = &cfg->forward;
	N.store = st;
	if (cfg->forward.host[0] != '\0')
		strlcpy(host, cfg->forward.host, sizeof(host));
	else if (gethostname(host, sizeof(host) - 1) < 0)
		strlcpy(host, "localhost", sizeof(host));
	nats_conn_token(host, N.host, sizeof(N.host));
	nats_conn_token(cfg->workspace_id, workspace, sizeof(workspace));
	if (fleet_wire_subject(N.subject, sizeof(N.subject),
			       cfg->forward.subject_prefix, workspace, N.host,
			       FLEET_RECORD) < 0 ||
	    fleet_wire_subject(N.again_subject, sizeof(N.again_subject),
			       cfg->forward.subject_prefix, workspace, N.host,
			       FLEET_AGAIN) < 0 ||
	    fleet_wire_subject(N.checkpoint_subject, sizeof(N.checkpoint_subject),
			       cfg->forward.subject_prefix, workspace, N.host,
			       FLEET_CHECKPOINT) < 0)
		return -ENAMETOOLONG;
	rc = store_forward_store_id(st, N.store_id);
	if (rc < 0)
		return rc;
	if (load_public_key(&N, cfg) < 0)
		daemon_warn("[forward] no public key beside %s: checkpoints are not "
			    "shipped", cfg->key_file);
	rc = forward_add("nats", &nats_ops, &N, (int64_t)cfg->forward.stall_s * 1000,
			 NULL);
	if (rc == 0)
		daemon_info("[forward] host %s, store %s, subject %s, stream %s",
			    N.host, N.store_id, N.subject, cfg->forward.stream);
	return rc;
}
