/*
 * handoff.h - the ingest socket handshake between shim and collector.
 * Byte layout only; shim/handoff.c and collector/ingest.c implement the two
 * sides.
 *
 * The ingest socket is a Unix SOCK_SEQPACKET socket. A process connects on
 * its first PHI event and sends one hello message:
 *   0  8  magic "PHTHELLO"
 *   8  4  protocol version (HANDOFF_VERSION = 1), little endian
 *   12 4  flags, zero
 * The collector takes the peer's pid, uid and gid from the kernel
 * (SO_PEERCRED), creates a spool file for it (spool.h) in a directory the
 * peer cannot list, writes the header and answers with one message:
 *   0  8  magic "PHTREADY"
 *   8  4  protocol version, little endian
 *   12 4  status: 0, or a positive errno saying why there is no spool file
 * carrying, when the status is 0, exactly one descriptor (SCM_RIGHTS): the
 * spool file opened O_WRONLY | O_APPEND. The shim then closes the socket and
 * appends frames to that descriptor. Anything else is a protocol error and
 * the connection is closed.
 */
#ifndef PHITRAIL_HANDOFF_H
#define PHITRAIL_HANDOFF_H

#define HANDOFF_VERSION 1
#define HANDOFF_HELLO_MAGIC "PHTHELLO"
#define HANDOFF_READY_MAGIC "PHTREADY"
#define HANDOFF_MESSAGE_BYTES 16
#define HANDOFF_REPLY_TIMEOUT_MS 500     /* the shim's one bounded wait */

/* Fallback spool directory, under the configured spool directory. */
#define SPOOL_DIR_ACTIVE "active"        /* collector-created files, 0700 */
#define SPOOL_DIR_INCOMING "incoming"    /* shim-created files, 1733 */

#endif
