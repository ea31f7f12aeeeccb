/*
 * fuzz_spool_reader.c - the collector's spool reader (collector/follow.c)
 * with its real store (collector/store.c, SQLite in a scratch directory)
 * on arbitrary spool files: the rules beyond spool_frame_decode (adoption
 * of incoming/ files, seq gaps, "lost_before", cut frames, collector-only
 * events, re-encoding with the verified identity, quarantine, group
 * commit (collector/group_commit.c) and reaping). The first input byte picks the shape:
 *   0  the rest is a whole fallback file (header included) in incoming/
 *   1  a file the collector created in active/ for a verified writer: a
 *      valid header, then the rest as frames, each frame's checksum made
 *      right so the fuzzer reaches the record rules
 *   2  the same in incoming/ (fallback header, identity from the owner)
 *   3  as 2 with the checksums left as the fuzzer wrote them
 *   4  as 2, then the same file again under another name (a replay): the
 *      copy must store no record of its own
 * The writer (a pid that does not exist) is gone, so every file must end
 * read to its end and deleted, or set aside in quarantine/; the store must
 * never fail; no more records may be stored than the file has frames plus
 * one report each.
 * Unity build: includes the collector sources it needs and replaces log.c
 * with silent versions, so the Makefile's fuzz rule needs no change.
 */
#include <assert.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/fanotify.c"
#include "../../collector/fanotify_change.c"
#include "../../collector/fanotify_event.c"
#include "../../collector/follow.c"
#include "../../collector/follow_adopt.c"
#include "../../collector/follow_own.c"
#include "../../collector/follow_read.c"
#include "../../collector/group_commit.c"
#include "../../collector/identity.c"
#include "../../collector/links.c"
#include "../../collector/loop.c"
#include "../../collector/own_record.c"
#include "../../collector/store.c"
#include "../../collector/store_append.c"
#include "../../collector/store_frontier.c"
#include "../../collector/store_progress.c"
#include "../../collector/store_wal.c"

/* No parent process here: what the store process would ask of it fails
 * as it does when the parent cannot open the file. */
int broker_open(uint8_t where, const char *base)
{
	(void)where;
	(void)base;
	return -EACCES;
}

int broker_resolve(int mount_fd, const struct file_handle *fh)
{
	(void)mount_fd;
	(void)fh;
	return -EACCES;
}

void daemon_info(const char *fmt, ...) { (void)fmt; }
void daemon_warn(const char *fmt, ...) { (void)fmt; }
void daemon_error(const char *fmt, ...) { (void)fmt; }
void daemon_debug(const char *fmt, ...) { (void)fmt; }
void daemon_fatal(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

#define DEAD_PID 0x3ffffff0            /* above any pid_max: never alive */
#define RESTART_EVERY 5000              /* fresh store now and then */

static struct config fuzz_cfg;
static struct store *fuzz_store;
static char fuzz_dir[64];
static unsigned long fuzz_runs;

static void empty_dir(const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, sub);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void fuzz_start(void)
{
	char path[PATH_MAX + 32];
	const char *why = NULL;

	snprintf(path, sizeof(path), "%s/db/audit.db", fuzz_dir);
	(void)unlink(path);
	strlcat(path, "-wal", sizeof(path));
	(void)unlink(path);
	assert(store_open(&fuzz_store, fuzz_cfg.database, fuzz_cfg.flush, &why) == 0);
	group_init(fuzz_store);
	assert(follow_start(&fuzz_cfg, fuzz_store) == 0);
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* The scratch directory goes when the fuzzer exits normally. */
static void fuzz_cleanup(void)
{
	if (fuzz_dir[0] != '\0')
		(void)nftw(fuzz_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_init(void)
{
	static const char *const dirs[] = { "db", "spool", "spool/active",
					    "spool/incoming", "spool/quarantine" };
	char path[PATH_MAX], text[1024];
	size_t i;

	strlcpy(fuzz_dir, "/tmp/fuzz-spool-reader.XXXXXX", sizeof(fuzz_dir));
	assert(mkdtemp(fuzz_dir) != NULL);
	atexit(fuzz_cleanup);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, dirs[i]);
		assert(mkdir(path, 0700) == 0 || errno == EEXIST);
	}
	snprintf(text, sizeof(text),
		 "[phitrail]\nworkspace_id = ws_fuzz\nsocket = %s/ingest.sock\n"
		 "query_socket = %s/query.sock\ndatabase = %s/db/audit.db\n"
		 "spool = %s/spool\nbatch_delay_ms = 0\n",
		 fuzz_dir, fuzz_dir, fuzz_dir, fuzz_dir);
	assert(config_load_string(&fuzz_cfg, "fuzz.conf", text, strlen(text)) == 0);
	assert(merkle_init() == 0);
	assert(loop_init() == 0);
	fuzz_start();
}

/* Makes every whole frame's checksum right, from pos on. */
static void fix_checksums(unsigned char *buf, size_t size, size_t pos)
{
	while (pos + SPOOL_FRAME_HEADER_BYTES <= size) {
		uint32_t len = (uint32_t)buf[pos] | (uint32_t)buf[pos + 1] << 8 |
			       (uint32_t)buf[pos + 2] << 16 | (uint32_t)buf[pos + 3] << 24;

		if (len == 0 || len > SPOOL_MAX_PAYLOAD ||
		    len > size - pos - SPOOL_FRAME_HEADER_BYTES)
			return;
		spool_frame_header_encode(buf + pos + SPOOL_FRAME_HEADER_BYTES, len,
					  buf + pos);
		pos += SPOOL_FRAME_HEADER_BYTES + len;
	}
}

/* Writes one file, has it adopted (or registered) and read to its end. */
static void follow_one(int mode, const unsigned char *file, size_t len,
		       uint64_t start_ticks)
{
	char base[64];
	int fd, round;

	snprintf(base, sizeof(base), "%lu.fuzz.spool", fuzz_runs++);
	fd = openat(mode == 1 ? follow.active_fd : follow.incoming_fd, base,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert(fd >= 0);
	assert(write(fd, file, len) == (ssize_t)len);
	if (mode == 1) {
		struct writer_identity who;

		identity_clear(&who);
		who.pid = DEAD_PID;
		who.uid = getuid();
		who.gid = getgid();
		who.start_time_ticks = start_ticks;
		strlcpy(who.kind, IDENTITY_VERIFIED, sizeof(who.kind));
		identity_resolve_actor(&who);
		assert(follow_register_active(base, fd, &who, SPOOL_FLAG_COLLECTOR) == 0);
	} else {
		char name[STORE_NAME_MAX];

		close(fd);
		adopt_incoming(base);
		snprintf(name, sizeof(name), SPOOL_DIR_INCOMING "/%s", base);
		if (file_find(name) == NULL)   /* not adopted (yet): left alone */
			(void)unlinkat(follow.incoming_fd, base, 0);
	}
	for (round = 0; round < 8 && follow.file_count > 0; round++) {
		struct followed_file *f;

		for (f = follow.files; f != NULL; f = f->next)   /* no 1 s wait */
			f->last_alive_check_ms = loop_now_ms() - ALIVE_CHECK_MS;
		follow_tick();
		follow.retry_after_ms = 0;
		follow_process();
		if (file_commit() == 0)
			files_reap();
	}
	/* Every file is read to its end and gone: deleted or set aside. */
	assert(follow.file_count == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char file[SPOOL_HEADER_BYTES + 256 * 1024];
	struct spool_header h = { .version = SPOOL_FORMAT_VERSION, .pid = DEAD_PID,
				  .uid = 0, .start_time_ticks = 12345 };
	const struct follow_counters *c = follow_counters();
	uint64_t records_before, failures_before;
	size_t len, frames_max;
	int mode;

	if (fuzz_dir[0] == '\0')
		fuzz_init();
	if (size < 1 || size - 1 > sizeof(file) - SPOOL_HEADER_BYTES)
		return 0;
	mode = data[0] % 5;
	h.flags = mode == 1 ? SPOOL_FLAG_COLLECTOR : SPOOL_FLAG_FALLBACK;
	h.uid = (uint32_t)getuid();
	if (mode == 0) {
		memcpy(file, data + 1, size - 1);
		len = size - 1;
	} else {
		spool_header_encode(&h, file);
		memcpy(file + SPOOL_HEADER_BYTES, data + 1, size - 1);
		len = SPOOL_HEADER_BYTES + size - 1;
		if (mode != 3)
			fix_checksums(file, len, SPOOL_HEADER_BYTES);
	}
	frames_max = len / (SPOOL_FRAME_HEADER_BYTES + 1) + 1;
	records_before = c->records;
	failures_before = c->commit_failures;
	follow_one(mode, file, len, h.start_time_ticks);
	assert(c->commit_failures == failures_before);
	assert(c->records - records_before <= frames_max);
	if (mode == 4) {
		/* The same bytes again: every record is stored already. */
		records_before = c->records;
		follow_one(mode, file, len, h.start_time_ticks);
		assert(c->commit_failures == failures_before);
		assert(c->records == records_before);
	}
	empty_dir("spool/quarantine");
	if (fuzz_runs % RESTART_EVERY == 0) {
		follow_fini();
		group_fini();
		store_close(fuzz_store);
		fuzz_start();
	}
	return 0;
}
