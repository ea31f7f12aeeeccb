/*
 * emit.c - owns turning one audited event into one spool frame: fills a
 * struct record (every schema field that applies), encodes it on the stack
 * with record_encode and prefixes the frame header; the frame goes into
 * the mapped spool file (spoolmap.c: one compare-and-swap and a copy, the
 * seq taken with the reservation) or, when there is none, to the spool
 * descriptor with ONE write(), so a frame is never interleaved with
 * another thread's.
 *
 * Never allocates, never prints; the caller holds the shim's guard and
 * restores errno. A failed or short write abandons that spool file (a cut
 * frame ends it); the record is retried once on a fresh one.
 * Never loses silently: a record that neither the collector nor the
 * fallback spool took is counted, and so is a PHI call denied in deny mode;
 * the next record handed off carries the counts ("lost_before",
 * "denied_while_down" in its detail) for the collector to report.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <bsd/string.h>

#include "real.h"
#include "shim.h"
#include "spool.h"
#include "spoolmap.h"

/* One audited event, as the entry points below describe it. */
struct emit_event {
	enum event_type type;
	const char *target, *target2;
	const char *target_real;           /* NULL or "": as target */
	const char *target2_real;          /* NULL or "": as target2 */
	const char *inode;                 /* NULL or "": not a hard link */
	int rule;
	const char *patient;               /* NULL or "": none */
	int error;                         /* 0: "ok", else the errno */
	struct timespec when;              /* CLOCK_REALTIME of the call */
	const struct record_detail *detail;
	size_t detail_count;
};

static int64_t emit_seq;                   /* atomic, per process */
/* The write() path: held from taking a seq to the end of its write(), so a
 * file written by threads holds its frames in seq order (the collector
 * reads a seq that went back as a loss), and handoff.c may swap the file
 * between two records. A signal handler only tries it. */
static pthread_mutex_t emit_write_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t emit_lost;                  /* atomic: records not handed off */
static int64_t emit_denied;                /* atomic: calls denied (deny mode) */

/*
 * The fields that stay the same for a process image (v, host, pid, ppid,
 * exe, uid, auid, session) packed once (record.h, record_encode_prefix).
 * Built on first use and again in a fork child; two buffers so a new one
 * is never written while another thread may read the one in use.
 */
static struct record_prefix emit_prefixes[2];
static struct record_prefix *emit_prefix;  /* atomic; NULL: build on use */
static int64_t emit_prefix_pid;            /* atomic: pid it was built for */

static const struct record_prefix *emit_prefix_for(const struct record *r)
{
	struct record_prefix *p = __atomic_load_n(&emit_prefix, __ATOMIC_ACQUIRE);
	struct record_prefix *next;

	if (p != NULL &&
	    __atomic_load_n(&emit_prefix_pid, __ATOMIC_ACQUIRE) == r->pid)
		return p;
	next = p == &emit_prefixes[0] ? &emit_prefixes[1] : &emit_prefixes[0];
	if (record_encode_prefix(r, next) < 0)
		return NULL;
	__atomic_store_n(&emit_prefix_pid, r->pid, __ATOMIC_RELEASE);
	__atomic_store_n(&emit_prefix, next, __ATOMIC_RELEASE);
	return next;
}

void emit_atfork_child(void)
{
	__atomic_store_n(&emit_prefix, NULL, __ATOMIC_RELEASE);
	pthread_mutex_init(&emit_write_lock, NULL);
	emit_seq = 0;
	emit_lost = 0;        /* the parent reports its own */
	emit_denied = 0;
}

int64_t emit_seq_peek(void)
{
	return __atomic_load_n(&emit_seq, __ATOMIC_ACQUIRE);
}

void emit_seq_advance(int64_t next)
{
	int64_t now = __atomic_load_n(&emit_seq, __ATOMIC_RELAXED);

	while (now < next && !__atomic_compare_exchange_n(&emit_seq, &now, next, 1,
							  __ATOMIC_ACQ_REL,
							  __ATOMIC_RELAXED))
		;
}

void emit_note_denied(void)
{
	__atomic_fetch_add(&emit_denied, 1, __ATOMIC_RELAXED);
}

/* The counts not yet reported, as detail entries after r's own. */
static void emit_add_counts(struct record *r, int64_t lost, int64_t denied)
{
	if (lost > 0 && r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "lost_before", .num = lost };
	if (denied > 0 && r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "denied_while_down", .num = denied };
}

struct emit_name {
	int value;
	const char *name;
};

static const struct emit_name emit_errno_names[] = {
	{ EACCES, "EACCES" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
	{ EEXIST, "EEXIST" }, { EROFS, "EROFS" }, { EISDIR, "EISDIR" },
	{ ENOTDIR, "ENOTDIR" }, { ENOSPC, "ENOSPC" }, { EDQUOT, "EDQUOT" },
	{ EIO, "EIO" }, { EBADF, "EBADF" }, { EINVAL, "EINVAL" },
	{ EBUSY, "EBUSY" }, { EXDEV, "EXDEV" }, { ELOOP, "ELOOP" },
	{ ENAMETOOLONG, "ENAMETOOLONG" }, { EMFILE, "EMFILE" },
	{ ENFILE, "ENFILE" }, { ETXTBSY, "ETXTBSY" }, { EFBIG, "EFBIG" },
	{ EAGAIN, "EAGAIN" }, { EINTR, "EINTR" }, { ENOTEMPTY, "ENOTEMPTY" },
	{ EFAULT, "EFAULT" }, { ENXIO, "ENXIO" }, { EOVERFLOW, "EOVERFLOW" },
};

const char *emit_errno_name(int err, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(emit_errno_names) / sizeof(emit_errno_names[0]); i++)
		if (emit_errno_names[i].value == err)
			return emit_errno_names[i].name;
	snprintf(buf, size, "errno:%d", err);
	return buf;
}

static const struct emit_name emit_flag_names[] = {
	{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" }, { O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_DIRECTORY, "O_DIRECTORY" }, { O_CLOEXEC, "O_CLOEXEC" },
	{ O_SYNC, "O_SYNC" }, { O_NONBLOCK, "O_NONBLOCK" },
	{ O_PATH, "O_PATH" },
};

const char *emit_open_flags(int flags, char *buf, size_t size)
{
	static const char *const access_names[] = {
		"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"
	};

	strlcpy(buf, access_names[flags & O_ACCMODE], size);
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		strlcat(buf, "|O_TMPFILE", size);
		flags &= ~O_TMPFILE;
	}
	for (size_t i = 0; i < sizeof(emit_flag_names) / sizeof(emit_flag_names[0]); i++) {
		if ((flags & emit_flag_names[i].value) == emit_flag_names[i].value) {
			strlcat(buf, "|", size);
			strlcat(buf, emit_flag_names[i].name, size);
		}
	}
	return buf;
}

static void emit_fill(struct record *r, const struct emit_event *ev,
		      const struct identity *id, char *errbuf, size_t errsize)
{
	/*
	 * Every field of struct record set here, instead of record_init's
	 * clearing of the whole struct (the detail array is most of it):
	 * entries past detail_count are never read.
	 */
	r->rule = NULL;
	r->seq = RECORD_ABSENT;
	r->detail_count = 0;
	r->id = RECORD_ABSENT;
	r->received_sec = RECORD_ABSENT;
	r->received_nsec = 0;
	r->identity = NULL;
	r->workspace_id = shim_config.workspace_id;
	r->actor_user_id = id->actor;
	r->event_type = ev->type;
	r->end_user_id = ev->patient != NULL && ev->patient[0] != '\0' ?
		ev->patient : NULL;
	r->timestamp_sec = ev->when.tv_sec;
	r->timestamp_nsec = (uint32_t)ev->when.tv_nsec;
	r->v = RECORD_SCHEMA_VERSION;
	r->host = id->host[0] != '\0' ? id->host : NULL;
	r->pid = id->pid;
	r->ppid = id->ppid;
	r->exe = id->exe[0] != '\0' ? id->exe : NULL;
	r->uid = id->uid;
	r->auid = id->auid;
	r->session = id->session;
	r->target = ev->target;
	r->target2 = ev->target2;
	if (ev->rule >= 0 && (size_t)ev->rule < shim_config.rule_count)
		r->rule = shim_config.rules[ev->rule].name;
	r->result = ev->error == 0 ? "ok" :
		emit_errno_name(ev->error, errbuf, errsize);
	for (size_t i = 0; i < ev->detail_count && i < RECORD_MAX_DETAIL; i++)
		r->detail[r->detail_count++] = ev->detail[i];
	if (ev->target_real != NULL && ev->target_real[0] != '\0' &&
	    r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "real_path", .str = ev->target_real };
	if (ev->target2_real != NULL && ev->target2_real[0] != '\0' &&
	    r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "real_path2", .str = ev->target2_real };
	if (ev->inode != NULL && ev->inode[0] != '\0' &&
	    r->detail_count < RECORD_MAX_DETAIL)
		r->detail[r->detail_count++] = (struct record_detail){
			.key = "inode", .str = ev->inode };
}

/* One record being handed off, and the counts its last encoding carried. */
struct emit_attempt {
	struct record *r;
	size_t own_details;
	int64_t lost, denied;
};

/* spoolmap_encode_fn: the whole frame for a->r with seq. */
static long emit_encode_frame(void *context, int64_t seq, unsigned char *frame,
			      size_t cap)
{
	struct emit_attempt *a = context;
	struct record *r = a->r;
	const struct record_prefix *prefix;
	long len;

	if (cap <= SPOOL_FRAME_HEADER_BYTES)
		return -EINVAL;
	r->seq = seq;
	a->lost = __atomic_load_n(&emit_lost, __ATOMIC_RELAXED);
	a->denied = __atomic_load_n(&emit_denied, __ATOMIC_RELAXED);
	r->detail_count = a->own_details;
	emit_add_counts(r, a->lost, a->denied);
	prefix = emit_prefix_for(r);
	cap -= SPOOL_FRAME_HEADER_BYTES;
	if (cap > RECORD_MAX_BYTES)
		cap = RECORD_MAX_BYTES;
	if (prefix != NULL)
		len = record_encode_with_prefix(r, prefix,
						frame + SPOOL_FRAME_HEADER_BYTES, cap);
	else
		len = record_encode(r, frame + SPOOL_FRAME_HEADER_BYTES, cap);
	if (len <= 0)
		return len < 0 ? len : -EINVAL;
	spool_frame_header_encode(frame + SPOOL_FRAME_HEADER_BYTES, (uint32_t)len,
				  frame);
	return SPOOL_FRAME_HEADER_BYTES + len;
}

/* Reported: only what this record carried is taken off. */
static void emit_counts_reported(const struct emit_attempt *a)
{
	if (a->lost > 0)
		__atomic_fetch_sub(&emit_lost, a->lost, __ATOMIC_RELAXED);
	if (a->denied > 0)
		__atomic_fetch_sub(&emit_denied, a->denied, __ATOMIC_RELAXED);
}

/*
 * Writes r to the spool descriptor with one write() (the write lock held,
 * when locked, outside a signal handler: the file may be swapped first).
 * 0 when written; -ENODEV when a mapped file is there to use instead;
 * -ESTALE when the write failed and a fresh file may take it; another
 * negative errno (with *cut set when the loss is reported another way);
 * *writes counts the frames tried.
 */
static int emit_write_fd(struct emit_attempt *a, unsigned char *frame, size_t cap,
			 int locked, int *writes, int *cut)
{
	long len;
	ssize_t n;
	int fd = locked && !shim_nested() ? handoff_record_fd() : handoff_spool_fd();

	if (fd < 0)
		return fd;
	if (spoolmap_active())
		return -ENODEV;               /* a mapped file just came */
	len = emit_encode_frame(a, *writes == 0 ?
				__atomic_fetch_add(&emit_seq, 1, __ATOMIC_RELAXED) :
				a->r->seq, frame, cap);
	if (len <= 0) {
		*cut = *writes == 0;          /* its seq is taken: the gap reports it */
		return len < 0 ? (int)len : -EINVAL;
	}
	++*writes;
	do {
		n = REAL(write)(fd, frame, (size_t)len);
	} while (n < 0 && errno == EINTR);
	if (n == len)
		return 0;
	if (n < 0 && errno == EBADF)
		handoff_fd_gone(fd);          /* closed behind our back: not ours */
	else
		handoff_abandon(fd);
	if (n > 0) {
		*cut = 1;                     /* the reader counts a cut frame lost */
		return -EIO;
	}
	return -ESTALE;                       /* try a fresh file */
}

/* One attempt chain for r; 0, or a negative errno with *cut set when the
 * loss is reported another way (a frame cut short, a seq gap). */
static int emit_write(struct record *r, int *cut)
{
	unsigned char frame[SPOOL_FRAME_HEADER_BYTES + RECORD_MAX_BYTES];
	struct emit_attempt a = { .r = r, .own_details = r->detail_count };
	int rc, writes = 0, rounds, locked;

	for (rounds = 0; rounds < 4 && writes < 2; rounds++) {
		rc = spoolmap_append(emit_encode_frame, &a, frame, sizeof(frame));
		if (rc == 0) {
			emit_counts_reported(&a);
			if (!shim_nested() && handoff_upgrade_due()) {
				/* no write() in flight while the file changes */
				pthread_mutex_lock(&emit_write_lock);
				handoff_upgrade_mapped();
				pthread_mutex_unlock(&emit_write_lock);
			}
			return 0;
		}
		if (rc != -ENODEV)
			return rc;            /* no seq taken: counted lost */
		if (shim_nested())
			locked = pthread_mutex_trylock(&emit_write_lock) == 0;
		else
			locked = pthread_mutex_lock(&emit_write_lock) == 0;
		rc = emit_write_fd(&a, frame, sizeof(frame), locked, &writes, cut);
		if (locked)
			pthread_mutex_unlock(&emit_write_lock);
		if (rc == 0) {
			emit_counts_reported(&a);
			return 0;
		}
		if (rc != -ENODEV && rc != -ESTALE)
			return rc;
	}
	return -EIO;
}

/*
 * The one builder: stamps the time of the call, fills the record from ev
 * and hands it off. 0 or a negative errno. Guard held.
 */
static int emit_event(struct emit_event *ev)
{
	char errbuf[24];
	struct record r;
	int rc, cut = 0;

	clock_gettime(CLOCK_REALTIME, &ev->when);
	emit_fill(&r, ev, identity_get(), errbuf, sizeof(errbuf));
	rc = emit_write(&r, &cut);
	if (rc < 0 && !cut)
		__atomic_fetch_add(&emit_lost, 1, __ATOMIC_RELAXED);
	return rc;
}

int emit_path_event(enum event_type type, const struct policy_match *m,
		    const char *target2, int error,
		    const struct record_detail *detail, size_t detail_count)
{
	struct emit_event ev = {
		.type = type,
		.target = m->path,
		.target_real = m->real,
		.inode = m->inode,
		.target2 = target2,
		.rule = m->rule,
		.patient = m->patient,
		.error = error,
		.detail = detail,
		.detail_count = detail_count,
	};

	return emit_event(&ev);
}

int emit_pair_event(enum event_type type,
		    const struct policy_match *first, const char *first_written,
		    const struct policy_match *second, const char *second_written,
		    const struct policy_match *hit, int error,
		    const struct record_detail *detail, size_t detail_count)
{
	struct emit_event ev = {
		.type = type,
		.target = first->path[0] ? first->path : first_written,
		.target2 = second->path[0] ? second->path : second_written,
		.target_real = first->real,
		.target2_real = second->real,
		.inode = hit->inode,
		.rule = hit->rule,
		.patient = hit->patient,
		.error = error,
		.detail = detail,
		.detail_count = detail_count,
	};

	return emit_event(&ev);
}

int emit_file_event(enum event_type type, const struct phi_file *f)
{
	struct emit_event ev = {
		.type = type,
		.target = f->path,
		.target_real = f->real,
		.inode = f->inode,
		.rule = f->rule,
		.patient = f->patient,
	};

	return emit_event(&ev);
}

int emit_net_event(enum event_type type, const char *target, int rule,
		   const char *patient, int error,
		   const struct record_detail *detail, size_t detail_count)
{
	struct emit_event ev = {
		.type = type,
		.target = target,
		.rule = rule,
		.patient = patient,
		.error = error,
		.detail = detail,
		.detail_count = detail_count,
	};

	return emit_event(&ev);
}
