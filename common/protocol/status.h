/*
 * status.h - the collector's answer to a "status" request (query.h), and
 * its codec (status_codec.c).
 *
 * The answer is one frame: a msgpack map with string keys. Integers are
 * signed 64-bit; a time is nanoseconds since the epoch, UTC; nil stands
 * for "none" (STATUS_NONE in the struct). The keys, in this order:
 *   "status_v"           int   STATUS_VERSION (required, first)
 *   "version"            str   the collector's version
 *   "now_ns"             int   the collector's clock when it answered
 *   "started_ns"         int   when the collector started
 *   "records"            int   records in the store (newest id)
 *   "stored_since_start" int   records stored from spool files since start
 *   "lost_since_start"   int   records reported lost since start
 *   "tampered_since_start" int spool files quarantined since start
 *   "spool_files"        int   followed spool files with unread frames
 *   "spool_bytes"        int   their unread bytes (a mapped file counts
 *                              its next frame only: its size says nothing)
 *   "spool_oldest_ns"    int|nil  last change of the oldest unread file
 *   "checkpoint_ns"      int|nil  the newest signed checkpoint's time
 *   "checkpoint_size"    int   the records it covers
 *   "checkpoint_interval_s" int  the configured interval
 *   "store_bytes"        int   the database, its WAL and shared memory
 *   "disk_free_bytes"    int   free for the collector on the store's disk
 *   "disk_total_bytes"   int   size of that file system
 *   "config"             str   the configuration file it runs on
 *   "config_errors"      int   errors in it (started with --accept-errors)
 *   "config_error"       str   the first, "FILE:LINE: ...", or ""
 *   "unaudited"          array of maps, at most STATUS_MAX_UNAUDITED:
 *       {"exe": str, "pid": int, "uid": int, "reason": str,
 *        "count": int, "last_ns": int}
 *     programs that said their shim audits nothing (handoff.h notice),
 *     newest first; count = notices of that exe, uid and reason.
 *   "forwarders"         array of maps, at most STATUS_MAX_FORWARDERS:
 *       {"name": str, "backlog": int, "lag_ms": int}
 *     each forwarder of the store (records not yet forwarded, and the age
 *     of the oldest of them); empty while no forwarder is configured.
 *   "kernel_net"         str   the kernel safety net: "on (...)" or
 *                              "off (why)"
 *   "kernel_marks"       int   directories it marked (at its last walk)
 *   "kernel_events"      int   kernel events it read since start
 *   "kernel_merged"      int   of its reports, covered by shim records
 *   "kernel_stored"      int   of its reports, stored from the kernel
 *   "kernel_overflows"   int   times the kernel's queue overflowed
 * The encoder writes every key. The decoder requires "status_v" first,
 * rejects duplicate keys, wrong types, strings past their limits (with
 * the NUL: the sizes below) and arrays past their maxima, and ignores keys
 * it does not know (a newer collector may say more); a key it knows that
 * is missing keeps its "none" value (0, "", STATUS_NONE, empty list).
 */
#ifndef PHITRAIL_STATUS_H
#define PHITRAIL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#define STATUS_VERSION 1
#define STATUS_NONE INT64_MIN
#define STATUS_MAX_UNAUDITED 16
#define STATUS_MAX_FORWARDERS 16
#define STATUS_TEXT_MAX 256          /* exe, reason, version, with NUL */
#define STATUS_NAME_MAX 64           /* forwarder names, with NUL */
#define STATUS_PATH_MAX 1024         /* config path, with NUL */
#define STATUS_ERROR_MAX 512         /* config_error, with NUL */
#define STATUS_MAX_REPLY 65536       /* the encoded answer fits this */

struct status_unaudited {
	char exe[STATUS_TEXT_MAX];
	int64_t pid, uid;
	char reason[STATUS_TEXT_MAX];
	int64_t count, last_ns;
};

struct status_forwarder {
	char name[STATUS_NAME_MAX];
	int64_t backlog, lag_ms;
};

struct status_reply {
	char version[STATUS_TEXT_MAX];
	int64_t now_ns, started_ns;
	int64_t records, stored_since_start, lost_since_start;
	int64_t tampered_since_start;
	int64_t spool_files, spool_bytes, spool_oldest_ns;
	int64_t checkpoint_ns, checkpoint_size, checkpoint_interval_s;
	int64_t store_bytes, disk_free_bytes, disk_total_bytes;
	char config[STATUS_PATH_MAX];
	int64_t config_errors;
	char config_error[STATUS_ERROR_MAX];
	size_t unaudited_count;
	struct status_unaudited unaudited[STATUS_MAX_UNAUDITED];
	size_t forwarder_count;
	struct status_forwarder forwarders[STATUS_MAX_FORWARDERS];
	char kernel_net[STATUS_TEXT_MAX];
	int64_t kernel_marks, kernel_events, kernel_merged, kernel_stored;
	int64_t kernel_overflows;
};

/* Zeros, "", STATUS_NONE for the optional times, empty lists. */
void status_reply_init(struct status_reply *s);

/* Encodes s into buf (cap bytes): the length, -ENOSPC, or -EINVAL when a
 * string is not NUL-terminated within its array or a count is too big. */
long status_reply_encode(const struct status_reply *s, void *buf, size_t cap);

/* Decodes an answer frame: 0, or -EBADMSG/-EMSGSIZE with *why (static). */
int status_reply_decode(const void *buf, size_t len, struct status_reply *s,
			const char **why);

#endif
