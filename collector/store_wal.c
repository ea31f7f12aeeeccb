/*
 * store_wal.c - the store's WAL checkpoints, in a thread of their own.
 *
 * Owns the copying of the WAL into the database file. Once store_wal_start
 * has run, the writer's commits no longer do it (SQLite's autocheckpoint
 * is replaced by a WAL hook): every quarter of the WAL's length
 * (STORE_WAL_CHECKPOINT_PAGES in the collector) committed wakes this
 * thread, which runs a PASSIVE checkpoint on its own connection while the
 * writer goes on inserting (a passive checkpoint takes no lock a writer
 * needs, and copies only committed frames). SQLite writes the WAL again
 * from its start only when a transaction begins on a WAL copied to its
 * end, which a checkpoint running beside a busy writer never sees; so past
 * the WAL's length the first commit that finds the thread idle copies the
 * frames it has not (at most a quarter and those committed while it ran),
 * and the next transaction starts the WAL again. The WAL file keeps about
 * the length it had with the commits' own checkpoints, at most twice it
 * (an every-record commit that makes the file longer costs far more than
 * one that writes over it), unless a reader holds an old snapshot, as
 * before.
 * Started after the store process confines itself (a thread's privileges
 * and seccomp filter are its own: one born before would keep them).
 * Must never write anything but through SQLite's checkpoint, and never be
 * the only copy of a record: a checkpoint copies what is already durable
 * in the WAL.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_impl.h"
#include "store_schema.h"

/* The thread copies every this many parts of the WAL's length. */
#define STORE_WAL_THREAD_SPANS 4
/* A WAL this many times its length makes a commit wait for the thread. */
#define STORE_WAL_WAIT_LENGTHS 2
/* The checkpoint connection's page cache (KiB): a checkpoint copies frames
 * through its own buffer, not through the cache. */
#define STORE_WAL_CACHE_KIB 256

struct store_wal {
	sqlite3 *db;                    /* the checkpoint connection */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	int due, running, stopping;     /* under lock */
	int copied;                     /* frames copied by the last one */
	int writer_pages;               /* the WAL's length (store_wal_start) */
	int span_pages;                 /* a quarter of it: the thread's copies */
	unsigned long checkpoints, failures;
	unsigned long by_writer;        /* the writer's thread only */
};

static void *checkpoint_thread(void *arg)
{
	struct store_wal *w = arg;
	int frames, copied, rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->due && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		w->due = 0;
		w->running = 1;
		pthread_mutex_unlock(&w->lock);
		rc = sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
					       &frames, &copied);
		pthread_mutex_lock(&w->lock);
		w->running = 0;
		pthread_cond_broadcast(&w->done);
		if (rc == SQLITE_OK) {
			w->checkpoints++;
			w->copied = copied;
		} else if (rc != SQLITE_BUSY && w->failures++ == 0) {
			daemon_warn("store: WAL checkpoint: %s (the writer's commits "
				    "copy it past %d pages)", sqlite3_errstr(rc),
				    w->writer_pages);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * SQLite's WAL hook on the writer, after each commit: frames is the WAL's
 * length in pages. Every span_pages new frames wake the thread (each page
 * dirtied in that span is copied once, as the commits did). Past
 * writer_pages the thread is not woken again: the first commit that finds
 * it idle copies what it has not (the frames committed while it ran),
 * which lets the next transaction start the WAL again. A commit waits for
 * the thread only when the WAL is twice its length (the thread's copy
 * ends with a sync of the file, which on a large store can take long);
 * readers of older data can still hold the WAL back, as they did the
 * commits' own checkpoints.
 */
static int after_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_wal *w = arg;

	pthread_mutex_lock(&w->lock);
	if (frames < w->copied)
		w->copied = 0;                  /* the WAL was started again */
	if (frames >= w->writer_pages) {
		int busy;

		while (frames >= STORE_WAL_WAIT_LENGTHS * w->writer_pages &&
		       (w->due || w->running))
			pthread_cond_wait(&w->done, &w->lock);
		busy = w->due || w->running;
		pthread_mutex_unlock(&w->lock);
		if (!busy && sqlite3_wal_checkpoint_v2(db, name,
						       SQLITE_CHECKPOINT_PASSIVE,
						       NULL, NULL) == SQLITE_OK)
			w->by_writer++;
		return SQLITE_OK;
	}
	if (!w->due && !w->running && frames - w->copied >= w->span_pages) {
		w->due = 1;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	return SQLITE_OK;
}

int store_wal_start(struct store *st, int wal_pages)
{
	struct store_wal *w;
	const char *path = sqlite3_db_filename(st->db, "main");
	int rc;

	if (st->wal != NULL)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->writer_pages = wal_pages;
	w->span_pages = wal_pages / STORE_WAL_THREAD_SPANS;
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(w->db, "PRAGMA cache_size = -" STORE_SQL_TEXT(STORE_WAL_CACHE_KIB)
			 "; PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK) {
		daemon_error("store: cannot open %s for WAL checkpoints: %s", path,
			     w->db != NULL ? sqlite3_errmsg(w->db) : "out of memory");
		sqlite3_close(w->db);
		free(w);
		return -EIO;
	}
	sqlite3_busy_timeout(w->db, 5000);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->done, NULL);
	rc = pthread_create(&w->thread, NULL, checkpoint_thread, w);
	if (rc != 0) {
		pthread_cond_destroy(&w->done);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		sqlite3_close(w->db);
		free(w);
		return -rc;
	}
	st->wal = w;
	(void)sqlite3_wal_hook(st->db, after_commit, w);
	return 0;
}

void store_wal_stop(struct store *st)
{
	struct store_wal *w = st->wal;

	if (w == NULL)
		return;
	/* Back to SQLite's own checkpoints in the writer's commits. */
	(void)sqlite3_wal_autocheckpoint(st->db, w->writer_pages);
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	daemon_debug("store: %lu WAL checkpoint(s) in the thread, %lu by "
		     "commits past %d pages", w->checkpoints, w->by_writer,
		     w->writer_pages);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	sqlite3_close(w->db);
	free(w);
	st->wal = NULL;
}
