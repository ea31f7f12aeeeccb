/*
 * query.h - the query protocol spoken on query_socket, and its codec
 * (query_codec.c, built on the record codec's helpers in format/codec.h).
 *
 * The query socket is a Unix SOCK_STREAM socket. Every message in either
 * direction is a frame: a 4-byte big-endian length N (1..QUERY_MAX_FRAME)
 * followed by N bytes of msgpack.
 *
 * Request (client to collector), one per connection, a msgpack map:
 *   "v"        int     protocol version, QUERY_VERSION (required)
 *   "op"       str     "query", "count", "stats", "status" or
 *                      "checkpoint" (required)
 *   "patient"  str     end_user_id equals
 *   "actor"    str     actor_user_id equals
 *   "event"    [str]   event_type is one of (at most QUERY_MAX_EVENTS)
 *   "since_ns" int     timestamp >= (ns since the epoch, UTC)
 *   "until_ns" int     timestamp <  (ns since the epoch, UTC)
 *   "after_id" int     id > (paging; "desc" order: id <)
 *   "limit"    int     at most this many records (0 = no limit)
 *   "order"    str     "asc" (default) or "desc", by id
 *   "target"   str     target matches this glob (pathglob.h syntax)
 *   "host" str, "pid" int, "exe" str, "rule" str, "result" str
 *   "failed"   bool    only records whose result is not "ok"
 *   "by"       str     "stats" only: "actor", "patient", "event" (the
 *                      default when absent), "exe", "hour" or "day"
 * Unknown keys, wrong types, oversized values, duplicate keys and "by"
 * with another op are rejected.
 *
 * Response (collector to client): for "query", one frame per record, each
 * the record's stored msgpack bytes (record.h, with id, received_at and
 * identity); then one final frame, a map {"end": true, "count": N} or
 * {"error": "message"}. For "count", only the final frame.
 *
 * For "stats", one frame per group of the matching records, in ascending
 * order of the group key, then the end frame with the number of groups:
 *   {"key": str | nil, "count": int}     exactly these two keys, this order
 * "key" is the actor_user_id, end_user_id (nil: records without a
 * patient), event_type or exe (nil: unknown) of the group, or for "hour"
 * and "day" the UTC period as "2026-11-28T14" or "2026-11-28"; at most
 * QUERY_MAX_STRING - 1 bytes (longer values are cut). "count" >= 1.
 * "limit", "after_id" and "order" do not apply to "stats" and are ignored.
 * Byte layout (msgpack): 0x82, fixstr "key", str or 0xc0, fixstr "count",
 * a positive int of any width.
 *
 * For "status", one frame holding the collector's state (status.h, read
 * with status_reply_decode), then the end frame with count 0. For
 * "checkpoint", the collector signs a checkpoint of every committed
 * record now and answers with the end frame, count = the checkpoint's
 * tree size; {"error": "busy: ..."} while a group commit is open (ask
 * again in a few milliseconds). Filters are ignored by both.
 *
 * Every answered request (and every refused one) is itself recorded in
 * the store as an "Audit Trail Queried" record of the asking user, except
 * "status" and "checkpoint", which read no record (a monitor polling
 * status every minute would otherwise fill the trail with its polls).
 */
#ifndef PHITRAIL_QUERY_H
#define PHITRAIL_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define QUERY_VERSION 1
#define QUERY_MAX_FRAME (1u << 20)
#define QUERY_MAX_REQUEST 8192
#define QUERY_MAX_EVENTS 16
#define QUERY_MAX_STRING 1024
#define QUERY_ABSENT INT64_MIN

enum query_op {
	QUERY_OP_QUERY = 1, QUERY_OP_COUNT, QUERY_OP_STATS, QUERY_OP_STATUS,
	QUERY_OP_CHECKPOINT,
};

#define QUERY_BY_MAX 16                   /* "by" value, with NUL */

struct query_request {
	enum query_op op;
	char patient[QUERY_MAX_STRING];      /* "" = any */
	char actor[QUERY_MAX_STRING];
	char target[QUERY_MAX_STRING];
	char host[QUERY_MAX_STRING];
	char exe[QUERY_MAX_STRING];
	char rule[QUERY_MAX_STRING];
	char result[QUERY_MAX_STRING];
	char events[QUERY_MAX_EVENTS][64];
	size_t event_count;
	int64_t since_ns, until_ns;          /* QUERY_ABSENT = open */
	int64_t after_id;                    /* QUERY_ABSENT = from the start */
	int64_t pid;                         /* QUERY_ABSENT = any */
	int64_t limit;                       /* 0 = no limit */
	int descending;
	int failed_only;
	char by[QUERY_BY_MAX];               /* stats: "" = "event" */
};

void query_request_init(struct query_request *q);

/* Encodes q into buf (cap bytes). Returns the length or -ENOSPC. */
long query_request_encode(const struct query_request *q, void *buf,
			  size_t cap);

/* Decodes a request frame payload. Returns 0 or -EBADMSG/-EMSGSIZE with *why. */
int query_request_decode(const void *buf, size_t len, struct query_request *q,
			 const char **why);

/* Encodes the final frame {"end":true,"count":count} or {"error":message}. */
long query_end_encode(int64_t count, void *buf, size_t cap);
long query_error_encode(const char *message, void *buf, size_t cap);

/*
 * Classifies a response frame payload: 1 for a record (decode it with
 * record_decode), 0 for the end frame (*count set), -1 for an error frame
 * (message copied to message, message_size bytes), -EBADMSG otherwise.
 */
int query_response_kind(const void *buf, size_t len, int64_t *count,
			char *message, size_t message_size);

/* The "by" names stats accepts ("actor", ...); 1 when name is one. */
int query_stats_by_valid(const char *name);

/*
 * Encodes a stats row {"key": key or nil (NULL), "count": count >= 1}; a
 * key longer than QUERY_MAX_STRING - 1 bytes is cut. Length or -ENOSPC,
 * -EINVAL.
 */
long query_stats_row_encode(const char *key, int64_t count, void *buf,
			    size_t cap);

/*
 * Decodes a stats row exactly (no other key, no trailing bytes): key
 * copied NUL-terminated into key (key_size bytes, at least
 * QUERY_MAX_STRING), *key_is_nil set when it was nil. 0 or -EBADMSG
 * (also for a frame of another kind: then try query_response_kind).
 */
int query_stats_row_decode(const void *buf, size_t len, char *key,
			   size_t key_size, int *key_is_nil, int64_t *count);

#endif
