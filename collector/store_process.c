/*
 * store_process.c - the store process: everything that parses untrusted
 * bytes (spool frames, query requests) and runs SQLite, apart from the
 * privileged parent (parent.c) and from the signing key (signer.c).
 *
 * Owns its start (everything that needs a privilege opened first), its
 * confinement (store_confine.c), READY to the parent, then the forwarders
 * and the loop: SIGTERM/SIGINT, a timer every FOLLOW_TICK_MS, passes over
 * the spool files while they find frames, then wake.c's sleep and epoll;
 * and the clean stop (drain, commit, "Audit Collector Stopped"). It dies
 * with its parent (PR_SET_PDEATHSIG): a killed collector is one crash.
 * Must never know the ingest protocol: the parent verifies writers and
 * hands their files over (broker.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "aggregate.h"
#include "broker.h"
#include "checkpointer.h"
#include "fanotify.h"
#include "follow.h"
#include "forward.h"
#include "forward_nats.h"
#include "forward_syslog.h"
#include "group_commit.h"
#include "identity.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "query_server.h"
#include "signer.h"
#include "store.h"
#include "store_process.h"
#include "wake.h"

/* A pass that read fewer frames than this waits a little for more. */
#define BUSY_FEW_FRAMES 64
#define BUSY_BATCH_WAIT_MS 1

static volatile int stopping;
static int aggregating;   /* aggregate.c runs instead of following */
static struct loop_watch signal_watch = { .fd = -1 }, timer_watch = { .fd = -1 };

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stopping = 1;
}

static void show_state(void)
{
	static int64_t last_ms;
	const struct follow_counters *fc = follow_counters();
	int64_t now = loop_now_ms();

	if (now - last_ms < 1000)
		return;
	last_ms = now;
	setproctitle("store: following %zu spool file(s), %" PRIu64 " record(s) stored",
		     follow_file_count(), fc->records);
}

static void on_timer(struct loop_watch *w, uint32_t events)
{
	uint64_t expirations;

	(void)events;
	if (read(w->fd, &expirations, sizeof(expirations)) < 0) {
		/* nothing to do: the next tick comes anyway */
	}
	query_server_tick();
	if (aggregating)
		return;
	follow_tick();
	safetynet_tick();
	links_tick();
	checkpointer_tick();
	forward_tick();
	show_state();
}

static int start_signals_and_timer(void)
{
	signal_watch.handler = on_signal;
	timer_watch.handler = on_timer;
	return loop_watch_signals_and_timer(&signal_watch, &timer_watch, FOLLOW_TICK_MS);
}

/* The store, its checkpoints and the loop: what both modes need. */
static struct store *open_store(const struct config *cfg, signer_spawner *spawner)
{
	struct store *store = NULL;
	const char *why = NULL;
	int rc;

	if (loop_init() < 0)
		daemon_fatal("epoll: %s", strerror(errno));
	rc = start_signals_and_timer();
	if (rc < 0)
		daemon_fatal("signals and timer: %s", strerror(-rc));
	/* The key goes to its own process before anything untrusted is read. */
	if (signer_start(cfg, spawner) < 0)
		daemon_fatal("no signing key, so no tamper evidence: fix %s (see above) "
			     "and start again", cfg->key_file);
	rc = store_open(&store, cfg->database, cfg->flush, &why);
	if (rc < 0)
		daemon_fatal("cannot open the store %s: %s", cfg->database, why);
	group_init(store);
	if (checkpointer_start(cfg, store) < 0)
		daemon_fatal("cannot open the store %s for checkpoints (see above)",
			     cfg->database);
	return store;
}

/* In a thread born now: after the confinement when following. */
static void start_wal_checkpoints(struct store *store)
{
	if (store_wal_start(store, STORE_WAL_CHECKPOINT_PAGES) < 0)
		daemon_warn("store: no WAL checkpoint thread: commits copy the WAL");
}

static void close_store(struct store *store)
{
	checkpointer_fini();
	group_fini();
	store_close(store);
	if (signal_watch.fd >= 0)
		close(signal_watch.fd);
	if (timer_watch.fd >= 0)
		close(timer_watch.fd);
	loop_fini();
}

int store_process_aggregate(const struct config *cfg)
{
	struct store *store;
	int status;

	aggregating = 1;
	store = open_store(cfg, NULL);
	start_wal_checkpoints(store);
	if (query_server_start(cfg, store) < 0)
		daemon_fatal("cannot listen (see above)");
	daemon_info("aggregating from %s into %s", cfg->aggregate.servers, cfg->database);
	setproctitle("aggregating");
	status = aggregate_run(cfg, store, &stopping);
	query_server_stop();
	(void)checkpointer_stop();
	close_store(store);
	signer_stop();
	return status;
}

/* Everything that opens with a privilege, before the store confines itself. */
static void start_following(const struct config *cfg, struct store *store)
{
	if (follow_start(cfg, store) < 0)
		daemon_fatal("cannot start following %s (see above)", cfg->spool);
	(void)wake_watch();               /* without it: the timer's passes */
	if (query_server_start(cfg, store) < 0)
		daemon_fatal("cannot listen (see above): is the socket directory writable?");
	(void)safetynet_start(cfg, store);
	(void)links_start(cfg);
}

/* After the confinement: their threads are born without privilege (a
 * capability set is a thread's own), so their credential files must be
 * readable by the store's user. */
static void start_forwarders(const struct config *cfg, struct store *store)
{
	int rc;

	rc = forward_init(store);
	if (rc == 0 && cfg->forward.enabled)
		rc = forward_nats_add(cfg, store);
	if (rc == 0 && cfg->syslog.enabled)
		rc = forward_syslog_add(cfg);
	if (rc < 0)
		daemon_fatal("forwarding: %s", strerror(-rc));
}

static int run(void)
{
	int rc, frames = 0;

	while (!stopping) {
		int timeout = follow_ms_until_due();

		if (timeout < 0 || timeout > FOLLOW_TICK_MS)
			timeout = FOLLOW_TICK_MS;
		if (frames >= BUSY_FEW_FRAMES) {
			timeout = 0;
		} else if (frames > 0) {
			if (timeout > BUSY_BATCH_WAIT_MS)
				timeout = BUSY_BATCH_WAIT_MS;
		} else if (group_first_pending_ms() < 0) {
			/* Asleep from here: one more pass sees what was published
			 * before a writer could read the word. Not while records
			 * wait for their group's commit: the pass at its deadline
			 * (timeout) reads what writers publish meanwhile into the
			 * same commit, so waking early would only cost each of
			 * them a write() to the eventfd and gain nothing. */
			wake_sleep();
			if (follow_pass() > 0)
				timeout = 0;
		}
		rc = loop_run_once(timeout);
		wake_awake();
		if (rc < 0) {
			daemon_error("event loop: %s", strerror(-rc));
			return 1;
		}
		frames = follow_pass();
		checkpointer_tick();
		(void)forward_pass();
	}
	wake_awake();
	return 0;
}

static int stop(void)
{
	int rc, status = 0;

	setproctitle("store: stopping");
	broker_store_stop();
	query_server_stop();
	safetynet_stop();
	rc = follow_stop();
	links_stop();
	if (rc < 0) {
		daemon_error("stopped without storing everything (%s): the spool files "
			     "are kept and the next start reads them", strerror(-rc));
		status = 1;
	} else {
		const struct follow_counters *fc = follow_counters();

		daemon_info("stopped: %" PRIu64 " record(s) stored, %" PRIu64
			    " reported lost, %" PRIu64 " spool file(s) quarantined, "
			    "woken %llu time(s) by writers of mapped spool files",
			    fc->records, fc->lost, fc->tampered, wake_signals());
		(void)checkpointer_stop();
	}
	forward_stop();
	wake_stop();
	follow_fini();
	return status;
}

/* Not exit(): nothing of the parent's runs here; not _exit() either: a
 * sanitizer's leak check at _exit would trace, which the filter forbids. */
void store_process_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}
#define exit_now store_process_exit

static void __attribute__((noreturn))
store_main(const struct config *cfg, const struct store_user *u, int adopt_sock,
	   int request_sock)
{
	struct store *store;
	int status;

	setproctitle("store: starting");
	broker_store_init(adopt_sock, request_sock);
	store = open_store(cfg, broker_spawn_signer);
	start_following(cfg, store);
	if (broker_store_watch() < 0)
		daemon_fatal("epoll: %s", strerror(errno));
	if (store_confine(cfg, u) < 0)
		daemon_fatal("the store process cannot confine itself (see above)");
	identity_set_exe_reader(broker_exe);      /* other users' programs */
	start_wal_checkpoints(store);
	start_forwarders(cfg, store);
	if (broker_say_ready() < 0)
		daemon_fatal("the parent process is gone");
	status = run();
	if (stop() != 0)
		status = 1;
	close_store(store);
	signer_stop();
	exit_now(status);
}

pid_t store_process_start(const struct config *cfg, struct store_user *u,
			  int adopt_sock, int request_sock, const int *parent_fds,
			  size_t parent_count)
{
	size_t i;
	pid_t parent = getpid(), pid;

	u->parent = parent;
	pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	for (i = 0; i < parent_count; i++)
		if (parent_fds[i] >= 0)
			close(parent_fds[i]);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		exit_now(1);
	store_main(cfg, u, adopt_sock, request_sock);
}
