/*
 * parent.c - phitraild's privileged parent: keeps what needs a privilege
 * and hands the rest to the store process.
 *
 * Owns the store process's birth (store_confine_prepare, then
 * store_process_start), the ingest socket (ingest.c, claim.c; each spool
 * file handed over with broker_adopt), the answers to the store's requests
 * (broker.c) and the reaping of its children. SIGTERM or SIGINT stops
 * ingest and passes the signal on; the store's exit status is phitraild's.
 * A store process that dies otherwise brings phitraild down with status
 * 1: nothing is lost (the spool files stay, their offsets are in the
 * store; the next start follows them all). A dead signer is reaped and
 * logged here; the store process asks for another.
 * Must never parse a spool frame, a query or SQLite.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "broker.h"
#include "follow.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"
#include "parent.h"
#include "signer.h"
#include "store_process.h"
#include "unaudited.h"
#include "wake.h"

#define STORE_READY_TIMEOUT_MS 600000   /* a big store is checked first */

static struct {
	pid_t store;                       /* 0: gone */
	int store_status;                  /* its exit status, once gone */
	volatile int stopping;
	struct loop_watch signals, timer, requests, adopt;
} P = { .signals = { .fd = -1 }, .timer = { .fd = -1 }, .requests = { .fd = -1 },
	.adopt = { .fd = -1 } };

static void store_ended(int status)
{
	if (WIFEXITED(status)) {
		P.store_status = WEXITSTATUS(status);
		if (!P.stopping)
			daemon_error("the store process (pid %d) exited with status %d: "
				     "phitraild stops; nothing is lost, the next start "
				     "follows every spool file", (int)P.store,
				     WEXITSTATUS(status));
	} else {
		P.store_status = 1;
		daemon_error("the store process (pid %d) was killed by signal %d: "
			     "phitraild stops; nothing is lost, the next start "
			     "follows every spool file", (int)P.store, WTERMSIG(status));
	}
	P.store = 0;
}

/* Every child that ended: the store process, or a signer. */
static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == P.store) {
			store_ended(status);
		} else if (broker_forget_signer(pid)) {
			if (WIFSIGNALED(status))
				daemon_error("the signer (pid %d) was killed by signal "
					     "%d: starting another", (int)pid,
					     WTERMSIG(status));
			else if (WEXITSTATUS(status) != 0)
				daemon_error("the signer (pid %d) exited with status %d: "
					     "starting another", (int)pid,
					     WEXITSTATUS(status));
		}
	}
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			P.stopping = 1;
}

static void on_timer(struct loop_watch *w, uint32_t events)
{
	uint64_t expirations;

	(void)events;
	if (read(w->fd, &expirations, sizeof(expirations)) < 0) {
		/* the next tick comes anyway */
	}
	ingest_tick();
	reap();
}

static void on_requests(struct loop_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	broker_serve();
}

/* The store's end of the adopt socket closed: it is gone (or going). */
static void on_adopt_hangup(struct loop_watch *w, uint32_t events)
{
	(void)events;
	loop_remove(w);
	w->fd = -1;
	reap();
}

static int watch(struct loop_watch *w, int fd, loop_handler *handler, uint32_t events)
{
	w->fd = fd;
	w->handler = handler;
	return loop_add(w, events);
}

static int start_loop(int adopt_sock)
{
	int rc;

	if (loop_init() < 0)
		return -errno;
	P.signals.handler = on_signal;
	P.timer.handler = on_timer;
	rc = loop_watch_signals_and_timer(&P.signals, &P.timer, FOLLOW_TICK_MS);
	if (rc == 0)
		rc = watch(&P.requests, broker_request_fd(), on_requests, EPOLLIN);
	if (rc == 0)
		rc = watch(&P.adopt, adopt_sock, on_adopt_hangup, 0);   /* HUP only */
	return rc;
}

/* Forks the store process; 0 or -errno. */
static int start_store(const struct config *cfg, int pidfile_fd)
{
	struct store_user u;
	int adopt[2], requests[2];

	(void)store_confine_prepare(cfg, &u);
	if (signer_configure(cfg) < 0)
		return -ENAMETOOLONG;
	(void)wake_start();           /* without it: write() hand-off only */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, adopt) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, requests) < 0)
		return -errno;
	P.store = store_process_start(cfg, &u, adopt[1], requests[1],
				      (const int[]){ adopt[0], requests[0],
						     pidfile_fd }, 3);
	close(adopt[1]);
	close(requests[1]);
	if (P.store < 0)
		return (int)P.store;
	broker_parent_init(adopt[0], requests[0], cfg->spool);
	unaudited_set_relay(broker_unaudited);
	if (u.change)
		broker_set_owner(u.uid, u.gid);
	return start_loop(adopt[0]);
}

/* Passes the stop on and waits for the store's clean stop. */
static void stop_store(void)
{
	if (P.store > 0)
		(void)kill(P.store, SIGTERM);
	while (P.store > 0) {
		(void)loop_run_once(100);
		reap();
	}
}

int parent_run(const struct config *cfg, int pidfile_fd)
{
	int rc;

	rc = start_store(cfg, pidfile_fd);
	if (rc < 0)
		daemon_fatal("cannot start the store process: %s", strerror(-rc));
	setproctitle("parent");
	rc = broker_wait_ready(STORE_READY_TIMEOUT_MS);
	if (rc == 0 && ingest_start(cfg) < 0)
		rc = -EADDRNOTAVAIL;
	if (rc < 0) {
		if (rc != -EPIPE)
			daemon_error("cannot listen, or the store process did not start "
				     "(see above): is the socket directory writable?");
		P.stopping = 1;
	} else {
		daemon_info("collecting: ingest %s, queries %s, store %s (flush = %s)",
			    cfg->socket_path, cfg->query_socket_path, cfg->database,
			    cfg->flush == CONFIG_FLUSH_EVERY_RECORD ? "every-record" :
			    "batch");
	}
	while (!P.stopping && P.store > 0) {
		rc = loop_run_once(FOLLOW_TICK_MS);
		if (rc < 0) {
			daemon_error("event loop: %s", strerror(-rc));
			break;
		}
		ingest_poll();            /* claims that came during an ADOPT */
	}
	P.stopping = 1;
	setproctitle("stopping");
	ingest_stop();
	stop_store();
	wake_stop();
	loop_fini();
	return rc < 0 && P.store_status == 0 ? 1 : P.store_status;
}
