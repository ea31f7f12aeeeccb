/*
 * record.h - the audit record: its fields, the event vocabulary, and the
 * msgpack codec (record_encode.c and record_decode.c over codec.c's
 * helpers, the schema in record_schema.c; only the codecs that build on
 * codec.h include <msgpack.h>).
 *
 * A record is one msgpack map with string keys (schema version 1, see
 * DESIGN.md "The audit record"). The encoder packs a struct record into a
 * caller's fixed buffer and never allocates, so the shim can use it on the
 * stack inside a host program. The decoder is for untrusted bytes: it checks
 * every size and type against the limits below, rejects unknown keys, short
 * input and trailing bytes, and copies strings NUL-terminated into a caller's
 * arena so the result outlives the input buffer.
 */
#ifndef PHITRAIL_RECORD_H
#define PHITRAIL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_SCHEMA_VERSION 1
#define RECORD_MAX_BYTES 16384       /* largest encoded record accepted */
#define RECORD_MAX_STRING 4096       /* longest string value, in bytes */
#define RECORD_MAX_KEYS 32           /* keys in the top-level map */
#define RECORD_MAX_DETAIL 16         /* entries in the detail map */
#define RECORD_ARENA_BYTES (RECORD_MAX_BYTES + 64 * 2)  /* decode arena */

enum event_type {
	EVENT_NONE = 0,
	EVENT_FILE_VIEWED,
	EVENT_FILE_MODIFIED,
	EVENT_FILE_CREATED,
	EVENT_FILE_DELETED,
	EVENT_FILE_RENAMED,
	EVENT_FILE_PERMISSIONS_CHANGED,
	EVENT_FILE_ACCESS_DENIED,
	EVENT_DIRECTORY_LISTED,
	EVENT_CONNECTION_OPENED,
	EVENT_CONNECTION_ACCEPTED,
	EVENT_MESSAGE_SENT,
	EVENT_MESSAGE_RECEIVED,
	EVENT_RECORDS_LOST,
	EVENT_SPOOL_TAMPERED,
	EVENT_COLLECTOR_STARTED,
	EVENT_COLLECTOR_STOPPED,
	EVENT_TRAIL_QUERIED,
	EVENT_FORWARDING_STALLED,
	EVENT_COUNT
};

/* "PHI File Viewed" etc.; NULL for EVENT_NONE or out of range. */
const char *event_type_name(enum event_type type);
/* Exact, case-sensitive name to enum; EVENT_NONE when unknown. */
enum event_type event_type_from_name(const char *name);

/* A detail entry: a string or an integer value. */
struct record_detail {
	const char *key;
	const char *str;   /* non-NULL: string value */
	int64_t num;       /* used when str is NULL */
};

/*
 * Absent fields: NULL strings and RECORD_ABSENT integers are not encoded.
 * end_user_id is always encoded: NULL becomes msgpack nil.
 */
#define RECORD_ABSENT INT64_MIN

struct record {
	const char *workspace_id;
	const char *actor_user_id;
	enum event_type event_type;
	const char *end_user_id;        /* NULL: nil */
	int64_t timestamp_sec;          /* UTC, since the epoch */
	uint32_t timestamp_nsec;
	int64_t v;                      /* schema version, RECORD_SCHEMA_VERSION */
	const char *host;
	int64_t pid, ppid;
	const char *exe;
	int64_t uid, auid, session;
	const char *target, *target2, *rule, *result;
	int64_t seq;
	struct record_detail detail[RECORD_MAX_DETAIL];
	size_t detail_count;
	/* added by the collector */
	int64_t id;
	int64_t received_sec;           /* RECORD_ABSENT when not set */
	uint32_t received_nsec;
	const char *identity;
};

/* Every string NULL, every integer RECORD_ABSENT, v = schema version. */
void record_init(struct record *r);

/*
 * Packs r into buf (capacity cap bytes) without allocating. Returns the
 * encoded length, or -ENOSPC when it does not fit, -EINVAL when r lacks a
 * required field (workspace_id, actor_user_id, event_type) or a string is
 * longer than RECORD_MAX_STRING.
 */
long record_encode(const struct record *r, void *buf, size_t cap);

/*
 * Encoding with a prefix: the fields that stay the same for a whole process
 * image (v, host, pid, ppid, exe, uid, auid, session: consecutive in schema
 * order, right after the five leading fields) packed once, then copied into
 * every record instead of being packed again.
 *
 *   static struct record_prefix prefix;          (plain bytes; no pointers)
 *   record_encode_prefix(&r_with_identity, &prefix);      once, and again
 *                                     after fork (pid, ppid) or a setuid
 *   len = record_encode_with_prefix(&r, &prefix, buf, cap);   per record
 *
 * record_encode_prefix reads only those eight fields of r (absent ones are
 * left out, as record_encode does; v is required) and returns the prefix's
 * length, or -EINVAL like record_encode for an invalid or missing value.
 * record_encode_with_prefix ignores those eight fields of r, takes them from
 * prefix, and returns exactly the bytes record_encode would return for r
 * with those fields set as they were for record_encode_prefix; the same
 * errors, and -EINVAL for a prefix record_encode_prefix did not fill.
 * Neither allocates or keeps state; a prefix is read-only while in use, so
 * threads may share one (rebuild into a second one and switch pointers).
 */
#define RECORD_PREFIX_BYTES (2 * (RECORD_MAX_STRING + 16) + 128)

struct record_prefix {
	uint32_t count;                 /* map entries packed in bytes */
	uint32_t len;                   /* bytes used */
	unsigned char bytes[RECORD_PREFIX_BYTES];
};

long record_encode_prefix(const struct record *r, struct record_prefix *prefix);
long record_encode_with_prefix(const struct record *r,
			       const struct record_prefix *prefix, void *buf,
			       size_t cap);

/*
 * Decodes exactly len bytes of one record into out. Strings are copied,
 * NUL-terminated, into arena (arena_size bytes; RECORD_ARENA_BYTES always
 * suffices for len <= RECORD_MAX_BYTES). Returns 0, or a negative errno:
 * -EMSGSIZE (len over RECORD_MAX_BYTES or a string over RECORD_MAX_STRING),
 * -EBADMSG (not a map, wrong type, unknown key, missing required key,
 * trailing bytes, truncated). When why is not NULL it is set to a static
 * string saying what was wrong.
 */
int record_decode(const void *buf, size_t len, struct record *out,
		  char *arena, size_t arena_size, const char **why);

#endif
