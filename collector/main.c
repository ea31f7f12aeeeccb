/*
 * main.c - phitraild: arguments, configuration, directories, the pidfile,
 * signals and the event loop.
 *
 * Owns the daemon's life: start (config errors are printed and exit 1,
 * unless --accept-errors;
 * pidfile_open on <database>.pid so two collectors never share a store;
 * directories created with their modes), the loop (signalfd for SIGTERM and
 * SIGINT, a timerfd every FOLLOW_TICK_MS as the safety net, epoll via
 * loop.c) and the clean stop (drain, commit, "Audit Collector Stopped",
 * exit 0). setproctitle shows what the collector is doing.
 * The loop passes over the spool files while passes find frames (mapped
 * writers publish without a system call); when one finds none it says it
 * sleeps (wake.c), passes once more, and only then waits in epoll, where a
 * writer's eventfd signal, inotify, a socket or the timer wakes it.
 * Must never know the ingest or query protocols or the spool format: those
 * live in ingest.c, query_server.c and follow.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bsd/libutil.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include "aggregate.h"
#include "checkpointer.h"
#include "config.h"
#include "fanotify.h"
#include "follow.h"
#include "forward.h"
#include "forward_syslog.h"
#include "forward_nats.h"
#include "group_commit.h"
#include "handoff.h"
#include "ingest.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "merkle.h"
#include "query_server.h"
#include "signer.h"
#include "store.h"
#include "version.h"
#include "wake.h"


static volatile int stopping;
static int aggregating;   /* aggregate.c runs instead of ingest and follow */

/* A pass that read fewer frames than this waits a little for more. */
#define BUSY_FEW_FRAMES 64
#define BUSY_BATCH_WAIT_MS 1
static struct loop_watch signal_watch = { .fd = -1 }, timer_watch = { .fd = -1 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: phitraild [--config FILE] [--accept-errors] [--aggregate]\n"
		"  Collects phitrail audit records into the store; runs in the\n"
		"  foreground until SIGTERM or SIGINT.\n"
		"  --config FILE  configuration (default: $" CONFIG_ENV ", else "
		CONFIG_DEFAULT_PATH ")\n"
		"  --accept-errors  start even when the configuration has errors\n"
		"                 (what was read is used; status reports them)\n"
		"  --aggregate    consume the fleet's records ([aggregate]) into\n"
		"                 the store instead of collecting this host's\n"
		"  --help         this text\n"
		"  --version      the version\n");
}

/* mkdir -p of path with mode for every directory it creates. */
static int make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0) {
		if (errno != EEXIST)
			return -errno;
		return 0;
	}
	return chmod(buf, mode) < 0 ? -errno : 0;   /* mode despite the umask */
}

static void make_parent_dir(const char *file, mode_t mode)
{
	char dir[PATH_MAX], *slash;
	int rc;

	strlcpy(dir, file, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	rc = make_dirs(dir, mode);
	if (rc < 0)
		daemon_fatal("cannot create directory %s: %s (create it, or fix the "
			     "path in the configuration)", dir, strerror(-rc));
}

/* A spool subdirectory with exactly its mode (fixed when it already exists). */
static void make_spool_dir(const struct config *cfg, const char *name, mode_t mode)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", cfg->spool, name);
	rc = make_dirs(path, mode);
	if (rc == 0 && lstat(path, &st) == 0 && (st.st_mode & 07777) != mode &&
	    chmod(path, mode) < 0)
		rc = -errno;
	if (rc == 0 && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc < 0)
		daemon_fatal("cannot create %s with mode %04o: %s", path,
			     (unsigned)mode, strerror(-rc));
}

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
	setproctitle("following %zu spool file(s), %" PRIu64 " record(s) stored",
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
	ingest_tick();
	follow_tick();
	safetynet_tick();
	links_tick();
	checkpointer_tick();
	forward_tick();
	show_state();
}

static int start_signals_and_timer(void)
{
	struct itimerspec period = {
		.it_interval = { .tv_nsec = FOLLOW_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = FOLLOW_TICK_MS * 1000000L },
	};
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	signal_watch.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	timer_watch.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (signal_watch.fd < 0 || timer_watch.fd < 0)
		return -errno;
	if (timerfd_settime(timer_watch.fd, 0, &period, NULL) < 0)
		return -errno;
	signal_watch.handler = on_signal;
	timer_watch.handler = on_timer;
	rc = loop_add(&signal_watch, EPOLLIN);
	if (rc == 0)
		rc = loop_add(&timer_watch, EPOLLIN);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "accept-errors", no_argument, NULL, 'E' },
		{ "aggregate", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	extern char **environ;
	const char *config_arg = NULL, *path, *why = NULL;
	char pid_path[PATH_MAX + 8];
	struct store *store = NULL;
	struct pidfh *pidfh;
	pid_t other = -1;
	int opt, rc, status = 0, frames, accept_errors = 0, aggregate = 0;

	setproctitle_init(argc, argv, environ);
	while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_arg = optarg;
			break;
		case 'E':
			accept_errors = 1;
			break;
		case 'a':
			aggregate = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("phitraild %s\n", PHITRAIL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	umask(077);
	path = config_choose_path(config_arg);
	rc = config_load(&cfg, path);
	if (rc < 0) {
		daemon_error("%s", cfg.error);
		if (cfg.error_count > 1)
			daemon_error("%s: %u more error(s) after this one; fix it and run "
				     "\"phitrail policy check\" for the rest", path,
				     cfg.error_count - 1);
		/* A half-read policy means unaudited PHI: only when told so. */
		if (rc != -EINVAL || !accept_errors)
			daemon_fatal("configuration %s has errors: fix them and start "
				     "again%s", path, rc == -EINVAL ? " (or start with "
				     "--accept-errors to run on what was read)" : "");
		daemon_warn("starting on %s despite %u error(s) (--accept-errors): "
			    "what the broken lines meant is not applied", path,
			    cfg.error_count);
	}
	if (merkle_init() < 0)
		daemon_fatal("libsodium cannot start");
	if (aggregate && !cfg.aggregate.enabled)
		daemon_fatal("--aggregate needs an [aggregate] section in %s", path);
	aggregate = aggregating = cfg.aggregate.enabled;

	make_parent_dir(cfg.database, 0750);
	snprintf(pid_path, sizeof(pid_path), "%s.pid", cfg.database);
	pidfh = pidfile_open(pid_path, 0644, &other);
	if (pidfh == NULL) {
		if (errno == EEXIST)
			daemon_fatal("another phitraild (pid %d) is using %s: stop it, or "
				     "give this one another database", (int)other,
				     cfg.database);
		daemon_fatal("cannot create pidfile %s: %s", pid_path, strerror(errno));
	}
	if (pidfile_write(pidfh) < 0)
		daemon_fatal("cannot write pidfile %s: %s", pid_path, strerror(errno));

	make_parent_dir(cfg.socket_path, 0755);
	make_parent_dir(cfg.query_socket_path, 0755);
	rc = make_dirs(cfg.spool, 0755);
	if (rc < 0)
		daemon_fatal("cannot create %s: %s", cfg.spool, strerror(-rc));
	make_spool_dir(&cfg, SPOOL_DIR_ACTIVE, 0700);
	make_spool_dir(&cfg, SPOOL_DIR_INCOMING, 01733);
	make_spool_dir(&cfg, "quarantine", 0700);

	/* The key goes to its own process before anything untrusted is read. */
	make_parent_dir(cfg.key_file, 0750);
	if (signer_start(&cfg) < 0) {
		pidfile_remove(pidfh);
		daemon_fatal("no signing key, so no tamper evidence: fix %s (see above) "
			     "and start again", cfg.key_file);
	}
	rc = store_open(&store, cfg.database, cfg.flush, &why);
	if (rc < 0) {
		pidfile_remove(pidfh);
		daemon_fatal("cannot open the store %s: %s", cfg.database, why);
	}
	group_init(store);
	if (checkpointer_start(&cfg, store) < 0) {
		group_fini();
		store_close(store);
		pidfile_remove(pidfh);
		daemon_fatal("cannot open the store %s for checkpoints (see above)",
			     cfg.database);
	}
	if (loop_init() < 0)
		daemon_fatal("epoll: %s", strerror(errno));
	rc = start_signals_and_timer();
	if (rc < 0)
		daemon_fatal("signals and timer: %s", strerror(-rc));
	if (aggregate) {
		if (query_server_start(&cfg, store) < 0)
			daemon_fatal("cannot listen (see above)");
		daemon_info("aggregating from %s into %s", cfg.aggregate.servers,
			    cfg.database);
		setproctitle("aggregating");
		status = aggregate_run(&cfg, store, &stopping);
		query_server_stop();
		(void)checkpointer_stop();
		checkpointer_fini();
		store_close(store);
		loop_fini();
		pidfile_remove(pidfh);
		return status;
	}
	rc = forward_init(store);
	if (rc == 0 && cfg.forward.enabled)
		rc = forward_nats_add(&cfg, store);
	if (rc == 0 && cfg.syslog.enabled)
		rc = forward_syslog_add(&cfg);
	if (rc < 0)
		daemon_fatal("forwarding: %s", strerror(-rc));
	if (follow_start(&cfg, store) < 0) {
		group_fini();
		store_close(store);
		pidfile_remove(pidfh);
		daemon_fatal("cannot start following %s (see above)", cfg.spool);
	}
	(void)wake_start();               /* without it: write() hand-off only */
	if (ingest_start(&cfg) < 0 || query_server_start(&cfg, store) < 0) {
		follow_fini();
		group_fini();
		store_close(store);
		pidfile_remove(pidfh);
		daemon_fatal("cannot listen (see above): is the socket directory writable?");
	}
	(void)safetynet_start(&cfg, store);
	(void)links_start(&cfg);
	daemon_info("collecting: ingest %s, queries %s, store %s (flush = %s)",
		    cfg.socket_path, cfg.query_socket_path, cfg.database,
		    cfg.flush == CONFIG_FLUSH_EVERY_RECORD ? "every-record" : "batch");
	setproctitle("starting");

	frames = 0;
	while (!stopping) {
		int timeout = follow_ms_until_due();

		if (timeout < 0 || timeout > FOLLOW_TICK_MS)
			timeout = FOLLOW_TICK_MS;
		if (frames >= BUSY_FEW_FRAMES) {
			timeout = 0;
		} else if (frames > 0) {
			if (timeout > BUSY_BATCH_WAIT_MS)
				timeout = BUSY_BATCH_WAIT_MS;
		} else {
			/* Asleep from here: one more pass sees what was published
			 * before a writer could read the word. */
			wake_sleep();
			if (follow_pass() > 0)
				timeout = 0;
		}
		rc = loop_run_once(timeout);
		wake_awake();
		if (rc < 0) {
			daemon_error("event loop: %s", strerror(-rc));
			status = 1;
			break;
		}
		frames = follow_pass();
		ingest_poll();            /* claims that came during a commit */
		checkpointer_tick();
		(void)forward_pass();
	}
	wake_awake();

	setproctitle("stopping");
	ingest_stop();
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
	checkpointer_fini();
	wake_stop();
	follow_fini();
	group_fini();
	store_close(store);
	if (signal_watch.fd >= 0)
		close(signal_watch.fd);
	if (timer_watch.fd >= 0)
		close(timer_watch.fd);
	loop_fini();
	pidfile_remove(pidfh);
	return status;
}
