/*
 * control.c - the client side of the collector's two control requests:
 * "status" (one status frame, then the end frame) and "checkpoint" (the
 * end frame alone, count = the checkpoint's tree size), each one request
 * per connection as every query is.
 * Owns: the exchange and the busy retry of "checkpoint". Must never: print
 * (the verbs decide what to say), or read the store itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "control.h"
#include "query.h"

/*
 * Sends op and reads its answer: *status_frame (when not NULL) must come
 * first; then the end frame (*count). 0 or a negative errno with message.
 */
static int control_exchange(const char *socket_path, enum query_op op,
			    struct status_reply *s, int64_t *count,
			    char *message, size_t message_size)
{
	static unsigned char frame[STATUS_MAX_REPLY];
	unsigned char request[256];
	struct query_request q;
	const char *why = NULL;
	long len;
	int fd, rc, kind;

	message[0] = '\0';
	query_request_init(&q);
	q.op = op;
	len = query_request_encode(&q, request, sizeof(request));
	if (len < 0)
		return (int)len;
	fd = cli_client_connect(socket_path);
	if (fd < 0) {
		snprintf(message, message_size, "cannot reach the collector at %s: %s",
			 socket_path, strerror(-fd));
		return fd;
	}
	rc = cli_client_send_frame(fd, request, (size_t)len);
	if (rc < 0) {
		snprintf(message, message_size, "sending the request: %s",
			 strerror(-rc));
		goto out;
	}
	for (;;) {
		len = cli_client_read_frame(fd, frame, sizeof(frame));
		if (len <= 0) {
			rc = len == 0 ? -EPIPE : (int)len;
			snprintf(message, message_size, "reading the answer: %s",
				 len == 0 ? "the collector closed the connection" :
				 strerror(-rc));
			goto out;
		}
		kind = query_response_kind(frame, (size_t)len, count, message,
					   message_size);
		if (kind == -1) {
			rc = -EREMOTEIO;
			goto out;
		}
		if (kind == 0) {
			if (s != NULL) {
				rc = -EBADMSG;
				snprintf(message, message_size, "the answer ended "
					 "without the status");
			}
			goto out;
		}
		if (s == NULL || status_reply_decode(frame, (size_t)len, s, &why) < 0) {
			rc = -EBADMSG;
			snprintf(message, message_size, "unreadable answer: %s",
				 why ? why : "not the expected frame");
			goto out;
		}
		s = NULL;                     /* now the end frame */
	}
out:
	close(fd);
	return rc;
}

int cli_control_status(const char *socket_path, struct status_reply *s,
		       char *message, size_t message_size)
{
	int64_t count = 0;

	return control_exchange(socket_path, QUERY_OP_STATUS, s, &count, message,
				message_size);
}

int cli_control_checkpoint(const char *socket_path, int64_t *tree_size,
			   char *message, size_t message_size)
{
	const struct timespec pause = {
		.tv_nsec = CLI_CONTROL_BUSY_RETRY_MS * 1000000L,
	};
	int tries, rc = -EBUSY;

	for (tries = 0; tries < CLI_CONTROL_BUSY_TRIES; tries++) {
		rc = control_exchange(socket_path, QUERY_OP_CHECKPOINT, NULL,
				      tree_size, message, message_size);
		if (rc != -EREMOTEIO || strncmp(message, "busy:", 5) != 0)
			return rc;
		nanosleep(&pause, NULL);
	}
	return rc;
}
