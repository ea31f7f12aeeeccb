/*
 * handoff.h - the ingest socket handshake between shim and collector.
 * Byte layout only; shim/handoff.c and collector/ingest.c implement the two
 * sides.
 *
 * The ingest socket is a Unix SOCK_SEQPACKET socket. A process connects on
 * its first PHI event and sends one hello message:
 *   0  8  magic "PHTHELLO"
 *   8  4  protocol version (HANDOFF_VERSION = 1), little endian
 *   12 4  flags: zero, or HANDOFF_FLAG_MAPPED (the shim asks for a spool
 *          file it can map; a collector that cannot offer one answers as
 *          for zero flags)
 * The collector takes the peer's pid, uid and gid from the kernel
 * (SO_PEERCRED), creates a spool file for it (spool.h) in a directory the
 * peer cannot list, writes the header and answers with one message:
 *   0  8  magic "PHTREADY"
 *   8  4  protocol version, little endian
 *   12 4  status: 0, or a positive errno saying why there is no spool file
 * carrying, when the status is 0, descriptors (SCM_RIGHTS), either
 *   one:   the spool file opened O_WRONLY | O_APPEND; the shim appends
 *          frames to it with write(); or, only when the hello asked for it,
 *   three: [0] the spool file opened O_RDWR (not O_APPEND), header written,
 *              for the shim to map and grow (fallocate) itself;
 *          [1] the collector's wake page: a memfd of exactly
 *              HANDOFF_WAKE_PAGE_BYTES sealed with F_SEAL_SHRINK |
 *              F_SEAL_GROW | F_SEAL_FUTURE_WRITE (plus F_SEAL_SEAL), which
 *              the shim maps read-only; its first 32-bit word is non-zero
 *              while the collector sleeps;
 *          [2] the collector's eventfd (non-blocking): after publishing a
 *              frame the shim reads the wake word (after a full fence) and,
 *              only when it is set, writes 1 to it.
 * The shim then closes the socket. Anything else is a protocol error and
 * the connection is closed (the shim checks type, count, size and seals of
 * every descriptor and closes what it does not use).
 *
 * Instead of a hello, a shim that audits nothing (no configuration, or a
 * broken one) sends one notice and closes the socket without waiting for
 * an answer (none is sent):
 *   0  8  magic "PHTUNAUD"
 *   8  4  protocol version (HANDOFF_VERSION), little endian
 *   12 2  E: length of the program's path, little endian, 0..255
 *   14 2  R: length of the reason, little endian, 1..255
 *   16 E  the program's path as the shim read /proc/self/exe (the
 *         collector prefers what it reads itself while the pid lives)
 *   16+E R  the reason, e.g. "/etc/phitrail/phitrail.conf:7: ..."
 * No byte of either text is NUL; nothing follows. handoff_notice.c reads
 * and writes it.
 *
 * A process's first record must not wait for the collector: the shim
 * sends a claim instead of the hello and waits for nothing (a process that
 * goes on writing sends the hello later, for a mapped file):
 *   0  8  magic "PHTCLAIM"
 *   8  4  protocol version, little endian
 *   12 4  flags: zero
 * carrying one descriptor (SCM_RIGHTS): a spool file the child created in
 * incoming/ as <pid>.<start ticks>.<random hex>.claim (O_EXCL, 0600,
 * header flagged SPOOL_FLAG_FALLBACK, opened O_RDWR | O_APPEND), which it
 * writes to at once: mapped by the shim itself (grown with fallocate, so
 * zero bytes may follow the last frame, as in a mapped file of the
 * collector's), or appended to with write() where it cannot be mapped. No
 * reply is waited for while the process runs: the shim keeps the
 * connection (non-blocking, close-on-exec) and the collector, once it has
 * read the peer's identity (or found it gone), sends one byte, the ack
 * (any value), and closes it. At a normal exit (exit(), return from main:
 * not _exit or a fatal signal) a process whose claim is not acknowledged
 * and whose login uid is set waits for the ack or the close at most
 * HANDOFF_ACK_WAIT_MS, so its login uid and session are read while it
 * still runs; with the login uid unset it waits for nothing. The collector
 * takes the claim when
 * the descriptor is that file (same inode, one link, owned by the peer's
 * uid) and the header's pid and uid are the peer's (SO_PEERCRED, taken by
 * the kernel at connect, so still true after the child exits): it renames
 * the file to <...>.spool and follows it with the peer's verified identity
 * (its /proc details too while the child still runs). Any other claim is
 * refused and its file, when it is one, renamed to <...>.spool: an
 * ordinary fallback file. A .claim file whose claim never arrived (the
 * collector was killed first) is adopted as a fallback file when a
 * collector starts, or once unchanged for HANDOFF_CLAIM_GRACE_S.
 */
#ifndef PHITRAIL_HANDOFF_H
#define PHITRAIL_HANDOFF_H

#define HANDOFF_VERSION 1
#define HANDOFF_HELLO_MAGIC "PHTHELLO"
#define HANDOFF_READY_MAGIC "PHTREADY"
#define HANDOFF_CLAIM_MAGIC "PHTCLAIM"
#define HANDOFF_CLAIM_SUFFIX ".claim"     /* incoming/ name until claimed */
#define HANDOFF_CLAIM_GRACE_S 10          /* then an unclaimed one is adopted */
#define HANDOFF_MESSAGE_BYTES 16
#define HANDOFF_REPLY_TIMEOUT_MS 500     /* the shim's bounded wait for a reply */
#define HANDOFF_ACK_WAIT_MS 100          /* at exit, for the claim's ack */
#define HANDOFF_FLAG_MAPPED 0x1u          /* hello: map the spool file */
#define HANDOFF_WAKE_PAGE_BYTES 4096
#define HANDOFF_MAPPED_FDS 3
#define HANDOFF_NOTICE_MAGIC "PHTUNAUD"
#define HANDOFF_NOTICE_HEAD_BYTES 16
#define HANDOFF_NOTICE_TEXT_MAX 255
#define HANDOFF_NOTICE_MAX_BYTES \
	(HANDOFF_NOTICE_HEAD_BYTES + 2 * HANDOFF_NOTICE_TEXT_MAX)

#include <stddef.h>

/*
 * Writes a notice into out (HANDOFF_NOTICE_MAX_BYTES); texts longer than
 * HANDOFF_NOTICE_TEXT_MAX are cut, a NUL ends them. Returns its length.
 */
size_t handoff_notice_encode(const char *exe, const char *reason,
			     unsigned char out[HANDOFF_NOTICE_MAX_BYTES]);

/*
 * Reads a notice of exactly len bytes: exe and reason copied
 * NUL-terminated (each HANDOFF_NOTICE_TEXT_MAX + 1 bytes). 0, or -EBADMSG
 * with *why (static) for a wrong magic, version, length, or a NUL inside.
 */
int handoff_notice_decode(const unsigned char *buf, size_t len, char *exe,
			  char *reason, const char **why);

/* Fallback spool directory, under the configured spool directory. */
#define SPOOL_DIR_ACTIVE "active"        /* collector-created files, 0700 */
#define SPOOL_DIR_INCOMING "incoming"    /* shim-created files, 1733 */

#endif
