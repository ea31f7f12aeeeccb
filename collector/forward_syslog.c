/*
 * forward_syslog.c - the ATNA sink: a forwarding sink (forward.h) that
 * ships every stored record as an ATNA audit message (atna_message.c) to
 * the syslog receiver of [syslog] over RFC 5425 TLS (syslog_tls.c).
 *
 * Two threads. The loop thread (send) decodes and formats a record and
 * queues the frame; it never touches the network and answers -EAGAIN while
 * the receiver is down or the queue is full, so the records wait in the
 * store behind the committed cursor (forward.c) and nothing is dropped.
 * The sender thread owns the connection: it writes queued frames and
 * acknowledges a record (forward_ack, which moves the cursor) only when
 * its bytes are at the receiver's TCP (our send queue empty, SIOCOUTQ) and
 * the connection stayed up for SYSLOG_SETTLE_MS after that: RFC 5425 has
 * no application acknowledgement, so that is the most a sender can know.
 * When the connection breaks or stalls (stall_time without progress) it
 * drops every unacknowledged frame, rewinds (forward_rewind: the
 * framework sends everything after the cursor again) and reconnects with
 * a growing pause. A receiver that dies with acknowledged bytes unread
 * loses them; one that stores frames it had not yet let us see as
 * settled sees them twice after a reconnect (README: "ATNA syslog").
 * Must never: block the loop thread, acknowledge a frame that was not
 * written whole, or keep more than max_pending frames.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atna_message.h"
#include "audit_codes.h"
#include "forward.h"
#include "forward_syslog.h"
#include "log.h"
#include "record.h"
#include "syslog_tls.h"

#define SYSLOG_SETTLE_MS 300        /* up this long after the bytes landed */
#define SYSLOG_POLL_MS 50           /* the sender's health check period */
#define SYSLOG_RETRY_MIN_MS 200
#define SYSLOG_RETRY_MAX_MS 5000
#define SYSLOG_STOP_FLUSH_MS 3000   /* what stop waits for queued frames */

struct syslog_frame {
	int64_t id;
	char *bytes;                    /* the RFC 5424 message */
	size_t len;
	int64_t written_ms;             /* when its bytes were written, or 0 */
};

struct syslog_sink {
	const struct config *cfg;
	struct forward_sink *sink;
	char *arena;                    /* record_decode's, loop thread only */
	pthread_t thread;
	int thread_started;

	pthread_mutex_t lock;           /* guards all below */
	pthread_cond_t wake;
	struct syslog_frame *ring;      /* max_pending slots */
	size_t cap, head, count;        /* head: oldest unacknowledged */
	size_t written;                 /* frames from head already written */
	int connected;
	int stopping;
};

static struct syslog_sink sink_state;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CLOCK_REALTIME ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static struct syslog_frame *slot(struct syslog_sink *s, size_t i)
{
	return &s->ring[(s->head + i) % s->cap];
}

/* Locked: frees every frame; returns the oldest id dropped, or -1. */
static int64_t drop_all(struct syslog_sink *s)
{
	int64_t first = s->count > 0 ? slot(s, 0)->id : -1;

	for (size_t i = 0; i < s->count; i++) {
		free(slot(s, i)->bytes);
		slot(s, i)->bytes = NULL;
	}
	s->head = s->count = s->written = 0;
	return first;
}

/* ---- the loop thread: ops->send ---------------------------------------- */

static int syslog_send(void *state, const struct forward_record *fr)
{
	struct syslog_sink *s = state;
	const struct config_syslog *c = &s->cfg->syslog;
	struct record r;
	const char *why = NULL;
	char *bytes = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = !s->connected ? -EAGAIN : s->count >= s->cap ? -EAGAIN : 0;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return rc;
	rc = record_decode(fr->bytes, fr->len, &r, s->arena, RECORD_ARENA_BYTES, &why);
	if (rc == 0) {
		r.id = fr->id;
		rc = atna_syslog_message(&r, audit_is_dicom(&r, s->cfg), c->app_name,
					 c->facility, &bytes, &len);
	}
	if (rc < 0) {
		/*
		 * A stored record that does not decode is for phitrail verify;
		 * holding the cursor here forever would stop every later one.
		 */
		daemon_warn("%s: record %" PRId64 " cannot be sent (%s): skipped; run "
			    "phitrail verify", FORWARD_SYSLOG_NAME, fr->id,
			    why ? why : strerror(-rc));
		forward_ack(s->sink, FORWARD_RECORDS, fr->id);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->connected || s->count >= s->cap) {
		pthread_mutex_unlock(&s->lock);
		free(bytes);
		return -EAGAIN;
	}
	*slot(s, s->count) = (struct syslog_frame){ .id = fr->id, .bytes = bytes,
						    .len = len };
	s->count++;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- the sender thread -------------------------------------------------- */

/* Writes every queued frame not yet written; 0 or the write's error. */
static int write_queued(struct syslog_sink *s, struct syslog_tls *t)
{
	for (;;) {
		struct syslog_frame frame;
		int rc;

		pthread_mutex_lock(&s->lock);
		if (s->written >= s->count) {
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		frame = *slot(s, s->written);   /* only this thread frees it */
		pthread_mutex_unlock(&s->lock);
		rc = syslog_tls_write(t, frame.bytes, frame.len);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&s->lock);
		slot(s, s->written)->written_ms = now_ms();
		s->written++;
		pthread_mutex_unlock(&s->lock);
	}
}

/* Acknowledges the written frames that have settled (settled_since). */
static void acknowledge(struct syslog_sink *s, int64_t settled_since)
{
	pthread_mutex_lock(&s->lock);
	while (s->written > 0 && slot(s, 0)->written_ms <= settled_since) {
		struct syslog_frame *f = slot(s, 0);
		forward_ack(s->sink, FORWARD_RECORDS, f->id);
		free(f->bytes);
		f->bytes = NULL;
		s->head = (s->head + 1) % s->cap;
		s->count--;
		s->written--;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Runs one connection until it breaks or the sink stops. */
static void serve(struct syslog_sink *s, struct syslog_tls *t)
{
	int64_t landed_at = 0;          /* when the send queue was seen empty */
	int64_t stop_deadline = 0;
	int rc = 0;

	for (;;) {
		int settled, stopping, idle;

		rc = write_queued(s, t);
		if (rc < 0)
			break;
		settled = syslog_tls_settled(t);
		if (settled < 0) {
			rc = settled;
			break;
		}
		/*
		 * landed_at: a moment our send queue was empty, so every frame
		 * written before it was at the receiver's TCP. Once the
		 * connection has stayed up SETTLE ms past it, those frames count
		 * as delivered; the next empty queue starts the next round.
		 */
		{
			int64_t now = now_ms();
			if (landed_at != 0 && now - landed_at >= SYSLOG_SETTLE_MS) {
				acknowledge(s, landed_at);
				landed_at = 0;
			}
			if (landed_at == 0 && settled == 1)
				landed_at = now;
		}
		pthread_mutex_lock(&s->lock);
		stopping = s->stopping;
		idle = s->count == 0;
		if (stopping && stop_deadline == 0)
			stop_deadline = now_ms() + SYSLOG_STOP_FLUSH_MS;
		if ((stopping && (idle || now_ms() >= stop_deadline))) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (s->written >= s->count) {
			struct timespec until = deadline_in(SYSLOG_POLL_MS);
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (rc < 0)
		daemon_warn("%s: the connection to %s %s; reconnecting, the records "
			    "after the last acknowledged one are sent again",
			    FORWARD_SYSLOG_NAME, s->cfg->syslog.server,
			    rc == -ETIMEDOUT ? "stalled (stall_time)" : "broke");
}

static void *sender(void *arg)
{
	struct syslog_sink *s = arg;
	const struct config_syslog *c = &s->cfg->syslog;
	struct syslog_tls_settings settings = {
		.server = c->server, .ca_file = c->tls_ca,
		.cert_file = c->tls_cert, .key_file = c->tls_key,
		.verify_name = c->tls_hostname,
		.timeout_ms = (int)c->stall_s * 1000,
	};
	int pause_ms = SYSLOG_RETRY_MIN_MS, said = 0;
	char why[512];

	for (;;) {
		struct syslog_tls *t = NULL;
		int64_t dropped;
		int rc, stopping;

		pthread_mutex_lock(&s->lock);
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stopping)
			break;
		why[0] = '\0';
		rc = syslog_tls_connect(&settings, &t, why, sizeof(why));
		if (rc == 0) {
			daemon_info("%s: connected to %s (RFC 5425 TLS)",
				    FORWARD_SYSLOG_NAME, c->server);
			said = 0;
			pause_ms = SYSLOG_RETRY_MIN_MS;
			pthread_mutex_lock(&s->lock);
			s->connected = 1;
			pthread_mutex_unlock(&s->lock);
			serve(s, t);
			pthread_mutex_lock(&s->lock);
			s->connected = 0;
			dropped = drop_all(s);
			stopping = s->stopping;
			pthread_mutex_unlock(&s->lock);
			syslog_tls_close(t);
			if (dropped >= 0)
				forward_rewind(s->sink);
			if (stopping)
				break;
		} else if (!said) {
			daemon_warn("%s: %s; records wait in the store and are sent "
				    "when it answers", FORWARD_SYSLOG_NAME, why);
			said = 1;
		}
		pthread_mutex_lock(&s->lock);
		if (!s->stopping) {
			struct timespec until = deadline_in(pause_ms);
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
		}
		pthread_mutex_unlock(&s->lock);
		pause_ms = pause_ms * 2 > SYSLOG_RETRY_MAX_MS ? SYSLOG_RETRY_MAX_MS :
			pause_ms * 2;
	}
	return NULL;
}

/* ---- ops --------------------------------------------------------------- */

static int syslog_start(void *state, struct forward_sink *sink)
{
	struct syslog_sink *s = state;
	int rc;

	s->sink = sink;
	rc = pthread_create(&s->thread, NULL, sender, s);
	if (rc != 0)
		return -rc;
	s->thread_started = 1;
	return 0;
}

static void syslog_stop(void *state)
{
	struct syslog_sink *s = state;

	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	s->thread_started = 0;
	pthread_mutex_lock(&s->lock);
	(void)drop_all(s);
	pthread_mutex_unlock(&s->lock);
	free(s->ring);
	free(s->arena);
	s->ring = NULL;
	s->arena = NULL;
}

static const struct forward_sink_ops syslog_ops = {
	.kind = "syslog (ATNA over RFC 5425 TLS)",
	.start = syslog_start,
	.stop = syslog_stop,
	.send = syslog_send,
	.send_checkpoint = NULL,
	.tick = NULL,
};

int forward_syslog_add(const struct config *cfg)
{
	struct syslog_sink *s = &sink_state;
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->cap = cfg->syslog.max_pending;
	s->ring = calloc(s->cap, sizeof(*s->ring));
	s->arena = malloc(RECORD_ARENA_BYTES);
	if (s->ring == NULL || s->arena == NULL) {
		free(s->ring);
		free(s->arena);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	rc = forward_add(FORWARD_SYSLOG_NAME, &syslog_ops, s,
			 (int64_t)cfg->syslog.stall_s * 1000, NULL);
	if (rc < 0 && !s->thread_started) {
		free(s->ring);
		free(s->arena);
		s->ring = NULL;
		s->arena = NULL;
	}
	return rc;
}
