/*
 * status_report.c - the collector's answer to "status" (common/protocol/status.h):
 * gathers, when asked, what the other parts already count - the store's
 * newest id, follow.c's counters and spool backlog, the checkpointer's
 * newest checkpoint, unaudited.c's programs - and measures the store's
 * files and the free space of their file system (stat, statvfs).
 * Each forwarder's backlog and lag come from forward.c, the kernel safety
 * net's state and counts from fanotify.c.
 * Must never write anything, and never take longer than a few system
 * calls per followed file (it runs inside the event loop).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <bsd/string.h>

#include "checkpointer.h"
#include "fanotify.h"
#include "follow.h"
#include "forward.h"
#include "loop.h"
#include "status.h"
#include "status_report.h"
#include "unaudited.h"
#include "version.h"

static const struct config *S_cfg;
static struct store *S_store;
static int64_t S_started_ns;

void status_report_start(const struct config *cfg, struct store *st)
{
	S_cfg = cfg;
	S_store = st;
	S_started_ns = loop_realtime_ns();
}

static int64_t file_bytes(const char *path, const char *suffix)
{
	char name[PATH_MAX + 8];
	struct stat st;

	snprintf(name, sizeof(name), "%s%s", path, suffix);
	return stat(name, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Each forwarding sink's name, backlog and lag (forward.c). */
static void forwarders_fill(struct status_reply *s)
{
	struct forward_status f;

	s->forwarder_count = 0;
	for (size_t i = 0; i < forward_sink_count() &&
	     s->forwarder_count < STATUS_MAX_FORWARDERS; i++) {
		struct status_forwarder *out = &s->forwarders[s->forwarder_count];

		if (forward_status(i, &f) < 0)
			continue;
		strlcpy(out->name, f.name != NULL ? f.name : "?", sizeof(out->name));
		out->backlog = f.backlog;
		out->lag_ms = f.lag_ms;
		s->forwarder_count++;
	}
}

/* The kernel safety net's state and counts (fanotify.c). */
static void safetynet_fill(struct status_reply *s)
{
	const struct safetynet_counts *c = safetynet_counts();

	strlcpy(s->kernel_net, safetynet_state(), sizeof(s->kernel_net));
	s->kernel_marks = (int64_t)c->marks;
	s->kernel_events = (int64_t)c->events;
	s->kernel_merged = (int64_t)c->merged;
	s->kernel_stored = (int64_t)c->stored;
	s->kernel_overflows = (int64_t)c->overflows;
}

long status_report_encode(void *buf, size_t cap)
{
	static struct status_reply s;
	const struct follow_counters *fc = follow_counters();
	struct statvfs vfs;
	uint64_t tree_size = 0;
	int64_t time_ns = 0;

	status_reply_init(&s);
	strlcpy(s.version, PHITRAIL_VERSION, sizeof(s.version));
	s.now_ns = loop_realtime_ns();
	s.started_ns = S_started_ns;
	s.records = store_next_id(S_store) - 1;
	s.stored_since_start = (int64_t)fc->records;
	s.lost_since_start = (int64_t)fc->lost;
	s.tampered_since_start = (int64_t)fc->tampered;
	follow_backlog(&s.spool_files, &s.spool_bytes, &s.spool_oldest_ns);
	if (s.spool_oldest_ns == INT64_MIN)
		s.spool_oldest_ns = STATUS_NONE;
	if (checkpointer_last(&time_ns, &tree_size) == 0) {
		s.checkpoint_ns = time_ns;
		s.checkpoint_size = (int64_t)tree_size;
	}
	s.checkpoint_interval_s = S_cfg->checkpoint_interval_s;
	s.store_bytes = file_bytes(S_cfg->database, "") +
		file_bytes(S_cfg->database, "-wal") +
		file_bytes(S_cfg->database, "-shm");
	if (statvfs(S_cfg->database, &vfs) == 0) {
		s.disk_free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
		s.disk_total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
	}
	strlcpy(s.config, S_cfg->path, sizeof(s.config));
	s.config_errors = S_cfg->error_count;
	if (S_cfg->error_count > 0)
		strlcpy(s.config_error, S_cfg->error, sizeof(s.config_error));
	unaudited_fill(&s);
	forwarders_fill(&s);
	safetynet_fill(&s);
	return status_reply_encode(&s, buf, cap);
}
