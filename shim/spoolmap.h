/*
 * spoolmap.h - the mapped spool file (spoolmap.c): frames reserved with
 * one compare-and-swap and copied into a shared mapping of the spool file,
 * no system call per record (handoff.h, HANDOFF_FLAG_MAPPED).
 */
#ifndef PHITRAIL_SHIM_SPOOLMAP_H
#define PHITRAIL_SHIM_SPOOLMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Encodes one whole frame (spool.h: length, CRC-32C, payload) whose record
 * carries seq into frame (cap bytes). Returns its size in bytes, or a
 * negative errno. May be called more than once for one record (another
 * thread took the seq first): each call replaces the last.
 */
typedef long spoolmap_encode_fn(void *context, int64_t seq,
				unsigned char *frame, size_t cap);

/*
 * Appends one frame to the mapped spool file, encoded by encode into the
 * caller's buffer frame (cap bytes, room for the largest frame: one buffer
 * on the stack of an audited call, however it is handed off); 0 once it is
 * published;
 * -ENODEV when there is no usable mapping (none yet, or it was given up:
 * the caller gets a spool descriptor from handoff_spool_fd and, when that
 * did not map one, writes); another negative errno when encode failed (no
 * seq was taken). Lock-free unless the file must grow (then a lock,
 * only tried in a signal handler: -EAGAIN when busy).
 */
int spoolmap_append(spoolmap_encode_fn *encode, void *context,
		    unsigned char *frame, size_t cap);

/* 1 when a mapping is in use (spoolmap_append may succeed). */
int spoolmap_active(void);

/* 1 when the next hello may ask for a mapped spool file. */
int spoolmap_wanted(void);

/*
 * Takes over the descriptors of a mapped reply (handoff.h): checks them,
 * maps the file and the wake page. On success returns the spool fd the
 * handoff keeps as its own (moved up to >= floor) and owns the other two;
 * on failure closes page_fd and event_fd and returns a negative errno
 * (spool_fd stays the caller's).
 */
int spoolmap_attach(int spool_fd, int page_fd, int event_fd, int floor);

/*
 * Maps the process's own claimed spool file (opened O_RDWR, header written,
 * nothing after; handoff.c) as the current window: no wake page and no
 * eventfd (the collector reads it at its next tick). 0, or a negative
 * errno and nothing kept (spool_fd stays the caller's either way).
 */
int spoolmap_attach_own(int spool_fd);

/* Frames in the current window when it is the process's own file, else -1. */
long spoolmap_own_frames(void);

/*
 * Gives the current mapping up (no new reservation succeeds; frames
 * reserved already are still written). Called with the handoff lock held,
 * before a new spool file is asked for. Returns the final end of the data.
 */
void spoolmap_retire(void);

/* The program closed descriptors first..last (or replaced them): forget
 * those that were ours. */
void spoolmap_fds_gone(unsigned first, unsigned last);


/* A child of fork: drop the parent's mappings, own nothing. */
void spoolmap_atfork_child(void);

/* emit.c: the seq the next record takes (a new window starts there) and,
 * when a window is given up, the seq after its last frame. */
int64_t emit_seq_peek(void);
void emit_seq_advance(int64_t next);

#endif
