/*
 * aggregate_fetch.c - the aggregator's fetcher thread (aggregate_fetch.h):
 * it keeps up to AGGREGATE_FETCH_AHEAD pulls of the durable consumer
 * fetched ahead while the main thread stores the ones before, so that
 * JetStream's work on the next messages overlaps the store's work on
 * these. Owns a fetched list until aggregate_fetch_take hands it over;
 * must never acknowledge anything (that is the main thread's, after its
 * commit), and at its stop gives back what it holds with a nak.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "aggregate_fetch.h"
#include "log.h"

#define AGGREGATE_FETCH_AHEAD 4
#define AGGREGATE_FETCH_WAIT_MS 200
#define AGGREGATE_FETCH_IDLE_MS 100

static struct {
	natsSubscription *sub;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	natsMsgList ring[AGGREGATE_FETCH_AHEAD];
	int head, count, stop, started;
} F = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };

/*
 * natsSubscription_FetchRequest (with MaxBytes) of cnats 3.4.1 was seen
 * returning more messages than its list holds under load: the plain
 * fetch, whose batch bounds memory (AGGREGATE_FETCH_BATCH times the
 * server's max_payload), and a check of the count.
 */
static int fetch(natsMsgList *list)
{
	natsStatus s;

	memset(list, 0, sizeof(*list));
	s = natsSubscription_Fetch(list, F.sub, AGGREGATE_FETCH_BATCH,
				   AGGREGATE_FETCH_WAIT_MS, NULL);
	if (s == NATS_OK && list->Count > 0 && list->Count <= AGGREGATE_FETCH_BATCH)
		return list->Count;
	if (s == NATS_OK && list->Count > AGGREGATE_FETCH_BATCH)
		daemon_error("[aggregate] a fetch returned %d messages for a batch "
			     "of %d: ignored (delivered again)", list->Count,
			     AGGREGATE_FETCH_BATCH);
	natsMsgList_Destroy(list);
	memset(list, 0, sizeof(*list));
	return s == NATS_OK || s == NATS_TIMEOUT ? 0 : -EAGAIN;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void *fetcher(void *unused)
{
	natsMsgList list;
	struct timespec ts;
	int n;

	(void)unused;
	pthread_mutex_lock(&F.lock);
	while (!F.stop) {
		if (F.count == AGGREGATE_FETCH_AHEAD) {
			pthread_cond_wait(&F.changed, &F.lock);
			continue;
		}
		pthread_mutex_unlock(&F.lock);
		n = fetch(&list);
		pthread_mutex_lock(&F.lock);
		if (n > 0) {
			F.ring[(F.head + F.count) % AGGREGATE_FETCH_AHEAD] = list;
			F.count++;
			pthread_cond_broadcast(&F.changed);
		} else if (n < 0 && !F.stop) {
			/* not connected: cnats reconnects meanwhile */
			deadline_in(&ts, AGGREGATE_FETCH_IDLE_MS);
			pthread_cond_timedwait(&F.changed, &F.lock, &ts);
		}
	}
	pthread_mutex_unlock(&F.lock);
	return NULL;
}

int aggregate_fetch_start(natsSubscription *sub)
{
	int rc;

	F.sub = sub;
	F.head = F.count = F.stop = 0;
	rc = pthread_create(&F.thread, NULL, fetcher, NULL);
	if (rc != 0)
		return -rc;
	F.started = 1;
	return 0;
}

int aggregate_fetch_take(natsMsgList *out, int wait_ms)
{
	struct timespec ts;
	int n = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&F.lock);
	if (F.count == 0 && wait_ms > 0) {
		deadline_in(&ts, wait_ms);
		while (F.count == 0 && !F.stop &&
		       pthread_cond_timedwait(&F.changed, &F.lock, &ts) == 0)
			;
	}
	if (F.count > 0) {
		*out = F.ring[F.head];
		F.head = (F.head + 1) % AGGREGATE_FETCH_AHEAD;
		F.count--;
		n = out->Count;
		pthread_cond_broadcast(&F.changed);
	}
	pthread_mutex_unlock(&F.lock);
	return n;
}

void aggregate_fetch_stop(void)
{
	int i;

	if (!F.started)
		return;
	pthread_mutex_lock(&F.lock);
	F.stop = 1;
	pthread_cond_broadcast(&F.changed);
	pthread_mutex_unlock(&F.lock);
	pthread_join(F.thread, NULL);
	F.started = 0;
	while (F.count > 0) {
		natsMsgList *list = &F.ring[F.head];

		for (i = 0; i < list->Count; i++)
			(void)natsMsg_Nak(list->Msgs[i], NULL);
		natsMsgList_Destroy(list);
		F.head = (F.head + 1) % AGGREGATE_FETCH_AHEAD;
		F.count--;
	}
}
