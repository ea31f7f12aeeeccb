/*
 * follow.c - following spool files into the store.
 *
 * Owns the list of followed files (active/ ones the collector created for a
 * verified peer, incoming/ ones the shim wrote while the collector was
 * down), reading their new frames, the rules that turn a writer's record
 * into a stored one, and when a group is committed (group_commit.c owns
 * the group itself; the offsets move with it through its listener):
 *   - the identity fields (pid, uid, auid, session, actor, identity)
 *     always come from what the collector verified for the file, never from
 *     the record; ppid and exe too when known (a "file-owner" record whose
 *     writer was gone before adoption keeps the writer's own ppid and exe);
 *   - a forward jump of seq stores "Audit Records Lost", and so does a
 *     writer's own count of records it could not hand off ("lost_before"
 *     in a record's detail); its count of PHI calls denied in deny mode
 *     ("denied_while_down") goes to the log; a bad frame or a
 *     file that shrank stores "Audit Spool Tampered" and quarantines the
 *     file; an undecodable payload (valid frame, bad msgpack) or a writer
 *     record claiming a collector event stores "Audit Spool Tampered" with
 *     the reason and the offset, is counted, and reading goes on;
 *   - records and the offsets after them are committed together; a failed
 *     commit rolls every file back to its committed offset and retries;
 *   - a zero length word ends the data for now (a mapped writer's file
 *     is preallocated with zeros, so its size says nothing: a first small
 *     read tells an idle file); a bad frame of a live writer is read once
 *     more before it is called damaged (the kernel's copy may see a mapped
 *     frame being published out of order); once the writer is gone, a
 *     zero length word followed by anything but zeros is a frame reserved
 *     and never written: reading goes on at the next valid frame and the
 *     skipped record(s) are reported lost, never silently dropped;
 *   - a file is deleted (then its progress row) only after everything read
 *     from it is committed and its writer (pid + start time) is gone;
 *   - only incoming/ names ending in ".spool" are adopted (and ".claim"
 *     ones whose claim was lost: handoff.h; claim.c takes the others), and
 *     never an inode already followed under another name (no record read
 *     twice).
 * Must never trust a byte of a spool file: every length is checked by
 * spool_frame_decode and every payload by record_decode.
 *
 * This file owns the list, the commit policy, retiring files, start,
 * registration and stop; reading frames is follow_read.c, adopting files
 * follow_adopt.c, the collector's own records follow_own.c (what they
 * share: follow_impl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bsd/string.h>

#include "follow_impl.h"
#include "group_commit.h"
#include "handoff.h"
#include "log.h"

struct follow_state follow = { .spool_fd = -1, .active_fd = -1, .incoming_fd = -1,
			       .quarantine_fd = -1, .inotify_fd = -1 };

static void file_unwatch_exit(struct followed_file *f)
{
	if (f->exit_watch.fd < 0)
		return;
	loop_remove(&f->exit_watch);
	close(f->exit_watch.fd);
	f->exit_watch.fd = -1;
}

static void file_free(struct followed_file *f)
{
	file_unwatch_exit(f);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* After a successful commit: quarantine or delete the files done with. */
static void files_reap(void)
{
	struct followed_file **link = &follow.files, *f;
	int rc;

	while ((f = *link) != NULL) {
		if (f->quarantine) {
			char target[STORE_NAME_MAX + 16];

			snprintf(target, sizeof(target), "%.*s-%s",
				 (int)(f->base - f->name - 1), f->name, f->base);
			if (renameat(f->dirfd, f->base, follow.quarantine_fd, target) < 0)
				daemon_error("cannot move %s to quarantine/: %s",
					     f->name, strerror(errno));
			else
				daemon_warn("%s moved to quarantine/%s", f->name, target);
		} else if (f->finished) {
			if (unlinkat(f->dirfd, f->base, 0) < 0 && errno != ENOENT)
				daemon_error("cannot delete %s: %s", f->name,
					     strerror(errno));
			daemon_debug("%s done", f->name);
		} else {
			link = &f->next;
			continue;
		}
		/* The file is gone: its row goes with the next commit. */
		rc = store_progress_delete(follow.store, f->name);
		if (rc < 0) {
			group_rollback();
			daemon_error("cannot forget %s in the store (%s): done at "
				     "the next start", f->name, strerror(-rc));
		}
		*link = f->next;
		follow.file_count--;
		file_free(f);
	}
}

/*
 * The group's listener: a rollback rewinds every file to what is committed
 * (its records are read again), and retries later.
 */
static void files_rewind(void)
{
	struct followed_file *f;

	follow.counters.commit_failures++;
	for (f = follow.files; f != NULL; f = f->next) {
		f->progress.offset = f->committed_offset;
		f->progress.next_seq = f->committed_next_seq;
		f->finished = f->quarantine = 0;
		f->progress.flags &= ~FOLLOW_FLAG_QUARANTINED;
		f->needs_put = 1;
		f->dirty = 1;
	}
	follow.retry_after_ms = loop_now_ms() + COMMIT_RETRY_MS;
}

/* The group's listener: what was read is committed. */
static void files_committed(void)
{
	struct followed_file *f;

	for (f = follow.files; f != NULL; f = f->next) {
		f->committed_offset = f->progress.offset;
		f->committed_next_seq = f->progress.next_seq;
	}
}

static void report_rollback(int rc, const char *what)
{
	daemon_error("cannot %s the store (%s): rolled back, spool files kept, "
		     "%zu record(s) of the collector kept for the next group, "
		     "retrying in %d ms", what, strerror(-rc), group_kept(),
		     COMMIT_RETRY_MS);
}

/* A store error in a group: roll back (files_rewind) and say so. */
void abandon_transaction(int rc, const char *what)
{
	group_rollback();
	report_rollback(rc, what);
}

/* Commits; on failure the group rolled back (files_rewind). */
int file_commit(void)
{
	int rc = group_commit();

	if (rc < 0)
		report_rollback(rc, "commit to");
	return rc;
}

static int commit_due(int64_t now)
{
	int64_t first = group_first_pending_ms();

	if (!group_open())
		return 0;
	if (group_pending() == 0 || first < 0)
		return 1;                 /* only progress rows: no reason to wait */
	return group_pending() >= STORE_GROUP_RECORDS ||
	       now - first >= (int64_t)follow.cfg->batch_delay_ms;
}

static void commit_and_reap(void)
{
	if (file_commit() == 0)
		files_reap();
}

int follow_process(void)
{
	struct followed_file *f;
	int64_t now = loop_now_ms();
	int rc, more = 1, rounds = 0;

	follow.frames_this_pass = 0;
	if (now < follow.retry_after_ms)
		return 0;
	if (group_kept() > 0 && (rc = group_resume()) < 0) {
		abandon_transaction(rc, "write to");
		return 0;
	}
	while (more && rounds++ < 4) {
		more = 0;
		for (f = follow.files; f != NULL; f = f->next) {
			if (!f->dirty)
				continue;
			rc = file_read(f);
			if (rc < 0) {
				abandon_transaction(rc, "write to");
				return 0;
			}
			more |= f->dirty;
		}
	}
	if (commit_due(loop_now_ms()))
		commit_and_reap();
	else if (!group_open())
		files_reap();
	return follow.frames_this_pass > INT32_MAX ? INT32_MAX : (int)follow.frames_this_pass;
}

int follow_pass(void)
{
	struct followed_file *f;

	for (f = follow.files; f != NULL; f = f->next)
		f->dirty = 1;
	return follow_process();
}

int follow_ms_until_due(void)
{
	int64_t first = group_first_pending_ms(), wait;

	if (!group_open()) {
		if (group_kept() == 0)
			return -1;
		wait = follow.retry_after_ms - loop_now_ms();   /* to group_resume */
		return wait < 0 ? 0 : (int)wait;
	}
	if (first < 0)
		return 0;
	wait = first + (int64_t)follow.cfg->batch_delay_ms - loop_now_ms();
	return wait < 0 ? 0 : (int)wait;
}

struct followed_file *file_find(const char *name)
{
	struct followed_file *f;

	for (f = follow.files; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

struct followed_file *file_new(const char *dir, int dirfd, const char *base, int fd)
{
	struct followed_file *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	if ((size_t)snprintf(f->name, sizeof(f->name), "%s/%s", dir, base) >=
	    sizeof(f->name)) {
		free(f);
		return NULL;
	}
	f->base = f->name + strlen(dir) + 1;
	f->dirfd = dirfd;
	f->fd = fd;
	f->exit_watch.fd = -1;
	f->dirty = 1;
	identity_clear(&f->progress.who);
	strlcpy(f->progress.name, f->name, sizeof(f->progress.name));
	f->next = follow.files;
	follow.files = f;
	follow.file_count++;
	return f;
}

/* The followed file that is the same inode as st, if any. */
struct followed_file *file_find_inode(const struct stat *st)
{
	struct followed_file *f;
	struct stat fst;

	for (f = follow.files; f != NULL; f = f->next)
		if (fstat(f->fd, &fst) == 0 && fst.st_dev == st->st_dev &&
		    fst.st_ino == st->st_ino)
			return f;
	return NULL;
}

void follow_tick(void)
{
	struct followed_file *f;
	int64_t now = loop_now_ms();

	for (f = follow.files; f != NULL; f = f->next) {
		f->dirty = 1;
		if (f->writer_gone || now - f->last_alive_check_ms < ALIVE_CHECK_MS)
			continue;
		f->last_alive_check_ms = now;
		if (!identity_alive(f->writer_pid, f->writer_start_ticks))
			f->writer_gone = 1;   /* read once more, then retire */
	}
	if (follow.rescan_wanted || now - follow.last_rescan_ms >= RESCAN_MS) {
		follow.rescan_wanted = 0;
		adopt_scan_incoming();
	}
	follow_process();
}

/* --- start, register, stop ----------------------------------------------- */

static int open_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		daemon_error("cannot open %s/%s: %s", follow.cfg->spool, name, strerror(errno));
	return fd < 0 ? -errno : fd;
}

int follow_start(const struct config *cfg, struct store *st)
{
	int rc;

	static const struct group_listener listener = {
		.committed = files_committed,
		.rolled_back = files_rewind,
	};

	follow.cfg = cfg;
	follow.store = st;
	group_listen(&listener);
	if (gethostname(follow.host, sizeof(follow.host) - 1) < 0)
		strlcpy(follow.host, "localhost", sizeof(follow.host));
	own_identify_self();
	follow.spool_fd = open(cfg->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (follow.spool_fd < 0) {
		daemon_error("cannot open %s: %s", cfg->spool, strerror(errno));
		return -errno;
	}
	if ((follow.active_fd = open_dir(follow.spool_fd, SPOOL_DIR_ACTIVE)) < 0 ||
	    (follow.incoming_fd = open_dir(follow.spool_fd, SPOOL_DIR_INCOMING)) < 0 ||
	    (follow.quarantine_fd = open_dir(follow.spool_fd, "quarantine")) < 0)
		return -EIO;
	follow.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (follow.inotify_fd < 0) {
		daemon_error("inotify: %s", strerror(errno));
		return -errno;
	}
	{
		char path[PATH_MAX + 16];
		const uint32_t mask = IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO;

		snprintf(path, sizeof(path), "%s/" SPOOL_DIR_ACTIVE, cfg->spool);
		follow.active_wd = inotify_add_watch(follow.inotify_fd, path, mask);
		snprintf(path, sizeof(path), "%s/" SPOOL_DIR_INCOMING, cfg->spool);
		follow.incoming_wd = inotify_add_watch(follow.inotify_fd, path, mask);
		if (follow.active_wd < 0 || follow.incoming_wd < 0) {
			daemon_error("inotify on %s: %s", cfg->spool, strerror(errno));
			return -errno;
		}
	}
	follow.inotify_watch.fd = follow.inotify_fd;
	follow.inotify_watch.handler = adopt_on_inotify;
	rc = loop_add(&follow.inotify_watch, EPOLLIN);
	if (rc < 0)
		return rc;

	rc = follow_collector_event(EVENT_COLLECTOR_STARTED, NULL, NULL);
	if (rc == 0)
		rc = store_progress_each(follow.store, adopt_row, NULL);
	if (rc == 0)
		adopt_scan_active_orphans();
	follow.starting = 1;                /* no claim can be queued yet: */
	adopt_scan_incoming();               /* ingest_start comes after us */
	follow.starting = 0;
	if (rc == 0)
		rc = file_commit();
	if (rc < 0) {
		daemon_error("cannot record the start in the store: %s", strerror(-rc));
		return rc;
	}
	files_reap();
	daemon_info("following %zu spool file(s) left from before", follow.file_count);
	return 0;
}

int follow_active_dirfd(void)
{
	return follow.active_fd;
}

/* The writer has exited (its pidfd is readable): read to the end, retire. */
static void on_writer_exit(struct loop_watch *w, uint32_t events)
{
	struct followed_file *f = w->context;

	(void)events;
	file_unwatch_exit(f);
	f->writer_gone = 1;
	f->dirty = 1;
}

/*
 * Learns of the writer's exit from the kernel at once (a pidfd in the
 * loop) instead of from the next liveness check, so that the file of a
 * short-lived writer is read to its end and retired straight away rather
 * than peeked at on every pass for up to ALIVE_CHECK_MS. A pidfd is readable
 * only once the whole thread group has exited: nothing can write to the
 * file after that. It is taken after the peer's start time was read, and
 * kept only if that start time still matches (the pid not reused between).
 * Without pidfds (older kernels), the liveness check alone decides.
 */
static void file_watch_exit(struct followed_file *f)
{
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)f->writer_pid, 0);

	if (fd < 0) {
		/* Gone already (a forked child's claim is often read after its
		 * exit): read to the end now, not at the next liveness check. */
		if (errno == ESRCH)
			f->writer_gone = f->dirty = 1;
		return;
	}
	if (!identity_alive(f->writer_pid, f->writer_start_ticks)) {
		close(fd);
		f->writer_gone = f->dirty = 1;
		return;
	}
	f->exit_watch.fd = fd;
	f->exit_watch.handler = on_writer_exit;
	f->exit_watch.context = f;
	if (loop_add(&f->exit_watch, EPOLLIN) < 0) {
		close(fd);
		f->exit_watch.fd = -1;
	}
}

/*
 * A followed file for a writer the collector knows (who), read from just
 * after the header: *out, or -EMFILE / -ENOMEM with fd closed.
 */
static int file_new_for_writer(const char *dir, int dir_fd, const char *base,
			       int fd, const struct writer_identity *who,
			       uint32_t flags, struct followed_file **out)
{
	struct followed_file *f;

	if (follow.file_count >= FOLLOW_MAX_FILES) {
		close(fd);
		return -EMFILE;
	}
	f = file_new(dir, dir_fd, base, fd);
	if (f == NULL) {
		close(fd);
		return -ENOMEM;
	}
	f->progress.who = *who;
	f->progress.offset = f->committed_offset = SPOOL_HEADER_BYTES;
	f->progress.next_seq = f->committed_next_seq = -1;
	f->progress.flags = flags;
	f->writer_pid = who->pid;
	f->writer_start_ticks = who->start_time_ticks;
	f->last_alive_check_ms = loop_now_ms();
	*out = f;
	return 0;
}

int follow_register_active(const char *base, int fd,
			   const struct writer_identity *who, uint32_t flags)
{
	struct followed_file *f;
	int rc;

	rc = file_new_for_writer(SPOOL_DIR_ACTIVE, follow.active_fd, base, fd, who,
				 flags, &f);
	if (rc < 0)
		return rc;
	rc = store_progress_put(follow.store, &f->progress);
	if (rc == 0)
		rc = file_commit();
	else
		abandon_transaction(rc, "write to");
	if (rc < 0) {
		/* Not recorded: the file must not be used; it is retired. */
		f->finished = 1;
		files_reap();
		return rc;
	}
	file_watch_exit(f);
	return 0;
}

int follow_register_incoming(const char *base, int fd,
			     const struct writer_identity *who, uint32_t flags)
{
	struct followed_file *f;
	int rc;

	rc = file_new_for_writer(SPOOL_DIR_INCOMING, follow.incoming_fd, base, fd, who,
				 flags, &f);
	if (rc < 0)
		return rc;                 /* -EMFILE: a later rescan adopts it */
	f->needs_put = 1;          /* with the next group commit, as adopted ones */
	file_watch_exit(f);
	return 0;
}

int follow_incoming_dirfd(void)
{
	return follow.incoming_fd;
}

int follow_is_followed(const struct stat *st)
{
	return file_find_inode(st) != NULL;
}

int follow_stop(void)
{
	struct followed_file *f;
	int rounds, busy, rc;

	follow.retry_after_ms = 0;
	for (f = follow.files; f != NULL; f = f->next)
		if (!identity_alive(f->writer_pid, f->writer_start_ticks))
			f->writer_gone = 1;
	for (rounds = 0; rounds < 64; rounds++) {
		busy = 0;
		for (f = follow.files; f != NULL; f = f->next) {
			f->dirty = 1;
			busy = 1;
		}
		if (!busy && !group_open() && group_kept() == 0)
			break;
		follow.retry_after_ms = 0;
		follow_process();
		rc = file_commit();
		if (rc < 0)
			return rc;
		files_reap();
		busy = 0;
		for (f = follow.files; f != NULL; f = f->next)
			busy |= f->dirty || f->finished || f->quarantine;
		if (!busy)
			break;
	}
	rc = file_commit();
	if (rc == 0)
		rc = follow_collector_event(EVENT_COLLECTOR_STOPPED, NULL, NULL);
	if (rc == 0)
		rc = file_commit();
	return rc;
}

void follow_fini(void)
{
	struct followed_file *f;

	while ((f = follow.files) != NULL) {
		follow.files = f->next;
		file_free(f);
	}
	follow.file_count = 0;
	if (follow.inotify_fd >= 0) {
		loop_remove(&follow.inotify_watch);
		close(follow.inotify_fd);
	}
	if (follow.spool_fd >= 0)
		close(follow.spool_fd);
	if (follow.active_fd >= 0)
		close(follow.active_fd);
	if (follow.incoming_fd >= 0)
		close(follow.incoming_fd);
	if (follow.quarantine_fd >= 0)
		close(follow.quarantine_fd);
	follow.inotify_fd = follow.spool_fd = follow.active_fd = follow.incoming_fd = follow.quarantine_fd = -1;
}

size_t follow_file_count(void)
{
	return follow.file_count;
}

const struct follow_counters *follow_counters(void)
{
	return &follow.counters;
}
