/*
 * fanotify.c - the kernel as a safety net: PHI file accesses and changes
 * the kernel saw that no shim record covers (a static binary, raw system
 * calls, io_uring, a program started without the preload).
 *
 * Owns the access group (notification class, an open descriptor per
 * event) with marks on every directory under each file rule's root (the
 * literal part of its glob), re-walked every FANOTIFY_REWALK_MS so new
 * patient folders are marked too (the change group reports a new folder
 * at once). A read (FAN_ACCESS) becomes a Viewed, a
 * write or close after writing (FAN_MODIFY, FAN_CLOSE_WRITE) a Modified,
 * once per process, file and kind within FANOTIFY_DEDUP_MS. Each waits
 * FANOTIFY_WINDOW_MS; a shim record of the same process, kind and file
 * (target, target2 or detail.real_path) arriving meanwhile covers it, else
 * it is stored with identity read from /proc at once and detail.source =
 * "kernel". The changes (created, deleted, renamed, attributes) come from a
 * second group (fanotify_change.c) the same way: this file marks its
 * directories and decides its reports. Both kernel queues are bounded (the
 * kernel's fs.fanotify.max_queued_events), so that the collector's memory
 * stays bounded under any load; an overflow is stored as Audit Records
 * Lost. Must never block the loop: the groups are non-blocking, a pass
 * reads at most FANOTIFY_MAX_PASS events. Never stores anything about the
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
#include "fanotify_net.h"
#include "follow.h"
#include "group_commit.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "own_record.h"
#include "store.h"

#define FANOTIFY_WINDOW_MS 1000        /* how long a shim record may take */
#define FANOTIFY_DEDUP_MS 10000        /* one report per process, file, kind */
#define FANOTIFY_REWALK_MS 5000
#define FANOTIFY_MAX_PASS 4096         /* events read per loop wake */
#define FANOTIFY_PENDING 1024         /* about 6.5 MiB when all in use */
#define FANOTIFY_PATH_MAX 1024         /* longer paths are decided at once */
#define FANOTIFY_SEEN_SLOTS 16384      /* power of two */
#define FANOTIFY_SEEN_WAYS 4           /* power of two */
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
	char path2[FANOTIFY_PATH_MAX];   /* a rename's new name, or "" */
	char mode[16];                   /* a permissions change's, or "" */
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
	/* what covers a kernel report (shim records; the kernel's own Created
	 * for the writes after it), and the kernel's recent reports */
	struct seen *cover, *kernel;
	struct safetynet_counts counts;
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

/* Four ways per set: a key lands in the set its low bits name, replacing
 * itself or the oldest of the four (with one way, two of a program's 256
 * files sharing a slot were reported again on every read). */
static unsigned seen_set(uint64_t key)
{
	return (unsigned)key & (FANOTIFY_SEEN_SLOTS - FANOTIFY_SEEN_WAYS);
}

static void seen_put(struct seen *s, uint64_t key, int64_t ms)
{
	unsigned set = seen_set(key), victim = set;

	for (unsigned i = set; i < set + FANOTIFY_SEEN_WAYS; i++) {
		if (s->key[i] == key) {
			victim = i;
			break;
		}
		if (s->ms[i] < s->ms[victim])
			victim = i;
	}
	s->key[victim] = key;
	s->ms[victim] = ms;
}

static int seen_has(const struct seen *s, uint64_t key, int64_t since_ms)
{
	unsigned set = seen_set(key);

	for (unsigned i = set; i < set + FANOTIFY_SEEN_WAYS; i++)
		if (s->key[i] == key)
			return s->ms[i] >= since_ms;
	return 0;
}

/* Marks dir and every directory below it; with note_files, the change
 * group also notes each file's mode, owner and group (the first walk and a
 * new folder: later walks would only stat unchanged files again). */
static void fan_mark_tree(const char *dir, unsigned depth, int note_files)
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
	change_mark_dir(dir, dirfd(d));
	while ((e = readdir(d)) != NULL) {
		if (note_files && e->d_type == DT_REG)
			change_note_file(dirfd(d), e->d_name);
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) <
		    sizeof(sub))
			fan_mark_tree(sub, depth + 1, note_files);
	}
	closedir(d);
}

/* Every rule root's directories, marked (again: new ones join). */
static void fan_walk(int note_files)
{
	N.dirs_marked = 0;
	for (size_t i = 0; i < N.cfg->pattern_count; i++) {
		char root[PATHGLOB_MAX];

		if (pathglob_root(&N.cfg->patterns[i].glob, root, sizeof(root)) == 0)
			continue;
		fan_mark_tree(root, 0, note_files);
	}
	N.last_walk_ms = fan_now_ms();
	N.counts.marks = N.dirs_marked;
}

void safetynet_mark_tree(const char *dir)
{
	if (N.on)
		fan_mark_tree(dir, 0, 1);
}

void safetynet_count_event(void)
{
	N.counts.events++;
}

/* Stores the kernel's record of p. 0 or a store error. */
static int fan_store(const struct pending *p)
{
	struct record r;

	own_record_start(&r, N.cfg->workspace_id, p->type, N.host, &p->who);
	r.end_user_id = p->patient[0] != '\0' ? p->patient : NULL;
	r.timestamp_sec = p->sec;          /* when the kernel saw it */
	r.timestamp_nsec = p->nsec;
	r.target = p->path[0] != '\0' ? p->path : NULL;
	r.target2 = p->path2[0] != '\0' ? p->path2 : NULL;
	if (p->rule >= 0 && (size_t)p->rule < N.cfg->rule_count)
		r.rule = N.cfg->rules[p->rule].name;
	r.result = "ok";
	r.detail[0] = (struct record_detail){ .key = "source", .str = "kernel" };
	r.detail_count = 1;
	if (p->mode[0] != '\0')
		r.detail[r.detail_count++] = (struct record_detail){
			.key = "mode", .str = p->mode };
	N.counts.stored++;
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
		if (seen_has(N.cover, p->key, p->seen_ms - FANOTIFY_DEDUP_MS) ||
		    (p->path2[0] != '\0' &&
		     seen_has(N.cover, fan_key(p->who.pid, p->type, p->path2),
			      p->seen_ms - FANOTIFY_DEDUP_MS)))
			N.counts.merged++;
		else if (fan_store(p) < 0)
			daemon_warn("kernel safety net: could not store the record of "
				    "pid %" PRId64 " on %s", p->who.pid, p->path);
		N.head = (N.head + 1) % FANOTIFY_PENDING;
		N.count--;
	}
}

void safetynet_lost(const char *reason)
{
	struct record_detail detail[] = {
		{ .key = "source", .str = "kernel" },
		{ .key = "count", .str = "unknown" },  /* the kernel does not say */
		{ .key = "reason", .str = reason },
	};

	N.counts.overflows++;
	daemon_warn("kernel safety net: %s", reason);
	(void)follow_collector_event_about(EVENT_RECORDS_LOST, NULL, detail, 3);
}

/* The rule and patient of r: path's match, else path2's (a rename into
 * or out of a PHI tree). The rule's index, or -1 when neither is PHI. */
static int fan_match(const struct fan_report *r, char *patient, size_t cap)
{
	int rule = -1;

	if (r->path2 != NULL)
		rule = config_match_path(N.cfg, r->path2, patient, cap);
	if (rule < 0)
		rule = config_match_path(N.cfg, r->path, patient, cap);
	return rule;
}

/* The process's identity, read from /proc now (it may be gone soon). */
static void fan_identity(struct writer_identity *who, int32_t pid)
{
	identity_clear(who);
	who->pid = pid;
	(void)identity_proc_uid(pid, &who->uid);
	if (identity_read_proc(who) < 0)
		strlcpy(who->exe, "", sizeof(who->exe));
	if (who->uid == RECORD_ABSENT)
		snprintf(who->actor, sizeof(who->actor), "pid:%d", (int)pid);
	else
		identity_resolve_actor(who);
	strlcpy(who->kind, "kernel", sizeof(who->kind));
}

void safetynet_queue(const struct fan_report *r)
{
	struct pending *p;
	struct timespec ts;
	int64_t now = fan_now_ms();
	uint64_t key = fan_key(r->pid, r->type, r->path);
	int access = r->type == EVENT_FILE_VIEWED || r->type == EVENT_FILE_MODIFIED;

	if (!N.on || r->pid == getpid())
		return;
	if (access && seen_has(N.kernel, key, now - FANOTIFY_DEDUP_MS))
		return;                    /* this process's file, reported */
	if (N.count == FANOTIFY_PENDING)
		fan_flush(1);              /* a flood: decide the oldest now */
	p = &N.pending[(N.head + N.count) % FANOTIFY_PENDING];
	p->rule = fan_match(r, p->patient, sizeof(p->patient));
	if (p->rule < 0 || strlcpy(p->path, r->path, sizeof(p->path)) >= sizeof(p->path) ||
	    strlcpy(p->path2, r->path2 != NULL ? r->path2 : "", sizeof(p->path2)) >=
	    sizeof(p->path2))
		return;                    /* not PHI (or a name too long to keep) */
	if (access)
		seen_put(N.kernel, key, now);
	if (r->type == EVENT_FILE_CREATED)   /* the writes that follow */
		seen_put(N.cover, fan_key(r->pid, EVENT_FILE_MODIFIED, r->path), now);
	strlcpy(p->mode, r->mode != NULL ? r->mode : "", sizeof(p->mode));
	p->key = key;
	p->type = r->type;
	p->seen_ms = now;
	clock_gettime(CLOCK_REALTIME, &ts);
	p->sec = ts.tv_sec;
	p->nsec = (uint32_t)ts.tv_nsec;
	fan_identity(&p->who, r->pid);
	N.count++;
}

/* One event of the access group: its file's real path from the fd. */
static void fan_event(const struct fanotify_event_metadata *md)
{
	char link[32], path[PATH_MAX];
	struct fan_report r = { .pid = md->pid, .path = path };
	ssize_t n;

	if (md->pid == getpid())
		return;
	r.type = (md->mask & FAN_ACCESS) ? EVENT_FILE_VIEWED : EVENT_FILE_MODIFIED;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", md->fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0 || (size_t)n >= sizeof(path) - 1)
		return;
	path[n] = '\0';
	safetynet_queue(&r);
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
			N.counts.events++;
			if (md->vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (md->mask & FAN_Q_OVERFLOW)
				safetynet_lost("the kernel's event queue overflowed: accesses "
					 "made without the shim may be missing");
			if (md->fd >= 0) {
				fan_event(md);
				close(md->fd);
			}
		}
	}
	fan_flush(0);
}

/* The kinds of kernel report a shim record of type t covers, 0-ended. */
static const enum event_type *covered_kinds(enum event_type t)
{
	static const enum event_type viewed[] = { EVENT_FILE_VIEWED, 0 },
		modified[] = { EVENT_FILE_MODIFIED, 0 },
		created[] = { EVENT_FILE_CREATED, EVENT_FILE_MODIFIED, 0 },
		deleted[] = { EVENT_FILE_DELETED, 0 },
		renamed[] = { EVENT_FILE_RENAMED, 0 },
		permissions[] = { EVENT_FILE_PERMISSIONS_CHANGED, 0 };

	switch (t) {
	case EVENT_FILE_VIEWED: return viewed;
	case EVENT_FILE_MODIFIED: return modified;
	case EVENT_FILE_CREATED: return created;
	case EVENT_FILE_DELETED: return deleted;
	case EVENT_FILE_RENAMED: return renamed;
	case EVENT_FILE_PERMISSIONS_CHANGED: return permissions;
	default: return NULL;
	}
}

void safetynet_note_shim(const struct record *r)
{
	const enum event_type *kinds;
	const char *paths[3] = { r->target, r->target2, NULL };
	int64_t now;

	if (!N.on || r->pid == RECORD_ABSENT || r->target == NULL ||
	    (kinds = covered_kinds(r->event_type)) == NULL)
		return;
	now = fan_now_ms();
	for (size_t i = 0; i < r->detail_count; i++)
		if (strcmp(r->detail[i].key, "real_path") == 0)
			paths[2] = r->detail[i].str;
	for (const enum event_type *k = kinds; *k != 0; k++)
		for (size_t i = 0; i < 3; i++)
			if (paths[i] != NULL)
				seen_put(N.cover, fan_key(r->pid, *k, paths[i]), now);
}

void safetynet_tick(void)
{
	if (!N.on)
		return;
	fan_flush(0);
	if (fan_now_ms() - N.last_walk_ms >= FANOTIFY_REWALK_MS)
		fan_walk(0);
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

/* Stays off: says why in the log and in status. Always 0. */
static int fan_off(const char *why, int warn)
{
	snprintf(N.state, sizeof(N.state), "off (%s)", why);
	if (warn)
		daemon_warn("kernel safety net: %s; only programs under the shim "
			    "are audited", N.state);
	else
		daemon_info("kernel safety net: %s", N.state);
	return 0;
}

int safetynet_start(const struct config *cfg, struct store *st)
{
	char why[128];

	N.cfg = cfg;
	N.st = st;
	if (gethostname(N.host, sizeof(N.host) - 1) < 0)
		N.host[0] = '\0';
	if (!cfg->kernel_safety_net)
		return fan_off("kernel_safety_net = off", 0);
	if (cfg->pattern_count == 0)
		return fan_off("no file rules", 0);
	/* Not even asked without it: a unit's system-call filter may forbid
	 * fanotify_init, and the answer would only be EPERM. */
	if (!has_sys_admin())
		return fan_off("the collector lacks CAP_SYS_ADMIN", 1);
	/* A bounded queue (no FAN_UNLIMITED_QUEUE): the kernel keeps at most
	 * fs.fanotify.max_queued_events for a stalled collector, then says it
	 * overflowed. */
	N.watch.fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				   FAN_UNLIMITED_MARKS,
				   O_RDONLY | O_LARGEFILE | O_CLOEXEC |
				   O_NOATIME);
	if (N.watch.fd < 0) {
		snprintf(why, sizeof(why), "fanotify: %s", strerror(errno));
		return fan_off(why, 1);
	}
	N.pending = calloc(FANOTIFY_PENDING, sizeof(*N.pending));
	N.cover = calloc(1, sizeof(*N.cover));
	N.kernel = calloc(1, sizeof(*N.kernel));
	N.watch.handler = fan_on_readable;
	if (N.pending == NULL || N.cover == NULL || N.kernel == NULL ||
	    loop_add(&N.watch, EPOLLIN) < 0) {
		safetynet_stop();
		return fan_off("out of memory or epoll", 1);
	}
	if (change_start() < 0)
		daemon_warn("kernel safety net: %s", change_state());
	N.on = 1;
	fan_walk(1);
	snprintf(N.state, sizeof(N.state), "on (fanotify, %u director%s marked; "
		 "reads, writes; %s)", N.dirs_marked,
		 N.dirs_marked == 1 ? "y" : "ies", change_state());
	daemon_info("kernel safety net: %s", N.state);
	return 0;
}

const struct safetynet_counts *safetynet_counts(void)
{
	return &N.counts;
}

void safetynet_stop(void)
{
	if (N.on) {
		fan_on_readable(&N.watch, 0);
		change_stop();             /* reads what is left first */
		fan_flush(1);
		daemon_info("kernel safety net: %" PRIu64 " event(s) read, %"
			    PRIu64 " stored from the kernel, %" PRIu64 " covered "
			    "by shim records, %" PRIu64 " queue overflow(s)",
			    N.counts.events, N.counts.stored, N.counts.merged,
			    N.counts.overflows);
	}
	change_stop();
	if (N.watch.fd >= 0) {
		loop_remove(&N.watch);
		close(N.watch.fd);
	}
	N.watch.fd = -1;
	N.on = 0;
	free(N.pending);
	free(N.cover);
	free(N.kernel);
	N.pending = NULL;
	N.cover = N.kernel = NULL;
}
