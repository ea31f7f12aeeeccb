/*
 * client.h - the query socket, from the client's side (client.c): frames
 * of common/protocol/query.h over a Unix stream socket.
 */
#ifndef PHITRAIL_CLIENT_H
#define PHITRAIL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "record.h"

#define CLI_CLIENT_TIMEOUT_MS 30000     /* most one frame may take to arrive */

/*
 * Connects to the collector's query socket at path. Returns the descriptor
 * or a negative errno (-ENAMETOOLONG when path does not fit sun_path).
 */
int cli_client_connect(const char *path);

/* Sends one frame: 4-byte big-endian length, then len bytes. 0 or -errno. */
int cli_client_send_frame(int fd, const void *payload, size_t len);

/*
 * Reads one frame into buf (cap bytes). Returns the payload length, 0 at a
 * clean end of stream before a frame began, or a negative errno: -EBADMSG
 * when the length word is 0 or larger than cap or QUERY_MAX_FRAME (the
 * frame is not read), -EPIPE when the stream ends inside a frame,
 * -ETIMEDOUT when the collector sends nothing for CLI_CLIENT_TIMEOUT_MS.
 */
long cli_client_read_frame(int fd, void *buf, size_t cap);

/*
 * Called for each record of an answer; the record's strings live until
 * the callback returns. A nonzero return stops reading (that value is
 * returned by cli_client_query).
 */
typedef int (*cli_record_callback)(void *context, const struct record *r,
				   const void *bytes, size_t len);

/*
 * Sends q on fd (from cli_client_connect; the caller closes it) and reads
 * the answer: each record to callback, then the end frame (*count
 * receives its count). Returns 0 (message may then hold a warning, such as
 * a count that does not match the records sent); -EREMOTEIO when the
 * collector answered with an error (its message in message); a negative
 * errno for a broken or cut answer (what was wrong in message); or the
 * callback's nonzero value.
 */
int cli_client_exchange(int fd, const struct query_request *q,
			cli_record_callback callback, void *context,
			int64_t *count, char *message, size_t message_size);

#endif
