/*
 * syslog_tls.c - the TLS transport of the ATNA sink: RFC 5425 syslog over
 * TLS, client side, with GnuTLS (no cryptography of our own).
 *
 * Owns the socket and the GnuTLS session: resolving and connecting with a
 * timeout, the handshake, checking the receiver's certificate against the
 * configured CA and name, the octet-counting frame ("LEN SP MSG", RFC 5425
 * 4.3), and telling a healthy connection from a dead one without an
 * application-level acknowledgement (RFC 5425 has none): the receiver never
 * sends data, so a readable socket means its close, and an empty send
 * queue (SIOCOUTQ) means its TCP has every byte.
 * Must never: send a byte before the certificate checked out, block longer
 * than timeout_ms, or raise SIGPIPE.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <bsd/string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "syslog_tls.h"

struct syslog_tls {
	int fd;
	gnutls_session_t session;
	gnutls_certificate_credentials_t credentials;
};

/* "host:port" / "[v6]:port" into host and port (checked by config.c). */
static int split_server(const char *server, char *host, size_t host_size,
			char *port, size_t port_size)
{
	const char *colon = strrchr(server, ':');
	const char *start = server;
	size_t len;

	if (colon == NULL)
		return -EINVAL;
	len = (size_t)(colon - server);
	if (server[0] == '[' && len >= 2 && server[len - 1] == ']') {
		start++;
		len -= 2;
	}
	if (len == 0 || len >= host_size)
		return -EINVAL;
	memcpy(host, start, len);
	host[len] = '\0';
	strlcpy(port, colon + 1, port_size);
	return 0;
}

static void set_timeouts(int fd, int send_ms, int receive_ms)
{
	struct timeval send_tv = { send_ms / 1000, (send_ms % 1000) * 1000 };
	struct timeval receive_tv = { receive_ms / 1000, (receive_ms % 1000) * 1000 };

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_tv, sizeof(send_tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_tv, sizeof(receive_tv));
}

/* A connected TCP socket to host:port, or -errno (why filled). */
static int tcp_connect(const char *host, const char *port, int timeout_ms,
		       char *why, size_t why_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list, *a;
	int fd = -1, rc, saved = ECONNREFUSED;

	rc = getaddrinfo(host, port, &hints, &list);
	if (rc != 0) {
		snprintf(why, why_size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (a = list; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		set_timeouts(fd, timeout_ms, timeout_ms);   /* connect obeys SO_SNDTIMEO */
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		saved = errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0) {
		snprintf(why, why_size, "cannot connect to %s port %s: %s", host, port,
			 strerror(saved));
		return -saved;
	}
	return fd;
}

int syslog_tls_connect(const struct syslog_tls_settings *s, struct syslog_tls **out,
		       char *why, size_t why_size)
{
	char host[256], port[16];
	const char *name;
	struct syslog_tls *t;
	int rc;

	*out = NULL;
	if (split_server(s->server, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(why, why_size, "bad server '%s'", s->server);
		return -EINVAL;
	}
	name = s->verify_name && *s->verify_name ? s->verify_name : host;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->fd = -1;
	if ((rc = gnutls_certificate_allocate_credentials(&t->credentials)) < 0)
		goto tls_error;
	rc = gnutls_certificate_set_x509_trust_file(t->credentials, s->ca_file,
						    GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		snprintf(why, why_size, "no CA certificate in %s%s%s", s->ca_file,
			 rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
		rc = -EINVAL;
		goto out;
	}
	if (s->cert_file != NULL && *s->cert_file &&
	    (rc = gnutls_certificate_set_x509_key_file(t->credentials, s->cert_file,
						       s->key_file,
						       GNUTLS_X509_FMT_PEM)) < 0) {
		snprintf(why, why_size, "client certificate %s / key %s: %s",
			 s->cert_file, s->key_file, gnutls_strerror(rc));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL)) < 0 ||
	    (rc = gnutls_set_default_priority(t->session)) < 0 ||
	    (rc = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE,
					 t->credentials)) < 0)
		goto tls_error;
	/* SNI only for names; the certificate check takes IP addresses too */
	if (strspn(name, "0123456789.") != strlen(name) && strchr(name, ':') == NULL)
		(void)gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, name,
					     strlen(name));
	gnutls_session_set_verify_cert(t->session, name, 0);
	rc = tcp_connect(host, port, s->timeout_ms, why, why_size);
	if (rc < 0)
		goto out;
	t->fd = rc;
	gnutls_transport_set_int(t->session, t->fd);
	gnutls_handshake_set_timeout(t->session, (unsigned)s->timeout_ms);
	do {
		rc = gnutls_handshake(t->session);
	} while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	if (rc < 0) {
		if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t text = { NULL, 0 };
			unsigned status = gnutls_session_get_verify_cert_status(t->session);
			gnutls_certificate_verification_status_print(
				status, gnutls_certificate_type_get(t->session), &text, 0);
			snprintf(why, why_size, "the receiver's certificate is not "
				 "trusted for %s: %s", name, text.data ? (char *)text.data : "?");
			gnutls_free(text.data);
		} else {
			snprintf(why, why_size, "TLS handshake with %s: %s", s->server,
				 gnutls_strerror(rc));
		}
		rc = -EPROTO;
		goto out;
	}
	/* from here a blocked write is a stall; reads only ever poll */
	set_timeouts(t->fd, s->timeout_ms, 20);
	*out = t;
	return 0;
tls_error:
	snprintf(why, why_size, "TLS set-up: %s", gnutls_strerror(rc));
	rc = -EPROTO;
out:
	syslog_tls_close(t);
	return rc;
}

int syslog_tls_write(struct syslog_tls *t, const char *msg, size_t len)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%zu ", len);
	const char *parts[2] = { prefix, msg };
	size_t sizes[2] = { (size_t)n, len };

	gnutls_record_cork(t->session);
	for (int i = 0; i < 2; i++) {
		ssize_t rc = gnutls_record_send(t->session, parts[i], sizes[i]);
		if (rc < 0 || (size_t)rc != sizes[i])
			return -EPIPE;    /* corked: nothing partial is on the wire */
	}
	for (;;) {
		int rc = gnutls_record_uncork(t->session, GNUTLS_RECORD_WAIT);
		if (rc >= 0)
			return 0;
		if (rc == GNUTLS_E_AGAIN)
			return -ETIMEDOUT;   /* SO_SNDTIMEO ran out: nobody reads */
		if (rc != GNUTLS_E_INTERRUPTED)
			return -EPIPE;
	}
}

int syslog_tls_settled(struct syslog_tls *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	int queued = 0;

	if (poll(&p, 1, 0) < 0)
		return errno == EINTR ? 0 : -EPIPE;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return -EPIPE;
	if (p.revents & POLLIN) {
		char buf[256];
		/* a close_notify, an EOF, or a TLS 1.3 ticket (harmless) */
		ssize_t rc = gnutls_record_recv(t->session, buf, sizeof(buf));
		if (rc == 0 || (rc < 0 && rc != GNUTLS_E_AGAIN &&
				rc != GNUTLS_E_INTERRUPTED &&
				gnutls_error_is_fatal((int)rc)))
			return -EPIPE;
	}
	if (ioctl(t->fd, SIOCOUTQ, &queued) < 0)
		return -EPIPE;
	return queued == 0 ? 1 : 0;
}

void syslog_tls_close(struct syslog_tls *t)
{
	if (t == NULL)
		return;
	if (t->session != NULL) {
		if (t->fd >= 0) {
			set_timeouts(t->fd, 200, 200);
			(void)gnutls_bye(t->session, GNUTLS_SHUT_WR);
		}
		gnutls_deinit(t->session);
	}
	if (t->credentials != NULL)
		gnutls_certificate_free_credentials(t->credentials);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}
