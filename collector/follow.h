/*
 * follow.h - following spool files: reading new frames, turning them into
 * stored records, and when a group is committed (group_commit.c owns the
 * group; follow.c moves the spool offsets with it).
 */
#ifndef PHITRAILD_FOLLOW_H
#define PHITRAILD_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "record.h"
#include "store.h"

#define FOLLOW_MAX_FILES 4096          /* followed at once; more wait on disk */
#define FOLLOW_TICK_MS 200             /* the safety-net timer */

struct follow_counters {
	uint64_t records;                  /* stored from spool files */
	uint64_t lost;                     /* records reported lost */
	uint64_t tampered;                 /* files quarantined */
	uint64_t undecodable;              /* payloads that failed record_decode */
	uint64_t forged;                   /* writer records claiming collector events */
	uint64_t commit_failures;
};

/*
 * Opens the spool directories (they exist), starts inotify, records
 * "Audit Collector Started" and adopts every file left in active/ and
 * incoming/. 0 or a negative errno (message logged).
 */
int follow_start(const struct config *cfg, struct store *st);

/* The descriptor of <spool>/active, for creating files in it. */
int follow_active_dirfd(void);

/*
 * Starts following a file that ingest just created in active/ (base name,
 * descriptor open for reading, header already written). Puts its progress
 * row and commits: when this returns 0 the file survives any crash and its
 * descriptor may be handed to the writer. Takes fd in every case.
 */
int follow_register_active(const char *base, int fd,
			   const struct writer_identity *who, uint32_t flags);

/*
 * Starts following a file in incoming/ whose writer claim.c verified (base
 * name after its rename to .spool), like an adopted one: its progress row
 * goes with the next group commit (a crash before it leaves an ordinary
 * fallback file). Takes fd in every case.
 */
int follow_register_incoming(const char *base, int fd,
			     const struct writer_identity *who, uint32_t flags);

/* The descriptor of <spool>/incoming. */
int follow_incoming_dirfd(void);

/* 1 when the file st describes is followed already (under any name). */
struct stat;
int follow_is_followed(const struct stat *st);

/*
 * Reads every file with news, commits when due. Call after each loop round.
 * Returns the number of frames read.
 */
int follow_process(void);
/*
 * Looks at every file (mapped writers publish without an inotify event),
 * then as follow_process. Returns the number of frames read.
 */
int follow_pass(void);
/* The safety net: every FOLLOW_TICK_MS. Liveness, rescans, commits. */
void follow_tick(void);
/* Milliseconds until a commit is due (-1: nothing pending). */
int follow_ms_until_due(void);

/*
 * Clean stop: reads every file to its end, retires the ones whose writer is
 * gone, records "Audit Collector Stopped" and commits. 0 or -errno.
 */
int follow_stop(void);
/* Releases everything (no commit). */
void follow_fini(void);

size_t follow_file_count(void);
/*
 * The followed files with unread frames, their unread bytes and the last
 * change (ns since the epoch) of the oldest of them (INT64_MIN: none).
 */
void follow_backlog(int64_t *files, int64_t *bytes, int64_t *oldest_ns);
const struct follow_counters *follow_counters(void);

/* Stores one of the collector's own records (actor: the collector's user). */
int follow_collector_event(enum event_type type, const char *detail_key,
			   const char *detail_value);
/* The same with a target and up to RECORD_MAX_DETAIL details. */
int follow_collector_event_about(enum event_type type, const char *target,
				 const struct record_detail *detail, size_t count);

#endif
