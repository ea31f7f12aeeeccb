/*
 * identity.h - who wrote a spool file, as the kernel tells it.
 */
#ifndef PHITRAILD_IDENTITY_H
#define PHITRAILD_IDENTITY_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#define IDENTITY_ACTOR_MAX 64
#define IDENTITY_KIND_MAX 16
#define IDENTITY_UNSET_ID 4294967295u    /* loginuid/sessionid not set */

/* Identity kinds stored with every record ("identity" key). */
#define IDENTITY_VERIFIED "verified"     /* SO_PEERCRED peer, /proc */
#define IDENTITY_FILE_OWNER "file-owner" /* adopted fallback file: st_uid */
#define IDENTITY_COLLECTOR "collector"   /* the collector's own records */

/*
 * What the collector knows of one writer. Integers are RECORD_ABSENT when
 * unknown; exe is "" when unknown.
 */
struct writer_identity {
	int64_t pid, ppid, uid, gid, auid, session;
	uint64_t start_time_ticks;
	char exe[PATH_MAX];
	char actor[IDENTITY_ACTOR_MAX];      /* resolved actor_user_id */
	char kind[IDENTITY_KIND_MAX];        /* IDENTITY_* */
};

void identity_clear(struct writer_identity *w);

/*
 * Start time (field 22) and parent pid (field 4) of /proc/PID/stat.
 * 0, -ENOENT when the process is gone, -EBADMSG when unreadable.
 */
int identity_proc_stat(pid_t pid, uint64_t *start_time_ticks, int64_t *ppid);

/*
 * Effective uid of /proc/PID/status (its second Uid: field), or a negative
 * errno: the uid SO_PEERCRED reports and a spool file is created with, which
 * differs from the real uid in a setuid program.
 */
int identity_proc_uid(pid_t pid, int64_t *uid);

/*
 * Fills start time, ppid, auid, session and exe of w from /proc/PID
 * (w->pid set by the caller). auid/session stay RECORD_ABSENT when the
 * kernel has none set; exe stays "" when unreadable. 0 or -ENOENT.
 */
int identity_read_proc(struct writer_identity *w);

/* Who reads /proc/PID/exe when this process may not (the store process:
 * its parent, broker.c): the length written into out, or -errno. */
typedef ssize_t identity_exe_reader(pid_t pid, uint64_t start_time_ticks, char *out,
				    size_t room);
void identity_set_exe_reader(identity_exe_reader *reader);

/* 1 when process pid with exactly this start time still exists, else 0. */
int identity_alive(int64_t pid, uint64_t start_time_ticks);

/*
 * w->actor from the login uid when set, else the uid: the user name when
 * the system knows one, else "uid:N".
 */
void identity_resolve_actor(struct writer_identity *w);

#endif
