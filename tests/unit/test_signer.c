/*
 * test_signer.c - the signer process and its protocol
 * (common/protocol/privsep.h):
 * frames at the body limit and one past it, short, long, another magic or
 * version; sign requests that are not exactly an unsigned checkpoint or
 * cut refused; then a real signer (collector/signer.c) forked from this
 * test: it signs what the collector sends and refuses everything else
 * while staying up, runs without capabilities under its seccomp filter,
 * a signer killed with SIGKILL is replaced at the next request, and one
 * started again over a replaced key file is refused.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "privsep.h"
#include "signer.h"
#include "unit.h"

static char tmpdir[] = "/tmp/phitrail-test-signer-XXXXXX";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* An unsigned checkpoint of 5 records, stamped now. */
static void unsigned_checkpoint(struct checkpoint *cp, unsigned char out[CHECKPOINT_BYTES])
{
	memset(cp, 0, sizeof(*cp));
	cp->tree_size = 5;
	memset(cp->root, 0x5a, sizeof(cp->root));
	cp->time_ns = now_ns();
	memset(cp->prev_hash, 0x11, sizeof(cp->prev_hash));
	checkpoint_encode(cp, out);
}

/* An unsigned cut of 3 records: its encoded bytes and length. */
static size_t unsigned_cut(struct checkpoint_cut *cut, unsigned char *out)
{
	struct merkle_builder b;
	merkle_hash leaf;
	size_t len = 0;
	int i;

	merkle_builder_init(&b);
	for (i = 0; i < 3; i++) {
		merkle_leaf_hash((const unsigned char *)"rec", 3, leaf);
		(void)merkle_builder_append(&b, leaf);
	}
	CHECK_INT(checkpoint_cut_make(cut, &b, now_ns(), leaf, NULL), 0);
	CHECK_INT(checkpoint_cut_encode(cut, out, CHECKPOINT_CUT_MAX_BYTES, &len), 0);
	return len;
}

static int decode_as_request(const unsigned char *frame, size_t len)
{
	struct privsep_sign_request req;
	struct privsep_frame f;
	int rc;

	rc = privsep_frame_decode(frame, len, &f);
	return rc < 0 ? rc : privsep_sign_request_parse(&f, &req);
}

static void test_frame_limits(void)
{
	static unsigned char body[PRIVSEP_MAX_BODY + 1], frame[PRIVSEP_MAX_FRAME + 2];
	struct privsep_frame f;
	size_t len = 0;

	CHECK_INT(privsep_frame_encode(9, body, PRIVSEP_MAX_BODY, frame, sizeof(frame), &len), 0);
	CHECK_INT(len, PRIVSEP_MAX_FRAME);
	CHECK_INT(privsep_frame_decode(frame, len, &f), 0);
	CHECK_INT(f.type, 9);
	CHECK_INT(f.len, PRIVSEP_MAX_BODY);
	CHECK_INT(privsep_frame_encode(9, body, PRIVSEP_MAX_BODY + 1, frame, sizeof(frame), &len),
		  -EMSGSIZE);
	CHECK_INT(privsep_frame_encode(9, body, 10, frame, PRIVSEP_HEADER_BYTES + 9, &len),
		  -EMSGSIZE);
	/* A header announcing one byte past the limit, with the byte there. */
	CHECK_INT(privsep_frame_encode(9, body, 0, frame, sizeof(frame), &len), 0);
	frame[8] = (PRIVSEP_MAX_BODY + 1) & 0xff;
	frame[9] = (PRIVSEP_MAX_BODY + 1) >> 8;
	CHECK_INT(privsep_frame_decode(frame, PRIVSEP_MAX_FRAME + 1, &f), -EMSGSIZE);

	CHECK_INT(privsep_frame_encode(9, "abc", 3, frame, sizeof(frame), &len), 0);
	CHECK_INT(privsep_frame_decode(frame, len, &f), 0);
	CHECK_INT(privsep_frame_decode(frame, len - 1, &f), -EMSGSIZE);   /* short */
	CHECK_INT(privsep_frame_decode(frame, len + 1, &f), -EMSGSIZE);   /* trailing */
	CHECK_INT(privsep_frame_decode(frame, PRIVSEP_HEADER_BYTES - 1, &f), -EMSGSIZE);
	frame[4] = 2;
	CHECK_INT(privsep_frame_decode(frame, len, &f), -EPROTONOSUPPORT);
	frame[4] = 1;
	frame[0] = 'X';
	CHECK_INT(privsep_frame_decode(frame, len, &f), -ENOMSG);
}

static void test_request_refusals(void)
{
	static unsigned char body[CHECKPOINT_CUT_MAX_BYTES + 1], frame[PRIVSEP_MAX_FRAME];
	struct checkpoint cp;
	struct checkpoint_cut cut;
	size_t len = 0, cut_len;

	unsigned_checkpoint(&cp, body);
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), 0);
	/* one byte short, one byte more */
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES - 1, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES + 1, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
	/* already signed, or naming a key */
	body[CHECKPOINT_BYTES - 1] = 1;
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
	body[CHECKPOINT_BYTES - 1] = 0;
	body[92] = 1;
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
	/* a type the signer does not take */
	CHECK_INT(privsep_frame_encode(PRIVSEP_READY, body, CHECKPOINT_BYTES, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EPROTO);
	/* a cut sent as a checkpoint, and as a cut */
	cut_len = unsigned_cut(&cut, body);
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CHECKPOINT, body, cut_len, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CUT, body, cut_len, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), 0);
	body[cut_len - 1] = 7;   /* signed */
	CHECK_INT(privsep_frame_encode(PRIVSEP_SIGN_CUT, body, cut_len, frame,
				       sizeof(frame), &len), 0);
	CHECK_INT(decode_as_request(frame, len), -EBADMSG);
}

/* The value of field (e.g. "CapEff:") in /proc/pid/status, or "". */
static const char *status_field(pid_t pid, const char *field)
{
	static char value[128];
	char path[64], line[256];
	FILE *f;

	value[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return value;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			snprintf(value, sizeof(value), "%s", line + strlen(field) + 1);
			value[strcspn(value, "\n")] = '\0';
			break;
		}
	fclose(f);
	return value;
}

static void test_signer_confined(void)
{
	struct passwd *pw = geteuid() == 0 ? getpwnam("phitrail") : NULL;
	char uid_line[64];
	uid_t want = pw != NULL ? pw->pw_uid : geteuid();
	pid_t pid = signer_pid();

	CHECK(pid > 0);
	snprintf(uid_line, sizeof(uid_line), "%u\t%u\t%u\t%u", (unsigned)want, (unsigned)want,
		 (unsigned)want, (unsigned)want);
	CHECK_STR(status_field(pid, "Uid:"), uid_line);
	CHECK_STR(status_field(pid, "CapEff:"), "0000000000000000");
	CHECK_STR(status_field(pid, "CapPrm:"), "0000000000000000");
	CHECK_STR(status_field(pid, "NoNewPrivs:"), "1");
	CHECK_STR(status_field(pid, "Seccomp:"), "2");
}

static void test_signer_signs_and_refuses(void)
{
	static unsigned char body[CHECKPOINT_CUT_MAX_BYTES], answer[PRIVSEP_MAX_BODY];
	struct checkpoint cp;
	struct checkpoint_cut cut;
	uint16_t type = 0;
	size_t len = 0, cut_len;
	pid_t pid = signer_pid();

	unsigned_checkpoint(&cp, body);
	CHECK_INT(signer_sign_checkpoint(&cp), 0);
	CHECK_INT(checkpoint_verify(&cp, signer_public_key()), 0);
	cut_len = unsigned_cut(&cut, body);
	CHECK(cut_len > 0);
	CHECK_INT(signer_sign_cut(&cut), 0);
	CHECK_INT(checkpoint_cut_verify(&cut, signer_public_key()), 0);

	CHECK_INT(signer_exchange(PRIVSEP_SIGN_CHECKPOINT, "hello", 5, &type, answer,
				  sizeof(answer), &len), -EBADMSG);
	CHECK_INT(signer_exchange(PRIVSEP_SIGN_CHECKPOINT, NULL, 0, &type, answer,
				  sizeof(answer), &len), -EBADMSG);
	CHECK_INT(signer_exchange(7, "x", 1, &type, answer, sizeof(answer), &len), -EPROTO);
	unsigned_checkpoint(&cp, body);
	CHECK_INT(signer_exchange(PRIVSEP_SIGN_CUT, body, CHECKPOINT_BYTES, &type, answer,
				  sizeof(answer), &len), -EBADMSG);
	cp.time_ns -= (uint64_t)3600 * 1000000000;   /* an hour ago */
	checkpoint_encode(&cp, body);
	CHECK_INT(signer_exchange(PRIVSEP_SIGN_CHECKPOINT, body, CHECKPOINT_BYTES, &type,
				  answer, sizeof(answer), &len), -ETIME);
	CHECK_INT(signer_pid(), pid);   /* refusing is not dying */
	CHECK_INT(kill(pid, 0), 0);
}

static void test_signer_killed(void)
{
	unsigned char body[CHECKPOINT_BYTES];
	struct checkpoint cp;
	pid_t before = signer_pid();

	CHECK_INT(kill(before, SIGKILL), 0);
	usleep(100000);
	unsigned_checkpoint(&cp, body);
	CHECK_INT(signer_sign_checkpoint(&cp), 0);
	CHECK_INT(checkpoint_verify(&cp, signer_public_key()), 0);
	CHECK(signer_pid() > 0 && signer_pid() != before);
	test_signer_confined();
}

static struct config cfg;

/* A key file replaced under a running collector: the new signer it starts
 * is refused, and nothing is signed with the other key. */
static void test_signer_key_replaced(void)
{
	unsigned char body[CHECKPOINT_BYTES];
	struct checkpoint_key other;
	struct checkpoint cp;

	CHECK_INT(kill(signer_pid(), SIGKILL), 0);
	usleep(100000);
	CHECK_INT(unlink(cfg.key_file), 0);
	CHECK_INT(checkpoint_key_generate(&other), 0);
	CHECK_INT(checkpoint_secret_key_save(cfg.key_file, &other), 0);
	unsigned_checkpoint(&cp, body);
	CHECK_INT(signer_sign_checkpoint(&cp), -EPIPE);
	CHECK_INT(signer_pid(), 0);
}

static void test_signer_start(void)
{
	char pub[PATH_MAX + 8];
	struct stat st;

	snprintf(cfg.key_file, sizeof(cfg.key_file), "%s/signing.key", tmpdir);
	CHECK_INT(signer_start(&cfg, NULL), 0);
	CHECK(stat(cfg.key_file, &st) == 0 && (st.st_mode & 0777) == 0600);
	snprintf(pub, sizeof(pub), "%s.pub", cfg.key_file);
	CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644);
}

/* A key file others may read is refused, as before the signer. */
static void test_signer_key_refused(void)
{
	CHECK_INT(chmod(cfg.key_file, 0644), 0);
	CHECK_INT(signer_start(&cfg, NULL), -EPERM);
	CHECK_INT(signer_pid(), 0);
	CHECK_INT(chmod(cfg.key_file, 0600), 0);
}

int main(int argc, char **argv)
{
	extern char **environ;
	char pub[PATH_MAX + 8];

	setproctitle_init(argc, argv, environ);   /* the signer names itself */
	if (checkpoint_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(test_frame_limits);
	RUN(test_request_refusals);
	RUN(test_signer_start);
	RUN(test_signer_confined);
	RUN(test_signer_signs_and_refuses);
	RUN(test_signer_killed);
	RUN(test_signer_key_replaced);
	signer_stop();
	RUN(test_signer_key_refused);
	snprintf(pub, sizeof(pub), "%s.pub", cfg.key_file);
	unlink(pub);
	unlink(cfg.key_file);
	rmdir(tmpdir);
	return unit_done();
}
