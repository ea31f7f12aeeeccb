/*
 * syslog_tls.h - an RFC 5425 client: one TLS connection (GnuTLS) to a
 * syslog receiver, octet-counted frames written to it (syslog_tls.c).
 */
#ifndef PHITRAILD_SYSLOG_TLS_H
#define PHITRAILD_SYSLOG_TLS_H

#include <stddef.h>

struct syslog_tls;

struct syslog_tls_settings {
	const char *server;             /* "host:port" or "[v6]:port" */
	const char *ca_file;            /* PEM: who may be the receiver */
	const char *cert_file;          /* PEM client certificate, or NULL */
	const char *key_file;
	const char *verify_name;        /* checked against the certificate;
					   NULL or "": the server's host */
	int timeout_ms;                 /* connect, handshake, one write */
};

/*
 * Connects, handshakes and checks the receiver's certificate (chain to
 * ca_file, name). 0, or a negative errno with why (why_size bytes) saying
 * what failed in words.
 */
int syslog_tls_connect(const struct syslog_tls_settings *s, struct syslog_tls **out,
		       char *why, size_t why_size);

/*
 * Writes one syslog message as an RFC 5425 frame, "LEN SP MSG", all of it
 * or nothing usable: 0, -ETIMEDOUT (the receiver took nothing for
 * timeout_ms: a stall), -EPIPE (the connection broke). After an error the
 * connection is only good for syslog_tls_close.
 */
int syslog_tls_write(struct syslog_tls *t, const char *msg, size_t len);

/*
 * Without blocking: 1 when the connection is up and the peer's TCP has
 * acknowledged every byte written (nothing in our send queue), 0 when up
 * with bytes still in flight, -EPIPE when the receiver closed or reset it
 * (an RFC 5425 receiver sends nothing, so anything readable is its end).
 */
int syslog_tls_settled(struct syslog_tls *t);

/* Says goodbye (close_notify, bounded) and frees. NULL is fine. */
void syslog_tls_close(struct syslog_tls *t);

#endif
