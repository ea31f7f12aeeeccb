/*
 * netstate.c - owns the state of open PHI sockets: which rule and peer,
 * byte counts per direction, and a small pool of content detectors (two
 * struct detect_stream each, about 11 KiB) lent to sockets whose rule has
 * a protocol. Everything is static storage touched only when used; a
 * socket beyond the detector pool is still audited, by byte counts, and
 * its records say why.
 *
 * Records: each message a detector completes is one PHI Message Sent or
 * Received (end_user_id = its patient). When the last descriptor of a
 * socket goes (or the process exits), a socket that was counted rather
 * than read (no protocol, no detector, or a detector that gave up) gets
 * one PHI Message Sent and/or Received per direction that carried bytes,
 * with detail scope = "connection" and the byte count: the vocabulary has
 * no "closed" event, and PHI Connection Opened cannot be updated. A child
 * of fork starts its counts at zero and goes on with the detectors'
 * streams: each process reports only what it moved itself.
 *
 * Never blocks: a direction two threads feed at once is counted, not
 * read. Never makes a system call of its own except the record's write.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "netstate.h"
#include "real.h"
#include "shim.h"

struct net_detector {
	unsigned in_use;                    /* atomic */
	unsigned busy[2];                   /* atomic try-lock per direction */
	struct detect_stream stream[2];
};

static unsigned netstate_in_use[NETSTATE_MAX_SOCKETS];   /* atomic */
static unsigned netstate_refs[NETSTATE_MAX_SOCKETS];     /* atomic */
static struct phi_socket netstate_sockets[NETSTATE_MAX_SOCKETS];
static struct net_detector netstate_detectors[NETSTATE_MAX_DETECTORS];
static unsigned netstate_detectors_seen;   /* atomic: 1 + highest ever claimed */

#define NETSTATE_MESSAGES_PER_FEED 8
#define NETSTATE_FEED_CHUNK 512             /* bytes fed per detector call */

int netstate_detector_claim(void)
{
	for (int i = 0; i < NETSTATE_MAX_DETECTORS; i++) {
		unsigned zero = 0;

		if (__atomic_load_n(&netstate_detectors[i].in_use, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&netstate_detectors[i].in_use, &zero, 1, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			unsigned seen = __atomic_load_n(&netstate_detectors_seen,
							__ATOMIC_RELAXED);

			while (seen < (unsigned)i + 1 &&
			       !__atomic_compare_exchange_n(&netstate_detectors_seen, &seen,
							    (unsigned)i + 1, 0,
							    __ATOMIC_RELAXED,
							    __ATOMIC_RELAXED))
				;
			return i;
		}
	}
	return -1;
}

struct detect_stream *netstate_detector_stream(int index, int dir)
{
	return &netstate_detectors[index].stream[dir];
}

void netstate_detector_release(int index)
{
	if (index >= 0)
		__atomic_store_n(&netstate_detectors[index].in_use, 0, __ATOMIC_RELEASE);
}

int netstate_ref(unsigned slot)
{
	unsigned *refs = &netstate_refs[slot & ~NETSTATE_SLOT_SOCKET];
	unsigned n = __atomic_load_n(refs, __ATOMIC_ACQUIRE);

	while (n != 0) {
		if (__atomic_compare_exchange_n(refs, &n, n + 1, 1,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

static void netstate_emit(struct phi_socket *s, int dir, const char *patient,
			  const struct record_detail *detail, size_t count)
{
	emit_net_event(dir == NET_SENT ? EVENT_MESSAGE_SENT :
		       EVENT_MESSAGE_RECEIVED, s->target, s->rule, patient, 0,
		       detail, count);
}

static void netstate_emit_message(struct phi_socket *s, int dir,
				  const struct detect_message *m)
{
	struct record_detail d[6];
	size_t n = 0;

	d[n++] = (struct record_detail){ .key = "protocol",
		.str = detect_protocol_name(s->protocol) };
	d[n++] = (struct record_detail){ .key = "message_type", .str = m->message_type };
	if (m->identifiers[0] != '\0')
		d[n++] = (struct record_detail){ .key = "identifiers", .str = m->identifiers };
	d[n++] = (struct record_detail){ .key = "bytes", .num = (int64_t)m->bytes };
	if (m->flags & DETECT_FLAG_TRUNCATED)
		d[n++] = (struct record_detail){ .key = "truncated", .num = 1 };
	if (m->flags & DETECT_FLAG_UNSCANNED)
		d[n++] = (struct record_detail){ .key = "unscanned", .num = 1 };
	__atomic_add_fetch(&s->messages[dir], 1, __ATOMIC_RELAXED);
	netstate_emit(s, dir, m->patient, d, n);
}

/* Reports what one detector call found; notes a give-up. */
static void netstate_found(struct phi_socket *s, int dir,
			   const struct detect_stream *stream,
			   const struct detect_message *found, size_t count)
{
	for (size_t i = 0; i < count; i++)
		netstate_emit_message(s, dir, &found[i]);
	if (s->stopped[dir] == NULL && detect_stream_gave_up(stream) != NULL)
		s->stopped[dir] = detect_stream_gave_up(stream);
}

/* Takes direction dir's detector: 1, or 0 (none, stopped, or busy). */
static int netstate_lock(struct phi_socket *s, int dir)
{
	unsigned zero = 0;

	if (s->detector < 0 || s->stopped[dir] != NULL)
		return 0;
	if (!__atomic_compare_exchange_n(&netstate_detectors[s->detector].busy[dir],
					 &zero, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		s->stopped[dir] = "two threads used one direction at once";
		return 0;
	}
	return 1;
}

static void netstate_unlock(struct phi_socket *s, int dir)
{
	__atomic_store_n(&netstate_detectors[s->detector].busy[dir], 0,
			 __ATOMIC_RELEASE);
}

void netstate_data(struct phi_socket *s, int dir, const struct iovec *iov,
		   int iovcnt, size_t n)
{
	struct detect_message found[NETSTATE_MESSAGES_PER_FEED];
	struct detect_stream *stream;
	int saved_errno = errno;

	__atomic_add_fetch(&s->bytes[dir], n, __ATOMIC_RELAXED);
	if (n == 0 || !shim_enter())
		goto out;
	if (!netstate_lock(s, dir))
		goto leave;
	stream = &netstate_detectors[s->detector].stream[dir];
	for (int i = 0; i < iovcnt && n > 0 && s->stopped[dir] == NULL; i++) {
		const unsigned char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len < n ? iov[i].iov_len : n;

		n -= len;
		while (len > 0 && s->stopped[dir] == NULL) {
			size_t chunk = len < NETSTATE_FEED_CHUNK ? len : NETSTATE_FEED_CHUNK;
			size_t count = detect_stream_feed(stream, p, chunk, found,
							  NETSTATE_MESSAGES_PER_FEED);

			netstate_found(s, dir, stream, found, count);
			p += chunk;
			len -= chunk;
		}
	}
	netstate_unlock(s, dir);
leave:
	shim_leave();
out:
	errno = saved_errno;
}

void netstate_data_buffer(struct phi_socket *s, int dir, const void *buf,
			  size_t n)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };

	netstate_data(s, dir, &iov, 1, n);
}

/* Guard held. */
static void netstate_end_locked(struct phi_socket *s, int dir)
{
	struct detect_message found[NETSTATE_MESSAGES_PER_FEED];
	struct detect_stream *stream;
	size_t count;

	if (!netstate_lock(s, dir))
		return;
	stream = &netstate_detectors[s->detector].stream[dir];
	count = detect_stream_end(stream, found, NETSTATE_MESSAGES_PER_FEED);
	netstate_found(s, dir, stream, found, count);
	netstate_unlock(s, dir);
}

void netstate_end(struct phi_socket *s, int dir)
{
	int saved_errno = errno;

	if (shim_enter()) {
		netstate_end_locked(s, dir);
		shim_leave();
	}
	errno = saved_errno;
}

/* The connection is over: last messages, then byte counts where needed. */
static void netstate_finish(struct phi_socket *s)
{
	int saved_errno = errno;

	if (__atomic_exchange_n(&s->finished, 1, __ATOMIC_ACQ_REL))
		return;
	if (!shim_enter())
		goto out;
	for (int dir = NET_SENT; dir <= NET_RECEIVED; dir++) {
		uint64_t bytes = __atomic_load_n(&s->bytes[dir], __ATOMIC_RELAXED);
		uint64_t dropped = 0;
		struct record_detail d[5];
		size_t n = 0;

		netstate_end_locked(s, dir);
		if (s->detector >= 0)
			dropped = netstate_detectors[s->detector].stream[dir].messages_dropped;
		if (bytes == 0 || (s->detector >= 0 && s->stopped[dir] == NULL &&
				   dropped == 0))
			continue;
		d[n++] = (struct record_detail){ .key = "scope", .str = "connection" };
		d[n++] = (struct record_detail){ .key = "bytes", .num = (int64_t)bytes };
		if (s->protocol != DETECT_NONE) {
			d[n++] = (struct record_detail){ .key = "protocol",
				.str = detect_protocol_name(s->protocol) };
			d[n++] = (struct record_detail){ .key = "messages",
				.num = (int64_t)__atomic_load_n(&s->messages[dir],
								__ATOMIC_RELAXED) };
		}
		if (s->note != NULL)
			d[n++] = (struct record_detail){ .key = "note", .str = s->note };
		else if (s->stopped[dir] != NULL)
			d[n++] = (struct record_detail){ .key = "gave_up",
				.str = s->stopped[dir] };
		else if (dropped != 0)
			d[n++] = (struct record_detail){ .key = "note",
				.str = "messages too close together were not reported" };
		netstate_emit(s, dir, NULL, d, n);
	}
	shim_leave();
out:
	netstate_detector_release(s->detector);
	s->detector = -1;
	errno = saved_errno;
}

void netstate_unref(unsigned slot)
{
	unsigned index = slot & ~NETSTATE_SLOT_SOCKET;

	if (__atomic_sub_fetch(&netstate_refs[index], 1, __ATOMIC_ACQ_REL) != 0)
		return;
	netstate_finish(&netstate_sockets[index]);
	__atomic_store_n(&netstate_in_use[index], 0, __ATOMIC_RELEASE);
}

int netstate_open(int fd, int rule, const char *target)
{
	if (fd < 0 || fd >= FDSTATE_MAX_FDS)
		return -EBADF;
	for (unsigned i = 0; i < NETSTATE_MAX_SOCKETS; i++) {
		struct phi_socket *s = &netstate_sockets[i];
		unsigned zero = 0;

		if (__atomic_load_n(&netstate_in_use[i], __ATOMIC_RELAXED) != 0 ||
		    !__atomic_compare_exchange_n(&netstate_in_use[i], &zero, 1, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		memset(s, 0, offsetof(struct phi_socket, target));
		s->rule = rule;
		s->detector = -1;
		s->protocol = detect_protocol_from_name(shim_config.rules[rule].protocol);
		strlcpy(s->target, target, sizeof(s->target));
		if (s->protocol != DETECT_NONE) {
			s->detector = netstate_detector_claim();
			if (s->detector < 0) {
				s->note = "more PHI sockets open than detectors: bytes counted only";
			} else {
				struct net_detector *d = &netstate_detectors[s->detector];

				d->busy[0] = d->busy[1] = 0;
				detect_stream_init(&d->stream[NET_SENT], s->protocol);
				detect_stream_init(&d->stream[NET_RECEIVED], s->protocol);
			}
		}
		__atomic_store_n(&netstate_refs[i], 1, __ATOMIC_RELEASE);
		fdstate_set_slot(fd, NETSTATE_SLOT_SOCKET | i);
		return 0;
	}
	return -ENOSPC;
}

struct phi_socket *netstate_get(int fd)
{
	unsigned slot;

	if ((unsigned)fd >= FDSTATE_MAX_FDS)
		return NULL;
	for (;;) {
		slot = __atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_ACQUIRE);
		if (!(slot & NETSTATE_SLOT_SOCKET) || !netstate_ref(slot))
			return NULL;
		if (__atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_ACQUIRE) == slot)
			return &netstate_sockets[slot & ~NETSTATE_SLOT_SOCKET];
		netstate_unref(slot);
	}
}

void netstate_put(struct phi_socket *s)
{
	if (s != NULL)
		netstate_unref(NETSTATE_SLOT_SOCKET |
			       (unsigned)(s - netstate_sockets));
}

/*
 * In the child of fork: the open PHI sockets are now shared with the
 * parent, which reports what it moved; the child reports only its own
 * traffic, so its counts start at zero. Each detector stream goes on
 * where it was (the child usually continues the conversation; the parent
 * usually closes its copy), and a try-lock another parent thread held at
 * the fork is free: that thread does not exist here.
 */
void netstate_atfork_child(void)
{
	for (unsigned i = 0; i < NETSTATE_MAX_SOCKETS; i++) {
		struct phi_socket *s = &netstate_sockets[i];

		if (__atomic_load_n(&netstate_in_use[i], __ATOMIC_RELAXED) == 0)
			continue;
		s->bytes[NET_SENT] = s->bytes[NET_RECEIVED] = 0;
		s->messages[NET_SENT] = s->messages[NET_RECEIVED] = 0;
	}
	/* Only detectors ever claimed: touching the others would fault in
	 * (and copy) every page of the table in each child. */
	for (unsigned i = 0; i < netstate_detectors_seen; i++)
		netstate_detectors[i].busy[0] = netstate_detectors[i].busy[1] = 0;
}

/*
 * At exit the program may not have closed its sockets: report their end
 * now (each once; a later close finds them finished). Called by shim.c's
 * destructor.
 */
void netstate_at_exit(void)
{
	int saved_errno = errno;

	for (unsigned i = 0; i < NETSTATE_MAX_SOCKETS; i++) {
		unsigned slot = NETSTATE_SLOT_SOCKET | i;

		if (__atomic_load_n(&netstate_in_use[i], __ATOMIC_ACQUIRE) == 0 ||
		    !netstate_ref(slot))
			continue;
		netstate_finish(&netstate_sockets[i]);
		netstate_unref(slot);
	}
	errno = saved_errno;
}
