/*
 * fuzz_privsep_frame.c - the frames between phitraild's processes
 * (privsep.h) and the bodies inside them, from arbitrary bytes, as the
 * signer, the store process and the parent read them from their sockets:
 * sign requests, ADOPT, OPEN, RESOLVE, EXE and UNAUDITED. Every reader returns one of its
 * documented codes; a frame that decodes re-encodes to exactly the input,
 * and a body that parses re-encodes to exactly itself (the layouts have no
 * slack); a name that parses never leaves its directory.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "privsep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (checkpoint_init() < 0)
		assert(!"libsodium did not start");
	return 0;
}

static void check_request(const struct privsep_frame *f)
{
	static unsigned char again[CHECKPOINT_CUT_MAX_BYTES];
	struct privsep_sign_request req;
	size_t len = 0;
	int rc;

	rc = privsep_sign_request_parse(f, &req);
	assert(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
	if (rc == -EPROTO)
		assert(f->type != PRIVSEP_SIGN_CHECKPOINT && f->type != PRIVSEP_SIGN_CUT);
	if (rc != 0)
		return;
	if (req.type == PRIVSEP_SIGN_CHECKPOINT) {
		checkpoint_encode(&req.checkpoint, again);
		len = CHECKPOINT_BYTES;
	} else {
		assert(req.type == PRIVSEP_SIGN_CUT);
		assert(checkpoint_cut_encode(&req.cut, again, sizeof(again), &len) == 0);
	}
	assert(len == f->len && memcmp(again, f->body, len) == 0);
}

static void check_spool_bodies(const struct privsep_frame *f)
{
	static struct privsep_adopt a;
	static struct privsep_unaudited u;
	static unsigned char again[PRIVSEP_MAX_BODY];
	char name[PRIVSEP_MAX_NAME + 1];
	uint8_t where;
	int rc, len;

	rc = privsep_adopt_decode(f, &a);
	assert(rc == 0 || rc == -EBADMSG || (rc == -EPROTO && f->type != PRIVSEP_ADOPT));
	if (rc == 0) {
		assert(strchr(a.name, '/') == NULL && strcmp(a.name, ".") != 0 &&
		       strcmp(a.name, "..") != 0);
		len = privsep_adopt_encode(&a, again, sizeof(again));
		assert(len >= 0 && (size_t)len == f->len && memcmp(again, f->body, f->len) == 0);
	}
	rc = privsep_open_decode(f, &where, name);
	assert(rc == 0 || rc == -EBADMSG || (rc == -EPROTO && f->type != PRIVSEP_OPEN));
	if (rc == 0) {
		len = privsep_open_encode(where, name, again, sizeof(again));
		assert(len >= 0 && (size_t)len == f->len && memcmp(again, f->body, f->len) == 0);
	}
	{
		const unsigned char *handle;
		uint64_t start;
		int32_t type, pid;
		size_t n;

		rc = privsep_resolve_decode(f, &type, &handle, &n);
		assert(rc == 0 || rc == -EBADMSG ||
		       (rc == -EPROTO && f->type != PRIVSEP_RESOLVE));
		if (rc == 0) {
			len = privsep_resolve_encode(type, handle, n, again, sizeof(again));
			assert(len >= 0 && (size_t)len == f->len &&
			       memcmp(again, f->body, f->len) == 0);
		}
		rc = privsep_exe_decode(f, &pid, &start);
		assert(rc == 0 || rc == -EBADMSG || (rc == -EPROTO && f->type != PRIVSEP_EXE));
		if (rc == 0) {
			assert(pid > 0);
			privsep_exe_encode(pid, start, again);
			assert(f->len == PRIVSEP_EXE_BYTES && memcmp(again, f->body, f->len) == 0);
		}
	}
	rc = privsep_unaudited_decode(f, &u);
	assert(rc == 0 || rc == -EBADMSG || (rc == -EPROTO && f->type != PRIVSEP_UNAUDITED));
	if (rc == 0) {
		len = privsep_unaudited_encode(&u, again, sizeof(again));
		assert(len >= 0 && (size_t)len == f->len && memcmp(again, f->body, f->len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char again[PRIVSEP_MAX_FRAME];
	struct privsep_frame f;
	size_t len = 0;
	int rc;

	rc = privsep_frame_decode(data, size, &f);
	assert(rc == 0 || rc == -EMSGSIZE || rc == -ENOMSG || rc == -EPROTONOSUPPORT);
	if (rc != 0)
		return 0;
	assert(f.len <= PRIVSEP_MAX_BODY && f.len + PRIVSEP_HEADER_BYTES == size);
	assert(privsep_frame_encode(f.type, f.body, f.len, again, sizeof(again), &len) == 0);
	assert(len == size && memcmp(again, data, size) == 0);
	check_request(&f);
	check_spool_bodies(&f);
	rc = privsep_error_code(&f);
	assert(rc == -EBADMSG || rc == -EPROTO || (rc < 0 && rc >= -4095));
	return 0;
}
