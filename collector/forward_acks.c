/*
 * forward_acks.c - the queue of the sinks' answers: forward_ack,
 * forward_nack, forward_rewind and forward_again may be called from any
 * thread (cnats calls back on its own threads); they queue the answer
 * under a mutex and write an eventfd that the collector's event loop
 * watches, whose handler runs forward_pass (forward.c), which takes the
 * queue on the loop thread and applies it to the sinks' windows.
 * Must never block a sink's thread beyond the mutex, and never touch a
 * sink: only forward.c does, on the loop thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "forward.h"
#include "forward_acks.h"
#include "loop.h"

static struct {
	pthread_mutex_t lock;
	struct forward_ack_entry *queue;    /* guarded by lock */
	size_t queue_len, queue_cap;
	int queue_failed;                   /* an ack could not be queued */
	struct forward_ack_entry *drained;  /* loop thread only */
	size_t drained_cap;
	struct loop_watch watch;
} Q = { .lock = PTHREAD_MUTEX_INITIALIZER, .watch = { .fd = -1 } };

static void queue_ack(struct forward_sink *sink, enum forward_stream stream,
		      int64_t id, int64_t last, int ok)
{
	uint64_t one = 1;
	int wake;

	pthread_mutex_lock(&Q.lock);
	if (Q.queue_len == Q.queue_cap) {
		size_t cap = Q.queue_cap ? Q.queue_cap * 2 : 1024;
		void *grown = reallocarray(Q.queue, cap, sizeof(*Q.queue));

		if (grown == NULL) {
			/* Losing an ack only delays the cursor: a rewind sends
			 * everything after it again. */
			Q.queue_failed = 1;
			pthread_mutex_unlock(&Q.lock);
			return;
		}
		Q.queue = grown;
		Q.queue_cap = cap;
	}
	Q.queue[Q.queue_len++] = (struct forward_ack_entry){
		.sink = sink, .id = id, .last = last, .stream = (unsigned char)stream,
		.ok = (unsigned char)ok,
	};
	wake = Q.queue_len == 1;
	pthread_mutex_unlock(&Q.lock);
	if (wake && Q.watch.fd >= 0 && write(Q.watch.fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero, or the next tick drains */
	}
}

void forward_ack(struct forward_sink *sink, enum forward_stream stream, int64_t id)
{
	queue_ack(sink, stream, id, id, 1);
}

void forward_nack(struct forward_sink *sink, enum forward_stream stream, int64_t id)
{
	queue_ack(sink, stream, id, id, 0);
}

void forward_rewind(struct forward_sink *sink)
{
	queue_ack(sink, FORWARD_RECORDS, 0, 0, FORWARD_ACK_REWIND);
}

void forward_again(struct forward_sink *sink, int64_t first, int64_t last)
{
	queue_ack(sink, FORWARD_RECORDS, first, last, FORWARD_ACK_AGAIN);
}

static void on_wake(struct loop_watch *w, uint32_t events)
{
	uint64_t value;

	(void)events;
	if (read(w->fd, &value, sizeof(value)) < 0) {
		/* EAGAIN: already read */
	}
	(void)forward_pass();
}

int forward_acks_start(void)
{
	int rc;

	Q.watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (Q.watch.fd < 0)
		return -errno;
	Q.watch.handler = on_wake;
	rc = loop_add(&Q.watch, EPOLLIN);
	if (rc < 0) {
		close(Q.watch.fd);
		Q.watch.fd = -1;
	}
	return rc;
}

void forward_acks_stop(void)
{
	loop_close(&Q.watch);
	free(Q.queue);
	free(Q.drained);
	Q.queue = Q.drained = NULL;
	Q.queue_cap = Q.drained_cap = Q.queue_len = 0;
}

size_t forward_acks_take(const struct forward_ack_entry **entries, int *lost)
{
	struct forward_ack_entry *swap;
	size_t n, cap;

	pthread_mutex_lock(&Q.lock);
	swap = Q.queue;
	cap = Q.queue_cap;
	n = Q.queue_len;
	*lost = Q.queue_failed;
	Q.queue = Q.drained;
	Q.queue_cap = Q.drained_cap;
	Q.queue_len = 0;
	Q.queue_failed = 0;
	pthread_mutex_unlock(&Q.lock);
	Q.drained = swap;
	Q.drained_cap = cap;
	*entries = Q.drained;
	return n;
}
