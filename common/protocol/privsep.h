/*
 * privsep.h - the framed protocol between phitraild's processes: the
 * privileged parent (collector/parent.c), the store process
 * (collector/store_process.c) and the signer (collector/signer.c), the
 * only process that holds the signing key. Implemented in privsep.c and
 * privsep_adopt.c; the frames travel over SOCK_SEQPACKET socketpairs, one
 * frame per packet, so a read returns one whole frame or nothing; a frame
 * said below to carry a descriptor carries exactly one (SCM_RIGHTS), and
 * any other frame none (a reader closes what came and refuses the frame).
 * All integers are little endian.
 *
 * FRAME, PRIVSEP_HEADER_BYTES (12) + n bytes:
 *     0   4  magic "PTPS"
 *     4   2  version, PRIVSEP_VERSION (1)
 *     6   2  type (below)
 *     8   4  n, the length of the body, 0..PRIVSEP_MAX_BODY (4096)
 *    12   n  the body
 * A reader rejects a packet shorter than 12 bytes (-EMSGSIZE), another
 * magic (-ENOMSG), another version (-EPROTONOSUPPORT), n over the limit
 * (-EMSGSIZE) and a packet that is not exactly 12 + n bytes long, short or
 * with trailing bytes (-EMSGSIZE).
 *
 * Types and their bodies:
 *   1  SIGN_CHECKPOINT  collector to signer: a checkpoint (checkpoint.h),
 *        exactly CHECKPOINT_BYTES (164), whose key id (bytes 92..99) and
 *        signature (100..163) are all zeros. The signer decodes it with
 *        checkpoint_decode (its magic, version, length and size-0 root),
 *        and refuses any other content with an ERROR.
 *   2  SIGN_CUT  collector to signer: a retention cut (checkpoint.h),
 *        CHECKPOINT_CUT_BYTES(F), key id and signature all zeros, decoded
 *        with checkpoint_cut_decode (its frontier must fold to its root).
 *   3  ADOPT  parent to store, with the spool file's descriptor open for
 *        reading: follow this file. PRIVSEP_ADOPT_FIXED (66) + L + E + A + K
 *        bytes, exactly:
 *          0   1  where: 0 active/ (ingest made it), 1 incoming/ (claimed)
 *          1   1  L, the base name's length, 1..255
 *          2   4  the spool header's flags
 *          6   8  pid        14  8  ppid       22  8  uid
 *         30   8  gid        38  8  auid       46  8  session
 *                 (signed 64-bit; INT64_MIN: unknown)
 *         54   8  start time in clock ticks (unsigned)
 *         62   2  E, the exe's length, 0..PRIVSEP_MAX_EXE (3600)
 *         64   1  A, the actor's length, 0..63
 *         65   1  K, the identity kind's length, 1..15
 *         66   L  the base name: no '/', no NUL, not "." or ".."; in
 *                 incoming/, the claimed <...>.claim file, which the
 *                 store renames to <...>.spool as it starts following it
 *          .   E  the exe, A the actor, K the kind: no NUL in any
 *        Decoded by privsep_adopt_decode; anything else is -EBADMSG. The
 *        store answers DONE or ERROR.
 *   4  OPEN  store to parent: open a file of the spool for reading. 1 + L
 *        bytes: where (0 active/, 1 incoming/), then the base name (1..255
 *        bytes, as in ADOPT). The parent opens it O_RDONLY|O_NOFOLLOW
 *        relative to its own descriptor of that directory and answers
 *        OPENED with the descriptor of a regular file, or ERROR.
 *   5  SPAWN_SIGNER  store to parent, empty: start a signer (the old one
 *        died). The parent forks one and answers SIGNER, or ERROR.
 *   6  UNAUDITED  parent to store, not answered: a program runs unaudited
 *        (the parent took its notice from the ingest socket), for status.
 *        PRIVSEP_UNAUDITED_FIXED (36) + E + R bytes, exactly:
 *          0   8  uid        8  8  pid (signed 64-bit)
 *         16   8  count     24  8  last notice, ns since the epoch (signed)
 *         32   2  E, the exe's length, 1..255
 *         34   2  R, the reason's length, 1..255
 *         36   E  the exe, then R the reason: no NUL in either
 *   7  RESOLVE  store to parent, with a descriptor of a directory on the
 *        file system the handle is of: open a directory from the kernel
 *        safety net's file handle (open_by_handle_at needs
 *        CAP_DAC_READ_SEARCH). 6 + n bytes, exactly:
 *          0   4  the handle's type (signed)
 *          4   2  n, the handle's length, 1..PRIVSEP_MAX_HANDLE (128)
 *          6   n  the handle
 *        The parent opens it O_PATH and answers OPENED with it when it is
 *        a directory, else ERROR.
 *   8  EXE  store to parent: the program of a process, whose /proc/PID/exe
 *        only a privileged reader may see. 12 bytes, exactly: 0 4 the pid
 *        (1..2^31-1), 4 8 its start time in clock ticks, as /proc/PID/stat
 *        says. The parent answers EXE_PATH when a process with that pid and
 *        start time runs and its exe link reads, else ERROR.
 *   0x81  READY  signer to collector, once, before anything else: the
 *        32-byte Ed25519 public key the signer signs with; store to
 *        parent, once, empty: the store process is confined and follows.
 *   0x82  SIGNED  signer to collector, the answer to a SIGN_*: the body
 *        it was sent, of the same length, with the key id and the
 *        signature filled in. Nothing else in it differs.
 *   0x83  DONE  store to parent, empty: the ADOPT is done (the file is
 *        followed; for active/, its progress row is committed).
 *   0x84  OPENED  parent to store, empty, with the opened descriptor.
 *   0x85  SIGNER  parent to store, 4 bytes, the new signer's pid, with the
 *        descriptor of the store's end of its socket (READY comes on it).
 *   0x86  EXE_PATH  parent to store: the exe link's target, 1..4095
 *        bytes, no NUL.
 *   0xff  ERROR  either way: 4 bytes, a positive errno value saying why
 *        (EBADMSG: not a checkpoint or cut body; ETIME: its time is
 *        too far from the signer's clock; EPROTO: a type it does not take).
 * A request gets exactly one answer, SIGNED or ERROR, before the next is
 * read; the collector waits for it before sending another.
 */
#ifndef PHITRAIL_PRIVSEP_H
#define PHITRAIL_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

#define PRIVSEP_MAGIC "PTPS"
#define PRIVSEP_VERSION 1
#define PRIVSEP_HEADER_BYTES 12
#define PRIVSEP_MAX_BODY 4096
#define PRIVSEP_MAX_FRAME (PRIVSEP_HEADER_BYTES + PRIVSEP_MAX_BODY)

enum privsep_type {
	PRIVSEP_SIGN_CHECKPOINT = 1,
	PRIVSEP_SIGN_CUT = 2,
	PRIVSEP_ADOPT = 3,
	PRIVSEP_OPEN = 4,
	PRIVSEP_SPAWN_SIGNER = 5,
	PRIVSEP_UNAUDITED = 6,
	PRIVSEP_RESOLVE = 7,
	PRIVSEP_EXE = 8,
	PRIVSEP_READY = 0x81,
	PRIVSEP_SIGNED = 0x82,
	PRIVSEP_DONE = 0x83,
	PRIVSEP_OPENED = 0x84,
	PRIVSEP_SIGNER = 0x85,
	PRIVSEP_EXE_PATH = 0x86,
	PRIVSEP_ERROR = 0xff,
};

/* A decoded frame: body points into the buffer it was decoded from. */
struct privsep_frame {
	uint16_t type;
	const unsigned char *body;
	size_t len;
};

/* A sign request, decoded: which of the two it is, and its content. */
struct privsep_sign_request {
	uint16_t type;                  /* PRIVSEP_SIGN_CHECKPOINT or _CUT */
	struct checkpoint checkpoint;   /* for a SIGN_CHECKPOINT */
	struct checkpoint_cut cut;      /* for a SIGN_CUT */
};

#define PRIVSEP_ADOPT_FIXED 66
#define PRIVSEP_MAX_NAME 255
#define PRIVSEP_MAX_EXE 3600
#define PRIVSEP_MAX_ACTOR 63
#define PRIVSEP_MAX_KIND 15
#define PRIVSEP_WHERE_ACTIVE 0
#define PRIVSEP_WHERE_INCOMING 1

/* An ADOPT body, decoded: the strings are NUL-terminated copies. */
struct privsep_adopt {
	uint8_t where;                       /* PRIVSEP_WHERE_* */
	uint32_t flags;
	int64_t pid, ppid, uid, gid, auid, session;
	uint64_t start_time_ticks;
	char name[PRIVSEP_MAX_NAME + 1];
	char exe[PRIVSEP_MAX_EXE + 1];
	char actor[PRIVSEP_MAX_ACTOR + 1];
	char kind[PRIVSEP_MAX_KIND + 1];
};

/* An ADOPT body into out (room bytes): its length, or -ENAMETOOLONG when a
 * string is over its limit, -EINVAL for a bad name, where or kind, or
 * -EMSGSIZE when room is short. */
int privsep_adopt_encode(const struct privsep_adopt *a, unsigned char *out, size_t room);
/* A frame's body as an ADOPT: 0, -EPROTO for another type, -EBADMSG. */
int privsep_adopt_decode(const struct privsep_frame *f, struct privsep_adopt *a);

#define PRIVSEP_UNAUDITED_FIXED 36
#define PRIVSEP_MAX_TEXT 255

/* An UNAUDITED body, decoded (the strings NUL-terminated). */
struct privsep_unaudited {
	int64_t uid, pid, count, last_ns;
	char exe[PRIVSEP_MAX_TEXT + 1];
	char reason[PRIVSEP_MAX_TEXT + 1];
};

/* Its body into out: the length, or -EINVAL (an empty or longer string),
 * -EMSGSIZE when room is short. */
int privsep_unaudited_encode(const struct privsep_unaudited *u, unsigned char *out,
			     size_t room);
/* A frame's body as an UNAUDITED: 0, -EPROTO for another type, -EBADMSG. */
int privsep_unaudited_decode(const struct privsep_frame *f, struct privsep_unaudited *u);

#define PRIVSEP_RESOLVE_FIXED 6
#define PRIVSEP_MAX_HANDLE 128

/* A RESOLVE body into out: its length, or -EINVAL for n out of 1..128. */
int privsep_resolve_encode(int32_t type, const unsigned char *handle, size_t n,
			   unsigned char *out, size_t room);
/* A frame's body as a RESOLVE (handle points into it): 0, -EPROTO, -EBADMSG. */
int privsep_resolve_decode(const struct privsep_frame *f, int32_t *type,
			   const unsigned char **handle, size_t *n);

#define PRIVSEP_EXE_BYTES 12

/* An EXE body (12 bytes into out), and back: 0, -EPROTO or -EBADMSG. */
void privsep_exe_encode(int32_t pid, uint64_t start_time_ticks, unsigned char out[12]);
int privsep_exe_decode(const struct privsep_frame *f, int32_t *pid,
		       uint64_t *start_time_ticks);

/* An OPEN body (1 + strlen(name) bytes into out): its length or -EINVAL. */
int privsep_open_encode(uint8_t where, const char *name, unsigned char *out, size_t room);
/* A frame's body as an OPEN: 0, -EPROTO for another type, -EBADMSG. */
int privsep_open_decode(const struct privsep_frame *f, uint8_t *where,
			char name[PRIVSEP_MAX_NAME + 1]);

/* Writes a frame of type with len body bytes into out (room bytes) and
 * sets *out_len: 0, or -EMSGSIZE when len is over PRIVSEP_MAX_BODY or the
 * frame does not fit in room. */
int privsep_frame_encode(uint16_t type, const void *body, size_t len,
			 unsigned char *out, size_t room, size_t *out_len);

/* Parses exactly len bytes as one frame: 0 or the codes above. */
int privsep_frame_decode(const unsigned char *buf, size_t len, struct privsep_frame *f);

/* A frame's body as a sign request: 0, -EPROTO for another type, -EBADMSG
 * for a body that is not a checkpoint (or cut) body as described above. */
int privsep_sign_request_parse(const struct privsep_frame *f,
			       struct privsep_sign_request *req);

/* The 4-byte body of an ERROR frame from a positive errno value, and back:
 * privsep_error_code gives -EBADMSG for a body that is not 4 bytes, and
 * maps 0 (which is not an error) to -EPROTO. */
void privsep_error_body(int errno_value, unsigned char out[4]);
int privsep_error_code(const struct privsep_frame *f);

#endif
