/*
 * loop.c - the event loop: one epoll instance, descriptors with handlers.
 *
 * Owns the epoll descriptor and the wait, the clocks the collector reads
 * (loop_now_ms ...), and the signalfd and timerfd each process's loop
 * starts with; handlers decide everything else.
 * A handler may remove its own or any other watch: events of a watch removed
 * during the current round are dropped (the removed list is checked).
 * Must never know what a descriptor is for, or block except in epoll_wait.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "loop.h"

#define LOOP_MAX_EVENTS 64

static int loop_fd = -1;
static struct loop_watch *removed_this_round[LOOP_MAX_EVENTS];
static size_t removed_count;
static int in_round;

int loop_init(void)
{
	loop_fd = epoll_create1(EPOLL_CLOEXEC);
	return loop_fd < 0 ? -errno : 0;
}

void loop_fini(void)
{
	if (loop_fd >= 0)
		close(loop_fd);
	loop_fd = -1;
}

int loop_add(struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(loop_fd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_remove(struct loop_watch *w)
{
	if (loop_fd >= 0 && w->fd >= 0)
		(void)epoll_ctl(loop_fd, EPOLL_CTL_DEL, w->fd, NULL);
	if (in_round && removed_count < LOOP_MAX_EVENTS)
		removed_this_round[removed_count++] = w;
}

static int was_removed(const struct loop_watch *w)
{
	size_t i;

	for (i = 0; i < removed_count; i++)
		if (removed_this_round[i] == w)
			return 1;
	return 0;
}

int loop_run_once(int timeout_ms)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	int n, i;

	n = epoll_wait(loop_fd, events, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	in_round = 1;
	removed_count = 0;
	for (i = 0; i < n; i++) {
		struct loop_watch *w = events[i].data.ptr;

		if (was_removed(w))
			continue;
		w->handler(w, events[i].events);
	}
	in_round = 0;
	removed_count = 0;
	return n;
}

void loop_close(struct loop_watch *w)
{
	if (w->fd < 0)
		return;
	loop_remove(w);
	close(w->fd);
	w->fd = -1;
}

int64_t loop_now_ms(void)
{
	return loop_monotonic_ns() / 1000000;
}

int64_t loop_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t loop_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int loop_watch_signals_and_timer(struct loop_watch *signals, struct loop_watch *timer,
				 int period_ms)
{
	struct itimerspec period = {
		.it_interval = { .tv_sec = period_ms / 1000,
				 .tv_nsec = (long)(period_ms % 1000) * 1000000L },
	};
	sigset_t set;
	int rc;

	period.it_value = period.it_interval;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	signals->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	timer->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (signals->fd < 0 || timer->fd < 0)
		return -errno;
	if (timerfd_settime(timer->fd, 0, &period, NULL) < 0)
		return -errno;
	rc = loop_add(signals, EPOLLIN);
	if (rc == 0)
		rc = loop_add(timer, EPOLLIN);
	return rc;
}

int loop_listen_unix(struct loop_watch *w, const char *path, int type, int backlog,
		     const char *what)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (strlcpy(addr.sun_path, path, sizeof(addr.sun_path)) >= sizeof(addr.sun_path)) {
		daemon_error("%s path %s is too long", what, path);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);        /* stale: the pidfile says we own it */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, backlog) < 0) {
		rc = -errno;
		daemon_error("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	w->fd = fd;
	rc = loop_add(w, EPOLLIN);
	if (rc < 0) {
		close(fd);
		w->fd = -1;
	}
	return rc;
}
