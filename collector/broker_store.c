/*
 * broker_store.c - the store process's side of what it and the privileged
 * parent ask each other (broker.h, privsep.h): it answers ADOPT (follows
 * the file; a claimed .claim is renamed to .spool in the same step) and
 * keeps UNAUDITED notices for status; it asks OPEN, RESOLVE, EXE and
 * SPAWN_SIGNER and waits for the answer (the parent serves requests even
 * while it waits for an ADOPT's answer, so this never deadlocks).
 * Must never trust the parent's frames beyond their strict decoding.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "broker.h"
#include "follow.h"
#include "handoff.h"
#include "log.h"
#include "loop.h"
#include "store_process.h"
#include "unaudited.h"

static struct {
	int adopt_sock, request_sock;
	struct loop_watch adopt_watch;
} S = { .adopt_sock = -1, .request_sock = -1, .adopt_watch = { .fd = -1 } };

static void note_unaudited(const struct privsep_frame *f)
{
	static struct privsep_unaudited u;
	static struct status_unaudited e;

	if (privsep_unaudited_decode(f, &u) < 0)
		return;                 /* not answered: nothing to say */
	memset(&e, 0, sizeof(e));
	strlcpy(e.exe, u.exe, sizeof(e.exe));
	strlcpy(e.reason, u.reason, sizeof(e.reason));
	e.uid = u.uid;
	e.pid = u.pid;
	e.count = u.count;
	e.last_ns = u.last_ns;
	unaudited_note(&e);
}

/* incoming/<...>.claim renamed to <...>.spool (never over another file)
 * and followed, in one step of the loop. Takes fd. */
static int adopt_claim(const char *claim, int fd, const struct writer_identity *who,
		       uint32_t flags)
{
	size_t len = strlen(claim), suffix = strlen(HANDOFF_CLAIM_SUFFIX);
	char spool[PRIVSEP_MAX_NAME + 8];
	int dirfd = follow_incoming_dirfd();

	if (len <= suffix || strcmp(claim + len - suffix, HANDOFF_CLAIM_SUFFIX) != 0 ||
	    (size_t)snprintf(spool, sizeof(spool), "%.*s.spool", (int)(len - suffix),
			     claim) >= sizeof(spool)) {
		close(fd);
		return -EINVAL;
	}
	if (renameat2(dirfd, claim, dirfd, spool, RENAME_NOREPLACE) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return follow_register_incoming(spool, fd, who, flags);
}

static void answer_adopt(const struct privsep_frame *f, int fd)
{
	static struct privsep_adopt a;
	static struct writer_identity who;
	struct stat st;
	int rc;

	rc = fd < 0 ? -EBADMSG : privsep_adopt_decode(f, &a);
	if (rc == 0 && a.where == PRIVSEP_WHERE_INCOMING && fstat(fd, &st) == 0 &&
	    follow_is_followed(&st))
		rc = -EALREADY;
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		(void)broker_send_error(S.adopt_sock, -rc);
		return;
	}
	identity_clear(&who);
	who.pid = a.pid;
	who.ppid = a.ppid;
	who.uid = a.uid;
	who.gid = a.gid;
	who.auid = a.auid;
	who.session = a.session;
	who.start_time_ticks = a.start_time_ticks;
	strlcpy(who.exe, a.exe, sizeof(who.exe));
	strlcpy(who.actor, a.actor, sizeof(who.actor));
	strlcpy(who.kind, a.kind, sizeof(who.kind));
	rc = a.where == PRIVSEP_WHERE_ACTIVE ?
	     follow_register_active(a.name, fd, &who, a.flags) :
	     adopt_claim(a.name, fd, &who, a.flags);
	if (rc < 0)
		(void)broker_send_error(S.adopt_sock, -rc);
	else
		(void)broker_send(S.adopt_sock, PRIVSEP_DONE, NULL, 0, -1);
}

static void on_adopt(struct loop_watch *w, uint32_t events)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	struct privsep_frame f;
	int fd, rc;

	(void)events;
	while ((rc = broker_recv(w->fd, 0, buf, &f, &fd)) != -ETIMEDOUT) {
		if (rc == -EPIPE) {
			/* The parent is gone (killed): this is the same crash. */
			daemon_error("the parent process is gone: the store process ends");
			store_process_exit(1);
		}
		if (rc < 0)
			(void)broker_send_error(w->fd, EBADMSG);
		else if (f.type == PRIVSEP_ADOPT)
			answer_adopt(&f, fd);
		else if (f.type == PRIVSEP_UNAUDITED && fd < 0)
			note_unaudited(&f);
		else {
			if (fd >= 0)
				close(fd);
			(void)broker_send_error(w->fd, EPROTO);
		}
	}
}

void broker_store_init(int adopt_sock, int request_sock)
{
	S.adopt_sock = adopt_sock;
	S.request_sock = request_sock;
}

int broker_store_watch(void)
{
	S.adopt_watch.fd = S.adopt_sock;
	S.adopt_watch.handler = on_adopt;
	return loop_add(&S.adopt_watch, EPOLLIN);
}

void broker_store_stop(void)
{
	if (S.adopt_watch.fd >= 0)
		loop_remove(&S.adopt_watch);
	S.adopt_watch.fd = -1;
}

/* One request (with send_fd, or -1) and its answer (the parent answers
 * every request). */
static int ask(uint16_t type, const void *body, size_t len, int send_fd, uint16_t want,
	       unsigned char *answer, size_t answer_len, int *fd)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	struct privsep_frame f;
	int rc;

	*fd = -1;
	rc = broker_send(S.request_sock, type, body, len, send_fd);
	if (rc == 0)
		rc = broker_recv(S.request_sock, BROKER_TIMEOUT_MS, buf, &f, fd);
	if (rc < 0)
		return rc;
	if (f.type == want && f.len == answer_len && *fd >= 0) {
		if (answer_len > 0)
			memcpy(answer, f.body, answer_len);
		return 0;
	}
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return f.type == PRIVSEP_ERROR ? privsep_error_code(&f) : -EPROTO;
}

int broker_open(uint8_t where, const char *base)
{
	unsigned char body[1 + PRIVSEP_MAX_NAME];
	int len, fd, rc;

	len = privsep_open_encode(where, base, body, sizeof(body));
	if (len < 0)
		return len;
	rc = ask(PRIVSEP_OPEN, body, (size_t)len, -1, PRIVSEP_OPENED, NULL, 0, &fd);
	return rc < 0 ? rc : fd;
}

int broker_resolve(int mount_fd, const struct file_handle *fh)
{
	unsigned char body[PRIVSEP_RESOLVE_FIXED + PRIVSEP_MAX_HANDLE];
	int len, fd, rc;

	len = privsep_resolve_encode(fh->handle_type, fh->f_handle, fh->handle_bytes, body,
				     sizeof(body));
	if (len < 0)
		return len;
	rc = ask(PRIVSEP_RESOLVE, body, (size_t)len, mount_fd, PRIVSEP_OPENED, NULL, 0,
		 &fd);
	return rc < 0 ? rc : fd;
}

ssize_t broker_exe(pid_t pid, uint64_t start_time_ticks, char *out, size_t room)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	unsigned char body[PRIVSEP_EXE_BYTES];
	struct privsep_frame f;
	int fd = -1, rc;

	if (S.request_sock < 0 || pid <= 0)
		return -EPERM;
	privsep_exe_encode(pid, start_time_ticks, body);
	rc = broker_send(S.request_sock, PRIVSEP_EXE, body, sizeof(body), -1);
	if (rc == 0)
		rc = broker_recv(S.request_sock, BROKER_TIMEOUT_MS, buf, &f, &fd);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return rc;
	if (f.type != PRIVSEP_EXE_PATH)
		return f.type == PRIVSEP_ERROR ? privsep_error_code(&f) : -EPROTO;
	if (f.len == 0 || f.len >= room || memchr(f.body, '\0', f.len) != NULL)
		return -EPROTO;
	memcpy(out, f.body, f.len);
	out[f.len] = '\0';
	return (ssize_t)f.len;
}

int broker_spawn_signer(int *fd, pid_t *pid)
{
	unsigned char body[4];
	int rc;

	rc = ask(PRIVSEP_SPAWN_SIGNER, NULL, 0, -1, PRIVSEP_SIGNER, body, sizeof(body), fd);
	if (rc == 0)
		*pid = (pid_t)((uint32_t)body[0] | (uint32_t)body[1] << 8 |
			       (uint32_t)body[2] << 16 | (uint32_t)body[3] << 24);
	return rc;
}

int broker_say_ready(void)
{
	return broker_send(S.adopt_sock, PRIVSEP_READY, NULL, 0, -1);
}
