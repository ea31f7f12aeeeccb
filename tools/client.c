/*
 * client.c - the CLI's side of the query socket: connect, send one request
 * frame, read the answer frame by frame and hand each decoded record to a
 * callback.
 *
 * Owns: the framing rules on the client side. Every length word is checked
 * (1..QUERY_MAX_FRAME and the buffer's size) before a byte of the frame is
 * read; a stream that ends early or a frame that does not decode is an
 * error, never a short answer printed as if it were whole.
 * Must never: know how the collector stores or finds records, print, or
 * exit: it returns negative errno values and a message for the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/string.h>

#include "client.h"

int
cli_client_connect(const char *path)
{
	struct sockaddr_un address;
	struct timeval timeout = {
		.tv_sec = CLI_CLIENT_TIMEOUT_MS / 1000,
		.tv_usec = (suseconds_t)(CLI_CLIENT_TIMEOUT_MS % 1000) * 1000,
	};
	int fd, rc;

	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	if (strlcpy(address.sun_path, path, sizeof(address.sun_path)) >=
	    sizeof(address.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout,
		       sizeof(timeout)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		rc = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

/* A timeout shows as EAGAIN on a socket with SO_RCVTIMEO/SO_SNDTIMEO. */
static int
io_error(int error)
{
	return error == EAGAIN || error == EWOULDBLOCK ? -ETIMEDOUT : -error;
}

static int
send_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0)
			return io_error(errno);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes. Returns len, 0 at end of stream before any, -errno. */
static long
read_all(int fd, unsigned char *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0)
			return io_error(errno);   /* -EINTR too: the caller decides */
		if (n == 0)
			return got == 0 ? 0 : -EPIPE;
		got += (size_t)n;
	}
	return (long)got;
}

int
cli_client_send_frame(int fd, const void *payload, size_t len)
{
	unsigned char header[4];
	int rc;

	if (len == 0 || len > QUERY_MAX_FRAME)
		return -EMSGSIZE;
	header[0] = (unsigned char)(len >> 24);
	header[1] = (unsigned char)(len >> 16);
	header[2] = (unsigned char)(len >> 8);
	header[3] = (unsigned char)len;
	if ((rc = send_all(fd, header, sizeof(header))) < 0)
		return rc;
	return send_all(fd, payload, len);
}

long
cli_client_read_frame(int fd, void *buf, size_t cap)
{
	unsigned char header[4];
	uint32_t len;
	long n;

	n = read_all(fd, header, sizeof(header));
	if (n <= 0)
		return n;
	len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
		(uint32_t)header[2] << 8 | header[3];
	if (len == 0 || len > QUERY_MAX_FRAME || len > cap)
		return -EBADMSG;
	n = read_all(fd, buf, len);
	if (n == 0)
		return -EPIPE;
	return n;
}

int
cli_client_exchange(int fd, const struct query_request *q,
		    cli_record_callback callback, void *context, int64_t *count,
		    char *message, size_t message_size)
{
	unsigned char request[QUERY_MAX_REQUEST];
	unsigned char *frame = NULL;
	char *arena = NULL;
	const char *why = NULL;
	int64_t received = 0;
	long len;
	int rc;

	message[0] = '\0';
	len = query_request_encode(q, request, sizeof(request));
	if (len < 0) {
		snprintf(message, message_size, "the query is too large to send");
		return (int)len;
	}
	frame = malloc(QUERY_MAX_FRAME);
	arena = malloc(RECORD_ARENA_BYTES);
	if (frame == NULL || arena == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = cli_client_send_frame(fd, request, (size_t)len)) < 0) {
		snprintf(message, message_size, "sending the query: %s",
			 strerror(-rc));
		goto out;
	}
	for (;;) {
		struct record r;
		int kind;

		len = cli_client_read_frame(fd, frame, QUERY_MAX_FRAME);
		if (len == 0)
			len = -EPIPE;
		if (len < 0) {
			rc = (int)len;
			snprintf(message, message_size, "%s", rc == -EPIPE ?
				 "the collector closed the connection before "
				 "the end of the answer" : rc == -EBADMSG ?
				 "the collector sent a frame with a bad length" :
				 strerror(-rc));
			goto out;
		}
		kind = query_response_kind(frame, (size_t)len, count, message,
					   message_size);
		if (kind == 0) {
			if (*count != received && q->op == QUERY_OP_QUERY)
				snprintf(message, message_size, "the collector "
					 "counted %lld records but sent %lld",
					 (long long)*count, (long long)received);
			rc = 0;
			goto out;
		}
		if (kind == -1) {
			rc = -EREMOTEIO;
			goto out;
		}
		if (kind != 1 || q->op != QUERY_OP_QUERY) {
			snprintf(message, message_size, "the collector sent a "
				 "frame that is neither a record nor an end");
			rc = -EBADMSG;
			goto out;
		}
		rc = record_decode(frame, (size_t)len, &r, arena,
				   RECORD_ARENA_BYTES, &why);
		if (rc < 0) {
			snprintf(message, message_size, "record %lld of the "
				 "answer does not decode: %s",
				 (long long)received + 1, why ? why : strerror(-rc));
			goto out;
		}
		received++;
		if ((rc = callback(context, &r, frame, (size_t)len)) != 0)
			goto out;
	}
out:
	free(frame);
	free(arena);
	return rc;
}
