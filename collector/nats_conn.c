/*
 * nats_conn.c - a cnats connection from a [forward] or [aggregate]
 * section, and the JetStream stream both sides use (nats_conn.h).
 * Owns the mapping of the configuration onto natsOptions; must never keep
 * a secret in its own memory longer than the options take, and never
 * accept a credentials file that others may read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bsd/string.h>

#include "nats_conn.h"

#define NATS_CONN_MAX_SERVERS 16
#define NATS_CONN_RECONNECT_WAIT_MS 250

void nats_conn_token(const char *text, char *out, size_t size)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i + 1 < size; i++) {
		char c = text[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_') ? c : '_';
	}
	if (i == 0 && size > 1)
		out[i++] = '_';
	out[i] = '\0';
}

int nats_conn_errno(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return 0;
	case NATS_NO_MEMORY:
		return -ENOMEM;
	case NATS_TIMEOUT:
		return -ETIMEDOUT;
	case NATS_NOT_FOUND:
		return -ENOENT;
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_NO_SERVER:
	case NATS_NOT_YET_CONNECTED:
	case NATS_NO_RESPONDERS:
		return -EAGAIN;
	case NATS_INVALID_ARG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int credentials_private(const char *path, const char **why)
{
	static char message[CONFIG_NATS_TEXT_MAX + 128];
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(message, sizeof(message), "credentials %s: %s", path,
			 strerror(errno));
		*why = message;
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(message, sizeof(message), "credentials %s may be read by "
			 "group or others (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		*why = message;
		return -EPERM;
	}
	return 0;
}

/* cnats thread: given so that a connect to servers that are down returns
 * at once and goes on in the background. */
static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
}

int nats_conn_open(const struct config_nats *n, natsConnection **nc,
		   const char **why)
{
	static char message[256];
	char servers[CONFIG_NATS_TEXT_MAX], *save = NULL, *url;
	const char *list[NATS_CONN_MAX_SERVERS];
	natsOptions *opts = NULL;
	natsStatus s;
	int count = 0, rc;

	*why = message;
	strlcpy(servers, n->servers, sizeof(servers));
	for (url = strtok_r(servers, ",", &save); url != NULL && count <
	     NATS_CONN_MAX_SERVERS; url = strtok_r(NULL, ",", &save))
		list[count++] = url;
	if (n->credentials[0] != '\0') {
		rc = credentials_private(n->credentials, why);
		if (rc < 0)
			return rc;
	}
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, list, count);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, NATS_CONN_RECONNECT_WAIT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected,
							 NULL);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(opts, 2);
	if (s == NATS_OK && n->user[0] != '\0')
		s = natsOptions_SetUserInfo(opts, n->user, n->password);
	if (s == NATS_OK && n->credentials[0] != '\0')
		s = natsOptions_SetUserCredentialsFromFiles(opts, n->credentials, NULL);
	if (s == NATS_OK && n->tls == CONFIG_NATS_TLS_YES)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK && n->tls_ca[0] != '\0')
		s = natsOptions_LoadCATrustedCertificates(opts, n->tls_ca);
	if (s == NATS_OK && n->tls_cert[0] != '\0')
		s = natsOptions_LoadCertificatesChain(opts, n->tls_cert,
						      n->tls_key[0] ? n->tls_key : NULL);
	if (s == NATS_OK && n->tls_hostname[0] != '\0')
		s = natsOptions_SetExpectedHostname(opts, n->tls_hostname);
	if (s != NATS_OK) {
		snprintf(message, sizeof(message), "NATS options: %s",
			 natsStatus_GetText(s));
		natsOptions_Destroy(opts);
		return nats_conn_errno(s) ? nats_conn_errno(s) : -EINVAL;
	}
	s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED)
		return 0;
	snprintf(message, sizeof(message), "cannot connect to %s: %s", n->servers,
		 natsStatus_GetText(s));
	return nats_conn_errno(s) ? nats_conn_errno(s) : -EIO;
}

int nats_conn_up(natsConnection *nc)
{
	return nc != NULL && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
}

int nats_conn_ensure_stream(jsCtx *js, const struct config_nats *n,
			    const char **why)
{
	static char message[256];
	char subject[CONFIG_NAME_MAX + 4];
	const char *subjects[1] = { subject };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	natsStatus s;

	*why = message;
	s = js_GetStreamInfo(&si, js, n->stream, NULL, &code);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND) {
		snprintf(message, sizeof(message), "stream %s: %s", n->stream,
			 natsStatus_GetText(s));
		return -EAGAIN;
	}
	snprintf(subject, sizeof(subject), "%s.>", n->subject_prefix);
	jsStreamConfig_Init(&sc);
	sc.Name = n->stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Replicas = n->replicas;
	s = js_AddStream(&si, js, &sc, NULL, &code);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	snprintf(message, sizeof(message), "cannot create stream %s (%u replicas): "
		 "%s (error %d)", n->stream, n->replicas, natsStatus_GetText(s),
		 (int)code);
	return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS ? -EAGAIN : -EIO;
}
