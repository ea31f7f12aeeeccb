/*
 * loop.h - the collector's event loop: epoll over descriptors, each with a
 * handler. It knows nothing of what the descriptors carry.
 */
#ifndef PHITRAILD_LOOP_H
#define PHITRAILD_LOOP_H

#include <stdint.h>

struct loop_watch;
typedef void loop_handler(struct loop_watch *w, uint32_t events);

/* One watched descriptor; the owner embeds it and keeps it alive. */
struct loop_watch {
	int fd;
	loop_handler *handler;
	void *context;
};

int loop_init(void);
void loop_fini(void);
/* Starts watching w->fd for events (EPOLLIN ...). 0 or -errno. */
int loop_add(struct loop_watch *w, uint32_t events);
/* Stops watching (before the owner closes the descriptor). */
void loop_remove(struct loop_watch *w);
/* Stops watching w and closes its descriptor; w->fd is -1 after (nothing
 * happens when it was -1 already). */
void loop_close(struct loop_watch *w);
/*
 * Listens on the Unix socket at path (type SOCK_STREAM or SOCK_SEQPACKET,
 * non-blocking, backlog), mode 0666 (the kernel names every peer; who may
 * do what is decided per peer), after removing a stale socket file there,
 * and watches it (EPOLLIN) with w's handler. 0 or -errno; the reason is
 * logged with what ("query socket").
 */
int loop_listen_unix(struct loop_watch *w, const char *path, int type, int backlog,
		     const char *what);
/*
 * Waits at most timeout_ms (-1: forever) and calls the handlers of every
 * ready descriptor. Returns the number handled, or -errno (not -EINTR).
 */
int loop_run_once(int timeout_ms);

/*
 * SIGTERM and SIGINT blocked and read from signals->fd (a signalfd),
 * SIGPIPE ignored, timer->fd a timerfd firing every period_ms; both
 * watched with the handlers the caller set. 0 or -errno.
 */
int loop_watch_signals_and_timer(struct loop_watch *signals, struct loop_watch *timer,
				 int period_ms);

/* Monotonic milliseconds. */
int64_t loop_now_ms(void);
/* Monotonic nanoseconds (durations). */
int64_t loop_monotonic_ns(void);
/* Wall-clock nanoseconds since the epoch (times that are stored or shown,
 * never durations). */
int64_t loop_realtime_ns(void);

#endif
