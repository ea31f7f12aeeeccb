/*
 * netstate.h - per-socket PHI state (netstate.c) and the socket wrappers'
 * entry points that the descriptor wrappers of wrap_rw.c call
 * (wrap_net.c).
 *
 * A PHI socket shares the descriptor table of fdstate.c: its entry in
 * fdstate_slot_of_fd is NETSTATE_SLOT_SOCKET | index, so a descriptor that
 * is neither a PHI file nor a PHI socket still costs one load, and dup,
 * dup2, close and close_range keep sockets right with no code of their own.
 * A socket is audited while any descriptor names it; when the last one
 * goes, the rest of its messages and its byte counts are reported.
 */
#ifndef PHITRAIL_SHIM_NETSTATE_H
#define PHITRAIL_SHIM_NETSTATE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "detect.h"
#include "netaddr.h"
#include "shim.h"

#define NETSTATE_SLOT_SOCKET 0x8000u       /* fdstate slot: a PHI socket */
#define NETSTATE_MAX_SOCKETS 1024          /* PHI sockets open at once */
#define NETSTATE_MAX_DETECTORS 48          /* ... of which with a detector */

_Static_assert(FDSTATE_MAX_FILES < NETSTATE_SLOT_SOCKET, "slot spaces overlap");
_Static_assert(NETSTATE_MAX_SOCKETS < NETSTATE_SLOT_SOCKET, "slot too small");

enum { NET_SENT = 0, NET_RECEIVED = 1 };

struct phi_socket {
	int rule;
	enum detect_protocol protocol;     /* DETECT_NONE: byte counts only */
	int detector;                      /* pool index, -1 when none */
	const char *note;                  /* why there is no detector */
	unsigned finished;                 /* atomic: end reported */
	uint64_t bytes[2];                 /* atomic, per direction */
	uint64_t messages[2];              /* atomic, records emitted */
	const char *stopped[2];            /* detection stopped and why */
	char target[NETADDR_TEXT_MAX];
};

/* 1 when fd is a PHI socket (one relaxed load, no reference). */
static inline int netstate_is_socket(int fd)
{
	return (unsigned)fd < FDSTATE_MAX_FDS &&
		(__atomic_load_n(&fdstate_slot_of_fd[fd], __ATOMIC_RELAXED) &
		 NETSTATE_SLOT_SOCKET) != 0;
}

/* fdstate.c: sets fd's slot (file, socket or 0), dropping the old one. */
void fdstate_set_slot(int fd, unsigned slot);

/* For fdstate.c: a reference on socket slot (1, or 0 when it is free). */
int netstate_ref(unsigned slot);
/* ... and its release; the last one reports the end of the connection. */
void netstate_unref(unsigned slot);

/*
 * fd is now a PHI socket of rule, peer target (replacing what fd was).
 * Guard held. 0, or -ENOSPC when NETSTATE_MAX_SOCKETS are open.
 */
int netstate_open(int fd, int rule, const char *target);

/* In the child of fork: counts restart at zero (streams go on). */
void netstate_atfork_child(void);

/* At exit: reports the end of every PHI socket still open. */
void netstate_at_exit(void);

/* The PHI socket behind fd with a reference held, or NULL. */
struct phi_socket *netstate_get(int fd);
void netstate_put(struct phi_socket *s);

/*
 * n bytes went in direction dir through iov (the program's buffers, read
 * only): counted, and fed to the detector, which reports each message it
 * completes. Keeps errno.
 */
void netstate_data(struct phi_socket *s, int dir, const struct iovec *iov,
		   int iovcnt, size_t n);

/* The same for one buffer. */
void netstate_data_buffer(struct phi_socket *s, int dir, const void *buf,
			  size_t n);

/* Direction dir ended (EOF read, shutdown): messages only the end completes. */
void netstate_end(struct phi_socket *s, int dir);

/*
 * Detectors borrowed for a file's head (filedetect.c): a pool index, or -1
 * when every detector is in use; the stream of direction 0 is the caller's.
 */
int netstate_detector_claim(void);
struct detect_stream *netstate_detector_stream(int index, int dir);
void netstate_detector_release(int index);

/* wrap_net.c: the socket side of the descriptor wrappers (wrap_rw.c). */
ssize_t net_read(int fd, void *buf, size_t count);
ssize_t net_read_chk(int fd, void *buf, size_t count, size_t buf_size);
ssize_t net_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t net_write(int fd, const void *buf, size_t count);
ssize_t net_writev(int fd, const struct iovec *iov, int iovcnt);
/*
 * After sendfile/sendfile64 sent n bytes of in_fd to out_fd: when out_fd
 * is a PHI socket, counts them and feeds them to its detector (read back
 * with pread; offset_after is *offset after the call, or -1 when the call
 * used the file position). Returns n, keeps errno.
 */
ssize_t net_sendfile_after(int out_fd, int in_fd, int64_t offset_after,
			   ssize_t n);

/*
 * filedetect.c: a PHI file whose rule has a protocol and whose path names
 * no patient: reads the head of open descriptor fd (pread, so the file
 * offset does not move) and sets m->patient from its content. Guard held;
 * keeps errno.
 */
void filedetect_patient(int fd, struct policy_match *m);

#endif
