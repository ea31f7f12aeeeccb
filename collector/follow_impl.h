/*
 * follow_impl.h - what the files of the follower share (not an interface
 * for the rest of the collector: that is follow.h).
 *
 *   follow.c        the list of followed files, when a group is committed,
 *                   retiring files, start, registration and stop
 *   follow_read.c   reading a file's frames into stored records
 *   follow_adopt.c  adopting files: incoming/, rows left by a previous
 *                   collector, orphans in active/, inotify
 *   follow_own.c    the records the collector writes itself (lost,
 *                   tampered, started, stopped, ...)
 */
#ifndef PHITRAILD_FOLLOW_IMPL_H
#define PHITRAILD_FOLLOW_IMPL_H

#include <stdint.h>
#include <sys/stat.h>

#include "follow.h"
#include "identity.h"
#include "loop.h"
#include "record.h"
#include "spool.h"
#include "store.h"

#define READ_BUFFER_BYTES (256 * 1024)          /* >= one largest frame */
#define PEEK_BYTES 4096                         /* first look at a file */
#define READ_BUDGET_BYTES (4 * 1024 * 1024)     /* per file per pass */
#define ALIVE_CHECK_MS 1000
#define RESCAN_MS 5000
#define COMMIT_RETRY_MS 1000
#define HEADERLESS_GRACE_S 10                   /* incoming file without header */
/* Progress row flag (above the header's SPOOL_FLAG_*): quarantine decided. */
#define FOLLOW_FLAG_QUARANTINED 0x100u

struct followed_file {
	struct followed_file *next;
	char name[STORE_NAME_MAX];     /* "active/x.spool", "incoming/y" */
	const char *base;              /* into name, after the '/' */
	int dirfd;                     /* not owned */
	int fd;
	struct store_progress progress;/* offset/next_seq: read so far */
	int64_t committed_offset, committed_next_seq;
	int64_t writer_pid;            /* from the header: liveness */
	uint64_t writer_start_ticks;
	int64_t last_alive_check_ms;
	struct loop_watch exit_watch;  /* the writer's pidfd, or fd -1 */
	unsigned dirty:1, writer_gone:1, finished:1, quarantine:1, needs_put:1,
		 progress_changed:1;
};

struct follow_state {
	const struct config *cfg;
	struct store *store;
	int spool_fd, active_fd, incoming_fd, quarantine_fd;
	int inotify_fd, active_wd, incoming_wd;
	struct loop_watch inotify_watch;
	struct followed_file *files;
	size_t file_count;
	struct writer_identity self;
	char host[256];
	int64_t retry_after_ms, last_rescan_ms;
	int rescan_wanted;
	int starting;                  /* the first scan: every .claim is orphaned */
	uint64_t frames_this_pass;     /* frames read by follow_process */
	struct follow_counters counters;
	unsigned char buffer[READ_BUFFER_BYTES];
	char arena[RECORD_ARENA_BYTES];
};

extern struct follow_state follow;    /* follow.c */

/* follow.c: the list and the group */
struct followed_file *file_new(const char *dir, int dirfd, const char *base, int fd);
struct followed_file *file_find(const char *name);
struct followed_file *file_find_inode(const struct stat *st);
int file_commit(void);
void abandon_transaction(int rc, const char *what);

/* follow_read.c */
int file_read(struct followed_file *f);
int file_condemn(struct followed_file *f, const char *reason, int64_t offset);
int file_save_progress(struct followed_file *f);

/* follow_adopt.c */
void adopt_incoming(const char *base);
int adopt_row(void *context, const struct store_progress *p);
void adopt_scan_active_orphans(void);
void adopt_scan_incoming(void);
void adopt_on_inotify(struct loop_watch *w, uint32_t events);

/* follow_own.c */
int own_lost(struct followed_file *f, int64_t count, int64_t from_seq,
	     const char *reason);
int own_tampered(struct followed_file *f, const char *reason, int64_t offset);
void own_identify_self(void);

#endif
