/*
 * store_forward.h - what forwarders read from and write to the store
 * (forward.h): their cursors, the committed records and checkpoints after
 * a cursor, the store's id. On the store's own connections: writes go into
 * the open group-commit transaction when there is one.
 */
#ifndef PHITRAILD_STORE_FORWARD_H
#define PHITRAILD_STORE_FORWARD_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct forward_record;
struct forward_checkpoint;

#define STORE_ID_HEX 32                 /* the store id: 16 random bytes, hex */

/* store.c's connections (only for this file's functions). */
sqlite3 *store_writer_connection(struct store *st);
sqlite3 *store_reader_connection(struct store *st);

/* The cursor row of sink: 0 (*through = 0 when there is none), -EIO. */
int store_forward_cursor_get(struct store *st, const char *sink,
			     int64_t *through);
/* Writes it (in the open transaction, if any): 0, -ENOSPC, -EIO. */
int store_forward_cursor_put(struct store *st, const char *sink,
			     int64_t through, int64_t now_ns);

/*
 * Calls fn with each committed record of id > after_id, in id order, at
 * most limit; fn's non-zero return stops and is returned. 0, -EIO.
 */
int store_forward_records(struct store *st, int64_t after_id, int limit,
			  int (*fn)(void *context, const struct forward_record *r),
			  void *context);
/* The same for checkpoint rows of seq > after_seq. */
int store_forward_checkpoints(struct store *st, int64_t after_seq, int limit,
			      int (*fn)(void *context,
					const struct forward_checkpoint *c),
			      void *context);
/* Finalizes the statement store_forward_records keeps prepared (before
 * the store is closed). */
void store_forward_release(void);
/* The largest committed record id (0: none) and, for backlog and lag, the
 * received_ns of the first record after after_id (-1: none). 0, -EIO. */
int store_forward_last_id(struct store *st, int64_t *last);
int store_forward_first_after(struct store *st, int64_t after_id,
			      int64_t *received_ns);

/* The store's id (created at first use, kept in meta): 0, -EIO. */
int store_forward_store_id(struct store *st, char out[STORE_ID_HEX + 1]);

#endif
