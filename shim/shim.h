/*
 * shim.h - the shim's internal interfaces: process state and the
 * reentrancy guard (shim.c), path policy (policy.c), per-descriptor PHI
 * state (fdstate.c), identity (identity.c), record emission (emit.c) and
 * the hand-off of records to the collector (handoff.c).
 *
 * Nothing here is exported from libphitrail.so: only the wrappers marked
 * SHIM_EXPORT are.
 */
#ifndef PHITRAIL_SHIM_H
#define PHITRAIL_SHIM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "record.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_PATIENT_MAX 256

/* ---- shim.c: state, lazy init, guard ---------------------------------- */

/* The loaded policy; read only after shim_enter() returned 1. */
extern struct config shim_config;

/*
 * Called first by every wrapper that may audit. Returns 1 when the call is
 * to be audited: the shim is initialised, auditing is on, the thread is not
 * running the shim's start-up and is not a vfork child; the caller then
 * calls shim_leave() once. A signal handler's call made while the
 * interrupted code was between the two is audited too (nested).
 */
int shim_enter(void);
void shim_leave(void);

enum shim_state {
	SHIM_STATE_OFF = 0,        /* not initialised, or auditing disabled */
	SHIM_STATE_AUDITING,
};

extern int shim_state;                 /* atomic; read through the below */
extern __thread int shim_internal;     /* 1 while the shim's start-up runs */
extern __thread int shim_vfork_child;  /* see below */

/*
 * 1 when a call on path needs nothing from the shim: auditing is on, this
 * thread may audit, and path is absolute and certainly not PHI
 * (config_could_match_raw). No lock, no copy, no system call, errno kept.
 * 0 means "go the usual way" (shim_enter, policy_match_at).
 */
static inline int shim_path_passes(const char *path)
{
	return !shim_internal && !shim_vfork_child &&
		__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) ==
		SHIM_STATE_AUDITING && path != NULL && path[0] == '/' &&
		!config_could_match_raw(&shim_config, path);
}

/* 1 while the shim's own start-up runs on this thread (all pass-through). */
int shim_busy(void);

/*
 * 1 when this wrapper runs nested in another on the same thread (a signal
 * handler): it must not wait for a lock the interrupted code may hold.
 */
int shim_nested(void);

/* 1 once the policy is loaded and auditing is on. */
int shim_auditing(void);

/* A child of fork or _Fork: own identity, spool and sequence from 0. */
void shim_fork_child(void);

/*
 * 1 in the child of vfork until it execs or exits: it borrows the parent's
 * memory, so every wrapper passes straight through (wrap_exec.c).
 */
extern __thread int shim_vfork_child;

/* wrap_exec.c: finds this library's path for follow_exec. */
void exec_init(void);

/*
 * Says once per process image that the shim audits nothing here and why:
 * to the collector at cfg->socket_path, else the system log (unaudited.c).
 */
void unaudited_say(const struct config *cfg, const char *reason);

/*
 * In deny mode, makes sure a record can be handed off before a PHI call is
 * performed: returns 0 when it can (or in spool mode), -EACCES when not.
 */
int shim_may_proceed(void);

/* ---- policy.c: paths made absolute and matched ----------------------- */

struct policy_match {
	int rule;                          /* index into shim_config.rules */
	char path[PATH_MAX];               /* absolute, normalised */
	char patient[SHIM_PATIENT_MAX];    /* "" when the rule captures none */
	char real[PATH_MAX];               /* alias.c: the kernel's path, or "" */
	char inode[40];                    /* alias.c: "DEV:INO" of a hard link, or "" */
};

/*
 * Resolves path (relative to dirfd, or to the cwd for AT_FDCWD) and matches
 * it against the policy. Returns 1 on a match (m filled), 0 when the path is
 * not PHI or cannot be resolved. path may be NULL (returns 0). Either way
 * m->path holds the resolved path, or "" when it could not be resolved.
 */
int policy_match_at(int dirfd, const char *path, struct policy_match *m);

/* ---- alias.c: PHI known by the file the kernel opened ---------------- */

/* 1 once some file rule's root was found at start-up (read-only after). */
extern int alias_active;

/* At start-up, after the policy is loaded: learns each rule root. */
void alias_load(void);

#define ALIAS_MAX_ROOTS 32
extern uint64_t alias_devs[ALIAS_MAX_ROOTS];   /* distinct, major << 32 | minor */
extern unsigned alias_dev_count;

#define ALIAS_STATX_FLAGS (AT_EMPTY_PATH | AT_STATX_DONT_SYNC)
#define ALIAS_STATX_MASK (STATX_TYPE | STATX_NLINK | STATX_INO | STATX_MNT_ID)

/* statx of fd itself: 0 or a negative errno, errno untouched. */
static inline long alias_statx(int fd, struct statx *sx)
{
#if defined(__x86_64__)
	/* the system call itself: no errno to save and put back */
	register long r10 __asm__("r10") = ALIAS_STATX_MASK;
	register long r8 __asm__("r8") = (long)sx;
	long ret;

	__asm__ volatile ("syscall"
			  : "=a"(ret)
			  : "0"((long)SYS_statx), "D"((long)fd), "S"(""),
			    "d"((long)ALIAS_STATX_FLAGS), "r"(r10), "r"(r8)
			  : "rcx", "r11", "memory");
	return ret;
#else
	int saved_errno = errno;
	long ret = statx(fd, "", ALIAS_STATX_FLAGS, ALIAS_STATX_MASK, sx);

	if (ret != 0)
		ret = -errno;
	errno = saved_errno;
	return ret;
#endif
}

/* 1 when the file sx describes is on a filesystem a rule root is on. */
static inline int alias_on_phi_fs(const struct statx *sx)
{
	uint64_t dev = (uint64_t)sx->stx_dev_major << 32 | sx->stx_dev_minor;

	for (unsigned i = 0; i < alias_dev_count; i++)
		if (alias_devs[i] == dev)
			return 1;
	return 0;
}

/*
 * For a descriptor just opened by a path that matched no rule (O_PATH
 * included): 1 when the file is on a filesystem some rule root is on (sx
 * filled by one statx), else 0 (the common case, nothing more to do).
 * Keeps errno.
 */
static inline int alias_fd_on_phi_fs(int fd, struct statx *sx)
{
	return alias_statx(fd, sx) == 0 && alias_on_phi_fs(sx);
}

/*
 * Then: 1 when the file fd opened is PHI all the same (a symlink,
 * /proc/self/fd/N, a bind mount or a symlinked rule root led to it);
 * m->rule, m->patient and m->real (the kernel's path of it) are filled,
 * m->path is left as it was. Keeps errno.
 */
int alias_match_fd(int fd, const struct statx *sx, struct policy_match *m);

/*
 * The same for a name in directory dirfd (dir_sx: the directory's statx)
 * that may not exist yet: the directory's kernel path and "/" name.
 */
int alias_match_in_dir(int dirfd, const struct statx *dir_sx, const char *name,
		       struct policy_match *m);

/* ---- alias_path.c: the same for calls that name a file ---------------- */

/* What a path-only call acts on, which decides where it is. */
enum alias_name {
	ALIAS_FILE,        /* the file the path leads to (chmod, truncate) */
	ALIAS_ENTRY,       /* the name itself: a final symlink is the link */
	ALIAS_NEW_NAME,    /* a name that may not exist yet (rename's new):
			      its directory decides */
};

/*
 * Matches path (relative to dirfd) as written (policy_match_at), else,
 * while a rule root is known, by where it really is (alias_match_path).
 */
int policy_match_real(int dirfd, const char *path, enum alias_name how,
		      struct policy_match *m);

/*
 * For a path that matched no rule as written (m as policy_match_at left
 * it): 1 when what the call acts on is PHI all the same; m->rule,
 * m->patient, m->real (or m->inode) filled and m->path the path as
 * written, normalised. One statx when the answer is no. Keeps errno.
 */
int alias_match_path(int dirfd, const char *path, enum alias_name how,
		     struct policy_match *m);

/*
 * m->path: normal (the path as written, normalised) when not empty, else
 * path normalised when absolute, else path as it is.
 */
void alias_name_as_written(struct policy_match *m, const char *normal,
			   const char *path);

/*
 * wrap_open.c: when fd (opened by path with open(2) flags, sx from
 * alias_fd_on_phi_fs) is PHI all the same, tracks and reports it as a
 * matched open would (target: normal, or path normalised). fd, or -1
 * with errno EACCES (fd closed) when deny mode cannot hand a record off.
 */
int open_alias_phi(int fd, const struct statx *sx, const char *path,
		   const char *normal, int flags);

/* The working directory changed: drop the cached copy. */
void policy_cwd_invalidate(void);
void policy_atfork_child(void);

/* ---- fdstate.c: which descriptors are open PHI files ------------------ */

enum {
	FD_REPORTED_VIEWED = 1u << 0,
	FD_REPORTED_MODIFIED = 1u << 1,
	FD_CREATED = 1u << 2,              /* this description created it */
	FD_REPORTED_LISTED = 1u << 3,      /* a directory's entries were read */
};

/* One open file description of a PHI file, shared by its dups. */
struct phi_file {
	int rule;
	unsigned reported;                 /* FD_* bits, atomic */
	char path[PATH_MAX];
	char patient[SHIM_PATIENT_MAX];
	char real[PATH_MAX];               /* "" unless matched by alias.c */
	char inode[40];                    /* "" unless a hard link (alias.c) */
};

/*
 * Descriptors below FDSTATE_MAX_FDS (Linux's default nr_open, the highest
 * RLIMIT_NOFILE a process gets without privilege) are tracked; the table is
 * zero-filled memory the kernel only backs where used. A PHI file open on a
 * descriptor that cannot be tracked is reported at once (fdstate_track).
 */
#define FDSTATE_MAX_FDS (1 << 20)
#define FDSTATE_MAX_FILES 4096

extern uint16_t fdstate_slot_of_fd[FDSTATE_MAX_FDS];
extern unsigned fdstate_high;              /* 1 + highest fd ever tracked */

/* Remembers fd as an open PHI file (replacing what fd was). 0 or -ENOSPC. */
int fdstate_open(int fd, const struct policy_match *m, unsigned reported);

/*
 * fdstate_open for a wrapper that just opened a PHI file (guard held): when
 * fd cannot be tracked (beyond the table, or too many PHI files open), its
 * later reads and writes would go unseen, so what the opening allows
 * (may: FD_REPORTED_VIEWED, FD_REPORTED_MODIFIED, FD_REPORTED_LISTED bits)
 * and is not yet in reported is reported now, with detail untracked.
 */
void fdstate_track(int fd, const struct policy_match *m, unsigned reported,
		   unsigned may);

/*
 * The PHI file behind fd with a reference held, or NULL: the non-PHI case
 * is one load from a table, no system call, no lock. Also NULL while the
 * shim's own start-up runs on the calling thread.
 */
struct phi_file *fdstate_get_slow(int fd);

/* 1 when fd may be an open PHI file (no reference taken). */
static inline int fdstate_known(int fd)
{
	return (unsigned)fd < FDSTATE_MAX_FDS &&
		__atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_RELAXED) != 0;
}

static inline struct phi_file *fdstate_get(int fd)
{
	if ((unsigned)fd >= FDSTATE_MAX_FDS ||
	    __atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_RELAXED) == 0)
		return NULL;
	return fdstate_get_slow(fd);
}
void fdstate_put(struct phi_file *f);

/*
 * Copies what the shim knows of PHI descriptor fd into m and, when not
 * NULL, its FD_* bits into reported (also while the shim's guard is held):
 * 1, or 0 when fd is not an open PHI file.
 */
int fdstate_describe(int fd, struct policy_match *m, unsigned *reported);

/* Sets bit; 1 when it was not set before (this caller reports it). */
int fdstate_mark(struct phi_file *f, unsigned bit);

/* fd is closed (or about to be replaced): forget it. */
void fdstate_close_slow(int fd);
static inline void fdstate_close(int fd)
{
	if ((unsigned)fd < FDSTATE_MAX_FDS &&
	    __atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_RELAXED) != 0)
		fdstate_close_slow(fd);
}

/* newfd now shares oldfd's description (dup, dup2, F_DUPFD). */
void fdstate_dup(int oldfd, int newfd);

/* Forgets descriptors first..last (close_range, closefrom). */
void fdstate_close_range(unsigned first, unsigned last);

/* At start-up: adopts PHI files the process inherited open (shell redirects). */
void fdstate_adopt_inherited(void);

/* ---- wrap_rw.c: the report-once logic every data wrapper shares ------- */

/*
 * Before a data call on PHI file f (reference held): 0 to go on; -1 with
 * errno EACCES (f released) when deny mode cannot hand a record off.
 */
int rw_before(struct phi_file *f, unsigned bit);

/* After the call: reports bit once if it succeeded; releases f; keeps errno. */
void rw_after(struct phi_file *f, unsigned bit, int succeeded);

/* ---- identity.c: who and where ---------------------------------------- */

struct identity {
	int64_t pid, ppid, uid, auid, session;
	uint64_t start_ticks;              /* /proc/self/stat field 22 */
	char exe[PATH_MAX];
	char host[256];
	char actor[32];                    /* "uid:N" */
};

/* The process's identity, re-read after fork. */
const struct identity *identity_get(void);
void identity_atfork_child(void);

/* ---- emit.c: one record, one write ----------------------------------- */

/*
 * Every record the shim writes is built in emit.c, by one of these: each
 * takes the time of the call itself, fills the record and hands it off
 * (0 or a negative errno). The caller holds the guard; error 0 is "ok",
 * else the errno; detail (detail_count entries) is copied.
 */

/* An event on the path of m (target2: NULL, or the other path). */
int emit_path_event(enum event_type type, const struct policy_match *m,
		    const char *target2, int error,
		    const struct record_detail *detail, size_t detail_count);

/*
 * An event on two paths (rename, link): target and target2 are first and
 * second as matched, or as the program wrote them (first_written,
 * second_written) when that one matched nothing; rule, patient and inode
 * are those of hit, the match that made the call PHI.
 */
int emit_pair_event(enum event_type type,
		    const struct policy_match *first, const char *first_written,
		    const struct policy_match *second, const char *second_written,
		    const struct policy_match *hit, int error,
		    const struct record_detail *detail, size_t detail_count);

/* An event on open PHI file f (a reference held). */
int emit_file_event(enum event_type type, const struct phi_file *f);

/* An event on a PHI connection to or from target (patient: NULL or ""). */
int emit_net_event(enum event_type type, const char *target, int rule,
		   const char *patient, int error,
		   const struct record_detail *detail, size_t detail_count);

/* "EACCES"...; unknown values become "errno:N" in buf. */
const char *emit_errno_name(int err, char *buf, size_t size);

/* "O_WRONLY|O_CREAT|O_TRUNC" into buf. */
const char *emit_open_flags(int flags, char *buf, size_t size);

/* Resets the sequence counter (fork child). */
void emit_atfork_child(void);

/*
 * Counts a PHI call denied because no record could be handed off (deny
 * mode); the next record handed off reports the count.
 */
void emit_note_denied(void);

/* ---- handoff.c: where records go -------------------------------------- */

/* The spool descriptor, established on first use: fd, or a negative errno. */
int handoff_spool_fd(void);

/*
 * handoff_spool_fd for the record about to be written to it with write(),
 * called only with emit.c's write lock held outside a signal handler (no
 * other record is between its seq and its write): may first swap a
 * claimed file that has had its share for a mapped one.
 */
int handoff_record_fd(void);

/*
 * 1 when the process's own mapped file has had its share of records and
 * the collector's mapped file should be asked for: then, with emit.c's
 * write lock held outside a signal handler, handoff_upgrade_mapped.
 */
int handoff_upgrade_due(void);
void handoff_upgrade_mapped(void);

/* The program closed fd (or replaced it): if it is ours, forget it. */
void handoff_fd_gone(int fd);

/* A write to fd failed: close it and start afresh on the next record. */
void handoff_abandon(int fd);

/* Forgets spool descriptors in first..last (close_range, closefrom). */
void handoff_range_gone(unsigned first, unsigned last);

void handoff_atfork_child(void);

/* Waits for sock to be readable (a reply, an ack or the collector's
 * close), at most limit_ms in all: 0 or a negative errno. */
int handoff_wait_readable(int sock, int limit_ms);

/* handoff_ack.c: the claim's connection sock (>= HANDOFF_FD_FLOOR) kept
 * until the ack; forgotten when the program closes or replaces a
 * descriptor in first..last; closed in a fork child. */
void handoff_ack_keep(int sock);
void handoff_ack_gone(unsigned first, unsigned last);
void handoff_ack_atfork_child(void);

/*
 * At a normal exit: when the claim's ack has not come and the login uid is
 * set, waits for it at most HANDOFF_ACK_WAIT_MS; closes the connection.
 */
void handoff_at_exit(void);

#endif
