/*
 * signer.c - the signer process: the signing key kept apart from
 * everything that parses untrusted input.
 *
 * Owns the key file (created at config.key_file on first start, 0600, its
 * public key beside it in <key_file>.pub, 0644), the child that alone
 * reads it, and the collector's side of their socketpair (privsep.h). The
 * child loads the key, gives up what it can (the "phitrail" user when
 * started as root, every capability, no_new_privs, not dumpable, then a
 * seccomp filter of read, write, clock_gettime, sigaltstack and exit), and
 * signs what decodes strictly as a checkpoint or cut body with a time near
 * its own clock; anything else gets an ERROR frame. A signer that dies is noticed
 * within a second (or at the next request) and started again.
 * Must never sign without decoding, log anything it was sent, or let the
 * collector's process hold the secret key.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "broker.h"
#include "log.h"
#include "loop.h"
#include "privsep.h"
#include "signer.h"

#define SIGNER_USER "phitrail"
#define SIGNER_FD 3                          /* the child's end */
#define SIGNER_READY_TIMEOUT_MS 10000        /* a new key is fsynced */
#define SIGNER_ANSWER_TIMEOUT_MS 5000
#define SIGNER_CHECK_MS 1000
/* How far a body's time may be from the signer's clock. */
#define SIGNER_CLOCK_SLACK_NS ((int64_t)600 * 1000000000)

static struct {
	char key_file[PATH_MAX];
	int fd;                          /* the collector's end; -1: none */
	pid_t pid;                       /* 0: none */
	int drop_user;                   /* started as root, and the user exists */
	uid_t uid;
	gid_t gid;
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];
	int have_public_key;             /* a signer said READY once */
	int64_t next_check_ms;
	signer_spawner *spawner;         /* set: the parent forks signers */
} S = { .fd = -1 };

/* ---- the child ---- */

/* Not _exit(): a sanitizer's leak check there would trace, which the
 * filter forbids (the signer was killed by SIGSYS at every stop). */
static void __attribute__((noreturn)) child_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

static void child_send(uint16_t type, const void *body, size_t len)
{
	unsigned char frame[PRIVSEP_MAX_FRAME];
	size_t n = 0;

	if (privsep_frame_encode(type, body, len, frame, sizeof(frame), &n) < 0 ||
	    write(SIGNER_FD, frame, n) != (ssize_t)n)
		child_exit(0);   /* the collector is gone */
}

static void child_refuse(int errno_value)
{
	unsigned char body[4];

	privsep_error_body(errno_value, body);
	child_send(PRIVSEP_ERROR, body, sizeof(body));
}

static int write_public_key(const struct checkpoint_key *key)
{
	unsigned char existing[CHECKPOINT_PUBLIC_KEY_BYTES];
	char pub_path[PATH_MAX + 8];
	int rc;

	snprintf(pub_path, sizeof(pub_path), "%s.pub", S.key_file);
	rc = checkpoint_public_key_load(pub_path, existing);
	if (rc == 0 && memcmp(existing, key->public_key, sizeof(existing)) == 0)
		return 0;
	if (rc == 0 || rc == -EINVAL) {
		daemon_warn("%s does not hold the public key of %s: rewritten", pub_path,
			    S.key_file);
		if (unlink(pub_path) < 0)
			rc = -errno;
		else
			rc = -ENOENT;
	}
	if (rc == -ENOENT) {
		rc = checkpoint_public_key_save(pub_path, key->public_key);
		if (rc == 0 && chmod(pub_path, 0644) < 0)
			rc = -errno;
	}
	if (rc < 0)
		daemon_warn("cannot write the public key %s: %s", pub_path, strerror(-rc));
	return 0;
}

static int load_or_create_key(struct checkpoint_key *key)
{
	int rc;

	rc = checkpoint_secret_key_load(S.key_file, key);
	if (rc == -ENOENT) {
		char text[CHECKPOINT_PUBLIC_KEY_TEXT_BYTES];

		rc = checkpoint_key_generate(key);
		if (rc == 0)
			rc = checkpoint_secret_key_save(S.key_file, key);
		if (rc < 0) {
			daemon_error("cannot create the signing key %s: %s", S.key_file,
				     strerror(-rc));
			return rc;
		}
		checkpoint_public_key_to_text(key->public_key, text);
		daemon_info("created the signing key %s (public key %s)", S.key_file, text);
	} else if (rc < 0) {
		daemon_error("cannot load the signing key %s: %s%s", S.key_file,
			     rc == -EPERM ? "others may read it (chmod 600 it)" :
			     checkpoint_strerror(rc),
			     rc == -EINVAL ? " (not a phitrail secret key file)" : "");
		return rc;
	}
	return write_public_key(key);
}

/* The user, then every capability; failing to shed capabilities (a
 * service manager's filter may forbid capset) is logged, not fatal. */
static int drop_privileges(void)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (S.drop_user && (setgroups(0, NULL) < 0 ||
			    setresgid(S.gid, S.gid, S.gid) < 0 ||
			    setresuid(S.uid, S.uid, S.uid) < 0)) {
		daemon_error("signer: cannot become user %s: %s", SIGNER_USER,
			     strerror(errno));
		return -EPERM;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &head, data) < 0)
		daemon_warn("signer: cannot drop its capabilities: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		daemon_error("signer: prctl: %s", strerror(errno));
		return -EPERM;
	}
	return 0;
}

/* The filter: any other call kills the signer. sigaltstack only reads or
 * sets its own signal stack: a sanitizer build asks it before every call
 * that does not return (the exit). The context is not released: free()
 * after the filter is loaded might need munmap. */
static int confine(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(clock_gettime),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(exit), SCMP_SYS(exit_group),
		SCMP_SYS(sigaltstack),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	size_t i;
	int rc = ctx == NULL ? -ENOMEM : 0;

	for (i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (rc < 0)
		daemon_error("signer: cannot load its seccomp filter: %s", strerror(-rc));
	return rc;
}

static int time_is_near(uint64_t time_ns)
{
	struct timespec ts;
	int64_t now, d;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	d = (int64_t)time_ns - now;
	return d < SIGNER_CLOCK_SLACK_NS && d > -SIGNER_CLOCK_SLACK_NS;
}

/* One request: its answer body into out, 0 or a negative errno. */
static int child_sign(const unsigned char *in, size_t n, const struct checkpoint_key *key,
		      unsigned char *out, size_t room, size_t *len)
{
	static struct privsep_sign_request req;
	struct privsep_frame f;
	int rc;

	rc = privsep_frame_decode(in, n, &f);
	if (rc == 0)
		rc = privsep_sign_request_parse(&f, &req);
	if (rc < 0)
		return rc;
	if (req.type == PRIVSEP_SIGN_CHECKPOINT) {
		if (!time_is_near(req.checkpoint.time_ns))
			return -ETIME;
		rc = checkpoint_sign(&req.checkpoint, key);
		if (rc == 0)
			checkpoint_encode(&req.checkpoint, out);
		*len = CHECKPOINT_BYTES;
		return rc < 0 ? -EBADMSG : 0;
	}
	if (!time_is_near(req.cut.time_ns))
		return -ETIME;
	rc = checkpoint_cut_sign(&req.cut, key);
	if (rc == 0)
		rc = checkpoint_cut_encode(&req.cut, out, room, len);
	return rc < 0 ? -EBADMSG : 0;
}

static void __attribute__((noreturn)) child_serve(const struct checkpoint_key *key)
{
	static unsigned char in[PRIVSEP_MAX_FRAME + 1], out[CHECKPOINT_CUT_MAX_BYTES];
	size_t len = 0;
	int rc;

	for (;;) {
		ssize_t n = read(SIGNER_FD, in, sizeof(in));
		if (n == 0)
			child_exit(0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			child_exit(1);
		}
		rc = child_sign(in, (size_t)n, key, out, sizeof(out), &len);
		if (rc < 0)
			child_refuse(-rc);
		else
			child_send(PRIVSEP_SIGNED, out, len);
	}
}

static void __attribute__((noreturn)) child_main(int fd)
{
	struct checkpoint_key key;
	int rc;

	/* A stop is the collector's to decide: it closes the socket. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (fd != SIGNER_FD && dup2(fd, SIGNER_FD) < 0)
		child_exit(1);
	if (close_range(SIGNER_FD + 1, ~0U, 0) < 0)
		child_exit(1);
	setproctitle("signer");
	rc = load_or_create_key(&key);
	if (rc == 0)
		rc = drop_privileges();
	if (rc == 0)
		rc = confine();
	if (rc < 0) {
		child_refuse(-rc);
		child_exit(1);
	}
	child_send(PRIVSEP_READY, key.public_key, sizeof(key.public_key));
	child_serve(&key);
}

/* ---- the collector's side ---- */

/* One frame from the signer within timeout_ms: its type and body. */
static int receive(int timeout_ms, uint16_t *type, unsigned char *body, size_t room,
		   size_t *len)
{
	static unsigned char buf[PRIVSEP_MAX_FRAME + 1];
	struct privsep_frame f;
	int fd, rc;

	rc = broker_recv(S.fd, timeout_ms, buf, &f, &fd);
	if (fd >= 0) {
		close(fd);
		rc = -EBADMSG;
	}
	if (rc == -EBADMSG)
		return -ECONNRESET;   /* not a frame: the signer is broken */
	if (rc < 0)
		return rc;
	if (f.type == PRIVSEP_ERROR)
		return privsep_error_code(&f);
	if (f.len > room)
		return -ECONNRESET;
	memcpy(body, f.body, f.len);
	*type = f.type;
	*len = f.len;
	return 0;
}

/* Reaps the signer (killed first when still there). */
static void reap(const char *why)
{
	int status = 0;

	if (S.fd >= 0)
		close(S.fd);
	S.fd = -1;
	if (S.pid <= 0)
		return;
	if (S.spawner != NULL) {
		/* The parent's child: it reaps it and says how it ended. */
		if (why != NULL)
			(void)kill(S.pid, SIGKILL);
		S.pid = 0;
		return;
	}
	if (waitpid(S.pid, &status, WNOHANG) == 0) {
		(void)kill(S.pid, SIGKILL);
		(void)waitpid(S.pid, &status, 0);
	}
	if (why != NULL && WIFSIGNALED(status))
		daemon_error("the signer (pid %d) %s: killed by signal %d", (int)S.pid,
			     why, WTERMSIG(status));
	else if (why != NULL)
		daemon_error("the signer (pid %d) %s: exit status %d", (int)S.pid, why,
			     WEXITSTATUS(status));
	S.pid = 0;
}

int signer_fork(int *fd, pid_t *pid)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (*pid == 0) {
		close(sv[0]);
		child_main(sv[1]);
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

static int spawn(void)
{
	unsigned char key[CHECKPOINT_PUBLIC_KEY_BYTES];
	uint16_t type = 0;
	size_t len = 0;
	pid_t pid = 0;
	int fd = -1, rc;

	rc = S.spawner != NULL ? S.spawner(&fd, &pid) : signer_fork(&fd, &pid);
	if (rc < 0)
		return rc;
	S.fd = fd;
	S.pid = pid;
	rc = receive(SIGNER_READY_TIMEOUT_MS, &type, key, sizeof(key), &len);
	if (rc == 0 && (type != PRIVSEP_READY || len != sizeof(key)))
		rc = -EPROTO;
	if (rc == 0 && S.have_public_key && memcmp(key, S.public_key, len) != 0) {
		daemon_error("the signer started again with another key: %s was "
			     "replaced; nothing is signed with it", S.key_file);
		rc = -EKEYREJECTED;
	}
	if (rc < 0) {
		reap(NULL);
		return rc;
	}
	memcpy(S.public_key, key, sizeof(key));
	S.have_public_key = 1;
	daemon_debug("signer started (pid %d)", (int)pid);
	return 0;
}

int signer_configure(const struct config *cfg)
{
	struct passwd *pw;

	if (strlcpy(S.key_file, cfg->key_file, sizeof(S.key_file)) >= sizeof(S.key_file))
		return -ENAMETOOLONG;
	if (geteuid() == 0 && (pw = getpwnam(SIGNER_USER)) != NULL) {
		S.drop_user = 1;
		S.uid = pw->pw_uid;
		S.gid = pw->pw_gid;
	}
	return 0;
}

int signer_start(const struct config *cfg, signer_spawner *spawner)
{
	int rc = signer_configure(cfg);

	if (rc < 0)
		return rc;
	S.spawner = spawner;
	S.have_public_key = 0;
	S.next_check_ms = loop_now_ms() + SIGNER_CHECK_MS;
	return spawn();
}

const unsigned char *signer_public_key(void)
{
	return S.public_key;
}

pid_t signer_pid(void)
{
	return S.pid;
}

static int exchange_once(uint16_t type, const void *body, size_t len,
			 uint16_t *answer_type, unsigned char *answer, size_t room,
			 size_t *answer_len)
{
	unsigned char frame[PRIVSEP_MAX_FRAME];
	size_t n = 0;
	int rc;

	rc = privsep_frame_encode(type, body, len, frame, sizeof(frame), &n);
	if (rc < 0)
		return rc;
	if (send(S.fd, frame, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -EPIPE;
	return receive(SIGNER_ANSWER_TIMEOUT_MS, answer_type, answer, room, answer_len);
}

int signer_exchange(uint16_t type, const void *body, size_t len, uint16_t *answer_type,
		    unsigned char *answer, size_t room, size_t *answer_len)
{
	int rc = -EPIPE, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (S.fd < 0 && spawn() < 0)
			return -EPIPE;
		rc = exchange_once(type, body, len, answer_type, answer, room, answer_len);
		if (rc != -EPIPE && rc != -ETIMEDOUT && rc != -ECONNRESET)
			return rc;
		reap(rc == -ETIMEDOUT ? "did not answer" :
		     rc == -ECONNRESET ? "answered garbage" : "is gone");
		rc = -EPIPE;
		if (attempt == 0 && spawn() == 0)
			daemon_info("signer started again (pid %d)", (int)S.pid);
	}
	return rc;
}

/* A body sent unsigned, and its answer: the same bytes but the key id
 * (at 92) and the signature. */
static int request(uint16_t type, const unsigned char *body, size_t len,
		   unsigned char *answer)
{
	uint16_t answer_type = 0;
	size_t answer_len = 0;
	int rc;

	rc = signer_exchange(type, body, len, &answer_type, answer, len, &answer_len);
	if (rc < 0)
		return rc;
	if (answer_type != PRIVSEP_SIGNED || answer_len != len ||
	    memcmp(answer, body, CHECKPOINT_SIGNED_BYTES - CHECKPOINT_KEY_ID_BYTES) != 0 ||
	    memcmp(answer + CHECKPOINT_SIGNED_BYTES, body + CHECKPOINT_SIGNED_BYTES,
		   len - CHECKPOINT_SIGNED_BYTES - CHECKPOINT_SIGNATURE_BYTES) != 0)
		return -EPROTO;
	return 0;
}

int signer_sign_checkpoint(struct checkpoint *cp)
{
	unsigned char body[CHECKPOINT_BYTES], answer[CHECKPOINT_BYTES];
	struct checkpoint signed_cp;
	int rc;

	memset(cp->key_id, 0, sizeof(cp->key_id));
	memset(cp->signature, 0, sizeof(cp->signature));
	checkpoint_encode(cp, body);
	rc = request(PRIVSEP_SIGN_CHECKPOINT, body, sizeof(body), answer);
	if (rc == 0 && checkpoint_decode(answer, sizeof(answer), &signed_cp) < 0)
		rc = -EPROTO;
	if (rc == 0 && checkpoint_verify(&signed_cp, S.public_key) < 0)
		rc = -EKEYREJECTED;
	if (rc == 0)
		*cp = signed_cp;
	return rc;
}

int signer_sign_cut(struct checkpoint_cut *cut)
{
	static unsigned char body[CHECKPOINT_CUT_MAX_BYTES], answer[CHECKPOINT_CUT_MAX_BYTES];
	static struct checkpoint_cut signed_cut;
	size_t len = 0;
	int rc;

	memset(cut->key_id, 0, sizeof(cut->key_id));
	memset(cut->signature, 0, sizeof(cut->signature));
	rc = checkpoint_cut_encode(cut, body, sizeof(body), &len);
	if (rc == 0)
		rc = request(PRIVSEP_SIGN_CUT, body, len, answer);
	if (rc == 0 && checkpoint_cut_decode(answer, len, &signed_cut) < 0)
		rc = -EPROTO;
	if (rc == 0 && checkpoint_cut_verify(&signed_cut, S.public_key) < 0)
		rc = -EKEYREJECTED;
	if (rc == 0)
		*cut = signed_cut;
	return rc;
}

void signer_tick(void)
{
	int64_t now = loop_now_ms();
	int status;

	if (now < S.next_check_ms || S.pid <= 0)
		return;
	S.next_check_ms = now + SIGNER_CHECK_MS;
	if (S.spawner != NULL) {
		/* Not this process's child: its socket says it is gone (a signer
		 * never speaks unasked). The parent logs how it ended. */
		struct pollfd p = { .fd = S.fd, .events = POLLIN };

		if (S.fd >= 0 && poll(&p, 1, 0) == 0)
			return;
		reap(NULL);
		if (spawn() == 0)
			daemon_info("signer started again (pid %d)", (int)S.pid);
		return;
	}
	if (waitpid(S.pid, &status, WNOHANG) != S.pid)
		return;
	if (WIFSIGNALED(status))
		daemon_error("the signer (pid %d) was killed by signal %d: starting "
			     "another", (int)S.pid, WTERMSIG(status));
	else
		daemon_error("the signer (pid %d) exited with status %d: starting "
			     "another", (int)S.pid, WEXITSTATUS(status));
	S.pid = 0;
	reap(NULL);
	if (spawn() == 0)
		daemon_info("signer started again (pid %d)", (int)S.pid);
}

void signer_stop(void)
{
	int status, i;

	if (S.fd >= 0)
		close(S.fd);
	S.fd = -1;
	if (S.spawner != NULL)
		S.pid = 0;              /* the parent reaps it */
	for (i = 0; S.pid > 0 && i < 200; i++) {
		if (waitpid(S.pid, &status, WNOHANG) != 0)
			S.pid = 0;
		else
			usleep(10000);
	}
	reap(NULL);
}
