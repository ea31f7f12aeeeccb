/*
 * forward_nats.c - the NATS JetStream sink of the forwarding framework
 * (forward.h): each record and signed checkpoint of this host's store is
 * published asynchronously (js_PublishMsgAsync) as a fleet message
 * (fleet_wire.h) with Nats-Msg-Id "<store>:r<id>"; JetStream's publish
 * acknowledgement, delivered on a cnats thread, becomes forward_ack, and a
 * failure or a timeout forward_nack (everything after the cursor is sent
 * again; JetStream and the aggregator drop the copies).
 * Owns the JetStream context and the count of publishes in flight, kept
 * below max_pending so that a publish never waits inside cnats. Must
 * never block the loop for longer than a stream lookup (2 s) and only
 * while the servers answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A publish not acknowledged after this is counted as failed. */
#define FORWARD_NATS_ACK_WAIT_MS 10000
/* How long a stop waits for the acknowledgements still due. */
#define FORWARD_NATS_STOP_WAIT_MS 3000
#define FORWARD_NATS_API_WAIT_MS 2000

struct nats_sink {
	const struct config_nats *cfg;
	struct store *store;
	struct forward_sink *sink;
	natsConnection *nc;
	jsCtx *js;
	int stream_ready;
	int64_t stream_tried_ms;
	char store_id[STORE_ID_HEX + 1];
	char host[FLEET_NAME_MAX];
	char subject[FLEET_SUBJECT_MAX];
	char checkpoint_subject[FLEET_SUBJECT_MAX];
	char public_key[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES];
	atomic_long in_flight;
	atomic_ulong failures;
	atomic_llong last_answer_ms;        /* loop_now_ms of the latest record's answer */
	int was_up;
};

static struct nats_sink N;

/* cnats thread: one publish's outcome. */
static void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
		       void *closure)
{
	struct nats_sink *n = closure;
	const char *kind = NULL, *id_text = NULL;
	enum forward_stream stream = FORWARD_RECORDS;
	int64_t id;

	(void)js;
	if (natsMsgHeader_Get(msg, FLEET_HEADER_KIND, &kind) == NATS_OK &&
	    kind != NULL && strcmp(kind, FLEET_KIND_CHECKPOINT) == 0)
		stream = FORWARD_CHECKPOINTS;
	if (natsMsgHeader_Get(msg, FLEET_HEADER_ID, &id_text) == NATS_OK &&
	    id_text != NULL) {
		id = strtoll(id_text, NULL, 10);
		if (pa != NULL && pae == NULL) {
			forward_ack(n->sink, stream, id);
		} else {
			atomic_fetch_add(&n->failures, 1);
			forward_nack(n->sink, stream, id);
		}
	}
	if (stream == FORWARD_RECORDS)
		atomic_store(&n->last_answer_ms, loop_now_ms());
	atomic_fetch_sub(&n->in_flight, 1);
	natsMsg_Destroy(msg);
}

/* One message of our own as refused (its id from its headers). */
static void refuse(struct nats_sink *n, natsMsg *msg)
{
	const char *kind = NULL, *id_text = NULL;

	if (natsMsgHeader_Get(msg, FLEET_HEADER_ID, &id_text) != NATS_OK ||
	    id_text == NULL)
		return;
	(void)natsMsgHeader_Get(msg, FLEET_HEADER_KIND, &kind);
	forward_nack(n->sink, kind != NULL && strcmp(kind, FLEET_KIND_CHECKPOINT) == 0 ?
		     FORWARD_CHECKPOINTS : FORWARD_RECORDS, strtoll(id_text, NULL, 10));
}

/*
 * When no record publish was answered for twice the ack wait while some
 * are in flight (seen after the whole cluster restarted: cnats neither
 * acknowledged nor timed some out, and the count in flight stayed at its
 * limit), every pending publish is taken back from cnats and refused, so
 * it is sent again; nothing is then pending in cnats, whose later answers
 * to those are dropped, so the count starts again from 0.
 */
static void reclaim(struct nats_sink *n, int64_t now_ms)
{
	natsMsgList pending = { 0 };
	int i;

	if (atomic_load(&n->in_flight) <= 0 ||
	    now_ms - atomic_load(&n->last_answer_ms) < 2 * FORWARD_NATS_ACK_WAIT_MS)
		return;
	if (js_PublishAsyncGetPendingList(&pending, n->js) != NATS_OK) {
		atomic_store(&n->last_answer_ms, now_ms);
		return;
	}
	for (i = 0; i < pending.Count; i++)
		refuse(n, pending.Msgs[i]);
	atomic_store(&n->in_flight, 0);
	if (pending.Count > 0)
		daemon_info("[forward] %d publish(es) unanswered for %d s: sent again",
			    pending.Count, 2 * FORWARD_NATS_ACK_WAIT_MS / 1000);
	natsMsgList_Destroy(&pending);
	atomic_store(&n->last_answer_ms, now_ms);
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
	jo.PublishAsync.MaxPending = n->cfg->max_pending + 1;
	jo.PublishAsync.AckHandler = on_pub_ack;
	jo.PublishAsync.AckHandlerClosure = n;
	jo.PublishAsync.StallWait = 1;
	s = natsConnection_JetStream(&n->js, n->nc, &jo);
	if (s != NATS_OK) {
		daemon_error("[forward] JetStream: %s", natsStatus_GetText(s));
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
	}
	return 0;
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

static int publish(struct nats_sink *n, natsMsg *msg, const char *msg_id)
{
	jsPubOptions po;
	natsStatus s;

	jsPubOptions_Init(&po);
	po.MsgId = msg_id;
	po.MaxWait = FORWARD_NATS_ACK_WAIT_MS;
	if (atomic_load(&n->in_flight) == 0)
		atomic_store(&n->last_answer_ms, loop_now_ms());
	atomic_fetch_add(&n->in_flight, 1);
	s = js_PublishMsgAsync(n->js, &msg, &po);
	if (s != NATS_OK) {
		atomic_fetch_sub(&n->in_flight, 1);
		natsMsg_Destroy(msg);   /* NULL when cnats took it */
		return -EAGAIN;
	}
	return 0;
}

static int room(struct nats_sink *n)
{
	return ready(n) && nats_conn_up(n->nc) &&
	    atomic_load(&n->in_flight) < (long)n->cfg->max_pending;
}

/* A fleet message on subject with the headers every kind carries
 * (fleet_wire.h: version, kind, host, store, id). */
static natsStatus fleet_message(struct nats_sink *n, natsMsg **msg,
				const char *subject, const void *bytes, size_t len,
				const char *kind, const char *id)
{
	natsStatus s = natsMsg_Create(msg, subject, NULL, (const char *)bytes,
				      (int)len);

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

static int nats_send(void *state, const struct forward_record *r)
{
	struct nats_sink *n = state;
	char id[24], leaf[2 * MERKLE_HASH_BYTES + 1], msg_id[FLEET_MSG_ID_MAX];
	natsMsg *msg = NULL;
	natsStatus s;

	if (!room(n))
		return -EAGAIN;
	snprintf(id, sizeof(id), "%" PRId64, r->id);
	snprintf(msg_id, sizeof(msg_id), "%s:r%" PRId64, n->store_id, r->id);
	fleet_wire_hex(r->leaf_hash, MERKLE_HASH_BYTES, leaf);
	s = fleet_message(n, &msg, n->subject, r->bytes, r->len,
			  FLEET_KIND_RECORD, id);
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
			  FLEET_KIND_CHECKPOINT, id);
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
	if (up && n->js != NULL)
		reclaim(n, now_ms);
}

static void nats_stop(void *state)
{
	struct nats_sink *n = state;
	jsPubOptions po;

	if (n->js != NULL && atomic_load(&n->in_flight) > 0 && nats_conn_up(n->nc)) {
		jsPubOptions_Init(&po);
		po.MaxWait = FORWARD_NATS_STOP_WAIT_MS;
		(void)js_PublishAsyncComplete(n->js, &po);
	}
	if (n->nc != NULL)
		natsConnection_Close(n->nc);
	jsCtx_Destroy(n->js);
	natsConnection_Destroy(n->nc);
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
