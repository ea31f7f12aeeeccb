/*
 * control.h - the collector's "status" and "checkpoint" requests from the
 * client's side (control.c; protocol in query.h, answer in status.h).
 */
#ifndef PHITRAIL_CONTROL_H
#define PHITRAIL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* How long cli_control_checkpoint keeps asking while the collector is busy. */
#define CLI_CONTROL_BUSY_RETRY_MS 10
#define CLI_CONTROL_BUSY_TRIES 500

/*
 * Asks the collector at socket_path for its status. 0; -ECONNREFUSED,
 * -ENOENT, -EACCES (and other connect errors) when it cannot be reached;
 * -EREMOTEIO when it answered with an error; -EBADMSG for an answer that
 * cannot be read. message (message_size bytes) says what went wrong.
 */
int cli_control_status(const char *socket_path, struct status_reply *s,
		       char *message, size_t message_size);

/*
 * Asks the collector to sign a checkpoint of everything committed now,
 * asking again while it is busy with a group commit. 0 (*tree_size: the
 * records it covers), or a negative errno as above with message.
 */
int cli_control_checkpoint(const char *socket_path, int64_t *tree_size,
			   char *message, size_t message_size);

#endif
