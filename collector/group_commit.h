/*
 * group_commit.h - the one owner of the store's group commit: every
 * stored record (a writer's, read from a spool file; the collector's own;
 * a query's audit) is appended here, and only here is a group begun,
 * committed or rolled back.
 */
#ifndef PHITRAILD_GROUP_COMMIT_H
#define PHITRAILD_GROUP_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "store.h"

/*
 * What a rollback does with a record. A spool record is read again from
 * its file (the listener rewinds the files); a record of the collector
 * exists nowhere else, so the group keeps a copy and appends it again at
 * the start of the next group (group_resume).
 */
enum group_origin {
	GROUP_FROM_SPOOL,
	GROUP_OWN,
};

/* Told of every commit and rollback (follow.c: the spool offsets). */
struct group_listener {
	void (*committed)(void);
	void (*rolled_back)(void);
};

/* The store the groups go to (main.c, before anything appends). */
void group_init(struct store *st);
/* The one listener (follow.c, at its start); NULL: none. */
void group_listen(const struct group_listener *listener);
/* Frees the kept copies (records not yet committed are lost with them). */
void group_fini(void);

/*
 * store_append into the open group (begun when none is), after the
 * collector's records kept from a rolled-back group. 0, or store_append's
 * error (the group stays open: the caller commits or rolls back); a
 * GROUP_OWN record that could not be appended (but encodes) is kept for
 * the next group too.
 */
int group_append(struct record *r, enum group_origin origin);

/*
 * Commits the open group (after appending the kept records). On failure
 * the group is rolled back as by group_rollback and the error returned:
 * -ENOSPC, -EIO, -ENOMEM.
 */
int group_commit(void);
/* Abandons the open group: the listener rewinds, own records are kept. */
void group_rollback(void);

/*
 * Appends the collector's records kept from a rolled-back group into a
 * new group (the next commit stores them). 0 or store_append's error.
 */
int group_resume(void);
/* Records of the collector kept for the next group. */
size_t group_kept(void);

/* A group is open (records or progress rows not yet committed). */
int group_open(void);
/* Records appended to the open group. */
size_t group_pending(void);
/* Monotonic ms of the open group's first record, or -1. */
int64_t group_first_pending_ms(void);

#endif
