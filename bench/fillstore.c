/*
 * fillstore.c - fills a phitrail store directly with realistic records, so
 * that ingest and queries can be measured against a store that already
 * holds millions of them (bench/bench.py, cases 5 and 6), and measures the
 * store's own ingest rate.
 *
 *   fillstore [options] DB N           add N records spread over --days days
 *                                      ending a minute ago (bulk: indexes
 *                                      dropped, then built once)
 *   fillstore --ingest [options] DB N  append N records stamped now through
 *                                      the collector's own path (store_append,
 *                                      commits of STORE_GROUP_RECORDS, indexes
 *                                      live); prints records_per_s=...
 *                                      --every-record: flush = every-record,
 *                                      a commit (and sync) per record
 *   options: --days D (100) --patients P (200000) --actors A (300)
 *            --seed S (1) --key FILE (sign a checkpoint of the result with
 *            this key, created with FILE.pub when missing, so that
 *            `phitrail verify` passes and the collector's chain continues)
 *
 * Records go through the collector's store (collector/store.c): the real
 * schema, msgpack bytes from common/format/codec.c, leaf hashes, the persisted
 * Merkle frontier; the collector starts on the result without re-reading
 * a leaf. Must never write anything but the store it is given (and the key
 * files named), and never run without a bound (N is required).
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "checkpoint.h"
#include "merkle.h"
#include "record.h"
#include "store.h"
#include "store_schema.h"

#define FILL_COMMIT_RECORDS 50000

struct options {
	const char *db;
	const char *key;
	int64_t count;
	int64_t days, patients, actors;
	uint64_t seed;
	int ingest, every_record;   /* --every-record: flush = every-record,
				     * one record per commit */
};

/* xorshift64*: reproducible and fast; quality is not the point. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What a clinical server's trail looks like: mostly views of charts. */
static const struct {
	enum event_type type;
	unsigned weight;
} event_mix[] = {
	{ EVENT_FILE_VIEWED, 70 }, { EVENT_FILE_MODIFIED, 12 },
	{ EVENT_FILE_CREATED, 5 }, { EVENT_FILE_DELETED, 1 },
	{ EVENT_FILE_RENAMED, 1 }, { EVENT_FILE_ACCESS_DENIED, 1 },
	{ EVENT_MESSAGE_SENT, 5 }, { EVENT_MESSAGE_RECEIVED, 5 },
};

static const char *const exes[] = {
	"/usr/bin/python3.11", "/usr/lib/ehr/bin/chartd", "/usr/bin/cat",
	"/usr/bin/rsync", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
	"/usr/bin/pdftotext", "/opt/mirth/mcserver", "/usr/bin/grep",
};

static const char *const documents[] = {
	"notes/progress.txt", "labs/results.hl7", "imaging/ct-head.dcm",
	"summary.pdf", "meds/orders.json", "notes/discharge.txt",
};

static enum event_type pick_event(void)
{
	unsigned total = 0, r;
	size_t i;

	for (i = 0; i < sizeof(event_mix) / sizeof(event_mix[0]); i++)
		total += event_mix[i].weight;
	r = (unsigned)(rng() % total);
	for (i = 0; i < sizeof(event_mix) / sizeof(event_mix[0]); i++) {
		if (r < event_mix[i].weight)
			return event_mix[i].type;
		r -= event_mix[i].weight;
	}
	return EVENT_FILE_VIEWED;
}

/* One record at time t_ns (received a few ms later). */
static int append_one(struct store *st, const struct options *o, int64_t t_ns,
		      int64_t received_ns)
{
	static char patient[32], actor[32], target[128], target2[136];
	static int64_t seq;
	struct record r;
	int64_t p = (int64_t)(rng() % (uint64_t)o->patients);
	int64_t a = (int64_t)(rng() % (uint64_t)o->actors);

	record_init(&r);
	snprintf(patient, sizeof(patient), "MRN%08" PRId64, p * 7919 % 100000000);
	snprintf(actor, sizeof(actor), "clin%04" PRId64, a);
	r.workspace_id = "ws_st_marys";
	r.actor_user_id = actor;
	r.event_type = pick_event();
	r.end_user_id = rng() % 50 ? patient : NULL;
	r.timestamp_sec = t_ns / 1000000000;
	r.timestamp_nsec = (uint32_t)(t_ns % 1000000000);
	r.host = "ehr-app-01";
	r.pid = 1000 + a * 17 % 30000;
	r.ppid = 1;
	r.exe = exes[rng() % (sizeof(exes) / sizeof(exes[0]))];
	r.uid = 1000 + a;
	r.auid = 1000 + a;
	r.session = 1 + a;
	if (r.event_type == EVENT_MESSAGE_SENT || r.event_type == EVENT_MESSAGE_RECEIVED) {
		r.target = "tcp:10.0.4.20:2575";
		r.rule = "hl7-feed";
		r.detail[0].key = "message";
		r.detail[0].str = "ADT^A01";
		r.detail[1].key = "bytes";
		r.detail[1].num = 200 + (int64_t)(rng() % 4000);
		r.detail_count = 2;
	} else {
		snprintf(target, sizeof(target), "/srv/ehr/patients/%s/%s", patient,
			 documents[rng() % (sizeof(documents) / sizeof(documents[0]))]);
		r.target = target;
		r.rule = "charts";
		if (r.event_type == EVENT_FILE_RENAMED) {
			snprintf(target2, sizeof(target2), "%s.old", target);
			r.target2 = target2;
		}
	}
	r.result = r.event_type == EVENT_FILE_ACCESS_DENIED ? "EACCES" : "ok";
	r.seq = seq++;
	r.identity = "verified";
	r.received_sec = received_ns / 1000000000;
	r.received_nsec = (uint32_t)(received_ns % 1000000000);
	return store_append(st, &r);
}

/* The chain's head hash (zeros: empty chain); -ENOTSUP after a cut. */
static int chain_head(sqlite3 *db, unsigned char head[MERKLE_HASH_BYTES])
{
	sqlite3_stmt *stmt = NULL;
	struct checkpoint cp;
	int rc;

	memset(head, 0, MERKLE_HASH_BYTES);
	if (sqlite3_prepare_v2(db, STORE_SQL_CHAIN_LAST, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		rc = 0;
	} else if (rc != SQLITE_ROW) {
		rc = -EIO;
	} else if (strcmp((const char *)sqlite3_column_text(stmt, 1),
			  STORE_KIND_CHECKPOINT) != 0) {
		rc = -ENOTSUP;
	} else if (checkpoint_decode(sqlite3_column_blob(stmt, 6),
				     (size_t)sqlite3_column_bytes(stmt, 6), &cp) < 0) {
		rc = -EBADMSG;
	} else {
		checkpoint_hash(&cp, head);
		rc = 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Signs the committed tree with the key at path (made when missing). */
static int sign_checkpoint(const struct options *o, const struct merkle_builder *tree)
{
	struct checkpoint_key key;
	struct checkpoint cp = { 0 };
	unsigned char bytes[CHECKPOINT_BYTES];
	char pub[4200];
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = checkpoint_secret_key_load(o->key, &key);
	if (rc == -ENOENT) {
		rc = checkpoint_key_generate(&key);
		if (rc == 0)
			rc = checkpoint_secret_key_save(o->key, &key);
		snprintf(pub, sizeof(pub), "%s.pub", o->key);
		if (rc == 0)
			rc = checkpoint_public_key_save(pub, key.public_key);
	}
	if (rc < 0) {
		fprintf(stderr, "fillstore: key %s: %s\n", o->key, strerror(-rc));
		return rc;
	}
	if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		rc = -EIO;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = chain_head(db, cp.prev_hash);
	if (rc < 0) {
		fprintf(stderr, "fillstore: not signing: the chain ends %s\n",
			rc == -ENOTSUP ? "in a retention cut" : "unreadably");
		goto out;
	}
	cp.tree_size = tree->size;
	merkle_builder_root(tree, cp.root);
	cp.time_ns = (uint64_t)now_ns();
	rc = checkpoint_sign(&cp, &key);
	if (rc < 0)
		goto out;
	checkpoint_encode(&cp, bytes);
	rc = -EIO;
	if (sqlite3_prepare_v2(db, STORE_SQL_INSERT_CHECKPOINT, -1, &stmt, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_text(stmt, 1, STORE_KIND_CHECKPOINT, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)cp.tree_size);
	sqlite3_bind_blob(stmt, 3, cp.root, MERKLE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (int64_t)cp.time_ns);
	sqlite3_bind_blob(stmt, 5, cp.prev_hash, MERKLE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, bytes, sizeof(bytes), SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_DONE)
		rc = 0;
out:
	if (rc == -EIO)
		fprintf(stderr, "fillstore: cannot sign: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	checkpoint_key_wipe(&key);
	return rc;
}

/* CPU seconds used so far, and bytes this process wrote to the disk
 * (/proc/self/io write_bytes; -1 when not readable): figures that other
 * load on the machine disturbs less than wall time. */
static void cost_so_far(double *cpu_s, long long *written)
{
	struct rusage ru;
	char line[128];
	FILE *f;

	getrusage(RUSAGE_SELF, &ru);
	*cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	*written = -1;
	f = fopen("/proc/self/io", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "write_bytes: %lld", written) == 1)
			break;
	fclose(f);
}

/* CPU seconds of the calling thread (the one that inserts and commits). */
static double thread_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: fillstore [--ingest [--every-record]] [--days D] [--patients P] "
		"[--actors A] [--seed S] [--key FILE] DB N\n");
	return 2;
}

static int parse(int argc, char **argv, struct options *o)
{
	int i, positional = 0;

	*o = (struct options){ .days = 100, .patients = 200000, .actors = 300,
			       .seed = 1, .count = -1 };
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int64_t *number = NULL;

		if (strcmp(a, "--ingest") == 0) {
			o->ingest = 1;
			continue;
		}
		if (strcmp(a, "--every-record") == 0) {
			o->every_record = 1;
			continue;
		}
		if (strcmp(a, "--days") == 0)
			number = &o->days;
		else if (strcmp(a, "--patients") == 0)
			number = &o->patients;
		else if (strcmp(a, "--actors") == 0)
			number = &o->actors;
		if (number != NULL || strcmp(a, "--seed") == 0 ||
		    strcmp(a, "--key") == 0) {
			if (++i >= argc)
				return -1;
			if (strcmp(a, "--key") == 0)
				o->key = argv[i];
			else if (number != NULL)
				*number = strtoll(argv[i], NULL, 10);
			else
				o->seed = strtoull(argv[i], NULL, 10);
			continue;
		}
		if (positional == 0)
			o->db = a;
		else if (positional == 1)
			o->count = strtoll(a, NULL, 10);
		else
			return -1;
		positional++;
	}
	if (o->db == NULL || o->count < 0 || o->days < 1 || o->patients < 1 ||
	    o->actors < 1)
		return -1;
	rng_state = o->seed * 0x9E3779B97F4A7C15ULL + 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct store *st = NULL;
	struct merkle_builder tree;
	const char *why = NULL;
	int64_t i, end_ns, span_ns, before;
	double t0, t_load, t_index;
	int rc;

	if (parse(argc, argv, &o) < 0)
		return usage();
	if (merkle_init() < 0 || checkpoint_init() < 0)
		return 1;
	rc = store_open(&st, o.db, o.every_record ? CONFIG_FLUSH_EVERY_RECORD :
			CONFIG_FLUSH_BATCH, &why);
	if (rc < 0) {
		fprintf(stderr, "fillstore: %s: %s\n", o.db, why);
		return 1;
	}
	before = store_next_id(st) - 1;
	merkle_builder_init(&tree);
	rc = store_frontier_load(st, &tree);
	if (rc == -ENOENT && before == 0)
		rc = 0;
	if (rc < 0 || tree.size != (uint64_t)before) {
		fprintf(stderr, "fillstore: %s holds %" PRId64 " records but no usable "
			"frontier (start the collector on it once)\n", o.db, before);
		goto fail;
	}
	store_tree_set(st, &tree);
	t0 = mono_s();
	if (o.ingest) {
		double cpu0, cpu1, own0, own1;
		long long w0, w1;

		if (store_wal_start(st, STORE_WAL_CHECKPOINT_PAGES) < 0)
			goto store_error;       /* checkpoints as the collector's */
		cost_so_far(&cpu0, &w0);
		own0 = thread_cpu_s();
		for (i = 0; i < o.count; i++) {
			int64_t t = now_ns();

			rc = append_one(st, &o, t, t + 2000000);
			if (rc == 0 && (o.every_record ||
					store_pending(st) >= STORE_GROUP_RECORDS))
				rc = store_commit(st);
			if (rc < 0)
				goto store_error;
		}
		rc = store_commit(st);
		if (rc < 0)
			goto store_error;
		store_wal_stop(st);             /* its last checkpoint counted */
		t_load = mono_s() - t0;
		own1 = thread_cpu_s();
		cost_so_far(&cpu1, &w1);
		printf("records=%" PRId64 " store_records=%" PRId64 " seconds=%.3f"
		       " records_per_s=%.0f cpu_us_per_record=%.2f"
		       " written_bytes_per_record=%.0f"
		       " inserting_thread_cpu_us_per_record=%.2f\n", o.count, before, t_load,
		       o.count / (t_load > 0 ? t_load : 1e-9),
		       (cpu1 - cpu0) * 1e6 / (o.count ? o.count : 1),
		       w0 < 0 || w1 < 0 ? -1.0 : (double)(w1 - w0) / (o.count ? o.count : 1),
		       (own1 - own0) * 1e6 / (o.count ? o.count : 1));
	} else {
		rc = store_bulk_load(st, 1);
		if (rc < 0)
			goto store_error;
		end_ns = now_ns() - (int64_t)60 * 1000000000;
		span_ns = o.days * 86400 * (int64_t)1000000000;
		for (i = 0; i < o.count; i++) {
			int64_t t = end_ns - span_ns + (int64_t)((double)span_ns * i / o.count);

			rc = append_one(st, &o, t, t + 1000000 + (int64_t)(rng() % 50000000));
			if (rc == 0 && store_pending(st) >= FILL_COMMIT_RECORDS)
				rc = store_commit(st);
			if (rc < 0)
				goto store_error;
		}
		rc = store_commit(st);
		if (rc < 0)
			goto store_error;
		t_load = mono_s() - t0;
		rc = store_bulk_load(st, 0);
		if (rc < 0)
			goto store_error;
		t_index = mono_s() - t0 - t_load;
		printf("records=%" PRId64 " store_records=%" PRId64 " load_s=%.1f"
		       " index_s=%.1f\n", o.count, before + o.count, t_load, t_index);
	}
	tree = *store_tree_committed(st);
	store_close(st);
	if (o.key != NULL && sign_checkpoint(&o, &tree) < 0)
		return 1;
	return 0;

store_error:
	fprintf(stderr, "fillstore: %s: %s\n", o.db, strerror(-rc));
fail:
	store_close(st);
	return 1;
}
