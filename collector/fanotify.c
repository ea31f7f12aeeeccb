/*
 * fanotify.c - the kernel as a safety net: PHI file reads and writes the
 * kernel saw that no shim record covers (a static binary, raw system
 * calls, io_uring, a program started without the preload).
 *
 * Owns one fanotify group (notification class, an open descriptor per
 * event) with marks on every directory under each file rule's root (the
 * literal part of its glob), re-walked every FANOTIFY_REWALK_MS so new
 * patient folders are marked too. A read (FAN_ACCESS) becomes a Viewed, a
 * write or close after writing (FAN_MODIFY, FAN_CLOSE_WRITE) a Modified,
 * once per process, file and kind within FANOTIFY_DEDUP_MS. Each waits
 * FANOTIFY_WINDOW_MS; a shim record of the same process, kind and file
 * (target or detail.real_path) arriving meanwhile covers it, else it is
 * stored with identity read from /proc at once and detail.source =
 * "kernel". A queue overflow is stored as Audit Records Lost.
 * Must never block the loop: the group is non-blocking, a pass reads at
 * most FANOTIFY_MAX_PASS events. Never stores anything about the
 * collector's own accesses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fanotify.h"
#include "follow.h"
#include "group_commit.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "store.h"

#define FANOTIFY_WINDOW_MS 1000        /* how long a shim record may take */
#define FANOTIFY_DEDUP_MS 10000        /* one report per process, file, kind */
#define FANOTIFY_REWALK_MS 5000
#define FANOTIFY_MAX_PASS 4096         /* events read per loop wake */
#define FANOTIFY_PENDING 1024         /* about 5.5 MiB when all in use */
#define FANOTIFY_PATH_MAX 1024         /* longer paths are decided at once */
#define FANOTIFY_SEEN_SLOTS 16384      /* power of two */
#define FANOTIFY_MAX_DIRS 65536
#define FANOTIFY_MASK (FAN_ACCESS | FAN_MODIFY | FAN_CLOSE_WRITE | \
		       FAN_EVENT_ON_CHILD)

/* An access the kernel saw, waiting for a shim record to cover it. */
struct pending {
	uint64_t key;
	int64_t seen_ms;
	int64_t sec;
	uint32_t nsec;
	enum event_type type;
	int rule;
	struct writer_identity who;
	char path[FANOTIFY_PATH_MAX];
	char patient[128];
};

/* A hash set of recent (pid, kind, path) keys with the time they came. */
struct seen {
	uint64_t key[FANOTIFY_SEEN_SLOTS];
	int64_t ms[FANOTIFY_SEEN_SLOTS];
};

static struct {
	const struct config *cfg;
	struct store *st;
	char host[256];
	struct loop_watch watch;
	int on;
	char state[160];
	int64_t last_walk_ms;
	unsigned dirs_marked;
	struct pending *pending;         /* a ring, oldest at head */
	unsigned head, count;
	struct seen *shim, *kernel;      /* shim records; kernel reports */
	uint64_t stored, merged, overflows;
} N = { .watch = { .fd = -1 } };

static int64_t fan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a over pid, kind and path. */
static uint64_t fan_key(int64_t pid, enum event_type type, const char *path)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ (uint64_t)pid) * 1099511628211ull;
	h = (h ^ (uint64_t)type) * 1099511628211ull;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h | 1;                  /* 0 marks a free slot */
}

static void seen_put(struct seen *s, uint64_t key, int64_t ms)
{
	unsigned i = (unsigned)key & (FANOTIFY_SEEN_SLOTS - 1);

	s->key[i] = key;               /* a collision forgets the older key */
	s->ms[i] = ms;
}

static int seen_has(const struct seen *s, uint64_t key, int64_t since_ms)
{
	unsigned i = (unsigned)key & (FANOTIFY_SEEN_SLOTS - 1);

	return s->key[i] == key && s->ms[i] >= since_ms;
}

/* Marks dir and every directory below it. */
static void fan_mark_tree(const char *dir, unsigned depth)
{
	char sub[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (depth > 64 || N.dirs_marked >= FANOTIFY_MAX_DIRS)
		return;
	if (fanotify_mark(N.watch.fd, FAN_MARK_ADD | FAN_MARK_ONLYDIR,
			  FANOTIFY_MASK, AT_FDCWD, dir) < 0)
		return;
	N.dirs_marked++;
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) <
		    sizeof(sub))
			fan_mark_tree(sub, depth + 1);
	}
	closedir(d);
}

/* Every rule root's directories, marked (again: new ones join). */
static void fan_walk(void)
{
	N.dirs_marked = 0;
	for (size_t i = 0; i < N.cfg->pattern_count; i++) {
		char root[PATHGLOB_MAX];

		if (pathglob_root(&N.cfg->patterns[i].glob, root, sizeof(root)) == 0)
			continue;
		fan_mark_tree(root, 0);
	}
	N.last_walk_ms = fan_now_ms();
}

/* Stores the kernel's record of p. 0 or a store error. */
static int fan_store(const struct pending *p)
{
	struct record r;

	record_init(&r);
	r.workspace_id = N.cfg->workspace_id;
	r.event_type = p->type;
	r.end_user_id = p->patient[0] != '\0' ? p->patient : NULL;
	r.timestamp_sec = p->sec;
	r.timestamp_nsec = p->nsec;
	r.host = N.host[0] != '\0' ? N.host : NULL;
	r.pid = p->who.pid;
	r.ppid = p->who.ppid;
	r.exe = p->who.exe[0] != '\0' ? p->who.exe : NULL;
	r.uid = p->who.uid;
	r.auid = p->who.auid;
	r.session = p->who.session;
	r.actor_user_id = p->who.actor;
	r.identity = p->who.kind;
	r.target = p->path;
	if (p->rule >= 0 && (size_t)p->rule < N.cfg->rule_count)
		r.rule = N.cfg->rules[p->rule].name;
	r.result = "ok";
	r.detail[0] = (struct record_detail){ .key = "source", .str = "kernel" };
	r.detail_count = 1;
	N.stored++;
	return group_append(&r, GROUP_OWN);   /* kept if its group fails */
}

/* Decides the pending accesses older than the window (all: force). */
static void fan_flush(int force)
{
	int64_t now = fan_now_ms();

	while (N.count > 0) {
		struct pending *p = &N.pending[N.head];

		if (!force && now - p->seen_ms < FANOTIFY_WINDOW_MS)
			break;
		if (seen_has(N.shim, p->key, p->seen_ms - FANOTIFY_DEDUP_MS))
			N.merged++;
		else if (fan_store(p) < 0)
			daemon_warn("kernel safety net: could not store the record of "
				    "pid %" PRId64 " on %s", p->who.pid, p->path);
		N.head = (N.head + 1) % FANOTIFY_PENDING;
		N.count--;
	}
}

/* The kernel dropped events: stored as the collector's own Records Lost. */
static void fan_lost(const char *reason)
{
	N.overflows++;
	daemon_warn("kernel safety net: %s", reason);
	(void)follow_collector_event(EVENT_RECORDS_LOST, "source", "kernel");
}

/* One event on a file: queued when it is PHI and not reported lately. */
static void fan_event(const struct fanotify_event_metadata *md)
{
	char link[32], path[PATH_MAX];
	struct pending *p;
	struct timespec ts;
	enum event_type type;
	ssize_t n;
	int64_t now;
	uint64_t key;

	if (md->pid == getpid())
		return;
	type = (md->mask & FAN_ACCESS) ? EVENT_FILE_VIEWED : EVENT_FILE_MODIFIED;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", md->fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || (size_t)n >= sizeof(path) - 1)
		return;
	path[n] = '\0';
	now = fan_now_ms();
	key = fan_key(md->pid, type, path);
	if (seen_has(N.kernel, key, now - FANOTIFY_DEDUP_MS))
		return;                    /* this process's file, reported */
	if (N.count == FANOTIFY_PENDING)
		fan_flush(1);              /* a flood: decide the oldest now */
	p = &N.pending[(N.head + N.count) % FANOTIFY_PENDING];
	p->rule = config_match_path(N.cfg, path, p->patient, sizeof(p->patient));
	if (p->rule < 0 || (size_t)n >= sizeof(p->path))
		return;                    /* not PHI (or a name too long to keep) */
	seen_put(N.kernel, key, now);
	memcpy(p->path, path, (size_t)n + 1);
	p->key = key;
	p->type = type;
	p->seen_ms = now;
	clock_gettime(CLOCK_REALTIME, &ts);
	p->sec = ts.tv_sec;
	p->nsec = (uint32_t)ts.tv_nsec;
	identity_clear(&p->who);
	p->who.pid = md->pid;
	(void)identity_proc_uid(md->pid, &p->who.uid);
	if (identity_read_proc(&p->who) < 0)
		strlcpy(p->who.exe, "", sizeof(p->who.exe));
	if (p->who.uid == RECORD_ABSENT) {
		snprintf(p->who.actor, sizeof(p->who.actor), "pid:%d",
			 (int)md->pid);
	} else {
		identity_resolve_actor(&p->who);
	}
	strlcpy(p->who.kind, "kernel", sizeof(p->who.kind));
	N.count++;
}

static void fan_on_readable(struct loop_watch *w, uint32_t events)
{
	char buf[8192] __attribute__((aligned(8)));
	unsigned handled = 0;
	ssize_t len;

	(void)events;
	while (handled < FANOTIFY_MAX_PASS &&
	       (len = read(w->fd, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *md = (void *)buf;

		for (; FAN_EVENT_OK(md, len); md = FAN_EVENT_NEXT(md, len)) {
			handled++;
			if (md->vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (md->mask & FAN_Q_OVERFLOW)
				fan_lost("the kernel's event queue overflowed: accesses "
					 "made without the shim may be missing");
			if (md->fd >= 0) {
				fan_event(md);
				close(md->fd);
			}
		}
	}
	fan_flush(0);
}

void safetynet_note_shim(const struct record *r)
{
	int64_t now;
	const char *real = NULL;

	if (!N.on || r->pid == RECORD_ABSENT || r->target == NULL ||
	    (r->event_type != EVENT_FILE_VIEWED &&
	     r->event_type != EVENT_FILE_MODIFIED &&
	     r->event_type != EVENT_FILE_CREATED))
		return;
	now = fan_now_ms();
	for (size_t i = 0; i < r->detail_count; i++)
		if (strcmp(r->detail[i].key, "real_path") == 0)
			real = r->detail[i].str;
	/* a Created covers the writes the kernel saw as Modified */
	seen_put(N.shim, fan_key(r->pid, r->event_type == EVENT_FILE_CREATED ?
				 EVENT_FILE_MODIFIED : r->event_type, r->target), now);
	if (real != NULL)
		seen_put(N.shim, fan_key(r->pid, r->event_type == EVENT_FILE_CREATED ?
					 EVENT_FILE_MODIFIED : r->event_type, real), now);
}

void safetynet_tick(void)
{
	if (!N.on)
		return;
	fan_flush(0);
	if (fan_now_ms() - N.last_walk_ms >= FANOTIFY_REWALK_MS)
		fan_walk();
}

const char *safetynet_state(void)
{
	return N.state;
}

/* Whether CAP_SYS_ADMIN (21) is in this process's effective set, from the
 * CapEff line of /proc/self/status. */
static int has_sys_admin(void)
{
	char line[256];
	unsigned long long eff;
	int yes = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			yes = (eff >> 21) & 1;
			break;
		}
	fclose(f);
	return yes;
}

int safetynet_start(const struct config *cfg, struct store *st)
{
	N.cfg = cfg;
	N.st = st;
	if (gethostname(N.host, sizeof(N.host) - 1) < 0)
		N.host[0] = '\0';
	if (!cfg->kernel_safety_net) {
		strlcpy(N.state, "off (kernel_safety_net = off)", sizeof(N.state));
		daemon_info("kernel safety net: %s", N.state);
		return 0;
	}
	if (cfg->pattern_count == 0) {
		strlcpy(N.state, "off (no file rules)", sizeof(N.state));
		daemon_info("kernel safety net: %s", N.state);
		return 0;
	}
	if (!has_sys_admin()) {
		/* Not even asked: a unit's system-call filter may forbid
		 * fanotify_init, and the answer would only be EPERM. */
		strlcpy(N.state, "off (the collector lacks CAP_SYS_ADMIN)", sizeof(N.state));
		daemon_warn("kernel safety net: %s; only programs under the shim "
			    "are audited", N.state);
		return 0;
	}
	N.watch.fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				   FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
				   O_RDONLY | O_LARGEFILE | O_CLOEXEC |
				   O_NOATIME);
	if (N.watch.fd < 0) {
		snprintf(N.state, sizeof(N.state), "off (fanotify: %s; the "
			 "collector needs CAP_SYS_ADMIN): accesses made without "
			 "the shim are not seen", strerror(errno));
		daemon_warn("kernel safety net: %s", N.state);
		return 0;
	}
	N.pending = calloc(FANOTIFY_PENDING, sizeof(*N.pending));
	N.shim = calloc(1, sizeof(*N.shim));
	N.kernel = calloc(1, sizeof(*N.kernel));
	if (N.pending == NULL || N.shim == NULL || N.kernel == NULL) {
		safetynet_stop();
		strlcpy(N.state, "off (out of memory)", sizeof(N.state));
		daemon_warn("kernel safety net: %s", N.state);
		return 0;
	}
	N.watch.handler = fan_on_readable;
	if (loop_add(&N.watch, EPOLLIN) < 0) {
		safetynet_stop();
		strlcpy(N.state, "off (epoll)", sizeof(N.state));
		daemon_warn("kernel safety net: %s", N.state);
		return 0;
	}
	N.on = 1;
	fan_walk();
	snprintf(N.state, sizeof(N.state), "on (fanotify, %u director%s marked)",
		 N.dirs_marked, N.dirs_marked == 1 ? "y" : "ies");
	daemon_info("kernel safety net: %s", N.state);
	return 0;
}

void safetynet_stop(void)
{
	if (N.on) {
		fan_on_readable(&N.watch, 0);
		fan_flush(1);
		daemon_info("kernel safety net: %" PRIu64 " access(es) stored from "
			    "the kernel, %" PRIu64 " covered by shim records, %"
			    PRIu64 " queue overflow(s)", N.stored, N.merged,
			    N.overflows);
	}
	if (N.watch.fd >= 0) {
		loop_remove(&N.watch);
		close(N.watch.fd);
	}
	N.watch.fd = -1;
	N.on = 0;
	free(N.pending);
	free(N.shim);
	free(N.kernel);
	N.pending = NULL;
	N.shim = N.kernel = NULL;
}
