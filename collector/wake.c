/*
 * wake.c - owns the collector's wake objects for mapped spool files: one
 * memfd page, sealed (shrink, grow, future write, seal) after the collector
 * mapped it writable, whose first 32-bit word says "the collector sleeps";
 * and one non-blocking eventfd, watched by the loop, that writers signal
 * only while that word is set. Both are shared by every writer.
 * The collector writes the word (wake_sleep, wake_awake); writers can only
 * read it (the seals stop any writable mapping or write after ours) and can
 * only make the collector wake early, never keep it asleep: the timer tick
 * still passes over every file.
 * Must never block, and never read anything a writer sends through the
 * eventfd beyond draining its counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"
#include "loop.h"
#include "wake.h"

static struct {
	int page_fd;
	uint32_t *asleep;                 /* our writable mapping of the page */
	struct loop_watch event;
	unsigned long long signals;
	int watched;                      /* event is in this process's loop */
} W = { .page_fd = -1, .event = { .fd = -1 } };

static void on_event(struct loop_watch *w, uint32_t events)
{
	uint64_t count;

	(void)events;
	if (read(w->fd, &count, sizeof(count)) == (ssize_t)sizeof(count))
		W.signals++;
}

int wake_start(void)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
		F_SEAL_SEAL;
	void *page;
	int rc;

	W.page_fd = memfd_create("phitraild-wake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (W.page_fd < 0)
		goto fail;
	if (ftruncate(W.page_fd, HANDOFF_WAKE_PAGE_BYTES) < 0)
		goto fail;
	page = mmap(NULL, HANDOFF_WAKE_PAGE_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED, W.page_fd, 0);
	if (page == MAP_FAILED)
		goto fail;
	W.asleep = page;
	if (fcntl(W.page_fd, F_ADD_SEALS, seals) < 0)
		goto fail;
	W.event.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (W.event.fd < 0)
		goto fail;
	W.event.handler = on_event;
	return 0;
fail:
	rc = -errno;
	daemon_warn("no mapped spool files (writers append with write()): %s",
		    strerror(errno));
	wake_stop();
	return rc;
}

int wake_watch(void)
{
	int rc;

	if (!wake_ready())
		return -EBADF;
	rc = loop_add(&W.event, EPOLLIN);
	if (rc < 0) {
		daemon_warn("no mapped spool files (writers append with write()): %s",
			    strerror(-rc));
		return rc;
	}
	W.watched = 1;
	return 0;
}

void wake_stop(void)
{
	if (W.event.fd >= 0 && !W.watched) {  /* the parent's: never watched */
		close(W.event.fd);
		W.event.fd = -1;
	}
	loop_close(&W.event);
	W.watched = 0;
	if (W.asleep != NULL)
		munmap(W.asleep, HANDOFF_WAKE_PAGE_BYTES);
	W.asleep = NULL;
	if (W.page_fd >= 0)
		close(W.page_fd);
	W.page_fd = -1;
}

int wake_ready(void)
{
	return W.asleep != NULL && W.event.fd >= 0;
}

int wake_page_fd(void)
{
	return W.page_fd;
}

int wake_event_fd(void)
{
	return W.event.fd;
}

void wake_sleep(void)
{
	if (W.asleep == NULL)
		return;
	__atomic_store_n(W.asleep, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void wake_awake(void)
{
	if (W.asleep != NULL)
		__atomic_store_n(W.asleep, 0, __ATOMIC_RELAXED);
}

unsigned long long wake_signals(void)
{
	return W.signals;
}
