/*
 * follow_adopt.c - the files the follower takes up without a hand-off:
 * fallback files the shim wrote into incoming/ (identity from the file's
 * owner; the header's pid only when the kernel confirms it), the rows a
 * previous collector left (resumed at their committed offset), files in
 * active/ with no row (quarantined), and inotify telling which file has
 * news. Only incoming/ names ending in ".spool" are adopted (and ".claim"
 * ones whose claim was lost: handoff.h; claim.c takes the others), and
 * never an inode already followed under another name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "broker.h"
#include "follow_impl.h"
#include "handoff.h"
#include "log.h"

/* 1 when base ends in ".spool", the name every writer gives its file. */
static int name_has_suffix(const char *base, const char *suffix)
{
	size_t n = strlen(base), k = strlen(suffix);

	return n > k && strcmp(base + n - k, suffix) == 0;
}

static int name_is_spool(const char *base)
{
	return name_has_suffix(base, ".spool");
}

/* Reads and checks a spool header: 0, -EAGAIN (not all there), -EBADMSG. */
static int read_header(int fd, struct spool_header *h)
{
	unsigned char buf[SPOOL_HEADER_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	return spool_header_decode(buf, (size_t)n, h);
}

/* Moves a file that is not followed (yet) to quarantine with a record. */
static void quarantine_unfollowed(const char *dir, int dirfd, const char *base,
				  int fd, const struct writer_identity *who,
				  const char *reason)
{
	struct followed_file *f = file_new(dir, dirfd, base, fd);

	if (f == NULL) {
		close(fd);
		return;
	}
	f->progress.who = *who;
	f->writer_pid = who->pid;
	if (file_condemn(f, reason, 0) < 0)
		abandon_transaction(-EIO, "write to");
}

/*
 * Opens incoming/base for adoption: a plain regular file with one link,
 * not followed under another name, not a .claim whose claim may still be
 * queued. The descriptor (*st filled), or -1 (anything else is removed
 * when it can never be a spool file).
 */
static int adopt_open(const char *base, int claim, struct stat *st)
{
	int fd = openat(follow.incoming_fd, base,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == EACCES) {  /* another user's: the parent opens it */
		fd = broker_open(PRIVSEP_WHERE_INCOMING, base);
		if (fd < 0) {
			errno = -fd;
			fd = -1;
		}
	}
	if (fd < 0) {
		if (errno == ELOOP || errno == ENXIO) {
			daemon_warn("incoming/%s is not a regular file: removed", base);
			(void)unlinkat(follow.incoming_fd, base, 0);
		}
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_nlink != 1) {
		daemon_warn("incoming/%s is not a plain regular file: removed", base);
		(void)unlinkat(follow.incoming_fd, base, 0);
		close(fd);
		return -1;
	}
	if (claim && !follow.starting &&
	    time(NULL) - st->st_mtime < HANDOFF_CLAIM_GRACE_S) {
		close(fd);                 /* its claim may still be queued */
		return -1;
	}
	if (file_find_inode(st) != NULL) {
		/* Followed already under another name (renamed by its writer). */
		daemon_warn("incoming/%s is a spool file already followed under "
			    "another name: not read twice", base);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Who wrote a fallback file: its owner, and the header's pid only when the
 * kernel confirms that process is alive and the owner's.
 */
static void adopt_identify(const char *base, const struct stat *st,
			   const struct spool_header *h, struct writer_identity *who)
{
	who->pid = RECORD_ABSENT;
	if (identity_alive(h->pid, h->start_time_ticks)) {
		struct writer_identity proc = *who;
		int64_t proc_uid = -1;

		proc.pid = h->pid;
		if (identity_read_proc(&proc) == 0 &&
		    identity_proc_uid((pid_t)h->pid, &proc_uid) == 0 &&
		    proc_uid == (int64_t)st->st_uid) {
			*who = proc;
			identity_resolve_actor(who);
		} else {
			daemon_warn("incoming/%s claims pid %u, which belongs to another "
				    "user: pid not recorded", base, h->pid);
		}
	} else {
		daemon_info("incoming/%s claims pid %u, which is gone: pid not "
			    "recorded", base, h->pid);
	}
	who->start_time_ticks = h->start_time_ticks;
}

/* A file in incoming/: written by the shim itself, identity from its owner. */
void adopt_incoming(const char *base)
{
	struct writer_identity who;
	struct spool_header h;
	struct followed_file *f;
	struct stat st;
	char name[STORE_NAME_MAX];
	int fd, rc, claim;

	if (base[0] == '.' || follow.file_count >= FOLLOW_MAX_FILES)
		return;
	/* Only finished names: a file written elsewhere and renamed into
	 * place is taken once, under its final name. A .claim file is taken
	 * here only when its claim was lost (handoff.h). */
	claim = name_has_suffix(base, HANDOFF_CLAIM_SUFFIX);
	if (!claim && !name_is_spool(base))
		return;
	if ((size_t)snprintf(name, sizeof(name), SPOOL_DIR_INCOMING "/%s", base) >=
	    sizeof(name) || file_find(name) != NULL)
		return;
	if ((fd = adopt_open(base, claim, &st)) < 0)
		return;
	identity_clear(&who);
	who.uid = st.st_uid;
	who.gid = st.st_gid;
	strlcpy(who.kind, IDENTITY_FILE_OWNER, sizeof(who.kind));
	identity_resolve_actor(&who);
	rc = read_header(fd, &h);
	if (rc == -EAGAIN && time(NULL) - st.st_mtime < HEADERLESS_GRACE_S) {
		close(fd);                 /* being created: next time */
		return;
	}
	if (rc < 0 || !(h.flags & SPOOL_FLAG_FALLBACK) ||
	    (h.flags & SPOOL_FLAG_COLLECTOR)) {
		quarantine_unfollowed(SPOOL_DIR_INCOMING, follow.incoming_fd, base, fd,
				      &who, rc == -EAGAIN ? "no header" :
				      rc < 0 ? "bad header" :
				      "header of a fallback file lacks the fallback flag");
		return;
	}
	adopt_identify(base, &st, &h, &who);
	f = file_new(SPOOL_DIR_INCOMING, follow.incoming_fd, base, fd);
	if (f == NULL) {
		close(fd);
		return;
	}
	f->progress.who = who;
	f->progress.offset = f->committed_offset = SPOOL_HEADER_BYTES;
	f->progress.next_seq = f->committed_next_seq = -1;
	f->progress.flags = h.flags;
	f->writer_pid = h.pid;
	f->writer_start_ticks = h.start_time_ticks;
	f->needs_put = 1;
	daemon_info("adopted fallback spool file incoming/%s (uid %" PRId64
		    ", pid %u)", base, who.uid, h.pid);
}

/* A progress row left by a previous collector: resume its file. */
int adopt_row(void *context, const struct store_progress *p)
{
	struct followed_file *f;
	struct spool_header h;
	const char *slash = strchr(p->name, '/');
	int dirfd, fd;

	(void)context;
	if (slash == NULL)
		goto forget;
	if ((size_t)(slash - p->name) == strlen(SPOOL_DIR_ACTIVE) &&
	    strncmp(p->name, SPOOL_DIR_ACTIVE, (size_t)(slash - p->name)) == 0)
		dirfd = follow.active_fd;
	else if ((size_t)(slash - p->name) == strlen(SPOOL_DIR_INCOMING) &&
		 strncmp(p->name, SPOOL_DIR_INCOMING, (size_t)(slash - p->name)) == 0)
		dirfd = follow.incoming_fd;
	else
		goto forget;
	fd = openat(dirfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto forget;
	f = file_new(dirfd == follow.active_fd ? SPOOL_DIR_ACTIVE : SPOOL_DIR_INCOMING,
		     dirfd, slash + 1, fd);
	if (f == NULL) {
		close(fd);
		return 0;
	}
	f->progress = *p;
	f->committed_offset = p->offset;
	f->committed_next_seq = p->next_seq;
	f->writer_pid = p->who.pid;
	f->writer_start_ticks = p->who.start_time_ticks;
	if (p->flags & FOLLOW_FLAG_QUARANTINED) {
		f->quarantine = 1;        /* decided before the restart */
		return 0;
	}
	if (read_header(fd, &h) < 0 || h.start_time_ticks != p->who.start_time_ticks ||
	    (p->who.pid != RECORD_ABSENT && h.pid != p->who.pid)) {
		if (file_condemn(f, "header changed", 0) < 0)
			return -EIO;
		return 0;
	}
	f->writer_pid = h.pid;
	daemon_info("resuming %s at offset %" PRId64, p->name, p->offset);
	return 0;
forget:
	daemon_info("spool file %s is gone; forgetting its progress", p->name);
	return store_progress_delete(follow.store, p->name);
}

/* Calls each for every name in the directory dirfd (a descriptor of ours,
 * not consumed). */
static void scan_dir(int dirfd, void (*each)(const char *base))
{
	DIR *dir;
	struct dirent *e;
	int dupfd = dup(dirfd);

	if (dupfd < 0 || (dir = fdopendir(dupfd)) == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return;
	}
	rewinddir(dir);
	while ((e = readdir(dir)) != NULL)
		each(e->d_name);
	closedir(dir);
}

/* A file in active/ with no progress row: never handed out, or damaged. */
static void adopt_active_orphan(const char *base)
{
	char name[STORE_NAME_MAX];
	struct writer_identity who;
	struct spool_header h;
	struct stat st;
	int fd;

	if (base[0] == '.')
		return;
	if ((size_t)snprintf(name, sizeof(name), SPOOL_DIR_ACTIVE "/%s", base) >=
	    sizeof(name) || file_find(name) != NULL)
		return;
	fd = openat(follow.active_fd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_size <= SPOOL_HEADER_BYTES) {
		/* Created, never handed to a writer. */
		(void)unlinkat(follow.active_fd, base, 0);
		close(fd);
		return;
	}
	identity_clear(&who);
	who.uid = st.st_uid;
	if (read_header(fd, &h) == 0) {
		who.pid = h.pid;
		who.uid = h.uid;
		who.start_time_ticks = h.start_time_ticks;
	}
	strlcpy(who.kind, IDENTITY_FILE_OWNER, sizeof(who.kind));
	identity_resolve_actor(&who);
	quarantine_unfollowed(SPOOL_DIR_ACTIVE, follow.active_fd, base, fd, &who,
			      "spool file without progress record");
}

void adopt_scan_active_orphans(void)
{
	scan_dir(follow.active_fd, adopt_active_orphan);
}

void adopt_scan_incoming(void)
{
	scan_dir(follow.incoming_fd, adopt_incoming);
	follow.last_rescan_ms = loop_now_ms();
}

/* --- inotify and the timer ----------------------------------------------- */

void adopt_on_inotify(struct loop_watch *w, uint32_t events)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)events;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p + sizeof(struct inotify_event) <= buf + n) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			char name[STORE_NAME_MAX];
			struct followed_file *f;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				for (f = follow.files; f != NULL; f = f->next)
					f->dirty = 1;
				follow.rescan_wanted = 1;
				continue;
			}
			if (ev->len == 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s",
				 ev->wd == follow.active_wd ? SPOOL_DIR_ACTIVE : SPOOL_DIR_INCOMING,
				 ev->name);
			f = file_find(name);
			if (f != NULL)
				f->dirty = 1;
			else if (ev->wd == follow.incoming_wd &&
				 !name_has_suffix(ev->name, HANDOFF_CLAIM_SUFFIX))
				adopt_incoming(ev->name);
			/* A .claim is news of a process that claims it over the
			 * socket: opening it here (three times per process, once
			 * per event) only found it too young. One whose claim
			 * was lost is taken by the rescan after its grace. */
		}
	}
}
